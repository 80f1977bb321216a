"""Append-only, hash-chained audit log (JSON Lines).

Each entry carries the SHA-256 of the previous entry, so editing, removing or reordering any
line breaks the chain from there on, and ``verify_chain`` says where.

Example::

    log = AuditLog(".state/audit.jsonl")
    log.append("file", key="wiki/page/42", object_id="123", sha256="ab..", revision="1001")
    assert verify_chain(".state/audit.jsonl") == []
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

GENESIS = "0" * 64


def _digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: str, actor: str = "socialarchive"):
        self.path = path
        self.actor = actor
        self._lock = threading.Lock()
        self._batch = None   # the open file while a batch() is running
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._seq, self._prev = self._tail()

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
        entry = json.loads(last)
        return entry["seq"], entry["hash"]

    def append(self, event: str, **fields) -> dict:
        """Write one entry; durable (fsync) on return, or at the end of the enclosing ``batch()``."""
        with self._lock:
            entry = {"seq": self._seq + 1, "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                     "actor": self.actor, "event": event, **fields, "prev": self._prev}
            entry["hash"] = _digest(entry)
            line = json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n"
            if self._batch is not None:
                self._batch.write(line)
                self._batch.flush()   # in the OS: survives a killed process; fsync at the batch's end
            else:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
            self._seq, self._prev = entry["seq"], entry["hash"]
            return entry

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: entries appended inside share one fsync, done when the block ends (also
        on error), before the caller goes on to commit what they record to the ledger. Each entry is
        still written (flushed to the OS) as it is appended, so a killed process loses none."""
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
                try:
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
