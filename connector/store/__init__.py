"""The store: the ledger, local SQLite state (WAL mode), the single writer's record of what the repository
has acknowledged. ``Ledger`` owns the one connection; its methods come by concept from the table
modules, each with its tables' schema: ``records`` (records, versions, intents, the archive's
restrictions, quarantine), ``runs`` (checkpoints, runs, backfills), ``compliance`` (holds, data
subjects' restrictions, filed audit segments), ``sweeps`` (the change sweep). No code outside
this package runs SQL (``tests/unit/test_sql_in_ledger.py`` searches for it). ``peek`` asks a
ledger read-only, without creating or migrating it.

Example::

    ledger = Ledger(".state/ledger.sqlite")
    filed = ledger.filed_revisions("wiki/page/42")       # {"1001": FiledVersion, ...}
    ledger.begin_intent("wiki/page/42", "1002")
    ...repository write...
    ledger.commit_version(filed_version, folder="/socialarchive/wiki", kind="page")
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Callable, TypeVar

from . import compliance, records, runs, sweeps
from .base import now
from .compliance import Compliance
from .records import LEGACY_RAW_RECORD, LEGACY_RESTRICTION, Records
from .runs import Runs
from .sweeps import Sweeps

__all__ = ["Ledger", "LEGACY_RAW_RECORD", "LEGACY_RESTRICTION", "archived_sources", "now", "peek"]

SCHEMA = records.SCHEMA + runs.SCHEMA + compliance.SCHEMA + sweeps.SCHEMA
T = TypeVar("T")


class Ledger(Records, Runs, Compliance, Sweeps):
    """The ledger at ``path`` (created, and migrated from older layouts, on open)."""

    def __init__(self, path: str):
        self.path = path
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._migrate_records()
        self._migrate_compliance()

    @classmethod
    def _over(cls, db: sqlite3.Connection, path: str) -> Ledger:
        """A ledger over an open connection (``peek``'s read-only one), as it is."""
        ledger = cls.__new__(cls)
        ledger.path, ledger.db = path, db
        return ledger

    def close(self) -> None:
        self.db.close()

    def move_aside(self) -> str:
        """Close the ledger and move its file aside (``<path>.replaced-<UTC time>``, with its WAL);
        returns where it went. Example: ``.state/ledger.sqlite`` ->
        ``.state/ledger.sqlite.replaced-20261203T172500Z``."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")   # the old file complete on its own
        self.close()
        aside = f"{self.path}.replaced-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        n = 1
        while os.path.exists(aside):
            n += 1
            aside = f"{aside.split('~')[0]}~{n}"
        os.rename(self.path, aside)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.rename(self.path + suffix, aside + suffix)
        return aside

def peek(path: str, ask: Callable[[Ledger], T], default: T) -> T:
    """``ask`` the ledger at ``path`` opened read-only (neither created nor migrated); ``default``
    when there is none or it cannot answer (a table it lacks, a damaged file: the command that
    opens the ledger says what is wrong with it).

    Example: ``peek(cfg.ledger_path, lambda ledger: ledger.recent_runs(10), [])``."""
    if not os.path.exists(path):
        return default
    try:
        db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
        try:
            return ask(Ledger._over(db, path))
        finally:
            db.close()
    except sqlite3.Error:
        return default


def archived_sources(path: str) -> set[str]:
    """The sources the ledger at ``path`` holds records of: a source retired from the config stays
    searchable, holdable and exportable."""
    return peek(path, Ledger.record_sources, set())
