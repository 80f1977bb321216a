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
date: comments are re-checked by the change sweep (``recheck``, ``wordpress_sweep.py``: 100 by id
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

Errors: requests, paging and error classes are ``wordpress_api.RestApi``'s (401/403 and refused
queries are ``Fatal``; 429/5xx/timeouts are retried, then ``Retriable``); a record that cannot be read or built is
logged, listed in ``skipped`` and re-read next run (the generator goes on); a media file that
cannot be downloaded raises ``Skippable`` from ``Content.chunks()`` while it is filed.
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import posixpath
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from ..errors import Fatal, Skippable
from ..http import DEFAULT_TIMEOUT, make_session
from ..model import Access, Content, Item, Revision, Skipped, Tombstone, Visibility, record_key
from .base import Estimate, Source
from .wordpress_api import PER_PAGE, RestApi
from .wordpress_sweep import CommentSweep

log = logging.getLogger(__name__)

UTC = timezone.utc
POST_STATUSES = ("publish", "future", "draft", "pending", "private", "trash")
MEDIA_STATUSES = ("inherit", "private", "trash")
COMMENT_STATUSES = ("all", "spam", "trash")          # "all" = approved + hold
DEFAULT_TYPES = {"posts": "post", "pages": "page"}
RESTRICTED_STATUSES = ("future", "draft", "pending", "private", "trash")
NARROWED_COMMENTS = ("hold", "spam", "trash")    # the sweep lists these (and "post-trashed" ones)
POST_RECORD = ("id", "type", "slug", "status", "link", "guid", "date", "date_gmt", "modified", "modified_gmt",
               "author", "title", "content", "excerpt", "comment_status", "ping_status", "sticky", "format",
               "template", "categories", "tags", "featured_media", "parent", "menu_order")
REVISION_RECORD = ("id", "parent", "author", "date", "date_gmt", "modified", "modified_gmt", "slug", "guid",
                   "title", "content", "excerpt")
MEDIA_RECORD = ("id", "type", "slug", "status", "link", "guid", "date", "date_gmt", "modified", "modified_gmt",
                "author", "title", "caption", "description", "alt_text", "media_type", "mime_type",
                "source_url", "media_details", "post", "comment_status", "ping_status", "template")
COMMENT_RECORD = ("id", "post", "parent", "author", "author_name", "author_url", "date", "date_gmt", "content",
                  "link", "status", "type")
STATE_VERSION = 1
NEEDED_CAPS = ("edit_others_posts", "read_private_posts", "edit_others_pages", "read_private_pages",
               "moderate_comments")
DST_PROBE = timedelta(hours=3)


