"""A bounded, ordered window of filing jobs: repository writes run on a few worker threads, while
the calling thread keeps the ledger and the audit log (their single writer) and retires results
in source order.

What the pipeline relies on:

- **Order.** Jobs are retired (handed back to the calling thread) strictly in the order they were
  added, so "everything up to this object is done" stays true for the backfill cursor and for
  ``on_object``; a job that finished early waits for the ones before it.
- **One writer per record.** Two jobs that share a key (a page and its later slice, a page and its
  tombstone) never overlap: ``add`` first retires the earlier one, so the later one is prepared
  from a ledger that already knows the earlier one's versions.
- **Intent before write, commit after the ack, in groups.** ``commit(finished, starting)`` records
  the finished jobs at the head of the window and writes the intents of the jobs about to start,
  durably (the pipeline: audit entries fsynced, then one ledger transaction); only then are those
  jobs submitted, and ``notify(finished)`` runs (``on_object``; it may raise a job's failure). A
  commit happens only when a worker would otherwise go idle, before the calling thread blocks,
  and at the end, so one commit covers many jobs while the workers are busy (group commit).
  When the caller is what limits (its jobs come faster than a commit takes, and another worker is
  still busy), a free worker waits for a few more jobs rather than for a commit of one: per job
  the caller then pays a fraction of a commit (two fsyncs), not a whole one each.
- **Bounds.** At most ``workers`` jobs run at once. At most ``limit`` (default max(64,
  16 x workers)) jobs are held (waiting,
  running, or done and waiting for an earlier one); once the window is full it drains to half
  before taking more, so that each sync and each retire covers several jobs. Jobs whose known
  content sizes add up past ``byte_budget`` are not taken ahead (``workers`` + 1 always are), which
  bounds what the window keeps in memory when the items carry their content as bytes.
- **Stopping.** When ``stopping()`` turns true (a graceful stop), no further job is started.
  ``close()`` waits for the running jobs and returns those that finished but were not retired
  (in order) and those that were never started, so that the caller can record the first and forget
  the intents of the second. ``close(wait=False)`` (a second Ctrl-C) does not wait: the worker
  threads are daemons, a write in flight is abandoned, and its intent, still in the ledger, makes
  the next run look the record up before writing.

Example::

    window = Window(4, commit=record_and_write_intents, run=write_to_repository, notify=report)
    try:
        for job in jobs:
            window.add(job)           # blocks while the window is full or a key is in flight
        window.drain()                # everything retired, in order
    finally:
        finished, never_started = window.close()
"""
from __future__ import annotations

import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from itertools import islice
from typing import Any, Callable, Iterable

DEFAULT_WORKERS = 4
BYTE_BUDGET = 64 << 20
INF = float("inf")


class Job:
    """One unit of work: ``payload`` for the callbacks, the record ``keys`` it writes, whether it
    needs a worker at all, and the bytes of content it may hold in memory."""

    __slots__ = ("payload", "keys", "needs_write", "size", "synced", "future")

    def __init__(self, payload: Any, keys: Iterable[str], needs_write: bool, size: int = 0):
        self.payload = payload
        self.keys = frozenset(keys)
        self.needs_write = needs_write
        self.size = size
        self.synced = False
        self.future: Future | None = None

    @property
    def done(self) -> bool:
        return not self.needs_write or (self.future is not None and self.future.done()
                                        and not self.future.cancelled())

    @property
    def running(self) -> bool:
        return self.future is not None and not self.future.done()


