"""The procedure documentation is generated from the configuration in use, without a server: it
describes this deployment (not the shipped examples), states the run lock as the code behaves,
and is written in one language per document (``--lang en|de``)."""
import fcntl
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import tomllib

import click
import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.compliance.procedure import LOCKING, NOT_LOCKING, generate
from connector.compliance.procedure_text import DE, EN, PROPERTIES_DE
from connector.cmis.schema import ARCHIVE_PROPERTIES
from connector.config import shipped_mapping

from .conftest import compliance_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SOURCES = textwrap.dedent("""
    [sources.wiki]
    type = "mediawiki"
    api_url = "http://wiki.example/api.php"
    username = "Archiver@bot"
    password_env = "SA_TEST_NOT_SET_ANYWHERE"
""")

# A deployment nobody ships: its names must be in the document, the examples' must not.
DISTINCT = textwrap.dedent("""
    [sources.kiwi-intranet]
    type = "mediawiki"
    api_url = "https://kiwibot:hunter2-pw@kiwi-wiki.internal.example/w/api.php?token=zzsecret&lang=de"
    username = "Kiwi@archiver"
    password_env = "SA_TEST_NOT_SET_ANYWHERE"
    sync_every_minutes = 20

    [sources.quokka-news]
    type = "wordpress"
    base_url = "https://quokka-news.example.net/"
    username = "quokka-archiver"
    app_password_file = "cmis-password"
    private_readers = ["role:Pressestelle"]

    [mapping]
    file = "kiwi-mapping.toml"
""")


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_TEST_NOT_SET_ANYWHERE", "s3cret-value")
    path = compliance_config(tmp_path, "https://cmisbot:cmis-pw@ecm.kiwi.example:8443/alfresco/browser",
                             base_path="/Kiwi-Archiv-2031", extra='tsa_url = "https://tsa.example/tsr"\n')
    shutil.copy(shipped_mapping("default.toml"), tmp_path / "kiwi-mapping.toml")
    with open(path, "a") as fh:
        fh.write(DISTINCT)
    return path


def test_procedure_names_sources_classes_permissions_and_the_config_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("SA_TEST_NOT_SET_ANYWHERE", "s3cret-value")
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser",
                             extra='tsa_url = "https://tsa.example/tsr"\n')
    with open(path, "a") as fh:
        fh.write(SOURCES)
    cfg = config.load(path)
    text = generate(cfg)
    assert text.startswith("# Procedure documentation")
    assert cfg.fingerprint == _digest_of(("config", path), ("mapping", cfg.mapping_path),
                                         ("classification", str(tmp_path / "classes.toml")))
    assert f"| all three (the config digest of every run, audit entry 'run') | – | {cfg.fingerprint} |" in text
    assert f"| configuration | {path} | {hashlib.sha256(open(path, 'rb').read()).hexdigest()} |" in text
    assert f"| mapping rules | {cfg.mapping_path} (shipped default) |" in text
    assert "| wiki | mediawiki | http://wiki.example/api.php | Archiver@bot | – |" in text
    assert "s3cret-value" not in text and "password" not in text.split("## 3.")[0].split("## 2.")[1]
    assert "| booking-voucher | 8 | gobd-8 |" in text and "| short | 3 | custom |" in text
    assert "| 1 | invoices | tags in [invoice] | booking-voucher |" in text
    assert "default class **organisation**" in text
    assert "| restricted readers (cmis:read) | GROUP_records |" in text and "| group:sysop | GROUP_wiki_admins |" in text
    assert "`{source}/{space}/{year}`" in text and "| sa:retainUntil | datetime |" in text
    assert "## 9. Schedule and run lock" in text and "## 10. Verification" in text and "exits with code 7" in text
    assert "timestamped (RFC 3161) by `https://tsa.example/tsr`" in text
    assert "| cmislib | 0.7.0 |" in text

    out = tmp_path / "procedure.md"
    result = CliRunner().invoke(main, ["docs", "procedure", "--out", str(out), "--config", path])
    assert result.exit_code == 0, result.output
    assert out.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]   # same text, but for the generation time


