"""How a run reads the wiki: the run facts, recentchanges and log events over a window, the page plans,
and the content batches that fill them.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from datetime import datetime, timezone
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from ...errors import Fatal, Skippable
from ...http import safe_url
from ...model import Item, Tombstone
from .api import format_ts, parse_ts
from .plan import (SYSTEM, HIDDEN, FILE_NS, REV_PROPS, HISTORY_PROPS, INFO_PROPS, II_PROPS, LOG_ACTIONS,
                   SITE_PARAMS, ITEM_BYTES_BUDGET, SYSOPS, canonical_json, Run, Plan, Buffer, Seen)


log = logging.getLogger(__name__)


class Feed:
    """How a run reads the wiki."""

    # ------------------------------------------------------------------ runs

    def _begin(self) -> Run:
        self.api.ensure_login()
        body = self.api.call(dict(SITE_PARAMS))
        return self._run_facts(body)

    def _run_facts(self, body: dict) -> Run:
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
        self._last_run = self._run_now = Run(server_time=parse_ts(time_str), namespaces=names, script_url=server + script,
                              star_reads=star_reads, cap=cap, list_cap=5000 if high else 500, rights=rights,
                              general=general, statistics=q.get("statistics", {}),
                              anonymous_can_read=self.api.anonymous_can_read)
        return self._last_run

    def _begin_window(self, since: datetime, state: dict) -> tuple[Run, list[dict], list[dict]]:
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
        run: Run | None = None
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

    def _full_plan(self, run: Run) -> list[Plan]:
        """Every revision id of every page in the namespaces, oldest first (allrevisions, ids only)."""
        revids: dict[int, list[int]] = {}
        for body in self.api.query({"action": "query", "list": "allrevisions", "arvprop": "ids",
                                 "arvlimit": "max", "arvdir": "newer",
                                 "arvnamespace": "|".join(map(str, self.namespaces))}):
            for page in body.get("query", {}).get("allrevisions", []):
                revids.setdefault(page["pageid"], []).extend(r["revid"] for r in page.get("revisions", []))
        log.info("full crawl of %s: %d pages, %d revisions", self.name, len(revids),
                 sum(map(len, revids.values())))
        return [Plan(pageid=pid, revids=ids) for pid, ids in revids.items()]

    def _window(self, run: Run, since: datetime | None, until: datetime | None, *, use_rc: bool,
                retry: Iterable[int], prefetched: tuple[list[dict], list[dict]] | None = None,
                state: dict | None = None) -> tuple[list[Tombstone], list[Plan]]:
        """What changed in [since, until]: tombstones, and a plan of pages with the revisions to fetch.

        ``prefetched``: the recentchanges rows and log events already read with siteinfo
        (``_begin_window``). ``state``: the incremental state; recentchanges rows and log events
        that the last complete run already handled (``rc_seen``, ``log_seen``: the ids it saw inside
        the overlap it re-reads now) are skipped, so an overlap re-read costs no page request.
        """
        state = state or {}
        seen_before_rc = {int(i) for i in state.get("rc_seen", []) if str(i).isdigit()}
        seen_before_log = {int(i) for i in state.get("log_seen", []) if str(i).isdigit()}
        seen = (getattr(self, "_seen", None) if state else None) or Seen()
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
        plans: list[Plan] = []
        for pid in sorted(first_event, key=lambda p: (first_event[p] or "0", p)):
            mode = log_touched.get(pid)
            window_revs = edits.get(pid, {})
            created_here = mode is None and any(parent == 0 for _, parent in window_revs.values())
            if created_here:
                ordered = sorted(window_revs, key=lambda r: (window_revs[r][0], r))
                plans.append(Plan(pageid=pid, revids=ordered, first_event=first_event[pid]))
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
            plans.append(Plan(pageid=pid, revids=wanted, history=history, first_event=first_event[pid]))
        tombstones.sort(key=lambda t: (t.deleted_at or now, t.native_id))
        return tombstones, plans

    def _rc_reaches(self, since: datetime, rows: list[dict], state: dict, seen: "Seen") -> bool:
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

    def _rc_covers(self, since: datetime, seen: "Seen | None" = None) -> bool:
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

    def _execute(self, plans: list[Plan], run: Run) -> Iterator[Item]:
        """Fetch the planned revisions in batches of ``run.cap`` and yield each page when complete."""
        inflight: deque[Buffer] = deque()
        chunk: list[int] = []
        owner: dict[int, Buffer] = {}
        for plan in plans:
            if not plan.revids:
                continue
            buf = Buffer(plan)
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

    def _fetch_chunk(self, chunk: list[int], owner: dict[int, Buffer], run: Run) -> None:
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

    def _ready(self, inflight: deque[Buffer], run: Run) -> Iterator[Item]:
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
