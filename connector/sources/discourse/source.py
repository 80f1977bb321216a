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

Records are allow-lists, never a raw answer (``records`` lists the fields): a record
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

State keys (``changes``): ``checkpoint`` (``kit.window``: server clock at run start minus overlap),
``last_post_id`` (highest post id seen when the run started), ``index`` (topic id -> post id ->
upload SHA-1s, for the sweep; a state without it, from before the sweep, makes the next run a
full crawl once).

The class is split by concept: ``items`` (topics and posts into items, who may read them),
``visibility`` (the visibility sweep), ``sweep`` (the change sweep); ``shape`` holds the upload
references and revision diffs, ``records`` the allow-listed fields.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

import requests

from ...errors import ConfigError
from ...http import MAX_RETRY_AFTER, Session, check, make_session, parse_retry_after
from ...model import Item, Skipped, Tombstone, Visibility
from ..base import Estimate, Source
from ..kit.deletions import guard
from ..kit.jsonapi import JsonApi
from ..kit.window import in_window, next_checkpoint, parse_time
from .items import TopicItems
from .visibility import VisibilitySweep
from .sweep import TopicSweep
from .shape import SYSTEM, READ_PERMISSIONS

log = logging.getLogger(__name__)

class DiscourseSource(TopicItems, VisibilitySweep, TopicSweep, Source):
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
        self.api = JsonApi(self.base_url, self.session, attempts=attempts, sleep=sleep,
                           retry_after=_rate_limit_wait, rate_limit_code="Discourse-Rate-Limit-Error-Code")
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
        return self.api.request_count

    def _run_start(self) -> datetime:
        self.skipped = []
        self.api.start_run()
        self._raw_cache.clear()
        self._categories = None
        self._read_now.clear()
        self._marks_now.clear()
        self._yielded.clear()
        self._listed = None
        latest = self.api.get("/posts.json") or {}
        self._latest_first_page = latest.get("latest_posts") or []
        return self.api.server_time or datetime.now(timezone.utc)

    # --------------------------------------------------------------- probing
    def check(self) -> dict:
        about = self.api.get("/about.json", allow_404=True) or {}
        site = self.api.get("/site.json") or {}
        info = about.get("about") or {}
        return {
            "system": SYSTEM,
            "base_url": self.base_url,
            "api_username": self.api_username,
            "version": info.get("version", ""),
            "title": info.get("title", ""),
            "categories": len(site.get("categories") or []),
            "server_time": (self.api.server_time or datetime.now(timezone.utc)).isoformat(),
            "requests": self.request_count,
        }

    # ------------------------------------------------------------ categories
    def _principal(self, group: str) -> str:
        return self.group_principals.get(group, f"group:{group}")

    def _load_categories(self) -> dict[int, dict]:
        if self._categories is not None:
            return self._categories
        data = self.api.get("/categories.json", {"include_subcategories": "true"}) or {}
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
            show = (self.api.get(f"/c/{category_id}/show.json") or {}).get("category") or {}
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
            data = self.api.get(f"/c/{category.get('slug') or category['id']}/{category['id']}.json",
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
                data = self.api.get(f"/topics/{listing}/{self.api_username}.json", {"page": page}, allow_404=True)
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
                page = (self.api.get("/posts.json", {"before": lowest}) or {}).get("latest_posts") or []
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
        state["checkpoint"] = next_checkpoint(run_start, self.overlap)
        state["last_post_id"] = newest
        state["index"] = {str(topic): {str(post): uploads for post, uploads in posts.items()}
                          for topic, posts in self._index.items()}

    def _active_topics(self, since: datetime) -> Iterator[dict]:
        """Topics bumped at or after ``since``, newest first (``/latest.json``; PMs if configured)."""
        sources = [("/latest.json", {})]
        if self.include_private_messages:
            sources += [(f"/topics/private-messages/{self.api_username}.json", {}),
                        (f"/topics/private-messages-sent/{self.api_username}.json", {})]
        for path, params in sources:
            page = 0
            while True:
                data = self.api.get(path, {**params, "page": page}, allow_404=True) or {}
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
                if in_window(when, since, until):
                    return True
            return False

        for topic_id in self._all_topic_ids():
            yield from self._topic_objects(topic_id, select=in_range, always_thread=False)

    def reconcile(self, known_ids: set[str]) -> Iterator[Tombstone]:
        """Tombstones for known topics and posts that are gone (404) or soft-deleted."""
        self.api.start_run()
        gone: list[Tombstone] = []
        live_posts: set[str] = set()
        known_threads = sorted(i for i in known_ids if i.startswith("thread:"))
        known_posts = {i for i in known_ids if i.startswith("post:")}
        for native_id in known_threads:
            topic_id = native_id.split(":", 1)[1]
            response = self.api.send("GET", f"/t/{topic_id}.json")
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
        yield from guard(gone, len(known_threads) + len({i for i in known_ids if i.startswith("post:")}),
                         self.reconcile_max_ratio, "check the API key's access first")

    def estimate(self, since: datetime | None, until: datetime | None) -> Estimate:
        """What ``backfill(since, until)`` would read (``socialarchive plan``): one ``/about.json``.

        Its ``stats`` count topics and posts of the whole forum and of the last 7 and 30 days
        (``topic_count``/``post_count`` before Discourse 3.2, ``topics_count``/``posts_count``
        after). A range that starts within the last 7 or 30 days and runs to now uses those;
        any other range gets the totals as an upper bound. Revisions and uploads are not counted.
        """
        about = (self.api.get("/about.json", allow_404=True) or {}).get("about") or {}
        stats = about.get("stats") or {}
        now = self.api.server_time or datetime.now(timezone.utc)
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


def _rate_limit_wait(response: requests.Response) -> float | None:
    """How long a 429 asks to wait: ``Retry-After``, else the JSON body's ``extras.wait_seconds``
    (Discourse's controller-level limits send only the body)."""
    wait = parse_retry_after(response.headers.get("Retry-After"))
    if wait is not None:
        return wait
    try:
        return max(0.0, min(float(response.json()["extras"]["wait_seconds"]), MAX_RETRY_AFTER))
    except (ValueError, KeyError, TypeError):
        return None