def test_the_document_describes_this_deployment_not_the_shipped_examples(deployment, tmp_path):
    result = CliRunner().invoke(main, ["docs", "procedure", "--config", deployment])
    assert result.exit_code == 0, result.output
    text = result.output
    for own in ("kiwi-intranet", "https://kiwi-wiki.internal.example/w/api.php?lang=de", "Kiwi@archiver",
                "quokka-news", "https://quokka-news.example.net/", "quokka-archiver", "private_readers = role:Pressestelle",
                "https://ecm.kiwi.example:8443/alfresco/browser", "/Kiwi-Archiv-2031", "`/Kiwi-Archiv-2031/_audit/<year>`",
                str(tmp_path / "kiwi-mapping.toml"), str(tmp_path / "classes.toml"),
                "- kiwi-intranet: every 20 minutes", str(tmp_path / "state" / "ledger.sqlite.lock")):
        assert own in text, own
    assert "(shipped default)" not in text                     # both rule files are this deployment's own
    for secret in ("hunter2", "kiwibot", "zzsecret", "cmis-pw", "cmisbot", "s3cret-value", "admin\n"):
        assert secret not in text, secret
    # the shipped examples: docker/'s config and deployment units, the config module's example
    example = tomllib.load(open(os.path.join(ROOT, "docker", "socialarchive.toml"), "rb"))
    for shipped in ("docker/", "OnCalendar", "*/15 * * * *", "*:0/15", "cronjob-wiki", "opencmis:8080",
                    example["sources"]["wiki"]["api_url"], example["sources"]["wiki"]["username"],
                    example["state"]["ledger"], "127.0.0.1:8081", "| wiki |"):
        assert shipped not in text, shipped


def test_without_a_declared_schedule_the_document_says_so_and_shows_what_the_ledger_observed(tmp_path):
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser")
    with open(path, "a") as fh:
        fh.write('[sources.blog]\ntype = "wordpress"\nbase_url = "http://blog.example/"\nusername = "u"\n'
                 'app_password_file = "cmis-password"\n')
    cfg = config.load(path)
    os.makedirs(os.path.dirname(cfg.ledger_path), exist_ok=True)
    db = sqlite3.connect(cfg.ledger_path)
    db.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, "
               "finished_at TEXT, outcome TEXT, summary TEXT)")
    db.executemany("INSERT INTO runs VALUES (?, 'sync blog', ?, ?, 'ok', '{}')",
                   [(f"r{i}", f"2031-05-0{i}T10:00:00.000+00:00", f"2031-05-0{i}T10:01:00.000+00:00")
                    for i in range(1, 5)])
    db.commit()
    db.close()
    text = generate(cfg)
    assert "does not say how often `socialarchive sync` runs" in text
    assert "blog synced 4 times, at a median interval of 24.0 h (last start 2031-05-04T10:00:00+00:00)" in text
    assert "The ledger of this deployment records no legal hold." in text
    assert "| r4 | sync blog | 2031-05-04T10:00:00.000+00:00 |" in text


def test_each_language_is_one_language(deployment):
    en = CliRunner().invoke(main, ["docs", "procedure", "--config", deployment]).output
    de = CliRunner().invoke(main, ["docs", "procedure", "--lang", "de", "--config", deployment]).output
    assert en.startswith("# Procedure documentation") and de.startswith("# Verfahrensdokumentation")
    assert set(EN) == set(DE) and set(PROPERTIES_DE) == {p.id for p in ARCHIVE_PROPERTIES}
    en_titles, de_titles = _titles(en), _titles(de)
    assert len(en_titles) == len(de_titles) >= 14
    assert not set(en_titles) & set(de_titles)                 # no section title shared, either way
    assert not [t for t in de_titles if re.search(r"\b(the|and|of|Schedule|Sources|Permissions)\b", t)]
    assert not [t for t in en_titles if re.search(r"\b(und|der|die|Quellen|Zeitplan|Sperren)\b", t)]
    # the running text: no common English word in German prose, and none of the German in English;
    # table cells and code spans hold values of the deployment (names, paths) and are left out
    assert not _words(de) & {"the", "and", "of", "is", "every", "which", "with", "not"}
    assert not _words(en) & {"und", "der", "die", "das", "jede", "nicht", "wird", "mit"}
    assert "- kiwi-intranet: alle 20 Minuten" in de and "Exit-Code 6" in de


def _titles(text: str) -> list[str]:
    return [line.lstrip("#").strip().split(". ", 1)[-1] for line in text.splitlines() if line.startswith("#")]


def _words(text: str) -> set[str]:
    prose = [re.sub(r"`[^`]*`|\"[^\"]*\"|https?://\S+", "", line) for line in text.splitlines()
             if not line.startswith("|")]
    return set(re.findall(r"[a-zäöüß]+", " ".join(prose)))


