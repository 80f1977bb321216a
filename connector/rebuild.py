"""Rebuild the ledger from the repository: the archive itself is the source of truth.

Every document we filed carries its record key on our document type and its provenance on the
secondary type, so a lost or corrupted ledger can be reconstructed by query: one query for the
keys, then the version history of each series.

The compliance tables come back too, so that nothing widens or lapses with a lost ledger: the
archive's restrictions (``sa:visibilityReason``, ``sa:restricted``), the holds on each record
(``sa:holdIds``: a held record stays held), and from the audit segments filed in the repository
the audit-segment rows, each hold's criteria and the restricted data subjects.

A repository that lost the archive (reset, restored from an old backup, pointed at by another
deployment's config) while the ledger still holds versions is found when a run opens
(``check_archive``): our types or the archive's base folder are gone. The run stops before filing
anything (``ArchiveLost``, exit 5) and names the way back: ``ledger rebuild --replace`` sets the
old ledger aside (``set_aside``: renamed with a timestamp, never deleted) and starts a fresh one
from what the repository holds; the next sync files everything from the sources again.
"""
from __future__ import annotations

import logging

from .access import acl_digest
from .cmis import schema
from .cmis.filer import version_from_properties
from .compliance import holds
from .compliance.classify import RESTRICTED_REASON
from .compliance.select import as_list
from .errors import ArchiveLost
from .store import Ledger
from .model import Visibility, access_label

log = logging.getLogger(__name__)

# how the archive's own restrictions begin their sa:visibilityReason (now, and before this version)
ARCHIVE_REASONS = ("archive restriction", "sensitive data", RESTRICTED_REASON)


def check_archive(repo, filer, ledger: Ledger) -> None:
    """Refuse to file into a repository that lost the archive the ledger describes.

    Asked before the types are created (InMemory would make them anew and every new version of a
    record the ledger knows would then fail on its own, quarantined item by item with the
    repository's raw error). Costs nothing with an empty ledger, else up to three requests."""
    if not ledger.has_versions():
        return
    types = dict.fromkeys((filer.profile.document_type, filer.profile.secondary_type))   # one in CMIS 1.0 mode
    gone = [f"type {type_id}" for type_id in types if repo.get_type(type_id) is None]
    if filer.base_path and not gone and repo.get_object_by_path(filer.base_path) is None:
        gone.append(f"the archive folder {filer.base_path}")
    if gone:
        counts = ledger.counts()
        raise ArchiveLost(
            f"the repository has lost the archive: the ledger {ledger.path} holds {counts['versions']} versions "
            f"of {counts['records']} records, but the repository lacks {' and '.join(gone)}. Nothing was filed. "
            "If the repository was reset or restored without the archive, run `socialarchive ledger rebuild "
            "--replace` (the old ledger is kept aside, a fresh one is built from what the repository holds), "
            "then sync again to file everything from the sources. If the config names the wrong repository "
            "or base_path, correct it instead.")


def set_aside(archive) -> str:
    """Move the archive's ledger aside (``<ledger>.replaced-<UTC time>``, with its WAL) and open a
    fresh one in its place; the run lock stays held. Returns where the old ledger went.

    Example: ``.state/ledger.sqlite`` -> ``.state/ledger.sqlite.replaced-20261203T172500Z``."""
    path = archive.ledger.path
    aside = archive.ledger.move_aside()
    archive.ledger = Ledger(path)
    archive.audit.append("ledger_replaced", aside=aside, run_id=archive.run_id)
    log.warning("the old ledger is kept as %s; a fresh one is built from the repository", aside)
    return aside


