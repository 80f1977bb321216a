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
   checkpoint, so nothing is marked done that was not filed.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from . import __version__
from .audit import AuditLog
from .cmis.client import CmisRepository
from .cmis.filer import AlreadyFiled, DocumentSpec, FiledVersion, Filer
from .cmis.profiles import profile as load_profile
from .compliance.classify import audit_fields as classification_audit, build as build_classifier
from .config import Config
from .errors import Fatal, Retriable, Skippable
from .http import retrying
from .ledger import Ledger
from .mapping import Mapper, Rules
from .model import DigestMismatch, Item, Tombstone
from .sources import Source

log = logging.getLogger(__name__)


class RunLocked(Fatal):
    """Another sync or backfill holds this ledger."""


@dataclass
class Summary:
    source: str
    items: int = 0
    versions: int = 0
    files: int = 0
    tombstones: int = 0
    unchanged: int = 0
    recovered: int = 0
    quarantined: int = 0
    source_requests: int = 0
    cmis_requests: int = 0
    seconds: float = 0.0
    outcome: str = "ok"
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.source}: {self.items} items, {self.versions} new versions, {self.files} files, "
                f"{self.tombstones} tombstones, {self.unchanged} unchanged, {self.quarantined} quarantined, "
                f"{self.recovered} recovered; {self.source_requests} source + {self.cmis_requests} CMIS "
                f"requests in {self.seconds:.1f} s ({self.outcome})")


