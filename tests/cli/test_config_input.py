"""Config and input at the command line (issue #17, IT): an unknown --source is refused by every
command with the configured names, and the shared options work before the subcommand too.

None of these reach a server: each is refused (or answered) before the repository is opened."""
from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

import cli
from connector.cli.options import SOURCE_OPTIONS
from ..conftest import write_config

SOURCES = """
[sources.blog]
type = "wordpress"
base_url = "http://127.0.0.1:1"
username = "admin"

[sources.wiki]
type = "mediawiki"
api_url = "http://127.0.0.1:1/api.php"
"""

UNKNOWN_SOURCE = [
    ["sync", "--source", "nope"],
    ["sync", "--source", "blog", "--source", "nope"],
    ["search", "word", "--source", "nope"],
    ["plan", "--source", "nope"],
    ["backfill", "--source", "nope"],
    ["report", "--source", "nope"],
    ["verify", "--source", "nope"],
    ["reclassify", "--source", "nope"],
    ["export", "--source", "nope", "--out", "bag"],
    ["hold", "add", "M-1", "--source", "nope"],
    ["quarantine", "list", "--source", "nope"],
    ["quarantine", "retry", "--source", "nope"],
]


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path, "http://127.0.0.1:1/browser", sources=SOURCES)


@pytest.mark.parametrize("args", UNKNOWN_SOURCE, ids=" ".join)
def test_every_command_refuses_an_unknown_source_naming_the_configured_ones(config, tmp_path, args):
    result = CliRunner().invoke(cli.main, [*args, "--config", config])
    assert result.exit_code == 2, result.output
    assert "no source named nope" in result.output and "(configured: blog, wiki)" in result.output
    assert not (tmp_path / "state").exists()  # refused before the ledger (or the repository) was opened


def _commands(group: click.Group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_source_option_is_one_the_shared_options_check():
    """The counter-example: a command whose --source reaches the command under another name."""
    unchecked = [" ".join(path) for path, command in _commands(cli.main) for p in command.params
                 if "--source" in getattr(p, "opts", ()) and p.name not in SOURCE_OPTIONS]
    assert unchecked == []


def test_shared_options_work_before_the_command(config):
    result = CliRunner().invoke(cli.main, ["--config", config, "--log-format", "json", "-v", "verify",
                                           "--source", "nope"])
    assert result.exit_code == 2, result.output
    line = json.loads(result.output.strip().splitlines()[-1])   # --log-format json reached the command
    assert line["level"] == "error" and "no source named nope" in line["message"] and config in line["message"]


def test_the_command_line_after_the_command_wins_and_before_it_beats_the_environment(config, tmp_path):
    missing = str(tmp_path / "missing.toml")
    result = CliRunner().invoke(cli.main, ["--config", missing, "verify", "--config", config, "--source", "nope"])
    assert result.exit_code == 2 and "no source named nope" in result.output, result.output
    result = CliRunner(env={"SOCIALARCHIVE_CONFIG": missing}).invoke(
        cli.main, ["--config", config, "verify", "--source", "nope"])
    assert result.exit_code == 2 and "no source named nope" in result.output, result.output
    result = CliRunner(env={"SOCIALARCHIVE_CONFIG": missing}).invoke(cli.main, ["verify"])
    assert result.exit_code == 2 and f"cannot read config {missing}" in result.output, result.output


@pytest.mark.parametrize("path", [(), *(p for p, _ in _commands(cli.main))], ids=" ".join)
def test_h_is_help_everywhere(path):
    result = CliRunner().invoke(cli.main, [*path, "-h"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ") and "-h, --help" in result.output


REQUIRED = {("hold", "add"): ["M-1", "--query", "x"], ("hold", "remove"): ["M-1", "--reason", "x"], ("subject", "find"): ["u"],
            ("subject", "restrict"): ["u"], ("plan",): ["--source", "blog"], ("backfill",): ["--source", "blog"],
            ("export",): ["--source", "blog", "--out", "bag"]}


@pytest.mark.parametrize("extra, message", [
    ('[stat]\nledger = "elsewhere.sqlite"\n', "[stat]: unknown table (did you mean state?)"),
    ('[http]\nread_timeout = "slow"\n', '[http] read_timeout: expected a number, not "slow"'),
])
def test_a_malformed_config_is_exit_2_with_the_key_named_for_every_command(config, tmp_path, extra, message):
    with open(config, "a", encoding="utf-8") as fh:
        fh.write(extra)
    for path, _ in _commands(cli.main):
        if path[0] == "docs" and path[-1] in ("cli", "cmis10-type"):
            continue  # reads no config
        result = CliRunner().invoke(cli.main, ["--config", config, *path, *REQUIRED.get(path, ())])
        assert result.exit_code == 2, (path, result.output)
        assert f"configuration error: {message}" in result.output and "Traceback" not in result.output, path
    assert not (tmp_path / "state").exists() and not (tmp_path / "elsewhere.sqlite").exists()


def test_a_source_retired_from_the_config_can_still_select_its_archived_records(config, tmp_path):
    """Archive, not sync: a wiki taken out of the config keeps its records holdable, searchable,
    exportable; reading the source itself (sync, backfill, plan, report) needs it configured."""
    from connector.store import Ledger
    ledger = Ledger(str(tmp_path / "state" / "ledger.sqlite"))
    ledger.db.execute("INSERT INTO records (key, source, kind, native_id, object_id, series_id, name, folder, "
                      "first_filed, last_filed) VALUES ('oldwiki/page/1', 'oldwiki', 'page', '1', 'o', 's', 'n', "
                      "'/f', 't', 't')")
    ledger.close()
    result = CliRunner().invoke(cli.main, ["quarantine", "list", "--source", "oldwiki", "--config", config])
    assert result.exit_code == 0 and "nothing quarantined" in result.output, result.output
    result = CliRunner().invoke(cli.main, ["sync", "--source", "oldwiki", "--config", config])
    assert result.exit_code == 2 and "no source named oldwiki" in result.output, result.output
    result = CliRunner().invoke(cli.main, ["verify", "--source", "nope", "--config", config])
    assert result.exit_code == 2, result.output
    assert "(configured: blog, wiki; archived, no longer configured: oldwiki)" in result.output
