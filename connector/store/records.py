"""Records and their versions: what the repository acknowledged, what is about to be written
(intents), the restrictions the archive placed, and what could not be filed (quarantine).

Tables:
- ``records``: one row per archived record (key → object/series id, folder, name, deleted flag),
  with who may read it in the source as last seen (``visibility``, ``model.access_label``) and the
  digest of the ACL last written to the repository (``acl``, ``access.acl_digest``; empty when
  unknown, e.g. after a rebuild), so a run compares ECM ACLs and writes only where they differ;
- ``record_restrictions``: restrictions the archive placed on a record (sensitive data, a GDPR
  processing restriction), with their reason: they never widen by themselves;
- ``versions``: one row per filed revision, written only after the repository acknowledged it;
- ``revision_states``: the state digest of each filed version (``mapping.state_digest``: content
  and archived metadata, not when it was captured), and the revisions not filed because they
  repeat the version just before them (``covered_by`` names that version's revision);
- ``intents``: a revision about to be written. An intent left behind by a killed run tells the
  next run to look in the repository (by our key property) before writing again;
- ``quarantine``: records that could not be filed, with the reason.
"""
from __future__ import annotations

import sqlite3
from contextlib import nullcontext
from typing import Iterable

from ..cmis.filer import FiledVersion
from .base import Tables, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, kind TEXT NOT NULL, native_id TEXT NOT NULL,
    object_id TEXT NOT NULL, series_id TEXT NOT NULL, name TEXT NOT NULL, folder TEXT NOT NULL,
    visibility TEXT NOT NULL DEFAULT '', deleted INTEGER NOT NULL DEFAULT 0,
    first_filed TEXT NOT NULL, last_filed TEXT NOT NULL, acl TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS records_source ON records(source, kind);
CREATE TABLE IF NOT EXISTS record_restrictions (
    key TEXT NOT NULL, reason TEXT NOT NULL, placed_at TEXT NOT NULL, PRIMARY KEY (key, reason));
CREATE TABLE IF NOT EXISTS versions (
    key TEXT NOT NULL, revision_id TEXT NOT NULL, object_id TEXT NOT NULL, version_label TEXT NOT NULL,
    sha256 TEXT NOT NULL, length INTEGER NOT NULL, filed_at TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (key, revision_id));
CREATE TABLE IF NOT EXISTS revision_states (
    key TEXT NOT NULL, revision_id TEXT NOT NULL, state TEXT NOT NULL, covered_by TEXT,
    PRIMARY KEY (key, revision_id));
CREATE TABLE IF NOT EXISTS intents (
    key TEXT NOT NULL, revision_id TEXT NOT NULL, started_at TEXT NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (key, revision_id));
CREATE TABLE IF NOT EXISTS quarantine (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, error TEXT NOT NULL, reason TEXT NOT NULL,
    attempts INTEGER NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);
