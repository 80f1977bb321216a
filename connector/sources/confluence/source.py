"""Confluence (Data Center 8/9 and Cloud, REST API v1): pages and blog posts with every version,
comments, attachments, labels, the page tree and read restrictions.

Records (native ids are Confluence's content ids, which never change, also across moves)::

    page / blogpost  Item(native_id="page:123" | "blogpost:456", parent_id="page:<parent>",
                          revisions v1..vN (storage format, ``items.STORAGE_TYPE``),
                          extra: space_key, ancestors ("1/22/123"), ancestor_titles, version)
    comment          Item(native_id="comment:789", parent_id="page:123",
                          extra: location (footer/inline), reply_to, inline_selection, resolution)
    attachment       Item(native_id="attachment:att42", parent_id="page:123", every version streamed)
    deletion         Tombstone(kind as above): trashed (the record narrows to ``admin_principals``)
                     or purged (404), found by ``reconcile`` behind the kit's guard

- **Spaces**: ``/rest/api/space`` (global and, with ``include_personal``, personal), narrowed by
  ``spaces`` / ``exclude_spaces``; ``visibility`` has the permission rules.
- **Listing**: CQL ``/rest/api/content/search`` (``space in (...) and type in (page, blogpost)``),
  both pagings (``api``). Drafts are never listed (CQL lists current content only).
- **Incremental**: ``lastmodified >= "yyyy/MM/dd HH:mm"`` from the checkpoint (server clock at run
  start minus ``overlap``), written in ``site_timezone`` (CQL dates are read in the calling user's
  time zone, to the minute: the overlap covers the rounding), each page once per run (dedupe on
  id). Comments and attachments changed without their page changing are found by a second CQL
  (``type in (comment, attachment)``), whose ``container`` is then read whole; the pipeline files
  only the versions it lacks (ids ``vN``). Moves and restriction changes, which change no version,
  are the visibility sweep's.
- **Limits**: 429 and 5xx are retried by the kit (``Retry-After`` honoured); auth per ``api``.

State: ``checkpoint`` and ``index`` (page id -> its comments' and attachments' native ids, for the
sweep).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...errors import ConfigError, Skippable
from ...http import Session, make_session
from ...model import Item, Recheck, Skipped, Tombstone, Visibility, record_key
from ..base import Estimate, Source
from ..kit.deletions import Tombstones, guard
from ..kit.window import dedupe, in_window, next_checkpoint, parse_time
from .api import ConfluenceApi
from .items import ATTACHMENT_EXPAND, COMMENT_EXPAND, PAGE_EXPAND, SYSTEM, ContentItems
from .visibility import ContentVisibility

KINDS = ("page", "blogpost", "comment", "attachment")


class ConfluenceSource(ContentItems, ContentVisibility, Source):
    """Archive a Confluence site through REST API v1 (see the module docstring)."""

    system = SYSTEM
    fetch_method = "fetch"
    SWEEP_REQUESTS_PER_UNIT = 3.0    # the page, its comments, its attachments

    def __init__(self, name: str, base_url: str, *, username: str = "", token: str = "", password: str = "",
                 spaces: tuple[str, ...] = (), exclude_spaces: tuple[str, ...] = (),
                 include_personal: bool = True, include_blogposts: bool = True, anonymous_access: bool = False,
                 admin_principals: tuple[str, ...] = ("group:confluence-administrators",),
                 overlap: timedelta = timedelta(minutes=10), site_timezone: str = "UTC",
                 page_size: int = 50, reconcile_max_ratio: float = 0.5,
                 rate_per_minute: float = 0.0, user_agent: str = "socialarchive/0.1 (confluence source)",
                 verify: bool | str = True, session: Session | None = None, attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"confluence source {name!r}: base_url must be http(s)")
        try:
            self.zone = ZoneInfo(site_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"confluence source {name!r}: site_timezone {site_timezone!r} is not a time zone") from None
        self.name, self.base_url = name, base_url.rstrip("/")
        self.spaces, self.exclude_spaces = tuple(spaces), tuple(exclude_spaces)
        self.include_personal, self.include_blogposts = include_personal, include_blogposts
        self.admin_principals = tuple(admin_principals)
        self.anonymous_access = anonymous_access
        self.overlap, self.page_size = overlap, max(1, min(page_size, 200))
        self.reconcile_max_ratio = reconcile_max_ratio
        self.session = session if session is not None else make_session(
            user_agent, verify=verify, rate_per_minute=rate_per_minute, sleep=sleep)
        self.api = ConfluenceApi(self.base_url, self.session, username=username, token=token,
                                 password=password, attempts=attempts, sleep=sleep)
        self.username = username
        self.tombstone = Tombstones(name, SYSTEM, self.admin_principals)
        self.skipped: list[Skipped] = []
        self._index: dict[str, list[str]] = {}
        self._reset()

    def __repr__(self) -> str:   # never the token
        return f"ConfluenceSource(name={self.name!r}, base_url={self.base_url!r}, username={self.username!r})"

    def _reset(self) -> None:
        self._space_keys: list[str] | None = None
        self._space_access: dict[str, Visibility] = {}
        self._restrictions: dict[str, frozenset[str] | None] = {}
        self._listed: dict[str, dict] | None = None
        self._read_now: dict[str, Visibility] = {}
        self._done: set[str] = set()

    @property
    def request_count(self) -> int:
        return self.api.request_count

    def _run_start(self, state: dict | None = None) -> datetime:
        self.api.start_run()
        self._reset()
        self.skipped = []
        if state is not None:
            self._index = {str(k): list(v) for k, v in (state.get("index") or {}).items()}
        self._spaces()
        return self.api.server_time or datetime.now(timezone.utc)

    # ---------------------------------------------------------------- spaces, CQL
    def _spaces(self) -> list[str]:
        if self._space_keys is None:
            keys = []
            for space in self.api.results("/rest/api/space", {"limit": self.page_size, "status": "current"}):
                key = space.get("key") or ""
                personal = space.get("type") == "personal" or key.startswith("~")
                if (personal and not self.include_personal) or key in self.exclude_spaces:
                    continue
                if self.spaces and key not in self.spaces:
                    continue
                keys.append(key)
            self._space_keys = keys
        return self._space_keys

    def _cql(self, types: Iterable[str], since: datetime | None = None, until: datetime | None = None) -> str:
        """``space in ("A","B") and type in (page) and lastmodified >= "2026/07/01 13:50"`` (site time)."""
        types = [t for t in types if t != "blogpost" or self.include_blogposts]
        spaces = ",".join('"' + key.replace('"', '\\"') + '"' for key in self._spaces()) or '""'
        cql = f"space in ({spaces}) and type in ({', '.join(types)})"
        if since is not None:
            cql += f' and lastmodified >= "{since.astimezone(self.zone):%Y/%m/%d %H:%M}"'
        if until is not None:
            cql += f' and lastmodified <= "{until.astimezone(self.zone):%Y/%m/%d %H:%M}"'
        return cql + " order by lastmodified"

    def _search(self, cql: str, expand: str) -> Iterator[dict]:
        return self.api.results("/rest/api/content/search", {"cql": cql, "expand": expand, "limit": self.page_size})

    # ---------------------------------------------------------------- pages
    def _page_objects(self, content: dict) -> Iterator[Item]:
        """A page or blog post, then its comments, then its attachments; each page once a run."""
        page_id = str(content["id"])
        if page_id in self._done:
            return
        self._done.add(page_id)
        visibility = self._visibility(content)
        page = self._page_item(content, visibility)
        self._read_now[page.key] = visibility
        yield page
        children = []
        try:
            for comment in self.api.results(f"/rest/api/content/{page_id}/child/comment",
                                            {"expand": COMMENT_EXPAND, "depth": "all", "limit": self.page_size}):
                item = self._comment_item(comment, page)
                children.append(item.native_id)
                self._read_now[item.key] = visibility
                yield item
            for attachment in self.api.results(f"/rest/api/content/{page_id}/child/attachment",
                                               {"expand": ATTACHMENT_EXPAND, "limit": self.page_size}):
                item = self._attachment_item(attachment, page)
                children.append(item.native_id)
                self._read_now[item.key] = visibility
                yield item
        except Skippable as exc:
            self.skipped.append(Skipped(page.key, f"comments or attachments of {page.native_id}: {exc}"))
            return
        self._index[page_id] = children

    def _page(self, page_id: str) -> dict | None:
        return self.api.content(page_id, {"expand": PAGE_EXPAND})

    # ---------------------------------------------------------------- the contract
    def check(self) -> dict:
        self.api.start_run()
        user = self.api.get("/rest/api/user/current") or {}
        self._reset()
        keys = self._spaces()
        return {"system": SYSTEM, "base_url": self.base_url, "user": user.get("username") or user.get("publicName")
                or user.get("accountId") or user.get("type"), "spaces": len(keys),
                "personal_spaces": sum(1 for key in keys if key.startswith("~")), "site_timezone": str(self.zone)}

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        run_start = self._run_start(state)
        since = parse_time(state.get("checkpoint"))
        pages = dedupe(self._search(self._cql(("page", "blogpost"), since), PAGE_EXPAND),
                       key=lambda c: (str(c["id"]), (c.get("version") or {}).get("number")))
        for content in pages:
            yield from self._page_objects(content)
        if since is not None:
            for child in self._search(self._cql(("comment", "attachment"), since), "container,version"):
                container = str((child.get("container") or {}).get("id") or "")
                if container and container not in self._done:
                    content = self._page(container)
                    if content is not None:
                        yield from self._page_objects(content)
        state["checkpoint"] = next_checkpoint(run_start, self.overlap)
        state["index"] = self._index

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Pages and blog posts created or changed in [since, until) (CQL to the minute, then each
        version's time), with their comments and attachments."""
        self._run_start()
        for content in self._search(self._cql(("page", "blogpost"), since, until), PAGE_EXPAND):
            times = [parse_time((content.get("version") or {}).get("when")),
                     parse_time((content.get("history") or {}).get("createdDate"))]
            if since is None and until is None or any(in_window(t, since, until) for t in times):
                yield from self._page_objects(content)

    def fetch(self, native_ids: Iterable[str]) -> Iterator[Item | Tombstone]:
        """The pages holding these records (a comment or attachment: its container), read by id."""
        self._run_start()
        for native_id in sorted(set(native_ids)):
            kind, _, content_id = native_id.partition(":")
            if kind in ("comment", "attachment"):
                child = self.api.content(content_id, {"expand": "container"})
                content_id = str(((child or {}).get("container") or {}).get("id") or "")
            content = self._page(content_id) if content_id else None
            if content is not None:
                yield from self._page_objects(content)

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Trashed (``status=any`` answers ``trashed``) or purged (404) content, behind the guard."""
        self.api.start_run()
        ours = sorted(i for i in known_ids if i.partition(":")[0] in KINDS)
        gone = []
        for native_id in ours:
            kind, _, content_id = native_id.partition(":")
            content = self.api.content(content_id, {"status": "any", "expand": "version"})
            if content is None:
                gone.append(self.tombstone(kind, native_id, detected_by="reconcile", reason="purged (404)",
                                           detected_at=self.api.server_time))
            elif content.get("status") == "trashed":
                version = content.get("version") or {}
                gone.append(self.tombstone(kind, native_id, detected_by="reconcile", reason="trashed",
                                           title=content.get("title") or "", detected_at=self.api.server_time,
                                           deleted_at=parse_time(version.get("when")),
                                           deleted_by=(version.get("by") or {}).get("username")))
        yield from guard(gone, len(ours), self.reconcile_max_ratio,
                         "check the account's space permissions and restrictions first")

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """CQL ``totalSize`` per type (one request each, ``limit=1``); versions are not counted."""
        self._run_start()
        counts = {}
        for kind in KINDS:
            data = self.api.get("/rest/api/content/search", {"cql": self._cql((kind,), since, until), "limit": 1}) or {}
            counts[kind] = int(data.get("totalSize", data.get("size")) or 0)
        pages = counts["page"] + counts["blogpost"]
        items = pages + counts["comment"] + counts["attachment"]
        return Estimate(system=SYSTEM, counts=counts, objects=items, items=items, files=counts["attachment"],
                        versions=items, bytes=pages * 8000 + counts["comment"] * 1000 + counts["attachment"] * 200_000,
                        requests=-(-pages // self.page_size) + pages * 4 + counts["comment"] + counts["attachment"] * 2,
                        notes=["counts from CQL totalSize; one version per item assumed",
                               "bytes are a guess (8 kB a page, 1 kB a comment, 200 kB an attachment)"])

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """One unit per archived page or blog post (it lists its comments and attachments)."""
        return sorted(k for k in archived if k.split("/", 2)[1] in ("page", "blogpost"))

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per page: the version numbers of the page, its comments and attachments (``vN``, the
        newest revision id); a page with any changed is read whole (the pipeline files what it lacks)."""
        for unit in units:
            page_id = unit.rsplit(":", 1)[1]
            if page_id in self._done:
                continue
            if not may_spend():
                return
            content = self._page(page_id)
            if content is None:
                yield Recheck(unit, {})
                continue
            marks = {unit: f"v{(content.get('version') or {}).get('number') or 1}"}
            for kind, expand in (("comment", "version"), ("attachment", "version")):
                for child in self.api.results(f"/rest/api/content/{page_id}/child/{kind}",
                                              {"expand": expand, "limit": self.page_size,
                                               **({"depth": "all"} if kind == "comment" else {})}):
                    marks[record_key(self.name, kind, f"{kind}:{child['id']}")] = \
                        f"v{(child.get('version') or {}).get('number') or 1}"
            stale = [key for key, marker in marks.items()
                     if changed(key, marker, lambda filed, marker=marker: marker in filed)]
            yield Recheck(unit, dict(marks), self._page_objects(content) if stale else ())