class Archive:
    def __init__(self, config: Config, repo: CmisRepository, filer: Filer, ledger: Ledger,
                 audit: AuditLog, mapper: Mapper, run_id: str, dry_run: bool = False):
        self.config, self.repo, self.filer, self.ledger = config, repo, filer, ledger
        self.audit, self.mapper, self.run_id, self.dry_run = audit, mapper, run_id, dry_run
        self._lock_fd: int | None = None
        self._runs = 0
        # Set by request_stop() (a SIGINT/SIGTERM handler): the run ends after the object in flight.
        self.stop_requested = False
        self.last_key: str | None = None

    @classmethod
    def open(cls, config: Config, *, dry_run: bool = False, lock: bool = True,
             run_id: str | None = None) -> "Archive":
        run_id = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        lock_fd = _take_lock(config.ledger_path + ".lock") if lock else None
        rc = config.repository
        repo = CmisRepository(rc.url, rc.repository_id, rc.username, rc.password, verify=rc.verify_tls,
                              timeout=(10.0, rc.timeout), user_agent=f"socialarchive/{__version__}")
        prof = load_profile(rc.profile)
        filer = Filer(repo, prof, rc.base_path)
        info = retrying(repo.info, attempts=3)
        ledger = Ledger(config.ledger_path)
        classifier = retrying(lambda: build_classifier(config, repo, ledger, prof), attempts=3)
        mapper = Mapper(Rules.load(config.mapping_path), config.permissions, prof, info.anyone, run_id,
                        classifier=classifier)
        archive = cls(config, repo, filer, ledger, AuditLog(config.audit_path), mapper, run_id, dry_run)
        archive._lock_fd = lock_fd
        if not dry_run:
            retrying(filer.ensure_types, attempts=3)
        return archive

    def close(self) -> None:
        self.ledger.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- runs ---------------------------------------------------------------------------
    def sync(self, source: Source, *, reconcile: bool = False,
             on_object: Callable[[Summary], None] | None = None) -> Summary:
        """Incremental run for one source; the checkpoint advances only after a complete run."""
        state = self.ledger.source_state(source.name)
        summary = self._run(source, source.changes(state), on_object)
        if reconcile and summary.outcome == "ok" and hasattr(source, "reconcile"):
            self._consume(source.reconcile(self._known_ids(source.name)), summary, on_object)
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

    def _run(self, source: Source, objects: Iterable[Item | Tombstone],
             on_object: Callable[[Summary], None] | None, command: str = "sync") -> Summary:
        summary = Summary(source=source.name)
        self._started = time.monotonic()
        self._cmis_before = self.repo.request_count
        self._runs += 1
        self._run_key = f"{self.run_id}-{source.name}-{self._runs}"
        if not self.dry_run:
            self.ledger.start_run(self._run_key, f"{command} {source.name}")
        self._consume(objects, summary, on_object)
        return summary

    def _consume(self, objects: Iterable[Item | Tombstone], summary: Summary,
                 on_object: Callable[[Summary], None] | None) -> None:
        try:
            for obj in objects:
                self.archive_object(obj, summary)
                self.last_key = obj.key   # the backfill's resume marker, read by on_object
                if on_object:
                    on_object(summary)
                if self.stop_requested:
                    summary.outcome = "interrupted"
                    log.warning("stopped on request after %s; the next run goes on from here", obj.key)
                    break
        except Retriable as exc:
            summary.outcome = "unavailable"
            summary.errors.append(str(exc))
            log.error("stopping the run, the checkpoint stays where it was: %s", exc)
        except Fatal as exc:
            summary.outcome = "fatal"
            summary.errors.append(str(exc))
            log.error("stopping the run: %s", exc)

    def _finish(self, source: Source, summary: Summary) -> Summary:
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
    def archive_object(self, obj: Item | Tombstone, summary: Summary) -> None:
        if isinstance(obj, Tombstone):
            self._guarded(obj.key, obj.source, lambda: self._file_tombstone(obj, summary), summary)
            return
        self._guarded(obj.key, obj.source, lambda: self._file_item(obj, summary), summary)
        for attachment in obj.attachments:
            self._guarded(attachment.key, attachment.source, lambda a=attachment: self._file_item(a, summary, True),
                          summary)

    def _guarded(self, key: str, source: str, work: Callable[[], None], summary: Summary) -> None:
        try:
            work()
        except (Skippable, DigestMismatch, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            log.warning("quarantined %s: %s", key, reason)
            summary.quarantined += 1
            if not self.dry_run:
                self.ledger.quarantine(key, source, type(exc).__name__, reason)
                self.audit.append("quarantine", key=key, reason=reason, run_id=self.run_id)

    def _file_item(self, item: Item, summary: Summary, is_attachment: bool = False) -> None:
        spec = self.mapper.document(item)
        filed = self._filed(spec)
        pending = [v for v in spec.versions if v.revision_id not in filed]
        if not pending:
            summary.unchanged += 1
            return
        summary.files += is_attachment
        summary.items += not is_attachment
        if self.dry_run:
            summary.versions += len(pending)
            return
        record = self.ledger.record(spec.key)
        acl_changed = record is not None and record["visibility"] != _acl_label(item)
        object_id = record["object_id"] if record is not None else None
        for version in pending:
            self.ledger.begin_intent(spec.key, version.revision_id, self.run_id)
            filed_version = self._write(spec, version, object_id, acl_changed)
            acl_changed = False
            self._record(filed_version, item.source, item.kind, item.native_id, spec, _acl_label(item),
                         "file" if object_id is None else "version")
            object_id = filed_version.object_id
            summary.versions += 1

    def _write(self, spec: DocumentSpec, version, object_id: str | None, acl_changed: bool) -> FiledVersion:
        def attempt() -> FiledVersion:
            current = object_id
            if self._attempts:
                # A failed attempt may have reached the repository: look before writing again.
                done = {v.revision_id: v for v in self.filer.find(spec.key)}
                if version.revision_id in done:
                    return done[version.revision_id]
                if done and current is None:
                    current = list(done.values())[-1].object_id
            self._attempts += 1
            try:
                if current is None:
                    return self.filer.create(spec, version)
                return self.filer.add_version(current, spec, version, acl_changed)
            except AlreadyFiled as found:
                self._adopt(spec, found.versions)
                match = [v for v in found.versions if v.revision_id == version.revision_id]
                if match:
                    return match[0]
                return self.filer.add_version(found.versions[-1].object_id, spec, version, acl_changed)
        self._attempts = 0
        return retrying(attempt, attempts=5)

    def _filed(self, spec: DocumentSpec) -> dict[str, str]:
        """Revisions already archived; after an interrupted run, asks the repository."""
        filed = self.ledger.filed_revisions(spec.key)
        if self.ledger.has_intent(spec.key) and not self.dry_run:
            found = retrying(lambda: self.filer.find(spec.key), attempts=5)
            self._adopt(spec, found)
            self.ledger.clear_intents(spec.key)
            filed = self.ledger.filed_revisions(spec.key)
        return filed

    def _adopt(self, spec: DocumentSpec, versions: list[FiledVersion]) -> None:
        """Record versions the repository has but the ledger missed (a run killed after the ack)."""
        known = self.ledger.filed_revisions(spec.key)
        kind, native_id = spec.properties.get("sa:kind", ""), spec.properties.get("sa:nativeId", "")
        for found in versions:
            if found.revision_id and found.revision_id not in known:
                self._record(found, spec.properties.get("sa:source", ""), kind, native_id, spec,
                             spec.properties.get("sa:visibility", ""), "recovered")

    def _record(self, filed: FiledVersion, source: str, kind: str, native_id: str, spec: DocumentSpec,
                visibility: str, event: str) -> None:
        self.audit.append(event, key=filed.key, revision=filed.revision_id, object_id=filed.object_id,
                          version=filed.version_label, sha256=filed.sha256, length=filed.length,
                          run_id=self.run_id, **classification_audit(spec, filed.revision_id))
        self.ledger.commit_version(filed, source=source, kind=kind, native_id=native_id,
                                   folder="/".join(spec.folder), visibility=visibility, run_id=self.run_id)

    def _file_tombstone(self, tomb: Tombstone, summary: Summary) -> None:
        spec = self.mapper.tombstone(tomb)
        if self._filed(spec):
            summary.unchanged += 1
            return
        summary.tombstones += 1
        if self.dry_run:
            return
        self.ledger.begin_intent(spec.key, "tombstone", self.run_id)
        filed = self._write(spec, spec.versions[0], None, False)
        self._record(filed, tomb.source, "tombstone", spec.properties["sa:nativeId"], spec, "restricted", "tombstone")
        self.ledger.mark_deleted(tomb.key)


def _acl_label(item: Item) -> str:
    return item.visibility.label + ":" + ",".join(sorted(item.visibility.readers))


def _take_lock(path: str) -> int:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunLocked(f"another socialarchive run holds {path}; not starting a second one") from None
    return fd


