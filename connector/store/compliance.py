"""The record manager's tables: legal holds, data subjects' restrictions, filed audit segments.

Tables:
- ``holds`` (matter, criteria as JSON, who and when placed/released, and why released; a removed
  hold stays, released) and ``hold_records`` (which records a hold was applied to, with how many
  versions): ``connector/compliance/holds.py``;
- ``restrictions`` (the data subjects whose processing is restricted) and ``restricted_records``
  (the records restricted for each): ``connector/compliance/subject.py``;
- ``audit_segments`` (which lines of the audit log are filed, as which record):
  ``connector/compliance/segments.py``.

The ``restore_*`` methods insert what ``ledger rebuild`` found and keep what is there already.
"""
from __future__ import annotations

import json
from typing import Mapping

from .base import Tables, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS holds (
    matter TEXT NOT NULL, placed_at TEXT NOT NULL, placed_by TEXT NOT NULL, criteria TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '', released_at TEXT, released_by TEXT, release_reason TEXT,
    PRIMARY KEY (matter, placed_at));
CREATE TABLE IF NOT EXISTS hold_records (
    matter TEXT NOT NULL, placed_at TEXT NOT NULL, key TEXT NOT NULL, versions INTEGER NOT NULL,
    applied_at TEXT NOT NULL, PRIMARY KEY (matter, placed_at, key));
CREATE TABLE IF NOT EXISTS restrictions (
    subject TEXT PRIMARY KEY, restricted_at TEXT NOT NULL, restricted_by TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS restricted_records (
    subject TEXT NOT NULL, key TEXT NOT NULL, versions INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (subject, key));
CREATE TABLE IF NOT EXISTS audit_segments (
    first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, sha256 TEXT NOT NULL, lines INTEGER NOT NULL,
    key TEXT NOT NULL, object_id TEXT NOT NULL, filed_at TEXT NOT NULL);
"""

HoldRow = tuple[str, str, str, dict, str, str | None, str | None, int, str | None]
SegmentRow = tuple[int, int, str, int, str, str]


class Compliance(Tables):
    """Holds, data subjects' restrictions, filed audit segments.

    ``compliance_changes`` counts the holds placed, released or restored and the subjects restricted
    through this ledger object, so what a run read once (the classifier's ``LedgerState``) knows to
    read again when a hold or restriction is placed between two runs of one open archive."""

    compliance_changes = 0

    def _migrate_compliance(self) -> None:
        """A ledger from before a hold's release needed a reason lacks the column."""
        if "release_reason" not in {row[1] for row in self.db.execute("PRAGMA table_info(holds)")}:
            self.db.execute("ALTER TABLE holds ADD COLUMN release_reason TEXT")

    # --- legal holds ----------------------------------------------------------------------
    def holds(self) -> list[HoldRow]:
        """Every hold, oldest first: (matter, placed at, placed by, criteria, note, released at,
        released by, records it was applied to, release reason)."""
        rows = self.db.execute(
            "SELECT h.matter, h.placed_at, h.placed_by, h.criteria, h.note, h.released_at, h.released_by, "
            "(SELECT count(*) FROM hold_records r WHERE r.matter = h.matter AND r.placed_at = h.placed_at), "
            "h.release_reason FROM holds h ORDER BY h.placed_at").fetchall()
        return [(m, p, by, json.loads(c), n, ra, rb, count, why) for m, p, by, c, n, ra, rb, count, why in rows]

    def held_keys(self, matter: str, placed_at: str) -> set[str]:
        """The records the hold (``matter`` placed at ``placed_at``) was applied to."""
        return {k for (k,) in self.db.execute("SELECT key FROM hold_records WHERE matter=? AND placed_at=?",
                                              (matter, placed_at))}

    def place_hold(self, matter: str, placed_at: str, placed_by: str, criteria: dict, note: str) -> None:
        self.compliance_changes += 1
        self.db.execute("INSERT INTO holds (matter, placed_at, placed_by, criteria, note) VALUES (?,?,?,?,?)",
                        (matter, placed_at, placed_by, json.dumps(criteria, sort_keys=True), note))

    def hold_applied(self, matter: str, placed_at: str, key: str, versions: int) -> None:
        """The hold now carried by ``versions`` versions of ``key``."""
        self.db.execute("INSERT OR REPLACE INTO hold_records VALUES (?,?,?,?,?)",
                        (matter, placed_at, key, versions, now()))

    def release_hold(self, matter: str, placed_at: str, released_at: str, by: str, reason: str) -> None:
        self.compliance_changes += 1
        self.db.execute("UPDATE holds SET released_at=?, released_by=?, release_reason=? WHERE matter=? AND placed_at=?",
                        (released_at, by, reason, matter, placed_at))

    def restore_hold(self, matter: str, placed_at: str, placed_by: str, criteria: dict, note: str,
                     released_at: str | None, released_by: str | None, release_reason: str | None) -> None:
        self.compliance_changes += 1
        self.db.execute("INSERT OR IGNORE INTO holds (matter, placed_at, placed_by, criteria, note, released_at, "
                        "released_by, release_reason) VALUES (?,?,?,?,?,?,?,?)",
                        (matter, placed_at, placed_by, json.dumps(criteria, sort_keys=True), note, released_at,
                         released_by, release_reason))

    def restore_held_records(self, matter: str, placed_at: str, versions: Mapping[str, int]) -> None:
        """key -> versions carrying the hold, as the repository shows them."""
        stamp = now()
        self.db.executemany("INSERT OR IGNORE INTO hold_records VALUES (?,?,?,?,?)",
                            [(matter, placed_at, key, n, stamp) for key, n in sorted(versions.items())])

    # --- data subjects' restrictions ------------------------------------------------------
    def restricted_subjects(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT subject FROM restrictions ORDER BY subject")]

    def restrict_subject(self, subject: str, restricted_at: str, by: str, reason: str) -> None:
        """Remember ``subject`` (kept as first restricted when already there)."""
        self.compliance_changes += 1
        self.db.execute("INSERT OR IGNORE INTO restrictions VALUES (?,?,?,?)", (subject, restricted_at, by, reason))

    def subject_record_restricted(self, subject: str, key: str, versions: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO restricted_records VALUES (?,?,?,?)", (subject, key, versions, now()))

    def restore_subject_records(self, subject: str, versions: Mapping[str, int]) -> None:
        """key -> versions of the records restricted for ``subject``, as the repository shows them."""
        stamp = now()
        self.db.executemany("INSERT OR IGNORE INTO restricted_records VALUES (?,?,?,?)",
                            [(subject, key, n, stamp) for key, n in sorted(versions.items())])

    # --- filed audit segments -------------------------------------------------------------
    def audit_segments(self) -> list[SegmentRow]:
        """(first seq, last seq, sha256, lines, key, object id) of each filed segment, in order."""
        return self.db.execute("SELECT first_seq, last_seq, sha256, lines, key, object_id FROM audit_segments "
                               "ORDER BY first_seq").fetchall()

    def segment_filed(self, first_seq: int, last_seq: int, sha256: str, lines: int, key: str, object_id: str,
                      *, restored: bool = False) -> None:
        """A segment the repository acknowledged (``restored``: found by ``ledger rebuild``; a row
        already there is kept)."""
        self.db.execute(f"INSERT {'OR IGNORE ' if restored else ''}INTO audit_segments VALUES (?,?,?,?,?,?,?)",
                        (first_seq, last_seq, sha256, lines, key, object_id, now()))
