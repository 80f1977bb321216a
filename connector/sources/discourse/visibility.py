"""The visibility sweep of a forum: who may read each archived thread, post and upload now, from the
category listings and the topics read this run.
"""
from __future__ import annotations

from typing import Iterator, Mapping

from ...model import Access, Visibility


class VisibilitySweep:
    """The visibility sweep of a forum."""

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Who may read each archived thread, post and upload now (the module docstring has the
        rules and the cost). Runs after ``changes``, whose reads and index it uses."""
        if not archived:
            return
        topics_now = {topic_id: self._topic_visibility(entry) for topic_id, entry in self._list_topics().items()
                      if entry.get("archetype") != "private_message"}
        topics_of: dict[int, list[int]] = {}
        posts_of: dict[str, list[int]] = {}
        for topic_id, posts in self._index.items():
            for post_id, uploads in posts.items():
                topics_of.setdefault(post_id, []).append(topic_id)
                for sha1 in uploads:
                    posts_of.setdefault(sha1, []).append(post_id)
        for key, seen in archived.items():
            if key in self._read_now:
                yield Access(key, self._read_now[key])
                continue
            _, kind, native_id = key.split("/", 2)
            number = native_id.partition(":")[2]
            if kind == "thread":
                if number.isdigit() and int(number) in topics_now:
                    yield Access(key, topics_now[int(number)])
                continue
            post_ids = [int(number)] if kind == "post" and number.isdigit() else posts_of.get(number, [])
            narrowed = seen
            for topic_id in {t for post_id in post_ids for t in topics_of.get(post_id, [])}:
                if topic_id in topics_now:
                    narrowed = _narrowed(narrowed, topics_now[topic_id], self.staff_principals) or narrowed
            if narrowed is not seen:
                yield Access(key, narrowed)



def _narrowed(seen: Visibility, topic: Visibility, staff: tuple[str, ...]) -> Visibility | None:
    """``seen`` narrowed to what the topic allows now, or None when the topic allows all of it.

    A post's own restriction (whisper, hidden, deleted) is not in any listing, so a post or upload
    not read this run only ever narrows: to the readers it had that its topic still admits. Staff
    see every category, so every topic admits them.

    >>> team, staff = Visibility.restricted("team", ["group:team"]), ("group:staff",)
    >>> _narrowed(Visibility.public(), team, staff).readers
    ('group:team',)
    >>> _narrowed(Visibility.restricted("hidden", ["group:staff", "user:carol"]), team, staff).readers
    ('group:staff',)
    >>> _narrowed(Visibility.restricted("whisper", ["group:staff"]), team, staff) is None
    True
    >>> _narrowed(team, Visibility.public(), staff) is None
    True
    """
    if topic.is_public:
        return None
    if seen.is_public:
        return topic
    readers = tuple(reader for reader in seen.readers if reader in topic.readers or reader in staff)
    if len(readers) == len(seen.readers):
        return None
    return Visibility.restricted(f"{seen.reason}; its topic now: {topic.reason}", readers)
