"""`socialarchive backfill` as a real process against real WordPress and OpenCMIS InMemory: killed
with SIGKILL halfway and started again it completes without duplicates; Ctrl-C (SIGINT) finishes
the item in flight and exits 130; the HTML report of the complete range renders in headless
Chromium with its chart."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.archive import Archive
from connector.cmis.filer import quote

from ..cli.helpers import blog_config, iso, seed_dated_posts
from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
POSTS = 30
# the kill and the SIGINT must land while the backfill still reads. All 30 posts come in one listing
# page, so a throttle alone does not pace the filing (CI once filed all 30 before the progress row
# said 3): each post is edited once, so that WordPress keeps a revision and the source reads it with
# one request a post; at SLOW that is 0.3 s a post, 9 s for the range.
SLOW = 200   # requests a minute to the blog


@pytest.fixture(scope="module")
def dated(wp):  # noqa: F811
    seeded = seed_dated_posts(wp, POSTS)
    for post_id in seeded["inside"]:
        edited = wp.call("POST", f"/posts/{post_id}", json={"content": f"<p>edited {seeded['tag']}</p>"})
        assert edited["_links"]["version-history"][0]["count"] >= 1, edited["_links"]
    return seeded


def command(path: str, dated: dict, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "cli.py"), "backfill", "--source", "blog", "--since", iso(dated["since"]),
            "--until", iso(dated["until"]), "--progress-interval", "0.2", "--config", path, *extra]


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def count(path: str, sql: str = "SELECT count(*) FROM versions") -> int:
    """One number from the ledger of the config at ``path``, read-only; 0 before it exists."""
    ledger = config.load(path).ledger_path
    if not os.path.exists(ledger):
        return 0
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql).fetchone()[0] or 0
    except sqlite3.OperationalError:      # the schema is not there yet
        return 0
    finally:
        db.close()


def filed(path: str) -> int:
    """The posts with at least one version recorded (not versions: a post may have several)."""
    return count(path, "SELECT count(DISTINCT key) FROM versions")


def progress(path: str) -> int:
    """The objects the backfill row says are done (what `status` shows)."""
    return count(path, "SELECT max(objects) FROM backfills")


def start_and_wait(path: str, dated: dict, at_least: int, done=filed) -> tuple[subprocess.Popen, int]:
    """Start the backfill and return once ``done(path)`` reaches ``at_least``."""
    proc = subprocess.Popen(command(path, dated, "--json"), env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while done(path) < at_least:
        assert proc.poll() is None, f"backfill ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "backfill made no progress"
        time.sleep(0.01)
    return proc, filed(path)


def assert_complete_without_duplicates(path: str, dated: dict) -> None:
    keys = {f"blog/post/post:{i}" for i in dated["inside"]}
    archive = Archive.open(config.load(path), lock=False, dry_run=True)
    try:
        assert {row[0] for row in archive.ledger.db.execute("SELECT key FROM records")} == keys
        for key in keys:
            rows = list(archive.repo.query(
                f"SELECT cmis:objectId, cmis:versionSeriesId FROM sa:document WHERE sa:recordKey = {quote(key)} "
                f"AND {archive.filer.in_archive()}", all_versions=True))
            assert len({r["cmis:versionSeriesId"] for r in rows}) == 1, (key, rows)   # one document per post
            versions = [v for v in archive.repo.versions(rows[0]["cmis:objectId"]) if not v.get("cmis:isPrivateWorkingCopy")]
            revisions = [v["sa:revisionId"] for v in versions]
            assert len(revisions) == len(set(revisions)) == len(archive.ledger.filed_revisions(key)), (key, revisions)
    finally:
        archive.close()


def test_killed_halfway_then_resumed_completes_without_duplicates(dated, cmis_url, tmp_path):
    path = blog_config(tmp_path, cmis_url, rate_per_minute=SLOW)
    # kill once the progress row counts 3 objects (it is written after the versions' commit,
    # so the versions table may be ahead of it by one batch, never behind)
    proc, _ = start_and_wait(path, dated, 3, done=progress)
    proc.kill()                                           # SIGKILL: no handler, no cleanup
    proc.communicate()
    at_kill = filed(path)
    assert 3 <= at_kill < POSTS, at_kill                  # really halfway
    status = json.loads(CliRunner().invoke(main, ["status", "--json", "--config", path]).stdout)
    (mine,) = [s for s in status["sources"] if s["source"] == "blog"]
    assert mine["backfills"][0]["status"] == "running" and 3 <= mine["backfills"][0]["objects"] <= at_kill
    assert mine["last_run"]["outcome"].startswith("unfinished")

    t0 = time.monotonic()
    done = subprocess.run(command(path, dated, "--json"), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "done" and result["resumed"] and result["previous"]["status"] == "running"
    assert result["summary"]["unchanged"] >= at_kill - 1 and result["summary"]["items"] <= POSTS - at_kill + 1
    print(f"resume after {at_kill} of {POSTS}: {time.monotonic() - t0:.1f} s, "
          f"{result['summary']['source_requests']} source requests")
    assert_complete_without_duplicates(path, dated)

    report = CliRunner().invoke(main, ["report", "--source", "blog", "--since", iso(dated["since"]),
                                       "--until", iso(dated["until"]), "--json", "--config", path])
    assert report.exit_code == 0 and json.loads(report.stdout)["missing_total"] == 0


def test_sigint_finishes_the_item_in_flight_and_exits_130(dated, cmis_url, tmp_path):
    path = blog_config(tmp_path, cmis_url, rate_per_minute=SLOW)
    proc, _ = start_and_wait(path, dated, 3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    result = json.loads(out)
    assert result["status"] == "interrupted" and result["summary"]["outcome"] == "interrupted"
    assert "finishing the item in flight" in err
    stopped = filed(path)
    assert stopped < POSTS and count(path) == result["summary"]["versions"]
    ledger = sqlite3.connect(config.load(path).ledger_path)
    assert ledger.execute("SELECT count(*) FROM intents").fetchone()[0] == 0   # nothing half-written
    assert ledger.execute("SELECT status FROM backfills").fetchone()[0] == "interrupted"
    ledger.close()

    done = subprocess.run(command(path, dated, "--json"), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and json.loads(done.stdout)["resumed"]
    assert_complete_without_duplicates(path, dated)


def test_html_report_renders_in_headless_chromium(dated, cmis_url, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("chromium is not installed (servers/up-all.sh pkgs lists it; apt-get install chromium)")
    path = blog_config(tmp_path, cmis_url)
    done = subprocess.run(command(path, dated), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--source", "blog", "--since", iso(dated["since"]), "--until",
                                       iso(dated["until"]), "--format", "html", "--out", str(page), "--config", path])
    assert result.exit_code == 0, result.output
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,900"]
    dom = subprocess.run(flags + [f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<svg class="chart"' in dom.stdout and "archived items per month" in dom.stdout
    month = dated["since"].strftime("%Y-%m")
    assert f'data-month="{month}" data-count="{POSTS}"' in dom.stdout      # one bar: all posts in one month
    shot = tmp_path / "report.png"
    subprocess.run(flags + [f"--user-data-dir={tmp_path / 'profile-shot'}", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 2000
