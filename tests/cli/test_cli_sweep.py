"""The acceptance sweep (issue #17): every command and subcommand of the app, found by walking it,
is run with ``--help``, with each option its help documents, and with a malformed config of each
kind. Exit codes must be the README's (2 for usage and configuration), and no output may show a
traceback or a Python signature, whatever the command.

No server is needed: the config points the repository and the sources at 127.0.0.1:9, where
nothing listens, with retries shortened; a command that would talk to them ends with the README's
code for "unavailable". Commands added later are swept without a change here; a required
parameter this module cannot guess a value for fails ``test_every_required_parameter_gets_a_value``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cli

ROOT = Path(__file__).resolve().parents[2]

# What an operator must never see: a traceback, or Python talking about itself.
PYTHON_TALK = re.compile("|".join((
    r"Traceback \(most recent call last\)", r"\b\w+\(\) (?:got|missing|takes) ", r"__\w+__\(\)",
    r"got an unexpected keyword", r"missing \d+ required (?:positional|keyword)", r"<class '", r"object at 0x",
    r"not supported between instances of", r"object has no attribute", r"object is not (?:callable|subscriptable|iterable)",
    r"unsupported operand type", r"can only concatenate", r"\b(?:Type|Key|Attribute|Index|Name|UnboundLocal|Assertion|"
    r"Value|Lookup|Runtime|NotImplemented|Recursion|ZeroDivision)Error\b", r"\bNoneType\b",
)))


def _readme_codes() -> dict[int, str]:
    """The README's exit-code table: code -> meaning."""
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    return {int(code): meaning for code, meaning in rows}


CODES = _readme_codes()
USAGE = next(code for code, meaning in CODES.items() if meaning.startswith("usage or configuration"))
BUG = next(code for code, meaning in CODES.items() if "unexpected error" in meaning)
LOCKED = next(code for code, meaning in CODES.items() if "holds the same ledger" in meaning)


def _walk(group: click.Group, path: tuple = ()):
    """Every command of the app, groups included: (path, command)."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))


ALL = list(_walk(cli.main))
LEAVES = [(path, command) for path, command in ALL if not isinstance(command, click.Group)]
READS_CONFIG = [(path, command) for path, command in LEAVES
                if any("--config" in getattr(p, "opts", ()) for p in command.params)]


def _ids(items) -> list[str]:
    return [" ".join(path) for path, _ in items]


def _clean(result, what) -> None:
    """No traceback, no Python signature; an exception that escaped click is a traceback too."""
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert escaped is None, (what, repr(escaped), result.output[-2000:])
    found = PYTHON_TALK.search(result.output)
    assert not found, (what, found.group(0), result.output[-2000:])


# --- a config that needs no server ----------------------------------------------------------
GOOD = """\
[repository]
url = "http://127.0.0.1:9/inmemory/browser"
repository_id = "A1"
profile = "opencmis-inmemory"
username = "admin"
password_file = "secret"
base_path = "/sweep"

[permissions]
archive_admins = ["admin"]
restricted_readers = ["GROUP_records"]
[permissions.principals]
"group:sysop" = "GROUP_wiki_admins"

[state]
ledger = "state/ledger.sqlite"

[http]
backoff_initial = 0.01
backoff_max = 0.02
backoff_jitter = 0

[compliance]
cmis_rm = "off"

[sources.blog]
type = "wordpress"
base_url = "http://127.0.0.1:9/"
username = "admin"
app_password_file = "secret"

