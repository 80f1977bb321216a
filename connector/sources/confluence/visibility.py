"""Who may read a Confluence page, blog post, comment or attachment, and the visibility sweep.

Confluence's rules, as the archive applies them (fail closed at every step):

- **Space**: the space's ``read``/``space`` permission (DC ``/rest/api/space/{key}?expand=permissions``,
  the v1 ``SpacePermission`` shape: ``operation``, ``subjects.user``/``subjects.group``,
  ``anonymousAccess``). Its readers are ``group:<name>`` and ``user:<username or accountId>``.
  Anonymous view makes the space public only when the source says the site admits anonymous users
  (``anonymous_access = true``: the global "Use Confluence" permission, which REST v1 does not
  show); otherwise it is ignored. A space whose permissions cannot be read
  (403, 404, no ``permissions`` field) is readable by the archive's own readers only.
- **Personal space** (``type: personal``, key ``~owner``): readable by its owner only
  (``user:<owner>``), whatever else its permissions list.
- **Read restrictions** (``/rest/api/content/{id}/restriction/byOperation/read``, or the content's
  ``restrictions.read.restrictions.user/group`` expansion) are inherited down the page tree: a page
  is readable only by those allowed on every restricted ancestor and on itself. Without group
  membership the archive cannot tell that ``user:bob`` is in ``group:team``, so each level keeps
  the principals named on it *and* on every level above (an intersection of principal names: a
  user named below a group is dropped, narrower than Confluence, never wider). An unreadable
  restriction answer counts as "nobody".
- Comments and attachments read like their page.

The visibility sweep (``sweep``) lists every page and blog post of the selected spaces with its
ancestors and own read restrictions (one CQL listing, ``page_size`` a request) and the spaces'
permissions, so a page moved under a restricted page, a restriction added above it or a space
whose permissions narrowed is narrowed on the next sync, and widened when every fact is known.
"""
from __future__ import annotations

from typing import Iterator, Mapping

from ...errors import Fatal, Skippable
from ...model import Access, Visibility

NOBODY: frozenset[str] = frozenset()


def user_principal(user: dict) -> str:
    """``user:<username>`` (Data Center) or ``user:<accountId>`` (Cloud)."""
    return "user:" + str(user.get("username") or user.get("accountId") or user.get("userKey") or "?")


def principals(subjects: dict) -> frozenset[str]:
    """The users and groups of a v1 ``subjects``/``restrictions`` object."""
    users = ((subjects.get("user") or {}).get("results")) or []
    groups = ((subjects.get("group") or {}).get("results")) or []
    return frozenset([user_principal(u) for u in users] + [f"group:{g['name']}" for g in groups if g.get("name")])


def space_visibility(space: dict | None, key: str, anonymous_site: bool = False) -> Visibility:
    """Who may view a space (module docstring)."""
    if key.startswith("~") or (space or {}).get("type") == "personal":
        return Visibility.restricted(f"personal space {key}", [f"user:{key.lstrip('~')}"])
    permissions = (space or {}).get("permissions")
    if permissions is None:
        return Visibility.restricted(f"space {key}: permissions unreadable", ())
    readers: set[str] = set()
    for permission in permissions:
        operation = permission.get("operation") or {}
        if (operation.get("operation"), operation.get("targetType")) != ("read", "space"):
            continue
        if permission.get("anonymousAccess") and anonymous_site:
            return Visibility.public()
        readers |= principals(permission.get("subjects") or {})
    return Visibility.restricted(f"space {key} view permission", sorted(readers))


def restricted_by(visibility: Visibility, allowed: frozenset[str] | None, where: str) -> Visibility:
    """``visibility`` narrowed by one level's read restriction (None: the level restricts nothing).

    >>> team = frozenset({"group:team"})
    >>> restricted_by(Visibility.public(), team, "Plans").readers
    ('group:team',)
    >>> restricted_by(Visibility.restricted("s", ["group:team", "group:all"]), frozenset({"group:team", "user:bob"}), "x").readers
    ('group:team',)
    >>> restricted_by(Visibility.public(), None, "x").is_public
    True
    """
    if allowed is None:
        return visibility
    readers = allowed if visibility.is_public else allowed & set(visibility.readers)
    reason = f"read restriction on {where}" if visibility.is_public else f"{visibility.reason}; read restriction on {where}"
    return Visibility.restricted(reason, sorted(readers))


class ContentVisibility:
    """Space permissions and read restrictions of one run, and the visibility sweep (a mixin of
    ``ConfluenceSource``: ``api``, ``page_size``, ``_spaces`` and the per-run caches are its)."""

    def _space_visibility(self, key: str) -> Visibility:
        if key not in self._space_access:
            try:
                space = self.api.get(f"/rest/api/space/{key}", {"expand": "permissions"}, allow_404=True)
            except (Fatal, Skippable):      # 403: this account may not read the permissions
                space = None
            self._space_access[key] = space_visibility(space, key, self.anonymous_access)
        return self._space_access[key]

    def _own_restriction(self, content: dict) -> frozenset[str] | None:
        """The content's own read restriction: from its expansion when present, else the endpoint."""
        content_id = str(content["id"])
        if content_id not in self._restrictions:
            read = ((content.get("restrictions") or {}).get("read") or {}).get("restrictions")
            if read is None:
                try:
                    answer = self.api.get(f"/rest/api/content/{content_id}/restriction/byOperation/read",
                                          allow_404=True)
                except (Fatal, Skippable):
                    answer = None
                read = (answer or {}).get("restrictions") if answer is not None else None
            self._restrictions[content_id] = NOBODY if read is None else (principals(read) or None)
        return self._restrictions[content_id]

    def _visibility(self, content: dict) -> Visibility:
        """Space, then every ancestor from the root down, then the content itself."""
        space_key = (content.get("space") or {}).get("key") or ""
        visibility = self._space_visibility(space_key)
        for ancestor in content.get("ancestors") or []:
            if ancestor.get("type", "page") in ("page", "blogpost"):
                visibility = restricted_by(visibility, self._own_restriction(ancestor),
                                           f"ancestor {ancestor.get('title') or ancestor['id']}")
        return restricted_by(visibility, self._own_restriction(content), content.get("title") or str(content["id"]))

    def _tree(self) -> dict[str, dict]:
        """Every page and blog post of the selected spaces with its ancestors and restrictions."""
        if self._listed is None:
            expand = "ancestors,space,version," + RESTRICTIONS
            listed = {}
            for content in self._search(self._cql(("page", "blogpost")), expand):
                listed[str(content["id"])] = content
                self._own_restriction(content)   # so ancestors in the listing cost no request
            self._listed = listed
        return self._listed

    def sweep(self, archived: Mapping[str, Visibility]) -> Iterator[Access]:
        """Who may read each archived record now (module docstring); a record whose page is not
        listed (trashed, purged, out of reach) gets nothing here: ``reconcile`` sees it."""
        if not archived:
            return
        tree = self._tree()
        page_of = {child: page for page, children in self._index.items() for child in children}
        now: dict[str, Visibility] = {}
        for key in archived:
            if key in self._read_now:
                yield Access(key, self._read_now[key])
                continue
            native_id = key.split("/", 2)[2]
            kind, _, number = native_id.partition(":")
            page_id = number if kind in ("page", "blogpost") else page_of.get(native_id)
            if page_id is None or page_id not in tree:
                continue
            if page_id not in now:
                now[page_id] = self._visibility(tree[page_id])
            yield Access(key, now[page_id])


RESTRICTIONS = "restrictions.read.restrictions.user,restrictions.read.restrictions.group"
