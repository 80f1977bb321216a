"""The store package (the ledger)'s own answers (issue #18): ``peek`` reads without creating or changing a
ledger, ``move_aside`` keeps the old file whole, the compliance tables keep what ``restore_*`` finds
beside what is there, and an old ledger gains the hold's release reason."""
from __future__ import annotations

import os
import sqlite3

from connector.store import Ledger, archived_sources, peek


def test_peek_creates_nothing_and_answers_the_default_where_it_cannot(tmp_path):
    missing = str(tmp_path / "none.sqlite")
    assert peek(missing, Ledger.record_sources, {"default"}) == {"default"}
    assert not os.path.exists(missing)
    bare = str(tmp_path / "bare.sqlite")
    sqlite3.connect(bare).close()                         # a file with no table at all
    assert peek(bare, lambda ledger: ledger.recent_runs(10), []) == []
    assert archived_sources(bare) == set()


def test_peek_cannot_write(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    Ledger(path).close()
    before = open(path, "rb").read()
    assert peek(path, lambda ledger: ledger.start_run("r1", "sync wiki") or "wrote", "refused") == "refused"
    assert open(path, "rb").read() == before
    ledger = Ledger(path)
    ledger.start_run("r2", "sync wiki")
    ledger.close()
    assert [run[0] for run in peek(path, lambda ledger: ledger.recent_runs(10), [])] == ["r2"]


def test_move_aside_keeps_the_old_ledger_whole(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    ledger = Ledger(path)
    ledger.start_run("r1", "sync wiki")
    aside = ledger.move_aside()
    assert aside.startswith(path + ".replaced-") and not os.path.exists(path)
    assert [run[0] for run in peek(aside, lambda old: old.recent_runs(10), [])] == ["r1"]
    fresh = Ledger(path)
    assert fresh.recent_runs(10) == []
    fresh.close()


def test_holds_and_restrictions_restored_beside_what_is_there(tmp_path):
    ledger = Ledger(str(tmp_path / "ledger.sqlite"))
    ledger.place_hold("M-1", "2026-01-01T00:00:00+00:00", "ann", {"source": "wiki"}, "note")
    ledger.hold_applied("M-1", "2026-01-01T00:00:00+00:00", "wiki/page/1", 3)
    ledger.restore_hold("M-1", "2026-01-01T00:00:00+00:00", "rebuild", {}, "", None, None, None)
    ledger.restore_held_records("M-1", "2026-01-01T00:00:00+00:00", {"wiki/page/1": 9, "wiki/page/2": 1})
    [(matter, _, by, criteria, note, released, _, records, _)] = ledger.holds()
    assert (matter, by, criteria, note, released, records) == ("M-1", "ann", {"source": "wiki"}, "note", None, 2)
    ledger.release_hold("M-1", "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00", "bob", "case closed")
    released = ledger.holds()[0]
    assert (released[5], released[6], released[8]) == ("2026-02-01T00:00:00+00:00", "bob", "case closed")
    ledger.restrict_subject("Mallory", "2026-01-01T00:00:00+00:00", "ann", "DSAR 21")
    ledger.restrict_subject("Mallory", "2026-03-01T00:00:00+00:00", "rebuild", "")
    assert ledger.restricted_subjects() == ["Mallory"]
    ledger.segment_filed(1, 10, "ab", 10, "_audit/audit-segment/1", "obj-1")
    ledger.segment_filed(1, 12, "cd", 12, "_audit/audit-segment/1", "obj-2", restored=True)
    assert ledger.audit_segments() == [(1, 10, "ab", 10, "_audit/audit-segment/1", "obj-1")]
    ledger.close()


def test_a_ledger_from_before_release_reasons_gains_the_column(tmp_path):
    path = str(tmp_path / "old.sqlite")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE holds (matter TEXT NOT NULL, placed_at TEXT NOT NULL, placed_by TEXT NOT NULL, "
               "criteria TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', released_at TEXT, released_by TEXT, "
               "PRIMARY KEY (matter, placed_at))")
    db.execute("INSERT INTO holds VALUES ('M-0', 't0', 'ann', '{}', '', NULL, NULL)")
    db.commit()
    db.close()
    ledger = Ledger(path)
    assert [(h[0], h[8]) for h in ledger.holds()] == [("M-0", None)]
    ledger.close()
