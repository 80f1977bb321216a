"""sync and backfill: fetch → map → file → record, one source at a time, resumable.

Read it top-down:

1. ``Archive.open(config)`` wires the repository, filer, ledger, audit log and mapper, and takes
   the run lock (one writer per ledger);
2. ``Archive.sync(source)`` pulls the source's changes since its checkpoint and hands each object
   to ``archive_object``; the checkpoint is saved only when the source is exhausted;
3. ``archive_object`` maps an item to a document spec and files the revisions the ledger does
   not have yet, each one as: intent → repository write → audit entry → ledger commit. A run killed
   between the write and the commit leaves the intent; the next run finds the object by its key
   in the repository and records it instead of writing it again;
4. a bad record (``Skippable``) is quarantined with its reason and the run goes on; a repository
   that stays unavailable (``Retriable`` after retries) stops the run *without* saving the
   checkpoint, so nothing is marked done that was not filed;
5. the repository writes run on ``workers`` threads (``connector.workers``): this thread reads the
   source, maps, and alone writes the ledger and the audit log. The order per version stays
   intent → write → audit entry → ledger commit, but durability is grouped: the intents of the
   jobs about to start are committed together (one transaction, one fsync) before any of them
   starts, and the acknowledged versions of the jobs that finished are recorded together (their
   audit entries written and fsynced once, then one ledger commit). At most the window (max(64,
   16 x workers) objects) is acknowledged but not yet recorded; a crash then leaves their intents
   (and loses the group's audit entries, if it came before their fsync), and the next
   run finds those versions by key instead of writing them again. One object's versions are
   written in order by one worker; two objects writing the same record never overlap.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from . import __version__
from .audit import AuditLog
from .cmis.bindings import Repository, open_repository
from .cmis.filer import DocumentSpec, FiledVersion, Filer, VersionSpec
from .cmis.profiles import profile as load_profile
from .compliance.classify import audit_fields as classification_audit, build as build_classifier
from .config import Config
from .errors import AlreadyFiled, Fatal, Retriable, Skippable, SourceUnavailable
from .access import AccessPolicy, DecidedAcl
from .http import SETTINGS as HTTP_SETTINGS, retrying
from .ledger import Ledger
from .mapping import Mapper, Rules
from .rebuild import check_archive
from .runlock import take_lock
from .model import Access, Item, Tombstone, Visibility, access_label, visibility_from_label
from .sources import Source
from .sweep import ChangeSweep, Settings as SweepSettings
from .workers import DEFAULT_WORKERS, Job, Window

log = logging.getLogger(__name__)


class _RepositoryDown(Exception):
    """Not transient on purpose: ends a write's retries at once once the repository is known down."""

    def __init__(self, outage: Retriable):
        super().__init__(str(outage))
        self.outage = outage


@dataclass
class Summary:
    source: str
    items: int = 0
    versions: int = 0
    files: int = 0
    tombstones: int = 0
    unchanged: int = 0
    acl_changes: int = 0    # records whose ACL followed the source without a new version
    swept_units: int = 0    # units the change sweep re-checked (connector.sweep)
    recovered: int = 0
    quarantined: int = 0
    source_requests: int = 0
    cmis_requests: int = 0
    seconds: float = 0.0
    outcome: str = "ok"
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.source}: {self.items} items, {self.versions} new versions, {self.files} files, "
                f"{self.tombstones} tombstones, {self.unchanged} unchanged, {self.acl_changes} ACL changes, "
                f"{self.quarantined} quarantined, "
                f"{self.recovered} recovered; {self.source_requests} source + {self.cmis_requests} CMIS "
                f"requests in {self.seconds:.1f} s ({self.outcome})")


