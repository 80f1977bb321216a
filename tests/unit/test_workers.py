"""The filing window (connector.workers): order, one writer per key, intents before writes, group
commits, bounds, stop and abort. Plain threads and events; no server."""
from __future__ import annotations

import random
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from connector.workers import Job, Window


class Recorder:
    """The pipeline's side: commit (retire + intents), run (the 'repository write'), notify."""

    def __init__(self, delay=lambda job: 0.0):
        self.delay = delay
        self.lock = threading.Lock()
        self.synced: set[str] = set()
        self.started: list[str] = []
        self.retired: list[str] = []
        self.notified: list[str] = []
        self.commits = 0
        self.running = 0
        self.max_running = 0
        self.violations: list[str] = []

    def commit(self, finished, starting):
        self.commits += 1
        self.retired += [j.payload for j in finished]
        self.synced |= {j.payload for j in starting}

    def run(self, job):
        with self.lock:
            if job.payload not in self.synced:
                self.violations.append(f"{job.payload} started before its intent was committed")
            if any(job.keys & set(other.split("#")[0] for other in self.active)):
                self.violations.append(f"{job.payload} overlaps a job with the same key")
            self.active.add(job.payload)
            self.started.append(job.payload)
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.delay(job))
        with self.lock:
            self.running -= 1
            self.active.discard(job.payload)

    active: set = set()

    def notify(self, finished):
        self.notified += [j.payload for j in finished]


def job(name: str, key: str | None = None, write: bool = True, size: int = 0) -> Job:
    return Job(name, [key or name.split("#")[0]], needs_write=write, size=size)


def test_retired_in_order_even_when_later_jobs_finish_first():
    rec = Recorder(delay=lambda j: random.uniform(0, 0.01))
    rec.active = set()
    window = Window(4, commit=rec.commit, run=rec.run, notify=rec.notify)
    names = [f"k{n}" for n in range(60)]
    for n in names:
        window.add(job(n, write=n != "k7"))   # one job with nothing to write rides along in order
    window.drain()
    window.close()
    assert rec.retired == names and rec.notified == names
    assert rec.violations == []
    assert 1 < rec.max_running <= 4
    assert rec.commits < len(names) / 2, "intents and results are committed in groups"


def test_a_caller_slower_than_the_workers_but_faster_than_a_commit_commits_in_groups():
    """The caller is what limits (each job takes it 2 ms, a write 10 ms on one of four workers) and a
    commit takes 6 ms: a free worker waits for a few jobs rather than for a commit of each."""
    rec = Recorder(delay=lambda j: 0.01)
    rec.active = set()

    def commit(finished, starting):
        time.sleep(0.006)
        rec.commit(finished, starting)
    window = Window(4, commit=commit, run=rec.run, notify=rec.notify)
    names = [f"k{n}" for n in range(80)]
    for n in names:
        time.sleep(0.002)
        window.add(job(n))
    window.drain()
    window.close()
    assert rec.retired == names and rec.violations == []
    assert rec.commits <= len(names) / 3, rec.commits


def test_jobs_sharing_a_key_never_overlap():
    rec = Recorder(delay=lambda j: 0.005)
    rec.active = set()
    window = Window(4, commit=rec.commit, run=rec.run, notify=rec.notify)
    for n in range(30):
        window.add(job(f"k{n % 3}#{n}"))   # three keys, each ten times
    window.drain()
    window.close()
    assert rec.violations == []
    assert rec.retired == [f"k{n % 3}#{n}" for n in range(30)]


def test_window_bounds_jobs_held():
    rec = Recorder(delay=lambda j: 0.002)
    rec.active = set()
    window = Window(2, commit=rec.commit, run=rec.run, notify=rec.notify, limit=6)
    most = 0
    for n in range(40):
        window.add(job(f"k{n}"))
        most = max(most, len(window))
    window.drain()
    window.close()
    assert most <= 6 and rec.retired == [f"k{n}" for n in range(40)]


def test_byte_budget_keeps_big_jobs_from_piling_up():
    rec = Recorder(delay=lambda j: 0.002)
    rec.active = set()
    window = Window(2, commit=rec.commit, run=rec.run, notify=rec.notify, byte_budget=100)
    most = 0
    for n in range(20):
        window.add(job(f"k{n}", size=60))
        most = max(most, len(window))
    window.drain()
    window.close()
    assert most <= 3   # workers + 1 always fit; beyond that the budget says no


