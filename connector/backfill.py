"""Resumable backfills: archive exactly the items of one source created or changed in a range.

A backfill is identified by ``(source, since, until)``: its run id is derived from them, so the
same command run again is the same backfill. The ledger's ``backfills`` table records its status
(``running`` while it runs, ``interrupted`` after Ctrl-C or SIGTERM, ``failed`` after an error,
``done``), how many objects it has finished and the key of the last one.

Resuming: a run that was killed (even with SIGKILL) or interrupted is continued by running the
same command again. No source can hand out a position inside its range that would survive a
restart (their listings are generators over keyset or continuation cursors that are not
serialised), so the range is listed again from its start; every revision the ledger already holds
is skipped without any repository request (filing is idempotent, and a version written just
before a kill is found by its key and recorded, never written twice). What is repeated is the
*source* reading of the finished part: listings, and for WordPress one revisions request per post,
for MediaWiki the batched revision content, for the forums the thread and post requests. The
objects and last key in the ledger only drive the progress display and ``status``.

Example::

    with Archive.open(cfg) as archive:
        result = run_backfill(Pipeline(archive), source, since, until, on_object=progress.update)
    result["status"]  # "done", "interrupted", "failed" ...
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import datetime
from typing import Callable

from .pipeline import Pipeline
from .sources import Source
from .summary import Summary
from .when import iso

DONE, RUNNING, INTERRUPTED, FAILED = "done", "running", "interrupted", "failed"


def run_id(source: str, since: datetime | None, until: datetime | None) -> str:
    """``backfill-<source>-<12 hex>``: the same source and range always give the same id."""
    digest = hashlib.sha256(f"{source}|{iso(since) or '-'}|{iso(until) or '-'}".encode()).hexdigest()[:12]
    return f"backfill-{source}-{digest}"


def run_backfill(pipeline: Pipeline, source: Source, since: datetime | None, until: datetime | None, *,
                 on_object: Callable[[Summary], None] | None = None, force: bool = False) -> dict:
    """Run (or resume) the backfill of ``source`` over ``[since, until)`` as a run of ``pipeline``;
    returns a JSON-able result.

    A backfill already ``done`` is not run again unless ``force``. With the archive's ``dry_run``
    the ledger is not touched.
    """
    archive = pipeline.archive
    rid = run_id(source.name, since, until)
    previous = archive.ledger.backfill_run(rid)
    result = {"run_id": rid, "source": source.name, "since": iso(since), "until": iso(until),
              "dry_run": archive.dry_run, "resumed": bool(previous and previous["status"] != DONE),
              "previous": _public(previous), "skipped": False}
    if previous and previous["status"] == DONE and not force:
        result.update(status=DONE, skipped=True, summary=None)
        return result
    if not archive.dry_run:
        archive.ledger.begin_backfill(rid, source.name, iso(since), iso(until))
    done = [0]

    def step(summary: Summary) -> None:
        done[0] += 1
        if not archive.dry_run:
            archive.ledger.backfill_progress(rid, done[0], pipeline.last_key)
        if on_object:
            on_object(summary)

    status = FAILED
    summary: Summary | None = None
    try:
        summary = pipeline.backfill(source, since, until, on_object=step)
        status = {"ok": DONE, "quarantined": DONE, "interrupted": INTERRUPTED}.get(summary.outcome, FAILED)
    except KeyboardInterrupt:
        status = INTERRUPTED
        raise
    finally:
        if not archive.dry_run:
            archive.ledger.finish_backfill(rid, status, asdict(summary) if summary else {})
    result.update(status=status, objects=done[0], summary=asdict(summary))
    return result


def _public(row: dict | None) -> dict | None:
    if not row:
        return None
    return {k: row[k] for k in ("status", "objects", "cursor", "attempts", "started_at", "updated_at",
                                "finished_at") if k in row}