class Archive:
    def __init__(self, config: Config, repo: Repository, filer: Filer, ledger: Ledger,
                 audit: AuditLog, mapper: Mapper, run_id: str, dry_run: bool = False):
        self.config, self.repo, self.filer, self.ledger = config, repo, filer, ledger
        self.audit, self.mapper, self.run_id, self.dry_run = audit, mapper, run_id, dry_run
        self._lock_fd: int | None = None
        self._runs = 0
        # Set by request_stop() (a SIGINT/SIGTERM handler): the run ends after the object in flight.
        self.stop_requested = False
        self.last_key: str | None = None
        self.workers = DEFAULT_WORKERS   # threads writing to the repository (connector.workers)
        self._quarantined_now: set[str] = set()

    @classmethod
    def open(cls, config: Config, *, dry_run: bool = False, lock: bool = True,
             run_id: str | None = None, workers: int = DEFAULT_WORKERS, expect_archive: bool = True) -> "Archive":
        """``expect_archive``: a writing run first checks that the repository still holds the
        archive the ledger describes (``rebuild.check_archive``); ``ledger rebuild`` does not."""
        run_id = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        lock_fd = take_lock(config.ledger_path + ".lock") if lock else None
        try:
            archive = cls._wire(config, run_id, dry_run=dry_run, workers=workers, expect_archive=expect_archive)
        except BaseException:   # the lock must not outlive a run that failed to start (in-process callers)
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        archive._lock_fd = lock_fd
        return archive

    @classmethod
    def _wire(cls, config: Config, run_id: str, *, dry_run: bool, workers: int, expect_archive: bool) -> "Archive":
        """What ``open`` builds once it holds the lock; a failure closes the ledger it opened (``open``
        releases the lock), so a process that goes on (a test, a library caller) can run again."""
        rc = config.repository
        repo = open_repository(rc, timeout=(10.0, rc.timeout), user_agent=f"socialarchive/{__version__}",
                              pool_size=workers + 2)
        prof = load_profile(rc.profile)
        filer = Filer(repo, prof, rc.base_path)
        info = retrying(repo.info, attempts=3)
        ledger = Ledger(config.ledger_path)
        try:
            if expect_archive and not dry_run:
                retrying(lambda: check_archive(repo, filer, ledger), attempts=3)
            classifier = retrying(lambda: build_classifier(config, repo, ledger, prof), attempts=3)
            policy = AccessPolicy(config.permissions, prof, anyone=info.anyone, anonymous=info.anonymous)
            mapper = Mapper(Rules.load(config.mapping_path), policy, run_id, classifier=classifier)
            archive = cls(config, repo, filer, ledger, AuditLog(config.audit_path), mapper, run_id, dry_run)
            archive.workers = max(1, int(workers))
            if not dry_run:
                retrying(filer.ensure_types, attempts=3)
        except BaseException:
            ledger.close()
            raise
        return archive

    def close(self) -> None:
        self.ledger.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- runs ---------------------------------------------------------------------------
    def sync(self, source: Source, *, reconcile: bool = False,
             on_object: Callable[[Summary], None] | None = None) -> Summary:
        """Incremental run for one source; the checkpoint advances only after a complete run.

        Right after the changes (before a ``reconcile`` listing, which starts the source's next
        read afresh), every record's ACL is decided again (``access_changes``): from the visibility
        sweep of the source, the archive's restrictions and the config; the ACL is replaced where
        the decided one differs from the one written. Deletions narrow their records themselves."""
        state = self.ledger.source_state(source.name)
        summary = self._run(source, source.changes(state), on_object)
        if summary.outcome == "ok":
            self._consume(self.access_changes(source), summary, on_object)
        if reconcile and summary.outcome == "ok" and hasattr(source, "reconcile"):
            self._consume(source.reconcile(self._known_ids(source.name)), summary, on_object)
        if summary.outcome == "ok" and hasattr(source, "recheck"):
            self.change_sweep(source, summary, on_object)
        if summary.outcome == "ok" and not self.dry_run:
            self.ledger.save_source_state(source.name, state)
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
        return self.ledger.keys(source_name)

    def access_changes(self, source: Source) -> Iterator[Access]:
        """The records of ``source`` whose decided ACL differs from the one last written.

        The source's visibility sweep says who may read each live record now (records it does not
        answer for keep the visibility last seen); deleted and tombstone records keep theirs. Each
        record's ACL is then decided from that, the archive's restrictions and the config, with no
        request: a no-op run yields nothing. A changed config (principal map, restricted or public
        readers) reaches every filed record here."""
        rows = self.ledger.access_rows(source.name)
        restrictions = self.ledger.restrictions_of(source.name)
        parsed, labelled = functools.cache(visibility_from_label), functools.cache(access_label)   # records share
        # a few labels and decisions: each is made once per run
        decide = functools.cache(lambda visibility, placed: self.mapper.acl(source.name, visibility, placed).digest)
        live = {key: parsed(label) for key, _, label, _, deleted in rows
                if not deleted and key.split("/", 2)[1] != "tombstone"}
        seen = {access.key: access.visibility for access in source.sweep(live) if access.key in live}
        for key, _, label, acl, _ in rows:
            if key in self._quarantined_now:
                continue   # its ACL write failed in this run already: the next run tries again
            visibility = seen.get(key) or parsed(label)
            if decide(visibility, restrictions.get(key, frozenset())) != acl or labelled(visibility) != label:
                yield Access(key, visibility)

    def change_sweep(self, source: Source, summary: Summary, on_object: Callable[[Summary], None] | None) -> None:
        """The rolling change sweep (``connector.sweep``): this run's slice of the archive is
        re-checked for changes no feed reports, and what changed is filed like any change."""
        live = [key for key, _, _, _, deleted in self.ledger.access_rows(source.name) if not deleted]
        options = self.config.sources[source.name].options if source.name in self.config.sources else {}

        def file(objects: Iterable[Item | Tombstone]) -> bool:
            self._consume(objects, summary, on_object)
            return summary.outcome == "ok"
        sweep = ChangeSweep(self.ledger, source, SweepSettings.of(options), dry_run=self.dry_run)
        summary.swept_units = sweep.run(live, file, failed=self._quarantined_now.__contains__).units

    def _run(self, source: Source, objects: Iterable[Item | Tombstone],
             on_object: Callable[[Summary], None] | None, command: str = "sync") -> Summary:
        summary = Summary(source=source.name)
        self._started = time.monotonic()
        self._cmis_before = self.repo.request_count
        self._runs += 1
        self._run_key = f"{self.run_id}-{source.name}-{self._runs}"
        self._outage: Retriable | None = None   # set by _gave_up: the repository is down, stop writing
        self._quarantined_now: set[str] = set()   # records this run quarantined: not tried again in it
        if not self.dry_run:
            self.ledger.start_run(self._run_key, f"{command} {source.name}")
        self._consume(objects, summary, on_object)
        return summary

    def _consume(self, objects: Iterable[Item | Tombstone | Access], summary: Summary,
                 on_object: Callable[[Summary], None] | None) -> None:
        """File ``objects`` through the worker window (``connector.workers``): this thread reads the
        source, maps, writes intents and records results in order; ``self.workers`` threads do the
        repository writes. ``on_object`` and ``last_key`` follow the source order."""
        window = Window(self.workers, commit=lambda done, starting: self._commit(done, starting, summary),
                        run=self._execute, notify=lambda done: self._notify(done, summary, on_object),
                        stopping=lambda: self.stop_requested)
        finished: list[Job] = []
        stopped = False
        try:
            closed = False
            try:
                for obj in objects:
                    keys = _keys(obj)
                    if window.blocked_by(keys):
                        window.wait_for(keys)   # prepare from a ledger that has the earlier job's versions
                    if self.stop_requested or not window.add(self._prepare(obj, summary)) or self.stop_requested:
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
                self._forget(never)
                raise
            finally:
                if not closed:
                    finished, never = window.close()   # waits for the writes in flight
                    self._forget(never)
            self._commit(finished, [], summary)
            self._notify(finished, summary, on_object)
            if stopped:
                summary.outcome = "interrupted"
                log.warning("stopped on request after %s; the next run goes on from here", self.last_key)
        except Retriable as exc:
            self._commit(finished, [], summary)   # what the repository acknowledged
            summary.outcome = "unavailable"
            summary.errors.append(str(exc))
            log.error("stopping the run, the checkpoint stays where it was: %s", exc)
        except (Fatal, Skippable) as exc:   # Skippable here came out of the source itself, not an item:
            self._commit(finished, [], summary)   # (an oversized listing) nothing after it can be trusted
            summary.outcome = "fatal"
            summary.errors.append(str(exc))
            log.error("stopping the run: %s", exc)
        except BaseException:
            self._commit(finished, [], summary)
            raise

    def _finish(self, source: Source, summary: Summary) -> Summary:
        for skipped in getattr(source, "skipped", None) or ():   # records the source could not read
            self._quarantine(skipped.key, source.name, Skippable(skipped.reason), summary)
        summary.seconds = time.monotonic() - self._started
        summary.source_requests = source.request_count
        summary.cmis_requests = self.repo.request_count - self._cmis_before
        if summary.outcome == "ok" and summary.quarantined:
            summary.outcome = "quarantined"
        if not self.dry_run:
            self.ledger.finish_run(self._run_key, summary.outcome, asdict(summary))
            self.audit.append("run", run_id=self.run_id, source=source.name, outcome=summary.outcome,
                              versions=summary.versions, tombstones=summary.tombstones,
                              quarantined=summary.quarantined, config_sha256=self.config.fingerprint)
        return summary

    # --- one object ---------------------------------------------------------------------
    # An object becomes a job of units (the item, each attachment; or a tombstone). This thread
    # prepares it (map, ledger lookups, recovery after a killed run) and writes the intents of its
    # pending versions (durable, possibly together with other jobs'); a worker writes the versions
    # to the repository in order; this thread then records the acknowledged versions (audit entries
    # made durable first, then one ledger commit for the batch) and quarantines what failed.
    def archive_object(self, obj: Item | Tombstone, summary: Summary) -> None:
        """File one object now, in this thread (no window): intent, write, audit, commit."""
        job = self._prepare(obj, summary)
        if job.needs_write:
            self._commit([], [job], summary)
            job.synced = True
            self._execute(job)
        self._commit([job], [], summary)
        failure = job.payload.failure
        if failure is not None:
            raise failure

    def _prepare(self, obj: Item | Tombstone | Access, summary: Summary) -> Job:
        work = _Work(obj.key)
        if isinstance(obj, Access):
            unit = self._access_unit(obj.key, obj.visibility, deleted=None)
            if unit is not None:
                work.units.append(unit)
        elif isinstance(obj, Tombstone):
            # who may read the deleted record narrows first, then the tombstone is filed
            unit = self._access_unit(obj.key, self._deleted_visibility(obj), deleted=True)
            if unit is not None:
                work.units.append(unit)
            self._guarded(obj.key, obj.source, lambda: work.units.append(self._tombstone_unit(obj)), summary)
        else:
            self._guarded(obj.key, obj.source, lambda: work.units.append(self._item_unit(obj, "item")), summary)
            for attachment in obj.attachments:
                self._guarded(attachment.key, attachment.source,
                              lambda a=attachment: work.units.append(self._item_unit(a, "file")), summary)
        pending = [v for unit in work.units for v in unit.pending]
        acl_only = any(unit.acl_only for unit in work.units)
        return Job(work, _keys(obj), needs_write=bool(pending or acl_only) and not self.dry_run,
                   size=sum(v.content.size or 0 for v in pending))

    def _guarded(self, key: str, source: str, work: Callable[[], None], summary: Summary) -> None:
        try:
            work()
        except (Skippable, SourceUnavailable) as exc:   # bad input (DigestMismatch too); a bug stops the run
            # SourceUnavailable here: the source's own retries were spent reading this item's bytes
            # while it was mapped (a content scan); the item waits, the run goes on
            self._quarantine(key, source, exc, summary)

    def _quarantine(self, key: str, source: str, exc: BaseException, summary: Summary) -> None:
        reason = str(exc) or type(exc).__name__
        self._quarantined_now.add(key)
        log.warning("quarantined %s: %s", key, reason)
        summary.quarantined += 1
        if not self.dry_run:
            self.ledger.quarantine(key, source, type(exc).__name__, reason)
            self.audit.append("quarantine", key=key, reason=reason, run_id=self.run_id)

    def _item_unit(self, item: Item, role: str) -> "_Unit":
        # A new record (no row, no intent: no version either) costs three ledger reads, not six
        intent = self.ledger.has_intent(item.key)
        record = None if intent else self.ledger.record(item.key)
        known = self.ledger.filed_revisions(item.key) if intent or record is not None else {}
        # filed and classified on an earlier run: not read again (after an interrupted run, nothing is)
        settled = frozenset() if intent else frozenset(known)
        spec = self.mapper.document(item, settled=settled, restrictions=self.ledger.restrictions(item.key))
        if spec.restrictions and not self.dry_run:
            self.ledger.restrict(spec.key, spec.restrictions)   # kept before any write relies on them
        visibility = access_label(item.visibility)
        filed = self._filed(spec, visibility, known, intent)
        pending, covered = _distinct(spec.versions, filed, self.ledger.last_state(spec.key) if filed else None)
        unit = _Unit(spec, pending, item.source, item.kind, item.native_id, visibility, role, deleted=False,
                     covered=covered)
        if intent:
            record = self.ledger.record(spec.key)   # after _filed, which may have recovered it
        if record is not None:
            # the decided ACL differs from the one written (the source, a restriction or the config
            # changed): it is replaced before the next version or, when there is none, on its own
            unit.remember(record)
        return unit

    def _deleted_visibility(self, tomb: Tombstone) -> Visibility:
        """Who may read a record once deleted: those who can see deleted content in the source
        (``tomb.readers``), but never more than could read it before (a page of a restricted
        namespace does not become readable by every sysop because it was deleted)."""
        record = self.ledger.record(tomb.key)
        before = visibility_from_label(record["visibility"]) if record is not None else Visibility.public()
        readers = tomb.readers if before.is_public else tuple(r for r in tomb.readers if r in before.readers)
        return Visibility.restricted("deleted in the source", readers)

    def _access_unit(self, key: str, visibility: Visibility, *, deleted: bool | None) -> "_Unit | None":
        """The ACL of an archived record, decided again (sweep, deletion); None when not archived."""
        record = self.ledger.record(key)
        if record is None:
            return None
        source, kind, native_id = key.split("/", 2)
        decided: DecidedAcl = self.mapper.acl(source, visibility, self.ledger.restrictions(key))
        spec = DocumentSpec(key=key, folder=(), name=record["name"], properties={}, acl_add=decided.add,
                            acl_remove=decided.remove, acl_digest=decided.digest)
        unit = _Unit(spec, [], source, kind, native_id, access_label(visibility), "access", deleted=deleted)
        unit.remember(record)
        return unit

    def _tombstone_unit(self, tomb: Tombstone) -> "_Unit":
        spec = self.mapper.tombstone(tomb)
        pending = [] if self._filed(spec, "restricted:") else [spec.versions[0]]
        return _Unit(spec, pending, tomb.source, "tombstone", spec.properties["sa:nativeId"], "restricted:",
                     "tombstone", deleted_key=tomb.key)

    def _forget(self, jobs: list[Job]) -> None:
        """Jobs never started (the run stopped first): drop their intents, nothing was written."""
        if self.dry_run or not any(job.synced for job in jobs):
            return
        with self.ledger.transaction():
            for job in jobs:
                if job.synced:
                    for unit in job.payload.units:
                        if unit.pending:
                            self.ledger.clear_intents(unit.spec.key)

    def _execute(self, job: Job) -> None:
        """Worker thread: write each unit's pending versions in order (or, with none, its changed
        ACL). Touches neither ledger nor audit log; results and errors stay on the units for
        ``_commit``."""
        for unit in job.payload.units:
            if not unit.pending and not unit.acl_only:
                continue
            try:
                if unit.acl_only:
                    unit.acl_replaced = retrying(lambda: self.filer.replace_acl(unit.object_id, unit.spec.acl_add),
                                                 attempts=HTTP_SETTINGS.write_attempts)
                    unit.acl_applied = True
                object_id, acl_changed = unit.object_id, unit.acl_changed
                for version in unit.pending:
                    filed = self._write(unit.spec, version, object_id, acl_changed, unit.recovered)
                    event = "tombstone" if unit.role == "tombstone" else "file" if object_id is None else "version"
                    unit.filed.append((filed, event))
                    object_id, acl_changed = filed.object_id, False
            except Skippable as exc:   # this record's input (DigestMismatch too); a ValueError is a bug: below
                unit.error = exc
            except Exception as exc:   # Retriable, Fatal, a bug: the run stops after recording what is done
                unit.error = exc
                job.payload.failure = exc
                return

    def _commit(self, finished: list[Job], starting: list[Job], summary: Summary) -> None:
        """One durable step for a group of jobs: the finished ones' versions are recorded (their
        audit entries fsynced first, then the ledger rows) and the intents of those about to start
        are written, all in one ledger transaction: one commit, one fsync of each file."""
        todo = [job for job in finished if not job.payload.recorded]
        if self.dry_run:
            for job in todo:
                self._record_work(job.payload, summary)
            return
        if not todo and not starting:
            return
        with self.ledger.transaction():
            if todo:
                with self.audit.batch():
                    for job in todo:
                        self._record_work(job.payload, summary)
                # the audit entries are durable here, before the ledger commit that relies on them
            self.ledger.begin_intents([(unit.spec.key, version.revision_id) for job in starting
                                       for unit in job.payload.units for version in unit.pending], self.run_id)
        # committed: the intents are durable before any of their writes starts

    def _notify(self, finished: list[Job], summary: Summary, on_object: Callable[[Summary], None] | None) -> None:
        """``last_key`` and ``on_object`` per finished job, in order, up to a job whose failure
        stops the run (raised here, after everything before it was reported)."""
        failed = next((n for n, job in enumerate(finished) if job.payload.failure is not None), len(finished))
        if on_object and failed:
            # what on_object writes (backfill progress) shares one commit
            with self.ledger.transaction() if not self.dry_run else contextlib.nullcontext():
                for job in finished[:failed]:
                    self.last_key = job.payload.key
                    on_object(summary)
        elif failed:
            self.last_key = finished[failed - 1].payload.key
        if failed < len(finished):
            raise finished[failed].payload.failure

    def _record_work(self, work: "_Work", summary: Summary) -> None:
        work.recorded = True
        for unit in work.units:
            if not unit.pending:
                summary.unchanged += unit.role != "access"
                if unit.acl_only and (unit.acl_replaced or self.dry_run):
                    summary.acl_changes += 1
                    if not self.dry_run:
                        self.audit.append("acl", key=unit.spec.key, object_id=unit.object_id,
                                          visibility=unit.visibility, acl=unit.spec.acl_add, run_id=self.run_id)
                if not self.dry_run:
                    self._record_access(unit)
                    self._record_covered(unit)
                if unit.error is not None and unit.error is not work.failure:
                    self._quarantine(unit.spec.key, unit.source, unit.error, summary)
                elif unit.object_id is not None and not self.dry_run:
                    # archived, and read fine this time: a quarantine from an earlier run is over
                    self.ledger.unquarantine(unit.spec.key)
                continue
            summary.tombstones += unit.role == "tombstone"
            summary.items += unit.role == "item"
            summary.files += unit.role == "file"
            if self.dry_run:
                summary.versions += len(unit.pending) if unit.role != "tombstone" else 0
                continue
            adopted: set[str] = set()
            if unit.recovered:   # found already filed on a retry or a name conflict
                before = set(self.ledger.filed_revisions(unit.spec.key))
                self._adopt(unit.spec, unit.recovered, unit.visibility)
                adopted = set(self.ledger.filed_revisions(unit.spec.key)) - before
            states = {version.revision_id: version.state for version in unit.pending}
            for filed, event in unit.filed:
                if filed.revision_id not in adopted:
                    self._record(filed, unit.source, unit.kind, unit.native_id, unit.spec, unit.visibility, event,
                                 state=states.get(filed.revision_id, ""))
                summary.versions += unit.role != "tombstone"
            self._record_covered(unit)
            if unit.role == "tombstone" and unit.filed:
                self.ledger.mark_deleted(unit.deleted_key)
            self._record_access(unit)
            if unit.error is not None and unit.error is not work.failure:
                self._quarantine(unit.spec.key, unit.source, unit.error, summary)

    def _record_covered(self, unit: "_Unit") -> None:
        """Revisions that repeat the version just before them: once that version is in the ledger,
        each is recorded as covered by it (never filed, never tried again) with an audit entry."""
        if not unit.covered:
            return
        filed = self.ledger.filed_revisions(unit.spec.key)
        for version, by in unit.covered:
            if by in filed:
                self.ledger.cover(unit.spec.key, version.revision_id, by, version.state)
                self.audit.append("covered", key=unit.spec.key, revision=version.revision_id, by=by,
                                  run_id=self.run_id)

    def _record_access(self, unit: "_Unit") -> None:
        """What the ledger keeps of who may read the record: the source's visibility as seen now
        (also when the ACL write failed, so the next run decides again from it) and the digest of
        the ACL the repository acknowledged (the old one when it did not)."""
        if unit.previous is None:
            return   # a new record: commit_version wrote both
        acl = unit.spec.acl_digest if unit.acl_applied or unit.filed else unit.previous[1]
        deleted = unit.previous[2] if unit.deleted is None else unit.deleted
        if (unit.visibility, acl, deleted) != unit.previous:
            self.ledger.set_access(unit.spec.key, unit.visibility, acl, deleted=deleted)

    def _write(self, spec: DocumentSpec, version, object_id: str | None, acl_changed: bool,
               recovered: list[FiledVersion]) -> FiledVersion:
        """One version into the repository, retried; a retry looks up what the failed attempt may
        have written. Versions found already filed go to ``recovered`` (recorded by the caller's
        thread)."""
        attempts = [0]

        def attempt() -> FiledVersion:
            outage = getattr(self, "_outage", None)
            if outage is not None:   # another write found the repository down: stop now, not after retries
                raise _RepositoryDown(outage)
            current = object_id
            if attempts[0]:
                # A failed attempt may have reached the repository: look before writing again, and
                # take a version found by key only once its content, read back, is what was sent
                series = self.filer.find(spec.key)
                landed = self.filer.proven([v for v in series if v.revision_id == version.revision_id])
                if landed:
                    if acl_changed or object_id is None:   # the version landed, its ACL (a request of
                        # its own over AtomPub, or a change) may not have
                        self.filer.replace_acl(landed[-1].object_id, spec.acl_add)
                    return landed[-1]
                if series and current is None:
                    current = series[-1].object_id
            attempts[0] += 1
            try:
                if current is None:
                    return self.filer.create(spec, version)
                return self.filer.add_version(current, spec, version, acl_changed)
            except AlreadyFiled as found:
                intact = self.filer.proven(found.versions)
                recovered.extend(intact)
                match = [v for v in intact if v.revision_id == version.revision_id]
                if match:
                    return match[0]
                return self.filer.add_version(found.versions[-1].object_id, spec, version, acl_changed)
        try:
            return retrying(attempt, attempts=HTTP_SETTINGS.write_attempts)
        except _RepositoryDown as down:
            raise down.outage from None
        except Retriable as exc:
            raise self._gave_up(spec, exc) from None

    def _gave_up(self, spec: DocumentSpec, exc: Retriable) -> Exception:
        """Every attempt to write ``spec`` failed: quarantine the item, or stop the run?

        If the source failed while the content streamed, or the repository answers other requests
        (a probe) but kept failing on this record, the record is the problem: it is quarantined
        with the reason (``Skippable``) and the run goes on. If the repository does not answer
        either, it is an outage: ``Retriable`` stops the run and nothing is marked done.
        """
        attempts = HTTP_SETTINGS.write_attempts
        if isinstance(exc, SourceUnavailable):
            return Skippable(f"gave up after {attempts} attempts: {exc}")
        try:
            retrying(self.repo.ping, attempts=3)
        except Retriable:
            self._outage = exc
            return exc
        return Skippable(f"the repository answers, but refused {spec.key} on all {attempts} attempts: {exc}")

    def _filed(self, spec: DocumentSpec, visibility: str, filed: dict[str, str] | None = None,
               intent: bool | None = None) -> dict[str, str]:
        """Revisions already archived; after an interrupted run, asks the repository (and reads the
        content of what the ledger lacks back: a damaged copy is not filed, see ``Filer.proven``).
        ``filed`` and ``intent``: the ledger's, when the caller read them already."""
        filed = self.ledger.filed_revisions(spec.key) if filed is None else filed
        intent = self.ledger.has_intent(spec.key) if intent is None else intent
        if intent and not self.dry_run:
            found = retrying(lambda: self.filer.proven([v for v in self.filer.find(spec.key)
                                                        if v.revision_id not in filed]), attempts=5)
            self._adopt(spec, found, visibility)
            self.ledger.clear_intents(spec.key)
            filed = self.ledger.filed_revisions(spec.key)
        return filed

    def _adopt(self, spec: DocumentSpec, versions: list[FiledVersion], visibility: str) -> None:
        """Record versions the repository has but the ledger missed (a run killed after the ack).
        Whether their ACL change landed is unknown: the ACL digest is left empty, so it is decided
        and compared with the repository's again."""
        known = set(self.ledger.filed_revisions(spec.key))
        kind, native_id = spec.properties.get("sa:kind", ""), spec.properties.get("sa:nativeId", "")
        for found in versions:
            if found.revision_id and found.revision_id not in known:
                self._record(found, spec.properties.get("sa:source", ""), kind, native_id, spec,
                             visibility, "recovered", acl="")
                known.add(found.revision_id)

    def _record(self, filed: FiledVersion, source: str, kind: str, native_id: str, spec: DocumentSpec,
                visibility: str, event: str, acl: str | None = None, state: str = "") -> None:
        self.audit.append(event, key=filed.key, revision=filed.revision_id, object_id=filed.object_id,
                          version=filed.version_label, sha256=filed.sha256, length=filed.length,
                          run_id=self.run_id, **classification_audit(spec, filed.revision_id))
        self.ledger.commit_version(filed, source=source, kind=kind, native_id=native_id,
                                   folder="/".join(spec.folder), visibility=visibility, run_id=self.run_id,
                                   acl=spec.acl_digest if acl is None else acl, state=state)


