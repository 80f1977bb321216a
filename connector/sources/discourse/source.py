"""Discourse forum source: topics, posts with every revision, uploads, visibility, deletions.

Shared forum shape (same as ``misago.py``)::

    thread      Item(kind="thread", native_id="thread:{topic id}", title, url, author=creator,
                     created, modified=last post, space=category name, tags, visibility,
                     revisions=[Revision(content=<the topic's record>, "application/json")])
    post        Item(kind="post", native_id="post:{id}", parent_id="thread:{topic id}",
                     title="{topic title} #{post_number}",
                     extra={"position": "<post_number>", "reply_to": "<post id or ''>",
                            "thread_id": "<topic id>", "hidden": "true"/"false", "version": ...},
                     revisions=every version, oldest first, raw Markdown ("text/markdown"))
    attachment  Item(kind="attachment", native_id="attachment:{sha1}", parent_id="post:{id}",
                     content streamed, source_digest ("sha1", …) from the upload's file name)
    deletion    Tombstone(kind="thread"|"post", native_id as above)

Order: a topic, then its posts by post_number, each post followed by its uploads.

Records are allow-lists, never a raw answer (``discourse_records`` lists the fields): a record
holds only facts of its own item that every reader of the item may see. The thread's record has
no post text, and its post ids, counts, last post time and last poster come from the posts every
reader of the thread sees (no whispers, hidden, deleted or withdrawn posts).

Discourse specifics (from the API docs and source; no Discourse server was run here):

- **Auth**: headers ``Api-Key`` + ``Api-Username`` (an admin key sees every category), and
  ``Accept: application/json``. The key is never put in a URL, a log line or an exception, and
  it goes to the API's own origin only, on every hop (``http.Session.bind_credentials``): a
  secure upload redirected to object storage, or a CDN URL, gets no key.
- **Rate limits**: a client-side throttle (``rate_per_minute``, default 60, the admin API's
  shared budget) paces every request to each host, uploads included, from every thread (workers
  download uploads while the API is read); the clock and sleep are injectable. A 429
  is waited out: ``Retry-After`` (middleware limits) or the JSON ``extras.wait_seconds``
  (controller limits) becomes ``Retriable(retry_after=…)``, which ``retrying`` honours.
- **Listing**: ``/categories.json?include_subcategories=true`` then ``/c/{id}/show.json`` per
  category (``group_permissions``); topics per category ``/c/{slug}/{id}.json?page=N`` until a
  page has no topics (a parent lists its subcategories' topics too: deduped by id; the topic's own
  ``category_id`` decides space and visibility). Paging is by offset over bump order, so a topic
  bumped mid-crawl can be missed by this run; it is then newer than the checkpoint and the next
  incremental run takes it.
- **Posts**: ``/t/{id}.json`` carries 20 posts and ``post_stream.stream`` (every id); the rest come
  from ``/t/{id}/posts.json?post_ids[]=…`` in batches of ``batch_size``. ``raw`` is only in
  ``/posts/{id}.json`` (and in ``/posts.json``, which we reuse for new posts).
- **Revisions**: ``/posts/{id}/revisions/{n}.json`` (n = 2..version) gives who, when and why, but
  only HTML diffs of the text. The raw of an older version k comes from ``/posts/{id}.json?version=k``
  (Discourse applies revision k+1's "before" values), fetched only when revision k+1 changed the
  body (its ``body_changes.side_by_side_markdown`` has insertions or deletions); otherwise version
  k's raw equals version k+1's. Revision ids are ``v{k}-{sha1(raw)[:10]}``: edits inside
  Discourse's grace period change the text without a new version and so still get a new id.
- **Uploads**: ``upload://<base62 sha1>.ext`` references in any version's raw are resolved by
  ``POST /uploads/lookup-urls.json``; the SHA-1 is the 40-hex file name of the resolved URL (or
  the decoded short URL) and is checked while the bytes stream. Secure uploads carry no checkable
  digest.
- **Visibility**: a category is public only if it is not ``read_restricted`` and the group
  ``everyone`` has a permission; otherwise readers are ``group:<name>`` for permission types 1/2/3
  (``group_principals`` renames groups). Private messages are restricted to their allowed users and
  groups. Whispers and soft-deleted posts are restricted to ``staff_principals``; hidden (flagged)
  posts and posts withdrawn by their author (``user_deleted``, whose older text others no longer
  see) to ``staff_principals`` plus the author. Unlisted topics (``visible: false``) stay readable
  by link in Discourse and keep their category's readers. Tombstones name ``staff_principals``
  as the readers who still see deleted content.
- **Visibility sweep** (``sweep``, after ``changes`` on every sync): who may read each archived
  record *now*, without reading content. Threads: the category listings (the crawl's
  ``/categories.json``, ``/c/{id}/show.json`` and ``/c/{slug}/{id}.json?page=N``) give every
  topic's category now; its category's readers are the thread's, exact both ways (a topic moved
  into a read-restricted category, a category whose groups narrowed). Posts and uploads: the
  state's ``index`` (topic -> post ids -> upload SHA-1s, kept by ``changes`` from every topic it
  reads) names their topic; their own restrictions are in no listing, so they only *narrow*, to
  the readers they had that their topic admits now; a post read this run (its topic had news) is
  exact both ways. Private messages, deleted topics and topics in categories the key no longer
  sees are in no listing: nothing is yielded for them (``reconcile`` finds deletions). Cost per
  run: nothing when ``changes`` made a full crawl in the same run; otherwise the listing,
  ``1 + C + sum over categories of (pages of 30 topics + 1)`` requests (C: categories and
  subcategories; a parent's pages also list its subcategories' topics), of which the ``1 + C``
  are shared with ``changes`` when it read any topic. A post hidden or soft-deleted later, with
  no new post or edit in its topic, is seen by ``reconcile`` (deleted) or when its topic is
  read again.
- **Incremental** (``changes`` with a state): new posts from ``/posts.json?before=`` (ids descend)
  down to ``last_post_id``; topics bumped since the checkpoint and all topics active within
  ``rescan_window`` from ``/latest.json``; in those topics, posts are re-filed when new or when
  ``updated_at`` is at or after the checkpoint. Edits to posts in topics quiet for longer than the
  rescan window are found by the change sweep (``recheck``, ``connector/sweep.py``): a budgeted
  slice of archived topics is read again each sync, least recently checked first, and posts whose
  ``version``/``updated_at`` changed are filed (about 1.25 requests a topic).
- **Deletions**: soft-deleted posts and topics (``deleted_at``; staff still read them) are filed,
  restricted, and followed by a Tombstone; ``reconcile(known_ids)`` finds hard deletions (404).

State keys (``changes``): ``checkpoint`` (ISO-8601 UTC, server clock at run start minus overlap),
``last_post_id`` (highest post id seen when the run started), ``index`` (topic id -> post id ->
upload SHA-1s, for the sweep; a state without it, from before the sweep, makes the next run a
full crawl once).
"""
from __future__ import annotations