def rebuild_ledger(archive) -> tuple[int, int]:
    """Insert every record and version found in the repository; returns (records, versions)."""
    repo, ledger = archive.repo, archive.ledger
    statement = (f"SELECT cmis:objectId, cmis:versionSeriesId, {schema.KEY_PROPERTY} "
                 f"FROM {archive.filer.profile.document_type} WHERE {archive.filer.in_archive()}")
    seen_series: set[str] = set()
    deleted_keys: list[str] = []
    acls: dict[str, str] = {}   # key -> digest of the ACL the repository holds
    held: dict[str, dict[str, int]] = {}             # matter -> key -> versions carrying its id
    marked: dict[str, tuple[int, set[str]]] = {}     # key -> (versions, authors) of sa:restricted records
    records = versions = 0
    for row in repo.query(statement, all_versions=archive.filer.profile.query_all_versions):
        series = row.get("cmis:versionSeriesId") or row["cmis:objectId"]
        if series in seen_series:
            continue
        seen_series.add(series)
        key = row[schema.KEY_PROPERTY]
        history = [v for v in repo.versions(row["cmis:objectId"]) if not v.get("cmis:isPrivateWorkingCopy")]
        if not history:
            continue
        latest = history[-1]
        source, kind, native_id = key.split("/", 2)
        known = ledger.filed_revisions(key)
        label, readers = _first(latest.get("sa:visibility")), latest.get("sa:readers") or []
        readers = readers if isinstance(readers, list) else [readers]
        # the latest version says what the archive showed; an archive restriction (its reason says
        # so) is kept again, so that it never widens; the ACL digest is the repository's own, so the
        # next run writes only where the ACL it decides differs from what the repository holds
        reason = str(_first(latest.get("sa:visibilityReason")) or "")
        if label == "restricted" and reason.startswith(ARCHIVE_REASONS):
            ledger.restrict(key, [reason])
        if any(_first(v.get("sa:restricted")) is True for v in history):   # a data subject's (GDPR)
            ledger.restrict(key, [RESTRICTED_REASON])
            marked[key] = (len(history), {str(_first(v.get(p))) for v in history
                                          for p in ("sa:author", "sa:revisionAuthor") if v.get(p)})
        for version in history:
            for matter in as_list(version.get("sa:holdIds")):
                held.setdefault(matter, {}).setdefault(key, 0)
                held[matter][key] += 1
        visibility = access_label(Visibility.public() if label == "public" else Visibility.restricted(reason, readers))
        acls[key] = acl_digest({p: sorted(perms) for p, perms in repo.acl(latest["cmis:objectId"]).items()})
        # a revision filed twice (a copy the repository stored damaged, then a good one) is the later copy
        latest_copy = {str(_first(props.get("sa:revisionId")) or ""): props for props in history}
        for props in history:
            filed = version_from_properties(key, props)
            if filed.revision_id in known or latest_copy.get(filed.revision_id) is not props:
                continue
            paths = repo.parents(props["cmis:objectId"])
            ledger.commit_version(filed, source=source, kind=kind, native_id=native_id,
                                  folder=paths[0] if paths else "",
                                  visibility=visibility, acl=acls[key],
                                  run_id=archive.run_id)
            versions += 1
        records += 1
        if kind == "tombstone":
            deleted = _first(latest.get("sa:parentId"))
            if deleted:
                deleted_keys.append(deleted)
    # after every record is in (a tombstone may come before its record): a deleted record is
    # readable by the archive's admins and restricted readers only
    for key in deleted_keys:
        ledger.set_access(key, access_label(Visibility.restricted("deleted in the source")), acls.get(key, ""),
                          deleted=True)
    # the audit segments' readers, imported here: every run imports this module for
    # check_archive, and only a rebuild reads the segments back
    from .compliance import anchors, subject
    trail = anchors.restore(archive, {"hold-add", "hold-remove", "hold-released", "subject-restrict"})
    active = holds.restore(ledger, trail, held)
    subjects = subject.restore(ledger, trail, marked)
    log.info("restored %d active holds, %d records restricted by the archive for a data subject (%d subjects)",
             active, len(marked), len(subjects))
    return records, versions


def _first(value):
    return value[0] if isinstance(value, list) and value else value
