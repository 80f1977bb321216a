"""What a run prints (issue #17, IT): `quarantine list` one line per record, --quiet, warnings
repeated within a run told once with a count. No server needed: the ledger is local."""
from __future__ import annotations

import json
import logging
import re

from click.testing import CliRunner

from cli import main
from connector.store import Ledger
from connector.when import WHEN

from ..conftest import write_config

REASON = "the repository refused it:\n  org.apache.chemistry.opencmis.CmisRuntimeException: parser\n\tat Parser.java:12\n"


def quarantined_config(tmp_path) -> str:
    config = write_config(tmp_path, "http://127.0.0.1:9/cmis")
    ledger = Ledger(str(tmp_path / "state" / "ledger.sqlite"))
    try:
        ledger.quarantine("wiki/page/1", "wiki", "Skippable", REASON)
    finally:
        ledger.close()
    return config


def test_quarantine_list_shows_a_multi_line_reason_on_one_line(tmp_path):
    config = quarantined_config(tmp_path)
    text = CliRunner().invoke(main, ["quarantine", "list", "--config", config])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert len(lines) == 1 and lines[0].split("\t")[:3] == [
        "wiki/page/1", "Skippable",
        "the repository refused it: org.apache.chemistry.opencmis.CmisRuntimeException: parser at Parser.java:12"]
    whole = CliRunner().invoke(main, ["quarantine", "list", "--json", "--config", config])
    assert json.loads(whole.stdout)[0]["reason"] == REASON     # JSON keeps the reason as filed


def test_quarantine_list_prints_a_time_the_date_options_take(tmp_path):
    """The last-seen time is printed as `status` prints times (UTC, whole seconds, Z), so it can be
    pasted into --since."""
    config = quarantined_config(tmp_path)
    text = CliRunner().invoke(main, ["quarantine", "list", "--config", config])
    last_seen = text.stdout.split("\tlast ")[1].strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", last_seen), last_seen
    assert WHEN.convert(last_seen, None, None) is not None


WIKI = """
[sources.wiki]
type = "mediawiki"
api_url = "http://127.0.0.1:9/api.php"
username = "bot"
password_file = "cmis-password"
"""


class RepeatingArchive:
    """Stands in for ``Archive.open`` and the ``Pipeline`` over it: a run that warns once per item (an
    unmapped principal each time), reports three objects done, and fails with ``fail`` when given."""
    run_id = "20260101T000000Z-abcdef"
    stop_requested = False

    def __init__(self, fail=None):
        self.fail = fail

    def sync(self, source, reconcile=False, on_object=None):
        from connector.summary import Summary
        log = logging.getLogger("connector.access")
        for n in range(6):
            log.warning("source principal %s of %s is not mapped in [permissions.principals]", f"group:g{n}", "wiki")
        logging.getLogger("connector.pipeline").info("an info line")
        summary = Summary(source=source.name, items=3)
        for _ in range(3):
            if on_object:
                on_object(summary)
        if self.fail:
            raise self.fail
        return summary

    def close(self):
        pass


def sync_with(monkeypatch, tmp_path, *args, fail=None):
    from connector.archive import Archive
    from connector.cli import run
    monkeypatch.setattr(Archive, "open", classmethod(lambda cls, cfg, **kw: RepeatingArchive(fail)))
    monkeypatch.setattr(run, "Pipeline", lambda archive: archive)
    config = write_config(tmp_path, "http://127.0.0.1:9/cmis", sources=WIKI)
    return CliRunner().invoke(main, ["sync", "--dry-run", "--config", config, *args])


def test_a_warning_repeated_in_a_run_is_told_once_with_a_count(monkeypatch, tmp_path):
    result = sync_with(monkeypatch, tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert sum("is not mapped" in line for line in lines) == 2       # the first, and the digest
    assert "group:g0 of wiki is not mapped" in lines[0]
    assert lines[-1].endswith('5 more this run like "source principal %s of %s is not mapped in '
                              '[permissions.principals]", e.g. group:g1, group:g2, group:g3, ...')
    logs = sync_with(monkeypatch, tmp_path, "--log-format", "json")
    entries = [json.loads(line) for line in logs.stderr.splitlines()]
    digest = [e for e in entries if "repeated" in e]
    assert len(digest) == 1 and digest[0]["repeated"] == 5 and digest[0]["level"] == "warning"
    assert digest[0]["examples"] == ["group:g1", "group:g2", "group:g3"]
    assert digest[0]["template"].startswith("source principal %s of %s")
    again = sync_with(monkeypatch, tmp_path)            # the next run starts afresh: its first is shown
    assert sum("is not mapped" in line for line in again.stderr.splitlines()) == 2


def test_progress_off_a_terminal_only_when_asked_and_never_with_quiet(monkeypatch, tmp_path):
    assert "objects" not in sync_with(monkeypatch, tmp_path).stderr
    asked = sync_with(monkeypatch, tmp_path, "--progress-interval", "0.1")
    assert "wiki: 3 objects, 0 new versions, 0 quarantined" in asked.stderr
    quiet = sync_with(monkeypatch, tmp_path, "--progress-interval", "0.1", "--quiet", "-v")
    assert quiet.exit_code == 0 and quiet.stderr == ""            # no progress, warning or info line
    assert "wiki: 3 items" in quiet.stdout                         # the command's output stays


def test_quiet_keeps_errors(monkeypatch, tmp_path):
    from connector.errors import Fatal
    result = sync_with(monkeypatch, tmp_path, "-q", fail=Fatal("credentials refused"))
    assert result.exit_code == 5
    assert result.stderr.strip() == "error: credentials refused"
    before = CliRunner().invoke(main, ["--quiet", "quarantine", "list", "--config",
                                       write_config(tmp_path, "http://127.0.0.1:9/cmis")])
    assert before.exit_code == 0 and before.stderr == ""           # "nothing quarantined" is a note: quiet
