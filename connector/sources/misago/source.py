"""Misago 0.39 forum source: threads, posts with every edit, attachments, hidden content, deletions.

Shared forum shape (same as ``discourse.py``)::

    thread      Item(kind="thread", native_id="thread:{id}", title, url, author=starter,
                     created=started, modified=last post, space=category name, tags,
                     visibility, revisions=[Revision(content=<thread record, see Records>,
                                                     media type "application/json")])
    post        Item(kind="post", native_id="post:{id}", parent_id="thread:{tid}",
                     title="{thread title} #{position}",
                     extra={"position": "n", "reply_to": "<post id or ''>", "thread_id": "tid",
                            "hidden": "true"/"false", ...},
                     revisions=every version, oldest first)
    attachment  Item(kind="attachment", native_id="attachment:{id}", parent_id="post:{pid}",
                     content streamed from the server, never held whole in memory)
    deletion    Tombstone(kind="thread"|"post"|"attachment", native_id as above)

Order: a thread, then its posts in position order, each post followed by its attachments.

Records (the thread's content and every ``Revision.record``, which becomes ``sa:sourceRecord``)
are allow-lists, never the raw response: fields about the record's own item that every reader of
that item sees in Misago. A record is read under its own item's (and version's) ACL, and the raw
JSON holds what those readers may not see: the caller's permissions (``acl``), other posts (a
thread's last poster and best answer, a post listing's hidden posts), the attachments' secret URLs,
and the text of other versions (an edit's diff holds the previous text; a post's ``content`` is
the newest one, which may be restricted while an older version is not). So:

- thread: ``id, title, starter_name, started_on, last_post_on, replies, is_closed, is_hidden,
  is_unapproved, weight, url`` and ``category`` (``id``, ``name``), or ``participants``
  (usernames) for a private thread;
- post (revision ``"0"`` and a post without edits): ``id, poster_name, posted_on, updated_on,
  edits, last_editor_name, is_hidden, hidden_by_name, hidden_on, is_unapproved, is_protected,
  is_event, event_type, event_context, url`` and its ``attachments`` (attachment fields below);
  no text: the text is the revision's content;
- edit: ``id, edited_on, editor_name`` (not the diff);
- attachment: ``id, filename, filetype, is_image, size, uploaded_on, uploader_name``.

Misago specifics (seen on a real 0.39.6 server):

- **Login**: no API keys. ``GET /`` sets the ``csrftoken`` cookie, ``POST /api/auth/`` with
  ``X-CSRFToken`` and ``Referer``; the token rotates on login. The token and the session cookie
  go to Misago's own origin only, on every redirect hop (``http.Session.bind_credentials``).
  Crawl with an account that sees everything (an admin *with* the moderator role where
  categories are moderator-only).
- **Categories**: there is no category API. The ids come from ``GET /api/auth/`` →
  ``acl.visible_categories``; threads are listed per category (``/api/threads/?category=ID``,
  keyset cursor ``next`` on ``last_post_id``, pinned threads first on the first page). The root
  listing (``/api/threads/``) is **not** enough: on the reference server it left out a
  moderator-only category that the same account could list directly. Names come from the thread.
- **Content**: post ``content`` is rendered HTML. The original markup is what we archive
  (``text/markdown``, Misago's Markdown + BBCode dialect), from the post's ``post_editor``
  endpoint (needs edit rights) or ``reply_editor?reply=`` (needs reply rights); only when both
  are refused do we fall back to the rendered HTML (``text/html``) and say so in ``extra``.
- **Edits**: ``/api/threads/{tid}/posts/{pid}/edits/`` returns one edit per call (newest first,
  ``previous``/``next`` ids) with an ``ndiff`` of the markup's lines. Both sides of every edit are
  rebuilt from the diff (lines starting ``"  "``/``"- "`` are the old text, ``"  "``/``"+ "`` the
  new, ``"? "`` are hints), so every version is archived; the newest version is the exact
  ``post_editor`` text. Line endings are normalised to ``\\n`` in rebuilt older versions (the diff
  is made from ``splitlines()``). Each revision keeps the edit's JSON as ``record``.
- **Attachments**: ``/a/<secret>/<id>/`` redirects to ``/media/…`` and is served **without an
  access check**; a wrong secret or a missing file redirects to a placeholder image under
  ``/static/`` that is served with HTTP 200. We follow the redirect ourselves, refuse anything
  that does not land under the media prefix (``Skippable``), and let the size Misago announced
  be checked while the bytes flow. Attachments get their post's visibility; their secret URL is
  never put into metadata (it is a capability).
- **Visibility**: role and category ACLs are not exposed by the API, so they come from config and
  fail closed: a category is public *only* if listed in ``public_categories`` **and** Misago lets
  a signed-out visitor read it (``GET /api/auth/`` without a session: ``acl.visible_categories``
  and ``browseable_categories``, once per run); otherwise it is restricted to
  ``category_visibility[name]`` (default ``("role:moderator",)``). So a public category whose
  guest access is taken away in Misago turns restricted without a config change. Hidden or
  unapproved threads and posts are restricted to ``moderator_principals`` (plus the poster for
  unapproved ones). Private threads (optional) are restricted to their participants.
- **Sweep** (``sweep(archived)``): visibility changes without an edit (a thread moved into a
  staff-only category, a category's guest access taken away, a thread hidden or approved), so
  every run lists every thread again (the listing carries its category id and its hidden and
  unapproved flags) and yields each archived thread's visibility, decided as above. Its archived
  posts and attachments follow it (with their own hidden/unapproved flags) where the thread's
  visibility differs from the one the archive holds, read from the thread's post listing (the
  only place that names a thread's posts and attachments; their text is not kept), and where this
  run's ``changes`` filed the thread, from the listing it read (no request): filing the thread
  stored its new visibility already, while its older posts were not filed again. Cost per run,
  with C visible categories and T_c threads in each:
  ``1 + Σ_c max(1, ⌈T_c / 26⌉)`` (categories, then the listing pages; Misago's default 26 per
  page; 2 more to sign in when ``changes`` did not) ``+ 1`` (the signed-out ACL, shared with ``changes``) ``+ N`` (one thread read per
  category holding archived threads whose name this run has not seen yet, N ≤ C) ``+ ⌈P / 26⌉ +
  P`` with P archived private threads (their participants are in the thread only) ``+ Σ ⌈posts /
  18⌉`` over the threads whose visibility changed. A thread the listing no longer shows gets
  nothing (reconcile finds deletions). A reply hidden on its own leaves no trace in any listing
  (Misago serialises no ``has_hidden_posts``): ``changes`` sees it (``hidden_on``) while its
  thread is inside ``rescan_window``, a full run or ``backfill`` after that.
- **Incremental**: no modified-since filter exists. ``changes()`` rescans threads by last activity
  down to ``min(checkpoint, run start - rescan_window)`` and re-files posts whose
  ``posted_on``/``updated_on`` is at or after the checkpoint (an edit sets ``updated_on``). Edits to
  posts of threads quiet for longer than ``rescan_window`` are found by the change sweep
  (``recheck``, ``misago_sweep.py``): one post listing per archived thread, least recently checked
  first, within the sweep's budget.
  Revision ids are stable (``"0"`` for the original, ``"edit:{edit id}"`` after), so a repeated
  window yields only revisions the archive already holds.
- **Deletions**: posts and threads are hard-deleted (404). ``reconcile(known_ids)`` lists every
  live thread and post and returns Tombstones for known ids that are gone (after confirming the
  session is still signed in, since an anonymous session simply sees less). A tombstone's
  ``readers`` are ``moderator_principals``, who see deleted content in Misago: its soft deletion
  is hiding, which leaves a post to the moderators (a hard-deleted one no one sees any more).

State keys (``changes``): ``checkpoint`` (ISO-8601 UTC, server clock at run start minus overlap).
"""
from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import mimetypes
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from ..errors import ConfigError, Fatal, Skippable
from ..http import Session, check, make_session, retrying, safe_url
from ..model import CHUNK_SIZE, Access, Content, Item, Revision, Tombstone, Visibility, record_key
from .base import Estimate, Source
from .misago_sweep import ThreadSweep

