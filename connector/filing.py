"""Filing one object: intent → repository write → audit entry → ledger commit (for the run
loop, ``Pipeline`` in ``connector/pipeline.py``, and its ``archive_object``).

An object becomes a job of units (the item, each attachment; or a tombstone). ``prepare`` (the
run's thread) maps it, looks the records up in the ledger and recovers what a killed run left
(an intent: the repository is asked by key before anything is written again); ``commit`` writes
the intents of the jobs about to start (durable, possibly together with other jobs'); ``write_job``
(a worker thread) writes the versions to the repository in order, touching neither ledger nor
audit log; ``commit`` then records the acknowledged versions (audit entries made durable first,
then one ledger commit for the batch) and quarantines what failed (``Skippable`` only: anything
else stops the run). One ``Filing`` per run: it keeps the records the run quarantined (not tried
again in it) and whether the repository was found down (every write then stops at once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from .access import DecidedAcl
from .audit import AuditLog
from .cmis.bindings import Repository
from .cmis.filer import DocumentSpec, FiledVersion, Filer, VersionSpec
from .compliance.classify import audit_fields as classification_audit
from .errors import AlreadyFiled, Retriable, Skippable, SourceUnavailable
from .http import SETTINGS as HTTP_SETTINGS, retrying
from .store import Ledger
from .mapping import Mapper
from .model import Access, Item, Tombstone, Visibility, access_label, visibility_from_label
from .summary import Summary
from .workers import Job

log = logging.getLogger(__name__)


class _RepositoryDown(Exception):
    """Not transient on purpose: ends a write's retries at once once the repository is known down."""

    def __init__(self, outage: Retriable):
        super().__init__(str(outage))
        self.outage = outage


class Filing:
    """Files objects for one run of a ``Pipeline`` (its ``Archive``'s repository, filer, ledger, audit
    log, mapper)."""

    def __init__(self, *, repo: Repository, filer: Filer, ledger: Ledger, audit: AuditLog, mapper: Mapper,
                 run_id: str, dry_run: bool):
        self.repo, self.filer, self.ledger, self.audit, self.mapper = repo, filer, ledger, audit, mapper
        self.run_id, self.dry_run = run_id, dry_run
        self.quarantined_now: set[str] = set()   # records this run quarantined: not tried again in it
        self.outage: Retriable | None = None      # set by _gave_up: the repository is down, stop writing

    def file_now(self, obj: Item | Tombstone, summary: Summary) -> None:
        """File one object now, in this thread (no window): intent, write, audit, commit."""
        job = self.prepare(obj, summary)
        if job.needs_write:
            self.commit([], [job], summary)
            job.synced = True
            self.write_job(job)
        self.commit([job], [], summary)
        failure = job.payload.failure
        if failure is not None:
            raise failure

    def prepare(self, obj: Item | Tombstone | Access, summary: Summary) -> Job:
        work = Work(obj.key)
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
        return Job(work, job_keys(obj), needs_write=bool(pending or acl_only) and not self.dry_run,
                   size=sum(v.content.size or 0 for v in pending))

    def _guarded(self, key: str, source: str, work: Callable[[], None], summary: Summary) -> None:
        try:
            work()
        except (Skippable, SourceUnavailable) as exc:   # bad input (DigestMismatch too); a bug stops the run
            # SourceUnavailable here: the source's own retries were spent reading this item's bytes
            # while it was mapped (a content scan); the item waits, the run goes on
            self.quarantine(key, source, exc, summary)

    def quarantine(self, key: str, source: str, exc: BaseException, summary: Summary) -> None:
        reason = str(exc) or type(exc).__name__
        self.quarantined_now.add(key)
        log.warning("quarantined %s: %s", key, reason)
        summary.quarantined += 1
        if not self.dry_run:
            self.ledger.quarantine(key, source, type(exc).__name__, reason)
            self.audit.append("quarantine", key=key, reason=reason, run_id=self.run_id)

    def _item_unit(self, item: Item, role: str) -> "Unit":
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
        pending, covered = distinct(spec.versions, filed, self.ledger.last_state(spec.key) if filed else None)
        unit = Unit(spec, pending, item.source, item.kind, item.native_id, visibility, role, deleted=False,
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

    def _access_unit(self, key: str, visibility: Visibility, *, deleted: bool | None) -> "Unit | None":
        """The ACL of an archived record, decided again (sweep, deletion); None when not archived."""
        record = self.ledger.record(key)
        if record is None:
            return None
        source, kind, native_id = key.split("/", 2)
        decided: DecidedAcl = self.mapper.acl(source, visibility, self.ledger.restrictions(key))
        spec = DocumentSpec(key=key, folder=(), name=record["name"], properties={}, acl_add=decided.add,
                            acl_remove=decided.remove, acl_digest=decided.digest)
        unit = Unit(spec, [], source, kind, native_id, access_label(visibility), "access", deleted=deleted)
        unit.remember(record)
        return unit

    def _tombstone_unit(self, tomb: Tombstone) -> "Unit":
        spec = self.mapper.tombstone(tomb)
        pending = [] if self._filed(spec, "restricted:") else [spec.versions[0]]
        return Unit(spec, pending, tomb.source, "tombstone", spec.properties["sa:nativeId"], "restricted:",
                     "tombstone", deleted_key=tomb.key)

    def forget(self, jobs: list[Job]) -> None:
        """Jobs never started (the run stopped first): drop their intents, nothing was written."""
        if self.dry_run or not any(job.synced for job in jobs):
            return
        with self.ledger.transaction():
            for job in jobs:
                if job.synced:
                    for unit in job.payload.units:
                        if unit.pending:
                            self.ledger.clear_intents(unit.spec.key)

    def write_job(self, job: Job) -> None:
        """Worker thread: write each unit's pending versions in order (or, with none, its changed
        ACL). Touches neither ledger nor audit log; results and errors stay on the units for
        ``commit``."""
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

    def commit(self, finished: list[Job], starting: list[Job], summary: Summary) -> None:
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

    def _record_work(self, work: "Work", summary: Summary) -> None:
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
                    self.quarantine(unit.spec.key, unit.source, unit.error, summary)
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
                self.quarantine(unit.spec.key, unit.source, unit.error, summary)

    def _record_covered(self, unit: "Unit") -> None:
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

    def _record_access(self, unit: "Unit") -> None:
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
            outage = self.outage
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
            self.outage = exc
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


def distinct(versions: list[VersionSpec], filed: dict[str, str],
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


def job_keys(obj: Item | Tombstone | Access) -> set[str]:
    """The records an object writes: jobs that share one are never in flight together."""
    if isinstance(obj, (Tombstone, Access)):
        return {obj.key}
    return {obj.key, *(a.key for a in obj.attachments)}


@dataclass
class Unit:
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
class Work:
    """A job's payload: the object's key (the resume marker) and its units."""

    key: str
    units: list[Unit] = field(default_factory=list)
    failure: Exception | None = None   # an error that stops the run (Retriable, Fatal, a bug)
    recorded: bool = False
