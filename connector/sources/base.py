"""The whole contract of a source, as one base class the engine calls without probing.

The engine (pipeline, plan, quarantine retry, change sweep) calls every member below on every
source; a source overrides the abstract ones and keeps a default where it has nothing better::

    class ForumSource(Source):
        system = "forum"
        def check(self) -> dict: ...
        def changes(self, state): ...            # incremental run (empty state: full crawl)
        def backfill(self, since, until): ...    # exactly the range
        def reconcile(self, known_ids): ...      # tombstones for ids gone from the source
        def estimate(self, since, until) -> Estimate: ...
        def sweep(self, archived): ...           # visibility sweep (model.Access per record)
        def sweep_units(self, archived): ...     # change sweep units
        def recheck(self, units, changed): ...   # model.Recheck per unit
        @property
        def request_count(self) -> int: ...

Defaults: ``fetch`` re-reads records by native id through the full listing (a source that can
read one record by id overrides it and sets ``fetch_method = "fetch"``); ``skipped`` is empty.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..model import Access, Item, Recheck, Skipped, Tombstone, Visibility


@dataclass
class Estimate:
    """What ``backfill(since, until)`` would read, from cheap API calls (``socialarchive plan``).

    ``counts`` are the source's own words (``{"post": 6, "page": 2}``, ``{"threads": 3, ...}``);
    ``objects`` the records the backfill goes through (the progress display's total); ``items``
    and ``files`` the documents it creates, ``versions`` their revisions, ``bytes`` their content
    (a guess where the source gives no sizes, said in ``notes``); ``requests`` the source requests
    the backfill makes."""

    system: str
    counts: dict[str, Any]
    objects: int
    items: int
    files: int
    versions: int
    bytes: int
    requests: int
    rate_limit_per_minute: float | None = None
    notes: list[str] = field(default_factory=list)


class Source(ABC):
    """One configured system (``[sources.NAME]``): yields ``model`` objects, knows nothing of CMIS."""

    name: str
    system: str
    # what ``fetch`` does: "fetch" (reads the records by id) or "full listing" (the default)
    fetch_method = "full listing"
    # requests one change-sweep unit costs, before the ledger has measured it
    SWEEP_REQUESTS_PER_UNIT = 1.0
    # records the last run could not read (model.Skipped); the pipeline quarantines them
    skipped: Sequence[Skipped] = ()

    @property
    @abstractmethod
    def request_count(self) -> int:
        """HTTP requests made so far, for the run summary."""

    @abstractmethod
    def check(self) -> dict:
        """Probe the source: facts to print (version, rights, counts)."""

    @abstractmethod
    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        """The incremental run; ``state`` is updated in place only at the very end."""

    @abstractmethod
    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Exactly the records created or changed in [since, until)."""

    @abstractmethod
    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Tombstones for the ``known_ids`` (native ids archived) the source no longer has."""

    @abstractmethod
    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """What ``backfill(since, until)`` would read."""

    @abstractmethod
    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """The visibility sweep: who may read the archived records now (see ``connector.sources``)."""

    @abstractmethod
    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """The change sweep's units covering the ``archived`` record keys."""

    @abstractmethod
    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per unit, the records' change markers and the items of those that changed; a unit that
        costs requests is read only while ``may_spend()``."""

    def fetch(self, native_ids: Iterable[str]) -> Iterator[Item | Tombstone]:
        """The records with these native ids (quarantine retry); by default the full listing,
        which the caller filters."""
        return self.backfill(None, None)
