"""What every part of the ledger shares: the time stamp it writes, and the transaction on the one
connection ``Ledger`` owns (each table module is a mixin of ``Ledger``: the methods of one concept
over the same connection, so a unit of work spans tables without a second connection)."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Tables:
    """The connection a table module's methods run on (opened by ``Ledger``)."""

    db: sqlite3.Connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable unit (one fsync of the WAL at COMMIT: synchronous=FULL).

        Nests: inside an open transaction it is a savepoint, so writes grouped by the pipeline
        (many intents, or many acknowledged versions) share one commit and one fsync, while each
        nested unit still rolls back alone on error."""
        if self.db.in_transaction:
            name = f"sp{id(object())}"
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            self.db.execute(f"RELEASE {name}")
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
