"""Time in a source run: the server clock, the checkpoint, the date window, dedupe.

The checkpoint is the server clock at run start minus an overlap, never ``max(modified)`` of
what was read (clocks differ; a write committed late carries an earlier stamp)::

    >>> from datetime import datetime, timedelta, timezone
    >>> next_checkpoint(datetime(2026, 7, 1, 12, 0, 0, 250000, tzinfo=timezone.utc), timedelta(minutes=10))
    '2026-07-01T11:50:00Z'
    >>> parse_time("2026-07-01T11:50:00Z") == parse_time("2026-07-01T11:50:00+00:00") == parse_time("2026-07-01T11:50:00")
    True
    >>> in_window(parse_time("2026-07-01T00:00:00Z"), None, parse_time("2026-07-01T00:00:00Z"))
    False
    >>> parse_time("0000-00-00T00:00:00") is None    # MySQL's zero date (a WordPress draft)
    True
"""
from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone
from typing import Any, Hashable, Iterable, Iterator, TypeVar

import requests

T = TypeVar("T")
CHECKPOINT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"   # whole seconds: the sources stamp in whole seconds


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time from a source or a saved state (``Z``, an offset, or naive = UTC).

    MySQL's zero date (``0000-00-00T00:00:00``: WordPress's ``date_gmt`` of a draft never
    published) is no time, like an empty value."""
    if not value or value.startswith("0000"):
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def utc(when: datetime | None) -> datetime | None:
    """``when`` in UTC, a naive one read as UTC (a caller's ``since``/``until``, never local time)."""
    if when is None:
        return None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def flag(value: Any) -> str:
    """A source's truthy field as a record's metadata value: ``"true"`` or ``"false"``."""
    return "true" if value else "false"


def server_clock(response: requests.Response | None) -> datetime | None:
    """The server's clock from the ``Date`` header of ``response`` (UTC), None if it has none."""
    date = response.headers.get("Date") if response is not None else None
    if not date:
        return None
    try:
        return email.utils.parsedate_to_datetime(date).astimezone(timezone.utc)
    except (TypeError, ValueError):
        return None


def next_checkpoint(run_start: datetime, overlap: timedelta) -> str:
    """The state's checkpoint: ``run_start - overlap``, in UTC, floored to the second."""
    return (run_start - overlap).astimezone(timezone.utc).strftime(CHECKPOINT_FORMAT)


def in_window(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    """``when`` in [since, until) (an open end is None); an unknown time is in no window."""
    return when is not None and (since is None or when >= since) and (until is None or when < until)


def dedupe(objects: Iterable[T], key=lambda obj: obj) -> Iterator[T]:
    """Each object once, by ``key`` (the overlap re-reads the boundary; a listing may repeat)."""
    seen: set[Hashable] = set()
    for obj in objects:
        mark = key(obj)
        if mark not in seen:
            seen.add(mark)
            yield obj
