"""A source that reads nothing, for engine tests that script their own feed::

    class ScriptedSource(StubSource):
        def changes(self, state): yield from self.queue

Every member of the contract (``connector.sources.base.Source``) answers "nothing": no
checkpoint, no deletions, no change-sweep units, no visibility facts, zero requests."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Iterator, Mapping

from connector.model import Access, Item, Recheck, Tombstone, Visibility
from connector.sources.base import Estimate, Source


class StubSource(Source):
    name = "stub"
    system = "stub"
    request_count = 0

    def check(self) -> dict:
        return {"system": self.system}

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        return iter(())

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        return iter(())

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        return iter(())

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        return Estimate(system=self.system, counts={}, objects=0, items=0, files=0, versions=0, bytes=0, requests=0)

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        return iter(())

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        return []

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        return iter(())