def _distinct(versions: list[VersionSpec], filed: dict[str, str],
              last: tuple[str, str] | None) -> tuple[list[VersionSpec], list[tuple[VersionSpec, str]]]:
    """The versions to file, in order, and those that repeat the state just before them, each with
    the revision id of that state (``mapping.state_digest``). Just before a version is the item's
    previous revision in this run, or for the first the version filed last (``last``: its revision
    id and state). A version whose state is unknown is always filed.

    Example: the ledger's last version is ``cur-T1`` with state S; the source now lists ``rev-9``
    with state S and ``rev-10`` with state S2: ``rev-9`` is covered by ``cur-T1``, ``rev-10`` is
    filed."""
    pending: list[VersionSpec] = []
    covered: list[tuple[VersionSpec, str]] = []
    before = last
    for version in versions:
        if version.revision_id in filed:
            # filed already (listed again after an interrupted run): the state before the next one
            # is known only when this is the version filed last (or a revision it covers)
            before = last if last and filed[version.revision_id] == filed.get(last[0]) else None
        elif version.state and before is not None and version.state == before[1]:
            covered.append((version, before[0]))
        else:
            pending.append(version)
            before = (version.revision_id, version.state) if version.state else None
    return pending, covered


def _keys(obj: Item | Tombstone | Access) -> set[str]:
    """The records an object writes: jobs that share one are never in flight together."""
    if isinstance(obj, (Tombstone, Access)):
        return {obj.key}
    return {obj.key, *(a.key for a in obj.attachments)}


