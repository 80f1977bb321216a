"""sync and backfill: fetch → map → file → record, one source at a time, resumable.

Read it top-down:

1. ``Archive.open(config)`` (``connector/archive.py``) wires the repository, filer, ledger, audit
   log and mapper, and takes the run lock (one writer per ledger: ``connector/runlock.py``);
   ``Pipeline(archive)`` is the run loop over it, holding what runs hold (the filing, a requested
   stop, the last key, the run count);
2. ``Pipeline.sync(source)`` pulls the source's changes since its checkpoint and files each object;
   the checkpoint is saved only when the source is exhausted;
3. filing (``connector/filing.py``, one ``Filing`` per run) maps an item to a
   document spec and files the revisions the ledger does
   not have yet, each one as: intent → repository write → audit entry → ledger commit. A run killed
   between the write and the commit leaves the intent; the next run finds the object by its key
   in the repository and records it instead of writing it again;
4. a bad record (``Skippable``) is quarantined with its reason and the run goes on; a repository
   that stays unavailable (``Retriable`` after retries) stops the run *without* saving the
   checkpoint, so nothing is marked done that was not filed;
5. the repository writes run on ``archive.workers`` threads (``connector.workers``): this thread
   reads the source, maps, and alone writes the ledger and the audit log. The order per version stays
   intent → write → audit entry → ledger commit, but durability is grouped: the intents of the
   jobs about to start are committed together (one transaction, one fsync) before any of them
   starts, and the acknowledged versions of the jobs that finished are recorded together (their
   audit entries written and fsynced once, then one ledger commit). At most the window (max(64,
   16 x workers) objects) is acknowledged but not yet recorded; a crash then leaves their intents
   (and loses the group's audit entries, if it came before their fsync), and the next
   run finds those versions by key instead of writing them again. One object's versions are
   written in order by one worker; two objects writing the same record never overlap.

Example::

    with Archive.open(cfg) as archive:
        pipeline = Pipeline(archive)          # one per archive: its runs are numbered
        summary = pipeline.sync(source)
"""
from __future__ import annotations

import contextlib
import functools
import logging
import time
from dataclasses import asdict
from datetime import datetime
from typing import Callable, Iterable, Iterator

from .archive import Archive
from .errors import Fatal, Retriable, Skippable
from .filing import Filing, job_keys
from .model import Access, Item, Tombstone, access_label, visibility_from_label
from .sources import Source
from .summary import Summary
from .sweep import ChangeSweep, Settings as SweepSettings
from .workers import Job, Window

log = logging.getLogger(__name__)


