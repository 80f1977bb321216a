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
  (``recheck``, ``sweep.py``): one post listing per archived thread, least recently checked
  first, within the sweep's budget.
  Revision ids are stable (``"0"`` for the original, ``"edit:{edit id}"`` after), so a repeated
  window yields only revisions the archive already holds.
- **Deletions**: posts and threads are hard-deleted (404). ``reconcile(known_ids)`` lists every
  live thread and post and returns Tombstones for known ids that are gone (after confirming the
  session is still signed in, since an anonymous session simply sees less). A tombstone's
  ``readers`` are ``moderator_principals``, who see deleted content in Misago: its soft deletion
  is hiding, which leaves a post to the moderators (a hard-deleted one no one sees any more).

State keys (``changes``): ``checkpoint`` (``kit.window``: server clock at run start minus overlap).

The class is split by concept: ``items`` (who may read what, the builders of each item),
``visibility`` (the visibility sweep), ``sweep`` (the change sweep); ``shape`` holds the record
allow-lists and the edit-diff reader.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import requests

from ...errors import ConfigError, Fatal, RecordUnreadable
from ...http import Session, check, make_session, safe_url
from ...model import Item, Tombstone, Visibility, record_key
from ..base import Estimate, Source
from .sweep import ThreadSweep
from ..kit.deletions import Tombstones, guard
from ..kit.jsonapi import JsonApi
from ..kit.forum import considered
from ..kit.window import in_window, next_checkpoint, parse_time
from .items import ThreadItems
from .visibility import VisibilitySweep
from .shape import SYSTEM, DEFAULT_READERS, _post_facts

log = logging.getLogger(__name__)

class MisagoSource(ThreadItems, VisibilitySweep, ThreadSweep, Source):
    """Archive a Misago forum (see the module docstring for the shape and the pitfalls)."""

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
        self.api = JsonApi(self.base_url, self.session, attempts=attempts, sleep=sleep)
        self._logged_in = False
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
        return self.api.request_count + self._visitor.request_count

    def _get_json(self, path: str, params: dict | None = None, *, allow_404: bool = False) -> Any:
        body = self._get_raw(path, params, allow_404=allow_404)
        return None if body is None else json.loads(body)

    def _get_raw(self, path: str, params: dict | None = None, *, allow_404: bool = False) -> bytes | None:
        self._login()
        response = self.api.send("GET", path, params=params)
        if allow_404 and response.status_code == 404:
            return None
        check(response)
        return response.content

    def _login(self) -> None:
        if self._logged_in:
            return
        self.session.cookies.clear()
        self.api.send("GET", "/")
        token = self.session.cookies.get("csrftoken")
        if not token:
            raise Fatal(f"no csrftoken cookie from {safe_url(self.base_url)}/ (is this Misago?)")
        self.session.bind_credentials(self.base_url, {"X-CSRFToken": token})
        response = self.api.send("POST", "/api/auth/", json={"username": self.username, "password": self._password},
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
        self.api.start_run()  # the next response's Date header is the run's clock
        self._guest_categories, self._category_names, self._filed_posts = None, {}, {}
        self._assert_signed_in()
        return self.api.server_time or datetime.now(timezone.utc)

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
            "server_time": (self.api.server_time or datetime.now(timezone.utc)).isoformat(),
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
            raise RecordUnreadable(f"misago thread {thread_id}: 404 while reading its posts")
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
        except RecordUnreadable:
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
                if in_window(when, *(window or (changed_since, None))):
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
        except RecordUnreadable:
            return []
        return [item, *attachments]

    def _tombstone(self, kind: str, native_id: str, reason: str, title: str = "") -> Tombstone:
        return Tombstones(self.name, SYSTEM, self.moderator_principals)(
            kind, native_id, detected_at=self.api.server_time,
            detected_by="misago:" + ("reconcile" if "reconcile" in reason else "crawl"), title=title, reason=reason)

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        run_start = self._run_start()
        checkpoint = parse_time(state.get("checkpoint")) if state.get("checkpoint") else None
        stop_before = None if checkpoint is None else min(checkpoint, run_start - self.rescan_window)
        self._marks_now, self._yielded = {}, set()
        for prefix, summary in self._list_threads(stop_before=stop_before):
            for obj in self._thread_objects(prefix, summary, changed_since=checkpoint):
                self._yielded.add(obj.key)
                yield obj
        state["checkpoint"] = next_checkpoint(run_start, self.overlap)

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
            except RecordUnreadable:
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
        guard(gone, considered(known_ids), self.reconcile_max_ratio, "check the account's access before trusting it")
        for kind, native_id, reason in gone:
            yield self._tombstone(kind, native_id, reason)

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


