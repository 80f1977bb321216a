"""GDPR data subjects: find a person's archived content, and restrict its processing.

While a retention period runs, erasure is not owed (GDPR Art. 17(3)(b)); BDSG §35(3) puts the
restriction of processing (Art. 18) in its place. So ``restrict`` does not delete or alter
content: every version of each record the person authored or revised gets ``sa:restricted =
true``, the series gets the restricted ACL (archive admins and restricted readers only; every
other ACE, public read included, is removed), the ledger remembers the person so that records
and versions filed later are restricted too, and each step is audited.

Found by ``sa:author`` (created the item) and ``sa:revisionAuthor`` (made a revision), user names
in any case and with or without accents (``admin`` finds ``Admin``; ``names`` says how the source
spells them). Mentions of the person inside other people's content are
not found here (use ``socialarchive search`` for that).
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Iterable, Mapping

from ..errors import ConnectorError, EmptySelection
from ..http import retrying
from ..store import now
from ..model import Visibility
from .classify import RESTRICTED_REASON
from . import rm
from .select import by_person, person_roles, single
from .settings import operator

log = logging.getLogger(__name__)

@dataclass
class SubjectRecord:
    key: str
    source: str
    kind: str
    title: str
    url: str
    object_id: str
    names: list[str]     # the user names as the source spells them (the match ignores case and accents)
    roles: list[str]
    revisions: list[str]
    versions: int
    restricted: bool

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RestrictReport:
    subject: str
    records: int = 0
    versions_changed: int = 0
    acls_changed: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.subject}: processing restricted on {self.records} records ({self.versions_changed} versions "
                f"marked, {self.acls_changed} ACLs narrowed)" + (f", {len(self.problems)} problems" if self.problems else ""))


def find(archive, user: str) -> list[SubjectRecord]:
    """Every record in this archive that ``user`` created or revised (one entry per record)."""
    records = []
    for key, found in sorted(by_person(archive, user).items()):
        latest = found.latest
        roles, revisions, names = set(), [], set()
        for v in found.versions:
            matched = person_roles(v, user)
            roles |= matched
            names |= {str(single(v.get(p))) for r, p in (("author", "sa:author"), ("revision author", "sa:revisionAuthor"))
                      if r in matched}
            if "revision author" in matched:
                revisions.append(str(single(v.get("sa:revisionId")) or v.get("cmis:versionLabel")))
        source, kind, _ = key.split("/", 2)
        records.append(SubjectRecord(
            key=key, source=source, kind=kind, title=str(single(latest.get("sa:title")) or latest.get("cmis:name", "")),
            url=str(single(latest.get("sa:sourceUrl")) or ""), object_id=found.object_id, names=sorted(names),
            roles=sorted(roles),
            revisions=revisions, versions=len(found.versions),
            restricted=all(single(v.get("sa:restricted")) is True for v in found.versions)))
    return records


def restrict(archive, user: str, *, reason: str = "", by: str | None = None,
             allow_empty: bool = False) -> RestrictReport:
    """Restrict processing of everything ``user`` created or revised, now and for records filed later.

    A person with no archived record raises ``EmptySelection`` before the restriction is recorded
    or audited (a misspelt name would otherwise be "restricted" and protect nobody), unless
    ``allow_empty``: a restriction ahead of the person's first archived content."""
    selected = by_person(archive, user)
    if not selected and not allow_empty:
        raise EmptySelection(f"subject restrict {user}", f"user {user!r} (as author or revision author)")
    by = by or operator()
    reason = reason or "data subject request (GDPR Art. 18; BDSG §35(3): retention period running)"
    archive.ledger.restrict_subject(user, now(), by, reason)
    archive.audit.append("subject-restrict", subject=user, reason=reason, user=by, run_id=archive.run_id)
    report = RestrictReport(user)
    secondary = archive.filer.profile.secondary_type
    for key, found in sorted(selected.items()):
        changed = 0
        for props in found.versions:
            if single(props.get("sa:restricted")) is True:
                continue
            update = {"cmis:secondaryObjectTypeIds": rm.with_secondary(props.get("cmis:secondaryObjectTypeIds"), secondary),
                      "sa:restricted": True}
            try:
                retrying(lambda: archive.repo.update_properties(props["cmis:objectId"], update), attempts=3)
                changed += 1
            except ConnectorError as exc:
                report.problems.append(f"{key} version {props.get('cmis:versionLabel')}: {exc}")
        acl_changed = False
        try:
            acl_changed = _narrow_acl(archive, key, found.object_id)
        except ConnectorError as exc:
            report.problems.append(f"{key} ACL: {exc}")
        archive.ledger.subject_record_restricted(user, key, len(found.versions))
        archive.audit.append("subject-restrict-record", subject=user, key=key, object_id=found.object_id,
                             versions_marked=changed, acl_narrowed=acl_changed, user=by, run_id=archive.run_id)
        report.records += 1
        report.versions_changed += changed
        report.acls_changed += acl_changed
    archive.audit.append("subject-restricted", subject=user, records=report.records,
                         versions_marked=report.versions_changed, acls_narrowed=report.acls_changed,
                         problems=len(report.problems), user=by, run_id=archive.run_id)
    return report


def restore(ledger, trail: Iterable[dict], marked: Mapping[str, tuple[int, set[str]]]) -> list[str]:
    """Rebuild ``restrictions`` and ``restricted_records`` after the ledger was lost; returns the
    subjects restored.

    ``marked`` is what the repository says: record key -> (versions, the people who created or
    revised it) for every record with ``sa:restricted = true`` (the ledger's
    ``record_restrictions`` are restored from it by ``rebuild``, so those records never widen).
    ``trail`` (the audit entries, from the segments filed in the repository) names the subjects,
    so that their content filed later is restricted too."""
    subjects = []
    for entry in trail:
        if entry.get("event") != "subject-restrict" or not entry.get("subject"):
            continue
        subject = entry["subject"]
        subjects.append(subject)
        ledger.restrict_subject(subject, entry.get("time", now()), entry.get("user", ""), entry.get("reason", ""))
        ledger.restore_subject_records(subject, {key: versions for key, (versions, people) in marked.items()
                                                 if subject in people})
    return subjects


def _narrow_acl(archive, key: str, object_id: str) -> bool:
    """Keep the restriction in the ledger (it never widens by itself), then give the record the ACL
    that follows from it: admins and restricted readers only. True if the ACL had to change."""
    archive.ledger.restrict(key, [RESTRICTED_REASON])
    decided = archive.mapper.acl(key.split("/", 1)[0], Visibility.restricted(RESTRICTED_REASON),
                                 frozenset({RESTRICTED_REASON}))
    return retrying(lambda: archive.filer.replace_acl(object_id, decided.add), attempts=3)
