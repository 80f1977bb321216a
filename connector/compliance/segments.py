"""The audit log, filed into the repository: the lines appended since the last filed segment become
one JSON Lines document under ``<base>/_audit/<year>/``, a record like any other (restricted ACL,
SHA-256 checked on the way up, classified, in the ledger, so ``verify`` re-reads it).

Filed after every ``sync`` (``[compliance] file_audit_log``, default on) and by
``socialarchive audit file``. The ledger's table ``audit_segments`` says which lines are filed (where
the next segment begins); ``verify`` reads the segments back from the repository and compares them
with the local lines (``anchors``), so a local log cut, deleted or rewritten with a consistent new
chain is still caught, whatever the ledger says.

Each segment's record key is ``_audit/audit-segment/<first seq>``: a run killed after the
repository's ack finds the segment by key and records it instead of filing it twice. A segment
holding nothing but the previous ``audit-segment`` entry is not filed (it would never end).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import __version__
from ..audit import GENESIS, _digest
from ..cmis.filer import DocumentSpec, VersionSpec
from ..errors import AlreadyFiled, AuditChainBroken, ConnectorError
from ..http import retrying
from ..model import Content, Visibility, record_key
from .classify import Facts
from .settings import settings

log = logging.getLogger(__name__)

SOURCE, KIND, EVENT = "_audit", "audit-segment", "audit-segment"


@dataclass(frozen=True)
class Segment:
    first_seq: int
    last_seq: int
    sha256: str
    lines: int
    key: str
    object_id: str


def filed_segments(ledger) -> list[Segment]:
    return [Segment(*row) for row in ledger.audit_segments()]


def read_lines(path: str, first_seq: int, last_seq: int | None = None) -> list[bytes]:
    """Raw lines (bytes, newline kept) of the local log with first_seq <= seq <= last_seq."""
    out = []
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return out
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                seq = json.loads(line).get("seq")
            except ValueError:
                seq = None
            if isinstance(seq, int) and seq >= first_seq and (last_seq is None or seq <= last_seq):
                out.append(line if line.endswith(b"\n") else line + b"\n")
    return out


def file_segment(archive) -> Segment | None:
    """File the audit lines not filed yet as one document; None when there is nothing new."""
    done = filed_segments(archive.ledger)
    first = (done[-1].last_seq + 1) if done else 1
    lines = read_lines(archive.config.audit_path, first)
    if not lines or all(json.loads(line).get("event") == EVENT for line in lines):
        return None
    broken = _chain_breaks(archive.config.audit_path, first, lines)
    if broken:  # never file (and so certify) a tampered log
        raise AuditChainBroken(f"the audit log's chain is broken {broken}: its new entries are not filed into the "
                               "repository (`socialarchive verify` says more)")
    last = json.loads(lines[-1])["seq"]
    body = b"".join(lines)
    key = record_key(SOURCE, KIND, f"{first:010d}")
    when = datetime.now(timezone.utc)
    content = Content.from_bytes(body, "application/x-ndjson", filename=f"audit-{first:010d}-{last:010d}.jsonl")
    decided = archive.mapper.acl(SOURCE, Visibility.restricted("audit log"))
    props = {"sa:sourceSystem": "socialarchive", "sa:source": SOURCE, "sa:kind": KIND,
             "sa:nativeId": f"{first:010d}", "sa:title": f"audit log, entries {first}-{last}",
             "sa:created": when, "sa:visibility": "restricted", "sa:visibilityReason": "audit log",
             "sa:extra": json.dumps({"first_seq": first, "last_seq": last, "lines": len(lines),
                                     "last_hash": json.loads(lines[-1]).get("hash")}, sort_keys=True),
             "sa:connectorVersion": __version__, "sa:runId": archive.run_id}
    version_props = {"sa:revisionId": f"{first}-{last}", "sa:revisionCreated": when,
                     "sa:mediaType": "application/x-ndjson", "sa:capturedAt": when}
    classifier = getattr(archive.mapper, "classifier", None)
    if classifier is not None:
        facts = Facts(key=key, source=SOURCE, system="socialarchive", kind=KIND, title=props["sa:title"], created=when)
        version_props.update(classifier.properties(classifier.decide(facts, content)))
    spec = DocumentSpec(key=key, folder=(SOURCE, f"{when.year:04d}"), name=f"audit {first:010d}-{last:010d}.jsonl",
                        properties=props, acl_add=decided.add, acl_remove=decided.remove, acl_digest=decided.digest)
    version = VersionSpec(f"{first}-{last}", content, version_props, f"audit log entries {first}-{last}")
    spec.versions = [version]
    archive.ledger.begin_intent(key, version.revision_id, archive.run_id)
    try:
        filed = retrying(lambda: archive.filer.create(spec, version), attempts=5)
    except AlreadyFiled as found:  # a run killed after the ack: record what the repository has,
        intact = archive.filer.proven(found.versions)   # if it holds what was sent; else file it again
        if intact:
            filed = intact[-1]
            extra = json.loads(_single(archive.repo.get_object(filed.object_id).get("sa:extra")) or "{}")
            last = int(extra.get("last_seq", last))
            lines = read_lines(archive.config.audit_path, first, last)
            body = b"".join(lines)
        else:
            filed = retrying(lambda: archive.filer.add_version(found.versions[-1].object_id, spec, version), attempts=5)
    digest = hashlib.sha256(body).hexdigest()
    if filed.sha256 != digest:
        log.error("audit segment %s: the repository holds sha256 %s, the local lines give %s", key, filed.sha256, digest)
    archive.ledger.commit_version(filed, source=SOURCE, kind=KIND, native_id=f"{first:010d}",
                                  folder="/".join(spec.folder), visibility="restricted:", acl=decided.digest,
                                  run_id=archive.run_id)
    archive.ledger.segment_filed(first, last, filed.sha256, len(lines), key, filed.object_id)
    segment = Segment(first, last, filed.sha256, len(lines), key, filed.object_id)
    archive.audit.append(EVENT, key=key, object_id=filed.object_id, first_seq=first, last_seq=last,
                         lines=len(lines), sha256=filed.sha256, run_id=archive.run_id)
    return segment


def _chain_breaks(path: str, first: int, lines: list[bytes]) -> str:
    """Where the new lines do not chain on from entry ``first - 1`` (or each other); "" if they do."""
    prev = GENESIS
    if first > 1:
        before = read_lines(path, first - 1, first - 1)
        if not before:
            return f"entry {first - 1} is missing"
        prev = json.loads(before[0]).get("hash")
    for seq, line in enumerate(lines, first):
        entry = json.loads(line)
        if entry.get("seq") != seq or entry.get("prev") != prev or entry.get("hash") != _digest(entry):
            return f"at entry {seq}"
        prev = entry["hash"]
    return ""


def file_after_run(archive) -> None:
    """After a sync: file the new audit-log lines into the repository, if configured. A failure is
    logged, not raised: the lines stay local and the next run or `audit file` files them."""
    if not settings(archive.config).file_audit_log:
        return
    try:
        segment = file_segment(archive)
    except AuditChainBroken as exc:
        log.error("%s", exc)
        return
    except ConnectorError as exc:
        log.warning("the audit log could not be filed into the repository now (next run will): %s", exc)
        return
    if segment:
        log.info("audit log entries %d-%d filed as %s", segment.first_seq, segment.last_seq, segment.object_id)


def _single(value):
    return value[0] if isinstance(value, list) and value else value
