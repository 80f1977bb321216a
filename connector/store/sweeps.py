"""The rolling change sweep's state (``connector/sweep.py``).

Tables ``sweep_units``, ``sweep_marks``, ``sweeps``: when each unit (topic, thread, batch) was last
re-checked, which is the sweep's cursor (it goes on from the least recently checked); each
record's change marker as last filed and when it was checked (coverage); per source the last
sweep and the requests it measured per unit.
"""
from __future__ import annotations

from .base import Tables, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep_units (
    source TEXT NOT NULL, unit TEXT NOT NULL, checked_at TEXT NOT NULL, PRIMARY KEY (source, unit));
CREATE TABLE IF NOT EXISTS sweep_marks (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, marker TEXT, checked_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
    source TEXT PRIMARY KEY, last_run TEXT NOT NULL, units INTEGER NOT NULL DEFAULT 0,
    paid_units INTEGER NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0, credit REAL NOT NULL DEFAULT 0);
"""


class Sweeps(Tables):
    """The change sweep's cursor, marks and totals."""

    # --- the rolling change sweep (connector/sweep.py) ------------------------------------
    def sweep_mark(self, key: str) -> str | None:
        """The change marker stored for ``key`` when it was last filed or checked (None: none yet)."""
        row = self.db.execute("SELECT marker FROM sweep_marks WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def sweep_units_checked(self, source: str) -> dict[str, str]:
        """unit -> when the change sweep last checked it."""
        return dict(self.db.execute("SELECT unit, checked_at FROM sweep_units WHERE source=?", (source,)))

    def sweep_checked(self, source: str, unit: str, marks: dict[str, str | None]) -> None:
        """One unit re-checked, after what it found was filed: its time, and each record's marker
        (None keeps the stored one) and check time."""
        stamp = now()
        with self.transaction() as db:
            db.execute("INSERT INTO sweep_units VALUES (?,?,?) ON CONFLICT(source, unit) DO UPDATE "
                       "SET checked_at=excluded.checked_at", (source, unit, stamp))
            db.executemany("INSERT INTO sweep_marks VALUES (?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
                           "marker=coalesce(excluded.marker, marker), checked_at=excluded.checked_at",
                           [(key, source, marker, stamp) for key, marker in marks.items()])

    def sweep_ran(self, source: str, units: int, paid_units: int, requests: int, credit: float) -> None:
        """Totals of the sweep runs of ``source`` and the requests left for the next run (``credit``,
        negative when a reread overspent): what the next budget is computed from."""
        self.db.execute("INSERT INTO sweeps VALUES (?,?,?,?,?,?) ON CONFLICT(source) DO UPDATE SET "
                        "last_run=excluded.last_run, units=units+excluded.units, "
                        "paid_units=paid_units+excluded.paid_units, requests=requests+excluded.requests, "
                        "credit=excluded.credit", (source, now(), units, paid_units, requests, credit))

    def sweep_totals(self, source: str) -> dict | None:
        row = self.db.execute("SELECT last_run, units, paid_units, requests, credit FROM sweeps WHERE source=?",
                              (source,)).fetchone()
        return dict(zip(("last_run", "units", "paid_units", "requests", "credit"), row)) if row else None

    def sweep_coverage(self, source: str, since: str) -> tuple[int, int, str | None]:
        """(live records checked at or after ``since``, live records, the oldest check time, or
        the filing time of a record never checked)."""
        total, fresh, oldest = self.db.execute(
            "SELECT count(*), coalesce(sum(m.checked_at >= ?), 0), min(coalesce(m.checked_at, r.first_filed)) "
            "FROM records r LEFT JOIN sweep_marks m ON m.key = r.key "
            "WHERE r.source=? AND r.kind != 'tombstone' AND r.deleted=0", (since, source)).fetchone()
        return int(fresh), int(total), oldest