log = logging.getLogger(__name__)

SYSTEM = "misago"
DEFAULT_READERS = ("role:moderator",)
# the allow-lists of the records (see "Records" in the module docstring)
THREAD_FIELDS = ("id", "title", "starter_name", "started_on", "last_post_on", "replies",
                 "is_closed", "is_hidden", "is_unapproved", "weight")
POST_FIELDS = ("id", "poster_name", "posted_on", "updated_on", "edits", "last_editor_name",
               "is_hidden", "hidden_by_name", "hidden_on", "is_unapproved", "is_protected",
               "is_event", "event_type", "event_context")
EDIT_FIELDS = ("id", "edited_on", "editor_name")
ATTACHMENT_FIELDS = ("id", "filename", "filetype", "is_image", "size", "uploaded_on", "uploader_name")


def parse_time(value: str | None) -> datetime | None:
    """Misago times: ISO 8601 with microseconds and ``Z``."""
    if not value:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def diff_sides(diff: Iterable[str]) -> tuple[str, str]:
    """Rebuild (old text, new text) from Misago's ``difflib.ndiff`` of ``splitlines()``.

    >>> diff_sides(["- a", "+ b", "?  ^\\n", "  c"])
    ('a\\nc', 'b\\nc')
    """
    old: list[str] = []
    new: list[str] = []
    for line in diff:
        code, text = line[:2], line[2:]
        if code == "  ":
            old.append(text)
            new.append(text)
        elif code == "- ":
            old.append(text)
        elif code == "+ ":
            new.append(text)
        # "? " lines are intraline hints, not text
    return "\n".join(old), "\n".join(new)


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _pick(data: dict, fields: tuple[str, ...]) -> dict:
    return {name: data.get(name) for name in fields}


