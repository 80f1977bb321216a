"""How REST objects become items: users and terms looked up, who may read a post, a media file or a
comment, and the builders of each item.
"""
from __future__ import annotations

import logging
import posixpath
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from ...errors import Fatal, Skippable
from ...model import Content, Item, Revision, Skipped, Visibility, record_key
from ..kit.window import parse_time
from .shape import (POST_STATUSES, POST_RECORD, REVISION_RECORD, MEDIA_RECORD, COMMENT_RECORD, _sig,
                    _raw, _record, _chunks)


log = logging.getLogger(__name__)


class ObjectItems:
    """How REST objects become items."""

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
        revisions = [Revision(id=f"rev-{r['id']}",
                              created=parse_time(r.get("date_gmt")) or parse_time(r.get("modified_gmt")),
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
                id=f"cur-{raw.get('modified_gmt')}-{sig}", created=parse_time(raw.get("modified_gmt")),
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
                    revisions=revisions, author=author, created=parse_time(raw.get("date_gmt")),
                    modified=parse_time(raw.get("modified_gmt")), space=space, tags=tags, extra=extra)

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
                            created=parse_time(raw.get("modified_gmt")), author=author, content=content,
                            title=_raw(raw.get("title")), record=_record(raw, MEDIA_RECORD))
        return Item(source=self.name, system=self.system, native_id=f"media:{media_id}", kind="media",
                    title=_raw(raw.get("title")) or (filename or ""), url=raw.get("link") or source_url,
                    visibility=visibility, revisions=[revision], author=author,
                    created=parse_time(raw.get("date_gmt")), modified=parse_time(raw.get("modified_gmt")),
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
        revision = Revision(id=f"c-{sig}", created=parse_time(raw.get("date_gmt")), author=author_name,
                            content=Content.from_bytes(content.encode("utf-8"), "text/html"),
                            comment=f"comment {status}", record=_record(raw, COMMENT_RECORD))
        return Item(source=self.name, system=self.system, native_id=f"comment:{comment_id}",
                    kind="comment", title=f"Comment {comment_id} on {post_title}",
                    url=raw.get("link") or "", visibility=visibility, revisions=[revision],
                    author=author_name, created=parse_time(raw.get("date_gmt")),
                    modified=parse_time(raw.get("date_gmt")), space=summary["space"] if summary else "",
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
