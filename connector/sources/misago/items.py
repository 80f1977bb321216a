"""How API objects become items: who may read a category, a thread or a post, and the builders of
threads, posts (with their edits) and attachments.
"""
from __future__ import annotations

import json
import mimetypes
from datetime import datetime, timezone
from typing import Iterator
from urllib.parse import urljoin, urlsplit
import requests

from ...errors import RecordUnreadable, Skippable
from ...http import check, retrying
from ...model import CHUNK_SIZE, Content, Item, Revision, Visibility
from ..kit.window import flag as _flag, parse_time
from .shape import (SYSTEM, DEFAULT_READERS, THREAD_FIELDS, POST_FIELDS, EDIT_FIELDS, ATTACHMENT_FIELDS,
                    diff_sides, _digest, _pick, _record)


class ThreadItems:
    """How API objects become items."""

    # ------------------------------------------------------------ visibility
    def _guest_readable(self) -> frozenset[int]:
        """The categories whose threads a signed-out visitor may read (Misago: *see* and *browse*),
        asked once per run by a session that never signs in."""
        if self._guest_categories is None:
            def once() -> requests.Response:
                return check(self._visitor.get(self.api.url("/api/auth/")))

            acl = retrying(once, attempts=self.api.attempts, sleep=self.api.sleep).json().get("acl") or {}
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
        fields["url"] = self.api.url((thread.get("url") or {}).get("index", ""))
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
            title=thread.get("title") or "", url=self.api.url((thread.get("url") or {}).get("index", "")),
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
            response = self.api.send("GET", path, params=params)
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
        response = self.api.send("GET", path, params={"edit": edit_id} if edit_id else None)
        if response.status_code == 403:  # "This post has no changes history."
            return None
        if response.status_code == 404:
            raise RecordUnreadable(f"misago: 404 on {path}")
        check(response)
        return response.content

    def _post_record(self, post: dict) -> bytes:
        fields = _pick(post, POST_FIELDS)
        fields["url"] = self.api.url((post.get("url") or {}).get("index", ""))
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
            url=self.api.url((post.get("url") or {}).get("index", "")), visibility=visibility,
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
        response = self.api.send("GET", link, allow_redirects=False)
        location = response.headers.get("Location", "")
        target = urlsplit(urljoin(self.api.url(link), location))
        if response.status_code not in (301, 302, 303, 307, 308) or not target.path.startswith(self.media_prefix):
            response.close()
            raise Skippable(f"attachment {attachment_id}: Misago answered with its placeholder "
                            f"(HTTP {response.status_code} to {target.path or '-'}), not the file")
        with self.session.get(target.geturl(), stream=True) as download:
            check(download)
            for chunk in download.iter_content(CHUNK_SIZE):
                if chunk:
                    yield chunk