"""

LEGACY_RESTRICTION = "restricted before the ledger kept the archive's reasons"
LEGACY_RAW_RECORD = "filed with the raw source response, before records became allow-lists"


class Records(Tables):
    """Records, versions, intents, the archive's restrictions, quarantine."""

    def _migrate_records(self) -> None:
        """Ledgers written before the ACL digest: add the column, and fail closed on what such an
        archive may hold. A record restricted then may have been restricted by the archive
        (sensitive data) without the reason being kept; a forum thread's versions held the raw topic
        JSON (other posts' text, whispers, deleted posts) and a blog comment's the commenter's e-mail
        and IP. Those records keep a restriction until an operator lifts it."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(records)")}
        if "acl" in columns:
            return
        stamp = now()
        with self.transaction() as db:
            db.execute("ALTER TABLE records ADD COLUMN acl TEXT NOT NULL DEFAULT ''")
            db.execute("INSERT OR IGNORE INTO record_restrictions SELECT key, ?, ? FROM records "
                       "WHERE visibility LIKE 'restricted%' AND kind != 'tombstone'", (LEGACY_RESTRICTION, stamp))
            db.execute("INSERT OR IGNORE INTO record_restrictions SELECT key, ?, ? FROM records "
                       "WHERE kind IN ('thread', 'comment')", (LEGACY_RAW_RECORD, stamp))

    # --- records and versions -----------------------------------------------------------
    def record(self, key: str) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        try:
            return self.db.execute("SELECT * FROM records WHERE key=?", (key,)).fetchone()
        finally:
            self.db.row_factory = None

    def filed_revisions(self, key: str) -> dict[str, str]:
        """revision id → object id of every version filed for ``key``, and of every revision
        covered by one (the same state: it is never filed, nor tried again)."""
        return dict(self.db.execute(
            "SELECT revision_id, object_id FROM versions WHERE key=? UNION ALL "
            "SELECT c.revision_id, v.object_id FROM revision_states c JOIN versions v "
            "ON v.key = c.key AND v.revision_id = c.covered_by WHERE c.key=?", (key, key)))

    def last_state(self, key: str) -> tuple[str, str] | None:
        """(revision id, state digest) of the version of ``key`` filed last; None when there is
        none or its state is unknown (recovered by key, filed before states were kept)."""
        row = self.db.execute(
            "SELECT v.revision_id, s.state FROM versions v LEFT JOIN revision_states s "
            "ON s.key = v.key AND s.revision_id = v.revision_id WHERE v.key=? ORDER BY v.rowid DESC LIMIT 1",
            (key,)).fetchone()
        return (row[0], row[1]) if row and row[1] else None

    def covered(self, key: str) -> dict[str, str]:
        """revision id → the filed revision that covers it (``cover``), for ``key``."""
        return dict(self.db.execute("SELECT revision_id, covered_by FROM revision_states "
                                    "WHERE key=? AND covered_by IS NOT NULL", (key,)))

    def cover(self, key: str, revision_id: str, by: str, state: str) -> None:
        """``revision_id`` repeats the filed version ``by`` (same state): it counts as filed."""
        self.db.execute("INSERT OR IGNORE INTO revision_states VALUES (?,?,?,?)", (key, revision_id, state, by))

    def keys(self, source: str, kind: str | None = None, include_deleted: bool = False) -> set[str]:
        sql = "SELECT native_id FROM records WHERE source=? AND kind != 'tombstone'"
        args: list = [source]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        if not include_deleted:
            sql += " AND deleted=0"
        return {row[0] for row in self.db.execute(sql, args)}

    def begin_intent(self, key: str, revision_id: str, run_id: str) -> None:
        self.begin_intents([(key, revision_id)], run_id)

    def begin_intents(self, writes: Iterable[tuple[str, str]], run_id: str) -> None:
        """Intents for (key, revision id) pairs, in one statement: a group commit's worth."""
        stamp = now()
        self.db.executemany("INSERT OR REPLACE INTO intents VALUES (?,?,?,?)",
                            [(key, revision_id, stamp, run_id) for key, revision_id in writes])

    def has_intent(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM intents WHERE key=? LIMIT 1", (key,)).fetchone() is not None

    def commit_version(self, filed: FiledVersion, *, source: str, kind: str, native_id: str,
                       folder: str, visibility: str, run_id: str, acl: str = "", state: str = "") -> None:
        """Record an acknowledged version (and its record) and clear the intent, atomically.
        ``visibility`` is the source's as filed, ``acl`` the digest of the ACL the record has now
        (empty: unknown, decided again next run), ``state`` its state digest (empty: unknown).

        Inside an open transaction (the pipeline's group commit) that transaction is the atomic
        unit, with no savepoint of its own: two statements a version fewer, and nothing catches an
        error halfway through a group."""
        stamp = now()
        with nullcontext(self.db) if self.db.in_transaction else self.transaction() as db:
            db.execute(
                "INSERT INTO records (key, source, kind, native_id, object_id, series_id, name, folder, "
                "visibility, first_filed, last_filed, acl) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE "
                "SET object_id=excluded.object_id, last_filed=excluded.last_filed, visibility=excluded.visibility, "
                "acl=excluded.acl",
                (filed.key, source, kind, native_id, filed.object_id, filed.series_id, filed.name, folder,
                 visibility, stamp, stamp, acl))
            db.execute("INSERT OR IGNORE INTO versions VALUES (?,?,?,?,?,?,?,?)",
                       (filed.key, filed.revision_id, filed.object_id, filed.version_label, filed.sha256,
                        filed.length, stamp, run_id))
            if state:
                db.execute("INSERT OR REPLACE INTO revision_states VALUES (?,?,?,NULL)",
                           (filed.key, filed.revision_id, state))
            db.execute("DELETE FROM intents WHERE key=? AND revision_id=?", (filed.key, filed.revision_id))
            db.execute("DELETE FROM quarantine WHERE key=?", (filed.key,))

    def clear_intents(self, key: str) -> None:
        self.db.execute("DELETE FROM intents WHERE key=?", (key,))

    def set_access(self, key: str, visibility: str, acl: str, *, deleted: bool | None = None) -> None:
        """The record's visibility in the source and the digest of the ACL it has now (after the
        repository acknowledged it); ``deleted`` when the source deleted it or shows it again."""
        if deleted is None:
            self.db.execute("UPDATE records SET visibility=?, acl=? WHERE key=?", (visibility, acl, key))
        else:
            self.db.execute("UPDATE records SET visibility=?, acl=?, deleted=? WHERE key=?",
                            (visibility, acl, int(deleted), key))

    def mark_deleted(self, key: str) -> None:
        self.db.execute("UPDATE records SET deleted=1 WHERE key=?", (key,))

    def access_rows(self, source: str) -> list[tuple[str, str, str, str, bool]]:
        """(key, object id, visibility, acl digest, deleted) of every record of ``source``: what a
        run needs to decide every record's ACL again without a request."""
        return [(key, object_id, visibility, acl, bool(deleted)) for key, object_id, visibility, acl, deleted
                in self.db.execute("SELECT key, object_id, visibility, acl, deleted FROM records WHERE source=? "
                                   "ORDER BY key", (source,))]

    # --- restrictions the archive placed ------------------------------------------------
    def restrictions(self, key: str) -> frozenset[str]:
        return frozenset(r for (r,) in self.db.execute("SELECT reason FROM record_restrictions WHERE key=?", (key,)))

    def restrictions_of(self, source: str) -> dict[str, frozenset[str]]:
        """key → reasons, for every restricted record of ``source``."""
        found: dict[str, set[str]] = {}
        for key, reason in self.db.execute("SELECT key, reason FROM record_restrictions WHERE substr(key, 1, ?) = ?",
                                           (len(source) + 1, f"{source}/")):
            found.setdefault(key, set()).add(reason)
        return {key: frozenset(reasons) for key, reasons in found.items()}

    def restrict(self, key: str, reasons: Iterable[str]) -> None:
        """Keep restrictions the archive placed on ``key`` (before any write that relies on them)."""
        stamp = now()
        self.db.executemany("INSERT OR IGNORE INTO record_restrictions VALUES (?,?,?)",
                            [(key, reason, stamp) for reason in reasons])

    # --- quarantine ---------------------------------------------------------------------
    def quarantine(self, key: str, source: str, error: str, reason: str) -> None:
        stamp = now()
        self.db.execute(
            "INSERT INTO quarantine VALUES (?,?,?,?,1,?,?) ON CONFLICT(key) DO UPDATE SET error=excluded.error, "
            "reason=excluded.reason, attempts=attempts+1, last_seen=excluded.last_seen",
            (key, source, error, reason, stamp, stamp))

    def quarantined(self, source: str | None = None) -> list[tuple]:
        sql = "SELECT key, source, error, reason, attempts, first_seen, last_seen FROM quarantine"
        if source:
            return self.db.execute(sql + " WHERE source=? ORDER BY key", (source,)).fetchall()
        return self.db.execute(sql + " ORDER BY key").fetchall()

    def record_ids(self, source: str, *, deleted_only: bool = False) -> list[tuple[str, str]]:
        """(kind, native id) of every record of ``source`` but tombstones (only deleted ones)."""
        sql = "SELECT kind, native_id FROM records WHERE source=? AND kind != 'tombstone'"
        return self.db.execute(sql + (" AND deleted=1" if deleted_only else ""), (source,)).fetchall()

    def quarantine_sources(self) -> set[str]:
        return {name for (name,) in self.db.execute("SELECT DISTINCT source FROM quarantine")}

    def record_sources(self) -> set[str]:
        return {name for (name,) in self.db.execute("SELECT DISTINCT source FROM records")}

    def has_versions(self) -> bool:
        """Whether any version was filed (one indexed row read, not a count)."""
        return self.db.execute("SELECT 1 FROM versions LIMIT 1").fetchone() is not None

    def filed_versions(self, source: str | None = None) -> list[tuple[str, str, str, str, str, int]]:
        """(key, revision id, object id, version label, sha256, length) of every filed version (of
        ``source``), by key and in the order filed: what ``verify`` re-reads."""
        sql = ("SELECT v.key, v.revision_id, v.object_id, v.version_label, v.sha256, v.length FROM versions v "
               "JOIN records r ON r.key = v.key")
        args: tuple = ()
        if source:
            sql += " WHERE r.source = ?"
            args = (source,)
        return self.db.execute(sql + " ORDER BY v.key, v.filed_at", args).fetchall()

    def version_digests(self, key: str) -> dict[str, str]:
        """object id -> SHA-256 the repository acknowledged, for each filed version of ``key``."""
        return dict(self.db.execute("SELECT object_id, sha256 FROM versions WHERE key=?", (key,)))

    def record_counts(self, source: str, file_kinds: tuple[str, ...]) -> tuple[int, int, int, int]:
        """(items, files, tombstones, records deleted in the source) of ``source``; files are the
        records of ``file_kinds``."""
        marks = ",".join("?" * len(file_kinds))
        row = self.db.execute(
            f"SELECT sum(kind NOT IN ({marks}) AND kind != 'tombstone'), sum(kind IN ({marks})), "
            "sum(kind = 'tombstone'), sum(deleted) FROM records WHERE source=?",
            (*file_kinds, *file_kinds, source)).fetchone()
        items, files, tombstones, deleted = (int(v or 0) for v in row)
        return items, files, tombstones, deleted

    def archived_size(self, source: str) -> tuple[int, int]:
        """(versions, bytes) filed for the records of ``source`` but tombstones."""
        versions, size = self.db.execute(
            "SELECT count(*), coalesce(sum(v.length), 0) FROM versions v JOIN records r ON r.key = v.key "
            "WHERE r.source=? AND r.kind != 'tombstone'", (source,)).fetchone()
        return int(versions), int(size)

    def kind_counts(self, source: str) -> dict[str, int]:
        return dict(self.db.execute("SELECT kind, count(*) FROM records WHERE source=? GROUP BY kind ORDER BY kind",
                                    (source,)))

    def pending_intents(self, source: str) -> int:
        """Writes of ``source`` a stopped run left in flight (the next run checks them)."""
        return self.db.execute("SELECT count(*) FROM intents WHERE key LIKE ?", (f"{source}/%",)).fetchone()[0]

    def unquarantine(self, key: str) -> None:
        self.db.execute("DELETE FROM quarantine WHERE key=?", (key,))

    def counts(self) -> dict[str, int]:
        return {
            "records": self.db.execute("SELECT count(*) FROM records").fetchone()[0],
            "versions": self.db.execute("SELECT count(*) FROM versions").fetchone()[0],
            "quarantined": self.db.execute("SELECT count(*) FROM quarantine").fetchone()[0],
        }

