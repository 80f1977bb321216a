"""``report`` tells lag from loss (issue #15), through the CLI on the real WordPress and OpenCMIS
InMemory: a post edited after the last completed sync is PENDING and the report exits 0; a gap
older than that sync (a record deleted from the repository behind the archive's back) is MISSING
and the report exits 8, with the pending post still apart."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from connector import config
from connector.store import Ledger

from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress
from .helpers import blog_config, cmis_delete, iso, seed_dated_posts
from .test_records_commands import as_json, run

pytestmark = pytest.mark.integration


def test_an_edit_after_the_last_sync_is_pending_a_gap_before_it_is_missing(wp, cmis_url, tmp_path):  # noqa: F811
    dated = seed_dated_posts(wp, 2)
    path = blog_config(tmp_path, cmis_url)
    window = ["--since", iso(dated["since"]), "--until", iso(dated["until"])]
    run("backfill", "--source", "blog", *window, "--config", path)
    edited, lost = (f"blog/post/post:{i}" for i in dated["inside"])

    # before any sync completed nothing is lag: an edit made now is missing (fail closed)
    wp.call("POST", f"/posts/{dated['inside'][0]}", json={"content": "<p>edited before any sync</p>"})
    (mine,) = as_json(run("report", "--source", "blog", *window, "--json", "--config", path, code=8))["sources"]
    assert [m["key"] for m in mine["missing"]] == [edited] and mine["pending"] == []

    ledger = Ledger(config.load(path).ledger_path)
    now = datetime.now(timezone.utc)   # an incremental sync from a moment ago: a completed run, quickly
    ledger.save_source_state("blog", {"checkpoint": (now - timedelta(seconds=30)).isoformat(),
                                      "swept_at": now.isoformat()})
    ledger.close()
    run("sync", "--source", "blog", "--config", path)   # files the edit above: nothing missing now
    wp.call("POST", f"/posts/{dated['inside'][0]}", json={"content": "<p>edited after the sync</p>"})

    result = as_json(run("report", "--source", "blog", *window, "--json", "--config", path, code=0))
    (mine,) = result["sources"]
    assert result["missing_total"] == 0 and result["pending_total"] == 1 and mine["missing"] == []
    assert [(p["key"], p["status"]) for p in mine["pending"]] == [(edited, "missing revisions")]
    assert mine["last_completed_sync"] and mine["pending"][0]["changed"] >= mine["last_completed_sync"]
    assert mine["totals"]["pending_items"] == 1 and mine["totals"]["missing_items"] == 0

    record = Ledger(config.load(path).ledger_path).record(lost)
    cmis_delete(config.load(path).repository.url, record["object_id"])   # its revisions are old: a loss
    result = as_json(run("report", "--source", "blog", *window, "--json", "--config", path, code=8))
    (mine,) = result["sources"]
    assert [(m["key"], m["status"]) for m in mine["missing"]] == [(lost, "missing from the repository")]
    assert [p["key"] for p in mine["pending"]] == [edited]

    text = run("report", "--source", "blog", *window, "--config", path, code=8).stdout
    assert f"MISSING {lost}" in text and f"PENDING {edited}" in text and "missing: 1, extra: 0, pending: 1" in text
    rows = list(csv.DictReader(io.StringIO(run("report", "--source", "blog", *window, "--format", "csv",
                                                "--config", path, code=8).stdout)))
    assert [(r["row"], r["key"]) for r in rows if r["row"] in ("missing", "pending")] == [("missing", lost),
                                                                                         ("pending", edited)]
    page = tmp_path / "report.html"
    run("report", "--source", "blog", *window, "--format", "html", "--out", str(page), "--config", path, code=8)
    assert "Pending: changed after the last completed sync" in page.read_text()
