"""A read-only handle on an archive, for the commands that only look (``search``, ``report``,
``plan``): the repository, the filer's view of it (profile, base path, queries) and the ledger.

Unlike ``Archive.open`` it takes no lock (a sync may run meanwhile), starts no run (no run id, no
audit entry, no classifier, no mapper), creates no types and does not check that the repository
still holds the archive. ``Archive.open(dry_run=True)`` stays what ``sync --dry-run`` runs on.

Example::

    reader = open_reader(cfg)
    try:
        hits = search(reader.repo, reader.filer, "quokka")
    finally:
        reader.close()
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from . import __version__
from .cmis.bindings import Repository, open_repository
from .cmis.filer import Filer
from .cmis.profiles import profile as load_profile
from .config import Config
from .http import retrying
from .store import Ledger


class ArchiveView(Protocol):
    """What a function that reads an archive needs: an ``ArchiveReader``, or the ``Archive`` a
    run works with (``report.reconcile`` after a sync)."""

    config: Config
    repo: Repository
    filer: Filer
    ledger: Ledger


@dataclass
class ArchiveReader:
    config: Config
    repo: Repository
    filer: Filer
    ledger: Ledger

    def close(self) -> None:
        self.ledger.close()


def open_reader(config: Config) -> ArchiveReader:
    """The archive of ``config`` to read. The repository answers once (its identity) before the
    ledger is opened, so an unreachable repository fails here, as it does for a run."""
    rc = config.repository
    prof = load_profile(rc.profile)
    repo = open_repository(rc, timeout=(10.0, rc.timeout), user_agent=f"socialarchive/{__version__}",
                           secondary_types=prof.secondary_types)
    retrying(repo.info, attempts=3)
    return ArchiveReader(config, repo, Filer(repo, prof, rc.base_path), Ledger(config.ledger_path))
