"""How Confluence content becomes items: a page or blog post with every version, its comments
(footer and inline, replies included) with theirs, its attachments with every version.

- **Body**: ``body.storage.value`` byte-exact (UTF-8), media type ``STORAGE_TYPE``: the storage
  format is an XHTML fragment with ``ac:``/``ri:`` elements and HTML entities, not a well-formed
  XML document, so it is declared as what it is rather than as ``application/xhtml+xml``.
- **Versions**: the version list (``/rest/api/content/{id}/version``) gives author, date, message
  and minor-edit flag of each; the text of an older version N is read only when it is filed
  (``?status=historical&version=N&expand=body.storage,version``). Revision ids are ``vN``.
- **Attachments**: every version is streamed from its own ``_links.download`` (an older version's
  from ``?status=historical&version=N``); the bytes read must add up to the version's
  ``extensions.fileSize`` (``DigestMismatch`` otherwise); the filer computes the SHA-256.
- **Records** (evidence, one per revision): allow-listed fields only (``record``), never a raw answer.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import DigestMismatch
from ...model import Content, Item, Revision, Visibility
from ..kit.window import flag, parse_time

SYSTEM = "confluence"
STORAGE_TYPE = "text/x-confluence-storage"
PAGE_EXPAND = ("body.storage,version,ancestors,space,history,metadata.labels,"
               "restrictions.read.restrictions.user,restrictions.read.restrictions.group")
COMMENT_EXPAND = "body.storage,version,ancestors,extensions.location,extensions.inlineProperties,extensions.resolution"
ATTACHMENT_EXPAND = "version,metadata.labels,extensions"


def person(user: dict | None) -> str | None:
    """A version's author: the DC username, else Cloud's public name or account id."""
    user = user or {}
    return user.get("username") or user.get("publicName") or user.get("displayName") or user.get("accountId")


def version_record(meta: dict) -> dict:
    return {"number": meta.get("number"), "when": meta.get("when"), "by": person(meta.get("by")),
            "message": meta.get("message") or "", "minorEdit": bool(meta.get("minorEdit"))}


def record(content: dict, **more: Any) -> bytes:
    """The allow-listed fields of one content object (and ``more``), as canonical JSON bytes."""
    fields = {"id": str(content["id"]), "type": content.get("type"), "status": content.get("status"),
              "title": content.get("title"), "space": (content.get("space") or {}).get("key"),
              "ancestors": [{"id": str(a["id"]), "title": a.get("title")} for a in content.get("ancestors") or []],
              **more}
    return json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")


def labels(content: dict) -> tuple[str, ...]:
    return tuple(label.get("name", "") for label in
                 (((content.get("metadata") or {}).get("labels") or {}).get("results") or []))


def with_version(link: str, number: int) -> str:
    """An attachment's download link asking for version ``number``.

    >>> with_version("/download/attachments/1/a.png?version=3&api=v2", 1)
    '/download/attachments/1/a.png?version=1&api=v2'
    """
    parts = urlsplit(link)
    query = dict(parse_qsl(parts.query))
    query["version"] = str(number)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class ContentItems:
    """Content into items (a mixin of ``ConfluenceSource``)."""

    def _versions(self, content: dict) -> dict[int, dict]:
        """Version number -> version metadata, 1..current (the list, then any it lacks one by one)."""
        current = content.get("version") or {}
        number = int(current.get("number") or 1)
        metas = {number: current}
        if number > 1:
            for meta in self.api.results(f"/rest/api/content/{content['id']}/version", {"limit": self.page_size}):
                metas.setdefault(int(meta["number"]), meta)
        for missing in sorted(set(range(1, number)) - set(metas)):
            old = self.api.content(str(content["id"]), {"status": "historical", "version": missing,
                                                        "expand": "version"})
            if old is not None:
                metas[missing] = old.get("version") or {}
        return dict(sorted(metas.items()))

    def _body(self, content_id: str, number: int) -> Iterator[bytes]:
        old = self.api.content(content_id, {"status": "historical", "version": number, "expand": "body.storage,version"})
        if old is None:
            raise DigestMismatch(f"content {content_id} version {number}: 404 when its text was read")
        yield (((old.get("body") or {}).get("storage") or {}).get("value") or "").encode("utf-8")

    def _text_revisions(self, content: dict, kind: str) -> list[Revision]:
        metas = self._versions(content)
        current = int((content.get("version") or {}).get("number") or 1)
        body = (((content.get("body") or {}).get("storage") or {}).get("value") or "").encode("utf-8")
        created = parse_time((content.get("history") or {}).get("createdDate"))
        revisions = []
        for number, meta in metas.items():
            filename = f"{kind}-{content['id']}-v{number}.xml"
            if number == current:
                text = Content.from_bytes(body, STORAGE_TYPE, filename=filename)
                evidence = record(content, version=version_record(meta), labels=list(labels(content)))
            else:
                text = Content(STORAGE_TYPE, lambda number=number: self._body(str(content["id"]), number),
                               filename=filename)
                evidence = json.dumps({"id": str(content["id"]), "version": version_record(meta)},
                                      sort_keys=True).encode("utf-8")
            revisions.append(Revision(
                id=f"v{number}", created=parse_time(meta.get("when")) or created or datetime.now(timezone.utc),
                author=person(meta.get("by")), content=text, comment=meta.get("message") or "",
                title=content.get("title") if number == current else None, record=evidence))
        return revisions

    def _common(self, content: dict, kind: str, visibility: Visibility, revisions: list[Revision],
                **kw: Any) -> Item:
        history = content.get("history") or {}
        links = content.get("_links") or {}
        return Item(source=self.name, system=SYSTEM, native_id=f"{kind}:{content['id']}", kind=kind,
                    title=content.get("title") or "", url=self.base_url + (links.get("webui") or ""),
                    visibility=visibility, revisions=revisions,
                    author=person(history.get("createdBy")) or revisions[0].author,
                    created=parse_time(history.get("createdDate")) or revisions[0].created,
                    modified=revisions[-1].created, space=(content.get("space") or {}).get("key", ""),
                    tags=labels(content), **kw)

    def _page_item(self, content: dict, visibility: Visibility) -> Item:
        ancestors = content.get("ancestors") or []
        kind = content.get("type") or "page"
        return self._common(content, kind, visibility, self._text_revisions(content, kind),
                            parent_id=f"page:{ancestors[-1]['id']}" if ancestors else None,
                            extra={"space_key": (content.get("space") or {}).get("key", ""),
                                   "ancestors": "/".join(str(a["id"]) for a in ancestors),
                                   "ancestor_titles": " / ".join(a.get("title") or "" for a in ancestors),
                                   "version": str((content.get("version") or {}).get("number") or 1),
                                   "restricted": flag(not visibility.is_public)})

    def _comment_item(self, comment: dict, page: Item) -> Item:
        extensions = comment.get("extensions") or {}
        inline = extensions.get("inlineProperties") or {}
        parents = [a for a in comment.get("ancestors") or [] if a.get("type") == "comment"]
        comment = {**comment, "space": comment.get("space") or {"key": page.space}, "title": comment.get("title")
                   or f"Re: {page.title}"}
        return self._common(comment, "comment", page.visibility, self._text_revisions(comment, "comment"),
                            parent_id=page.native_id,
                            extra={"page_id": page.native_id, "location": str(extensions.get("location") or ""),
                                   "reply_to": f"comment:{parents[-1]['id']}" if parents else "",
                                   "inline_selection": str(inline.get("originalSelection") or ""),
                                   "resolution": str((extensions.get("resolution") or {}).get("status") or ""),
                                   "version": str((comment.get("version") or {}).get("number") or 1)})

    def _attachment_item(self, attachment: dict, page: Item) -> Item:
        attachment = {**attachment, "space": attachment.get("space") or {"key": page.space}}
        metas = self._versions(attachment)
        current = int((attachment.get("version") or {}).get("number") or 1)
        extensions = attachment.get("extensions") or {}
        media_type = extensions.get("mediaType") or "application/octet-stream"
        name = attachment.get("title") or str(attachment["id"])
        revisions = []
        for number, meta in metas.items():
            if number == current:
                size = extensions.get("fileSize")
                link = (attachment.get("_links") or {}).get("download") or ""
                chunks: Callable[[], Iterator[bytes]] = lambda link=link, size=size: self._download(link, size)
            else:
                chunks = lambda number=number: self._old_download(str(attachment["id"]), number)
            revisions.append(Revision(
                id=f"v{number}", created=parse_time(meta.get("when")) or datetime.now(timezone.utc),
                author=person(meta.get("by")), comment=meta.get("message") or "",
                content=Content(media_type, chunks, filename=name),
                record=record(attachment, version=version_record(meta), mediaType=media_type,
                              fileSize=extensions.get("fileSize") if number == current else None)))
        return self._common(attachment, "attachment", page.visibility, revisions, parent_id=page.native_id,
                            extra={"page_id": page.native_id, "media_type": media_type,
                                   "version": str(current), "file_size": str(extensions.get("fileSize") or "")})

    def _old_download(self, attachment_id: str, number: int) -> Iterator[bytes]:
        old = self.api.content(attachment_id, {"status": "historical", "version": number, "expand": ATTACHMENT_EXPAND})
        if old is None:
            raise DigestMismatch(f"attachment {attachment_id} version {number}: 404 when it was read")
        link = (old.get("_links") or {}).get("download") or ""
        yield from self._download(with_version(link, number), (old.get("extensions") or {}).get("fileSize"))

    def _download(self, link: str, size: Any) -> Iterator[bytes]:
        """The bytes of one attachment version; their count must be the announced ``fileSize``."""
        read = 0
        for chunk in self.api.stream(link):
            read += len(chunk)
            yield chunk
        if size is not None and read != int(size):
            raise DigestMismatch(f"read {read} bytes of {link.split('?')[0]}, Confluence announced {size}")