class Window:
    def __init__(self, workers: int, *, commit: Callable[[list[Job], list[Job]], None],
                 run: Callable[[Job], None], notify: Callable[[list[Job]], None],
                 stopping: Callable[[], bool] = lambda: False,
                 limit: int | None = None, byte_budget: int = BYTE_BUDGET):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.limit = limit or max(64, 16 * workers)
        self.byte_budget = byte_budget
        self._commit, self._run, self._notify, self._stopping = commit, run, notify, stopping
        self._jobs: deque[Job] = deque()
        # the same jobs indexed, so that a job added costs the same whether 1 or 64 are held:
        # the keys held, the jobs needing a write not yet handed to the pool (in order; the synced
        # ones are a prefix, the unsynced a suffix), and those handed over and maybe not done
        self._held_keys: Counter[str] = Counter()
        self._unsubmitted: deque[Job] = deque()
        self._submitted: list[Job] = []
        self._held_bytes = 0
        self._pool: _Pool | None = None
        self._added = 0.0          # when the caller last handed a job over
        self._arrival = INF        # the caller's time per job, last seen (prepare, read the source)
        self._commit_cost = 0.0    # how long the last commit took

    def __len__(self) -> int:
        return len(self._jobs)

    # --- the caller's side ------------------------------------------------------------
    def add(self, job: Job) -> bool:
        """Take a prepared job; blocks (committing and submitting meanwhile) while it must wait.
        False if the window is stopping and did not take it."""
        started = time.monotonic()
        if self._added:
            self._arrival = started - self._added
        if self.blocked_by(job.keys):
            self.wait_for(job.keys)
        if not self._room(job, 0):
            self._wait_until(lambda done: self._room(job, done, drained=True))
        if self._stopping():
            return False
        self._jobs.append(job)
        self._held_keys.update(job.keys)
        if job.needs_write:
            self._unsubmitted.append(job)
        self._held_bytes += job.size
        self._pump()
        self._added = time.monotonic()
        return True

    def blocked_by(self, keys: Iterable[str]) -> bool:
        """True if a held job writes one of these keys (prepare only after it is retired)."""
        return any(key in self._held_keys for key in keys)

    def wait_for(self, keys: Iterable[str]) -> None:
        """Retire jobs until none that writes one of ``keys`` is held."""
        wanted = frozenset(keys)
        self._wait_until(lambda done: not any(wanted & held.keys for held in list(self._jobs)[done:]))

    def drain(self) -> None:
        """Run and retire everything held."""
        self._wait_until(lambda done: done == len(self._jobs))

    def close(self, wait: bool = True) -> tuple[list[Job], list[Job]]:
        """Stop: wait for the running jobs (unless ``wait`` is false); return (finished but not
        retired, in order; never started)."""
        for job in self._jobs:
            if job.future is not None and job.future.cancel():
                job.future = None   # queued, not started: it never will
        if self._pool is not None:
            self._pool.shutdown(wait)
            self._pool = None
        jobs = list(self._jobs)
        first_open = next((n for n, j in enumerate(jobs) if not j.done), len(jobs))
        finished = jobs[:first_open]   # in order (with wait, every job that started is done by now)
        never = [j for j in jobs[first_open:] if j.needs_write and j.future is None]
        self._jobs.clear()
        self._held_keys.clear()
        self._unsubmitted.clear()
        self._submitted = []
        self._held_bytes = 0
        return finished, never

    # --- machinery --------------------------------------------------------------------
    def _done(self) -> int:
        """How many jobs at the head are finished (retired by the next checkpoint)."""
        n = 0
        for job in self._jobs:
            if not job.done:
                break
            n += 1
        return n

    def _room(self, job: Job, done: int, drained: bool = False) -> bool:
        """Room for ``job`` once the ``done`` head jobs are retired; ``drained``: down to half."""
        held = len(self._jobs) - done
        if held <= self.workers:
            return True
        if held >= (self.limit // 2 if drained else self.limit):
            return False
        held_bytes = self._held_bytes - sum(self._jobs[n].size for n in range(done))
        return held_bytes + job.size <= (self.byte_budget // 2 if drained else self.byte_budget)

    def _wait_until(self, condition: Callable[[int], bool]) -> None:
        """Block until ``condition(done)`` holds, ``done`` being the finished head jobs that a
        checkpoint would retire; checkpoint only when that is what makes it hold, or to sync the
        jobs waiting for a worker before blocking (so that no worker waits for an fsync)."""
        while True:
            self._pump()
            done = self._done()
            if self._stopping() and not any(j.running for j in self._submitted):
                return   # nothing more will start; the caller closes the window
            if condition(done):
                if done and not condition(0):
                    self._checkpoint()
                return
            if any(not j.synced for j in self._unsubmitted):
                self._checkpoint()
                continue
            running = [j.future for j in self._submitted if j.running]
            if not running:
                raise RuntimeError("filing window stalled: nothing runs and the condition cannot hold")
            wait(running, return_when=FIRST_COMPLETED)

    def _pump(self) -> None:
        """Without blocking: hand synced jobs to the pool, up to one queued behind each worker's
        running job (a worker that finishes goes on without waiting for this thread); if a worker
        would still be idle while jobs wait for their intents, checkpoint first (or group)."""
        if self._stopping():
            return
        self._submitted = [j for j in self._submitted if j.running]   # running, or queued in the pool
        submitted = len(self._submitted)
        room = 2 * self.workers - submitted
        if room <= 0:
            return
        waiting = list(islice(self._unsubmitted, room))
        synced = [j for j in waiting if j.synced]   # a prefix: a checkpoint syncs all held jobs
        if len(synced) < len(waiting) and submitted + len(synced) < self.workers \
                and not self._grouping(submitted + len(synced)):
            self._checkpoint()
            synced = waiting
        for job in synced:
            if self._pool is None:
                self._pool = _Pool(self.workers, self._run, self._stopping)
            job.future = self._pool.submit(job)
            self._unsubmitted.popleft()   # ``job``: synced jobs are the prefix, submitted in order
            self._submitted.append(job)

    def _grouping(self, busy: int) -> bool:
        """Leave a worker idle a little longer, for a commit of several jobs? Only while another
        worker is ``busy`` (the workers are not what limits), the caller's jobs come faster than a
        commit takes (waiting for the next one costs less than a commit), and fewer than
        ``workers`` x 2 jobs wait for their intents. Whenever the caller blocks, it commits first."""
        if not busy or self._arrival >= self._commit_cost:
            return False
        return sum(1 for j in self._unsubmitted if not j.synced) < 2 * self.workers

    def _checkpoint(self) -> None:
        """One durable commit: the finished head of the window, and the intents of the waiting jobs."""
        finished: list[Job] = []
        while self._jobs and self._jobs[0].done:
            job = self._jobs.popleft()
            for key in job.keys:
                self._held_keys[key] -= 1
                if not self._held_keys[key]:
                    del self._held_keys[key]
            self._held_bytes -= job.size
            finished.append(job)
        starting = [j for j in self._unsubmitted if not j.synced]
        if not finished and not starting:
            return
        started = time.monotonic()
        self._commit(finished, starting)
        self._commit_cost = time.monotonic() - started
        for job in starting:
            job.synced = True
        if finished:
            self._notify(finished)


class _Pool:
    """``workers`` daemon threads running ``run(job)``; a future per job, queued until a thread is
    free (none starts once ``stopping()``). Daemons, so that an abort (``shutdown(wait=False)``)
    does not wait for a long upload: the process may exit under it."""

    def __init__(self, workers: int, run: Callable[[Job], None], stopping: Callable[[], bool]):
        self._run, self._stopping = run, stopping
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._loop, name=f"filing-{n + 1}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> Future:
        future: Future = Future()
        self._queue.put((future, job))
        return future

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, job = item
            if self._stopping():
                future.cancel()   # queued, not started: a graceful stop starts nothing more
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._run(job)
            except BaseException as exc:   # the pipeline's run keeps errors on the job; this is a bug
                future.set_exception(exc)
            else:
                future.set_result(None)

    def shutdown(self, wait: bool = True) -> None:
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
