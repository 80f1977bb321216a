"""Concurrency guard: while one ``sync`` runs (a real one, slowed by a proxy), a second ``sync`` or a
``backfill`` on the same ledger exits at once with exit code 6 and says why; the ledger is not
touched; the lock dies with its holder (SIGKILL), so the next run starts."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from connector import config

from .conftest import ROOT, reliability_config, seed_checkpoint, wiki_source
from .faultproxy import FaultProxy
from .helpers import STATE

pytestmark = pytest.mark.integration


def _runs(ledger_path: str) -> int:
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        db.close()


def test_a_second_run_on_the_same_ledger_exits_6_at_once(corpora, cmis_url, mw_api, tmp_path, figures):
    parts = urlsplit(cmis_url)
    with FaultProxy(f"{parts.scheme}://{parts.netloc}", seed=6, slow_rate=1.0, slow_delay=0.5) as slow:
        proxy_url = slow.url(parts.path)
        path = reliability_config(tmp_path, proxy_url, sources=wiki_source(mw_api, STATE))
        ledger_path = config.load(path).ledger_path
        seed_checkpoint(ledger_path, "wiki", corpora.fault.since)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        holder = subprocess.Popen([sys.executable, "-m", "cli", "sync", "--config", path], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while _runs(ledger_path) == 0:                       # the holder is past Archive.open: it runs
                assert holder.poll() is None and time.monotonic() < deadline, holder.stderr.read().decode()
                time.sleep(0.2)
            before = _runs(ledger_path)
            timings = []
            for args in (["sync"], ["sync", "--source", "wiki", "--reconcile"],
                         ["backfill", "--source", "wiki", "--since", "2024-01-01", "--until", "2024-01-02"]):
                started = time.monotonic()
                second = subprocess.run([sys.executable, "-m", "cli", *args, "--config", path], env=env, cwd=ROOT,
                                        capture_output=True, timeout=60)
                timings.append(time.monotonic() - started)
                assert second.returncode == 6, (args, second.returncode, second.stderr.decode()[-2000:])
                message = (second.stdout + second.stderr).decode()
                assert "another socialarchive run holds" in message and ".lock" in message, message
                assert "Traceback" not in message
            assert holder.poll() is None                          # the first run was never disturbed
            assert _runs(ledger_path) == before                   # the refused runs wrote nothing
            assert max(timings) < 15                               # "at once": no waiting for the lock
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
    # the lock dies with its holder: the next run starts (a dry run: it reads and plans only)
    Path(path).write_text(Path(path).read_text().replace(proxy_url, cmis_url))
    third = subprocess.run([sys.executable, "-m", "cli", "sync", "--dry-run", "--config", path],
                           env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert third.returncode == 0, third.stderr.decode()[-2000:]
    figures["lock"] = {"refused_runs": 3, "slowest_refusal_seconds": round(max(timings), 2)}
