"""WordPress 6.1 REST source (``/wp-json/wp/v2``, application password over HTTP Basic).

What is archived, and how (every request uses ``context=edit``, so the account must be an editor
or administrator)::

    source = WordPressSource("blog", "https://blog.example", "archiver", app_password)
    for obj in source.changes(state): ...          # posts, pages, media, comments
    for tomb in source.reconcile(known_ids): ...    # force-deleted things -> Tombstone

Items (all top-level, so a new comment or upload adds one record and never rewrites its post):

Native ids name their kind, ``"<kind>:<WordPress id>"``, because the pipeline hands ``reconcile``
bare native ids and a Tombstone must carry the right kind (posts, pages and media share one
WordPress id space, so a bare number cannot tell them apart after a force delete).

- ``kind="post"`` / ``"page"`` (or the kind given in ``post_types``), ``native_id="post:<id>"`` /
  ``"page:<id>"``: every
  status (publish, future, draft, pending, private, password-protected, trash). Revisions oldest
  first: ``rev-<revision id>`` for each stored WordPress revision, then ``cur-<modified_gmt>-<sig>``
  for the current state when it is not already the newest revision (WordPress does not keep the
  first REST-created version, and a status-only change creates no revision). ``<sig>`` is 8 hex
  of the state's content, title, excerpt, status, password flag and author, so a same-second
  change still gets a new id. The post password never appears in any record, title or ``extra``.
- ``kind="media"``, ``native_id="media:<id>"``, one
  revision ``cur-<modified_gmt>-<sig>`` whose content streams the file (the full-size original
  when WordPress scaled a big image); ``parent_id`` = native id of the post it is attached to.
- ``kind="comment"``, ``native_id="comment:<id>"``, ``parent_id`` = the post's native id,
  ``extra["reply_to"] = "comment:<parent>"`` for threaded replies, one revision
  ``c-<sig>`` (sig over content, status and visibility: an edit, a moderation decision or a
  change of the post's visibility gives a new version).

Records (``Revision.record``, filed as ``sa:sourceRecord`` under the item's ACL) are allow-lists
of the API's fields (``*_RECORD``): only what every reader of the item may see in WordPress and
only about the item itself. Left out: the post password; commenter e-mail, IP, user agent and
avatar URLs (editors only; a comment readable by anyone keeps its record readable by anyone, and
an ACL that widens later widens every version); ``meta`` (plugins' custom fields, often
editors-only); ``_links`` (in edit context they describe the archiving account's rights);
``permalink_template``, ``generated_slug``, ``missing_image_sizes`` (editing aids).

Visibility (fail closed): a published post without password is public; everything else is
restricted to ``user:<author login>`` plus ``private_readers`` (default ``role:editor``,
``role:administrator``) with the status as reason. Media inherit their post's visibility
(WordPress serves the file publicly anyway: ``extra["exposure"]`` says so). Comments inherit their
post's visibility; comments not approved are restricted. Unknown parents -> restricted.

Incremental (``changes(state)``): the run start is the HTTP ``Date`` of the first response.
Posts: ``orderby=modified&order=asc``, always ``page=1``, keyset on ``modified_after`` (the
cursor moves to the last item's site-local ``modified`` minus 1 s; WordPress compares with the
site-local ``post_modified``, so the first cursor is sent with ``Z`` and later ones naive-local,
which is exactly what the database column holds), bounded by ``modified_before=<run start>``,
dedupe on ``(id, modified)``. A DST fall-back near a bound widens the window (site timezone from
``/wp-json/``). Scheduled posts carry a future ``modified`` and cron publishes them without
touching it: they are listed separately every run and re-read by id next run (``state["recheck"]``).
Comments have no modified date: ``after=<checkpoint>`` (comment date) plus, for every post that
changed in this run, all its comments and media (``post=``/``parent=`` batches), so a public ->
private switch reaches them. Moderation, comment edits and media attach/detach do not touch any
date: comments are re-checked by the change sweep (``recheck``, ``sweep.py``: 100 by id
a request, within its budget, every ``sweep_period_days``), media by a full media listing every
``sweep_every`` (default 1 day). Deletions:
WordPress keeps no record of a force delete, so only ``reconcile`` sees them; their tombstones are
readable by ``private_readers`` (editors), who see trashed content in WordPress.

The visibility sweep (``sweep``, every run after ``changes``) narrows what changed without a
date: seen on WordPress 6.1, a post's status, password and trash all bump ``modified`` (so
``changes`` re-reads them), but moderating a comment, the comments of a trashed post turning
``post-trashed`` and attaching media to a post touch no date at all. See ``sweep`` for its
listings and cost. Widening is left to ``changes`` (a post's ``modified``; media through the full
listing every ``sweep_every``) and to the change sweep (comments), which know every fact of the
record.

State keys (JSON): ``checkpoint`` (UTC ISO, run start minus overlap), ``swept_at`` (UTC ISO),
``recheck`` ({rest_base: [ids]}: scheduled posts and records skipped this run), ``version``.
The state is updated in place only at the end of the generator.

Rights: every run first reads ``/users/me`` and stops (``Fatal``) unless the account can read
other people's and private posts and moderate comments: a partial archive must not look complete.
An administrator sees everything; an editor misses the privacy-policy page and, lacking
``list_users``, gets user slugs instead of logins.

Errors: requests, paging and error classes are ``api.RestApi``'s (401/403 and refused
queries are ``Fatal``; 429/5xx/timeouts are retried, then ``Retriable``); a record that cannot be read or built is
logged, listed in ``skipped`` and re-read next run (the generator goes on); a media file that
cannot be downloaded raises ``Skippable`` from ``Content.chunks()`` while it is filed.

The class is split by concept: ``items`` (look-ups, visibility, the builders of each item),
``visibility`` (the visibility sweep), ``sweep`` (the change sweep); ``shape`` holds the statuses,
the record allow-lists and the time helpers. More than ``reconcile_max_ratio`` of the known ids
gone stops a reconcile (``kit.deletions.guard``).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo

from ...errors import Fatal
from ...http import DEFAULT_TIMEOUT, Session, make_session
from ...model import Item, Skipped, Tombstone
from ...when import iso
from ..base import Estimate, Source
from ..kit.deletions import guard
from ..kit.window import in_window, next_checkpoint, parse_time, utc
from .api import PER_PAGE, RestApi
from .sweep import CommentSweep
from .items import ObjectItems
from .visibility import VisibilitySweep
from .shape import (UTC, POST_STATUSES, MEDIA_STATUSES, COMMENT_STATUSES, DEFAULT_TYPES, STATE_VERSION,
                    NEEDED_CAPS, DST_PROBE, _raw, _chunks)

log = logging.getLogger(__name__)

class WordPressSource(ObjectItems, VisibilitySweep, CommentSweep, Source):
    """Archive a WordPress 6.1 site through its REST API (see the module docstring)."""

    system = "wordpress"
    fetch_method = "fetch"

    def __init__(self, name: str, base_url: str, username: str, app_password: str, *,
                 overlap: timedelta = timedelta(minutes=10),
                 sweep_every: timedelta | float | None = timedelta(days=1),
                 private_readers: Iterable[str] = ("role:editor", "role:administrator"),
                 post_types: Mapping[str, str] | None = None,
                 user_agent: str = "socialarchive/0.1", verify: bool | str = True, rate_per_minute: float = 0.0,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 reconcile_max_ratio: float = 0.5,
                 session: Session | None = None,
                 attempts: int = 6, sleep: Callable[[float], None] = time.sleep):
        self.name = name
        base = base_url.rstrip("/")
        if "rest_route=" in base:          # sites without pretty permalinks: ".../?rest_route="
            self.api_root = base
        else:
            self.api_root = base if base.endswith("/wp-json") else base + "/wp-json"
        self.username = username
        self.overlap = overlap
        # a number (from a config file) is hours
        self.sweep_every = sweep_every if sweep_every is None or isinstance(sweep_every, timedelta) \
            else timedelta(hours=float(sweep_every))
        self.private_readers = tuple(private_readers)
        self.post_types = dict(post_types or DEFAULT_TYPES)
        self.reconcile_max_ratio = reconcile_max_ratio
        if session is None:
            session = make_session(user_agent, verify=verify, timeout=timeout,
                                   auth=(username, app_password), rate_per_minute=rate_per_minute)
        else:
            session.auth = (username, app_password)
            session.headers.setdefault("User-Agent", user_agent)
        self.api = RestApi(self.api_root, username, session, attempts=attempts, sleep=sleep)
        self.skipped: list[Skipped] = []   # records the last run could not build
        self._tz: ZoneInfo | None = None
        self._tz_unknown = False
        self._users: dict[int, dict] | None = None
        self._users_view_only = False
        self._terms: dict[str, dict[int, str]] = {}
        self._posts: dict[int, dict] = {}      # id -> summary used by media and comments
        self._me: dict | None = None
        self._comment_marks: dict[int, str] = {}   # comment id -> revision id, read this run
        self._yielded: set[str] = set()             # record keys this run's changes() yielded

    @property
    def request_count(self) -> int:
        return self.api.request_count

    # ------------------------------------------------------------ clock, time zone
    def _preflight(self) -> datetime:
        """First request of a run: site facts and the server clock (HTTP Date)."""
        self.skipped = []
        self.api.http.start_run()
        data, _ = self.api.get("/", {"_fields": "name,url,home,gmt_offset,timezone_string"})
        data = data or {}
        tz_name = data.get("timezone_string") or ""
        self._tz, self._tz_unknown = None, False
        if tz_name:
            try:
                self._tz = ZoneInfo(tz_name)
            except Exception:               # unknown zone name here: widen windows by an hour
                log.warning("site time zone %r unknown to this machine; windows widened by 1 h", tz_name)
                self._tz_unknown = True
        self._site = data
        if self.api.http.server_time is not None:
            return self.api.http.server_time
        log.warning("no usable Date header from WordPress; using the local clock")
        return datetime.now(UTC).replace(microsecond=0)

    def _offset(self, dt: datetime) -> timedelta:
        return dt.astimezone(self._tz).utcoffset() or timedelta(0) if self._tz else timedelta(0)

    def _after(self, dt: datetime) -> str:
        """``*_after`` value (exclusive) that includes ``dt`` even across a DST fall-back."""
        slack = timedelta(hours=1) if self._tz_unknown else max(
            timedelta(0), self._offset(dt) - self._offset(dt + DST_PROBE))
        return iso(dt - timedelta(seconds=1) - slack)

    def _before(self, dt: datetime) -> str:
        slack = timedelta(hours=1) if self._tz_unknown else max(
            timedelta(0), self._offset(dt - DST_PROBE) - self._offset(dt))
        return iso(dt + timedelta(seconds=1) + slack)   # exclusive: keep the run-start second too

    # ---------------------------------------------------------------- listings
    def _posts_since(self, rest_base: str, after: str | None, before: str) -> Iterator[dict]:
        return self.api.keyset(f"/wp/v2/{rest_base}", {"context": "edit", "status": ",".join(POST_STATUSES)},
                            order="modified", after_param="modified_after",
                            before_param="modified_before", stamp="modified", after=after, before=before)

    def _by_ids(self, rest_base: str, ids: Iterable[int], statuses: Iterable[str] | None,
                extra: dict | None = None) -> Iterator[dict]:
        for chunk in _chunks(ids):
            params = {"context": "edit", "include": ",".join(map(str, chunk)), "orderby": "id", **(extra or {})}
            if statuses is not None:
                params["status"] = ",".join(statuses)
            yield from self.api.paged(f"/wp/v2/{rest_base}", params)

    def _media(self, after: str | None, before: str | None, **filters: str) -> Iterator[dict]:
        return self.api.keyset("/wp/v2/media", {"context": "edit", "status": ",".join(MEDIA_STATUSES), **filters},
                            order="modified", after_param="modified_after",
                            before_param="modified_before", stamp="modified", after=after, before=before)

    def _comments(self, after: str | None, before: str | None, **filters: str) -> Iterator[dict]:
        for status in COMMENT_STATUSES:
            yield from self.api.keyset("/wp/v2/comments", {"context": "edit", "status": status, "type": "", **filters},
                                    order="date", after_param="after", before_param="before",
                                    stamp="date", after=after, before=before)

    # ------------------------------------------------------------------ public
    def _require_rights(self) -> dict:
        """The account must read everything (fail loudly rather than archive a partial site)."""
        if self._me is None:
            me, _ = self.api.get("/wp/v2/users/me", {"context": "edit"})
            caps = me.get("capabilities") or {}
            missing = [c for c in NEEDED_CAPS if not caps.get(c)]
            if missing:
                raise Fatal(f"WordPress user {self.username!r} lacks {', '.join(missing)}: the archive "
                            "would miss drafts, private posts or held comments; use an administrator "
                            "(or an editor)")
            self._me = me
        return self._me

    def check(self) -> dict:
        """Probe the site: identity, clock, time zone, the account's rights, approximate counts."""
        now = self._preflight()
        me = self._require_rights()
        caps = me.get("capabilities") or {}
        counts = {}
        probes = {f"{b} (all statuses)": (f"/wp/v2/{b}", {"status": ",".join(POST_STATUSES)})
                  for b in self.post_types}
        probes["media"] = ("/wp/v2/media", {"status": ",".join(MEDIA_STATUSES)})
        for status in COMMENT_STATUSES:
            probes[f"comments ({status})"] = ("/wp/v2/comments", {"status": status, "type": ""})
        probes["users"] = ("/wp/v2/users", {})
        for label, (path, params) in probes.items():
            _, response = self.api.get(path, {**params, "context": "edit", "per_page": 1, "_fields": "id"},
                                    soft=(403,))
            counts[label] = response.headers.get("X-WP-Total", "?") if response is not None else "no access"
        site = getattr(self, "_site", {})
        return {"system": self.system, "site": site.get("name"), "url": site.get("url"),
                "api": self.api_root, "server_time": now.isoformat(),
                "timezone": site.get("timezone_string") or f"UTC{site.get('gmt_offset', 0):+}",
                "user": me.get("username"), "roles": ",".join(me.get("roles") or []),
                "can_list_users": bool(caps.get("list_users")),
                "note": "" if "administrator" in (me.get("roles") or []) else
                        "not an administrator: the privacy policy page and user logins may be missing",
                "counts (X-WP-Total, approximate)": counts,
                "requests": self.request_count}

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        """Everything created or changed since ``state["checkpoint"]`` (all of it on an empty state)."""
        run_start = self._preflight()
        self._require_rights()
        checkpoint = parse_time(state.get("checkpoint"))
        swept_at = parse_time(state.get("swept_at"))
        full = checkpoint is None
        sweep = full or (self.sweep_every is not None and
                         (swept_at is None or run_start - swept_at >= self.sweep_every))
        after = None if full else self._after(checkpoint)
        before = self._before(run_start)
        old_recheck = {k: set(v) for k, v in (state.get("recheck") or {}).items()}
        recheck: dict[str, set[int]] = {}
        changed_posts: set[int] = set()
        self._comment_marks, self._yielded = {}, set()

        for rest_base, kind in self.post_types.items():
            seen: set[tuple[int, str]] = set()
            sources = [self._posts_since(rest_base, after, before),
                       # scheduled: modified in the future; cron publishes without touching it
                       self.api.keyset(f"/wp/v2/{rest_base}", {"context": "edit", "status": "future"},
                                    order="modified", after_param="modified_after",
                                    before_param="modified_before", stamp="modified")]
            if old_recheck.get(rest_base):
                sources.append(self._by_ids(rest_base, old_recheck[rest_base], POST_STATUSES))
            for rows in sources:
                for raw in rows:
                    key = (raw["id"], raw.get("modified_gmt"))
                    if key in seen:
                        continue
                    seen.add(key)
                    if raw.get("status") == "future":
                        recheck.setdefault(rest_base, set()).add(raw["id"])
                    item = self._build(lambda: self._post_item(raw, rest_base, kind), rest_base, raw["id"], recheck)
                    changed_posts.add(raw["id"])
                    if item is not None:
                        yield item

        for rest_base, rows_fn, builder in (
                ("media", self._media, self._media_item),
                ("comments", self._comments, self._comment_item)):
            seen_ids: set[int] = set()
            parent_key = "parent" if rest_base == "media" else "post"
            # every comment is re-checked by the change sweep (sweep.py), media every sweep_every
            whole = full or (sweep and rest_base == "media")
            sources = [rows_fn(None if whole else after, before)]
            if not whole:
                for chunk in _chunks(changed_posts):
                    sources.append(rows_fn(None, before, **{parent_key: ",".join(map(str, chunk))}))
                ids = old_recheck.get(rest_base)
                if ids and rest_base == "media":
                    sources.append(self._by_ids("media", ids, MEDIA_STATUSES))
                elif ids:
                    sources.extend(self._by_ids("comments", ids, None, {"status": status, "type": ""})
                                   for status in COMMENT_STATUSES)
            for rows in sources:
                for raw in rows:
                    if raw["id"] in seen_ids:
                        continue
                    seen_ids.add(raw["id"])
                    item = self._build(lambda: builder(raw), rest_base, raw["id"], recheck)
                    if item is not None:
                        if rest_base == "comments":
                            self._comment_marks[raw["id"]] = item.revisions[-1].id
                            self._yielded.add(item.key)
                        yield item

        state["checkpoint"] = next_checkpoint(run_start, self.overlap)
        if sweep:
            state["swept_at"] = run_start.isoformat()
        state["recheck"] = {k: sorted(v) for k, v in recheck.items() if v}
        state["version"] = STATE_VERSION

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Items created or changed in ``[since, until)`` (UTC if naive); no state is touched.

        Without ``until`` the range has no end: items dated in the future (a scheduled post, whose
        ``date`` is its publication time) are filed too, not left for the next sync."""
        self._preflight()
        self._require_rights()
        lo, hi = utc(since), utc(until)
        after = self._after(lo) if lo else None
        before = self._before(hi) if hi else None

        def inside(raw: dict) -> bool:
            return any(in_window(parse_time(raw.get(stamp)), lo, hi) for stamp in ("modified_gmt", "date_gmt"))

        recheck: dict[str, set[int]] = {}
        for rest_base, kind in self.post_types.items():
            seen: set[int] = set()
            base = {"context": "edit", "status": ",".join(POST_STATUSES)}
            for rows in (self._posts_since(rest_base, after, before),
                         self.api.keyset(f"/wp/v2/{rest_base}", base, order="date", after_param="after",
                                      before_param="before", stamp="date", after=after, before=before)):
                for raw in rows:
                    if raw["id"] in seen or not inside(raw):
                        continue
                    seen.add(raw["id"])
                    item = self._build(lambda: self._post_item(raw, rest_base, kind), rest_base, raw["id"], recheck)
                    if item is not None:
                        yield item
        seen = set()
        media_base = {"context": "edit", "status": ",".join(MEDIA_STATUSES)}
        for rows in (self._media(after, before),
                     self.api.keyset("/wp/v2/media", media_base, order="date", after_param="after",
                                  before_param="before", stamp="date", after=after, before=before)):
            for raw in rows:
                if raw["id"] in seen or not inside(raw):
                    continue
                seen.add(raw["id"])
                item = self._build(lambda: self._media_item(raw), "media", raw["id"], recheck)
                if item is not None:
                    yield item
        seen = set()
        for raw in self._comments(after, before):
            if raw["id"] in seen or not inside(raw):
                continue
            seen.add(raw["id"])
            item = self._build(lambda: self._comment_item(raw), "comments", raw["id"], recheck)
            if item is not None:
                yield item

    def reconcile(self, known_ids: Iterable[str]) -> Iterator[Tombstone]:
        """Tombstones for archived ids that WordPress no longer has (force delete, emptied trash).

        ``known_ids``: native ids (``"post:12"``, ``"comment:7"``) or record keys
        (``"blog/page/12"``). Ids of other shapes are ignored with a warning. Every id missing
        from the id listings is confirmed gone by a direct GET (404) before a Tombstone is
        yielded, so a listing that misses something (a status not listed, paging during
        deletes) cannot tombstone a live record; more than ``reconcile_max_ratio`` of the known
        ids gone stops the run (``kit.deletions.guard``): an account that lost rights lists less.
        """
        detected = self._preflight()
        self._require_rights()
        rest_of = {kind: base for base, kind in self.post_types.items()} | {"media": "media",
                                                                            "comment": "comments"}
        wanted: dict[str, tuple[str, str]] = {}       # native id -> (kind, number)
        prefix = f"{self.name}/"
        for key in known_ids:
            if key.startswith(prefix) and key.count("/") >= 2:
                key = key.split("/", 2)[2]
            kind, _, number = key.partition(":")
            if kind not in rest_of or not number.isdigit():
                log.warning("reconcile: %r is not a native id of this source; ignored", key)
                continue
            wanted[key] = (kind, number)
        present: set[str] = set()
        for rest_base, kind in self.post_types.items():
            present.update(f"{kind}:{r['id']}" for r in self.api.paged(
                f"/wp/v2/{rest_base}", {"context": "edit", "status": ",".join(POST_STATUSES),
                                        "_fields": "id", "orderby": "id"}))
        present.update(f"media:{r['id']}" for r in self.api.paged(
            "/wp/v2/media", {"context": "edit", "status": ",".join(MEDIA_STATUSES), "_fields": "id",
                             "orderby": "id"}))
        for status in COMMENT_STATUSES:
            present.update(f"comment:{r['id']}" for r in self.api.paged(
                "/wp/v2/comments", {"context": "edit", "status": status, "type": "", "_fields": "id",
                                    "orderby": "id"}))
        gone: list[Tombstone] = []
        for native_id in sorted(set(wanted) - present, key=lambda k: (k.split(":")[0], int(k.split(":")[1]))):
            kind, number = wanted[native_id]
            still, _ = self.api.get(f"/wp/v2/{rest_of[kind]}/{number}", {"context": "edit", "_fields": "id"},
                                 soft=(404, 410))
            if still is not None:
                log.info("reconcile: %s is not in the listings but still exists; no tombstone", native_id)
                continue
            gone.append(Tombstone(source=self.name, system=self.system, native_id=native_id, kind=kind,
                            detected_at=detected, detected_by="reconcile",
                            reason="gone from WordPress (deleted permanently or purged from the "
                                   "trash); WordPress keeps no record of who deleted it or when",
                            readers=self.private_readers))
        yield from guard(gone, len(wanted), self.reconcile_max_ratio, "check the account's rights first")

    def fetch(self, native_ids: Iterable[str]) -> Iterator[Item]:
        """The items with these native ids (``"post:12"``, ``"media:5"``, ``"comment:7"``), read
        again by id (``socialarchive quarantine retry``). Ids WordPress no longer has yield nothing."""
        self._preflight()
        wanted: dict[str, set[int]] = {}
        for native_id in native_ids:
            kind, _, number = str(native_id).partition(":")
            if number.isdigit():
                wanted.setdefault(kind, set()).add(int(number))
        recheck: dict[str, set[int]] = {}
        for rest_base, kind in self.post_types.items():
            for raw in self._by_ids(rest_base, wanted.get(kind, ()), POST_STATUSES):
                item = self._build(lambda: self._post_item(raw, rest_base, kind), rest_base, raw["id"], recheck)
                if item is not None:
                    yield item
        for raw in self._by_ids("media", wanted.get("media", ()), MEDIA_STATUSES):
            item = self._build(lambda: self._media_item(raw), "media", raw["id"], recheck)
            if item is not None:
                yield item
        if wanted.get("comment"):
            for status in COMMENT_STATUSES:
                for raw in self._by_ids("comments", wanted["comment"], None, {"status": status, "type": ""}):
                    item = self._build(lambda: self._comment_item(raw), "comments", raw["id"], recheck)
                    if item is not None:
                        yield item

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """What ``backfill(since, until)`` would read, from cheap requests (``socialarchive plan``).

        Counts are ``X-WP-Total`` of ``per_page=1`` listings: items dated OR modified in the range
        (|dated| + |modified| - |both|, three requests per type). They count what this account
        may see, so they under-count for accounts below editor. Versions and bytes are
        extrapolated from one sample page per type (``_links.version-history`` counts, raw
        content lengths, ``media_details.filesize``).
        """
        self._preflight()
        lo, hi = utc(since), utc(until)

        def total(path: str, params: dict) -> int:
            _, response = self.api.get(path, {**params, "context": "edit", "per_page": 1, "_fields": "id"},
                                    soft=(403,))
            return int(response.headers.get("X-WP-Total", 0)) if response is not None else 0

        def in_range(path: str, params: dict, dated_only: bool = False) -> int:
            if lo is None and hi is None:
                return total(path, params)
            dated = {"after": self._after(lo)} if lo else {}
            dated.update({"before": self._before(hi)} if hi else {})
            if dated_only:
                return total(path, {**params, **dated})
            modified = {f"modified_{k}": v for k, v in dated.items()}
            return (total(path, {**params, **dated}) + total(path, {**params, **modified})
                    - total(path, {**params, **dated, **modified}))

        counts: dict[str, int] = {}
        versions = size = revision_requests = 0
        for rest_base, kind in self.post_types.items():
            params = {"status": ",".join(POST_STATUSES)}
            counts[kind] = n = in_range(f"/wp/v2/{rest_base}", params)
            sample = self.api.list(f"/wp/v2/{rest_base}", {**params, "context": "edit", "per_page": 20,
                                                         "_fields": "id,content,_links"}) if n else []
            revs = [max(1, int(((r.get("_links") or {}).get("version-history") or [{}])[0].get("count", 1)))
                    for r in sample]
            versions += round(n * sum(revs) / len(revs)) if revs else n
            # a post's revisions are read (one request) only when WordPress kept some
            kept = [int(((r.get("_links") or {}).get("version-history") or [{}])[0].get("count", 0)) > 0
                    for r in sample]
            revision_requests += round(n * sum(kept) / len(kept)) if kept else n
            size += round(n * sum(len(_raw(r.get("content")).encode()) for r in sample) / len(sample)) if sample else 0
        params = {"status": ",".join(MEDIA_STATUSES)}
        counts["media"] = n = in_range("/wp/v2/media", params)
        sample = self.api.list("/wp/v2/media", {**params, "context": "edit", "per_page": 20,
                                             "_fields": "id,media_details"}) if n else []
        sizes = [int((r.get("media_details") or {}).get("filesize") or 0) for r in sample]
        size += round(n * sum(sizes) / len(sizes)) if sizes else 0
        counts["comment"] = sum(in_range("/wp/v2/comments", {"status": status, "type": ""}, dated_only=True)
                                for status in COMMENT_STATUSES)
        size += counts["comment"] * 600      # a comment record is a few hundred bytes of JSON
        objects = sum(counts.values())
        listings = sum(-(-c // PER_PAGE) * 2 for c in counts.values())
        return Estimate(system=self.system, counts=dict(counts), objects=objects,
                        items=objects - counts["media"], files=counts["media"],
                        versions=versions + counts["media"] + counts["comment"], bytes=size,
                        requests=listings + revision_requests + counts["media"] + 5,
                        notes=["X-WP-Total counts what this account may see: it under-counts for accounts "
                               "below editor (drafts, private posts, held comments)",
                               "versions and bytes are extrapolated from a sample of 20 per type"])

