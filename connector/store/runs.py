"""Runs and checkpoints: each source's incremental state, the history of runs, and the
resumable backfill ranges.

Tables:
- ``source_state``: each source's incremental state (checkpoint), saved after a complete run;
- ``runs``: run history (command, start, end, outcome, summary);
- ``backfills``: one row per backfill range (run id derived from source, since, until): its
  status (running, interrupted, failed, done), objects done so far and the last one (``cursor``).
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from .base import Tables, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS source_state (
    source TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    outcome TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS backfills (
    run_id TEXT PRIMARY KEY, source TEXT NOT NULL, since TEXT, until TEXT, status TEXT NOT NULL,
    objects INTEGER NOT NULL DEFAULT 0, cursor TEXT, attempts INTEGER NOT NULL DEFAULT 1,
    started_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
"""


class Runs(Tables):
    """Checkpoints, runs, backfills."""

    # --- source state -------------------------------------------------------------------
    def source_state(self, source: str) -> dict:
        row = self.db.execute("SELECT state FROM source_state WHERE source=?", (source,)).fetchone()
        return json.loads(row[0]) if row else {}

    def save_source_state(self, source: str, state: dict) -> None:
        self.db.execute("INSERT INTO source_state VALUES (?,?,?) ON CONFLICT(source) DO UPDATE "
                        "SET state=excluded.state, updated_at=excluded.updated_at",
                        (source, json.dumps(state, sort_keys=True), now()))

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str) -> None:
        self.db.execute("INSERT INTO runs (run_id, command, started_at) VALUES (?,?,?)", (run_id, command, now()))

    def finish_run(self, run_id: str, outcome: str, summary: dict) -> None:
        self.db.execute("UPDATE runs SET finished_at=?, outcome=?, summary=? WHERE run_id=?",
                        (now(), outcome, json.dumps(summary, sort_keys=True), run_id))

    def last_completed_sync(self, source: str) -> datetime | None:
        """When the newest ``sync`` of ``source`` that completed (ok, or with quarantined records)
        started: a change the source made before it should be archived, a later one may wait for
        the next run (``report`` tells the two apart)."""
        row = self.db.execute("SELECT max(started_at) FROM runs WHERE command=? AND outcome IN ('ok', 'quarantined')",
                              (f"sync {source}",)).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def last_run(self, source: str) -> tuple[str, str, str, str | None, str | None, dict] | None:
        """(run id, command, started, finished, outcome, summary) of the newest run of ``source``."""
        row = self.db.execute("SELECT run_id, command, started_at, finished_at, outcome, summary FROM runs "
                              "WHERE command LIKE ? ORDER BY started_at DESC, rowid DESC LIMIT 1",
                              (f"% {source}",)).fetchone()
        return (*row[:5], json.loads(row[5]) if row[5] else {}) if row else None

    def recent_runs(self, limit: int) -> list[tuple[str, str, str, str | None, str | None]]:
        """(run id, command, started, finished, outcome) of the newest ``limit`` runs."""
        return self.db.execute("SELECT run_id, command, started_at, finished_at, outcome FROM runs "
                               "ORDER BY started_at DESC LIMIT ?", (limit,)).fetchall()

    def sync_starts(self, source: str, limit: int) -> list[datetime]:
        """When the newest ``limit`` syncs of ``source`` started, newest first."""
        return [datetime.fromisoformat(started) for (started,) in self.db.execute(
            "SELECT started_at FROM runs WHERE command = ? ORDER BY started_at DESC LIMIT ?",
            (f"sync {source}", limit))]

    def completed_summaries(self, source: str, limit: int) -> list[dict]:
        """The summaries of the newest ``limit`` runs of ``source`` that completed (ok, or with
        quarantined records)."""
        return [json.loads(text) for (text,) in self.db.execute(
            "SELECT summary FROM runs WHERE command LIKE ? AND outcome IN ('ok', 'quarantined') "
            "AND summary IS NOT NULL ORDER BY started_at DESC LIMIT ?", (f"% {source}", limit))]

    # --- backfill runs (resumable; see connector/backfill.py) ------------------------------
    def backfill_run(self, run_id: str) -> dict | None:
        self.db.row_factory = sqlite3.Row
        try:
            row = self.db.execute("SELECT * FROM backfills WHERE run_id=?", (run_id,)).fetchone()
        finally:
            self.db.row_factory = None
        return dict(row) if row else None

    def begin_backfill(self, run_id: str, source: str, since: str | None, until: str | None) -> None:
        """Start (or resume: attempts + 1, objects kept) the backfill ``run_id``."""
        stamp = now()
        self.db.execute(
            "INSERT INTO backfills (run_id, source, since, until, status, started_at, updated_at) "
            "VALUES (?,?,?,?,'running',?,?) ON CONFLICT(run_id) DO UPDATE SET status='running', "
            "attempts=attempts+1, updated_at=excluded.updated_at, finished_at=NULL",
            (run_id, source, since, until, stamp, stamp))

    def backfill_progress(self, run_id: str, objects: int, cursor: str | None) -> None:
        self.db.execute("UPDATE backfills SET objects=MAX(objects, ?), cursor=?, updated_at=? WHERE run_id=?",
                        (objects, cursor, now(), run_id))

    def finish_backfill(self, run_id: str, status: str, summary: dict) -> None:
        stamp = now()
        self.db.execute("UPDATE backfills SET status=?, updated_at=?, finished_at=?, summary=? WHERE run_id=?",
                        (status, stamp, stamp if status == "done" else None,
                         json.dumps(summary, sort_keys=True), run_id))

    def backfills(self, source: str | None = None) -> list[dict]:
        self.db.row_factory = sqlite3.Row
        try:
            sql = "SELECT * FROM backfills" + (" WHERE source=?" if source else "") + " ORDER BY started_at"
            return [dict(r) for r in self.db.execute(sql, (source,) if source else ())]
        finally:
            self.db.row_factory = None

