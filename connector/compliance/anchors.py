"""The audit log's anchors: the segments filed under ``<base>/_audit``, read back from the repository.

``verify`` compares the local log with them, never with the ledger's rows about them: the ledger
lives beside the log and can be cut, edited or lost with it. ``ledger rebuild`` restores from them
what only the audit trail explains (the ``audit_segments`` table, holds' criteria, the data
subjects whose processing is restricted).

What ``check_log`` names (each is a verify problem, exit 7)::

    the audit log .state/audit.jsonl is missing; the repository holds entries 1-40 in 3 segments
    the audit log was cut: entries 31-40 are missing from .state/audit.jsonl (it ends at entry 30) ...
    audit log entries 1-6 differ from the segment filed in the repository (_audit/audit-segment/0000000001, 123)
    no audit segment in the repository holds entries 7-12 (the next one begins at 13)

Each segment's content is streamed back and hashed (its ``sa:sha256`` must match too), and compared
line by line with the local log, which is read once, in order: neither is held in memory whole.
The entries after the last segment are covered by the local hash chain only (``audit.verify_chain``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from ..cmis import schema
from ..cmis.filer import quote
from ..http import retrying
from .segments import filed_segments
from .select import single

log = logging.getLogger(__name__)
PREFIX = "_audit/audit-segment/"


@dataclass(frozen=True)
class Anchor:
    """One audit segment as the repository holds it (its latest version: a copy stored damaged is
    followed by a good one, see ``Filer.proven``)."""

    key: str
    object_id: str
    first_seq: int
    last_seq: int
    lines: int
    sha256: str          # of the content read back
    filed_sha256: str    # its sa:sha256, sent with the upload

    @property
    def intact(self) -> bool:
        return self.sha256 == self.filed_sha256


def documents(archive) -> list[dict]:
    """The latest version's properties of every audit segment in the archive's tree, oldest first."""
    statement = (f"SELECT cmis:objectId, cmis:versionSeriesId, {schema.KEY_PROPERTY} FROM "
                 f"{archive.filer.profile.document_type} WHERE {schema.KEY_PROPERTY} LIKE {quote(PREFIX + '%')} "
                 f"AND {archive.filer.in_archive()}")
    rows = retrying(lambda: list(archive.repo.query(statement, all_versions=archive.filer.profile.query_all_versions)),
                    attempts=3)
    series: dict[str, str] = {}
    for row in rows:
        if str(row.get(schema.KEY_PROPERTY, "")).startswith(PREFIX):
            series.setdefault(row.get("cmis:versionSeriesId") or row["cmis:objectId"], row["cmis:objectId"])
    latest = [retrying(lambda oid=oid: archive.repo.latest(oid), attempts=3) for oid in series.values()]
    return sorted(latest, key=lambda props: str(single(props.get(schema.KEY_PROPERTY))))


def read(archive, props: dict, on_line: Callable[[int, bytes], None]) -> Anchor:
    """Stream one segment's content back: ``on_line(seq, raw line)`` once for each entry, in order
    (a read retried after a broken connection hashes from the start, but passes on only the
    entries not passed on yet)."""
    object_id = props["cmis:objectId"]
    delivered = [0]

    def once() -> Anchor:
        digest, count, first, last = hashlib.sha256(), 0, 0, 0
        for line in _lines(archive.repo.content(object_id), digest):
            seq = _seq(line)
            if seq is None:
                continue
            count, first, last = count + 1, first or seq, seq
            if count > delivered[0]:
                on_line(seq, line)
                delivered[0] = count
        return Anchor(str(single(props.get(schema.KEY_PROPERTY))), object_id, first, last, count,
                      digest.hexdigest(), str(single(props.get("sa:sha256")) or ""))
    return retrying(once, attempts=3)


def check_log(archive) -> tuple[int, list[str]]:
    """(segments read, problems): the local log against every segment the repository holds."""
    path = archive.config.audit_path
    local = LocalLog(path)
    problems: list[str] = []
    absent: list[int] = []
    covered = 0
    found = documents(archive)
    for props in found:
        differ: list[int] = []

        def compare(seq: int, line: bytes) -> None:
            mine = local.get(seq)
            if mine is None:
                absent.append(seq)
            elif mine != line:
                differ.append(seq)
        anchor = read(archive, props, compare)
        where = f"({anchor.key}, {anchor.object_id})"
        if not anchor.intact:
            problems.append(f"the audit segment {where} is damaged in the repository: its content hashes to "
                            f"{anchor.sha256}, it was filed with sha256 {anchor.filed_sha256}")
        if anchor.lines and anchor.first_seq > covered + 1:
            problems.append(f"no audit segment in the repository holds entries {covered + 1}-{anchor.first_seq - 1} "
                            f"(the next one begins at {anchor.first_seq})")
        for first, last in ranges(differ):
            problems.append(f"audit log entries {first}-{last} differ from the segment filed in the repository "
                            f"{where}")
        covered = max(covered, anchor.last_seq)
    local.drain()
    if not local.exists and found:
        problems.append(f"the audit log {path} is missing; the repository holds entries 1-{covered} "
                        f"in {len(found)} segments")
    elif absent:
        for first, last in ranges(absent):
            if last == covered and local.last < first:
                problems.append(f"the audit log was cut: entries {first}-{last} are missing from {path} (it ends at "
                                f"entry {local.last}); the repository's segments hold them")
            else:
                problems.append(f"audit log entries {first}-{last} are missing from {path}; the repository's "
                                "segments hold them")
    keys = {str(single(p.get(schema.KEY_PROPERTY))) for p in found}
    for seg in filed_segments(archive.ledger):
        if seg.key not in keys:
            problems.append(f"the ledger records the audit segment {seg.key} (entries {seg.first_seq}-{seg.last_seq}, "
                            f"{seg.object_id}) but the repository holds no such segment")
    return len(found), problems


def restore(archive, events: set[str]) -> list[dict]:
    """Rebuild the ledger's ``audit_segments`` from the segments in the repository, and return the
    audit trail's entries of the kinds ``events``: from the segments (a damaged one is skipped and
    logged), then from the local log after the last of them (not anchored yet)."""
    trail: list[dict] = []
    covered = 0

    def keep(seq: int, line: bytes) -> None:
        entry = json.loads(line)
        if entry.get("event") in events:
            trail.append(entry)
    for props in documents(archive):
        kept = len(trail)
        anchor = read(archive, props, keep)
        if not anchor.intact or not anchor.lines:
            del trail[kept:]
            log.warning("audit segment %s (%s) is damaged in the repository: not restored", anchor.key, anchor.object_id)
            continue
        archive.ledger.segment_filed(anchor.first_seq, anchor.last_seq, anchor.filed_sha256, anchor.lines, anchor.key,
                                     anchor.object_id, restored=True)
        covered = max(covered, anchor.last_seq)
    local = LocalLog(archive.config.audit_path)
    for seq, line in local.after(covered):
        keep(seq, line)
    return trail


class LocalLog:
    """The local log read in order of ``seq``: ``get(seq)`` for ascending seqs reads it once; a
    smaller seq than the last asked for (two segments that overlap: one filed again after the
    ledger lost its rows) reads it again from the start."""

    def __init__(self, path: str):
        self.path = path
        self.exists = os.path.exists(path)
        self._lines = self._read(path) if self.exists else iter(())
        self._pending: tuple[int, bytes] | None = None
        self._asked = 0
        self.last = 0

    @staticmethod
    def _read(path: str) -> Iterator[tuple[int, bytes]]:
        with open(path, "rb") as fh:
            for line in fh:
                seq = _seq(line)
                if seq is not None:
                    yield seq, line if line.endswith(b"\n") else line + b"\n"

    def get(self, seq: int) -> bytes | None:
        if seq <= self._asked and self.exists:
            self._lines, self._pending = self._read(self.path), None
        self._asked = seq
        while self._pending is None or self._pending[0] < seq:
            self._pending = next(self._lines, None)
            if self._pending is None:
                return None
            self.last = max(self.last, self._pending[0])
        return self._pending[1] if self._pending[0] == seq else None

    def after(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """The entries after ``seq``, in the log's order."""
        return ((n, line) for n, line in self._lines if n > seq)

    def drain(self) -> None:
        """Read to the end, so that ``last`` is the log's last entry."""
        for seq, _ in self._lines:
            self.last = max(self.last, seq)


def ranges(seqs: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive numbers: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def _lines(chunks: Iterable[bytes], digest) -> Iterator[bytes]:
    """The lines of streamed content (newline kept); every chunk also goes into ``digest``."""
    buffer = b""
    for chunk in chunks:
        digest.update(chunk)
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if buffer:
        yield buffer + b"\n"


def _seq(line: bytes) -> int | None:
    if not line.strip():
        return None
    try:
        seq = json.loads(line).get("seq")
    except (ValueError, AttributeError):
        return None
    return seq if isinstance(seq, int) else None
