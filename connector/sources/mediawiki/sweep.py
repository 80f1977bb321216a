"""MediaWiki's part of the rolling change sweep (``connector/sweep.py``): edits the feeds missed.

``changes`` follows recentchanges and the logs from its checkpoint. An edit is missed when its
row is gone before a run reads it ($wgRCMaxAge purged it, a run failed for longer than that and
the allrevisions fallback was skipped, a checkpoint was moved by hand, an import wrote old
timestamps). The sweep asks for the latest revision id of 50 archived pages a request
(``prop=info&pageids=``) and compares it with the one stored::

    unit "pages:1200"      the archived pages with ids 1200-1249 (fixed ranges: a unit keeps its
                           name when pages around it are deleted, so the cursor stays)
    wiki/page/1234         "98812"     the page's latest revision id
    wiki/file/file:1234    None        checked with its page: a new file version adds a revision
                                       to the file page

A page without a stored marker is archived when its latest revision id is among the filed
revisions. A stale page is read again through the normal path with its whole history (one
metadata request, then the content in batches, as ``quarantine retry`` reads it); the pipeline
files only the revisions the archive lacks.

Pages this run's ``changes`` read carry their marker from that read (a unit whose pages were all
read is free). Such a page is stale only when what ``changes`` read does not continue the
archived state: the parent of the oldest revision it read is not the stored marker (an older
edit was missed); a page read from its creation is complete.

Cost: one request per unit (50 pages, whatever their history); nothing for units ``changes``
read whole.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from ...model import Item, Recheck, record_key

UNIT = 50                            # page ids per unit: one ``pageids=`` request


class PageSweep:
    """``sweep_units`` and ``recheck`` of ``MediaWikiSource`` (which provides ``api``,
    ``_begin``, ``_whole_pages`` and ``_execute``)."""

    SWEEP_REQUESTS_PER_UNIT = 1.0
    name: str
    _marks_now: dict[int, str]
    _continues: dict[int, str]

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """Ranges of 50 page ids holding archived pages or files."""
        self._unit_keys: dict[str, dict[int, list[str]]] = {}
        for key in archived:
            kind_id = key.split("/", 2)
            if len(kind_id) < 3 or kind_id[0] != self.name or kind_id[1] not in ("page", "file"):
                continue
            number = kind_id[2].removeprefix("file:")
            if number.isdigit():
                unit = f"pages:{int(number) // UNIT * UNIT}"
                self._unit_keys.setdefault(unit, {}).setdefault(int(number), []).append(key)
        return sorted(self._unit_keys)

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per unit the latest revision id of its pages, and the pages whose revision changed."""
        units = list(units)
        pages_of = {unit: self._unit_keys.get(unit, {}) for unit in units}
        free = [unit for unit in units if pages_of[unit].keys() <= self._marks_now.keys()]
        for unit in free + [unit for unit in units if unit not in free]:
            pages = pages_of[unit]
            latest = {pid: self._marks_now[pid] for pid in pages if pid in self._marks_now}
            if len(latest) < len(pages):
                if not may_spend():
                    return
                found = self.api.query_pages({"action": "query", "prop": "info",
                                              "pageids": "|".join(map(str, sorted(pages)))})
                for pid in pages:
                    page = found.get(pid)
                    if pid not in latest and page is not None and not page.get("missing") and page.get("lastrevid"):
                        latest[pid] = str(page["lastrevid"])
            marks: dict[str, str | None] = {}
            stale: list[int] = []
            for pid, keys in sorted(pages.items()):
                if pid not in latest:
                    continue   # gone: reconcile files its deletion
                page_key = record_key(self.name, "page", str(pid))
                marks.update((key, latest[pid] if key == page_key else None) for key in keys)
                if page_key in keys and self._stale(page_key, pid, latest[pid], changed):
                    stale.append(pid)
            yield Recheck(unit, marks, self._reread(stale) if stale else ())

    def _stale(self, key: str, pid: int, latest: str, changed: Callable[..., bool]) -> bool:
        if pid not in self._continues:
            return changed(key, latest, lambda filed: latest in filed)
        parent = self._continues[pid]        # read by changes: does it continue the archive?
        return bool(parent) and changed(key, parent, lambda filed: parent in filed)

    def _reread(self, pageids: list[int]) -> Iterator[Item]:
        run = self._run_now or self._begin()
        yield from self._execute(self._whole_pages(pageids), run)
