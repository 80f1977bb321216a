"""The visibility sweep of a site: the records WordPress narrowed without touching a date (a post made
private, a comment held or trashed), from id listings.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Mapping

from ...model import Access, Visibility, record_key
from .shape import MEDIA_STATUSES, RESTRICTED_STATUSES, NARROWED_COMMENTS, _chunks


class VisibilitySweep:
    """The visibility sweep of a site."""

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
