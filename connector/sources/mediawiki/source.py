"""MediaWiki 1.39 source: pages with every revision, files with every file version, deletions.

Talks to the Action API (``api.php``, ``format=json&formatversion=2``) with a bot password.

Example::

    source = MediaWikiSource("wiki", "http://127.0.0.1:8081/api.php", "Admin@connector", secret)
    state: dict = {}
    for obj in source.changes(state):      # first run: full crawl; later runs: incremental
        ...file obj...
    # state == {"checkpoint": "2026-11-29T03:12:15Z", ...}: save it after everything was filed

How it reads the wiki (the request budget is the point):

- Full crawl (empty state): one ``list=allrevisions&arvprop=ids`` scan over the configured
  namespaces (5000 or 500 revision ids per request) plans every page's history; the content is then
  fetched by ``revids`` in batches of the content cap (500 with ``apihighlimits``, else 50), each
  batch also carrying ``prop=info|categories|imageinfo`` for its pages. A page's revisions may
  straddle two batches; the page is yielded once it is complete. So 1000 revisions cost
  ~1000/cap content requests plus ~1000/5000 planning requests (and category/file-version
  continuations when they overflow).
- Incremental (``state["checkpoint"]``): ``list=recentchanges`` (edits, new pages; rcid/revid are
  deduplicated, rcstart is inclusive) and ``list=logevents`` (delete, restore, move, protect,
  upload, import, merge, revision deletion) since the checkpoint. For each touched page one
  metadata-only history request (creator, revision-deletion flags, the revisions in the window),
  then the new revisions' content in batches as above. A page created inside the window needs no
  history request. If recentchanges does not reach back to the checkpoint ($wgRCMaxAge),
  ``list=allrevisions`` over the window replaces it.
- The new checkpoint is the server clock (``siteinfo general.time``) at run start minus
  ``overlap``; ``state`` is updated only after the last object was yielded.
- The visibility sweep (``sweep``) after ``changes``: one ``list=allpages`` per restricted namespace
  and the anonymous read probe, nothing else unless some record may be widened (see ``sweep``).
  Tombstones (deletions) are readable by ``group:sysop``, who see deleted pages in the wiki.
- The change sweep (``recheck``, ``sweep.py``) after that: the latest revision id of 50
  archived pages a request, within its budget; a page whose latest revision the archive lacks
  (an edit the feeds missed) is read again with its whole history.

State keys (``changes``): ``checkpoint`` (ISO UTC, server clock at run start minus ``overlap``),
``server_time`` (the clock itself, informational) and, only when some page failed with a per-page
error, ``retry_pages`` (page ids, at most 1000, refetched with their whole history next run).
No page-id sets are kept: ``reconcile(known_ids)`` lists the wiki's ids when asked.

What an item carries: see ``_page_item`` and ``_file_item``. ``Revision.record`` is
``json.dumps(revision object as returned by the API, minus slots.main.content, sort_keys=True,
ensure_ascii=False, separators=(",", ":"))`` in UTF-8: a canonical re-serialisation of the parsed
API object, not the raw bytes (revisions arrive many to one response). File versions likewise
record their ``imageinfo`` object. The props asked for (``REV_PROPS``, ``II_PROPS``) are the
record's allow-list: every field is about that revision or file version, none about another page.
A revision-deleted user name or summary is in it only because the privileged account sees it; the
record is then readable by sysops at most (``_visibility``), who see it in the wiki too.

The class is split by concept: ``feed`` (how a run reads: windows, plans, content batches),
``items`` (how API objects become items), ``visibility`` (the visibility sweep), ``sweep`` (the
change sweep); ``plan`` holds the constants and the run's facts. Requests, login and error classes
are ``api.ActionApi``'s (errors come with HTTP 200).
Pitfalls handled here (seen on a real 1.39): deleting a page removes its recentchanges rows, only the log
row remains (``logpage`` = the deleted page id); a move keeps the page id (``logpage``) and leaves
a redirect with a new id at the old title (the log row's ``pageid``), which has no recentchanges
row; moves, protections and re-uploads add null revisions; privileged accounts see the content of
revision-deleted revisions (flags ``texthidden``/``userhidden``/``commenthidden``).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from ...http import make_session, safe_url
from ...model import Item, Skipped, Tombstone, record_key
from .api import ActionApi, format_ts, parse_ts
from ..base import Estimate, Source
from ..kit.deletions import guard
from ..kit.window import next_checkpoint
from .sweep import PageSweep
from .visibility import VisibilitySweep
from .feed import Feed
from .items import PageItems
from .plan import (SYSTEM, DEFAULT_NAMESPACES, FILE_NS, SITE_PARAMS, MAX_RETRY_PAGES, SYSOPS, Run, Plan, Seen)

log = logging.getLogger(__name__)


class MediaWikiSource(VisibilitySweep, Feed, PageItems, PageSweep, Source):
    """A MediaWiki 1.39 wiki read through the Action API with a bot password (the change sweep's
    part is ``sweep.PageSweep``)."""

    system = SYSTEM
    fetch_method = "fetch"

    def __init__(self, name: str, api_url: str, username: str, password: str, *,
                 namespaces: tuple[int, ...] = DEFAULT_NAMESPACES,
                 restricted_namespaces: tuple[int, ...] = (),
                 overlap: timedelta = timedelta(minutes=10),
                 user_agent: str = "socialarchive/0.1",
                 verify: bool | str = True, rate_per_minute: float = 0.0,
                 session=None,
                 batch_size: int | None = None,
                 maxlag: int = 5,
                 reconcile_max_ratio: float = 0.5,
                 attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        self.name = name
        self.api_url = api_url
        self.username = username
        self.namespaces = tuple(int(n) for n in namespaces)
        self.restricted_namespaces = frozenset(int(n) for n in restricted_namespaces)
        self.overlap = overlap
        self.batch_size = batch_size
        self.reconcile_max_ratio = reconcile_max_ratio
        if session is None:
            session = make_session(user_agent, verify=verify, rate_per_minute=rate_per_minute)
        self.api = ActionApi(api_url, username, password, session, user_agent=user_agent, verify=verify,
                             maxlag=maxlag, attempts=attempts, sleep=sleep)
        self._failed: dict[str, str] = {}   # page id -> why it was skipped this run
        self._last_run: Run | None = None   # the facts of the latest run, for the sweep that follows
        self._run_now: Run | None = None    # the same, kept for the change sweep after the sweep
        self._marks_now: dict[int, str] = {}   # page id -> latest revision id, of pages read this run
        self._continues: dict[int, str] = {}   # page id -> parent of the oldest revision read ("": creation)

    def __repr__(self) -> str:
        return f"MediaWikiSource(name={self.name!r}, api_url={self.api_url!r}, username={self.username!r})"

    # ------------------------------------------------------------------ protocol

    @property
    def request_count(self) -> int:
        return self.api.request_count

    def check(self) -> dict:
        """Log in and report what the wiki and the account allow."""
        run = self._begin()
        rights = run.rights
        return {
            "system": SYSTEM,
            "api_url": safe_url(self.api_url),
            "sitename": run.general.get("sitename", ""),
            "version": run.general.get("generator", ""),
            "server_time": format_ts(run.server_time),
            "readonly": bool(run.general.get("readonly", False)),
            "user": self.username.split("@", 1)[0],
            "anonymous_can_read": not run.private,
            "apihighlimits": "apihighlimits" in rights,
            "viewdeleted": bool({"deletedhistory", "deletedtext"} & rights),
            "viewsuppressed": "viewsuppressed" in rights,
            "revisions_per_request": run.cap,
            "namespaces": {str(n): run.namespaces.get(n, str(n)) for n in self.namespaces},
            "restricted_namespaces": sorted(self.restricted_namespaces),
            "pages": run.statistics.get("pages"),
            "articles": run.statistics.get("articles"),
            "edits": run.statistics.get("edits"),
            "images": run.statistics.get("images"),
            "users": run.statistics.get("users"),
        }

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        """Full crawl when ``state`` has no checkpoint, else everything since it. See the module doc."""
        self._failed = {}
        self._seen = Seen()
        self._marks_now, self._continues = {}, {}
        if state.get("checkpoint"):
            since = parse_ts(state["checkpoint"])
            retry = [int(p) for p in state.get("retry_pages", []) if str(p).isdigit()]
            run, rows, events = self._begin_window(since, state)
            tombstones, plans = self._window(run, since, None, use_rc=True, retry=retry,
                                             prefetched=(rows, events), state=state)
            yield from tombstones
            yield from self._execute(plans, run)
        else:
            # siteinfo, and the newest recentchanges row (the next run's anchor) in the same request
            self.api.ensure_login()
            newest = {**self._rc_params(datetime.now(timezone.utc)), "rcdir": "older", "rclimit": "1"}
            newest.pop("rcstart")
            body = self.api.call({**SITE_PARAMS, **newest})
            run = self._run_facts(body)
            for row in body.get("query", {}).get("recentchanges", [])[:1]:
                self._seen.anchor(int(row.get("rcid") or 0), row.get("timestamp", ""))
            yield from self._execute(self._full_plan(run), run)
        # only reached when the consumer took everything
        state["checkpoint"] = next_checkpoint(run.server_time, self.overlap)
        state["server_time"] = format_ts(run.server_time)
        self._seen.save(state, state["checkpoint"])
        if self._failed:
            state["retry_pages"] = sorted(self._failed, key=int)[:MAX_RETRY_PAGES]
        else:
            state.pop("retry_pages", None)

    @property
    def skipped(self) -> list[Skipped]:
        """Pages the last run could not read (they are retried next run: ``retry_pages``)."""
        return [Skipped(record_key(self.name, "page", pid), reason)
                for pid, reason in sorted(self._failed.items(), key=lambda entry: int(entry[0]))]

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Pages with the revisions created in [since, until] (inclusive), deletions in it as tombstones.

        Pages touched by a restore, import or merge in the range carry their whole history.
        With neither bound this is a full crawl.
        """
        run = self._begin()
        self._failed = {}
        if since is None and until is None:
            yield from self._execute(self._full_plan(run), run)
            return
        tombstones, plans = self._window(run, since, until, use_rc=False, retry=[])
        yield from tombstones
        yield from self._execute(plans, run)

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Tombstones for archived ids ("N" pages, "file:N" files) whose page no longer exists.

        Lists page ids per configured namespace (``list=allpages``, 5000 per request), then confirms
        each absent id with ``prop=info&pageids`` (a page moved out of the namespaces still exists).
        Catches what the logs miss: imports over pages, redirects deleted by a move, log gaps.
        More than ``reconcile_max_ratio`` of the known ids gone stops the run (``kit.deletions.guard``).
        """
        run = self._begin()
        existing: set[int] = set()
        for ns in self.namespaces:
            for body in self.api.query({"action": "query", "list": "allpages", "apnamespace": str(ns),
                                     "aplimit": "max"}):
                existing.update(p["pageid"] for p in body.get("query", {}).get("allpages", []))
        wanted: dict[int, list[str]] = {}
        for known in known_ids:
            raw = known[5:] if known.startswith("file:") else known
            if raw.isdigit() and int(raw) not in existing:
                wanted.setdefault(int(raw), []).append(known)
        now = datetime.now(timezone.utc)
        ids = sorted(wanted)
        gone: list[Tombstone] = []
        for start in range(0, len(ids), run.cap):
            batch = ids[start:start + run.cap]
            pages = self.api.query_pages({"action": "query", "pageids": "|".join(map(str, batch)),
                                       "prop": "info"})
            for pid in batch:
                page = pages.get(pid)
                exists = page is not None and not page.get("missing")
                for known in sorted(wanted[pid]):
                    if exists and (not known.startswith("file:") or page.get("ns") == FILE_NS):
                        continue   # moved out of the namespaces, not deleted
                    gone.append(Tombstone(source=self.name, system=SYSTEM, native_id=known,
                                          kind="file" if known.startswith("file:") else "page",
                                          detected_at=now, detected_by="reconcile:allpages",
                                          reason="page id no longer exists", readers=SYSOPS))
        yield from guard(gone, len(known_ids), self.reconcile_max_ratio, "check the bot's rights first")

    def fetch(self, native_ids: Iterable[str]) -> Iterator[Item]:
        """The pages (with their files) of these native ids (``"42"``, ``"file:42"``) with their
        whole history, read again by page id (``socialarchive quarantine retry``). A page that no
        longer exists yields nothing."""
        run = self._begin()
        self._failed = {}
        yield from self._execute(self._whole_pages({int(str(n).removeprefix("file:")) for n in native_ids
                                                    if str(n).removeprefix("file:").isdigit()}), run)

    def _whole_pages(self, pageids: Iterable[int]) -> list[Plan]:
        """Plans for these pages with their whole history (one metadata request a page)."""
        plans: list[Plan] = []
        for pid in sorted(pageids):
            history = self._history(pid)
            if history:
                plans.append(Plan(pageid=pid, revids=[r["revid"] for r in history], history=history))
        return plans

    def estimate(self, since: datetime | None, until: datetime | None,
                 max_requests: int = 10) -> Estimate:
        """What ``backfill(since, until)`` would read (``socialarchive plan``), from cheap requests.

        ``meta=siteinfo`` statistics give pages, edits and files of the whole wiki; the revisions
        themselves (ids, timestamps, sizes: no content) are listed with ``list=allrevisions`` over
        the range, at most ``max_requests`` requests, and extrapolated over the rest of the range
        (or to ``statistics.edits`` without a range) when the listing is longer. Files: ``list=
        allimages`` by timestamp. Log events (moves, protections) may add a few pages.
        """
        run = self._begin()
        stats = run.statistics
        params = {"action": "query", "list": "allrevisions", "arvprop": "ids|timestamp|size",
                  "arvlimit": "max", "arvdir": "newer", "arvnamespace": "|".join(map(str, self.namespaces))}
        if since is not None:
            params["arvstart"] = format_ts(since)
        if until is not None:
            params["arvend"] = format_ts(until)
        pages: set[int] = set()
        revisions = size = requests_made = 0
        last_ts, complete = "", False
        for body in self.api.query(params):
            requests_made += 1
            for page in body.get("query", {}).get("allrevisions", []):
                pages.add(int(page["pageid"]))
                for rev in page.get("revisions", []):
                    revisions += 1
                    size += int(rev.get("size") or 0)
                    last_ts = max(last_ts, rev.get("timestamp", ""))
            if "continue" not in body:
                complete = True
                break
            if requests_made >= max_requests:
                break
        scale = 1.0
        if not complete and revisions:
            if since is None and until is None:
                scale = max(1.0, int(stats.get("edits") or revisions) / revisions)
            else:
                start = since or datetime(2001, 1, 15, tzinfo=timezone.utc)
                end = until or run.server_time
                seen = (parse_ts(last_ts) - start).total_seconds() if last_ts else 0
                scale = max(1.0, (end - start).total_seconds() / seen) if seen > 0 else 1.0
        files = file_bytes = 0
        ai = {"action": "query", "list": "allimages", "aisort": "timestamp", "aidir": "newer",
              "aiprop": "size", "ailimit": "max"}
        if since is not None:
            ai["aistart"] = format_ts(since)
        if until is not None:
            ai["aiend"] = format_ts(until)
        for n, body in enumerate(self.api.query(ai)):
            for image in body.get("query", {}).get("allimages", []):
                files += 1
                file_bytes += int(image.get("size") or 0)
            if n + 1 >= max_requests:
                break
        n_pages, n_revs = round(len(pages) * scale), round(revisions * scale)
        return Estimate(system=SYSTEM, objects=n_pages, items=n_pages, files=files,
                        versions=n_revs + files, bytes=round(size * scale) + file_bytes,
                        counts={"pages": n_pages, "revisions": n_revs, "files": files,
                                "wiki_pages": stats.get("pages"), "wiki_edits": stats.get("edits"),
                                "wiki_files": stats.get("images")},
                        requests=-(-n_revs // run.list_cap) + -(-n_revs // run.cap) + len(pages) + files + 3,
                        notes=[] if complete else [f"listed the first {revisions} revisions, extrapolated x{scale:.1f}"])

