"""Deletions: one shape of tombstone, and the guard every reconcile passes through.

A reconcile compares the archive's ids with what the source lists now. An account that lost its
rights, a category moved out of reach or a wiki turned private lists less, and the archive would
file a tombstone for everything missing. So a reconcile that would tombstone more than
``max_ratio`` of the ids it considered (and more than ``floor`` of them) stops the run instead::

    tombstones = guard(gone, considered=len(known), max_ratio=0.5, hint="check the account's access")
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence, TypeVar

from ...errors import Fatal
from ...model import Tombstone

T = TypeVar("T")
FLOOR = 3   # so few deletions never stop a run, whatever the share


def guard(gone: Sequence[T], considered: int, max_ratio: float, hint: str) -> Sequence[T]:
    """``gone`` unchanged, or Fatal when it is too large a share of ``considered``."""
    if considered and len(gone) > FLOOR and len(gone) > max_ratio * considered:
        raise Fatal(f"reconcile would tombstone {len(gone)} of {considered} known ids "
                    f"(over {max_ratio:.0%}); {hint}")
    return gone


@dataclass(frozen=True)
class Tombstones:
    """Builds the tombstones of one source: who still reads deleted content there, and when the
    run saw it (the server clock where known)."""

    source: str
    system: str
    readers: tuple[str, ...]

    def __call__(self, kind: str, native_id: str, *, detected_by: str, reason: str = "", title: str = "",
                 detected_at: datetime | None = None, deleted_at: datetime | None = None,
                 deleted_by: str | None = None, record: bytes | None = None) -> Tombstone:
        return Tombstone(source=self.source, system=self.system, native_id=native_id, kind=kind,
                         detected_at=detected_at or datetime.now(timezone.utc), detected_by=detected_by,
                         title=title, reason=reason, deleted_at=deleted_at, deleted_by=deleted_by,
                         record=record, readers=self.readers)
