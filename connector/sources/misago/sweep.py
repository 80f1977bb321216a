"""Misago's part of the rolling change sweep (``connector/sweep.py``): edits in threads that
``changes`` no longer rescans.

``changes`` rescans only threads active within ``rescan_window``; editing a post does not make
its thread active, so an edit of a post in an older thread is in no listing ``changes`` reads. The
sweep re-reads each archived thread's post listing (``/api/threads/{id}/posts/``, 18 posts a page,
the first page carrying the thread whole) and compares cheap markers::

    thread      forum/thread/thread:7      "t3f9c..."      the thread record's revision id
    post        forum/post/post:41         "2|2026-11-30T09:12:01.52Z"   edits | updated_on
    attachment  forum/attachment/attachment:5   "5"        its id (an attachment never changes)

A post without a stored marker (filed before the sweep knew it) counts as archived when the ledger
holds at least ``edits + 1`` of its revisions (the original and one per edit). A thread this run's
``changes`` read (the threads inside ``rescan_window``) is a free unit: its markers were taken from
that read. Stale records are read again through the normal path (``_post_items``: editor text and
edit history), a stale attachment through its post; the thread record comes first.

Cost: one request per thread older than ``rescan_window`` (one more per 18 posts past the first
page); nothing for the threads ``changes`` read.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ...model import Item, Recheck, Tombstone, record_key
from ..kit.forum import thread_units, unit_id


class ThreadSweep:
    """``sweep_units`` and ``recheck`` of ``MisagoSource`` (which provides the reads it uses:
    ``_read_thread``, ``_thread_item``, ``_thread_visibility``, ``_thread_revision``, ``_post_objects``)."""

    SWEEP_REQUESTS_PER_UNIT = 1.05   # a thread's post listing, one more page per 18 posts
    name: str
    _marks_now: dict[int, dict[str, str]]
    _yielded: set[str]
    _prefixes: dict[int, str]

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """Threads: one post listing shows the thread and each post's edits and ``updated_on``."""
        return thread_units(archived)

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per archived thread, its records' markers, and the records whose marker changed read
        again. Threads this run's ``changes`` read come first and cost nothing; a thread gone
        (404) is checked with no marker (``reconcile`` files its deletion)."""
        units = list(units)
        free = [unit for unit in units if unit_id(unit) in self._marks_now]
        for unit in free + [unit for unit in units if unit_id(unit) not in self._marks_now]:
            thread_id = unit_id(unit)
            read = None
            if thread_id not in self._marks_now:
                if not may_spend():
                    return
                prefix = self._prefixes.get(thread_id, "threads")
                found = self._read_thread(prefix, thread_id)
                if found is None:
                    yield Recheck(unit, {})
                    continue
                read = (prefix, *found)
                self._marks_now[thread_id] = self._thread_marks(*read)
            marks = self._marks_now[thread_id]
            stale = {key for key, marker in marks.items()
                     if key not in self._yielded and changed(key, marker, _archived_test(key, marker))}
            yield Recheck(unit, dict(marks), self._reread(thread_id, stale, read) if stale else ())

    def _thread_marks(self, prefix: str, thread: dict, posts: list[dict]) -> dict[str, str]:
        """Change markers of a thread's records (see the module docstring)."""
        marks = {record_key(self.name, "thread", f"thread:{thread['id']}"): self._thread_revision(prefix, thread)}
        for post in posts:
            marks[record_key(self.name, "post", f"post:{post['id']}")] = _post_marker(post)
            for att in post.get("attachments") or []:
                marks[record_key(self.name, "attachment", f"attachment:{att['id']}")] = str(att["id"])
        return marks

    def _reread(self, thread_id: int, stale: set[str],
                read: tuple[str, dict, list[dict]] | None) -> Iterator[Item | Tombstone]:
        """The thread record and the stale posts (with their attachments), read through the
        normal path; a thread ``changes`` read is listed again (a reread, outside the budget)."""
        if read is None:
            prefix = self._prefixes.get(thread_id, "threads")
            found = self._read_thread(prefix, thread_id)
            if found is None:
                return
            read = (prefix, *found)
        prefix, thread, posts = read
        thread_item = self._thread_item(prefix, thread, self._thread_visibility(prefix, thread))
        yield thread_item
        for position, post in enumerate(posts, start=1):
            keys = {record_key(self.name, "post", f"post:{post['id']}")}
            keys |= {record_key(self.name, "attachment", f"attachment:{att['id']}")
                     for att in post.get("attachments") or []}
            if keys & stale:
                yield from self._post_objects(prefix, thread, post, position, thread_item.visibility)


def _post_marker(post: dict) -> str:
    """``edits|updated_on``: an edit adds one to ``edits`` and sets ``updated_on``."""
    return f"{int(post.get('edits') or 0)}|{post.get('updated_on') or ''}"


def _archived_test(key: str, marker: str) -> Callable[[set[str]], bool]:
    """Is the state a marker names among the filed revisions? (for a record with no stored marker)

    >>> _archived_test("forum/post/post:7", "2|2026-01-01")({"0", "edit:3", "edit:9"})
    True
    >>> _archived_test("forum/post/post:7", "2|2026-01-01")({"0", "edit:3"})
    False
    >>> _archived_test("forum/attachment/attachment:5", "5")({"5"})
    True
    """
    if "/post/" in key:
        edits = int(marker.split("|", 1)[0])
        return lambda filed: len(filed) >= edits + 1
    return lambda filed: marker in filed
