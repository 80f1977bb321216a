"""The visibility sweep of a forum: who may read the archived threads now, and their posts and
attachments, from the thread listings.
"""
from __future__ import annotations

from typing import Iterator, Mapping

from ...model import Access, Visibility, record_key
from ...errors import RecordUnreadable
from .shape import _readers


class VisibilitySweep:
    """The visibility sweep of a forum."""

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Who may read the archived threads now, and the posts and attachments of those whose
        visibility changed or that this run's ``changes`` filed (see "Sweep" in the module
        docstring for what it reads)."""
        for prefix, summary in self._list_threads():
            key = record_key(self.name, "thread", f"thread:{summary['id']}")
            if key not in archived:
                continue
            thread = self._swept_thread(prefix, summary)
            if thread is None:
                continue  # gone since the listing: reconcile's business
            visibility = self._thread_visibility(prefix, thread)
            posts = self._filed_posts.get(key)
            if posts is None and _readers(visibility) != _readers(archived[key]):
                try:
                    posts = self._posts(prefix, summary["id"])
                except RecordUnreadable:
                    continue
            for post in posts or ():
                post_visibility = self._post_visibility(visibility, post)
                children = [record_key(self.name, "post", f"post:{post['id']}")]
                children += [record_key(self.name, "attachment", f"attachment:{att['id']}")
                             for att in post.get("attachments") or []]
                yield from (Access(child, post_visibility) for child in children if child in archived)
            yield Access(key, visibility)

    def _swept_thread(self, prefix: str, summary: dict) -> dict | None:
        """The thread as ``_thread_visibility`` reads it: the listing's flags plus what a listing
        lacks (its category's name, once per category and run; a private thread's participants)."""
        if prefix == "threads" and summary.get("category") in self._category_names:
            category_id = summary["category"]
            return {**summary, "category": {"id": category_id, "name": self._category_names[category_id]}}
        thread = self._get_json(f"/api/{prefix}/{summary['id']}/", allow_404=True)
        if thread is not None:
            self._remember_category(thread)
        return thread

    def _remember_category(self, thread: dict) -> None:
        category = thread.get("category") or {}
        if category.get("id") is not None:
            self._category_names[category["id"]] = category.get("name", "")
