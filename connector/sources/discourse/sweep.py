"""The change sweep of a forum: one unit per archived topic, whose /t/{id}.json shows every post's
version and updated_at.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ...errors import RecordUnreadable
from ...model import Item, Recheck, Tombstone, record_key
from ..kit.forum import thread_units, unit_id
from .shape import _archived_test


class TopicSweep:
    """The change sweep of a forum."""

    # ------------------------------------------------------- the change sweep
    SWEEP_REQUESTS_PER_UNIT = 1.1   # /t/{id}.json, and /t/{id}/posts.json per 20 more posts

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """Topics: one ``/t/{id}.json`` shows every post's ``version`` and ``updated_at``."""
        return thread_units(archived)

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per archived topic: its thread record's revision id, each post's ``version`` and
        ``updated_at`` (an edit inside the grace period changes the text and ``updated_at`` only)
        and its uploads; the thread and the posts whose marker changed are read and yielded.
        Topics this run read already (``changes``: new posts, bumps, the rescan window) come
        first and cost no request; a topic gone or unreadable is left to ``reconcile`` and the
        quarantine. An edit of post #3 in a topic quiet for years is found here."""
        units = list(units)
        free = [unit for unit in units if unit_id(unit) in self._marks_now]
        for unit in free + [unit for unit in units if unit_id(unit) not in self._marks_now]:
            topic_id = unit_id(unit)
            read = None
            if topic_id not in self._marks_now:
                if not may_spend():
                    return
                try:
                    topic = self._topic(topic_id)
                except RecordUnreadable:
                    continue
                if topic is None:
                    yield Recheck(unit, {})
                    continue
                read = topic, self._topic_posts(topic)
                visible = [p for p in read[1] if self._own_restriction(p) is None]
                self._marks_now[topic_id] = self._marks(
                    self._thread_item(topic, self._topic_visibility(topic), visible), read[1])
            marks = self._marks_now[topic_id]
            stale = {key for key, marker in marks.items()
                     if key not in self._yielded and changed(key, marker, _archived_test(key, marker))}
            objects: Iterable[Item | Tombstone] = ()
            if stale:
                posts = {post_id for post_id, uploads in self._index.get(topic_id, {}).items()
                         if record_key(self.name, "post", f"post:{post_id}") in stale
                         or any(record_key(self.name, "attachment", f"attachment:{sha1}") in stale
                                for sha1 in uploads)}
                objects = self._topic_objects(topic_id, select=lambda p: int(p["id"]) in posts,
                                              always_thread=True, read=read)
            yield Recheck(unit, dict(marks), objects)

    def _marks(self, thread: Item, posts: list[dict]) -> dict[str, str]:
        """Change markers of a topic's records: thread record revision, post version and time, uploads."""
        marks = {thread.key: thread.revisions[-1].id}
        topic_id = int(thread.native_id.split(":", 1)[1])
        for post in posts:
            marks[record_key(self.name, "post", f"post:{post['id']}")] = \
                f"v{post.get('version') or 1}|{post.get('updated_at') or ''}"
            for sha1 in self._index.get(topic_id, {}).get(int(post["id"]), []):
                marks[record_key(self.name, "attachment", f"attachment:{sha1}")] = sha1
        return marks
