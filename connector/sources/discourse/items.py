"""How topics and posts become items: who may read a topic or a post, the thread record, posts with
their revisions, and their uploads.
"""
from __future__ import annotations

import logging
import hashlib
import mimetypes
from datetime import datetime, timezone
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

from ...errors import RecordUnreadable
from ...http import check
from ...model import CHUNK_SIZE, Content, Item, Revision, Skipped, Tombstone, Visibility, record_key
from ..kit.deletions import Tombstones
from ..kit.window import flag as _flag, parse_time
from .records import encode, post_record, revision_record, thread_record, upload_record
from .shape import (SYSTEM, WHISPER, UPLOAD_RE, UPLOAD_LINK_RE, SHA1_NAME_RE, sha1_from_short_url,
                    body_changed, _short)


log = logging.getLogger(__name__)


class TopicItems:
    """How topics and posts become items."""

    # ----------------------------------------------------------------- topics
    def _topic(self, topic_id: int) -> dict | None:
        response = self.api.send("GET", f"/t/{topic_id}.json")
        if response.status_code == 404:
            return None
        if response.status_code == 403:
            self.skipped.append(Skipped(record_key(self.name, "thread", f"thread:{topic_id}"),
                                        f"topic {topic_id}: HTTP 403 for {self.api_username}"))
            log.warning("topic %s: HTTP 403 for %s, skipped", topic_id, self.api_username)
            raise RecordUnreadable(f"discourse topic {topic_id}: HTTP 403 for {self.api_username}")
        check(response)
        return response.json()

    def _topic_posts(self, topic: dict) -> list[dict]:
        stream = topic.get("post_stream") or {}
        posts = {p["id"]: p for p in stream.get("posts") or []}
        missing = [pid for pid in stream.get("stream") or [] if pid not in posts]
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            data = self.api.get(f"/t/{topic['id']}/posts.json", [("post_ids[]", pid) for pid in batch]) or {}
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
        """The thread as a record of its own: the allow-listed topic fields (``records``),
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
        response = self.api.send("GET", f"/posts/{post_id}.json")
        if response.status_code == 404:
            return None
        check(response)
        return response.json()

    def _revisions(self, post: dict, full: dict) -> list[Revision]:
        version = int(full.get("version") or post.get("version") or 1)
        current = (full.get("raw") or "").encode("utf-8")
        metas: dict[int, dict] = {}
        for number in range(2, version + 1):
            response = self.api.send("GET", f"/posts/{post['id']}/revisions/{number}.json")
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
                old = self.api.get(f"/posts/{post['id']}.json", {"version": k}) or {}
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
        response = self.api.send("POST", "/uploads/lookup-urls.json",
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
        response = self.api.send("GET", url, stream=True)
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
            except RecordUnreadable:
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
        return Tombstones(self.name, SYSTEM, self.staff_principals)(
            kind, native_id, detected_at=self.api.server_time, detected_by=f"discourse:{by}", title=title,
            reason=reason, deleted_at=deleted_at, deleted_by=deleted_by)
