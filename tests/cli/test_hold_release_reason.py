"""`hold remove` takes a required, non-blank `--reason` (trimmed): it is in the release's audit
entries, shown by `hold list` (text and JSON), and survives `ledger rebuild`, which restores
released holds from the audit anchors filed in the repository. Through the CLI, on the real
OpenCMIS InMemory server."""
from __future__ import annotations

import json
import re
import os

import pytest

from connector import config

from ..compliance.test_compliance_inmemory import audit_events, cli, seeded  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
HOLD = ["hold", "add", "M-9", "--source", "wiki", "--since", "2023-01-01", "--until", "2024-01-01"]


def listed(path: str) -> list[dict]:
    return json.loads(cli("hold", "list", "--all", "--json", "--config", path).stdout)


def test_hold_remove_without_a_reason_is_refused_and_releases_nothing(seeded):  # noqa: F811
    assert cli(*HOLD, "--config", seeded.path).exit_code == 0
    missing = cli("hold", "remove", "M-9", "--config", seeded.path)
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output, missing.output
    blank = cli("hold", "remove", "M-9", "--reason", " \t ", "--config", seeded.path)
    assert blank.exit_code == 2 and "'--reason': must not be blank" in blank.output, blank.output
    assert [(h["matter"], h["active"], h["records"]) for h in listed(seeded.path)] == [("M-9", True, 4)]
    assert not [e for e in audit_events(config.load(seeded.path)) if e["event"].startswith("hold-re")]


def test_the_release_reason_is_audited_listed_and_survives_a_ledger_rebuild(seeded):  # noqa: F811
    path = seeded.path
    assert cli(*HOLD, "--config", path).exit_code == 0
    removed = cli("hold", "remove", "M-9", "--reason", "  case 9 closed, counsel's mail of 2025-03-01 ", "--config", path)
    assert removed.exit_code == 0, removed.output
    reason = "case 9 closed, counsel's mail of 2025-03-01"
    assert "released on 4 records" in removed.stdout and f"reason: {reason}" in removed.stdout, removed.stdout
    cfg = config.load(path)
    assert [(e["event"], e["reason"]) for e in audit_events(cfg) if e["event"] in ("hold-remove", "hold-released")] \
        == [("hold-remove", reason), ("hold-released", reason)]
    [hold] = listed(path)
    assert (hold["active"], hold["release_reason"]) == (False, reason) and hold["released_by"]
    text = cli("hold", "list", "--all", "--config", path).stdout
    assert f"reason: {reason}" in text
    # times as status prints them (UTC, whole seconds, Z): pasteable into --since
    assert re.search(r"released \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by .*placed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by", text), text

    # the ledger lost: the released hold, its reason included, comes back from the filed audit log
    assert cli("audit", "file", "--config", path).exit_code == 0
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(cfg.ledger_path + suffix):
            os.remove(cfg.ledger_path + suffix)
    rebuilt = cli("ledger", "rebuild", "--config", path)
    assert rebuilt.exit_code == 0, rebuilt.output
    # as before, except the count of records the released hold was applied to (its hold-apply
    # entries are not read back; the repository's sa:holdIds name active holds only)
    assert listed(path) == [{**hold, "records": 0}]
    # released, so new records under its criteria are not held, and it can be placed again
    assert cli("hold", "list", "--config", path).stdout.strip() == ""
    assert cli(*HOLD, "--config", path).exit_code == 0
