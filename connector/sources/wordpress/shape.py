"""What WordPress objects look like to the source: the statuses it lists and the allow-listed fields
of each record. Times are the kit's (``kit.window.parse_time``: a ``*_gmt`` string carries no
offset and is UTC; MySQL's zero date is no time).
"""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta, timezone
from typing import Any, Iterable, Iterator

from .api import PER_PAGE


UTC = timezone.utc
POST_STATUSES = ("publish", "future", "draft", "pending", "private", "trash")
MEDIA_STATUSES = ("inherit", "private", "trash")
COMMENT_STATUSES = ("all", "spam", "trash")          # "all" = approved + hold
DEFAULT_TYPES = {"posts": "post", "pages": "page"}
RESTRICTED_STATUSES = ("future", "draft", "pending", "private", "trash")
NARROWED_COMMENTS = ("hold", "spam", "trash")    # the sweep lists these (and "post-trashed" ones)
POST_RECORD = ("id", "type", "slug", "status", "link", "guid", "date", "date_gmt", "modified", "modified_gmt",
               "author", "title", "content", "excerpt", "comment_status", "ping_status", "sticky", "format",
               "template", "categories", "tags", "featured_media", "parent", "menu_order")
REVISION_RECORD = ("id", "parent", "author", "date", "date_gmt", "modified", "modified_gmt", "slug", "guid",
                   "title", "content", "excerpt")
MEDIA_RECORD = ("id", "type", "slug", "status", "link", "guid", "date", "date_gmt", "modified", "modified_gmt",
                "author", "title", "caption", "description", "alt_text", "media_type", "mime_type",
                "source_url", "media_details", "post", "comment_status", "ping_status", "template")
COMMENT_RECORD = ("id", "post", "parent", "author", "author_name", "author_url", "date", "date_gmt", "content",
                  "link", "status", "type")
STATE_VERSION = 1
NEEDED_CAPS = ("edit_others_posts", "read_private_posts", "edit_others_pages", "read_private_pages",
               "moderate_comments")
DST_PROBE = timedelta(hours=3)


def _sig(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _raw(field: Any) -> str:
    if isinstance(field, dict):
        return field.get("raw", field.get("rendered", "")) or ""
    return field or ""


def _record(obj: dict, fields: tuple[str, ...]) -> bytes:
    """The record of one item: the allowed fields of the API object, nothing else."""
    return json.dumps({k: obj[k] for k in fields if k in obj}, ensure_ascii=False).encode("utf-8")


def _chunks(ids: Iterable[int], size: int = PER_PAGE) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
