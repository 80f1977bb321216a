"""Fixity verification: every archived version's content is streamed back from the repository and
re-hashed, and compared with the object's ``sa:sha256`` and length properties and with the
ledger's record of what the repository acknowledged; the audit log's hash chain is checked; every
audit segment filed in the repository is read back and compared with the local log's lines.

Example::

    report = verify(archive, source="wiki", sample=200)
    if report.problems: ...   # the CLI exits 7

What each problem means:
- ``missing``: the ledger has a version the repository no longer returns;
- ``content``: the bytes read back do not hash to what was filed (content replaced or damaged);
- ``property``: the object's ``sa:sha256`` / ``sa:contentLength`` / ``sa:recordKey`` differ from
  the ledger's (metadata edited);
- ``audit``: the local audit log's chain is broken, or the log is missing, cut short or differs from
  the segments filed in the repository (its anchors, read back from there: ``anchors.check_log``).

``sample`` picks N versions at random (``secrets.SystemRandom``) for a periodic spot check; without
it every version is read. The check itself is audited (``verify``: counts, outcome, problems).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field

from ..audit import verify_chain
from ..cmis import schema
from ..cmis.bindings import Repository
from ..errors import ConnectorError, EmptySelection, ObjectNotFound
from ..http import retrying
from .anchors import check_log
from .select import single
from .settings import operator


@dataclass
class Problem:
    kind: str
    key: str
    detail: str
    object_id: str = ""
    version: str = ""


@dataclass
class VerifyReport:
    source: str | None
    sample: int | None
    versions_total: int = 0
    versions_checked: int = 0
    bytes_read: int = 0
    audit_entries: int = 0
    segments_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> list[str]:
        out = [f"source {self.source}: 0 records archived"] if self.source and not self.versions_total else []
        out += [f"{self.versions_checked} of {self.versions_total} versions re-read ({self.bytes_read} bytes), "
               f"{self.audit_entries} audit entries, {self.segments_checked} filed audit segments: "
               + ("OK" if self.ok else f"{len(self.problems)} PROBLEMS")]
        for p in self.problems:
            where = f" {p.object_id} v{p.version}" if p.object_id else ""
            out.append(f"  {p.kind}: {p.key}{where}: {p.detail}")
        return out


def verify(archive, *, source: str | None = None, sample: int | None = None,
           allow_empty: bool = False) -> VerifyReport:
    """Re-read the versions (of ``source``; ``sample`` of them) and check the audit log.

    ``source`` with no version filed raises ``EmptySelection`` before anything is audited ("OK"
    about nothing would pass for a fixity check), unless ``allow_empty``."""
    report = VerifyReport(source=source, sample=sample)
    rows = archive.ledger.filed_versions(source)
    if source and not rows and not allow_empty:
        raise EmptySelection("verify", f"source {source}")
    report.versions_total = len(rows)
    if sample is not None and sample < len(rows):
        rows = secrets.SystemRandom().sample(rows, sample)
    for key, revision_id, object_id, label, sha256, length in rows:
        _check_version(archive.repo, report, key, object_id, label, sha256, length)
    chain = verify_chain(archive.config.audit_path)
    report.audit_entries = _count_lines(archive.config.audit_path)
    report.problems += [Problem("audit", "audit log", p) for p in chain]
    report.segments_checked, anchored = check_log(archive)
    report.problems += [Problem("audit", "audit log", p) for p in anchored]
    archive.audit.append("verify", source=source, sample=sample, versions_total=report.versions_total,
                         versions_checked=report.versions_checked, bytes=report.bytes_read,
                         audit_entries=report.audit_entries, segments=report.segments_checked,
                         outcome="ok" if report.ok else "mismatch", problems=len(report.problems),
                         details=[f"{p.kind}: {p.key} {p.object_id}: {p.detail}" for p in report.problems[:50]],
                         user=operator(), run_id=archive.run_id)
    return report


def _check_version(repo: Repository, report: VerifyReport, key: str, object_id: str, label: str, sha256: str,
                   length: int) -> None:
    report.versions_checked += 1
    try:
        props = retrying(lambda: repo.get_object(object_id), attempts=3)
    except ObjectNotFound:
        report.problems.append(Problem("missing", key, "the repository does not return this version", object_id, label))
        return
    except ConnectorError as exc:
        report.problems.append(Problem("missing", key, f"cannot read the object: {exc}", object_id, label))
        return
    prop_sha = single(props.get("sa:sha256"))
    prop_len = single(props.get("sa:contentLength"))
    prop_key = single(props.get(schema.KEY_PROPERTY))
    if prop_key != key:
        report.problems.append(Problem("property", key, f"sa:recordKey is {prop_key!r}", object_id, label))
    if prop_sha != sha256:
        report.problems.append(Problem("property", key, f"sa:sha256 is {prop_sha}, the ledger filed {sha256}",
                                       object_id, label))
    if prop_len is not None and int(prop_len) != int(length):
        report.problems.append(Problem("property", key, f"sa:contentLength is {prop_len}, the ledger filed {length}",
                                       object_id, label))
    digest, size = hashlib.sha256(), 0

    def read() -> None:
        nonlocal digest, size
        digest, size = hashlib.sha256(), 0
        for chunk in repo.content(object_id):
            digest.update(chunk)
            size += len(chunk)
    try:
        retrying(read, attempts=3)
    except ConnectorError as exc:
        report.problems.append(Problem("missing", key, f"cannot read the content: {exc}", object_id, label))
        return
    report.bytes_read += size
    actual = digest.hexdigest()
    if actual != sha256 or size != int(length):
        report.problems.append(Problem(
            "content", key, f"content read back has sha256 {actual} ({size} bytes); filed {sha256} ({length} bytes)"
            + ("" if prop_sha == sha256 else f"; property says {prop_sha}"), object_id, label))


def _count_lines(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except FileNotFoundError:
        return 0