def test_stop_finishes_running_jobs_and_returns_the_rest():
    rec = Recorder(delay=lambda j: 0.01)
    rec.active = set()
    stop = threading.Event()
    window = Window(2, commit=rec.commit, run=rec.run, notify=rec.notify, stopping=stop.is_set)
    for n in range(6):
        window.add(job(f"k{n}"))
    stop.set()
    assert window.add(job("late")) is False
    finished, never = window.close()
    assert [j.payload for j in finished] == rec.started[: len(finished)]
    assert not any(j.started for j in never) and "late" not in rec.started
    assert sorted(rec.retired + [j.payload for j in finished] + [j.payload for j in never]) == sorted(f"k{n}" for n in range(6))


def test_abort_does_not_wait_for_a_write_in_flight():
    release, running = threading.Event(), threading.Event()
    rec = Recorder()
    rec.active = set()
    window = Window(1, commit=rec.commit, run=lambda j: (running.set(), release.wait(5)), notify=rec.notify)
    window.add(job("slow"))
    assert running.wait(5)
    started = time.monotonic()
    finished, never = window.close(wait=False)
    assert time.monotonic() - started < 1 and finished == [] and never == []
    release.set()


def test_a_notify_failure_stops_and_keeps_later_jobs_for_close():
    rec = Recorder()
    rec.active = set()

    def notify(finished):
        for j in finished:
            if j.payload == "k3":
                raise RuntimeError("k3 failed the run")
            rec.notified.append(j.payload)
    window = Window(1, commit=rec.commit, run=rec.run, notify=notify)
    with pytest.raises(RuntimeError):
        for n in range(10):
            window.add(job(f"k{n}"))
        window.drain()
    finished, never = window.close()
    assert rec.notified[:3] == ["k0", "k1", "k2"] and "k3" in rec.retired


def test_a_bug_in_run_reaches_the_caller_and_the_job_is_never_retired():
    """``run`` keeps errors on the job; if it raises anyway (a bug), the caller sees it, and neither
    that job nor any after it counts as finished (their intents make the next run look them up)."""
    rec = Recorder()
    rec.active = set()

    def run(j):
        if j.payload == "k2":
            raise KeyError("a bug")
        rec.run(j)
    window = Window(1, commit=rec.commit, run=run, notify=rec.notify)
    with pytest.raises(RuntimeError, match="a filing worker failed") as raised:
        for n in range(6):
            window.add(job(f"k{n}"))
        window.drain()
    assert isinstance(raised.value.__cause__, KeyError)
    finished, never = window.close()
    assert "k2" not in rec.retired + [j.payload for j in finished]
    assert [j.payload for j in finished] == [n for n in ("k0", "k1") if n not in rec.retired]



@settings(max_examples=40, deadline=None)
@given(workers=st.integers(1, 3), limit=st.integers(1, 12),
       jobs=st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.sampled_from([0.0, 0.0, 0.001, 0.003])),
                     max_size=40))
def test_any_mix_of_jobs_keeps_the_window_promises(workers, limit, jobs):
    """The pipeline's use (wait while a key is in flight, then add) on any mix of keys, jobs with
    and without a write, and durations: each write runs once, after its intent, never beside a job
    of the same key, at most ``workers`` at a time; every job is retired once, in order."""
    seconds = {f"k{key}#{n}": wait for n, (key, _, wait) in enumerate(jobs)}
    rec = Recorder(delay=lambda j: seconds[j.payload])
    rec.active = set()
    window = Window(workers, commit=rec.commit, run=rec.run, notify=rec.notify, limit=limit)
    for n, (key, write, _) in enumerate(jobs):
        if window.blocked_by([f"k{key}"]):
            window.wait_for([f"k{key}"])
        window.add(Job(f"k{key}#{n}", [f"k{key}"], needs_write=write))
    window.drain()
    assert window.close() == ([], [])
    assert rec.violations == [] and rec.max_running <= workers
    assert rec.retired == [f"k{key}#{n}" for n, (key, _, _) in enumerate(jobs)]
    assert sorted(rec.started) == sorted(f"k{key}#{n}" for n, (key, write, _) in enumerate(jobs) if write)