import email.utils
import hashlib
import logging
import mimetypes
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from ..errors import ConfigError, Fatal, Retriable, Skippable
from ..http import MAX_RETRY_AFTER, Session, check, make_session, parse_retry_after, retrying, safe_url
from ..model import CHUNK_SIZE, Access, Content, Item, Recheck, Revision, Skipped, Tombstone, Visibility, record_key
from .base import Estimate, Source
from .discourse_records import encode, post_record, revision_record, thread_record, upload_record

log = logging.getLogger(__name__)

SYSTEM = "discourse"
READ_PERMISSIONS = (1, 2, 3)  # full, create_post, readonly
WHISPER = 4
UPLOAD_RE = re.compile(r"upload://([0-9A-Za-z]+)(\.[0-9A-Za-z]+)?")
UPLOAD_LINK_RE = re.compile(r"\[([^\]|]*)(?:\|[^\]]*)?\]\((upload://[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)?)\)")
SHA1_NAME_RE = re.compile(r"([0-9a-f]{40})(?:\.[0-9A-Za-z]+)?$")
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def sha1_from_short_url(short: str) -> str | None:
    """``upload://<base62>`` → the upload's SHA-1 (Discourse encodes the 160-bit digest in base 62).

    >>> sha1_from_short_url("upload://" + "0" * 26 + "1.png")
    '0000000000000000000000000000000000000001'
    """
    match = UPLOAD_RE.search(short)
    if not match:
        return None
    number = 0
    for char in match.group(1):
        number = number * 62 + BASE62.index(char)
    digest = f"{number:040x}"
    return digest if len(digest) == 40 else None


def body_changed(revision: dict) -> bool:
    """Did this revision change the raw text? (its Markdown diff shows insertions or deletions)"""
    changes = revision.get("body_changes")
    if not isinstance(changes, dict):
        return True  # unknown: fetch rather than guess
    markdown = changes.get("side_by_side_markdown") or ""
    return any(mark in markdown for mark in ("<ins", "<del", "diff-ins", "diff-del"))


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _short(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:10]


