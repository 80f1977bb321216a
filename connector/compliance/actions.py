"""The records manager's commands as plain functions: each opens what it needs, does one thing, closes.

The CLI (``connector/cli/records.py``) only turns options into these calls and their results into
output and an exit code; a script, a test or another front end calls them the same way::

    report = place_hold(cfg, "M-7", Criteria(source="wiki"), note="case 12")
    report.problems            # versions that could not be updated (the CLI exits 5)

An empty selection raises ``errors.EmptySelection`` before anything is recorded or audited, unless
``allow_empty``. Every function that writes to the repository or the audit log takes the ledger's
run lock (``RunLocked`` while a sync runs), like sync itself; the readers take it too, so what they
read is not being written.
"""
from __future__ import annotations

from ..archive import Archive
from ..config import Config
from ..store import Ledger
from .export import ExportReport, export as export_bag
from .holds import Hold, HoldBook, HoldReport, add_hold, remove_hold
from .reclassify import ReclassifyReport, reclassify as reclassify_records
from .segments import Segment, file_segment
from .select import Criteria
from .settings import operator
from .subject import RestrictReport, SubjectRecord, find, restrict
from .verify import VerifyReport, verify


def _archive(cfg: Config, *, write: bool) -> Archive:
    """The archive to work on, locked (a context manager: closed, and the lock released, at the end);
    a command that only reads opens it ``dry_run``, so nothing is created or checked for writing."""
    return Archive.open(cfg, lock=True, dry_run=not write)


def place_hold(cfg: Config, matter: str, criteria: Criteria, *, note: str = "",
               allow_empty: bool = False) -> HoldReport:
    """Legal hold ``matter`` on every version of the records ``criteria`` select (again: resumes)."""
    with _archive(cfg, write=True) as archive:
        return add_hold(archive, matter, criteria, note=note, allow_empty=allow_empty)


def release_hold(cfg: Config, matter: str, *, reason: str) -> HoldReport:
    """The hold's id leaves every version that carries it; the hold stays listed, released."""
    with _archive(cfg, write=True) as archive:
        return remove_hold(archive, matter, reason=reason)


def holds(cfg: Config, *, released: bool = False) -> list[Hold]:
    """The ledger's holds, active ones only unless ``released``. Local: no repository request."""
    ledger = Ledger(cfg.ledger_path)
    try:
        return [h for h in HoldBook(ledger).all() if released or h.active]
    finally:
        ledger.close()


def check_fixity(cfg: Config, *, source: str | None = None, sample: int | None = None,
                 allow_empty: bool = False) -> VerifyReport:
    """Content read back from the repository and re-hashed; the audit chain and its filed segments."""
    with _archive(cfg, write=False) as archive:
        return verify(archive, source=source, sample=sample, allow_empty=allow_empty)


def reclassify(cfg: Config, *, source: str | None = None, apply: bool = False, force: bool = False,
               allow_empty: bool = False) -> ReclassifyReport:
    """Record class and retain-until decided again by today's rules; written only with ``apply``."""
    with _archive(cfg, write=apply) as archive:
        return reclassify_records(archive, source=source, apply=apply, force=force, allow_empty=allow_empty)


def export(cfg: Config, out: str, *, matter: str | None = None, criteria: Criteria | None = None,
           allow_empty: bool = False) -> ExportReport:
    """A BagIt bag of a hold's records (``matter``) or of a selection (``criteria``) in ``out``."""
    with _archive(cfg, write=False) as archive:
        return export_bag(archive, out, matter=matter, criteria=criteria, allow_empty=allow_empty)


def file_audit(cfg: Config) -> Segment | None:
    """The audit entries not filed yet, filed as one segment; None when there were none."""
    with _archive(cfg, write=True) as archive:
        return file_segment(archive)


def find_subject(cfg: Config, user: str) -> list[SubjectRecord]:
    """The records ``user`` created or revised. The search itself is audited (who looked for whom)."""
    with _archive(cfg, write=False) as archive:
        records = find(archive, user)
        archive.audit.append("subject-find", subject=user, records=len(records), user=operator(),
                             run_id=archive.run_id)
        return records


def restrict_subject(cfg: Config, user: str, *, reason: str = "", allow_empty: bool = False) -> RestrictReport:
    """GDPR Art. 18: ``user``'s archived content marked and its ACL narrowed; nothing erased."""
    with _archive(cfg, write=True) as archive:
        return restrict(archive, user, reason=reason, allow_empty=allow_empty)
