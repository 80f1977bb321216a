"""``socialarchive quarantine list|retry``: records that could not be filed, and filing them again.

A record is quarantined (ledger table ``quarantine``) when the source gave something that cannot be
filed as it is (a digest mismatch, a media type the repository refuses, a file that vanished
mid-download ...), or could not give it at all (``Source.skipped``: an error answer for one page,
a record that cannot be built, a topic the key may not read); the run goes on without it.

Retry reads the records again *from the source* and files them through the normal pipeline:

- sources whose ``fetch(native_ids)`` reads by id (``fetch_method = "fetch"``) read exactly those
  records: MediaWiki (a page with its whole history and its file, by page id) and WordPress
  (posts, pages, media, comments by id);
- the forums (Misago, Discourse) keep the contract's default ``fetch``: a post is only addressable
  inside its thread and the quarantine keeps no thread id, so their retry lists the whole source
  (``backfill(None, None)``) and files only the objects that carry a quarantined key. Correct,
  but it costs a full listing; retry those after fixing the cause, not in a loop.

A record that files this time leaves the quarantine (the ledger clears it with its first committed
version); one whose revisions are all archived already is cleared too; one that fails again stays
with ``attempts + 1`` and the new reason; one the source no longer returns stays, marked so.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Iterable, Iterator

from .model import Item, Tombstone
from .pipeline import Pipeline
from .summary import Summary
from .sources import Source


def entries(ledger, source: str | None = None, key: str | None = None) -> list[dict]:
    rows = [{"key": k, "source": s, "error": e, "reason": r, "attempts": a, "first_seen": f, "last_seen": l}
            for k, s, e, r, a, f, l in ledger.quarantined(source)]
    return [row for row in rows if key is None or row["key"] == key]


def one_line(text: str) -> str:
    """A reason as one line for a listing (a repository's error may carry a stack of lines; the
    ledger and ``--json`` keep it whole).

    Example: ``one_line("refused:\\n  at Parser.java:12\\n")`` -> ``"refused: at Parser.java:12"``."""
    return " ".join(str(text).split())


def _native_id(key: str) -> str:
    return key.split("/", 2)[2] if key.count("/") >= 2 else key


def _matching(objects: Iterable[Item | Tombstone], keys: set[str]) -> Iterator[Item | Tombstone]:
    for obj in objects:
        if obj.key in keys or (isinstance(obj, Item) and any(a.key in keys for a in obj.attachments)):
            yield obj


def retry(pipeline: Pipeline, source: Source, keys: list[str]) -> dict:
    """File the quarantined ``keys`` of ``source`` again, as a run of ``pipeline``; returns what
    became of each."""
    ledger = pipeline.archive.ledger
    wanted = set(keys)
    seen: set[str] = set()
    attempts = {row["key"]: row["attempts"] for row in entries(ledger, source.name)}
    archived = {key: len(ledger.filed_revisions(key)) for key in wanted}

    def objects() -> Iterator[Item | Tombstone]:
        for obj in _matching(source.fetch([_native_id(k) for k in sorted(wanted)]), wanted):
            seen.add(obj.key)
            if isinstance(obj, Item):
                seen.update(a.key for a in obj.attachments)
            yield obj

    summary: Summary = pipeline.run_objects(source, objects(), command="retry")
    still = {row["key"]: row for row in entries(ledger, source.name)}
    results = []
    for key in sorted(wanted):
        if key not in still:   # the pipeline released it: filed now, or archived already and read fine
            newly = len(ledger.filed_revisions(key)) > archived[key]
            outcome = "filed: released" if newly else "already archived: released"
        elif still[key]["attempts"] > attempts.get(key, 0):
            outcome = f"failed again: {still[key]['reason']}"
        elif summary.outcome not in ("ok", "quarantined"):
            outcome = f"run stopped ({summary.outcome}): still quarantined"
        elif key not in seen:
            outcome = "not returned by the source (deleted there, or not readable): still quarantined"
        else:
            outcome = "returned without revisions to file: still quarantined"
        results.append({"key": key, "outcome": outcome})
    return {"source": source.name, "method": source.fetch_method,
            "results": results, "summary": asdict(summary)}
