"""A ledger written before the ACL digest migrates failing closed (connector.store._migrate)."""
from __future__ import annotations

import sqlite3

from connector.store import LEGACY_RAW_RECORD, LEGACY_RESTRICTION, Ledger

OLD_RECORDS = """CREATE TABLE records (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, native_id TEXT NOT NULL,
    object_id TEXT NOT NULL, series_id TEXT NOT NULL, name TEXT NOT NULL, folder TEXT NOT NULL,
    visibility TEXT NOT NULL DEFAULT '', deleted INTEGER NOT NULL DEFAULT 0,
    first_filed TEXT NOT NULL, last_filed TEXT NOT NULL)"""


def test_old_ledger_gains_the_acl_column_and_keeps_what_may_have_been_archive_restrictions(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    db = sqlite3.connect(path)
    db.execute(OLD_RECORDS)
    rows = [("wiki/page/1", "wiki", "page", "public:"), ("wiki/page/2", "wiki", "page", "restricted:"),
            ("forum/thread/7", "forum", "thread", "public:"), ("blog/comment/3", "blog", "comment", "public:"),
            ("wiki/tombstone/x", "wiki", "tombstone", "restricted:")]
    db.executemany("INSERT INTO records VALUES (?,?,?,?,'o','s','n','f',?,0,'t','t')",
                   [(key, source, kind, key.rsplit("/", 1)[1], vis) for key, source, kind, vis in rows])
    db.commit()
    db.close()
    ledger = Ledger(path)
    try:
        assert ledger.record("wiki/page/1")["acl"] == ""       # unknown: decided again next run
        assert ledger.restrictions("wiki/page/1") == frozenset()
        assert ledger.restrictions("wiki/page/2") == {LEGACY_RESTRICTION}
        assert ledger.restrictions("forum/thread/7") == {LEGACY_RAW_RECORD}
        assert ledger.restrictions("blog/comment/3") == {LEGACY_RAW_RECORD}
        assert ledger.restrictions("wiki/tombstone/x") == frozenset()
        assert ledger.restrictions_of("forum") == {"forum/thread/7": {LEGACY_RAW_RECORD}}
    finally:
        ledger.close()
    Ledger(path).close()   # opening again changes nothing
