"""Append-only, hash-chained audit log (JSON Lines).

Each entry carries the SHA-256 of the previous entry, so editing, removing or reordering any
line breaks the chain from there on, and ``verify_chain`` says where.

Example::

    log = AuditLog(".state/audit.jsonl")
    log.append("file", key="wiki/page/42", object_id="123", sha256="ab..", revision="1001")
    assert verify_chain(".state/audit.jsonl") == []

A run killed while it appends (SIGKILL, power loss) can leave a torn last line: bytes after the
last newline, never a complete entry. Opening the log repairs that: the torn bytes are moved to
``<log>.torn-<UTC time>`` (kept as evidence), the file is cut back to its last complete line, and
an ``audit_repaired`` entry (length and SHA-256 of the torn bytes, where they went) continues the
chain. A complete last line that is not JSON is not a torn write but damage: opening refuses
(``AuditLogDamaged``) and ``verify_chain`` says where.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from .errors import AuditLogDamaged

GENESIS = "0" * 64
log = logging.getLogger(__name__)


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: str, actor: str = "socialarchive"):
        self.path = path
        self.actor = actor
        self._lock = threading.Lock()
        self._batch = None   # the open file while a batch() is running
        self._pending: list[str] = []   # the batch's lines, written at its end
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torn = self._cut_torn_tail()
        self._seq, self._prev = self._tail()
        if torn is not None:
            self.append("audit_repaired", reason="torn last line (a run was killed while appending)", **torn)

    def _cut_torn_tail(self) -> dict | None:
        """Cut bytes after the last newline (a torn append) off the log; keep them in a side file."""
        if not os.path.exists(self.path):
            return None
        with open(self.path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            tail_start = size
            while tail_start > 0:
                step = min(65536, tail_start)
                fh.seek(tail_start - step)
                cut = fh.read(step).rfind(b"\n")
                if cut >= 0:
                    tail_start = tail_start - step + cut + 1
                    break
                tail_start -= step
            if tail_start == size:
                return None
            fh.seek(tail_start)
            torn = fh.read()
            side = f"{self.path}.torn-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S.%fZ')}"
            with open(side, "wb") as out:
                out.write(torn)
                out.flush()
                os.fsync(out.fileno())
            fh.truncate(tail_start)
            fh.flush()
            os.fsync(fh.fileno())
        log.warning("audit log %s ended in a torn line (%d bytes, kept in %s): cut back to its last "
                    "complete entry", self.path, len(torn), side)
        return {"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest(),
                "torn_kept_in": os.path.basename(side)}

    def _tail(self) -> tuple[int, str]:
        if not os.path.exists(self.path):
            return 0, GENESIS
        last = None
        with open(self.path, "rb") as fh:
            for line in fh:
                if line.strip():
                    last = line
        if last is None:
            return 0, GENESIS
        try:
            entry = json.loads(last)
            return entry["seq"], entry["hash"]
        except (ValueError, KeyError, TypeError):
            raise AuditLogDamaged(f"audit log {self.path}: the last line is not an audit entry; not appending "
                                  "to a damaged chain (see verify_chain)") from None

    def append(self, event: str, **fields) -> dict:
        """Write one entry; durable (fsync) on return, or at the end of the enclosing ``batch()``."""
        with self._lock:
            entry = {"seq": self._seq + 1, "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                     "actor": self.actor, "event": event, **fields, "prev": self._prev}
            entry["hash"] = _digest(entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
            if self._batch is not None:
                self._pending.append(line)   # written whole, with the batch's others, at its end
            else:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
            self._seq, self._prev = entry["seq"], entry["hash"]
            return entry

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: entries appended inside are written together, in one write and one
        fsync, when the block ends (also on error), before the caller goes on to commit what they
        record to the ledger. A process killed inside the block loses the block's entries, never
        a part of one (no torn line from a buffer cut mid-entry), and the chain on disk stays
        whole: what they recorded was not committed to the ledger either, so the next run finds
        those versions by key and audits them as ``recovered``."""
        with self._lock:
            if self._batch is not None:
                nested = True
            else:
                nested = False
                self._batch = open(self.path, "a", encoding="utf-8")
        if nested:
            yield
            return
        try:
            yield
        finally:
            with self._lock:
                fh, self._batch = self._batch, None
                lines, self._pending = self._pending, []
                try:
                    fh.write("".join(lines))
                    fh.flush()
                    os.fsync(fh.fileno())
                finally:
                    fh.close()


def verify_chain(path: str) -> list[str]:
    """Every break in the chain, as human-readable problems; empty when the log is intact."""
    problems: list[str] = []
    prev, seq = GENESIS, 0
    if not os.path.exists(path):
        return problems
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"line {number}: not JSON")
                continue
            if entry.get("prev") != prev:
                problems.append(f"line {number}: previous hash does not match line {number - 1}")
            if entry.get("hash") != _digest(entry):
                problems.append(f"line {number}: entry was altered (hash mismatch)")
            if entry.get("seq") != seq + 1:
                problems.append(f"line {number}: sequence {entry.get('seq')} follows {seq}")
            prev, seq = entry.get("hash", ""), entry.get("seq", seq)
    return problems