[sources.wiki]
type = "mediawiki"
api_url = "http://127.0.0.1:9/api.php"
username = "Archiver@bot"
password_file = "secret"
"""


@pytest.fixture
def home(tmp_path) -> Path:
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "socialarchive.toml").write_text(GOOD)
    return tmp_path


# Values for parameters, by name first, then by type. A required one without a value fails a test.
BY_NAME = {"source": "blog", "sources": "blog", "source_name": "blog", "matter": "M-1", "query": "quokka",
           "author": "alice", "user": "alice", "reason": "sweep test", "note": "sweep", "text": "quokka",
           "key": "blog/post/1", "since": "2024-01-01", "until": "2024-02-01T00:00:00Z", "sample": "2",
           "limit": "5"}


def _value(param: click.Parameter, home: Path) -> list[str]:
    """Values to try for ``param`` (each choice of a choice)."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return [str(c) for c in kind.choices]
    if param.name in BY_NAME:
        return [BY_NAME[param.name]]
    if isinstance(kind, click.Path):
        if getattr(kind, "exists", False):
            existing = home / f"{param.name}.existing"
            existing.write_text("not what would be generated\n")
            return [str(existing)]
        return [str(home / "out" / f"{param.name}.out")]
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        return [str(max(kind.min or 1, 1))]
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
        return ["1"]
    if isinstance(kind, click.DateTime) or kind.name.upper() == "DATE":
        return ["2024-01-01"]
    if isinstance(kind, click.types.StringParamType):
        return ["x"]
    return []