class DiscourseSource(Source):
    """Archive a Discourse forum through its JSON API (see the module docstring)."""

    system = SYSTEM

    def __init__(self, name: str, base_url: str, api_key: str, api_username: str, *,
                 group_principals: dict[str, str] | None = None,
                 staff_principals: tuple[str, ...] = ("group:staff",),
                 include_private_messages: bool = False,
                 rate_per_minute: float = 60.0,
                 overlap: timedelta = timedelta(minutes=10),
                 rescan_window: timedelta = timedelta(days=7),
                 batch_size: int = 20,
                 reconcile_max_ratio: float = 0.5,
                 user_agent: str = "socialarchive/0.1 (discourse source)",
                 verify: bool | str = True,
                 session: Session | None = None,
                 attempts: int = 6,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"discourse source {name!r}: base_url must be http(s)")
        if not api_key or not api_username:
            raise ConfigError(f"discourse source {name!r}: api_key and api_username are required")
        if rate_per_minute < 0:
            raise ConfigError(f"discourse source {name!r}: rate_per_minute must be >= 0 (0 = no throttle)")
        self.rate_per_minute = rate_per_minute
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.api_username = api_username
        self.group_principals = dict(group_principals or {})
        self.staff_principals = tuple(staff_principals)
        self.include_private_messages = include_private_messages
        self.overlap = overlap
        self.rescan_window = rescan_window
        self.batch_size = max(1, batch_size)
        self.reconcile_max_ratio = reconcile_max_ratio
        self.session = session if session is not None else make_session(
            user_agent, verify=verify, rate_per_minute=rate_per_minute, clock=clock, sleep=sleep)
        self.session.headers["Accept"] = "application/json"
        self.session.bind_credentials(self.base_url, {"Api-Key": api_key, "Api-Username": api_username})
        self._sleep = sleep
        self._attempts = attempts
        self._requests = 0
        self._server_time: datetime | None = None
        self._raw_cache: dict[int, dict] = {}
        self._categories: dict[int, dict] | None = None
        self._latest_first_page: list[dict] = []
        self.skipped: list[Skipped] = []   # topics the last run could not read
        self._index: dict[int, dict[int, list[str]]] = {}   # topic -> post -> upload sha1s
        self._read_now: dict[str, Visibility] = {}           # record key -> visibility read this run
        self._marks_now: dict[int, dict[str, str]] = {}     # topic -> change markers read this run
        self._yielded: set[str] = set()                      # record keys yielded this run
        self._listed: dict[int, dict] | None = None          # topic -> its category listing entry

    def __repr__(self) -> str:  # never show the key
        return f"DiscourseSource(name={self.name!r}, base_url={self.base_url!r}, api_username={self.api_username!r})"

    # ------------------------------------------------------------------ HTTP
    @property
    def request_count(self) -> int:
        return self._requests

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")

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
            if response.status_code == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait is None:
                    try:
                        wait = float(response.json()["extras"]["wait_seconds"])
                        wait = max(0.0, min(wait, MAX_RETRY_AFTER))
                    except (ValueError, KeyError, TypeError):
                        wait = None
                code = response.headers.get("Discourse-Rate-Limit-Error-Code", "")
                response.close()
                raise Retriable(f"HTTP 429 from {method} {safe_url(url)}" + (f" ({code})" if code else ""),
                                retry_after=wait)
            if response.status_code >= 500:
                response.close()
                check(response)
            return response

        return retrying(once, attempts=self._attempts, sleep=self._sleep)

    def _get(self, path: str, params: Any = None, *, allow_404: bool = False) -> dict | list | None:
        response = self._send("GET", path, params=params)
        if allow_404 and response.status_code == 404:
            return None
        check(response)
        try:
            return response.json()
        except ValueError:
            raise Skippable(f"non-JSON answer from GET {safe_url(response.url)}") from None

    def _run_start(self) -> datetime:
        self.skipped = []
        self._server_time = None
        self._raw_cache.clear()
        self._categories = None
        self._read_now.clear()
        self._marks_now.clear()
        self._yielded.clear()
        self._listed = None
        latest = self._get("/posts.json") or {}
        self._latest_first_page = latest.get("latest_posts") or []
        return self._server_time or datetime.now(timezone.utc)

    # --------------------------------------------------------------- probing
    def check(self) -> dict:
        about = self._get("/about.json", allow_404=True) or {}
        site = self._get("/site.json") or {}
        info = about.get("about") or {}
        return {
            "system": SYSTEM,
            "base_url": self.base_url,
            "api_username": self.api_username,
            "version": info.get("version", ""),
            "title": info.get("title", ""),
            "categories": len(site.get("categories") or []),
            "server_time": (self._server_time or datetime.now(timezone.utc)).isoformat(),
            "requests": self.request_count,
        }

    # ------------------------------------------------------------ categories
    def _principal(self, group: str) -> str:
        return self.group_principals.get(group, f"group:{group}")

    def _load_categories(self) -> dict[int, dict]:
        if self._categories is not None:
            return self._categories
        data = self._get("/categories.json", {"include_subcategories": "true"}) or {}
        found: dict[int, dict] = {}

        def walk(categories: Iterable[dict]) -> None:
            for category in categories or []:
                found[int(category["id"])] = category
                walk(category.get("subcategory_list") or [])
                for sub_id in category.get("subcategory_ids") or []:
                    found.setdefault(int(sub_id), {"id": int(sub_id)})

        walk((data.get("category_list") or {}).get("categories") or [])
        result: dict[int, dict] = {}
        for category_id in list(found):
            show = (self._get(f"/c/{category_id}/show.json") or {}).get("category") or {}
            merged = {**found[category_id], **show}
            merged["visibility"] = self._category_visibility(merged)
            result[category_id] = merged
        self._categories = result
        return result

    def _category_visibility(self, category: dict) -> Visibility:
        permissions = [p for p in category.get("group_permissions") or []
                       if p.get("permission_type") in READ_PERMISSIONS]
        groups = sorted({p.get("group_name", "") for p in permissions if p.get("group_name")})
        if category.get("read_restricted") is False and "everyone" in groups:
            return Visibility.public()
        readers = [self._principal(g) for g in groups if g != "everyone"]
        return Visibility.restricted(f"category {category.get('name', category.get('id'))!r} is read-restricted",
                                     readers)

    def _category_topics(self, category: dict) -> Iterator[dict]:
        page = 0
        while True:
            data = self._get(f"/c/{category.get('slug') or category['id']}/{category['id']}.json",
                             {"page": page}, allow_404=True)
            topics = ((data or {}).get("topic_list") or {}).get("topics") or []
            if not topics:
                return
            yield from topics
            page += 1

    def _private_topics(self) -> Iterator[dict]:
        for listing in ("private-messages", "private-messages-sent"):
            page = 0
            while True:
                data = self._get(f"/topics/{listing}/{self.api_username}.json", {"page": page}, allow_404=True)
                topics = ((data or {}).get("topic_list") or {}).get("topics") or []
                if not topics:
                    break
                yield from topics
                page += 1

    def _list_topics(self) -> dict[int, dict]:
        """Every topic of every category the key sees: id -> its listing entry (once per run)."""
        if self._listed is None:
            listed: dict[int, dict] = {}
            for category in self._load_categories().values():
                for topic in self._category_topics(category):
                    listed.setdefault(int(topic["id"]), topic)
            self._listed = listed
        return self._listed

    def _all_topic_ids(self) -> Iterator[int]:
        listed = self._list_topics()
        yield from listed
        if self.include_private_messages:
            seen = set(listed)
            for topic in self._private_topics():
                if topic["id"] not in seen:
                    seen.add(topic["id"])
                    yield topic["id"]

    # ----------------------------------------------------------------- topics
    def _topic(self, topic_id: int) -> dict | None:
        response = self._send("GET", f"/t/{topic_id}.json")
        if response.status_code == 404:
            return None
        if response.status_code == 403:
            self.skipped.append(Skipped(record_key(self.name, "thread", f"thread:{topic_id}"),
                                        f"topic {topic_id}: HTTP 403 for {self.api_username}"))
            log.warning("topic %s: HTTP 403 for %s, skipped", topic_id, self.api_username)
            raise _Unreadable()
        check(response)
        return response.json()

    def _topic_posts(self, topic: dict) -> list[dict]:
        stream = topic.get("post_stream") or {}
        posts = {p["id"]: p for p in stream.get("posts") or []}
        missing = [pid for pid in stream.get("stream") or [] if pid not in posts]
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            data = self._get(f"/t/{topic['id']}/posts.json", [("post_ids[]", pid) for pid in batch]) or {}
            for post in (data.get("post_stream") or {}).get("posts") or []:
                posts[post["id"]] = post
        order = {pid: index for index, pid in enumerate(stream.get("stream") or [])}
        return sorted(posts.values(), key=lambda p: (p.get("post_number", 0), order.get(p["id"], 0)))

    def _topic_visibility(self, topic: dict) -> Visibility:
        if topic.get("deleted_at"):
            return Visibility.restricted("deleted topic (staff only)", self.staff_principals)
        if topic.get("archetype") == "private_message":
            details = topic.get("details") or {}
            readers = [f"user:{u['username']}" for u in details.get("allowed_users") or [] if u.get("username")]
            readers += [self._principal(g["name"]) for g in details.get("allowed_groups") or [] if g.get("name")]
            return Visibility.restricted("private message: allowed users and groups", readers)
        category = self._load_categories().get(int(topic.get("category_id") or 0))
        if category is None:
            return Visibility.restricted(f"category {topic.get('category_id')} not listed for this key",
                                         self.staff_principals)
        return category["visibility"]

    def _post_visibility(self, base: Visibility, post: dict) -> Visibility:
        return self._own_restriction(post) or base

    def _own_restriction(self, post: dict) -> Visibility | None:
        """A post's own restriction, narrower than its topic; None: the post reads like its topic."""
        if post.get("deleted_at"):
            return Visibility.restricted("deleted post (staff only)", self.staff_principals)
        if post.get("post_type") == WHISPER:
            return Visibility.restricted("whisper (staff only)", self.staff_principals)
        if post.get("hidden") or post.get("user_deleted"):
            readers = list(self.staff_principals)
            if post.get("username"):
                readers.append(f"user:{post['username']}")
            return Visibility.restricted("withdrawn by its author" if post.get("user_deleted")
                                         else "hidden post (flagged)", readers)
        return None

    def _thread_item(self, topic: dict, visibility: Visibility, visible_posts: list[dict]) -> Item:
        """The thread as a record of its own: the allow-listed topic fields (``discourse_records``),
        with counts, dates and the last poster taken from ``visible_posts`` only."""
        category = self._load_categories().get(int(topic.get("category_id") or 0)) or {}
        tags = tuple(t if isinstance(t, str) else t.get("name", "") for t in topic.get("tags") or [])
        private = topic.get("archetype") == "private_message"
        space = "Private messages" if private else category.get("name", "")
        record = encode(thread_record(topic, "" if private else category.get("name", ""), tags, visible_posts))
        last = visible_posts[-1] if visible_posts else {}
        created = parse_time(topic.get("created_at"))
        modified = parse_time(last.get("created_at")) or created
        return Item(
            source=self.name, system=SYSTEM, native_id=f"thread:{topic['id']}", kind="thread",
            title=topic.get("title") or "", url=f"{self.base_url}/t/{topic.get('slug', '-')}/{topic['id']}",
            visibility=visibility, author=((topic.get("details") or {}).get("created_by") or {}).get("username"),
            created=created, modified=modified, space=space, tags=tags,
            revisions=[Revision(id=f"r{hashlib.sha256(record).hexdigest()[:16]}",
                                created=modified or datetime.now(timezone.utc), author=last.get("username"),
                                comment="topic record", title=topic.get("title"),
                                content=Content.from_bytes(record, "application/json",
                                                           filename=f"topic-{topic['id']}.json"),
                                record=record)],
            extra={"thread_id": str(topic["id"]), "category_id": str(topic.get("category_id") or ""),
                   "archetype": topic.get("archetype") or "", "closed": _flag(topic.get("closed")),
                   "archived": _flag(topic.get("archived")), "unlisted": _flag(topic.get("visible") is False),
                   "posts_count": str(len(visible_posts)), "deleted": _flag(topic.get("deleted_at"))},
        )

    # ------------------------------------------------------------------ posts
    def _full_post(self, post_id: int) -> dict | None:
        response = self._send("GET", f"/posts/{post_id}.json")
        if response.status_code == 404:
            return None
        check(response)
        return response.json()

    def _revisions(self, post: dict, full: dict) -> list[Revision]:
        version = int(full.get("version") or post.get("version") or 1)
        current = (full.get("raw") or "").encode("utf-8")
        metas: dict[int, dict] = {}
        for number in range(2, version + 1):
            response = self._send("GET", f"/posts/{post['id']}/revisions/{number}.json")
            if response.status_code in (403, 404):
                log.warning("post %s revision %s: HTTP %s, not archived", post["id"], number, response.status_code)
                continue
            check(response)
            metas[number] = response.json()
        raws: dict[int, bytes] = {version: current}
        for k in range(version - 1, 0, -1):
            following = metas.get(k + 1)
            if following is not None and not body_changed(following):
                raws[k] = raws[k + 1]
            else:
                old = self._get(f"/posts/{post['id']}.json", {"version": k}) or {}
                raws[k] = (old.get("raw") or "").encode("utf-8")
        created = parse_time(full.get("created_at") or post.get("created_at")) or datetime.now(timezone.utc)
        revisions: list[Revision] = []
        for k in range(1, version + 1):
            meta = metas.get(k) if k > 1 else None
            if k > 1 and meta is None and k != version:
                continue  # a revision we may not see: its text is not trustworthy either
            record = {"post": post_record(full)} if k == version else {}
            if meta is not None:
                record["revision"] = revision_record(meta)
            when = parse_time(meta.get("created_at")) if meta else None
            revisions.append(Revision(
                id=f"v{k}-{_short(raws[k])}",
                created=when or (created if k == 1 else parse_time(full.get("updated_at")) or created),
                author=(meta.get("username") if meta else None) or (full.get("username") if k == 1 or k == version else None),
                comment=(meta.get("edit_reason") if meta else None) or ("original" if k == 1 else f"version {k}"),
                content=Content.from_bytes(raws[k], "text/markdown"),
                record=encode(record) if record else None))
        return revisions

    def _uploads(self, post_item: Item) -> list[Item]:
        names: dict[str, str] = {}
        for revision in post_item.revisions:
            text = b"".join(revision.content.chunks()).decode("utf-8", "replace")
            for label, short in UPLOAD_LINK_RE.findall(text):
                names.setdefault(short, label)
            for match in UPLOAD_RE.finditer(text):
                names.setdefault(match.group(0), "")
        if not names:
            return []
        response = self._send("POST", "/uploads/lookup-urls.json",
                              data=[("short_urls[]", short) for short in names])
        check(response)
        items: list[Item] = []
        seen: set[str] = set()
        for entry in response.json() or []:
            short, url = entry.get("short_url"), entry.get("url")
            if not short or not url:
                continue
            path = urlsplit(url).path
            secure = "/secure-uploads/" in path or "/secure-media-uploads/" in path
            match = SHA1_NAME_RE.search(path.rsplit("/", 1)[-1])
            sha1 = match.group(1) if match else sha1_from_short_url(short)
            if not sha1 or sha1 in seen:
                continue
            seen.add(sha1)
            extension = (UPLOAD_RE.search(short).group(2) or "") if UPLOAD_RE.search(short) else ""
            filename = names.get(short) or f"{sha1}{extension}"
            if extension and not filename.lower().endswith(extension.lower()):
                filename += extension
            absolute = urljoin(self.base_url + "/", url)
            content = Content(media_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
                              chunks=lambda absolute=absolute: self._stream(absolute), filename=filename,
                              source_digest=None if secure else ("sha1", sha1))
            record = encode(upload_record(entry))
            items.append(Item(
                source=self.name, system=SYSTEM, native_id=f"attachment:{sha1}", kind="attachment",
                title=filename, url=absolute, visibility=post_item.visibility,
                revisions=[Revision(id=sha1, created=post_item.created or datetime.now(timezone.utc),
                                    author=post_item.author, content=content, record=record)],
                author=post_item.author, created=post_item.created, modified=post_item.created,
                space=post_item.space, parent_id=post_item.native_id,
                extra={"short_url": short, "sha1": sha1, "secure": _flag(secure),
                       "post_id": post_item.native_id.split(":", 1)[1]}))
        return items

    def _stream(self, url: str) -> Iterator[bytes]:
        response = self._send("GET", url, stream=True)
        with response:
            check(response)
            for chunk in response.iter_content(CHUNK_SIZE):
                if chunk:
                    yield chunk

    def _post_objects(self, topic: dict, post: dict, base: Visibility, number_to_id: dict[int, int],
                      space: str) -> Iterator[Item | Tombstone]:
        cached = self._raw_cache.get(post["id"])
        if cached is not None and cached.get("version") == post.get("version") and "raw" in cached:
            full = cached
        else:
            fetched = self._full_post(post["id"])
            if fetched is None:
                yield self._tombstone("post", f"post:{post['id']}", "404 on /posts/{id}.json during the crawl")
                return
            full = fetched
        merged = {**post, **full}
        visibility = self._post_visibility(base, merged)
        reply_number = merged.get("reply_to_post_number")
        reply_to = number_to_id.get(int(reply_number)) if reply_number not in (None, "") else None
        created = parse_time(merged.get("created_at"))
        item = Item(
            source=self.name, system=SYSTEM, native_id=f"post:{post['id']}", kind="post",
            title=f"{topic.get('title', '')} #{merged.get('post_number')}",
            url=f"{self.base_url}/t/{topic.get('slug', '-')}/{topic['id']}/{merged.get('post_number')}",
            visibility=visibility, revisions=self._revisions(post, merged),
            author=merged.get("username"), created=created,
            modified=parse_time(merged.get("updated_at")) or created, space=space,
            parent_id=f"thread:{topic['id']}",
            extra={"position": str(merged.get("post_number", "")), "reply_to": str(reply_to or ""),
                   "thread_id": str(topic["id"]), "hidden": _flag(merged.get("hidden")),
                   "version": str(merged.get("version", 1)), "post_type": str(merged.get("post_type", "")),
                   "whisper": _flag(merged.get("post_type") == WHISPER), "wiki": _flag(merged.get("wiki")),
                   "deleted": _flag(merged.get("deleted_at")), "user_deleted": _flag(merged.get("user_deleted"))},
        )
        self._yielded.add(item.key)
        yield item
        uploads = self._uploads(item)
        self._index[int(topic["id"])][int(post["id"])] = [upload.extra["sha1"] for upload in uploads]
        self._read_now[item.key] = visibility
        for upload in uploads:
            self._read_now[upload.key] = visibility
            self._yielded.add(upload.key)
            yield upload
        if merged.get("deleted_at"):
            yield self._tombstone("post", item.native_id, "soft-deleted (deleted_at)", item.title,
                                  deleted_at=parse_time(merged.get("deleted_at")),
                                  deleted_by=(merged.get("deleted_by") or {}).get("username")
                                  if isinstance(merged.get("deleted_by"), dict) else merged.get("deleted_by"))

    def _topic_objects(self, topic_id: int, *, select: Callable[[dict], bool] | None = None,
                       always_thread: bool = True, read: tuple[dict, list[dict]] | None = None
                       ) -> Iterator[Item | Tombstone]:
        """A topic's thread and chosen posts (``read``: the topic and its posts, read already)."""
        if read is None:
            try:
                fetched = self._topic(topic_id)
            except _Unreadable:
                return
            if fetched is None:
                yield self._tombstone("thread", f"thread:{topic_id}", "404 on /t/{id}.json")
                return
            read = fetched, self._topic_posts(fetched)
        topic, posts = read
        visibility = self._topic_visibility(topic)
        self._remember(topic_id, visibility, posts)
        thread = self._thread_item(topic, visibility, [p for p in posts if self._own_restriction(p) is None])
        self._marks_now[topic_id] = self._marks(thread, posts)
        chosen = [p for p in posts if select is None or select(p)]
        if not chosen and not always_thread:
            return
        self._yielded.add(thread.key)
        yield thread
        number_to_id = {int(p["post_number"]): p["id"] for p in posts if p.get("post_number") is not None}
        for post in chosen:
            yield from self._post_objects(topic, post, visibility, number_to_id, thread.space)
        if topic.get("deleted_at"):
            deleted_by = topic.get("deleted_by")
            yield self._tombstone("thread", thread.native_id, "soft-deleted topic (deleted_at)", thread.title,
                                  deleted_at=parse_time(topic.get("deleted_at")),
                                  deleted_by=deleted_by.get("username") if isinstance(deleted_by, dict) else deleted_by)

    def _remember(self, topic_id: int, visibility: Visibility, posts: list[dict]) -> None:
        """What this run read of a topic: its posts go into the index (with the uploads known from
        earlier runs; a post filed now replaces its own), and the topic's, every post's and their
        uploads' visibility now is what the sweep yields for them."""
        uploads = self._index.get(topic_id, {})
        self._index[topic_id] = {int(p["id"]): uploads.get(int(p["id"]), []) for p in posts}
        self._read_now[record_key(self.name, "thread", f"thread:{topic_id}")] = visibility
        for post in posts:
            seen = self._post_visibility(visibility, post)
            self._read_now[record_key(self.name, "post", f"post:{post['id']}")] = seen
            for sha1 in self._index[topic_id][int(post["id"])]:
                self._read_now[record_key(self.name, "attachment", f"attachment:{sha1}")] = seen

    def _tombstone(self, kind: str, native_id: str, reason: str, title: str = "", *,
                   deleted_at: datetime | None = None, deleted_by: str | None = None,
                   by: str = "crawl") -> Tombstone:
        return Tombstone(source=self.name, system=SYSTEM, native_id=native_id, kind=kind,
                         detected_at=self._server_time or datetime.now(timezone.utc),
                         detected_by=f"discourse:{by}", title=title, reason=reason,
                         deleted_at=deleted_at, deleted_by=deleted_by, readers=self.staff_principals)

    # ------------------------------------------------------------------- runs
    def _max_post_id(self) -> int:
        return max((int(p["id"]) for p in self._latest_first_page), default=0)

    def changes(self, state: dict) -> Iterator[Item | Tombstone]:
        run_start = self._run_start()
        newest = self._max_post_id()
        self._index = {int(topic): {int(post): list(uploads) for post, uploads in posts.items()}
                       for topic, posts in (state.get("index") or {}).items()}
        # without an index (a state from before it) the posts cannot be swept: read everything once
        checkpoint = parse_time(state["checkpoint"]) if state.get("checkpoint") and "index" in state else None
        if checkpoint is None:
            for topic_id in self._all_topic_ids():
                yield from self._topic_objects(topic_id)
        else:
            last_seen = int(state.get("last_post_id") or 0)
            topics: dict[int, None] = {}
            new_posts: set[int] = set()
            page = self._latest_first_page
            while page:
                for post in page:
                    if int(post["id"]) <= last_seen:
                        continue
                    new_posts.add(int(post["id"]))
                    topics.setdefault(int(post["topic_id"]))
                    self._raw_cache[int(post["id"])] = post
                lowest = min(int(p["id"]) for p in page)
                if lowest <= last_seen:
                    break
                page = (self._get("/posts.json", {"before": lowest}) or {}).get("latest_posts") or []
            rescan_from = min(checkpoint, run_start - self.rescan_window)
            for topic in self._active_topics(rescan_from):
                topics.setdefault(int(topic["id"]))

            def select(post: dict) -> bool:
                updated = parse_time(post.get("updated_at"))
                return int(post["id"]) in new_posts or int(post["id"]) > last_seen or \
                    (updated is not None and updated >= checkpoint)

            for topic_id in topics:
                yield from self._topic_objects(topic_id, select=select, always_thread=False)
            newest = max(newest, last_seen)
        state["checkpoint"] = (run_start - self.overlap).astimezone(timezone.utc).isoformat()
        state["last_post_id"] = newest
        state["index"] = {str(topic): {str(post): uploads for post, uploads in posts.items()}
                          for topic, posts in self._index.items()}

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Who may read each archived thread, post and upload now (the module docstring has the
        rules and the cost). Runs after ``changes``, whose reads and index it uses."""
        if not archived:
            return
        topics_now = {topic_id: self._topic_visibility(entry) for topic_id, entry in self._list_topics().items()
                      if entry.get("archetype") != "private_message"}
        topics_of: dict[int, list[int]] = {}
        posts_of: dict[str, list[int]] = {}
        for topic_id, posts in self._index.items():
            for post_id, uploads in posts.items():
                topics_of.setdefault(post_id, []).append(topic_id)
                for sha1 in uploads:
                    posts_of.setdefault(sha1, []).append(post_id)
        for key, seen in archived.items():
            if key in self._read_now:
                yield Access(key, self._read_now[key])
                continue
            _, kind, native_id = key.split("/", 2)
            number = native_id.partition(":")[2]
            if kind == "thread":
                if number.isdigit() and int(number) in topics_now:
                    yield Access(key, topics_now[int(number)])
                continue
            post_ids = [int(number)] if kind == "post" and number.isdigit() else posts_of.get(number, [])
            narrowed = seen
            for topic_id in {t for post_id in post_ids for t in topics_of.get(post_id, [])}:
                if topic_id in topics_now:
                    narrowed = _narrowed(narrowed, topics_now[topic_id], self.staff_principals) or narrowed
            if narrowed is not seen:
                yield Access(key, narrowed)

    # ------------------------------------------------------- the change sweep
    SWEEP_REQUESTS_PER_UNIT = 1.1   # /t/{id}.json, and /t/{id}/posts.json per 20 more posts

    def sweep_units(self, archived: Iterable[str]) -> list[str]:
        """Topics: one ``/t/{id}.json`` shows every post's ``version`` and ``updated_at``."""
        return sorted(key for key in archived if key.split("/", 2)[1] == "thread")

    def recheck(self, units: Iterable[str], changed: Callable[..., bool],
                may_spend: Callable[[], bool]) -> Iterator[Recheck]:
        """Per archived topic: its thread record's revision id, each post's ``version`` and
        ``updated_at`` (an edit inside the grace period changes the text and ``updated_at`` only)
        and its uploads; the thread and the posts whose marker changed are read and yielded.
        Topics this run read already (``changes``: new posts, bumps, the rescan window) come
        first and cost no request; a topic gone or unreadable is left to ``reconcile`` and the
        quarantine. An edit of post #3 in a topic quiet for years is found here."""
        units = list(units)
        free = [unit for unit in units if _topic_of(unit) in self._marks_now]
        for unit in free + [unit for unit in units if _topic_of(unit) not in self._marks_now]:
            topic_id = _topic_of(unit)
            read = None
            if topic_id not in self._marks_now:
                if not may_spend():
                    return
                try:
                    topic = self._topic(topic_id)
                except _Unreadable:
                    continue
                if topic is None:
                    yield Recheck(unit, {})
                    continue
                read = topic, self._topic_posts(topic)
                visible = [p for p in read[1] if self._own_restriction(p) is None]
                self._marks_now[topic_id] = self._marks(
                    self._thread_item(topic, self._topic_visibility(topic), visible), read[1])
            marks = self._marks_now[topic_id]
            stale = {key for key, marker in marks.items()
                     if key not in self._yielded and changed(key, marker, _archived_test(key, marker))}
            objects: Iterable[Item | Tombstone] = ()
            if stale:
                posts = {post_id for post_id, uploads in self._index.get(topic_id, {}).items()
                         if record_key(self.name, "post", f"post:{post_id}") in stale
                         or any(record_key(self.name, "attachment", f"attachment:{sha1}") in stale
                                for sha1 in uploads)}
                objects = self._topic_objects(topic_id, select=lambda p: int(p["id"]) in posts,
                                              always_thread=True, read=read)
            yield Recheck(unit, dict(marks), objects)

    def _marks(self, thread: Item, posts: list[dict]) -> dict[str, str]:
        """Change markers of a topic's records: thread record revision, post version and time, uploads."""
        marks = {thread.key: thread.revisions[-1].id}
        topic_id = int(thread.native_id.split(":", 1)[1])
        for post in posts:
            marks[record_key(self.name, "post", f"post:{post['id']}")] = \
                f"v{post.get('version') or 1}|{post.get('updated_at') or ''}"
            for sha1 in self._index.get(topic_id, {}).get(int(post["id"]), []):
                marks[record_key(self.name, "attachment", f"attachment:{sha1}")] = sha1
        return marks

    def _active_topics(self, since: datetime) -> Iterator[dict]:
        """Topics bumped at or after ``since``, newest first (``/latest.json``; PMs if configured)."""
        sources = [("/latest.json", {})]
        if self.include_private_messages:
            sources += [(f"/topics/private-messages/{self.api_username}.json", {}),
                        (f"/topics/private-messages-sent/{self.api_username}.json", {})]
        for path, params in sources:
            page = 0
            while True:
                data = self._get(path, {**params, "page": page}, allow_404=True) or {}
                topics = (data.get("topic_list") or {}).get("topics") or []
                if not topics:
                    break
                stop = False
                for topic in topics:
                    bumped = parse_time(topic.get("bumped_at") or topic.get("last_posted_at"))
                    if bumped is not None and bumped < since:
                        if topic.get("pinned") or topic.get("pinned_globally"):
                            continue
                        stop = True
                        break
                    yield topic
                if stop:
                    break
                page += 1

    def backfill(self, since: datetime | None, until: datetime | None) -> Iterator[Item | Tombstone]:
        """Topics and posts created or changed in [since, until): a full listing, filtered per post."""
        self._run_start()

        def in_range(post: dict) -> bool:
            for stamp in (post.get("created_at"), post.get("updated_at")):
                when = parse_time(stamp)
                if when is not None and (since is None or when >= since) and (until is None or when < until):
                    return True
            return False

        for topic_id in self._all_topic_ids():
            yield from self._topic_objects(topic_id, select=in_range, always_thread=False)

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Tombstones for known topics and posts that are gone (404) or soft-deleted."""
        self._server_time = None
        gone: list[Tombstone] = []
        live_posts: set[str] = set()
        known_threads = sorted(i for i in known_ids if i.startswith("thread:"))
        known_posts = {i for i in known_ids if i.startswith("post:")}
        for native_id in known_threads:
            topic_id = native_id.split(":", 1)[1]
            response = self._send("GET", f"/t/{topic_id}.json")
            if response.status_code == 404:
                gone.append(self._tombstone("thread", native_id, "reconcile: /t/{id}.json is 404", by="reconcile"))
                continue
            check(response)
            topic = response.json()
            stream = topic.get("post_stream") or {}
            live_posts.update(f"post:{pid}" for pid in stream.get("stream") or [])
            for post in stream.get("posts") or []:
                if post.get("deleted_at") and f"post:{post['id']}" in known_posts:
                    gone.append(self._tombstone("post", f"post:{post['id']}", "reconcile: soft-deleted",
                                                deleted_at=parse_time(post["deleted_at"]), by="reconcile"))
                    live_posts.discard(f"post:{post['id']}")
                    known_posts.discard(f"post:{post['id']}")
            if topic.get("deleted_at"):
                gone.append(self._tombstone("thread", native_id, "reconcile: soft-deleted topic",
                                            deleted_at=parse_time(topic["deleted_at"]), by="reconcile"))
        for native_id in sorted(known_posts - live_posts):
            fetched = self._full_post(int(native_id.split(":", 1)[1]))
            if fetched is None:
                gone.append(self._tombstone("post", native_id, "reconcile: /posts/{id}.json is 404", by="reconcile"))
            elif fetched.get("deleted_at"):
                gone.append(self._tombstone("post", native_id, "reconcile: soft-deleted",
                                            deleted_at=parse_time(fetched["deleted_at"]), by="reconcile"))
            # else: moved to a topic we do not know yet; not a deletion
        considered = len(known_threads) + len({i for i in known_ids if i.startswith("post:")})
        if considered and len(gone) > 3 and len(gone) > self.reconcile_max_ratio * considered:
            raise Fatal(f"reconcile would tombstone {len(gone)} of {considered} known ids "
                        f"(over {self.reconcile_max_ratio:.0%}); check the API key's access first")
        yield from gone

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """What ``backfill(since, until)`` would read (``socialarchive plan``): one ``/about.json``.

        Its ``stats`` count topics and posts of the whole forum and of the last 7 and 30 days
        (``topic_count``/``post_count`` before Discourse 3.2, ``topics_count``/``posts_count``
        after). A range that starts within the last 7 or 30 days and runs to now uses those;
        any other range gets the totals as an upper bound. Revisions and uploads are not counted.
        """
        about = (self._get("/about.json", allow_404=True) or {}).get("about") or {}
        stats = about.get("stats") or {}
        now = self._server_time or datetime.now(timezone.utc)
        topics = int(stats.get("topics_count", stats.get("topic_count")) or 0)
        posts = int(stats.get("posts_count", stats.get("post_count")) or 0)
        window = "all time"
        if since is not None and until is None:
            for days in (7, 30):
                if since >= now - timedelta(days=days) and f"posts_{days}_days" in stats:
                    topics = int(stats.get(f"topics_{days}_days") or 0)
                    posts = int(stats.get(f"posts_{days}_days") or 0)
                    window = f"last {days} days"
                    break
        return Estimate(system=SYSTEM, counts={"topics": topics, "posts": posts, "window": window},
                        objects=topics + posts, items=topics + posts, files=0, versions=topics + posts,
                        bytes=posts * 1500 + topics * 6000,
                        requests=topics + -(-posts // self.batch_size) + posts + 2,
                        rate_limit_per_minute=self.rate_per_minute or None,
                        notes=[f"counts from /about.json stats ({window})"
                               + ("; an upper bound for this range" if (since or until) and window == "all time" else ""),
                               "revisions and uploads are not counted (one version per post assumed)"])


def _narrowed(seen: Visibility, topic: Visibility, staff: tuple[str, ...]) -> Visibility | None:
    """``seen`` narrowed to what the topic allows now, or None when the topic allows all of it.

    A post's own restriction (whisper, hidden, deleted) is not in any listing, so a post or upload
    not read this run only ever narrows: to the readers it had that its topic still admits. Staff
    see every category, so every topic admits them.

    >>> team, staff = Visibility.restricted("team", ["group:team"]), ("group:staff",)
    >>> _narrowed(Visibility.public(), team, staff).readers
    ('group:team',)
    >>> _narrowed(Visibility.restricted("hidden", ["group:staff", "user:carol"]), team, staff).readers
    ('group:staff',)
    >>> _narrowed(Visibility.restricted("whisper", ["group:staff"]), team, staff) is None
    True
    >>> _narrowed(team, Visibility.public(), staff) is None
    True
    """
    if topic.is_public:
        return None
    if seen.is_public:
        return topic
    readers = tuple(reader for reader in seen.readers if reader in topic.readers or reader in staff)
    if len(readers) == len(seen.readers):
        return None
    return Visibility.restricted(f"{seen.reason}; its topic now: {topic.reason}", readers)


def _topic_of(unit: str) -> int:
    return int(unit.rsplit(":", 1)[1])


def _archived_test(key: str, marker: str) -> Callable[[set[str]], bool]:
    """Is the state a marker names among the filed revisions? (for a record with no stored marker)

    >>> _archived_test("talk/post/post:7", "v2|2024-01-01")({"v1-ab12", "v2-cd34"})
    True
    >>> _archived_test("talk/post/post:7", "v3|2024-01-01")({"v1-ab12", "v2-cd34"})
    False
    """
    if "/post/" in key:
        prefix = marker.split("|", 1)[0] + "-"
        return lambda filed: any(revision.startswith(prefix) for revision in filed)
    return lambda filed: marker in filed


class _Unreadable(Exception):
    """The key may not read this topic (403): skipped and listed in ``skipped``."""