def test_the_lock_text_names_the_commands_that_take_the_lock_as_the_code_does(tmp_path):
    """With the ledger's lock held by another process, exactly the commands the document lists as
    locking exit 6 with the message it quotes (the lock is taken before the repository is asked, so
    no server is needed: nothing listens on 127.0.0.1:9); every other command does not stop at it."""
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser",
                             extra="[http]\nbackoff_initial = 0.01\nbackoff_max = 0.02\nbackoff_jitter = 0\n")
    with open(path, "a") as fh:
        fh.write('[sources.kiwi-intranet]\ntype = "mediawiki"\napi_url = "http://127.0.0.1:9/api.php"\n'
                 'username = "u"\npassword_file = "cmis-password"\n')
    cfg = config.load(path)
    text = generate(cfg)
    lock = cfg.ledger_path + ".lock"
    assert f'"another socialarchive run holds {lock}; not starting a second one"' in text
    assert "does not wait: it stops at once" in text and "exit code 6" in text and "`kill -9`" in text
    for command in (*LOCKING, *NOT_LOCKING):
        assert f"`{command}`" in text.split("Run lock:")[1]
    assert set(LOCKING) | set(NOT_LOCKING) == set(_top_commands(main))
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, lock], stdout=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert holder.stdout.readline() == b"held\n"
        for command in _leaves(main):
            if command[0] == "docs":
                continue
            result = CliRunner().invoke(main, [*command, *_args(command), "--config", path])
            locked = " ".join(command) in LOCKING or command[0] in LOCKING
            assert (result.exit_code == 6) == locked, (command, result.exit_code, result.output)
            if locked:
                assert f"another socialarchive run holds {lock}" in result.output
        # the lock dies with its holder, even on SIGKILL: no stale lock
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        fd = os.open(lock, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)             # raises if it were still held
        os.close(fd)
    finally:
        holder.kill()
        holder.wait(timeout=10)


_HOLD = ("import sys, time; from connector.runlock import take_lock; take_lock(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)")
# The least a command needs to get past its own argument checks to where it would open the archive.
_ARGS = {"hold add": ["M-1", "--query", "x"], "hold remove": ["M-1", "--reason", "test"], "export": ["--matter", "M-1", "--out", "/nonexistent-dir/bag"],
         "subject find": ["someone"], "subject restrict": ["someone", "--reason", "test"],
         "backfill": ["--source", "kiwi-intranet"], "plan": ["--source", "kiwi-intranet", "--no-probe"],
         "search": ["x"], "quarantine retry": []}


def _args(command: tuple[str, ...]) -> list[str]:
    """_ARGS of the command, without a ``--reason`` it does not (yet) take."""
    args = list(_ARGS.get(" ".join(command), []))
    target = main
    for name in command:
        target = target.commands[name]
    if "--reason" in args and not any("--reason" in p.opts for p in target.params):
        del args[args.index("--reason"):args.index("--reason") + 2]
    return args


def _top_commands(group: click.Group) -> list[str]:
    """Command names as the lock text names them: groups whose subcommands differ are listed per subcommand."""
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group) and name != "docs":
            names += [f"{name} {sub}" for sub in command.commands]
        else:
            names.append(name)
    return names


def _leaves(group: click.Group, prefix: tuple = ()) -> list[tuple]:
    out = []
    for name, command in group.commands.items():
        out += _leaves(command, (*prefix, name)) if isinstance(command, click.Group) else [(*prefix, name)]
    return out


def _digest_of(*files: tuple[str, str]) -> str:
    return hashlib.sha256("".join(f"{role} {hashlib.sha256(open(f, 'rb').read()).hexdigest()}\n"
                                  for role, f in files).encode()).hexdigest()


def test_the_config_digest_covers_every_file_a_run_loads(tmp_path):
    """The TOML file, the mapping file and the classification rules: a changed rule is a changed digest."""
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser")
    before = config.load(path).fingerprint
    rules = tmp_path / "classes.toml"
    rules.write_text(rules.read_text().replace("years = 3", "years = 30"))
    after = config.load(path).fingerprint
    assert after != before and config.load(path).fingerprint == after          # stable while nothing changes
    mapping = tmp_path / "mapping.toml"
    mapping.write_bytes(open(config.load(path).mapping_path, "rb").read())
    with open(path, "a") as fh:
        fh.write(f'\n[mapping]\nfile = "{mapping}"\n')
    own_mapping = config.load(path).fingerprint
    mapping.write_text(mapping.read_text() + "\n# changed\n")
    assert config.load(path).fingerprint not in (before, after, own_mapping)


def test_unknown_compliance_keys_are_refused(tmp_path):
    path = compliance_config(tmp_path, "http://127.0.0.1:9/inmemory/browser", extra='tsa_password = "x"\n')
    result = CliRunner().invoke(main, ["docs", "procedure", "--config", path])
    assert result.exit_code == 2 and "tsa_password_env" in result.output


def test_an_unknown_language_is_a_usage_error(deployment):
    result = CliRunner().invoke(main, ["docs", "procedure", "--lang", "fr", "--config", deployment])
    assert result.exit_code == 2 and "'fr' is not one of 'en', 'de'" in result.output
