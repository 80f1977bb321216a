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
from itertools import islice
from typing import Any, Callable, Iterable

DEFAULT_WORKERS = 4
BYTE_BUDGET = 64 << 20
INF = float("inf")
NEW, QUEUED, RUNNING, DONE, FAILED, CANCELLED = "new", "queued", "running", "done", "failed", "cancelled"


class Job:
    """One unit of work: ``payload`` for the callbacks, the record ``keys`` it writes, whether it
    needs a worker at all, and the bytes of content it may hold in memory. ``state`` moves
    NEW → QUEUED → RUNNING → DONE (or FAILED: ``run`` raised, a bug), or QUEUED → CANCELLED;
    a worker thread moves it past QUEUED, under the pool's lock."""

    __slots__ = ("payload", "keys", "needs_write", "size", "synced", "state", "failure")

    def __init__(self, payload: Any, keys: Iterable[str], needs_write: bool, size: int = 0):
        self.payload = payload
        self.keys = frozenset(keys)
        self.needs_write = needs_write
        self.size = size
        self.synced = False
        self.state = NEW
        self.failure: BaseException | None = None

    @property
    def done(self) -> bool:
        return not self.needs_write or self.state is DONE

    @property
    def started(self) -> bool:
        return self.state in (RUNNING, DONE, FAILED)


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
        # the same jobs counted and indexed, so that a job costs the same whether 1 or 64 are held:
        # the keys held, the head jobs known done, the jobs needing a write not yet handed to the
        # pool (in order; the ``_unsynced`` last of them wait for their intents), and how many jobs
        # the pool holds (queued or running) as far as this thread has seen
        self._held_keys: Counter[str] = Counter()
        self._head_done = 0
        self._unsubmitted: deque[Job] = deque()
        self._unsynced = 0
        self._in_pool = 0
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
            self._unsynced += 1
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
        if self._pool is not None:
            self._pool.cancel_queued(self._jobs)   # queued, not started: they never will
            self._pool.shutdown(wait)
            self._pool = None
        jobs = list(self._jobs)
        first_open = next((n for n, j in enumerate(jobs) if not j.done), len(jobs))
        finished = jobs[:first_open]   # in order (with wait, every job that started is done by now)
        never = [j for j in jobs[first_open:] if j.needs_write and not j.started]
        self._jobs.clear()
        self._held_keys.clear()
        self._head_done = 0
        self._unsubmitted.clear()
        self._unsynced = 0
        self._in_pool = 0
        self._held_bytes = 0
        return finished, never

    # --- machinery --------------------------------------------------------------------
    def _done(self) -> int:
        """How many jobs at the head are finished (retired by the next checkpoint). A job whose
        ``run`` raised (a bug: the pipeline keeps errors on the job) stops the caller here; it and
        the jobs after it stay unretired, their intents make the next run look them up."""
        jobs, n = self._jobs, self._head_done
        while n < len(jobs) and jobs[n].done:
            n += 1
        self._head_done = n
        if n < len(jobs) and jobs[n].state is FAILED:
            raise RuntimeError(f"a filing worker failed: {jobs[n].failure!r}") from jobs[n].failure
        return n

    def _room(self, job: Job, done: int, drained: bool = False) -> bool:
        """Room for ``job`` once the ``done`` head jobs are retired; ``drained``: down to half."""
        held = len(self._jobs) - done
        if held <= self.workers:
            return True
        if held >= (self.limit // 2 if drained else self.limit):
            return False
        held_bytes = self._held_bytes - sum(j.size for j in islice(self._jobs, done))
        return held_bytes + job.size <= (self.byte_budget // 2 if drained else self.byte_budget)

    def _wait_until(self, condition: Callable[[int], bool]) -> None:
        """Block until ``condition(done)`` holds, ``done`` being the finished head jobs that a
        checkpoint would retire; checkpoint only when that is what makes it hold, or to sync the
        jobs waiting for a worker before blocking (so that no worker waits for an fsync)."""
        while True:
            self._pump()
            done = self._done()
            if self._stopping() and not self._in_pool:
                return   # nothing more will start; the caller closes the window
            if condition(done):
                if done and not condition(0):
                    self._checkpoint()
                return
            if self._unsynced:
                self._checkpoint()
                continue
            if not self._in_pool:
                raise RuntimeError("filing window stalled: nothing runs and the condition cannot hold")
            self._in_pool -= self._pool.wait_for_any()

    def _pump(self) -> None:
        """Without blocking: hand synced jobs to the pool, up to one queued behind each worker's
        running job (a worker that finishes goes on without waiting for this thread); if a worker
        would still be idle while jobs wait for their intents, checkpoint first (or group)."""
        if self._in_pool:
            self._in_pool -= self._pool.finished_since()
        if self._stopping():
            return
        submitted = self._in_pool
        room = 2 * self.workers - submitted
        if room <= 0:
            return
        waiting = list(islice(self._unsubmitted, room))
        synced = [j for j in waiting if j.synced]   # a prefix: a checkpoint syncs all held jobs
        if len(synced) < len(waiting) and submitted + len(synced) < self.workers \
                and not self._grouping(submitted + len(synced)):
            self._checkpoint()
            synced = waiting
        if synced and self._pool is None:
            self._pool = _Pool(self.workers, self._run, self._stopping)
        for job in synced:
            self._pool.submit(job)
            self._unsubmitted.popleft()   # ``job``: synced jobs are the prefix, submitted in order
        self._in_pool += len(synced)

    def _grouping(self, busy: int) -> bool:
        """Leave a worker idle a little longer, for a commit of several jobs? Only while another
        worker is ``busy`` (the workers are not what limits), the caller's jobs come faster than a
        commit takes (waiting for the next one costs less than a commit), and fewer than
        ``workers`` x 2 jobs wait for their intents. Whenever the caller blocks, it commits first."""
        if not busy or self._arrival >= self._commit_cost:
            return False
        return self._unsynced < 2 * self.workers

    def _checkpoint(self) -> None:
        """One durable commit: the finished head of the window, and the intents of the waiting jobs."""
        finished: list[Job] = []
        while self._jobs and self._jobs[0].done:
            job = self._jobs.popleft()
            self._head_done = max(0, self._head_done - 1)
            for key in job.keys:
                self._held_keys[key] -= 1
                if not self._held_keys[key]:
                    del self._held_keys[key]
            self._held_bytes -= job.size
            finished.append(job)
        starting = list(islice(self._unsubmitted, len(self._unsubmitted) - self._unsynced, None))
        if not finished and not starting:
            return
        started = time.monotonic()
        self._commit(finished, starting)
        self._commit_cost = time.monotonic() - started
        for job in starting:
            job.synced = True
        self._unsynced = 0
        if finished:
            self._notify(finished)


class _Pool:
    """``workers`` daemon threads running ``run(job)``, in the order submitted (none starts once
    ``stopping()``); each job, finished or cancelled, is then counted back to the window through a
    queue, which is also what the window blocks on. Daemons, so that an abort
    (``shutdown(wait=False)``) does not wait for a long upload: the process may exit under it."""

    def __init__(self, workers: int, run: Callable[[Job], None], stopping: Callable[[], bool]):
        self._run, self._stopping = run, stopping
        self._lock = threading.Lock()    # a job's move out of QUEUED: a worker's start or a cancel
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._finished: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._loop, name=f"filing-{n + 1}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        job.state = QUEUED
        self._queue.put(job)

    def finished_since(self) -> int:
        """How many jobs left the pool since the last call, without blocking."""
        n = 0
        while not self._finished.empty():
            self._finished.get_nowait()
            n += 1
        return n

    def wait_for_any(self) -> int:
        """Block until a job leaves the pool; how many left since the last call."""
        self._finished.get()
        return 1 + self.finished_since()

    def cancel_queued(self, jobs: Iterable[Job]) -> None:
        with self._lock:
            for job in jobs:
                if job.state is QUEUED:
                    job.state = CANCELLED

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                if job.state is QUEUED and self._stopping():
                    job.state = CANCELLED   # queued, not started: a graceful stop starts nothing more
                runs = job.state is QUEUED
                if runs:
                    job.state = RUNNING
            if runs:
                try:
                    self._run(job)
                except BaseException as exc:   # the pipeline's run keeps errors on the job; this is a bug
                    job.failure = exc
                    job.state = FAILED
                else:
                    job.state = DONE
            self._finished.put(job)

    def shutdown(self, wait: bool = True) -> None:
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