def _required(command: click.Command, home: Path) -> list[str]:
    """Arguments and required options, in the order the command takes them."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = _value(param, home)[:1]
        args += value if isinstance(param, click.Argument) else [param.opts[0], *value]
    return args


def test_every_required_parameter_gets_a_value(home):
    missing = [f"{' '.join(path)} {p.name}" for path, command in LEAVES for p in command.params
               if p.required and not _value(p, home)]
    assert missing == []


def test_the_readme_documents_the_codes_this_sweep_relies_on():
    assert USAGE == 2 and BUG == 1 and {0, 3, 4, 5, 6} <= set(CODES)


@pytest.mark.parametrize("path", [(), *(p for p, _ in ALL)], ids=["socialarchive", *_ids(ALL)])
def test_help_of_every_command(path):
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(cli.main, [*path, flag])
        assert result.exit_code == 0, (path, result.output)
        assert result.output.startswith("Usage: ")
        _clean(result, path)


def _documented_options(command: click.Command, path: tuple) -> list[click.Option]:
    """The options --help shows (hidden ones are not documented)."""
    text = CliRunner().invoke(cli.main, [*path, "--help"]).output
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden
            and any(opt in text for opt in p.opts) and p.name not in ("config_path", "help")]


@pytest.mark.parametrize("path, command", LEAVES, ids=_ids(LEAVES))
def test_every_documented_option_runs_without_a_server_to_a_documented_exit(home, path, command, monkeypatch):
    """Each option alone (with what the command requires): an exit code of the README's table other
    than "unexpected error", nothing Python-shaped in stdout or stderr. Nothing holds the lock, so
    "locked" would be a lock left behind by the run before in this process (one that failed to start)."""
    monkeypatch.chdir(home)
    monkeypatch.delenv("SOCIALARCHIVE_CONFIG", raising=False)
    (home / "out").mkdir(exist_ok=True)
    config = ["--config", str(home / "socialarchive.toml")] if (path, command) in READS_CONFIG else []
    required = _required(command, home)
    runs = [[]]
    for option in _documented_options(command, path):
        if option.is_flag or option.count:
            runs.append([option.opts[0]])
        elif option.required:
            runs += [[option.opts[0], v] for v in _value(option, home)[1:]]
        else:
            runs += [[option.opts[0], v] for v in _value(option, home)]
    for extra in runs:
        args = [*path, *required, *extra, *config]
        result = CliRunner().invoke(cli.main, args)
        _clean(result, args)
        allowed = set(CODES) - {BUG, LOCKED} | ({BUG} if "--check" in extra else set())   # docs cli --check: stale
        assert result.exit_code in allowed, (args, result.exit_code, result.output[-2000:])


# --- malformed configs ------------------------------------------------------------------------
def _replace(old: str, new: str):
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return change


def _add_to(table: str, line: str):
    return _replace(f"[{table}]\n", f"[{table}]\n{line}\n")


MALFORMED = {
    "toml syntax error": _replace('repository_id = "A1"', 'repository_id = "A1'),
    "toml duplicate key": _add_to("repository", 'repository_id = "A2"'),
    "unknown top-level table": lambda t: t + '\n[stat]\nledger = "x.sqlite"\n',
    "unknown top-level key": lambda t: 'verbose = true\n' + t,
    **{f"unknown key in [{table}]": _add_to(table, 'bogus_key = "x"') for table in
       ("repository", "permissions", "state", "http", "compliance", "sources.blog", "sources.wiki")},
    "unknown key in [mapping]": lambda t: t + '\n[mapping]\nfiles = "m.toml"\n',
    "internal argument as a source key (session)": _add_to("sources.blog", 'session = "x"'),
    "internal argument as a source key (sleep)": _add_to("sources.wiki", "sleep = 0"),
    "internal argument as a source key (name)": _add_to("sources.wiki", 'name = "other"'),
    "wrong type in [repository]": _add_to("repository", 'timeout = "fast"'),
    "wrong type in [permissions]": _replace('restricted_readers = ["GROUP_records"]', 'restricted_readers = "GROUP_records"'),
    "wrong type in [permissions.principals]": _add_to("permissions.principals", '"group:x" = 5'),
    "wrong type in [state]": _replace('ledger = "state/ledger.sqlite"', "ledger = 5"),
    "wrong type in [http]": _add_to("http", 'read_timeout = "slow"'),
    "wrong type in [compliance]": _replace('cmis_rm = "off"', 'cmis_rm = "maybe"'),
    "wrong type in [mapping]": lambda t: t + "\n[mapping]\nfile = 3\n",
    "wrong type of a table": lambda t: 'mapping = 5\n' + t,
    "wrong type in [sources.wiki] (namespaces)": _add_to("sources.wiki", 'namespaces = "Main"'),
    "wrong type in [sources.blog] (rate_per_minute)": _add_to("sources.blog", 'rate_per_minute = "fast"'),
    "wrong type in [sources.wiki] (overlap_minutes)": _add_to("sources.wiki", 'overlap_minutes = "ten"'),
    "wrong type in [sources.blog] (verify)": _add_to("sources.blog", "verify = 3"),
    "wrong type of a source type": _replace('type = "wordpress"', "type = 3"),
    "unknown source type": _replace('type = "wordpress"', 'type = "joomla"'),
    "missing [repository]": _replace("[repository]\n", "[repositories]\n"),
    "missing repository url": _replace('url = "http://127.0.0.1:9/inmemory/browser"\n', ""),
    "missing repository_id": _replace('repository_id = "A1"\n', ""),
    "missing repository username": _replace('username = "admin"\npassword_file', "password_file"),
    "missing repository password": _replace('password_file = "secret"\nbase_path', "base_path"),
    "missing source type": _replace('type = "mediawiki"\n', ""),
    "secret as a literal": _add_to("repository", 'password = "admin"'),
    "secret file that does not exist": _replace('app_password_file = "secret"', 'app_password_file = "no-such-secret"'),
    "secret environment variable not set": _replace('app_password_file = "secret"', 'app_password_env = "SA_SWEEP_UNSET_VAR"'),
    "mapping file that does not exist": lambda t: t + '\n[mapping]\nfile = "no-such-mapping.toml"\n',
    "mapping file that is not TOML": lambda t: t + '\n[mapping]\nfile = "secret"\n',
    "classification file that does not exist": _add_to("compliance", 'classification = "no-such-rules.toml"'),
    "world principal as a restricted reader": _replace('restricted_readers = ["GROUP_records"]', 'restricted_readers = ["anyone"]'),
}


# A source table may lack its account until a command reads that source (a retired or templated
# table); the commands that build it refuse it then, naming the key.
INCOMPLETE_SOURCE = {
    "missing source api_url": _replace('api_url = "http://127.0.0.1:9/api.php"\n', ""),
    "missing source password": _replace('username = "Archiver@bot"\npassword_file = "secret"\n',
                                        'username = "Archiver@bot"\n'),
}
READS_SOURCES = [["sync"], ["sync", "--source", "wiki", "--dry-run"], ["check"], ["plan", "--source", "wiki"],
                 ["backfill", "--source", "wiki"], ["report", "--source", "wiki"]]


@pytest.mark.parametrize("kind", sorted(INCOMPLETE_SOURCE))
def test_a_source_without_its_required_keys_is_the_usage_exit_for_the_commands_that_read_it(home, kind, monkeypatch):
    monkeypatch.chdir(home)
    path = home / "socialarchive.toml"
    path.write_text(INCOMPLETE_SOURCE[kind](GOOD))
    for args in READS_SOURCES:
        result = CliRunner().invoke(cli.main, [*args, "--config", str(path)])
        _clean(result, args)
        assert result.exit_code == USAGE, (kind, args, result.exit_code, result.output[-2000:])
        assert "configuration error: [sources.wiki] needs " in result.output, (args, result.output)


@pytest.mark.parametrize("kind", sorted(MALFORMED), ids=sorted(MALFORMED))
def test_a_malformed_config_is_the_usage_exit_for_every_command(home, kind, monkeypatch):
    monkeypatch.chdir(home)
    monkeypatch.delenv("SA_SWEEP_UNSET_VAR", raising=False)
    (home / "out").mkdir(exist_ok=True)
    path = home / "socialarchive.toml"
    path.write_text(MALFORMED[kind](GOOD))
    for command_path, command in READS_CONFIG:
        args = [*command_path, *_required(command, home), "--config", str(path)]
        result = CliRunner().invoke(cli.main, args)
        _clean(result, args)
        assert result.exit_code == USAGE, (kind, args, result.exit_code, result.output[-2000:])
        assert "configuration error" in result.output or "Error:" in result.output, (kind, args, result.output)
    assert not (home / "state").exists(), kind          # refused before the ledger was opened


def test_an_unknown_source_is_the_usage_exit_for_every_command_with_a_source_option(home, monkeypatch):
    monkeypatch.chdir(home)
    swept = 0
    for command_path, command in READS_CONFIG:
        option = next((p for p in command.params if "--source" in getattr(p, "opts", ())), None)
        if option is None:
            continue
        required = _required(command, home)
        if "--source" in required:
            required[required.index("--source") + 1] = "nope"
        else:
            required += ["--source", "nope"]
        args = [*command_path, *required, "--config", str(home / "socialarchive.toml")]
        result = CliRunner().invoke(cli.main, args)
        _clean(result, args)
        assert result.exit_code == USAGE and "no source named nope" in result.output, (args, result.output)
        swept += 1
    assert swept >= 10


def _unreadable_configs(home: Path) -> dict[str, str]:
    (home / "a-directory.toml").mkdir()
    (home / "latin1.toml").write_bytes(GOOD.replace("admin", "adm\xefn").encode("latin-1"))
    configs = {"nonexistent": str(home / "no-such-config.toml"), "a directory": str(home / "a-directory.toml"),
               "not UTF-8": str(home / "latin1.toml"), "empty": str(home / "empty.toml")}
    (home / "empty.toml").write_text("")
    if os.geteuid() != 0:                                 # root reads a file of mode 000 all the same
        (home / "mode-000.toml").write_text(GOOD)
        (home / "mode-000.toml").chmod(0)
        configs["mode 000"] = str(home / "mode-000.toml")
    return configs


def test_an_unreadable_config_file_is_the_usage_exit_for_every_command(home, monkeypatch):
    monkeypatch.chdir(home)
    for kind, config in _unreadable_configs(home).items():
        for command_path, command in READS_CONFIG:
            for args in ([*command_path, *_required(command, home), "--config", config],
                         ["--config", config, *command_path, *_required(command, home)]):
                result = CliRunner().invoke(cli.main, args)
                _clean(result, args)
                assert result.exit_code == USAGE, (kind, args, result.exit_code, result.output[-2000:])
            env = CliRunner(env={"SOCIALARCHIVE_CONFIG": config}).invoke(
                cli.main, [*command_path, *_required(command, home)])
            assert env.exit_code == USAGE, (kind, command_path, env.output)


@pytest.mark.parametrize("kind", ["toml syntax error", "unknown key in [sources.blog]",
                                  "wrong type in [sources.wiki] (namespaces)", "internal argument as a source key (session)"])
def test_as_a_process_too(home, kind):
    """The same through a real process (what cron sees): stderr has no traceback."""
    path = home / "socialarchive.toml"
    path.write_text(MALFORMED[kind](GOOD))
    done = subprocess.run([sys.executable, "-m", "cli", "sync", "--config", str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == USAGE, done.stderr
    assert not PYTHON_TALK.search(done.stdout + done.stderr), done.stderr
    assert done.stderr.startswith("configuration error: "), done.stderr
