"""`sync` stopped by SIGTERM (issue #17, IT), as `backfill` is: the item in flight is finished and
recorded, the run is recorded as interrupted, the checkpoint stays, exit 130. The sync runs as a
subprocess with its stderr on a pseudo-terminal, so its progress line is drawn as on a console.
Real MediaWiki (its main namespace, a full first crawl) and OpenCMIS InMemory."""
from __future__ import annotations

import os
import pty
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ..conftest import write_config
from ..sources.test_mediawiki import STATE, mw_api  # noqa: F401 - the real wiki

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SOURCE = """
[sources.wiki]
type = "mediawiki"
api_url = "{api}"
username = "Admin@connector"
password_file = "{state}/botpassword"
namespaces = [0]
# five requests a second: on a small wiki (CI's seeded one) the run would otherwise end before the
# signal, sent once the first write is under way (its intent in the ledger), arrives; throttled, it lands while the run
# still reads (listing, or the sweeps after the changes were filed)
rate_per_minute = 300
"""


def query(ledger: Path, sql: str) -> list[tuple]:
    if not ledger.exists():
        return []
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []   # not created yet
    finally:
        db.close()


def test_sigterm_finishes_the_item_in_flight_records_it_and_exits_130(cmis_url, mw_api, tmp_path):  # noqa: F811
    config = write_config(tmp_path, cmis_url, sources=SOURCE.format(api=mw_api, state=STATE))
    ledger = tmp_path / "state" / "ledger.sqlite"
    master, slave = pty.openpty()
    sync = subprocess.Popen([sys.executable, "-m", "cli", "sync", "--workers", "2", "--config", config],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    terminal = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            terminal.extend(chunk)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not query(ledger, "SELECT 1 FROM intents UNION ALL SELECT 1 FROM versions LIMIT 1"):
            assert sync.poll() is None, bytes(terminal).decode(errors="replace")[-2000:]
            assert time.monotonic() < deadline, "no write started in 120 s"
            time.sleep(0.005)   # the 4 objects of CI's wiki are filed in ~40 ms: poll well inside that
        sync.send_signal(signal.SIGTERM)
        stdout, _ = sync.communicate(timeout=120)
    finally:
        if sync.poll() is None:
            sync.kill()
            sync.wait()
    reader.join(timeout=10)
    os.close(master)
    shown = bytes(terminal).decode(errors="replace")

    assert sync.returncode == 130, (sync.returncode, shown[-2000:])
    assert "SIGTERM: finishing the item in flight" in shown
    assert "(interrupted)" in stdout.decode()
    assert "Traceback" not in shown
    # the progress line, redrawn in place on the terminal, with the source requests made so far
    assert "\r\x1b[2Kwiki: " in shown and "source requests" in shown
    # what was in flight was finished and recorded: no intent left, nothing quarantined
    assert query(ledger, "SELECT count(*) FROM intents") == [(0,)]
    assert query(ledger, "SELECT count(*) FROM quarantine") == [(0,)]
    assert query(ledger, "SELECT outcome FROM runs") == [("interrupted",)]
    filed = query(ledger, "SELECT count(*) FROM versions")[0][0]
    assert filed >= 1
    # the checkpoint did not move: the next sync reads the feed again from where it was
    assert query(ledger, "SELECT count(*) FROM source_state WHERE source = 'wiki'") == [(0,)]