@dataclass
class _Unit:
    """One record of a job: its spec, the versions still to file, and (from the worker) the results."""

    spec: DocumentSpec
    pending: list[VersionSpec]
    source: str
    kind: str
    native_id: str
    visibility: str                   # who may read it in the source (model.access_label)
    role: str                         # item, file (an attachment), tombstone, or access (its ACL alone)
    deleted_key: str | None = None    # tombstone: the record it marks deleted
    deleted: bool | None = None       # the record is deleted in the source (True), shown again (False)
    previous: tuple[str, str, bool] | None = None   # the ledger's (visibility, ACL digest, deleted)
    object_id: str | None = None      # the document's latest version, if it exists
    acl_changed: bool = False
    acl_applied: bool = False         # acl_only: the worker made the repository's ACL the wanted one
    acl_replaced: bool = False        # ... and had to change it to get there
    filed: list[tuple[FiledVersion, str]] = field(default_factory=list)   # (version, audit event)
    recovered: list[FiledVersion] = field(default_factory=list)
    error: Exception | None = None
    covered: list[tuple[VersionSpec, str]] = field(default_factory=list)   # (version, revision covering it)

    def remember(self, record) -> None:
        """The archived record as the ledger has it: the ACL changes when the decided one differs."""
        self.previous = (record["visibility"], record["acl"], bool(record["deleted"]))
        self.object_id = record["object_id"]
        self.acl_changed = record["acl"] != self.spec.acl_digest

    @property
    def acl_only(self) -> bool:
        """Nothing new to file, but who may read the record changed: its ACL is replaced alone."""
        return self.acl_changed and not self.pending and self.object_id is not None


@dataclass
class _Work:
    """A job's payload: the object's key (the resume marker) and its units."""

    key: str
    units: list[_Unit] = field(default_factory=list)
    failure: Exception | None = None   # an error that stops the run (Retriable, Fatal, a bug)
    recorded: bool = False
