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
- ``SA_STALL_AFTER_WRITES``: the bound on how far any one run gets: that many version writes
  (creates and check-ins, on any worker) go through, every later one hangs, and the process dies
  ``STALL_GRACE`` seconds later unless another switch fires first. The worker window lets the
  repository run far ahead of the ledger (up to 64 objects, the whole crash corpus, even on one
  worker: its commits wait while it is busy), so neither a timer nor a hook at the n-th ledger
  commit bounds what the next runs find already written. A hang, not a kill at the bound: in the
  grace the run goes on as it would with a slow repository (the caller lists, and commits what
  was acknowledged where the window would), so another switch can still fire first.

Each switch says on stderr which one fired (``crashchild: SIGKILL by SA_...``), so the parent knows
whether a run died at its hook or at the bound. The parent kills at random moments too (a timer
and ``Popen.kill``).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading


KILLED_BY = "crashchild: SIGKILL by "
STALL_AFTER_WRITES = "SA_STALL_AFTER_WRITES"
STALL_GRACE = 5.0


def _killer(var: str):
    """A ``die()`` that says on stderr it was ``var`` that fired, then SIGKILLs this process."""
    def die() -> None:
        sys.stderr.write(f"\n{KILLED_BY}{var}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return die


def _countdown(var: str):
    """``hit()`` counts a call; at the env var's count it returns the ``die`` for that var."""
    target = int(os.environ.get(var) or 0)
    calls = {"n": 0}
    die = _killer(var)

    def hit():
        calls["n"] += 1
        return die if target > 0 and calls["n"] == target else None
    return hit


def install() -> None:
    from connector import audit, store
    from connector.cmis import client

    commit_hit = _countdown("SA_KILL_AT_COMMIT")
    original_commit = store.Ledger.commit_version

    def commit_version(self, *args, **kwargs):
        if die := commit_hit():
            die()
        return original_commit(self, *args, **kwargs)
    store.Ledger.commit_version = commit_version

    audit_hit = _countdown("SA_KILL_IN_AUDIT")
    original_append = audit.AuditLog.append

    def append(self, event, **fields):
        if die := audit_hit():
            line = json.dumps({"seq": self._seq + 1, "actor": self.actor, "event": event, **fields,
                               "prev": self._prev}, sort_keys=True, default=str)
            batch = getattr(self, "_batch", None)
            if batch is not None:
                batch.flush()
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line[: len(line) // 2])
                fh.flush()
            die()
        return original_append(self, event, **fields)
    audit.AuditLog.append = append

    group_hit = _countdown("SA_KILL_BEFORE_GROUP_COMMIT")
    original_batch = audit.AuditLog.batch

    @contextlib.contextmanager
    def batch(self):
        with original_batch(self):
            yield
        if die := group_hit():
            die()
    audit.AuditLog.batch = batch

    checkout_hit = _countdown("SA_KILL_AFTER_CHECKOUT")
    original_check_out = client.CmisRepository.check_out

    def check_out(self, object_id):
        pwc = original_check_out(self, object_id)
        if die := checkout_hit():
            die()
        return pwc
    client.CmisRepository.check_out = check_out

    _bound_writes(int(os.environ.get(STALL_AFTER_WRITES) or 0))


def _bound_writes(bound: int) -> None:
    """The first ``bound`` version writes (creates and check-ins, on any worker) go through; every
    later one waits forever, and the process dies STALL_GRACE seconds after the first wait. At most
    ``bound`` new versions a run, however far the window lets the writes run ahead of the ledger."""
    if not bound:
        return
    from connector.cmis import client
    die = _killer(STALL_AFTER_WRITES)
    started = {"writes": 0, "stalled": False}
    lock = threading.Lock()

    def stall() -> None:
        with lock:
            if not started["stalled"]:
                started["stalled"] = True
                threading.Timer(STALL_GRACE, die).start()
        threading.Event().wait()

    def bounded(write):
        def counted(self, *args, **kwargs):
            with lock:
                allowed = started["writes"] < bound
                started["writes"] += allowed
            if not allowed:
                stall()
            return write(self, *args, **kwargs)
        return counted
    client.CmisRepository.create_document = bounded(client.CmisRepository.create_document)
    client.CmisRepository.check_in = bounded(client.CmisRepository.check_in)


if __name__ == "__main__":
    install()
    from cli import main
    main(sys.argv[1:], prog_name="socialarchive")
