"""What a MediaWiki run plans and keeps: the props asked for, the limits, the run facts (``Run``), the
page plans and buffers, the recentchanges/log ids seen in the overlap (``Seen``), and small readers
of API objects.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable


SYSTEM = "mediawiki"
WIKITEXT = "text/x-wiki"
HIDDEN = "(hidden)"
DEFAULT_NAMESPACES = (0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15)
FILE_NS = 6
# revision properties with content (batches) and without (history planning)
REV_PROPS = "ids|timestamp|flags|comment|user|userid|size|slotsize|sha1|slotsha1|contentmodel|content|tags"
HISTORY_PROPS = "ids|timestamp|flags|user|userid|comment|size|sha1"   # comment: commenthidden
INFO_PROPS = "protection|url|talkid|subjectid"
II_PROPS = "timestamp|user|userid|comment|url|size|sha1|mime|archivename"
HIDDEN_FLAGS = ("texthidden", "userhidden", "commenthidden", "sha1hidden", "suppressed", "filehidden")
# log types whose event touches a page; value: "full" = refetch the whole history. Page creations
# come from recentchanges/allrevisions (parentid 0), so create/create is not needed here.
LOG_ACTIONS = {
    "move": "window", "protect": "window", "upload": "window",
    "contentmodel": "window", "pagelang": "window", "import": "full", "merge": "full",
}
MAX_SEEN_IDS = 20000             # ids of the overlap kept in the state (rc_seen, log_seen)
SITE_PARAMS = {"action": "query", "meta": "siteinfo|userinfo",
               "siprop": "general|namespaces|usergroups|statistics", "uiprop": "rights|groups"}
ITEM_BYTES_BUDGET = 64 << 20     # a page with a larger history is yielded in slices
MAX_RETRY_PAGES = 1000
MAX_WIDENING_CHECKS = 500        # page metadata requests a sweep may spend on records to widen
SYSOPS = ("group:sysop",)        # who sees revision-deleted and deleted content in the wiki
MEMBERS = ("group:user",)        # who reads a private wiki

def canonical_json(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Run:
    """Facts taken once per run from meta=siteinfo|userinfo."""

    server_time: datetime
    namespaces: dict[int, str]
    script_url: str
    star_reads: bool   # the "*" group has the read right
    cap: int           # revisions with content per request
    list_cap: int      # list items per request
    rights: frozenset[str]
    general: dict
    statistics: dict
    anonymous_can_read: Callable[[], bool] = lambda: False
    _private: bool | None = None

    @property
    def private(self) -> bool:
        """Anonymous users cannot read the wiki. Asked (one anonymous request) on first use, so a
        run that yields nothing never asks; fails closed like before."""
        if self._private is None:
            self._private = not self.star_reads or not self.anonymous_can_read()
        return self._private


@dataclass
class Plan:
    """One page to yield: which revisions to fetch, and (incremental) its metadata-only history."""

    pageid: int
    revids: list[int]
    history: list[dict] | None = None
    first_event: str = ""


@dataclass
class Buffer:
    plan: Plan
    page: dict | None = None
    revs: dict[int, dict] = field(default_factory=dict)
    done: int = 0
    bytes: int = 0
    creator: tuple[str | None, datetime] | None = None
    hidden: bool = False
    sliced: bool = False

    @property
    def complete(self) -> bool:
        return self.done >= len(self.plan.revids)


class Seen:
    """recentchanges rows and log events read in this run, for the next run's overlap."""

    def __init__(self):
        self.rows: dict[int, str] = {}
        self.events: dict[int, str] = {}
        self.anchored: tuple[int, str] | None = None

    def rc(self, rcid: int, timestamp: str) -> None:
        if rcid:
            self.rows[rcid] = timestamp

    def log(self, logid: int, timestamp: str) -> None:
        if logid:
            self.events[logid] = timestamp

    def anchor(self, rcid: int, timestamp: str) -> None:
        if rcid and (self.anchored is None or rcid > self.anchored[0]):
            self.anchored = (rcid, timestamp)

    def save(self, state: dict, checkpoint: str) -> None:
        """Keep the ids the next run will read again: recentchanges from the older of its checkpoint
        and the anchor, logevents from its checkpoint. Too many (a very busy overlap): keep none,
        the next run then re-reads the overlap like before."""
        if self.rows:
            newest = max(self.rows)
            self.anchor(newest, self.rows[newest])
        if self.anchored is not None:
            state["rc_anchor"] = [self.anchored[0], self.anchored[1]]
        rc_from = min(checkpoint, self.anchored[1]) if self.anchored else checkpoint
        rc_seen = sorted(i for i, ts in self.rows.items() if ts >= rc_from)
        log_seen = sorted(i for i, ts in self.events.items() if ts >= checkpoint)
        for key, ids in (("rc_seen", rc_seen), ("log_seen", log_seen)):
            if ids and len(ids) <= MAX_SEEN_IDS:
                state[key] = ids
            else:
                state.pop(key, None)

def _user(obj: dict) -> str | None:
    if obj.get("userhidden"):
        return HIDDEN
    return obj.get("user")


def _hidden(obj: dict) -> bool:
    return any(obj.get(flag) for flag in HIDDEN_FLAGS) or any(
        ((obj.get("slots") or {}).get("main") or {}).get(flag) for flag in HIDDEN_FLAGS)


def _strip_ns(title: str) -> str:
    return title.split(":", 1)[1] if ":" in title else title


def _protection(entries: list[dict]) -> str:
    """``edit=sysop,move=sysop``; a finite expiry is appended as ``@2026-12-01T00:00:00Z``."""
    parts = []
    for entry in entries:
        text = f"{entry.get('type')}={entry.get('level')}"
        expiry = entry.get("expiry", "infinity")
        if expiry not in ("infinity", "infinite", "indefinite", None):
            text += f"@{expiry}"
        if entry.get("source"):
            text += f"(cascade from {entry['source']})"
        parts.append(text)
    return ",".join(parts)