class Pipeline:
    """The run loop over one ``Archive``: sync, reconcile, backfill and retry runs of a source.

    It holds what runs hold and the ``Archive`` does not: this run's ``Filing`` (its quarantines and
    outage), a requested stop (``request_stop``, from a signal handler), the key of the last object
    finished (a backfill's resume marker) and the count of runs (each run's ledger key)."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self._runs = 0
        # Set by request_stop() (a SIGINT/SIGTERM handler): the run ends after the object in flight.
        self.stop_requested = False
        self.last_key: str | None = None
        self.filing = self._filing()   # this run's filing (a fresh one per run: _run)

    # --- runs ---------------------------------------------------------------------------
    def sync(self, source: Source, *, reconcile: bool = False,
             on_object: Callable[[Summary], None] | None = None) -> Summary:
        """Incremental run for one source; the checkpoint advances only after a complete run.

        Right after the changes (before a ``reconcile`` listing, which starts the source's next
        read afresh), every record's ACL is decided again (``access_changes``): from the visibility
        sweep of the source, the archive's restrictions and the config; the ACL is replaced where
        the decided one differs from the one written. Deletions narrow their records themselves."""
        state = self.archive.ledger.source_state(source.name)
        summary = self._run(source, source.changes(state), on_object)
        if summary.outcome == "ok":
            self._consume(self.access_changes(source), summary, on_object)
        if reconcile and summary.outcome == "ok":
            self._consume(source.reconcile(self._known_ids(source.name)), summary, on_object)
        if summary.outcome == "ok":
            self.change_sweep(source, summary, on_object)
        if summary.outcome == "ok" and self.stop_requested:
            # the stop came after the changes were filed, while the sweeps ran (or cut them short):
            # the run ends interrupted and the checkpoint stays, so the next run sweeps again
            summary.outcome = "interrupted"
            log.warning("stopped on request after the changes of %s were filed; the next run goes on", source.name)
        if summary.outcome == "ok" and not self.archive.dry_run:
            self.archive.ledger.save_source_state(source.name, state)
        return self._finish(source, summary)

    def reconcile(self, source: Source, on_object: Callable[[Summary], None] | None = None) -> Summary:
        """Compare the source's id set with the archive; deletions become tombstones."""
        summary = self._run(source, source.reconcile(self._known_ids(source.name)), on_object)
        return self._finish(source, summary)

    def backfill(self, source: Source, since: datetime | None, until: datetime | None,
                 on_object: Callable[[Summary], None] | None = None) -> Summary:
        summary = self._run(source, source.backfill(since, until), on_object, command="backfill")
        return self._finish(source, summary)

    def run_objects(self, source: Source, objects: Iterable[Item | Tombstone], *, command: str,
                    on_object: Callable[[Summary], None] | None = None) -> Summary:
        """File the given objects of ``source`` as one run (``quarantine retry``); no checkpoint."""
        return self._finish(source, self._run(source, objects, on_object, command=command))

    def request_stop(self) -> None:
        """Finish the object in flight, then end the run with outcome ``interrupted``."""
        self.stop_requested = True

    def _known_ids(self, source_name: str) -> set[str]:
        return self.archive.ledger.keys(source_name)

    def access_changes(self, source: Source) -> Iterator[Access]:
        """The records of ``source`` whose decided ACL differs from the one last written.

        The source's visibility sweep says who may read each live record now (records it does not
        answer for keep the visibility last seen); deleted and tombstone records keep theirs. Each
        record's ACL is then decided from that, the archive's restrictions and the config, with no
        request: a no-op run yields nothing. A changed config (principal map, restricted or public
        readers) reaches every filed record here."""
        rows = self.archive.ledger.access_rows(source.name)
        restrictions = self.archive.ledger.restrictions_of(source.name)
        parsed, labelled = functools.cache(visibility_from_label), functools.cache(access_label)   # records share
        # a few labels and decisions: each is made once per run
        mapper = self.archive.mapper
        decide = functools.cache(lambda visibility, placed: mapper.acl(source.name, visibility, placed).digest)
        live = {key: parsed(label) for key, _, label, _, deleted in rows
                if not deleted and key.split("/", 2)[1] != "tombstone"}
        seen = {access.key: access.visibility for access in source.sweep(live) if access.key in live}
        for key, _, label, acl, _ in rows:
            if key in self.filing.quarantined_now:
                continue   # its ACL write failed in this run already: the next run tries again
            visibility = seen.get(key) or parsed(label)
            if decide(visibility, restrictions.get(key, frozenset())) != acl or labelled(visibility) != label:
                yield Access(key, visibility)

    def change_sweep(self, source: Source, summary: Summary, on_object: Callable[[Summary], None] | None) -> None:
        """The rolling change sweep (``connector.sweep``): this run's slice of the archive is
        re-checked for changes no feed reports, and what changed is filed like any change."""
        live = [key for key, _, _, _, deleted in self.archive.ledger.access_rows(source.name) if not deleted]
        configured = self.archive.config.sources
        options = configured[source.name].options if source.name in configured else {}

        def file(objects: Iterable[Item | Tombstone]) -> bool:
            self._consume(objects, summary, on_object)
            return summary.outcome == "ok"
        sweep = ChangeSweep(self.archive.ledger, source, SweepSettings.of(options), dry_run=self.archive.dry_run)
        summary.swept_units = sweep.run(live, file, failed=self.filing.quarantined_now.__contains__).units

    def _run(self, source: Source, objects: Iterable[Item | Tombstone],
             on_object: Callable[[Summary], None] | None, command: str = "sync") -> Summary:
        summary = Summary(source=source.name)
        self._started = time.monotonic()
        self._cmis_before = self.archive.repo.request_count
        self._runs += 1
        self._run_key = f"{self.archive.run_id}-{source.name}-{self._runs}"
        self.filing = self._filing()   # this run's quarantines and outage start empty
        if not self.archive.dry_run:
            self.archive.ledger.start_run(self._run_key, f"{command} {source.name}")
        self._consume(objects, summary, on_object)
        return summary

    def _consume(self, objects: Iterable[Item | Tombstone | Access], summary: Summary,
                 on_object: Callable[[Summary], None] | None) -> None:
        """File ``objects`` through the worker window (``connector.workers``): this thread reads the
        source, maps, writes intents and records results in order; ``archive.workers`` threads do the
        repository writes. ``on_object`` and ``last_key`` follow the source order."""
        window = Window(self.archive.workers, commit=lambda done, starting: self.filing.commit(done, starting, summary),
                        run=self.filing.write_job, notify=lambda done: self._notify(done, summary, on_object),
                        stopping=lambda: self.stop_requested)
        finished: list[Job] = []
        stopped = False
        try:
            closed = False
            try:
                for obj in objects:
                    keys = job_keys(obj)
                    if window.blocked_by(keys):
                        window.wait_for(keys)   # prepare from a ledger that has the earlier job's versions
                    if self.stop_requested or not window.add(self.filing.prepare(obj, summary)) or self.stop_requested:
                        stopped = True
                        break
                else:
                    window.drain()
                    stopped = self.stop_requested   # the stop came while the last writes ran
            except KeyboardInterrupt:
                # aborted (a second Ctrl-C): do not wait for writes in flight; their intents stay,
                # so the next run looks those records up in the repository before writing
                finished, never = window.close(wait=False)
                closed = True
                self.filing.forget(never)
                raise
            finally:
                if not closed:
                    finished, never = window.close()   # waits for the writes in flight
                    self.filing.forget(never)
            self.filing.commit(finished, [], summary)
            self._notify(finished, summary, on_object)
            if stopped:
                summary.outcome = "interrupted"
                log.warning("stopped on request after %s; the next run goes on from here", self.last_key)
        except Retriable as exc:
            self.filing.commit(finished, [], summary)   # what the repository acknowledged
            summary.outcome = "unavailable"
            summary.errors.append(str(exc))
            log.error("stopping the run, the checkpoint stays where it was: %s", exc)
        except (Fatal, Skippable) as exc:   # Skippable here came out of the source itself, not an item:
            self.filing.commit(finished, [], summary)   # (an oversized listing) nothing after it can be trusted
            summary.outcome = "fatal"
            summary.errors.append(str(exc))
            log.error("stopping the run: %s", exc)
        except BaseException:
            self.filing.commit(finished, [], summary)
            raise

    def _finish(self, source: Source, summary: Summary) -> Summary:
        for skipped in source.skipped:   # records the source could not read
            self.filing.quarantine(skipped.key, source.name, Skippable(skipped.reason), summary)
        summary.seconds = time.monotonic() - self._started
        summary.source_requests = source.request_count
        summary.cmis_requests = self.archive.repo.request_count - self._cmis_before
        if summary.outcome == "ok" and summary.quarantined:
            summary.outcome = "quarantined"
        archive = self.archive
        if not archive.dry_run:
            archive.ledger.finish_run(self._run_key, summary.outcome, asdict(summary))
            archive.audit.append("run", run_id=archive.run_id, source=source.name, outcome=summary.outcome,
                                 versions=summary.versions, tombstones=summary.tombstones,
                                 quarantined=summary.quarantined, config_sha256=archive.config.fingerprint)
        return summary

    # --- one object: connector/filing.py ------------------------------------------------
    def archive_object(self, obj: Item | Tombstone, summary: Summary) -> None:
        """File one object now, in this thread (no window): intent, write, audit, commit."""
        self.filing.file_now(obj, summary)

    def _filing(self) -> Filing:
        archive = self.archive
        return Filing(repo=archive.repo, filer=archive.filer, ledger=archive.ledger, audit=archive.audit,
                      mapper=archive.mapper, run_id=archive.run_id, dry_run=archive.dry_run)

    def _notify(self, finished: list[Job], summary: Summary, on_object: Callable[[Summary], None] | None) -> None:
        """``last_key`` and ``on_object`` per finished job, in order, up to a job whose failure
        stops the run (raised here, after everything before it was reported)."""
        failed = next((n for n, job in enumerate(finished) if job.payload.failure is not None), len(finished))
        if on_object and failed:
            # what on_object writes (backfill progress) shares one commit
            with self.archive.ledger.transaction() if not self.archive.dry_run else contextlib.nullcontext():
                for job in finished[:failed]:
                    self.last_key = job.payload.key
                    on_object(summary)
        elif failed:
            self.last_key = finished[failed - 1].payload.key
        if failed < len(finished):
            raise finished[failed].payload.failure
