"""The visibility sweep of a wiki: who may read the archived pages and files now (restricted
namespaces, a wiki turned private, revision deletion), from cheap listings.
"""
from __future__ import annotations

import logging
from typing import Iterator, Mapping

from ...model import Access, Visibility
from .plan import MAX_WIDENING_CHECKS, SYSOPS, _hidden


log = logging.getLogger(__name__)


class VisibilitySweep:
    """The visibility sweep of a wiki."""

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Who may read the archived pages and files now, re-derived without reading content.

        A page's visibility follows from three facts (``_visibility``): its namespace is one of
        ``restricted_namespaces``, its history has revision deletion, the wiki is private. The
        sweep lists the pages of each restricted namespace (``list=allpages``) and takes the wiki's
        privacy from the run's facts (the siteinfo of the ``changes`` just run, and the anonymous
        read probe). That is enough to narrow: a page now in a restricted namespace (config or
        move), every public page of a wiki gone private. Revision deletion is a logged event that
        ``changes`` re-reads; a record restricted to sysops for it is never widened here.

        Widening needs every fact: a record restricted for a reason the listings no longer
        explain (its namespace left the restricted ones, the wiki is public again) gets one
        metadata request for its page: namespace and the revision-deletion flags of every
        revision and file version. At most ``MAX_WIDENING_CHECKS`` such requests a run (the rest
        stay as they are until a later run); a page that no longer exists yields nothing.

        Requests per run: 1 anonymous probe (none when this run's ``changes`` made it already, or
        when the ``*`` group lacks read) + 1 per restricted namespace and 5000 pages in it (500
        without apihighlimits) + 1 per record to widen. None when ``archived`` holds no page.
        """
        pages: dict[int, dict[str, Visibility]] = {}
        for key, seen in archived.items():
            pid = self._page_of(key)
            if pid is not None:
                pages.setdefault(pid, {})[key] = seen
        if not pages:
            return
        run, self._last_run = self._last_run or self._begin(), None
        in_restricted = self._restricted_pages()
        to_check: dict[int, dict[str, Visibility]] = {}
        for pid, records in sorted(pages.items()):
            for key, seen in sorted(records.items()):
                if pid in in_restricted:
                    now = self._visibility(in_restricted[pid], False, run)
                elif not seen.is_public and seen.readers == SYSOPS:
                    continue   # revision deletion: changes re-reads the page when the log says so
                else:
                    now = self._wiki_visibility(run)
                    if not seen.is_public and _differs(seen, now):
                        to_check.setdefault(pid, {})[key] = seen
                        continue
                if _differs(seen, now):
                    yield Access(key, now)
        if len(to_check) > MAX_WIDENING_CHECKS:
            log.info("%s: %d pages may be readable by more people now; checking %d this run",
                     self.name, len(to_check), MAX_WIDENING_CHECKS)
        for pid in sorted(to_check)[:MAX_WIDENING_CHECKS]:
            facts = self._page_facts(pid)
            if facts is None:
                continue
            ns, page_hidden, file_hidden = facts
            page = self._visibility(ns, page_hidden, run)
            for key, seen in to_check[pid].items():
                now = self._file_visibility(page, file_hidden) if key.startswith(self._file_prefix) else page
                if _differs(seen, now):
                    yield Access(key, now)

    @property
    def _file_prefix(self) -> str:
        return f"{self.name}/file/file:"

    def _page_of(self, key: str) -> int | None:
        """The page id of a record key of this source (``wiki/page/42``, ``wiki/file/file:42``)."""
        for prefix in (f"{self.name}/page/", self._file_prefix):
            if key.startswith(prefix) and key[len(prefix):].isdigit():
                return int(key[len(prefix):])
        return None

    def _restricted_pages(self) -> dict[int, int]:
        """page id -> namespace, for every page of the restricted namespaces."""
        found: dict[int, int] = {}
        for ns in sorted(self.restricted_namespaces):
            for body in self.api.query({"action": "query", "list": "allpages", "apnamespace": str(ns),
                                        "aplimit": "max"}):
                found.update((int(p["pageid"]), ns) for p in body.get("query", {}).get("allpages", []))
        return found

    def _page_facts(self, pageid: int) -> tuple[int, bool, bool] | None:
        """(namespace, revision deletion in the history, in the file versions) of one page, from
        metadata only; None when the page no longer exists."""
        pages = self.api.query_pages({"action": "query", "pageids": str(pageid), "prop": "revisions|imageinfo",
                                      "rvprop": "ids|flags|user|comment|sha1", "rvlimit": "max",
                                      "iiprop": "timestamp|user|comment|sha1", "iilimit": "max"})
        page = pages.get(pageid)
        if page is None or page.get("missing"):
            return None
        return (int(page.get("ns", 0)), any(_hidden(r) for r in page.get("revisions", [])),
                any(_hidden(i) for i in page.get("imageinfo", [])))


def _differs(seen: Visibility, now: Visibility) -> bool:
    """Would the record be read by other people (the reason aside)?"""
    return seen.is_public != now.is_public or sorted(seen.readers) != sorted(now.readers)
