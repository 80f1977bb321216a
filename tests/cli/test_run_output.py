"""What a run prints (issue #17, IT): `quarantine list` one line per record, --quiet, warnings
repeated within a run told once with a count. No server needed: the ledger is local."""
from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from connector.ledger import Ledger

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
