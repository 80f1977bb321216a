"""What Discourse objects look like to the source: permission types, upload references (the SHA-1 in an
upload's short URL), revision diffs, and the change marker a post is archived under.
"""
from __future__ import annotations

import hashlib
import re
from typing import Callable


SYSTEM = "discourse"
READ_PERMISSIONS = (1, 2, 3)  # full, create_post, readonly
WHISPER = 4
UPLOAD_RE = re.compile(r"upload://([0-9A-Za-z]+)(\.[0-9A-Za-z]+)?")
UPLOAD_LINK_RE = re.compile(r"\[([^\]|]*)(?:\|[^\]]*)?\]\((upload://[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)?)\)")
SHA1_NAME_RE = re.compile(r"([0-9a-f]{40})(?:\.[0-9A-Za-z]+)?$")
BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def sha1_from_short_url(short: str) -> str | None:
    """``upload://<base62>`` → the upload's SHA-1 (Discourse encodes the 160-bit digest in base 62).

    >>> sha1_from_short_url("upload://" + "0" * 26 + "1.png")
    '0000000000000000000000000000000000000001'
    """
    match = UPLOAD_RE.search(short)
    if not match:
        return None
    number = 0
    for char in match.group(1):
        number = number * 62 + BASE62.index(char)
    digest = f"{number:040x}"
    return digest if len(digest) == 40 else None


def body_changed(revision: dict) -> bool:
    """Did this revision change the raw text? (its Markdown diff shows insertions or deletions)"""
    changes = revision.get("body_changes")
    if not isinstance(changes, dict):
        return True  # unknown: fetch rather than guess
    markdown = changes.get("side_by_side_markdown") or ""
    return any(mark in markdown for mark in ("<ins", "<del", "diff-ins", "diff-del"))


def _short(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:10]


def _archived_test(key: str, marker: str) -> Callable[[set[str]], bool]:
    """Is the state a marker names among the filed revisions? (for a record with no stored marker)

    >>> _archived_test("talk/post/post:7", "v2|2024-01-01")({"v1-ab12", "v2-cd34"})
    True
    >>> _archived_test("talk/post/post:7", "v3|2024-01-01")({"v1-ab12", "v2-cd34"})
    False
    """
    if "/post/" in key:
        prefix = marker.split("|", 1)[0] + "-"
        return lambda filed: any(revision.startswith(prefix) for revision in filed)
    return lambda filed: marker in filed