def _utc(value: str | None) -> datetime | None:
    """WordPress ``*_gmt`` strings carry no offset; they are UTC."""
    if not value or value.startswith("0000"):
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sig(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _raw(field: Any) -> str:
    if isinstance(field, dict):
        return field.get("raw", field.get("rendered", "")) or ""
    return field or ""


def _record(obj: dict, fields: tuple[str, ...]) -> bytes:
    """The record of one item: the allowed fields of the API object, nothing else."""
    return json.dumps({k: obj[k] for k in fields if k in obj}, ensure_ascii=False).encode("utf-8")


def _chunks(ids: Iterable[int], size: int = PER_PAGE) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class WordPressSource(CommentSweep, Source):
    """Archive a WordPress 6.1 site through its REST API (see the module docstring; the change
    sweep's part is ``wordpress_sweep.CommentSweep``)."""

    system = "wordpress"
    fetch_method = "fetch"

    def __init__(self, name: str, base_url: str, username: str, app_password: str, *,
                 overlap: timedelta = timedelta(minutes=10),
                 sweep_every: timedelta | float | None = timedelta(days=1),
                 private_readers: Iterable[str] = ("role:editor", "role:administrator"),
                 post_types: Mapping[str, str] | None = None,
                 user_agent: str = "socialarchive/0.1", verify: bool | str = True, rate_per_minute: float = 0.0,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 session: requests.Session | None = None,
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
        data, response = self.api.get("/", {"_fields": "name,url,home,gmt_offset,timezone_string"})
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
        date = response.headers.get("Date") if response is not None else None
        if date:
            try:
                return email.utils.parsedate_to_datetime(date).astimezone(UTC)
            except (TypeError, ValueError):
                pass
        log.warning("no usable Date header from WordPress; using the local clock")
        return datetime.now(UTC).replace(microsecond=0)

    def _offset(self, dt: datetime) -> timedelta:
        return dt.astimezone(self._tz).utcoffset() or timedelta(0) if self._tz else timedelta(0)

    def _after(self, dt: datetime) -> str:
        """``*_after`` value (exclusive) that includes ``dt`` even across a DST fall-back."""
        slack = timedelta(hours=1) if self._tz_unknown else max(
            timedelta(0), self._offset(dt) - self._offset(dt + DST_PROBE))
        return _z(dt - timedelta(seconds=1) - slack)

    def _before(self, dt: datetime) -> str:
        slack = timedelta(hours=1) if self._tz_unknown else max(
            timedelta(0), self._offset(dt - DST_PROBE) - self._offset(dt))
        return _z(dt + timedelta(seconds=1) + slack)   # exclusive: keep the run-start second too

    # ---------------------------------------------------------------- look-ups
    def _load_users(self) -> dict[int, dict]:
        if self._users is None:
            users: dict[int, dict] = {}
            try:
                rows = list(self.api.paged("/wp/v2/users", {"context": "edit", "orderby": "id"}))
            except Fatal:
                # editors lack list_users: public fields only (slug instead of login)
                log.warning("cannot list users with context=edit; using public user slugs")
                self._users_view_only = True
                rows = list(self.api.paged("/wp/v2/users", {"orderby": "id"}))
            for row in rows:
                users[row["id"]] = row
            self._users = users
        return self._users

    def _user(self, user_id: Any) -> dict | None:
        if not user_id:
            return None
        users = self._load_users()
        if user_id not in users:
            params = {} if self._users_view_only else {"context": "edit"}
            data, _ = self.api.get(f"/wp/v2/users/{int(user_id)}", params, soft=(401, 403, 404))
            users[user_id] = data or {"id": user_id, "username": f"user#{user_id}",
                                      "name": f"user#{user_id}"}
        return users[user_id]

    def _login(self, user_id: Any) -> str | None:
        user = self._user(user_id)
        if user is None:
            return None
        return user.get("username") or user.get("slug") or f"user#{user_id}"

    def _term(self, taxonomy: str, term_id: int) -> str:
        terms = self._terms.get(taxonomy)
        if terms is None:
            terms = {row["id"]: row.get("name", "") for row in
                     self.api.paged(f"/wp/v2/{taxonomy}", {"orderby": "id", "_fields": "id,name"})}
            self._terms[taxonomy] = terms
        if term_id not in terms:
            data, _ = self.api.get(f"/wp/v2/{taxonomy}/{int(term_id)}", {"_fields": "id,name"}, soft=(404,))
            terms[term_id] = (data or {}).get("name") or f"{taxonomy}#{term_id}"
        return terms[term_id]

    # -------------------------------------------------------------- visibility
    def _restricted(self, reason: str, author_login: str | None) -> Visibility:
        readers = ((f"user:{author_login}",) if author_login else ()) + self.private_readers
        return Visibility.restricted(reason=reason, readers=readers)

    def _post_visibility(self, raw: dict, author_login: str | None) -> Visibility:
        status = raw.get("status") or "unknown"
        protected = bool(raw.get("password"))
        if status == "publish" and not protected:
            return Visibility.public()
        return self._restricted("password-protected" if status == "publish" else status, author_login)

    def _media_visibility(self, raw: dict, parent: Visibility | None, author_login: str | None) -> Visibility:
        """A file is read like the post it is attached to (an unknown post restricts); a file of
        its own is public while ``inherit`` (WordPress's status of a published upload)."""
        status = raw.get("status") or "unknown"
        if raw.get("post"):
            if parent is None:
                visibility = self._restricted("attached to an unknown post", author_login)
            elif parent.is_public:
                visibility = parent
            else:
                visibility = Visibility.restricted(reason=f"attached to a {parent.reason} post",
                                                   readers=parent.readers)
        elif status == "inherit":
            visibility = Visibility.public()
        else:
            visibility = self._restricted(status, author_login)
        if status != "inherit" and visibility.is_public:
            visibility = self._restricted(status, author_login)
        return visibility

    def _comment_visibility(self, status: str, post: dict | None) -> Visibility:
        """A comment is read like its post (``post``: its summary; unknown restricts), and only
        when approved; a held one is seen by the post's author and the editors."""
        if post is None:
            return self._restricted("comment on an unknown post", None)
        if not post["visibility"].is_public:
            reason = f"post {post['visibility'].reason}"
            if status != "approved":
                reason = f"comment {status}; {reason}"
            return Visibility.restricted(reason=reason, readers=post["visibility"].readers)
        if status != "approved":
            return self._restricted(f"comment {status}", post["author_login"])
        return Visibility.public()

    def _summarise(self, raw: dict, kind: str, space: str, author_login: str | None) -> dict:
        summary = {"kind": kind, "title": _raw(raw.get("title")), "space": space,
                   "author_login": author_login,
                   "visibility": self._post_visibility(raw, author_login)}
        self._posts[raw["id"]] = summary
        return summary

    def _parents(self, ids: Iterable[int]) -> None:
        """Fill the post summary cache for these ids (any post type we know)."""
        missing = {i for i in ids if i and i not in self._posts}
        fields = "id,type,status,password,author,title,categories,parent"
        for rest_base, kind in self.post_types.items():
            if not missing:
                return
            for chunk in _chunks(missing):
                for raw in self.api.paged(f"/wp/v2/{rest_base}", {
                        "context": "edit", "include": ",".join(map(str, chunk)),
                        "status": ",".join(POST_STATUSES), "_fields": fields, "orderby": "id"}):
                    self._summarise(raw, kind, self._space(raw, rest_base), self._login(raw.get("author")))
                    missing.discard(raw["id"])

    def _parent_ref(self, post_id: int) -> str | None:
        summary = self._posts.get(post_id) if post_id else None
        return f"{summary['kind']}:{post_id}" if summary else None

    def _space(self, raw: dict, rest_base: str) -> str:
        cats = raw.get("categories") or []
        if cats:
            return self._term("categories", cats[0])
        return rest_base

    # --------------------------------------------------------------- builders
    def _revisions(self, rest_base: str, post_id: int) -> list[dict]:
        rows = {r["id"]: r for r in self.api.paged(f"/wp/v2/{rest_base}/{post_id}/revisions",
                                                {"context": "edit", "orderby": "id", "order": "asc"})}
        return sorted(rows.values(), key=lambda r: (r.get("date_gmt") or "", r["id"]))

    def _post_item(self, raw: dict, rest_base: str, kind: str) -> Item:
        post_id = raw["id"]
        author = self._login(raw.get("author"))
        space = self._space(raw, rest_base) if kind != "page" else "pages"
        summary = self._summarise(raw, kind, space, author)
        visibility = summary["visibility"]
        tags = tuple(self._term("categories", c) for c in raw.get("categories") or ()) + \
            tuple(self._term("tags", t) for t in raw.get("tags") or ())
        history = (raw.get("_links") or {}).get("version-history") or [{}]
        count = history[0].get("count")
        stored = [] if count == 0 else self._revisions(rest_base, post_id)
        revisions = [Revision(id=f"rev-{r['id']}", created=_utc(r.get("date_gmt")) or _utc(r.get("modified_gmt")),
                              author=self._login(r.get("author")),
                              content=Content.from_bytes(_raw(r.get("content")).encode("utf-8"), "text/html"),
                              title=_raw(r.get("title")), record=_record(r, REVISION_RECORD))
                     for r in stored]
        current = (_raw(raw.get("content")), _raw(raw.get("title")), _raw(raw.get("excerpt")))
        newest = stored[-1] if stored else None
        if newest is None or newest.get("date_gmt") != raw.get("modified_gmt") or current != (
                _raw(newest.get("content")), _raw(newest.get("title")), _raw(newest.get("excerpt"))):
            sig = _sig(current, raw.get("status"), bool(raw.get("password")), raw.get("author"))
            revisions.append(Revision(
                id=f"cur-{raw.get('modified_gmt')}-{sig}", created=_utc(raw.get("modified_gmt")),
                author=author, content=Content.from_bytes(current[0].encode("utf-8"), "text/html"),
                title=current[1], record=_record(raw, POST_RECORD)))
        extra = {"status": str(raw.get("status")),
                 "password_protected": "true" if raw.get("password") else "false",
                 "slug": str(raw.get("slug") or ""), "type": str(raw.get("type") or kind)}
        if "sticky" in raw:
            extra["sticky"] = "true" if raw.get("sticky") else "false"
        if "format" in raw:
            extra["format"] = str(raw.get("format"))
        if raw.get("parent"):
            extra["parent_page"] = str(raw["parent"])
        user = self._user(raw.get("author"))
        if user and user.get("name"):
            extra["author_display_name"] = str(user["name"])
        return Item(source=self.name, system=self.system, native_id=f"{kind}:{post_id}", kind=kind,
                    title=current[1], url=raw.get("link") or "", visibility=visibility,
                    revisions=revisions, author=author, created=_utc(raw.get("date_gmt")),
                    modified=_utc(raw.get("modified_gmt")), space=space, tags=tags, extra=extra)

    def _media_item(self, raw: dict) -> Item:
        media_id = raw["id"]
        author = self._login(raw.get("author"))
        parent = raw.get("post") or 0
        status = raw.get("status") or "unknown"
        source_url = raw.get("source_url") or ""
        details = raw.get("media_details") or {}
        extra = {"status": str(status), "mime_type": str(raw.get("mime_type") or ""),
                 "source_url": source_url, "post_id": str(parent) if parent else ""}
        self._parents([parent])
        summary = self._posts.get(parent)
        space = summary["space"] if summary else "media"
        visibility = self._media_visibility(raw, summary["visibility"] if summary else None, author)
        if not visibility.is_public:
            extra["exposure"] = "file served publicly by WordPress (no access control on uploads)"
        url, size = source_url, details.get("filesize")
        original = details.get("original_image")
        if original and source_url:   # WordPress scaled a big image: archive the original upload
            url = posixpath.join(posixpath.dirname(source_url), original)
            extra["scaled_url"] = source_url
            size = None
        filename = posixpath.basename(urlsplit(url).path) or None
        content = Content(media_type=raw.get("mime_type") or "application/octet-stream",
                          chunks=self.api.downloader(url), size=int(size) if size else None,
                          filename=filename)
        sig = _sig(visibility, parent, url, size, status)
        revision = Revision(id=f"cur-{raw.get('modified_gmt')}-{sig}",
                            created=_utc(raw.get("modified_gmt")), author=author, content=content,
                            title=_raw(raw.get("title")), record=_record(raw, MEDIA_RECORD))
        return Item(source=self.name, system=self.system, native_id=f"media:{media_id}", kind="media",
                    title=_raw(raw.get("title")) or (filename or ""), url=raw.get("link") or source_url,
                    visibility=visibility, revisions=[revision], author=author,
                    created=_utc(raw.get("date_gmt")), modified=_utc(raw.get("modified_gmt")),
                    space=space, parent_id=self._parent_ref(parent), extra=extra)

    def _comment_item(self, raw: dict) -> Item:
        comment_id = raw["id"]
        post_id = raw.get("post") or 0
        status = raw.get("status") or "unknown"
        self._parents([post_id])
        summary = self._posts.get(post_id)
        visibility = self._comment_visibility(status, summary)
        content = _raw(raw.get("content"))
        author_name = raw.get("author_name") or None
        extra = {"status": str(status), "type": str(raw.get("type") or "comment"),
                 "reply_to": f"comment:{raw['parent']}" if raw.get("parent") else "",
                 "post_id": str(post_id)}
        if raw.get("author"):
            login = self._login(raw["author"])
            if login:
                extra["author_user"] = login
        sig = _sig(content, status, visibility, raw.get("date_gmt"), raw.get("parent"), post_id,
                   author_name, raw.get("author_url"))
        post_title = summary["title"] if summary else f"#{post_id}"
        revision = Revision(id=f"c-{sig}", created=_utc(raw.get("date_gmt")), author=author_name,
                            content=Content.from_bytes(content.encode("utf-8"), "text/html"),
                            comment=f"comment {status}", record=_record(raw, COMMENT_RECORD))
        return Item(source=self.name, system=self.system, native_id=f"comment:{comment_id}",
                    kind="comment", title=f"Comment {comment_id} on {post_title}",
                    url=raw.get("link") or "", visibility=visibility, revisions=[revision],
                    author=author_name, created=_utc(raw.get("date_gmt")),
                    modified=_utc(raw.get("date_gmt")), space=summary["space"] if summary else "",
                    parent_id=self._parent_ref(post_id), extra=extra)

    def _build(self, build: Callable[[], Item], rest_base: str, obj_id: Any,
               recheck: dict[str, set[int]]) -> Item | None:
        """Build one item; a broken record is logged, listed in ``skipped`` and re-read next run."""
        try:
            return build()
        except (Skippable, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("skipping %s %s: %s", rest_base, obj_id, exc)
            kind = self.post_types.get(rest_base) or {"media": "media", "comments": "comment"}.get(rest_base, rest_base)
            self.skipped.append(Skipped(record_key(self.name, kind, f"{kind}:{obj_id}"),
                                        f"{rest_base} {obj_id}: {type(exc).__name__}: {exc}"))
            if isinstance(obj_id, int):
                recheck.setdefault(rest_base, set()).add(obj_id)
            return None

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
        checkpoint = _parse_state_time(state.get("checkpoint"))
        swept_at = _parse_state_time(state.get("swept_at"))
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
            # every comment is re-checked by the change sweep (wordpress_sweep), media every sweep_every
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

        state["checkpoint"] = (run_start - self.overlap).isoformat()
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
        lo, hi = _aware(since), _aware(until)
        after = self._after(lo) if lo else None
        before = self._before(hi) if hi else None

        def inside(raw: dict) -> bool:
            stamps = [_utc(raw.get("modified_gmt")), _utc(raw.get("date_gmt"))]
            return any(s is not None and (lo is None or s >= lo) and (hi is None or s < hi) for s in stamps)

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
        deletes) cannot tombstone a live record.
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
        for native_id in sorted(set(wanted) - present, key=lambda k: (k.split(":")[0], int(k.split(":")[1]))):
            kind, number = wanted[native_id]
            still, _ = self.api.get(f"/wp/v2/{rest_of[kind]}/{number}", {"context": "edit", "_fields": "id"},
                                 soft=(404, 410))
            if still is not None:
                log.info("reconcile: %s is not in the listings but still exists; no tombstone", native_id)
                continue
            yield Tombstone(source=self.name, system=self.system, native_id=native_id, kind=kind,
                            detected_at=detected, detected_by="reconcile",
                            reason="gone from WordPress (deleted permanently or purged from the "
                                   "trash); WordPress keeps no record of who deleted it or when",
                            readers=self.private_readers)

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Narrow the records archived as public that WordPress narrowed without touching a date.

        Listings (``context=edit``, ``_fields`` of ids and statuses only, 100 rows a request):

        1. the restricted posts of each type (``status=future,draft,pending,private,trash``): a
           post archived as public among them narrows (a status changed behind WordPress's back:
           through REST or the admin, ``modified`` moves and ``changes`` has re-read it already);
        2. the media attached to those posts (``parent=``): attaching a file touches no date;
        3. the comments held, spam and trashed, the approved ones on those posts, and the
           ``post-trashed`` ones of posts in the trash: moderation touches no date, and trashing a
           post turns its comments ``post-trashed`` (a status ``changes`` does not list).

        A record so found gets the visibility its item gets when built (``_post_visibility``,
        ``_media_visibility``, ``_comment_visibility``); the only other look-ups (the author's
        login for the readers, the summary of a public post whose comment was held) are made when
        something narrowed. Widening is left to ``changes`` (see the module doc).

        Requests per run, each listing one per 100 rows: 1 per post type; + 1 media listing when
        public media are archived and restricted posts exist; + 3 comment statuses + 1 for the
        approved comments of restricted posts (+ 1 for ``post-trashed``) when public comments are
        archived. A small blog with the default post types: 7 (8 with a post in the trash). None
        when nothing public is archived.
        """
        public: dict[str, set[int]] = {}
        for key, seen in archived.items():
            found = self._archived_id(key)
            if found is not None and seen.is_public:
                public.setdefault(found[0], set()).add(found[1])
        if not public:
            return
        posts = {row["id"]: (kind, row) for rest_base, kind in self.post_types.items()
                 for row in self._rows(f"/wp/v2/{rest_base}", {"status": ",".join(RESTRICTED_STATUSES)},
                                       "id,status,author")}
        summaries: dict[int, dict] = {}

        def restricted_post(post_id: int) -> dict:
            if post_id not in summaries:
                row = posts[post_id][1]
                login = self._login(row.get("author"))
                summaries[post_id] = {"visibility": self._post_visibility(row, login), "author_login": login}
            return summaries[post_id]

        for post_id, (kind, _) in sorted(posts.items()):
            if post_id in public.get(kind, ()):
                yield Access(record_key(self.name, kind, f"{kind}:{post_id}"), restricted_post(post_id)["visibility"])
        if public.get("media") and posts:
            for row in self._rows("/wp/v2/media", {"status": ",".join(MEDIA_STATUSES)}, "id,post,status,author",
                                  by=("parent", posts)):
                if row["id"] in public["media"] and row.get("post") in posts:
                    visibility = self._media_visibility(row, restricted_post(row["post"])["visibility"],
                                                        self._login(row.get("author")))
                    yield Access(record_key(self.name, "media", f"media:{row['id']}"), visibility)
        if public.get("comment"):
            trashed = [post_id for post_id, (_, row) in posts.items() if row.get("status") == "trash"]
            listings = [self._rows("/wp/v2/comments", {"status": status, "type": ""}, "id,post,status")
                        for status in NARROWED_COMMENTS]
            listings += [self._rows("/wp/v2/comments", {"status": status, "type": ""}, "id,post,status",
                                    by=("post", ids)) for status, ids in (("approve", posts), ("post-trashed", trashed))
                         if ids]
            narrowed = {row["id"]: row for rows in listings for row in rows if row["id"] in public["comment"]}
            self._parents({row.get("post") or 0 for row in narrowed.values()} - set(posts))
            for comment_id, row in sorted(narrowed.items()):
                post_id = row.get("post") or 0
                post = restricted_post(post_id) if post_id in posts else self._posts.get(post_id)
                yield Access(record_key(self.name, "comment", f"comment:{comment_id}"),
                             self._comment_visibility(row.get("status") or "unknown", post))

    def _archived_id(self, key: str) -> tuple[str, int] | None:
        """(kind, WordPress id) of a record key of this source (``blog/post/post:12``)."""
        if not key.startswith(f"{self.name}/"):
            return None
        kind, _, number = key.rsplit("/", 1)[-1].partition(":")
        return (kind, int(number)) if number.isdigit() else None

    def _rows(self, path: str, params: dict, fields: str,
              by: tuple[str, Iterable[int]] | None = None) -> Iterator[dict]:
        """A listing of a few fields, all of it or only the rows of some parents (``by``: the filter
        and its ids, 100 a request)."""
        base = {**params, "context": "edit", "orderby": "id", "_fields": fields}
        if by is None:
            yield from self.api.paged(path, base)
            return
        name, ids = by
        for chunk in _chunks(ids):
            yield from self.api.paged(path, {**base, name: ",".join(map(str, chunk))})

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
        lo, hi = _aware(since), _aware(until)

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


def _aware(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _parse_state_time(value: Any) -> datetime | None:
    if not value:
        return None
    return _aware(datetime.fromisoformat(str(value)))
