"""What Misago objects look like to the source: the allow-listed fields of each record, the edit diffs
rebuilt into texts, and the facts that decide a post's visibility.
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterable

from ...model import Visibility


SYSTEM = "misago"
DEFAULT_READERS = ("role:moderator",)
# the allow-lists of the records (see "Records" in the module docstring)
THREAD_FIELDS = ("id", "title", "starter_name", "started_on", "last_post_on", "replies",
                 "is_closed", "is_hidden", "is_unapproved", "weight")
POST_FIELDS = ("id", "poster_name", "posted_on", "updated_on", "edits", "last_editor_name",
               "is_hidden", "hidden_by_name", "hidden_on", "is_unapproved", "is_protected",
               "is_event", "event_type", "event_context")
EDIT_FIELDS = ("id", "edited_on", "editor_name")
ATTACHMENT_FIELDS = ("id", "filename", "filetype", "is_image", "size", "uploaded_on", "uploader_name")


def diff_sides(diff: Iterable[str]) -> tuple[str, str]:
    """Rebuild (old text, new text) from Misago's ``difflib.ndiff`` of ``splitlines()``.

    >>> diff_sides(["- a", "+ b", "?  ^\\n", "  c"])
    ('a\\nc', 'b\\nc')
    """
    old: list[str] = []
    new: list[str] = []
    for line in diff:
        code, text = line[:2], line[2:]
        if code == "  ":
            old.append(text)
            new.append(text)
        elif code == "- ":
            old.append(text)
        elif code == "+ ":
            new.append(text)
        # "? " lines are intraline hints, not text
    return "\n".join(old), "\n".join(new)


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _pick(data: dict, fields: tuple[str, ...]) -> dict:
    return {name: data.get(name) for name in fields}


def _record(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True).encode("utf-8")


def _post_facts(post: dict) -> dict:
    """What decides a post's and its attachments' visibility, besides its thread."""
    return {**_pick(post, ("id", "is_hidden", "is_unapproved", "poster_name")),
            "attachments": [{"id": att["id"]} for att in post.get("attachments") or []]}


def _readers(visibility: Visibility) -> tuple[bool, frozenset[str]]:
    return visibility.is_public, frozenset(visibility.readers)