def _record(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True).encode("utf-8")


class MisagoSource(ThreadSweep, Source):
    """Archive a Misago forum (see the module docstring for the shape and the pitfalls; the change
    sweep's part is ``misago_sweep.ThreadSweep``)."""

    system = SYSTEM

    def __init__(self, name: str, base_url: str, username: str, password: str, *,
                 category_visibility: dict[str, tuple[str, ...]] | None = None,
                 public_categories: tuple[str, ...] = (),
                 moderator_principals: tuple[str, ...] = DEFAULT_READERS,
                 include_private_threads: bool = False,
                 overlap: timedelta = timedelta(minutes=10),
                 rescan_window: timedelta = timedelta(days=30),
                 media_prefix: str = "/media/",
                 reconcile_max_ratio: float = 0.5,
                 user_agent: str = "socialarchive/0.1 (misago source)",
                 verify: bool | str = True, rate_per_minute: float = 0.0,
                 session: Session | None = None,
                 attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"misago source {name!r}: base_url must be http(s)")
        if not username or not password:
            raise ConfigError(f"misago source {name!r}: username and password are required")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.category_visibility = dict(category_visibility or {})
        self.public_categories = tuple(public_categories)
        self.moderator_principals = tuple(moderator_principals)
        self.include_private_threads = include_private_threads
        self.overlap = overlap
        self.rescan_window = rescan_window
        self.media_prefix = media_prefix
        self.reconcile_max_ratio = reconcile_max_ratio
        self.session = session if session is not None else make_session(user_agent, verify=verify,
                                                                         rate_per_minute=rate_per_minute)
        self.session.headers.setdefault("Accept", "application/json")
        self.session.bind_credentials(self.base_url)   # the session cookie goes to Misago only
        self._attempts = attempts
        self._sleep = sleep
        self._requests = 0
        self._logged_in = False
        self._server_time: datetime | None = None
        # visibility facts, read once per run: the categories a signed-out visitor may read (asked
        # by a session that never signs in) and the names of categories (config names them; a
        # thread listing gives only ids)
        self._visitor = make_session(user_agent, verify=verify, rate_per_minute=rate_per_minute)
        self._visitor.headers["Accept"] = "application/json"
        self._guest_categories: frozenset[int] | None = None
        self._category_names: dict[int, str] = {}
        # the posts (ids and visibility flags) of each thread this run's changes() filed, by key
        self._filed_posts: dict[str, list[dict]] = {}
        self._prefixes: dict[int, str] = {}      # thread id -> API prefix, from every listing read
        self._marks_now: dict[int, dict[str, str]] = {}   # thread id -> change markers read this run
        self._yielded: set[str] = set()          # record keys this run's changes() yielded

    def __repr__(self) -> str:  # never show the password
        return f"MisagoSource(name={self.name!r}, base_url={self.base_url!r}, username={self.username!r})"

    # ------------------------------------------------------------------ HTTP
    @property
    def request_count(self) -> int:
        return self._requests

    def _url(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/")) if not path.startswith("http") else path

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self._url(path)

        def once() -> requests.Response:
            self._requests += 1
            response = self.session.request(method, url, **kwargs)
            if self._server_time is None and response.headers.get("Date"):
                try:
                    self._server_time = email.utils.parsedate_to_datetime(response.headers["Date"])
                except (TypeError, ValueError):
                    pass
            if response.status_code == 429 or response.status_code >= 500:
                check(response)  # raises Retriable
            return response

        return retrying(once, attempts=self._attempts, sleep=self._sleep)

    def _get_json(self, path: str, params: dict | None = None, *, allow_404: bool = False) -> Any:
        body = self._get_raw(path, params, allow_404=allow_404)
        return None if body is None else json.loads(body)

    def _get_raw(self, path: str, params: dict | None = None, *, allow_404: bool = False) -> bytes | None:
        self._login()
        response = self._send("GET", path, params=params)
        if allow_404 and response.status_code == 404:
            return None
        check(response)
        return response.content

    def _login(self) -> None:
        if self._logged_in:
            return
        self.session.cookies.clear()
        self._send("GET", "/")
        token = self.session.cookies.get("csrftoken")
        if not token:
            raise Fatal(f"no csrftoken cookie from {safe_url(self.base_url)}/ (is this Misago?)")
        self.session.bind_credentials(self.base_url, {"X-CSRFToken": token})
        response = self._send("POST", "/api/auth/", json={"username": self.username, "password": self._password},
                              headers={"Referer": self.base_url + "/"})
        if response.status_code in (400, 401, 403):
            try:
                detail = response.json().get("detail", "")
            except ValueError:
                detail = ""
            raise Fatal(f"Misago login as {self.username!r} refused (HTTP {response.status_code}: {detail})"[:300])
        check(response)
        token = self.session.cookies.get("csrftoken")
        if token:  # it rotates on login
            self.session.bind_credentials(self.base_url, {"X-CSRFToken": token})
        self.session.headers["Referer"] = self.base_url + "/"
        self._logged_in = True

    def _whoami(self) -> dict:
        return self._get_json("/api/auth/") or {}

    def _assert_signed_in(self) -> dict:
        me = self._whoami()
        if not me.get("id"):
            self._logged_in = False
            me = self._whoami()
            if not me.get("id"):
                raise Fatal("the Misago session is not signed in; refusing to trust what is missing")
        return me

    def _run_start(self) -> datetime:
        self._server_time = None  # the next response's Date header is the run's clock
        self._guest_categories, self._category_names, self._filed_posts = None, {}, {}
        self._assert_signed_in()
        return self._server_time or datetime.now(timezone.utc)

    # --------------------------------------------------------------- probing
    def check(self) -> dict:
        me = self._assert_signed_in()
        acl = me.get("acl") or {}
        categories = acl.get("visible_categories") or []
        return {
            "system": SYSTEM,
            "base_url": self.base_url,
            "user": me.get("username"),
            "is_staff": bool(acl.get("is_staff")),
            "is_superuser": bool(acl.get("is_superuser")),
            "visible_categories": len(categories),
            "can_see_private_threads": bool(acl.get("can_moderate_private_threads")),
            "server_time": (self._server_time or datetime.now(timezone.utc)).isoformat(),
            "requests": self.request_count,
        }

    # --------------------------------------------------------------- listing
    def _category_ids(self) -> list[int]:
        acl = (self._whoami().get("acl") or {})
        return [int(c) for c in acl.get("visible_categories") or []]

    def _list_threads(self, stop_before: datetime | None = None) -> Iterator[tuple[str, dict]]:
        """(api prefix, thread summary) for every thread, newest activity first per category."""
        seen: set[int] = set()
        for category_id in self._category_ids():
            cursor: Any = None
            while True:
                params: dict = {"category": category_id}
                if cursor:
                    params["start"] = cursor
                page = self._get_json("/api/threads/", params, allow_404=True)
                if page is None:  # e.g. the private threads root: not a threads category
                    break
                stop = False
                for thread in page.get("results") or []:
                    if stop_before is not None and not thread.get("weight"):
                        last = parse_time(thread.get("last_post_on"))
                        if last is not None and last < stop_before:
                            stop = True
                            break
                    if thread["id"] in seen:
                        continue
                    seen.add(thread["id"])
                    self._prefixes[thread["id"]] = "threads"
                    yield "threads", thread
                cursor = page.get("next")
                if stop or not cursor:
                    break
        if self.include_private_threads:
            cursor = None
            while True:
                page = self._get_json("/api/private-threads/", {"start": cursor} if cursor else None)
                stop = False
                for thread in page.get("results") or []:
                    last = parse_time(thread.get("last_post_on"))
                    if stop_before is not None and last is not None and last < stop_before:
                        stop = True
                        break
                    if thread["id"] not in seen:
                        seen.add(thread["id"])
                        self._prefixes[thread["id"]] = "private-threads"
                        yield "private-threads", thread
                cursor = page.get("next")
                if stop or not cursor:
                    break

    def _posts(self, prefix: str, thread_id: int) -> list[dict]:
        read = self._read_thread(prefix, thread_id)
        if read is None:
            raise _Gone()
        return read[1]

    def _read_thread(self, prefix: str, thread_id: int) -> tuple[dict, list[dict]] | None:
        """The thread (the first page of its post listing carries it whole) and all its posts, one
        request per page of posts; None when the thread is gone."""
        thread: dict = {}
        posts: list[dict] = []
        page_no, pages = 1, 1
        while page_no <= pages:
            data = self._get_json(f"/api/{prefix}/{thread_id}/posts/", {"page": page_no}, allow_404=True)
            if data is None:
                return None
            thread = thread or {name: value for name, value in data.items() if name != "post_set"}
            post_set = data.get("post_set") or {}
            posts.extend(post_set.get("results") or [])
            pages = int(post_set.get("pages") or 1)
            page_no += 1
        return thread, posts

    # ------------------------------------------------------------ visibility
    def _guest_readable(self) -> frozenset[int]:
        """The categories whose threads a signed-out visitor may read (Misago: *see* and *browse*),
        asked once per run by a session that never signs in."""
        if self._guest_categories is None:
            def once() -> requests.Response:
                self._requests += 1
                return check(self._visitor.get(self._url("/api/auth/")))

            acl = retrying(once, attempts=self._attempts, sleep=self._sleep).json().get("acl") or {}
            self._guest_categories = (frozenset(acl.get("visible_categories") or ())
                                      & frozenset(acl.get("browseable_categories") or ()))
        return self._guest_categories

    def _category_visibility(self, category: dict) -> Visibility:
        name = category.get("name", "")
        readers = self.category_visibility.get(name, DEFAULT_READERS)
        if name not in self.public_categories:
            return Visibility.restricted(f"category {name!r} is not configured as public", readers)
        if category.get("id") not in self._guest_readable():
            return Visibility.restricted(f"category {name!r} is configured as public, but Misago no "
                                         "longer lets signed-out visitors read it", readers)
        return Visibility.public()

    def _thread_visibility(self, prefix: str, thread: dict) -> Visibility:
        if prefix == "private-threads":
            readers = [f"user:{p['username']}" for p in thread.get("participants") or [] if p.get("username")]
            return Visibility.restricted("private thread: participants only", readers)
        if thread.get("is_hidden") or thread.get("is_unapproved"):
            readers = list(self.moderator_principals)
            if thread.get("is_unapproved") and thread.get("starter_name"):
                readers.append(f"user:{thread['starter_name']}")
            state = "hidden" if thread.get("is_hidden") else "unapproved"
            return Visibility.restricted(f"{state} thread", readers)
        return self._category_visibility(thread.get("category") or {})

    def _post_visibility(self, thread_visibility: Visibility, post: dict) -> Visibility:
        if post.get("is_hidden") or post.get("is_unapproved"):
            readers = list(self.moderator_principals)
            if post.get("is_unapproved") and post.get("poster_name"):
                readers.append(f"user:{post['poster_name']}")
            state = "hidden" if post.get("is_hidden") else "unapproved"
            return Visibility.restricted(f"{state} post", readers)
        return thread_visibility

    # ----------------------------------------------------------------- items
    def _thread_record(self, prefix: str, thread: dict) -> dict:
        fields = _pick(thread, THREAD_FIELDS)
        fields["url"] = self._url((thread.get("url") or {}).get("index", ""))
        if prefix == "private-threads":
            fields["participants"] = sorted(p.get("username", "") for p in thread.get("participants") or [])
        else:
            category = thread.get("category") or {}
            fields["category"] = {"id": category.get("id"), "name": category.get("name")}
        return fields

    def _thread_revision(self, prefix: str, thread: dict) -> str:
        """The thread record's revision id: a digest of the record (the change sweep's marker)."""
        return f"t{_digest(self._thread_record(prefix, thread))}"

    def _thread_item(self, prefix: str, thread: dict, visibility: Visibility) -> Item:
        fields = self._thread_record(prefix, thread)
        record = _record(fields)
        modified = parse_time(thread.get("last_post_on"))
        category = thread.get("category") or {}
        return Item(
            source=self.name, system=SYSTEM, native_id=f"thread:{thread['id']}", kind="thread",
            title=thread.get("title") or "", url=self._url((thread.get("url") or {}).get("index", "")),
            visibility=visibility, author=thread.get("starter_name"),
            created=parse_time(thread.get("started_on")), modified=modified,
            space="Private threads" if prefix == "private-threads" else category.get("name", ""),
            revisions=[Revision(id=self._thread_revision(prefix, thread), created=modified or datetime.now(timezone.utc),
                                author=thread.get("last_poster_name"), comment="thread record",
                                title=thread.get("title"),
                                content=Content.from_bytes(record, "application/json",
                                                           filename=f"thread-{thread['id']}.json"),
                                record=record)],
            extra={"thread_id": str(thread["id"]), "category_id": str(category.get("id", "")),
                   "replies": str(thread.get("replies", "")), "hidden": _flag(thread.get("is_hidden")),
                   "closed": _flag(thread.get("is_closed")), "unapproved": _flag(thread.get("is_unapproved")),
                   "weight": str(thread.get("weight", 0)), "private": _flag(prefix == "private-threads"),
                   "participants": ",".join(fields.get("participants", ()))},
        )

    def _original(self, prefix: str, thread_id: int, post: dict) -> tuple[bytes, str] | None:
        """The post's original markup, from the editor endpoints, or None if both refuse."""
        editor = (post.get("api") or {}).get("editor") or f"/api/{prefix}/{thread_id}/posts/{post['id']}/post_editor/"
        for path, params in ((editor, None),
                             (f"/api/{prefix}/{thread_id}/posts/reply_editor/", {"reply": post["id"]})):
            self._login()
            response = self._send("GET", path, params=params)
            if response.status_code in (403, 404, 405):
                continue
            check(response)
            text = response.json().get("post")
            if isinstance(text, str):
                return text.encode("utf-8"), "text/markdown"
        return None

    def _edits(self, prefix: str, thread_id: int, post_id: int) -> list[dict]:
        """Every edit of a post, oldest first."""
        edits: list[dict] = []
        path = f"/api/{prefix}/{thread_id}/posts/{post_id}/edits/"
        raw = self._get_edit(path, None)
        seen: set[int] = set()
        while raw is not None:
            edit = json.loads(raw)
            if edit.get("id") in seen:
                break
            seen.add(edit.get("id"))
            edits.append(edit)
            raw = self._get_edit(path, edit["previous"]) if edit.get("previous") else None
        edits.reverse()
        return edits

    def _get_edit(self, path: str, edit_id: int | None) -> bytes | None:
        self._login()
        response = self._send("GET", path, params={"edit": edit_id} if edit_id else None)
        if response.status_code == 403:  # "This post has no changes history."
            return None
        if response.status_code == 404:
            raise _Gone()
        check(response)
        return response.content

    def _post_record(self, post: dict) -> bytes:
        fields = _pick(post, POST_FIELDS)
        fields["url"] = self._url((post.get("url") or {}).get("index", ""))
        fields["attachments"] = [_pick(att, ATTACHMENT_FIELDS) for att in post.get("attachments") or []]
        return _record(fields)

    def _post_items(self, prefix: str, thread: dict, post: dict, position: int,
                    visibility: Visibility) -> tuple[Item, list[Item]]:
        thread_id = thread["id"]
        post_record = self._post_record(post)
        posted = parse_time(post.get("posted_on")) or datetime.now(timezone.utc)
        extra = {"position": str(position), "reply_to": "", "thread_id": str(thread_id),
                 "hidden": _flag(post.get("is_hidden")), "unapproved": _flag(post.get("is_unapproved")),
                 "protected": _flag(post.get("is_protected")), "edits": str(post.get("edits") or 0),
                 "event": _flag(post.get("is_event")), "event_type": post.get("event_type") or "",
                 "hidden_by": post.get("hidden_by_name") or "", "last_editor": post.get("last_editor_name") or ""}
        revisions: list[Revision]
        if post.get("is_event"):
            event = json.dumps({"event_type": post.get("event_type"), "event_context": post.get("event_context")},
                               sort_keys=True).encode("utf-8")
            revisions = [Revision(id="0", created=posted, author=post.get("poster_name"),
                                  content=Content.from_bytes(event, "application/json"), comment="thread event",
                                  record=post_record)]
            extra["markup"] = "event"
        else:
            original = self._original(prefix, thread_id, post)
            if original is None:
                extra["markup"] = "rendered-html"
                current, media_type = (post.get("content") or "").encode("utf-8"), "text/html"
            else:
                extra["markup"] = "original"
                current, media_type = original
            edits = self._edits(prefix, thread_id, post["id"]) if (post.get("edits") or 0) > 0 else []
            if edits and media_type == "text/markdown":
                first_old, _ = diff_sides(edits[0].get("diff") or [])
                revisions = [Revision(id="0", created=posted, author=post.get("poster_name"),
                                      content=Content.from_bytes(first_old.encode("utf-8"), media_type),
                                      comment="original", record=post_record)]
                for index, edit in enumerate(edits):
                    _, new = diff_sides(edit.get("diff") or [])
                    data = current if index == len(edits) - 1 else new.encode("utf-8")
                    revisions.append(Revision(
                        id=f"edit:{edit['id']}", created=parse_time(edit.get("edited_on")) or posted,
                        author=edit.get("editor_name"), content=Content.from_bytes(data, media_type),
                        comment=f"edit {index + 1} of {len(edits)}", record=_record(_pick(edit, EDIT_FIELDS))))
            else:
                # no edits, or only the rendered HTML (older versions cannot be rebuilt as HTML)
                revisions = [Revision(id="0" if not edits else f"edit:{edits[-1]['id']}",
                                      created=parse_time(post.get("updated_on")) if edits else posted,
                                      author=post.get("last_editor_name") if edits else post.get("poster_name"),
                                      content=Content.from_bytes(current, media_type), record=post_record)]
        post_native = f"post:{post['id']}"
        item = Item(
            source=self.name, system=SYSTEM, native_id=post_native, kind="post",
            title=f"{thread.get('title', '')} #{position}",
            url=self._url((post.get("url") or {}).get("index", "")), visibility=visibility,
            revisions=revisions, author=post.get("poster_name"), created=posted,
            modified=parse_time(post.get("updated_on")) or posted,
            space="Private threads" if prefix == "private-threads" else (thread.get("category") or {}).get("name", ""),
            parent_id=f"thread:{thread_id}", extra=extra,
        )
        attachments = [self._attachment_item(thread, post, item, att) for att in post.get("attachments") or []]
        return item, attachments

    def _attachment_item(self, thread: dict, post: dict, post_item: Item, att: dict) -> Item:
        link = (att.get("url") or {}).get("index") or ""
        filename = att.get("filename") or f"attachment-{att['id']}"
        media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        uploaded = parse_time(att.get("uploaded_on")) or post_item.created or datetime.now(timezone.utc)
        size = att.get("size")
        content = Content(media_type=media_type, chunks=lambda: self._stream_attachment(att["id"], link),
                          size=int(size) if size is not None else None, filename=filename)
        record = _record(_pick(att, ATTACHMENT_FIELDS))
        return Item(
            source=self.name, system=SYSTEM, native_id=f"attachment:{att['id']}", kind="attachment",
            title=filename, url=post_item.url, visibility=post_item.visibility,
            revisions=[Revision(id=str(att["id"]), created=uploaded, author=att.get("uploader_name"),
                                content=content, record=record)],
            author=att.get("uploader_name"), created=uploaded, modified=uploaded, space=post_item.space,
            parent_id=post_item.native_id,
            extra={"filetype": str(att.get("filetype") or ""), "is_image": _flag(att.get("is_image")),
                   "post_id": str(post["id"]), "thread_id": str(thread["id"]),
                   "served_without_acl": "true"},
        )

    def _stream_attachment(self, attachment_id: int, link: str) -> Iterator[bytes]:
        """Follow /a/<secret>/<id>/ ourselves: only a redirect into the media prefix is the file."""
        if not link:
            raise Skippable(f"attachment {attachment_id}: Misago gave no download link")
        self._login()
        response = self._send("GET", link, allow_redirects=False)
        location = response.headers.get("Location", "")
        target = urlsplit(urljoin(self._url(link), location))
        if response.status_code not in (301, 302, 303, 307, 308) or not target.path.startswith(self.media_prefix):
            response.close()
            raise Skippable(f"attachment {attachment_id}: Misago answered with its placeholder "
                            f"(HTTP {response.status_code} to {target.path or '-'}), not the file")
        self._requests += 1
        with self.session.get(target.geturl(), stream=True) as download:
            check(download)
            for chunk in download.iter_content(CHUNK_SIZE):
                if chunk:
                    yield chunk

    # ------------------------------------------------------------------ runs
    def _thread_objects(self, prefix: str, summary: dict, *, changed_since: datetime | None,
                        window: tuple[datetime | None, datetime | None] | None = None
                        ) -> Iterator[Item | Tombstone]:
        thread_id = summary["id"]
        thread = self._get_json(f"/api/{prefix}/{thread_id}/", allow_404=True)
        if thread is None:
            self._assert_signed_in()  # a lost session makes hidden categories 404 too
            yield self._tombstone("thread", f"thread:{thread_id}", "listed, then 404 on fetch",
                                  summary.get("title", ""))
            return
        self._remember_category(thread)
        try:
            posts = self._posts(prefix, thread_id)
        except _Gone:
            self._assert_signed_in()
            yield self._tombstone("thread", f"thread:{thread_id}", "404 while reading its posts",
                                  thread.get("title", ""))
            return
        self._marks_now[thread_id] = self._thread_marks(prefix, thread, posts)

        def in_range(*stamps: str | None) -> bool:
            for stamp in stamps:
                when = parse_time(stamp)
                if when is None:
                    continue
                if window is not None:
                    since, until = window
                    if (since is None or when >= since) and (until is None or when < until):
                        return True
                elif changed_since is None or when >= changed_since:
                    return True
            return False

        selected = [(n, p) for n, p in enumerate(posts, start=1)
                    if in_range(p.get("posted_on"), p.get("updated_on"))
                    or (p.get("is_hidden") and in_range(p.get("hidden_on")))]
        if not selected and not in_range(thread.get("started_on"), thread.get("last_post_on")):
            return
        visibility = self._thread_visibility(prefix, thread)
        self._filed_posts[record_key(self.name, "thread", f"thread:{thread_id}")] = [_post_facts(p) for p in posts]
        yield self._thread_item(prefix, thread, visibility)
        for position, post in selected:
            yield from self._post_objects(prefix, thread, post, position, visibility)

    def _post_objects(self, prefix: str, thread: dict, post: dict, position: int,
                      thread_visibility: Visibility) -> list[Item]:
        """A post and its attachments (none when the post vanished while we read it)."""
        try:
            item, attachments = self._post_items(prefix, thread, post, position,
                                                 self._post_visibility(thread_visibility, post))
        except _Gone:
            return []
        return [item, *attachments]

    def _tombstone(self, kind: str, native_id: str, reason: str, title: str = "") -> Tombstone:
        return Tombstone(source=self.name, system=SYSTEM, native_id=native_id, kind=kind,
                         detected_at=self._server_time or datetime.now(timezone.utc),
                         detected_by="misago:" + ("reconcile" if "reconcile" in reason else "crawl"),
                         title=title, reason=reason, readers=self.moderator_principals)

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        run_start = self._run_start()
        checkpoint = parse_time(state.get("checkpoint")) if state.get("checkpoint") else None
        stop_before = None if checkpoint is None else min(checkpoint, run_start - self.rescan_window)
        self._marks_now, self._yielded = {}, set()
        for prefix, summary in self._list_threads(stop_before=stop_before):
            for obj in self._thread_objects(prefix, summary, changed_since=checkpoint):
                self._yielded.add(obj.key)
                yield obj
        state["checkpoint"] = (run_start - self.overlap).astimezone(timezone.utc).isoformat()

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Threads and posts created or changed in [since, until): a full listing (no date filter exists)."""
        self._run_start()
        for prefix, summary in self._list_threads():
            yield from self._thread_objects(prefix, summary, changed_since=None, window=(since, until))

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Tombstones for known thread/post/attachment ids that the source no longer has."""
        self._run_start()
        live_threads: dict[str, str] = {}
        live_posts: set[str] = set()
        live_attachments: set[str] = set()
        for prefix, summary in self._list_threads():
            live_threads[f"thread:{summary['id']}"] = prefix
            try:
                for post in self._posts(prefix, summary["id"]):
                    live_posts.add(f"post:{post['id']}")
                    for att in post.get("attachments") or []:
                        live_attachments.add(f"attachment:{att['id']}")
            except _Gone:
                live_threads.pop(f"thread:{summary['id']}")
        self._assert_signed_in()  # an anonymous session would see less and tombstone the rest
        gone: list[tuple[str, str, str]] = []
        for native_id in sorted(known_ids):
            kind = native_id.split(":", 1)[0]
            if kind == "thread" and native_id not in live_threads:
                # confirm: the listing may have moved on, the thread may be in a category we skip
                thread_id = native_id.split(":", 1)[1]
                exists = any(self._get_raw(f"/api/{p}/{thread_id}/", allow_404=True) is not None
                             for p in ("threads", "private-threads"))
                if not exists:
                    gone.append(("thread", native_id, "reconcile: thread 404 (hard-deleted)"))
            elif kind == "post" and native_id not in live_posts:
                gone.append(("post", native_id, "reconcile: post in no live thread (hard-deleted)"))
            elif kind == "attachment" and native_id not in live_attachments:
                gone.append(("attachment", native_id, "reconcile: attachment on no live post "
                                                      "(its post was deleted or it was removed in an edit)"))
        considered = [i for i in known_ids if i.split(":", 1)[0] in ("thread", "post", "attachment")]
        if considered and len(gone) > self.reconcile_max_ratio * len(considered) and len(gone) > 3:
            raise Fatal(f"reconcile would tombstone {len(gone)} of {len(considered)} known ids "
                        f"(over {self.reconcile_max_ratio:.0%}); check the account's access before trusting it")
        for kind, native_id, reason in gone:
            yield self._tombstone(kind, native_id, reason)

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
                except _Gone:
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

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """What ``backfill(since, until)`` would read (``socialarchive plan``): the thread listing
        only (one request per page of threads, newest activity first, down to ``since``).

        Threads active in the range are counted exactly; posts are the threads' ``replies + 1``
        (an upper bound: older posts of those threads are not filed); edits and attachments are
        not in the listing, so versions count one per post.
        """
        self._run_start()
        before = self.request_count
        threads = posts = 0
        for _, summary in self._list_threads(stop_before=since):
            started, last = parse_time(summary.get("started_on")), parse_time(summary.get("last_post_on"))
            if until is not None and started is not None and started >= until:
                continue
            if since is not None and last is not None and last < since:
                continue
            threads += 1
            posts += int(summary.get("replies") or 0) + 1
        return Estimate(system=SYSTEM, counts={"threads": threads, "posts": posts}, objects=threads + posts,
                        items=threads + posts, files=0, versions=threads + posts,
                        bytes=posts * 1500 + threads * 4000,
                        requests=(self.request_count - before) + threads * 2 + posts * 2,
                        notes=["posts are counted as replies + 1 of each active thread (an upper bound)",
                               "edits and attachments are not in the listing: versions and bytes are a floor "
                               "(bytes assume 1.5 KB per post, 4 KB per thread record)"])


def _post_facts(post: dict) -> dict:
    """What decides a post's and its attachments' visibility, besides its thread."""
    return {**_pick(post, ("id", "is_hidden", "is_unapproved", "poster_name")),
            "attachments": [{"id": att["id"]} for att in post.get("attachments") or []]}


def _readers(visibility: Visibility) -> tuple[bool, frozenset[str]]:
    return visibility.is_public, frozenset(visibility.readers)


class _Gone(Exception):
    """A thread vanished while we read it."""
