"""How API objects become items: pages with their revisions, files with their versions, and who may
read them.
"""
from __future__ import annotations

import logging
import json

from ...model import Content, Item, Revision, Visibility
from .api import parse_ts
from .plan import (SYSTEM, WIKITEXT, HIDDEN, FILE_NS, SYSOPS, MEMBERS, canonical_json, Run, Buffer, _user,
                   _hidden, _strip_ns, _protection)


log = logging.getLogger(__name__)


class PageItems:
    """How API objects become items."""

    # ------------------------------------------------------------------ items

    def _visibility(self, ns: int, hidden: bool, run: Run) -> Visibility:
        if ns in self.restricted_namespaces:
            return Visibility.restricted(f"restricted namespace {ns}")
        if hidden:
            return Visibility.restricted("revision deletion in the history", readers=SYSOPS)
        return self._wiki_visibility(run)

    @staticmethod
    def _wiki_visibility(run: Run) -> Visibility:
        if run.private:
            return Visibility.restricted("private wiki", readers=MEMBERS)
        return Visibility.public()

    @staticmethod
    def _file_visibility(page: Visibility, hidden: bool) -> Visibility:
        """A file is read like its page; a revision-deleted file version restricts a public one."""
        if hidden and page.is_public:
            return Visibility.restricted("revision deletion in the history", readers=SYSOPS)
        return page

    def _page_item(self, buf: Buffer, run: Run) -> Item | None:
        page = buf.page
        if page is None or page.get("missing") or not buf.revs:
            if buf.plan.revids and not buf.sliced:
                log.info("page %s: nothing to yield (gone since planning)", buf.plan.pageid)
            return None
        pageid = int(page["pageid"])
        ns = int(page.get("ns", 0))
        revs = sorted(buf.revs.values(), key=lambda r: (r.get("timestamp", ""), r["revid"]))
        history = buf.plan.history
        if buf.creator is None:
            first = history[0] if history else revs[0]
            buf.creator = (_user(first), parse_ts(first["timestamp"]))
        buf.hidden = buf.hidden or any(_hidden(r) for r in (history or [])) or any(_hidden(r) for r in revs)
        stamps = [parse_ts(r["timestamp"]) for r in revs]
        if history:
            stamps.append(parse_ts(history[-1]["timestamp"]))
        latest_ts = max(stamps)
        visibility = self._visibility(ns, buf.hidden, run)
        title = page.get("title", "")
        lastrevid = page.get("lastrevid")
        self._marks_now[pageid] = str(lastrevid)
        self._continues.setdefault(pageid, str(revs[0].get("parentid") or ""))
        revisions = [self._revision(r, title if r["revid"] == lastrevid else None) for r in revs]
        subject = page.get("subjectid")
        item = Item(
            source=self.name, system=SYSTEM, native_id=str(pageid), kind="page", title=title,
            url=f"{run.script_url}?curid={pageid}", visibility=visibility, revisions=revisions,
            author=buf.creator[0], created=buf.creator[1], modified=latest_ts,
            space=run.namespaces.get(ns, str(ns)),
            parent_id=str(subject) if ns % 2 == 1 and subject else None,
            tags=tuple(sorted({_strip_ns(c.get("title", "")) for c in page.get("categories", [])})),
            extra={
                "namespace": str(ns),
                "protection": _protection(page.get("protection", [])),
                "redirect": "true" if page.get("redirect") else "false",
                "talk_page_id": str(page.get("talkid", "")),
                "subject_page_id": str(subject or ""),
                "canonical_url": page.get("canonicalurl", ""),
                "content_model": page.get("contentmodel", ""),
                "page_language": page.get("pagelanguage", ""),
                "lastrevid": str(lastrevid or ""),
                "revision_deletion": "true" if buf.hidden else "false",
            })
        if ns == FILE_NS and page.get("imageinfo"):
            item.attachments.append(self._file_item(page, item))
        return item

    def _revision(self, rev: dict, title: str | None) -> Revision:
        slot = (rev.get("slots") or {}).get("main") or {}
        text = slot.get("content")
        if text is None:   # texthidden and not visible to this account, or content missing
            data, digest = b"", None
        else:
            data = text.encode("utf-8")
            sha1 = slot.get("sha1") or rev.get("sha1")
            digest = ("sha1", sha1) if sha1 else None
        record = json.loads(json.dumps(rev))
        main = (record.get("slots") or {}).get("main")
        if isinstance(main, dict):
            main.pop("content", None)
        return Revision(
            id=str(rev["revid"]), created=parse_ts(rev["timestamp"]), author=_user(rev),
            comment=HIDDEN if rev.get("commenthidden") else rev.get("comment", ""),
            title=title,
            content=Content.from_bytes(data, slot.get("contentformat") or WIKITEXT, source_digest=digest),
            record=canonical_json(record))

    def _file_item(self, page: dict, parent: Item) -> Item:
        infos = sorted(page.get("imageinfo", []), key=lambda i: i.get("timestamp", ""))
        name = _strip_ns(page.get("title", ""))
        revisions: list[Revision] = []
        seen_ids: set[str] = set()
        hidden = False
        for info in infos:
            hidden = hidden or _hidden(info)
            url = info.get("url")
            if not url or info.get("filehidden"):
                log.warning("file version %s of %s is hidden or has no URL; not archived",
                            info.get("timestamp"), page.get("title"))
                continue
            rid = info.get("timestamp", "")
            if rid in seen_ids:
                rid = f"{rid}#{(info.get('sha1') or '')[:12]}"
            seen_ids.add(rid)
            sha1 = info.get("sha1")
            revisions.append(Revision(
                id=rid, created=parse_ts(info["timestamp"]), author=_user(info),
                comment=HIDDEN if info.get("commenthidden") else info.get("comment", ""),
                title=page.get("title"),
                content=Content(media_type=info.get("mime") or "application/octet-stream",
                                chunks=self.api.stream(url), size=info.get("size"), filename=name,
                                source_digest=("sha1", sha1) if sha1 else None),
                record=canonical_json(info)))
        ns = int(page.get("ns", FILE_NS))
        visibility = self._file_visibility(parent.visibility, hidden)
        latest = infos[-1] if infos else {}
        return Item(
            source=self.name, system=SYSTEM, native_id=f"file:{page['pageid']}", kind="file",
            title=page.get("title", ""), url=parent.url, visibility=visibility, revisions=revisions,
            author=_user(infos[0]) if infos else None,
            created=parse_ts(infos[0]["timestamp"]) if infos else None,
            modified=parse_ts(latest["timestamp"]) if latest else None,
            space=parent.space, parent_id=str(page["pageid"]), tags=parent.tags,
            extra={"namespace": str(ns), "file_url": latest.get("url", ""),
                   "description_url": latest.get("descriptionurl", ""),
                   "mime": latest.get("mime", ""), "size": str(latest.get("size", "")),
                   "sha1": latest.get("sha1", ""), "versions": str(len(infos))})
