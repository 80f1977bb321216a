"""The shape Misago and Discourse share: a thread record, its posts and their attachments, native
ids ``thread:N``/``post:N``/``attachment:X``, and one change-sweep unit per archived thread (one
listing shows every post's change marker)::

    >>> thread_units(["f/thread/thread:3", "f/post/post:9", "f/thread/thread:1"])
    ['f/thread/thread:1', 'f/thread/thread:3']
    >>> unit_id("f/thread/thread:3")
    3
"""
from __future__ import annotations

from typing import Iterable

THREAD, POST, ATTACHMENT = "thread", "post", "attachment"
KINDS = (THREAD, POST, ATTACHMENT)


def native_id(kind: str, number: int | str) -> str:
    return f"{kind}:{number}"


def thread_units(archived: Iterable[str]) -> list[str]:
    """The change sweep's units: the archived thread records' keys, in order."""
    return sorted(key for key in archived if key.split("/", 2)[1] == THREAD)


def unit_id(unit: str) -> int:
    """The thread (topic) id of a unit."""
    return int(unit.rsplit(":", 1)[1])


def considered(known_ids: Iterable[str]) -> int:
    """How many of the archive's ids a forum reconcile weighs (threads, posts, attachments)."""
    return sum(1 for i in known_ids if i.split(":", 1)[0] in KINDS)
