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
- The change sweep (``recheck``, ``mediawiki_sweep.py``) after that: the latest revision id of 50
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

Requests, login and error classes are ``mediawiki_api.ActionApi``'s (errors come with HTTP 200).
Pitfalls handled here (seen on a real 1.39): deleting a page removes its recentchanges rows, only the log
row remains (``logpage`` = the deleted page id); a move keeps the page id (``logpage``) and leaves
a redirect with a new id at the old title (the log row's ``pageid``), which has no recentchanges
row; moves, protections and re-uploads add null revisions; privileged accounts see the content of
revision-deleted revisions (flags ``texthidden``/``userhidden``/``commenthidden``).
"""
from __future__ import annotations

import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from ..errors import Fatal, Skippable
from ..http import make_session, safe_url
from ..model import Access, Content, Item, Revision, Skipped, Tombstone, Visibility, record_key
from .mediawiki_api import ActionApi, format_ts, parse_ts
from .base import Estimate, Source
from .mediawiki_sweep import PageSweep

log = logging.getLogger(__name__)

SYSTEM = "mediawiki"
WIKITEXT = "text/x-wiki"
HIDDEN = "(hidden)"
DEFAULT_NAMESPACES = (0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15)
FILE_NS = 6
# revision properties with content (batches) and without (history planning)
REV_PROPS = "ids|timestamp|flags|comment|user|userid|size|slotsize|sha1|slotsha1|contentmodel|content|tags"
HISTORY_PROPS = "ids|timestamp|flags|user|userid|comment|size|sha1"   # comment: commenthidden
INFO_PROPS = "protection|url|talkid|subjectid"
II_PROPS = "timestamp|user|userid|comment|url|size|sha1|mime|archivename"
HIDDEN_FLAGS = ("texthidden", "userhidden", "commenthidden", "sha1hidden", "suppressed", "filehidden")
# log types whose event touches a page; value: "full" = refetch the whole history. Page creations
# come from recentchanges/allrevisions (parentid 0), so create/create is not needed here.
LOG_ACTIONS = {
    "move": "window", "protect": "window", "upload": "window",
    "contentmodel": "window", "pagelang": "window", "import": "full", "merge": "full",
}
MAX_SEEN_IDS = 20000             # ids of the overlap kept in the state (rc_seen, log_seen)
SITE_PARAMS = {"action": "query", "meta": "siteinfo|userinfo",
               "siprop": "general|namespaces|usergroups|statistics", "uiprop": "rights|groups"}
ITEM_BYTES_BUDGET = 64 << 20     # a page with a larger history is yielded in slices
MAX_RETRY_PAGES = 1000
MAX_WIDENING_CHECKS = 500        # page metadata requests a sweep may spend on records to widen
SYSOPS = ("group:sysop",)        # who sees revision-deleted and deleted content in the wiki
MEMBERS = ("group:user",)        # who reads a private wiki


def canonical_json(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class _Run:
    """Facts taken once per run from meta=siteinfo|userinfo."""

    server_time: datetime
    namespaces: dict[int, str]
    script_url: str
    star_reads: bool   # the "*" group has the read right
    cap: int           # revisions with content per request
    list_cap: int      # list items per request
    rights: frozenset[str]
    general: dict
    statistics: dict
    anonymous_can_read: Callable[[], bool] = lambda: False
    _private: bool | None = None

    @property
    def private(self) -> bool:
        """Anonymous users cannot read the wiki. Asked (one anonymous request) on first use, so a
        run that yields nothing never asks; fails closed like before."""
        if self._private is None:
            self._private = not self.star_reads or not self.anonymous_can_read()
        return self._private


@dataclass
class _Plan:
    """One page to yield: which revisions to fetch, and (incremental) its metadata-only history."""

    pageid: int
    revids: list[int]
    history: list[dict] | None = None
    first_event: str = ""


@dataclass
class _Buffer:
    plan: _Plan
    page: dict | None = None
    revs: dict[int, dict] = field(default_factory=dict)
    done: int = 0
    bytes: int = 0
    creator: tuple[str | None, datetime] | None = None
    hidden: bool = False
    sliced: bool = False

    @property
    def complete(self) -> bool:
        return self.done >= len(self.plan.revids)


class _Seen:
    """recentchanges rows and log events read in this run, for the next run's overlap."""

    def __init__(self):
        self.rows: dict[int, str] = {}
        self.events: dict[int, str] = {}
        self.anchored: tuple[int, str] | None = None

    def rc(self, rcid: int, timestamp: str) -> None:
        if rcid:
            self.rows[rcid] = timestamp

    def log(self, logid: int, timestamp: str) -> None:
        if logid:
            self.events[logid] = timestamp

    def anchor(self, rcid: int, timestamp: str) -> None:
        if rcid and (self.anchored is None or rcid > self.anchored[0]):
            self.anchored = (rcid, timestamp)

    def save(self, state: dict, checkpoint: str) -> None:
        """Keep the ids the next run will read again: recentchanges from the older of its checkpoint
        and the anchor, logevents from its checkpoint. Too many (a very busy overlap): keep none,
        the next run then re-reads the overlap like before."""
        if self.rows:
            newest = max(self.rows)
            self.anchor(newest, self.rows[newest])
        if self.anchored is not None:
            state["rc_anchor"] = [self.anchored[0], self.anchored[1]]
        rc_from = min(checkpoint, self.anchored[1]) if self.anchored else checkpoint
        rc_seen = sorted(i for i, ts in self.rows.items() if ts >= rc_from)
        log_seen = sorted(i for i, ts in self.events.items() if ts >= checkpoint)
        for key, ids in (("rc_seen", rc_seen), ("log_seen", log_seen)):
            if ids and len(ids) <= MAX_SEEN_IDS:
                state[key] = ids
            else:
                state.pop(key, None)


class MediaWikiSource(PageSweep, Source):
    """A MediaWiki 1.39 wiki read through the Action API with a bot password (the change sweep's
    part is ``mediawiki_sweep.PageSweep``)."""

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
                 attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        self.name = name
        self.api_url = api_url
        self.username = username
        self.namespaces = tuple(int(n) for n in namespaces)
        self.restricted_namespaces = frozenset(int(n) for n in restricted_namespaces)
        self.overlap = overlap
        self.batch_size = batch_size
        if session is None:
            session = make_session(user_agent, verify=verify, rate_per_minute=rate_per_minute)
        self.api = ActionApi(api_url, username, password, session, user_agent=user_agent, verify=verify,
                             maxlag=maxlag, attempts=attempts, sleep=sleep)
        self._failed: dict[str, str] = {}   # page id -> why it was skipped this run
        self._last_run: _Run | None = None   # the facts of the latest run, for the sweep that follows
        self._run_now: _Run | None = None    # the same, kept for the change sweep after the sweep
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
        self._seen = _Seen()
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
        state["checkpoint"] = format_ts(run.server_time - self.overlap)
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
                    yield Tombstone(source=self.name, system=SYSTEM, native_id=known,
                                    kind="file" if known.startswith("file:") else "page",
                                    detected_at=now, detected_by="reconcile:allpages",
                                    reason="page id no longer exists", readers=SYSOPS)

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

    def fetch(self, native_ids: Iterable[str]) -> Iterator[Item]:
        """The pages (with their files) of these native ids (``"42"``, ``"file:42"``) with their
        whole history, read again by page id (``socialarchive quarantine retry``). A page that no
        longer exists yields nothing."""
        run = self._begin()
        self._failed = {}
        yield from self._execute(self._whole_pages({int(str(n).removeprefix("file:")) for n in native_ids
                                                    if str(n).removeprefix("file:").isdigit()}), run)

    def _whole_pages(self, pageids: Iterable[int]) -> list[_Plan]:
        """Plans for these pages with their whole history (one metadata request a page)."""
        plans: list[_Plan] = []
        for pid in sorted(pageids):
            history = self._history(pid)
            if history:
                plans.append(_Plan(pageid=pid, revids=[r["revid"] for r in history], history=history))
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

    # ------------------------------------------------------------------ runs

    def _begin(self) -> _Run:
        self.api.ensure_login()
        body = self.api.call(dict(SITE_PARAMS))
        return self._run_facts(body)

    def _run_facts(self, body: dict) -> _Run:
        q = body.get("query", {})
        general = q.get("general", {})
        rights = frozenset(q.get("userinfo", {}).get("rights", []))
        high = "apihighlimits" in rights
        cap = 500 if high else 50
        if self.batch_size:
            cap = max(1, min(cap, int(self.batch_size)))
        names = {}
        for key, ns in (q.get("namespaces") or {}).items():
            names[int(key)] = ns.get("name") or ("Main" if int(key) == 0 else ns.get("canonical", key))
        star = next((g for g in q.get("usergroups", []) if g.get("name") == "*"), None)
        star_reads = star is not None and "read" in star.get("rights", [])
        server = general.get("server", "")
        if server.startswith("//"):
            server = f"{urlsplit(self.api_url).scheme}:{server}"
        script = general.get("script", "/index.php")
        time_str = general.get("time")
        if not time_str:
            raise Fatal(f"no server time in meta=siteinfo from {safe_url(self.api_url)}")
        self._last_run = self._run_now = _Run(server_time=parse_ts(time_str), namespaces=names, script_url=server + script,
                              star_reads=star_reads, cap=cap, list_cap=5000 if high else 500, rights=rights,
                              general=general, statistics=q.get("statistics", {}),
                              anonymous_can_read=self.api.anonymous_can_read)
        return self._last_run

    def _begin_window(self, since: datetime, state: dict) -> tuple[_Run, list[dict], list[dict]]:
        """An incremental run's first request after the login: siteinfo, userinfo, recentchanges and
        logevents since the checkpoint, all in one query (continued to the end when it is long).

        recentchanges starts at the older of the checkpoint and the ``rc_anchor`` kept in the state
        (the newest row the last run knew), so that finding the anchor again proves that
        recentchanges still reaches back (no extra request)."""
        self.api.ensure_login()
        rcstart = since
        anchor = state.get("rc_anchor")
        if isinstance(anchor, list) and len(anchor) == 2 and isinstance(anchor[1], str):
            try:
                rcstart = min(since, parse_ts(anchor[1]))
            except ValueError:
                pass
        params = {**SITE_PARAMS, **self._rc_params(rcstart), **self._log_params(since, None),
                  "list": "recentchanges|logevents"}
        run: _Run | None = None
        rows: list[dict] = []
        events: list[dict] = []
        for body in self.api.query(params):
            if run is None:
                run = self._run_facts(body)
            rows.extend(body.get("query", {}).get("recentchanges", []))
            events.extend(body.get("query", {}).get("logevents", []))
        assert run is not None
        return run, rows, events

    def _rc_params(self, rcstart: datetime) -> dict:
        return {"list": "recentchanges", "rcdir": "newer", "rcstart": format_ts(rcstart), "rctype": "edit|new",
                "rcnamespace": "|".join(map(str, self.namespaces)), "rcprop": "ids|timestamp|title",
                "rclimit": "max"}

    def _log_params(self, since: datetime | None, until: datetime | None) -> dict:
        params = {"list": "logevents", "ledir": "newer", "lelimit": "max",
                  "leprop": "ids|title|type|user|userid|timestamp|comment|details"}
        if since is not None:
            params["lestart"] = format_ts(since)
        if until is not None:
            params["leend"] = format_ts(until)
        return params

    def _full_plan(self, run: _Run) -> list[_Plan]:
        """Every revision id of every page in the namespaces, oldest first (allrevisions, ids only)."""
        revids: dict[int, list[int]] = {}
        for body in self.api.query({"action": "query", "list": "allrevisions", "arvprop": "ids",
                                 "arvlimit": "max", "arvdir": "newer",
                                 "arvnamespace": "|".join(map(str, self.namespaces))}):
            for page in body.get("query", {}).get("allrevisions", []):
                revids.setdefault(page["pageid"], []).extend(r["revid"] for r in page.get("revisions", []))
        log.info("full crawl of %s: %d pages, %d revisions", self.name, len(revids),
                 sum(map(len, revids.values())))
        return [_Plan(pageid=pid, revids=ids) for pid, ids in revids.items()]

    def _window(self, run: _Run, since: datetime | None, until: datetime | None, *, use_rc: bool,
                retry: Iterable[int], prefetched: tuple[list[dict], list[dict]] | None = None,
                state: dict | None = None) -> tuple[list[Tombstone], list[_Plan]]:
        """What changed in [since, until]: tombstones, and a plan of pages with the revisions to fetch.

        ``prefetched``: the recentchanges rows and log events already read with siteinfo
        (``_begin_window``). ``state``: the incremental state; recentchanges rows and log events
        that the last complete run already handled (``rc_seen``, ``log_seen``: the ids it saw inside
        the overlap it re-reads now) are skipped, so an overlap re-read costs no page request.
        """
        state = state or {}
        seen_before_rc = {int(i) for i in state.get("rc_seen", []) if str(i).isdigit()}
        seen_before_log = {int(i) for i in state.get("log_seen", []) if str(i).isdigit()}
        seen = (getattr(self, "_seen", None) if state else None) or _Seen()
        ns_set = set(self.namespaces)
        # pageid -> {revid: (timestamp, parentid)} of edits seen in the window
        edits: dict[int, dict[int, tuple[str, int]]] = {}
        first_event: dict[int, str] = {}
        log_touched: dict[int, str] = {}      # pageid -> "window" | "full"

        def touch(pid: int, ts: str, mode: str | None = None) -> None:
            if pid <= 0:
                return
            first_event.setdefault(pid, ts)
            if mode is not None and log_touched.get(pid) != "full":
                log_touched[pid] = mode

        if prefetched is not None:
            rc_rows = prefetched[0]
        elif use_rc and since is not None:
            rc_rows = [row for body in self.api.query({"action": "query", **self._rc_params(since)})
                       for row in body.get("query", {}).get("recentchanges", [])]
        else:
            rc_rows = []
        if use_rc and since is not None and self._rc_reaches(since, rc_rows, state, seen):
            seen_rcids: set[int] = set()
            for row in rc_rows:
                rcid = int(row.get("rcid") or 0)
                if rcid in seen_rcids:   # rcstart is inclusive; pages of a listing may overlap
                    continue
                seen_rcids.add(rcid)
                seen.rc(rcid, row.get("timestamp", ""))
                if rcid in seen_before_rc:
                    continue   # handled by the last complete run (it read this row in its window)
                pid, revid = int(row.get("pageid") or 0), int(row.get("revid") or 0)
                if pid and revid:
                    edits.setdefault(pid, {})[revid] = (row.get("timestamp", ""), int(row.get("old_revid") or 0))
                    touch(pid, row.get("timestamp", ""))
        else:
            params = {"action": "query", "list": "allrevisions", "arvprop": "ids|timestamp",
                      "arvlimit": "max", "arvdir": "newer",
                      "arvnamespace": "|".join(map(str, self.namespaces))}
            if since is not None:
                params["arvstart"] = format_ts(since)
            if until is not None:
                params["arvend"] = format_ts(until)
            for body in self.api.query(params):
                for page in body.get("query", {}).get("allrevisions", []):
                    pid = int(page["pageid"])
                    for rev in page.get("revisions", []):
                        edits.setdefault(pid, {})[int(rev["revid"])] = (rev.get("timestamp", ""),
                                                                       int(rev.get("parentid") or 0))
                        touch(pid, rev.get("timestamp", ""))

        tombstones: list[Tombstone] = []
        resolve_titles: dict[str, tuple[str, str]] = {}   # title -> (first event ts, mode)
        now = datetime.now(timezone.utc)
        if prefetched is not None:
            log_bodies: Iterable[dict] = [{"query": {"logevents": prefetched[1]}}]
        else:
            log_bodies = self.api.query({"action": "query", **self._log_params(since, until)})
        seen_logids: set[int] = set()
        for body in log_bodies:
            for event in body.get("query", {}).get("logevents", []):
                if event.get("logid") in seen_logids or "title" not in event:
                    continue
                seen_logids.add(event.get("logid"))
                seen.log(int(event.get("logid") or 0), event.get("timestamp", ""))
                if int(event.get("logid") or 0) in seen_before_log:
                    continue   # handled by the last complete run
                ltype, action = event.get("type", ""), event.get("action", "")
                ev_params = event.get("params") or {}
                namespaces = {event.get("ns")}
                if ltype == "move":
                    namespaces.add(ev_params.get("target_ns"))
                if not namespaces & ns_set:
                    continue
                ts = event.get("timestamp", "")
                logpage = int(event.get("logpage") or 0)
                if ltype in ("delete", "suppress"):
                    if action in ("delete", "delete_redir", "delete_redir2"):
                        if not logpage:
                            log.warning("delete of %r without a page id in the log; reconcile will catch it",
                                        event.get("title"))
                            continue
                        tombstones.extend(self._tombstones(event, logpage, now))
                    elif action == "restore":
                        if logpage:
                            touch(logpage, ts, "full")
                        else:
                            resolve_titles.setdefault(event["title"], (ts, "full"))
                    elif action in ("revision", "event"):
                        touch(logpage, ts, "window")
                    continue
                mode = LOG_ACTIONS.get(ltype)
                if mode is None:
                    continue
                touch(logpage, ts, mode)
                if ltype == "move" and int(event.get("pageid") or 0) not in (0, logpage):
                    touch(int(event["pageid"]), ts, "window")   # the redirect left at the old title
                if ltype == "merge" and ev_params.get("dest_title"):
                    resolve_titles.setdefault(ev_params["dest_title"], (ts, "full"))
        if resolve_titles:
            titles = list(resolve_titles)
            for start in range(0, len(titles), 50):
                pages = self.api.query_pages({"action": "query", "titles": "|".join(titles[start:start + 50]),
                                           "prop": "info"})
                for page in pages.values():
                    if page.get("pageid") and not page.get("missing"):
                        ts, mode = resolve_titles.get(page.get("title"), ("", "full"))
                        touch(int(page["pageid"]), ts, mode)
        for pid in retry:
            touch(int(pid), "", "full")

        lo = format_ts(since) if since is not None else ""
        hi = format_ts(until) if until is not None else "9999"
        plans: list[_Plan] = []
        for pid in sorted(first_event, key=lambda p: (first_event[p] or "0", p)):
            mode = log_touched.get(pid)
            window_revs = edits.get(pid, {})
            created_here = mode is None and any(parent == 0 for _, parent in window_revs.values())
            if created_here:
                ordered = sorted(window_revs, key=lambda r: (window_revs[r][0], r))
                plans.append(_Plan(pageid=pid, revids=ordered, first_event=first_event[pid]))
                continue
            try:
                history = self._history(pid)
            except Skippable as exc:
                log.warning("page %s skipped: %s", pid, exc)
                self._failed[str(pid)] = str(exc)
                continue
            if history is None:
                continue   # gone (a tombstone comes from the delete log or from reconcile)
            if mode == "full":
                wanted = [r["revid"] for r in history]
            else:
                wanted = [r["revid"] for r in history
                          if lo <= r.get("timestamp", "") <= hi or r["revid"] in window_revs]
                if not wanted or wanted[-1] != history[-1]["revid"]:
                    if until is None or not wanted:
                        wanted.append(history[-1]["revid"])
            plans.append(_Plan(pageid=pid, revids=wanted, history=history, first_event=first_event[pid]))
        tombstones.sort(key=lambda t: (t.deleted_at or now, t.native_id))
        return tombstones, plans

    def _rc_reaches(self, since: datetime, rows: list[dict], state: dict, seen: "_Seen") -> bool:
        """Does recentchanges still reach back to ``since`` (its rows expire after $wgRCMaxAge)?

        Yes if the listing holds the anchor, the newest row the last run knew (the listing starts
        at or before it; rows expire oldest first): no request. Else one request asks for the newest
        row at or before ``since`` (it becomes the anchor); none means rows were purged."""
        anchor = state.get("rc_anchor")
        if isinstance(anchor, list) and len(anchor) == 2:
            if any(int(row.get("rcid") or 0) == anchor[0] for row in rows):
                seen.anchor(anchor[0], anchor[1])
                return True
        return self._rc_covers(since, seen)

    def _rc_covers(self, since: datetime, seen: "_Seen | None" = None) -> bool:
        """True if recentchanges still has a row at or before ``since`` (older rows expire)."""
        body = self.api.call({"action": "query", **self._rc_params(since), "rcdir": "older", "rclimit": "1"})
        found = body.get("query", {}).get("recentchanges") or []
        if not found:
            log.info("recentchanges does not reach back to %s; using allrevisions", format_ts(since))
            return False
        if seen is not None:
            seen.anchor(int(found[0].get("rcid") or 0), found[0].get("timestamp", ""))
        return True

    def _history(self, pageid: int) -> list[dict] | None:
        """All revisions of one page, metadata only, oldest first; None if the page is gone."""
        pages = self.api.query_pages({"action": "query", "pageids": str(pageid), "prop": "revisions",
                                   "rvprop": HISTORY_PROPS, "rvlimit": "max", "rvdir": "newer"})
        page = pages.get(pageid)
        if page is None or page.get("missing") or not page.get("revisions"):
            return None
        return sorted(page["revisions"], key=lambda r: (r.get("timestamp", ""), r["revid"]))

    def _tombstones(self, event: dict, pageid: int, now: datetime) -> list[Tombstone]:
        common = dict(source=self.name, system=SYSTEM, detected_at=now,
                      detected_by=f"logevents:{event.get('type')}", title=event.get("title", ""),
                      deleted_at=parse_ts(event["timestamp"]) if event.get("timestamp") else None,
                      deleted_by=HIDDEN if event.get("userhidden") else event.get("user"),
                      reason=HIDDEN if event.get("commenthidden") else event.get("comment", ""),
                      record=canonical_json(event), readers=SYSOPS)
        result = [Tombstone(native_id=str(pageid), kind="page", **common)]
        if event.get("ns") == FILE_NS:
            result.append(Tombstone(native_id=f"file:{pageid}", kind="file", **common))
        return result

    # ------------------------------------------------------------------ fetching content

    def _execute(self, plans: list[_Plan], run: _Run) -> Iterator[Item]:
        """Fetch the planned revisions in batches of ``run.cap`` and yield each page when complete."""
        inflight: deque[_Buffer] = deque()
        chunk: list[int] = []
        owner: dict[int, _Buffer] = {}
        for plan in plans:
            if not plan.revids:
                continue
            buf = _Buffer(plan)
            inflight.append(buf)
            for rid in plan.revids:
                chunk.append(rid)
                owner[rid] = buf
                if len(chunk) >= run.cap:
                    self._fetch_chunk(chunk, owner, run)
                    chunk, owner = [], {}
                    yield from self._ready(inflight, run)
        if chunk:
            self._fetch_chunk(chunk, owner, run)
            yield from self._ready(inflight, run)

    def _fetch_chunk(self, chunk: list[int], owner: dict[int, _Buffer], run: _Run) -> None:
        try:
            pages = self.api.query_pages({
                "action": "query", "revids": "|".join(map(str, chunk)),
                "prop": "info|categories|imageinfo|revisions", "inprop": INFO_PROPS,
                "rvprop": REV_PROPS, "rvslots": "main", "cllimit": "max",
                "iilimit": "max", "iiprop": II_PROPS})
        except Skippable as exc:
            for buf in {id(b): b for b in owner.values()}.values():
                log.warning("page %s skipped: %s", buf.plan.pageid, exc)
                self._failed[str(buf.plan.pageid)] = str(exc)
                buf.done = len(buf.plan.revids)
                buf.page = None
            return
        for page in pages.values():
            for rev in page.pop("revisions", []):
                buf = owner.get(rev.get("revid"))
                if buf is None:
                    continue
                buf.revs[rev["revid"]] = rev
                buf.bytes += len(((rev.get("slots") or {}).get("main") or {}).get("content") or "")
                if buf.page is None or buf.plan.pageid == page.get("pageid"):
                    buf.page = page
        for rid in chunk:
            owner[rid].done += 1   # fetched, or gone since planning (badrevids)

    def _ready(self, inflight: deque[_Buffer], run: _Run) -> Iterator[Item]:
        while inflight and inflight[0].complete:
            buf = inflight.popleft()
            item = self._page_item(buf, run)
            if item is not None:
                yield item
        if inflight and inflight[0].bytes > ITEM_BYTES_BUDGET and inflight[0].revs:
            buf = inflight[0]   # a huge history: yield what we have, oldest first, and go on
            item = self._page_item(buf, run)
            if item is not None:
                yield item
            buf.revs.clear()
            buf.bytes = 0
            buf.sliced = True

    # ------------------------------------------------------------------ items

    def _visibility(self, ns: int, hidden: bool, run: _Run) -> Visibility:
        if ns in self.restricted_namespaces:
            return Visibility.restricted(f"restricted namespace {ns}")
        if hidden:
            return Visibility.restricted("revision deletion in the history", readers=SYSOPS)
        return self._wiki_visibility(run)

    @staticmethod
    def _wiki_visibility(run: _Run) -> Visibility:
        if run.private:
            return Visibility.restricted("private wiki", readers=MEMBERS)
        return Visibility.public()

    @staticmethod
    def _file_visibility(page: Visibility, hidden: bool) -> Visibility:
        """A file is read like its page; a revision-deleted file version restricts a public one."""
        if hidden and page.is_public:
            return Visibility.restricted("revision deletion in the history", readers=SYSOPS)
        return page

    def _page_item(self, buf: _Buffer, run: _Run) -> Item | None:
        page = buf.page
        if page is None or page.get("missing") or not buf.revs:
            if buf.plan.revids and not buf.sliced:
                log.info("page %s: nothing to yield (gone since planning)", buf.plan.pageid)
            return None
        pageid = int(page["pageid"])
        ns = int(page.get("ns", 0))
        revs = sorted(buf.revs.values(), key=lambda r: (r.get("timestamp", ""), r["revid"]))
        history = buf.plan.history
        if buf.creator is None:
            first = history[0] if history else revs[0]
            buf.creator = (_user(first), parse_ts(first["timestamp"]))
        buf.hidden = buf.hidden or any(_hidden(r) for r in (history or [])) or any(_hidden(r) for r in revs)
        stamps = [parse_ts(r["timestamp"]) for r in revs]
        if history:
            stamps.append(parse_ts(history[-1]["timestamp"]))
        latest_ts = max(stamps)
        visibility = self._visibility(ns, buf.hidden, run)
        title = page.get("title", "")
        lastrevid = page.get("lastrevid")
        self._marks_now[pageid] = str(lastrevid)
        self._continues.setdefault(pageid, str(revs[0].get("parentid") or ""))
        revisions = [self._revision(r, title if r["revid"] == lastrevid else None) for r in revs]
        subject = page.get("subjectid")
        item = Item(
            source=self.name, system=SYSTEM, native_id=str(pageid), kind="page", title=title,
            url=f"{run.script_url}?curid={pageid}", visibility=visibility, revisions=revisions,
            author=buf.creator[0], created=buf.creator[1], modified=latest_ts,
            space=run.namespaces.get(ns, str(ns)),
            parent_id=str(subject) if ns % 2 == 1 and subject else None,
            tags=tuple(sorted({_strip_ns(c.get("title", "")) for c in page.get("categories", [])})),
            extra={
                "namespace": str(ns),
                "protection": _protection(page.get("protection", [])),
                "redirect": "true" if page.get("redirect") else "false",
                "talk_page_id": str(page.get("talkid", "")),
                "subject_page_id": str(subject or ""),
                "canonical_url": page.get("canonicalurl", ""),
                "content_model": page.get("contentmodel", ""),
                "page_language": page.get("pagelanguage", ""),
                "lastrevid": str(lastrevid or ""),
                "revision_deletion": "true" if buf.hidden else "false",
            })
        if ns == FILE_NS and page.get("imageinfo"):
            item.attachments.append(self._file_item(page, item))
        return item

    def _revision(self, rev: dict, title: str | None) -> Revision:
        slot = (rev.get("slots") or {}).get("main") or {}
        text = slot.get("content")
        if text is None:   # texthidden and not visible to this account, or content missing
            data, digest = b"", None
        else:
            data = text.encode("utf-8")
            sha1 = slot.get("sha1") or rev.get("sha1")
            digest = ("sha1", sha1) if sha1 else None
        record = json.loads(json.dumps(rev))
        main = (record.get("slots") or {}).get("main")
        if isinstance(main, dict):
            main.pop("content", None)
        return Revision(
            id=str(rev["revid"]), created=parse_ts(rev["timestamp"]), author=_user(rev),
            comment=HIDDEN if rev.get("commenthidden") else rev.get("comment", ""),
            title=title,
            content=Content.from_bytes(data, slot.get("contentformat") or WIKITEXT, source_digest=digest),
            record=canonical_json(record))

    def _file_item(self, page: dict, parent: Item) -> Item:
        infos = sorted(page.get("imageinfo", []), key=lambda i: i.get("timestamp", ""))
        name = _strip_ns(page.get("title", ""))
        revisions: list[Revision] = []
        seen_ids: set[str] = set()
        hidden = False
        for info in infos:
            hidden = hidden or _hidden(info)
            url = info.get("url")
            if not url or info.get("filehidden"):
                log.warning("file version %s of %s is hidden or has no URL; not archived",
                            info.get("timestamp"), page.get("title"))
                continue
            rid = info.get("timestamp", "")
            if rid in seen_ids:
                rid = f"{rid}#{(info.get('sha1') or '')[:12]}"
            seen_ids.add(rid)
            sha1 = info.get("sha1")
            revisions.append(Revision(
                id=rid, created=parse_ts(info["timestamp"]), author=_user(info),
                comment=HIDDEN if info.get("commenthidden") else info.get("comment", ""),
                title=page.get("title"),
                content=Content(media_type=info.get("mime") or "application/octet-stream",
                                chunks=self.api.stream(url), size=info.get("size"), filename=name,
                                source_digest=("sha1", sha1) if sha1 else None),
                record=canonical_json(info)))
        ns = int(page.get("ns", FILE_NS))
        visibility = self._file_visibility(parent.visibility, hidden)
        latest = infos[-1] if infos else {}
        return Item(
            source=self.name, system=SYSTEM, native_id=f"file:{page['pageid']}", kind="file",
            title=page.get("title", ""), url=parent.url, visibility=visibility, revisions=revisions,
            author=_user(infos[0]) if infos else None,
            created=parse_ts(infos[0]["timestamp"]) if infos else None,
            modified=parse_ts(latest["timestamp"]) if latest else None,
            space=parent.space, parent_id=str(page["pageid"]), tags=parent.tags,
            extra={"namespace": str(ns), "file_url": latest.get("url", ""),
                   "description_url": latest.get("descriptionurl", ""),
                   "mime": latest.get("mime", ""), "size": str(latest.get("size", "")),
                   "sha1": latest.get("sha1", ""), "versions": str(len(infos))})

def _differs(seen: Visibility, now: Visibility) -> bool:
    """Would the record be read by other people (the reason aside)?"""
    return seen.is_public != now.is_public or sorted(seen.readers) != sorted(now.readers)


def _user(obj: dict) -> str | None:
    if obj.get("userhidden"):
        return HIDDEN
    return obj.get("user")


def _hidden(obj: dict) -> bool:
    return any(obj.get(flag) for flag in HIDDEN_FLAGS) or any(
        ((obj.get("slots") or {}).get("main") or {}).get(flag) for flag in HIDDEN_FLAGS)


def _strip_ns(title: str) -> str:
    return title.split(":", 1)[1] if ":" in title else title


def _protection(entries: list[dict]) -> str:
    """``edit=sysop,move=sysop``; a finite expiry is appended as ``@2026-12-01T00:00:00Z``."""
    parts = []
    for entry in entries:
        text = f"{entry.get('type')}={entry.get('level')}"
        expiry = entry.get("expiry", "infinity")
        if expiry not in ("infinity", "infinite", "indefinite", None):
            text += f"@{expiry}"
        if entry.get("source"):
            text += f"(cascade from {entry['source']})"
        parts.append(text)
    return ",".join(parts)
