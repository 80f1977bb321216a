"""``python -m tests.reliability.crashchild <socialarchive args>``: the real CLI, plus kill switches
for the crash tests (each a count: SIGKILL at that call, 1-based; unset = off):

- ``SA_KILL_AT_COMMIT``: inside ``Ledger.commit_version`` before it records a version: the
  repository acknowledged the write and the audit entry is written, the ledger never hears of it;
- ``SA_KILL_IN_AUDIT``: inside ``AuditLog.append``: half of the line is written, then the kill
  (a torn last line, as a kill in the middle of the write leaves it);
- ``SA_KILL_AFTER_CHECKOUT``: right after a check-out was acknowledged (a stale private working
  copy for the next run);
- ``SA_KILL_BEFORE_GROUP_COMMIT``: when a group's audit batch is durable (its entries fsynced), before
  the ledger transaction that records the group commits: every version of the group was
  acknowledged and audited, the ledger never hears of any of them;
- ``SA_KILL_AFTER_WRITES``: once the repository acknowledged that many versions (creates and
  check-ins, on any worker): the bound on how far a run killed by the parent's timer got. The
  worker window lets the repository run far ahead of the ledger (up to 64 objects, the whole crash
  corpus), so a bound on ledger rows does not bound what the next runs find already written.

The parent kills at random moments too (a timer and ``Popen.kill``).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading


def _die() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _countdown(var: str):
    target = int(os.environ.get(var) or 0)
    calls = {"n": 0}

    def hit() -> bool:
        calls["n"] += 1
        return target > 0 and calls["n"] == target
    return hit


def install() -> None:
    from connector import audit, store
    from connector.cmis import client

    commit_hit = _countdown("SA_KILL_AT_COMMIT")
    original_commit = store.Ledger.commit_version

    def commit_version(self, *args, **kwargs):
        if commit_hit():
            _die()
        return original_commit(self, *args, **kwargs)
    store.Ledger.commit_version = commit_version

    audit_hit = _countdown("SA_KILL_IN_AUDIT")
    original_append = audit.AuditLog.append

    def append(self, event, **fields):
        if audit_hit():
            line = json.dumps({"seq": self._seq + 1, "actor": self.actor, "event": event, **fields,
                               "prev": self._prev}, sort_keys=True, default=str)
            batch = getattr(self, "_batch", None)
            if batch is not None:
                batch.flush()
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line[: len(line) // 2])
                fh.flush()
            _die()
        return original_append(self, event, **fields)
    audit.AuditLog.append = append

    group_hit = _countdown("SA_KILL_BEFORE_GROUP_COMMIT")
    original_batch = audit.AuditLog.batch

    @contextlib.contextmanager
    def batch(self):
        with original_batch(self):
            yield
        if group_hit():
            _die()
    audit.AuditLog.batch = batch

    checkout_hit = _countdown("SA_KILL_AFTER_CHECKOUT")
    original_check_out = client.CmisRepository.check_out

    def check_out(self, object_id):
        pwc = original_check_out(self, object_id)
        if checkout_hit():
            _die()
        return pwc
    client.CmisRepository.check_out = check_out

    written_hit = _countdown("SA_KILL_AFTER_WRITES")
    written_lock = threading.Lock()

    def acknowledged(write):
        def counted(self, *args, **kwargs):
            acked = write(self, *args, **kwargs)
            with written_lock:
                if written_hit():
                    _die()
            return acked
        return counted
    client.CmisRepository.create_document = acknowledged(client.CmisRepository.create_document)
    client.CmisRepository.check_in = acknowledged(client.CmisRepository.check_in)


if __name__ == "__main__":
    install()
    from cli import main
    main(sys.argv[1:], prog_name="socialarchive")
