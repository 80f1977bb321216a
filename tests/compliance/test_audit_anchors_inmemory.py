"""The audit log against its anchors in the real OpenCMIS InMemory 1.1.0 server, and a ledger rebuilt
with its holds and restrictions.

Each tamper case also deletes the ledger's ``audit_segments`` rows (what a tamperer with the disk
would do): ``verify`` reads the segments from the repository, so it still exits 7 and names the
missing or altered entries. ``ledger rebuild`` on an empty ledger restores holds (a held record
stays held, new versions get the hold), the GDPR restriction (the subject's records stay narrow,
their later content is restricted) and the segment rows (``audit file`` goes on where it was).
"""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from connector import config
from connector.archive import Archive
from connector.audit import AuditLog, verify_chain
from connector.compliance.classify import RESTRICTED_REASON
from connector.compliance.segments import filed_segments

from .conftest import compliance_config
from .test_compliance_inmemory import T2023, cli, file, history, item, revision, seeded  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
ADMINS_ONLY = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}


def anchored(path: str) -> config.Config:
    """The seeded archive's audit log filed into the repository (entries 1-6), verified clean."""
    first = cli("audit", "file", "--config", path)
    assert first.exit_code == 0 and "filed as" in first.output, first.output
    assert cli("verify", "--config", path).exit_code == 0
    return config.load(path)


def forget_segments(cfg: config.Config) -> None:
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        archive.ledger.db.execute("DELETE FROM audit_segments")
    finally:
        archive.close()


def local_lines(cfg: config.Config) -> list[str]:
    with open(cfg.audit_path, encoding="utf-8") as fh:
        return fh.read().splitlines(keepends=True)


def verify_fails(path: str, *expected: str) -> str:
    result = cli("verify", "--sample", "1", "--config", path)
    assert result.exit_code == 7, result.output
    for text in expected:
        assert text in result.output, result.output
    return result.output


def test_a_cut_tail_is_named(seeded):
    cfg = anchored(seeded.path)
    lines = local_lines(cfg)
    with open(cfg.audit_path, "w", encoding="utf-8") as fh:
        fh.writelines(lines[:4])                     # entries 5 and 6 (filed), and what followed, cut
    forget_segments(cfg)
    assert verify_chain(cfg.audit_path) == []        # what is left chains fine
    verify_fails(seeded.path, "the audit log was cut: entries 5-6 are missing from", "(it ends at entry 4)")


def test_a_missing_log_is_named(seeded):
    cfg = anchored(seeded.path)
    os.remove(cfg.audit_path)
    forget_segments(cfg)
    verify_fails(seeded.path, f"the audit log {cfg.audit_path} is missing; the repository holds entries 1-6 in 1 segments")


def test_a_middle_entry_deleted_is_named(seeded):
    cfg = anchored(seeded.path)
    lines = local_lines(cfg)
    with open(cfg.audit_path, "w", encoding="utf-8") as fh:
        fh.writelines(lines[:2] + lines[3:])
    forget_segments(cfg)
    verify_fails(seeded.path, "audit log entries 3-3 are missing from")


def test_a_consistently_rewritten_chain_is_named_without_the_ledgers_segment_rows(seeded):
    cfg = anchored(seeded.path)
    entries = [json.loads(line) for line in local_lines(cfg)]
    entries[1]["sha256"] = "f" * 64                  # hide what was filed, then chain everything anew
    os.remove(cfg.audit_path)
    forged = AuditLog(cfg.audit_path)
    for e in entries:
        forged.append(e.pop("event"), **{k: v for k, v in e.items() if k not in ("seq", "time", "actor", "prev", "hash")})
    assert verify_chain(cfg.audit_path) == []
    forget_segments(cfg)
    output = verify_fails(seeded.path, "audit log entries 1-6 differ from the segment filed in the repository "
                                       "(_audit/audit-segment/0000000001")
    assert "differ" in output and output.count("audit:") == 1, output


def test_ledger_rebuild_restores_holds_restrictions_and_segments(tmp_path, cmis_url):
    path = compliance_config(tmp_path, cmis_url)
    invoice = item("21", T2023, ["Invoice 2023-021"], tags=("Invoice",))
    mallory = item("22", T2023, ["Mallory's notes"], author="Mallory")
    other = item("23", T2023 - timedelta(days=400), ["Filed in 2022, not held"])
    archive = Archive.open(config.load(path))
    try:
        file(archive, invoice, mallory, other)
    finally:
        archive.close()
    assert cli("hold", "add", "M-21", "--source", "wiki", "--since", "2023-01-01", "--until", "2024-01-01",
               "--note", "case 21", "--config", path).exit_code == 0
    assert cli("subject", "restrict", "Mallory", "--reason", "DSAR 21", "--config", path).exit_code == 0
    assert cli("audit", "file", "--config", path).exit_code == 0
    cfg = config.load(path)
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        segments_before = filed_segments(archive.ledger)
        holds_before = archive.ledger.db.execute("SELECT matter, placed_at, placed_by, criteria, note FROM holds").fetchall()
    finally:
        archive.close()

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(cfg.ledger_path + suffix):
            os.remove(cfg.ledger_path + suffix)
    result = cli("ledger", "rebuild", "--config", path)
    assert result.exit_code == 0, result.output

    listed = json.loads(cli("hold", "list", "--json", "--config", path).output)
    assert [(h["matter"], h["active"], h["records"], h["note"], h["criteria"]["source"]) for h in listed] == \
        [("M-21", True, 2, "case 21", "wiki")]
    assert json.loads(cli("verify", "--json", "--config", path).output)["ok"]
    archive = Archive.open(cfg)
    try:
        assert filed_segments(archive.ledger) == segments_before
        assert archive.ledger.db.execute("SELECT matter, placed_at, placed_by, criteria, note FROM holds").fetchall() \
            == holds_before
        assert RESTRICTED_REASON in archive.ledger.restrictions(mallory.key)
        assert archive.ledger.restrictions(invoice.key) == frozenset()
        assert archive.ledger.db.execute("SELECT subject, reason FROM restrictions").fetchall() == [("Mallory", "DSAR 21")]
        # a held record stays held: its new version carries the hold; a new record under the criteria too
        invoice.revisions.append(revision(2102, T2023 + timedelta(days=10), "Invoice 2023-021, paid"))
        later = item("24", T2023 + timedelta(days=20), ["Filed after the rebuild"])
        # the subject's record stays narrow when the source calls it public; their later content is restricted
        mallory.revisions.append(revision(2202, T2023 + timedelta(days=10), "Mallory's notes, harmless edit"))
        again = item("25", T2023 + timedelta(days=30), ["Mallory again"], author="Mallory")
        file(archive, invoice, later, mallory, again)
        assert [v.get("sa:holdIds") for v in history(archive, invoice)] == [["M-21"], ["M-21"]]
        assert history(archive, later)[0]["sa:holdIds"] == ["M-21"]
        assert not history(archive, other)[0].get("sa:holdIds")
        for it in (mallory, again):
            assert archive.repo.acl(history(archive, it)[-1]["cmis:objectId"]) == ADMINS_ONLY, it.key
        assert history(archive, again)[0]["sa:restricted"] is True
    finally:
        archive.close()
    filed = cli("audit", "file", "--config", path)      # goes on after the restored segment, files no entry twice
    assert filed.exit_code == 0 and f"entries {segments_before[-1].last_seq + 1}-" in filed.output, filed.output
