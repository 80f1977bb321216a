"""The contract every source passes (``connector.sources.base.Source``), as checks a source's
test module runs on its own server or recorded fixtures (``test_contract.py`` runs them for each
registered source). Each check names the promise it holds the source to:

- registered: the registry maps the source's ``system`` to its class, which is a ``Source``; its
  config keys are typed, exclude the constructor's wiring and include the deletion guard's ratio;
- checkpoint: the state's checkpoint is the server clock at run start minus the overlap, in the
  one format (``kit.window.CHECKPOINT_FORMAT``), never later than the run start;
- dedupe: a run yields each revision of a record once (the overlap re-reads the boundary);
- tombstones: a tombstone names the source, its system, how it was detected and who still reads
  the deleted content in the source;
- deletion guard: a reconcile over ids mostly unknown to the source stops (``Fatal``) before it
  yields a single tombstone;
- estimate: an ``Estimate`` of the source's system, whole non-negative figures, as many
  objects as documents it creates;
- error classes: a server that answers 503 to everything is ``Retriable`` (after the retries),
  one that refuses the credentials (401) ``Fatal`` or ``ConfigError``: never a raw ``requests`` error
  or a ``KeyError``.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import pytest
import responses

from connector.errors import ConfigError, Fatal, Retriable
from connector.model import Item, Tombstone
from connector.sources.base import Estimate, Source
from connector.sources.kit.window import CHECKPOINT_FORMAT, parse_time
from connector.sources.options import WIRING, keys
from connector.sources.registry import SOURCES

ANY_URL = re.compile(r"https?://.*")


def registered(source: Source) -> None:
    assert isinstance(source, Source)
    assert SOURCES[source.system] is type(source)
    config_keys = keys(type(source))
    assert not WIRING & set(config_keys), "constructor wiring (session, sleep, clock) is not a config key"
    assert "reconcile_max_ratio" in config_keys, "every source guards its reconcile"


def checkpoint(state: dict, started: datetime, finished: datetime, overlap: timedelta) -> None:
    """``started``/``finished``: this machine's clock around the run (the servers run here)."""
    text = state["checkpoint"]
    assert datetime.strptime(text, CHECKPOINT_FORMAT), text
    at = parse_time(text)
    assert started - overlap - timedelta(seconds=2) <= at <= finished - overlap, (text, started, finished)


def deduped(objects: Iterable[Item | Tombstone]) -> None:
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        for mark in ([(obj.key, r.id) for r in obj.revisions] if isinstance(obj, Item) else [(obj.key, "tombstone")]):
            assert mark not in seen, f"{mark} yielded twice in one run"
            seen.add(mark)


def tombstones(found: Iterable[Tombstone], source: Source) -> None:
    for tomb in found:
        assert isinstance(tomb, Tombstone)
        assert (tomb.source, tomb.system) == (source.name, source.system)
        assert tomb.detected_by and tomb.detected_at.tzinfo is not None
        assert tomb.readers, "someone still reads deleted content in the source"


def deletion_guard(source: Source, unknown_ids: list[str]) -> None:
    """``unknown_ids``: more than three native ids of the source's own shape that it does not have."""
    assert len(unknown_ids) > 3
    yielded: list[Tombstone] = []
    with pytest.raises(Fatal, match="reconcile would tombstone"):
        for tomb in source.reconcile(set(unknown_ids)):
            yielded.append(tomb)
    assert yielded == [], "the guard stops the run before the first tombstone"


def estimate(source: Source, since: datetime | None = None, until: datetime | None = None) -> Estimate:
    est = source.estimate(since, until)
    assert isinstance(est, Estimate) and est.system == source.system
    figures = (est.objects, est.items, est.files, est.versions, est.bytes, est.requests)
    assert all(isinstance(n, int) and n >= 0 for n in figures), figures
    assert est.objects >= est.items and est.versions >= 0
    return est


def error_classes(make: Callable[[], Source]) -> None:
    """``make()`` builds the source against any URL (no server); every request is answered by
    ``responses``: 503 everywhere, then 401 everywhere."""
    for status, expected in ((503, Retriable), (401, (Fatal, ConfigError))):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            for method in (responses.GET, responses.POST):
                rsps.add(method, ANY_URL, status=status, json={"error": "contract"},
                         headers={"Date": "Wed, 01 Jul 2026 12:00:00 GMT"})
            with pytest.raises(expected):
                make().check()


def now() -> datetime:
    return datetime.now(timezone.utc)


def checkpoint_text(at: datetime) -> str:
    """A state's checkpoint at ``at``, as a source writes it."""
    return at.astimezone(timezone.utc).strftime(CHECKPOINT_FORMAT)
