"""The composition root: the one place a run's parts are wired and the run lock is taken.

An ``Archive`` is the set of collaborators one command works with (config, repository, filer,
ledger, audit log, mapper, run id, dry-run flag, writer threads) and nothing else: it has no
behaviour of its own. Wiring them here, once, keeps every use case free of construction order (the
repository answers before the ledger opens, the archive is checked before anything is filed, the
classifier reads the ledger) and of the lock; the use cases receive the ``Archive`` as their
context: the run loop (``connector.pipeline.Pipeline``), the records manager's commands
(``connector.compliance``), ``ledger rebuild``, ``quarantine retry``.

Example::

    with Archive.open(cfg, workers=4) as archive:      # RunLocked while another run holds the ledger
        summary = Pipeline(archive).sync(source)
        archive.ledger.source_state(source.name)
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field

from . import __version__
from .access import AccessPolicy
from .audit import AuditLog
from .cmis.bindings import Repository, open_repository
from .cmis.filer import Filer
from .cmis.profiles import profile as load_profile
from .compliance.classify import build as build_classifier
from .config import Config
from .http import retrying
from .store import Ledger
from .mapping import Mapper, Rules
from .rebuild import check_archive
from .runlock import take_lock
from .workers import DEFAULT_WORKERS


@dataclass
class Archive:
    """A run's collaborators; ``dry_run``: nothing is written (repository, ledger, audit log);
    ``workers``: threads writing to the repository (``connector.workers``)."""

    config: Config
    repo: Repository
    filer: Filer
    ledger: Ledger
    audit: AuditLog
    mapper: Mapper
    run_id: str
    dry_run: bool = False
    workers: int = DEFAULT_WORKERS
    _lock_fd: int | None = field(default=None, repr=False)

    @classmethod
    def open(cls, config: Config, *, dry_run: bool = False, lock: bool = True, run_id: str | None = None,
             workers: int = DEFAULT_WORKERS, expect_archive: bool = True) -> "Archive":
        """``lock``: take the ledger's run lock (``RunLocked`` at once when another run holds it).
        ``expect_archive``: a writing run first checks that the repository still holds the archive
        the ledger describes (``rebuild.check_archive``); ``ledger rebuild`` does not."""
        run_id = run_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        lock_fd = take_lock(config.ledger_path + ".lock") if lock else None
        try:
            archive = _wire(config, run_id, dry_run=dry_run, workers=max(1, int(workers)),
                            expect_archive=expect_archive)
        except BaseException:   # the lock must not outlive a run that failed to start (in-process callers)
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        archive._lock_fd = lock_fd
        return archive

    def close(self) -> None:
        """The ledger closed and the lock released; a second call does nothing more."""
        self.ledger.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _wire(config: Config, run_id: str, *, dry_run: bool, workers: int, expect_archive: bool) -> Archive:
    """What ``open`` builds once it holds the lock; a failure closes the ledger it opened (``open``
    releases the lock), so a process that goes on (a test, a library caller) can run again."""
    rc = config.repository
    prof = load_profile(rc.profile)
    repo = open_repository(rc, timeout=(10.0, rc.timeout), user_agent=f"socialarchive/{__version__}",
                           pool_size=workers + 2, secondary_types=prof.secondary_types)
    filer = Filer(repo, prof, rc.base_path)
    info = retrying(repo.info, attempts=3)
    ledger = Ledger(config.ledger_path)
    try:
        if expect_archive and not dry_run:
            retrying(lambda: check_archive(repo, filer, ledger), attempts=3)
        classifier = retrying(lambda: build_classifier(config, repo, ledger, prof), attempts=3)
        policy = AccessPolicy(config.permissions, prof, anyone=info.anyone, anonymous=info.anonymous)
        mapper = Mapper(Rules.load(config.mapping_path), policy, run_id, classifier=classifier)
        archive = Archive(config, repo, filer, ledger, AuditLog(config.audit_path), mapper, run_id, dry_run, workers)
        if not dry_run:
            retrying(filer.ensure_types, attempts=3)
    except BaseException:
        ledger.close()
        raise
    return archive
