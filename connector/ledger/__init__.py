"""The ledger: local SQLite state (WAL mode), the single writer's record of what the repository
has acknowledged. ``Ledger`` owns the one connection; its methods come by concept from the table
modules, each with its tables' schema: ``records`` (records, versions, intents, the archive's
restrictions, quarantine), ``runs`` (checkpoints, runs, backfills), ``sweeps`` (the change
sweep). No code outside this package runs SQL (a test searches for it).

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
from pathlib import Path

from . import records, runs, sweeps
from .base import now
from .records import LEGACY_RAW_RECORD, LEGACY_RESTRICTION, Records
from .runs import Runs
from .sweeps import Sweeps

__all__ = ["Ledger", "LEGACY_RAW_RECORD", "LEGACY_RESTRICTION", "archived_sources", "now"]

SCHEMA = records.SCHEMA + runs.SCHEMA + sweeps.SCHEMA


class Ledger(Records, Runs, Sweeps):
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

    def close(self) -> None:
        self.db.close()

def archived_sources(path: str) -> set[str]:
    """The sources the ledger at ``path`` holds records of, read without creating or migrating it:
    a source retired from the config stays searchable, holdable and exportable."""
    if not os.path.exists(path):
        return set()
    try:
        db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
        try:
            return {row[0] for row in db.execute("SELECT DISTINCT source FROM records")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()  # the command that opens the ledger says what is wrong with it
