"""WordPress's part of the rolling change sweep (``connector/sweep.py``): comment edits and
moderation decisions, which change no date WordPress lets us list by.

A comment has no modified date, so ``changes`` sees a comment when it is new or when its post
changed. The sweep re-reads the archived comments by id, 100 a request (``include=``), and
compares each one's revision id ``c-<sig>``: the sig is already a digest of the content, the
status and the visibility the comment gets now, so an edit, an approval or a post whose
visibility changed gives a new marker::

    unit "comments:1200"   the archived comments with ids 1200-1299 (fixed ranges: a unit keeps
                           its name when comments around it are deleted, so the cursor stays)
    blog/comment/comment:1234  "c-9f2e41ab"

A comment turns up in one of WordPress's comment statuses: ``all`` (approved and held) is asked
first, then ``spam``, ``trash`` and ``post-trashed`` only for the ids still missing; a comment in
none of them is gone (``reconcile`` files its deletion). Building the comment needs its post's
summary: the posts of a unit are looked up together (100 a request per post type), and the run's
cache already holds those ``changes`` read. The comments ``changes`` read this run (all of them on
a full crawl) are free units. What changed is filed as built (no further request).

This replaces the daily full comment listing ``changes`` made every ``sweep_every``: that
listing read every comment once a day whatever the budget (the sweep's markers are the same
digests, so it found nothing the sweep does not), while the sweep spreads the same check over
``sweep_period_days``; ``sweep_every`` keeps the full media listing (attaching a file touches no
date, and media are no sweep unit).
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ...model import Item, Recheck, record_key

UNIT = 100                          # comment ids per unit: one ``include=`` request
STATUSES = ("all", "spam", "trash", "post-trashed")


class CommentSweep:
    """``sweep_units`` and ``recheck`` of ``WordPressSource`` (which provides ``api``, ``_by_ids``,
    ``_parents``, ``_build`` and ``_comment_item``)."""

    SWEEP_REQUESTS_PER_UNIT = 2.0   # the comments, and their posts' summaries
    name: str
    _comment_marks: dict[int, str]   # comment id -> revision id, of the comments read this run
    _yielded: set[str]               # record keys this run's changes() yielded

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """Ranges of 100 comment ids holding archived comments."""
        self._unit_ids: dict[str, set[int]] = {}
        prefix = record_key(self.name, "comment", "comment:")
        for key in archived:
            number = key[len(prefix):] if key.startswith(prefix) else ""
            if number.isdigit():
                self._unit_ids.setdefault(_unit(int(number)), set()).add(int(number))
        return sorted(self._unit_ids)

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per unit the markers of its comments, and the comments whose marker changed."""
        units = list(units)
        ids_of = {unit: self._unit_ids.get(unit, set()) for unit in units}
        free = [unit for unit in units if ids_of[unit] <= self._comment_marks.keys()]
        for unit in free + [unit for unit in units if unit not in free]:
            built: dict[int, Item] = {}
            if not ids_of[unit] <= self._comment_marks.keys():
                if not may_spend():
                    return
                built = self._comments_now(ids_of[unit])
                self._comment_marks.update((number, item.revisions[-1].id) for number, item in built.items())
            marks = {record_key(self.name, "comment", f"comment:{number}"): self._comment_marks[number]
                     for number in sorted(ids_of[unit]) if number in self._comment_marks}
            stale = {key for key, marker in marks.items()
                     if key not in self._yielded and changed(key, marker, lambda filed, m=marker: m in filed)}
            yield Recheck(unit, marks, [item for item in built.values() if item.key in stale])

    def _comments_now(self, ids: set[int]) -> dict[int, Item]:
        """The comments with these ids as WordPress has them now, built (ids gone: absent)."""
        rows: dict[int, dict] = {}
        for status in STATUSES:
            missing = ids - rows.keys()
            if not missing:
                break
            rows.update((raw["id"], raw) for raw in self._by_ids("comments", missing, None,
                                                                 {"status": status, "type": ""}))
        self._parents({raw.get("post") or 0 for raw in rows.values()})
        built: dict[int, Item] = {}
        for number, raw in sorted(rows.items()):
            item = self._build(lambda raw=raw: self._comment_item(raw), "comments", number, {})
            if item is not None:
                built[number] = item
        return built


def _unit(comment_id: int) -> str:
    """
    >>> _unit(1234), _unit(99)
    ('comments:1200', 'comments:0')
    """
    return f"comments:{comment_id // UNIT * UNIT}"
