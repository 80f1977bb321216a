"""What a Discourse record may hold: allow-lists of fields, never the raw API response.

A record is filed under its own item's ACL, so it may only hold data about that item that every
reader of the item may see. The raw answers break that: ``/t/{id}.json`` carries the first 20
posts' HTML (whispers, soft-deleted and hidden posts included for the archive's admin key),
``suggested_topics`` with titles and excerpts of *other* topics, per-viewer flags, and counts and
"last poster" values that include staff-only posts. So every record is built from these lists:

- **thread** (the thread's content and its ``sa:sourceRecord``): ``id``, ``title``, ``slug``,
  ``category_id``, ``category_name``, ``tags``, ``archetype``, ``created_at``, ``created_by``
  (username), ``closed``, ``archived``, ``visible`` (false = unlisted), ``pinned``,
  ``pinned_globally``, ``featured_link``, ``deleted_at``; for private messages
  ``allowed_users`` and ``allowed_groups`` (names; the readers of such a record are exactly
  these); and, derived from the posts every reader of the thread sees (not whispers, not hidden,
  not deleted or withdrawn): ``post_ids``, ``posts_count``, ``last_posted_at``. Discourse's own
  ``posts_count``, ``reply_count``, ``highest_post_number``, ``participant_count``,
  ``last_posted_at`` and ``details.last_poster`` are left out: for a staff key they count or
  name staff-only posts; ``views`` and ``like_count`` are left out because they change on every
  read and would make a new thread version each run.
- **post** (``sa:sourceRecord`` of a post's newest version, under ``"post"``): ``id``,
  ``topic_id``, ``post_number``, ``post_type``, ``reply_to_post_number``, ``username``,
  ``created_at``, ``updated_at``, ``version``, ``edit_reason``, ``wiki``, ``hidden``,
  ``deleted_at``, ``user_deleted``. Not ``raw`` (it is the version's content already), not
  ``cooked`` (rendered HTML whose oneboxes quote other topics), not ``topic_title``/``excerpt``
  of ``/posts.json``.
- **revision** (``sa:sourceRecord`` of versions 2..n, under ``"revision"``): ``post_id``,
  ``current_revision``, ``previous_revision``, ``created_at``, ``username``, ``edit_reason``,
  ``previous_hidden``, ``current_hidden``. Not the HTML diffs and not ``title_changes`` or
  ``category_id_changes`` (facts of the topic, not of this post).
- **upload** (an attachment's ``sa:sourceRecord``): ``short_url``, ``short_path``, ``url``.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

THREAD_FIELDS = ("id", "title", "slug", "category_id", "archetype", "created_at", "closed", "archived",
                 "visible", "pinned", "pinned_globally", "featured_link", "deleted_at")
POST_FIELDS = ("id", "topic_id", "post_number", "post_type", "reply_to_post_number", "username", "created_at",
               "updated_at", "version", "edit_reason", "wiki", "hidden", "deleted_at", "user_deleted")
REVISION_FIELDS = ("post_id", "current_revision", "previous_revision", "created_at", "username", "edit_reason",
                   "previous_hidden", "current_hidden")
UPLOAD_FIELDS = ("short_url", "short_path", "url")


def _pick(data: dict, names: Iterable[str]) -> dict[str, Any]:
    return {name: data.get(name) for name in names}


def thread_record(topic: dict, category_name: str, tags: Iterable[str], visible_posts: list[dict]) -> dict:
    """The thread's record. ``visible_posts``: the posts every reader of the thread may see, in order."""
    details = topic.get("details") or {}
    record = _pick(topic, THREAD_FIELDS)
    record.update(category_name=category_name, tags=sorted(tags),
                  created_by=(details.get("created_by") or {}).get("username"),
                  post_ids=[post["id"] for post in visible_posts], posts_count=len(visible_posts),
                  last_posted_at=max((p.get("created_at") or "" for p in visible_posts), default=None) or None)
    if topic.get("archetype") == "private_message":
        record["allowed_users"] = sorted(u["username"] for u in details.get("allowed_users") or [] if u.get("username"))
        record["allowed_groups"] = sorted(g["name"] for g in details.get("allowed_groups") or [] if g.get("name"))
    return record


def post_record(post: dict) -> dict:
    return _pick(post, POST_FIELDS)


def revision_record(revision: dict) -> dict:
    return _pick(revision, REVISION_FIELDS)


def upload_record(entry: dict) -> dict:
    return _pick(entry, UPLOAD_FIELDS)


def encode(record: dict) -> bytes:
    """Stable bytes (sorted keys): equal records are equal bytes, so a digest of them is a version id."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
