"""A change sweep killed with SIGKILL (between the repository's acknowledgement of an edit it found
and the ledger commit) resumes where it stopped: the next run does not read again the topics the
killed one had committed, and files no version twice (read back from the real OpenCMIS)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from connector import config
from connector.archive import Archive

from ..conftest import write_config
from ..e2e.test_change_sweep import EDITED
from .conftest import ROOT
from .sweepchild import EDITED_1200

pytestmark = pytest.mark.integration

BASE = "https://forum.example.org"
# the whole pass fits in one run: every topic is re-checked by the run that is killed
SWEEP = """
[sources.talk]
type = "discourse"
base_url = "https://forum.example.org"
api_key_env = "UNUSED_KEY"
api_username = "archivist"
sweep_period_days = 0.0104
sync_every_minutes = 15
"""


def child(path: str, phase: str, kill_at: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNUSED_KEY": "not-used", "SA_KILL_AT_KEY": kill_at}
    return subprocess.run([sys.executable, "-m", "tests.reliability.sweepchild", path, phase], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_sweep_killed_after_the_ack_resumes_without_rereading_or_duplicates(tmp_path, cmis_url, monkeypatch):
    monkeypatch.setenv("UNUSED_KEY", "not-used")
    path = write_config(tmp_path, cmis_url, sources=SWEEP)
    first = child(path, "first")
    assert "OUTCOME ok 4" in first.stdout, first.stderr[-2000:]

    killed = child(path, "edited", kill_at="talk/post/post:1200")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    resumed = child(path, "edited")
    assert "OUTCOME ok" in resumed.stdout, resumed.stderr[-2000:]
    topics = [line for line in resumed.stdout.splitlines() if line.startswith(BASE + "/t/")]
    # topics 100 and 101 were committed by the killed run: the resumed one reads the rest of the
    # pass first (102, killed in it, and 200); its budget (a whole pass a run here) then starts
    # the next pass with the least recently checked, 100 and 101
    assert [t.split("?")[0] for t in topics[:2]] == [BASE + "/t/102.json", BASE + "/t/200.json"]

    archive = Archive.open(config.load(path), lock=False)
    try:
        for key, text in (("talk/post/post:1002", EDITED), ("talk/post/post:1200", EDITED_1200)):
            versions = archive.repo.versions(archive.ledger.record(key)["object_id"])
            assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0"], key   # nothing twice
            assert b"".join(archive.repo.content(versions[-1]["cmis:objectId"])).decode() == text
            assert len(archive.ledger.filed_revisions(key)) == 2
            assert archive.ledger.sweep_mark(key).startswith("v2|")
        assert not archive.ledger.db.execute("SELECT count(*) FROM intents").fetchone()[0]
    finally:
        archive.close()
