"""plan, backfill, status, report, quarantine and check --json through the CLI (CliRunner), on the
real WordPress and OpenCMIS InMemory servers. Every assertion is on this module's own posts,
dated in a random old range of their own, and on its own ledger and folder."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.store import Ledger

from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress
from .helpers import blog_config, cmis_delete, iso, seed_dated_posts

pytestmark = pytest.mark.integration
INSIDE = 6


def run(*args: str, code: int | None = 0):
    result = CliRunner().invoke(main, list(args))
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def as_json(result) -> dict | list:
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def dated(wp):  # noqa: F811
    return seed_dated_posts(wp, INSIDE)


@pytest.fixture(scope="module")
def blog(dated, cmis_url, tmp_path_factory):
    path = blog_config(tmp_path_factory.mktemp("blog-cli"), cmis_url)
    return {"config": path, "range": ["--since", iso(dated["since"]), "--until", iso(dated["until"])],
            "keys": {f"blog/post/post:{i}" for i in dated["inside"]}}


def ledger_keys(path: str) -> set[str]:
    ledger = Ledger(config.load(path).ledger_path)
    try:
        return {row[0] for row in ledger.db.execute("SELECT key FROM records")}
    finally:
        ledger.close()


def test_plan_counts_exactly_the_dated_posts(blog):
    plan = as_json(run("plan", "--source", "blog", *blog["range"], "--json", "--config", blog["config"]))
    assert plan["counts"] == {"post": INSIDE, "page": 0, "media": 0, "comment": 0}
    assert plan["objects"] == INSIDE and plan["versions"] >= INSIDE and plan["bytes"] > 0
    assert plan["requests"]["source"] > 0 and plan["requests"]["repository"] >= INSIDE
    assert plan["repository"]["measured_by"] == "probe" and plan["repository"]["seconds_per_create"] > 0
    assert plan["duration_seconds"] > 0 and plan["backfill_status"] is None
    assert any("under-count" in note for note in plan["notes"])
    text = run("plan", "--source", "blog", *blog["range"], "--config", blog["config"]).stdout
    assert "estimated duration" in text and "post=6" in text


def test_dry_run_backfill_writes_nothing(blog, cmis_url, tmp_path):
    path = blog_config(tmp_path, cmis_url)
    result = as_json(run("backfill", "--source", "blog", *blog["range"], "--dry-run", "--json", "--config", path))
    assert result["dry_run"] and result["summary"]["items"] == INSIDE
    assert ledger_keys(path) == set()


def test_backfill_files_exactly_the_posts_in_the_range(blog):
    result = run("backfill", "--source", "blog", *blog["range"], "--json", "--config", blog["config"])
    out = as_json(result)
    assert out["status"] == "done" and not out["resumed"] and out["objects"] == INSIDE
    assert out["summary"]["outcome"] == "ok" and out["summary"]["items"] == INSIDE
    assert ledger_keys(blog["config"]) == blog["keys"]      # the posts dated outside are not filed
    assert "objects" in result.stderr                        # a progress line (not a terminal)

    again = as_json(run("backfill", "--source", "blog", *blog["range"], "--json", "--config", blog["config"]))
    assert again["skipped"] and again["status"] == "done"    # completed before: nothing to do
    forced = as_json(run("backfill", "--source", "blog", *blog["range"], "--force", "--json",
                         "--config", blog["config"]))
    assert forced["summary"]["versions"] == 0 and forced["summary"]["unchanged"] == INSIDE


def test_status_reports_the_backfill(blog):
    status = as_json(run("status", "--json", "--config", blog["config"]))
    (mine,) = [s for s in status["sources"] if s["source"] == "blog"]
    assert mine["items"] == INSIDE and mine["files"] == 0 and mine["tombstones"] == 0
    assert mine["versions"] >= INSIDE and mine["bytes"] > 0
    assert mine["last_run"]["command"] == "backfill" and mine["last_run"]["outcome"] == "ok"
    assert [b["status"] for b in mine["backfills"]] == ["done"] and mine["quarantined"] == []
    text = run("status", "--config", blog["config"]).stdout
    assert f"{INSIDE} items" in text and "backfill backfill-blog-" in text


def test_quarantine_list_and_retry_by_id(blog, dated):
    key = f"blog/post/post:{dated['outside'][1]}"
    ledger = Ledger(config.load(blog["config"]).ledger_path)
    ledger.quarantine(key, "blog", "DigestMismatch", "simulated: the bytes did not match")
    ledger.close()
    listed = as_json(run("quarantine", "list", "--json", "--config", blog["config"]))
    assert [(q["key"], q["reason"]) for q in listed] == [(key, "simulated: the bytes did not match")]
    status = as_json(run("status", "--json", "--config", blog["config"]))
    assert [q["key"] for s in status["sources"] for q in s["quarantined"]] == [key]

    retried = as_json(run("quarantine", "retry", key, "--json", "--config", blog["config"]))
    assert retried[0]["method"] == "fetch" and retried[0]["results"] == [{"key": key, "outcome": "filed: released"}]
    assert as_json(run("quarantine", "list", "--json", "--config", blog["config"])) == []
    assert key in ledger_keys(blog["config"])
    run("quarantine", "retry", "blog/post/post:0", "--config", blog["config"], code=2)   # not quarantined


def test_report_zero_missing_then_a_deleted_object_is_missing(blog, tmp_path):
    report = as_json(run("report", "--source", "blog", *blog["range"], "--json", "--config", blog["config"]))
    (mine,) = report["sources"]
    assert report["missing_total"] == 0 and mine["missing"] == []
    assert mine["totals"]["source_items"] == mine["totals"]["repository_items"] == INSIDE
    assert mine["totals"]["repository_revisions"] == mine["totals"]["source_revisions"] >= INSIDE

    doomed = sorted(blog["keys"])[0]
    record = Ledger(config.load(blog["config"]).ledger_path).record(doomed)
    cmis_delete(config.load(blog["config"]).repository.url, record["object_id"])

    result = run("report", "--source", "blog", *blog["range"], "--json", "--config", blog["config"], code=8)
    (mine,) = as_json(result)["sources"]
    assert [(m["key"], m["status"]) for m in mine["missing"]] == [(doomed, "missing from the repository")]
    assert mine["missing"][0]["missing_in_ledger"] == []
    assert mine["totals"]["repository_items"] == INSIDE - 1

    text = run("report", "--source", "blog", *blog["range"], "--config", blog["config"], code=8).stdout
    assert f"MISSING {doomed}" in text and "missing: 1, extra: 0" in text
    rows = list(csv.DictReader(io.StringIO(run("report", "--source", "blog", *blog["range"], "--format", "csv",
                                                "--config", blog["config"], code=8).stdout)))
    assert [r["key"] for r in rows if r["row"] == "missing"] == [doomed]
    out = tmp_path / "report.html"
    run("report", "--source", "blog", *blog["range"], "--format", "html", "--out", str(out),
        "--config", blog["config"], code=8)
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<svg class="chart"' in page and doomed in page
    assert not any(tag in page for tag in ("<script", "<link", " src=", " href="))  # no external assets


def test_check_json_parses(blog):
    found = as_json(run("check", "--json", "--config", blog["config"]))
    assert found["repository"]["id"] == "A1" and found["sources"][0]["ok"]
