"""WordPress → OpenCMIS InMemory, both real: which states of a post become versions (issue #15).

- a backfill with no range files everything WordPress holds, a post scheduled for next week too;
- two consecutive states with the same content and the same archived metadata are one version:
  the current state filed by one run and the revision WordPress saves of it later (a save that
  changed nothing archived) are one version, and the revision is recorded as covered by it.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from connector import config
from connector.archive import Archive
from connector.backfill import run_backfill
from connector.pipeline import Pipeline
from connector.report import build_report
from connector.sources import build

from ..cli.helpers import blog_config
from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress

pytestmark = pytest.mark.integration


def _open(tmp_path, cmis_url):
    cfg = config.load(blog_config(tmp_path, cmis_url))
    archive = Archive.open(cfg)
    return archive, Pipeline(archive), build("blog", "wordpress", cfg.sources["blog"].options)


def test_a_backfill_without_a_range_files_a_scheduled_post(wp, cmis_url, tmp_path):  # noqa: F811
    future = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    scheduled = wp.post(status="future", date_gmt=future)
    archive, pipeline, source = _open(tmp_path, cmis_url)
    try:
        result = run_backfill(pipeline, source, None, None)
        assert result["status"] == "done" and result["summary"]["outcome"] == "ok"
        record = archive.ledger.record(f"blog/post/post:{scheduled['id']}")
        assert record is not None, "the scheduled post was not filed"
        props = archive.repo.latest(record["object_id"])
        assert props["sa:visibilityReason"] == "future" and props["sa:visibility"] != "public"
    finally:
        archive.close()


def _file(pipeline, source, post_id: int):
    return pipeline.run_objects(source, source.fetch([f"post:{post_id}"]), command="fetch")


def _versions(archive, key: str) -> list[dict]:
    return archive.repo.versions(archive.ledger.record(key)["object_id"])


def _covered_entries(archive, key: str) -> list[dict]:
    with open(archive.config.audit_path, encoding="utf-8") as fh:
        return [e for e in map(json.loads, fh) if e["event"] == "covered" and e["key"] == key]


def test_the_revision_wordpress_saves_of_an_archived_current_state_is_not_a_second_version(
        wp, cmis_url, tmp_path):  # noqa: F811
    post = wp.post(content="<p>the only state</p>")
    key = f"blog/post/post:{post['id']}"
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    archive, pipeline, source = _open(tmp_path, cmis_url)
    try:
        assert _file(pipeline, source, post["id"]).versions == 1          # the current state, cur-...
        (first,) = archive.ledger.filed_revisions(key)
        time.sleep(1.1)
        # a save that changes nothing archived: WordPress now keeps it as a revision of the same state
        wp.call("POST", f"/posts/{post['id']}", json={"content": "<p>the only state</p>"})
        (item,) = source.fetch([f"post:{post['id']}"])
        (revision,) = [r.id for r in item.revisions]
        assert revision.startswith("rev-") and revision != first
        summary = _file(pipeline, source, post["id"])
        assert summary.versions == 0 and summary.outcome == "ok"
        assert len(_versions(archive, key)) == 1
        assert archive.ledger.covered(key) == {revision: first}
        assert archive.ledger.filed_revisions(key)[revision] == archive.ledger.filed_revisions(key)[first]
        assert [e["by"] for e in _covered_entries(archive, key)] == [first]
        assert _file(pipeline, source, post["id"]).versions == 0          # not tried again
        assert len(_covered_entries(archive, key)) == 1
        # the report counts the covered revision as archived (held by the version it repeats)
        (mine,) = build_report(archive, [source], start, datetime.now(timezone.utc) + timedelta(seconds=2))["sources"]
        assert key not in {m["key"] for m in mine["missing"] + mine["pending"]}

        wp.call("POST", f"/posts/{post['id']}", json={"content": "<p>a real edit</p>"})
        assert _file(pipeline, source, post["id"]).versions == 1
        assert len(_versions(archive, key)) == 2
    finally:
        archive.close()


def test_a_post_whose_newest_revision_equals_its_current_state_files_one_version_for_the_two(
        wp, cmis_url, tmp_path):  # noqa: F811
    post = wp.post(content="<p>v1</p>")
    wp.call("POST", f"/posts/{post['id']}", json={"content": "<p>v2</p>"})   # revision rev-A (v2)
    time.sleep(1.1)
    wp.call("POST", f"/posts/{post['id']}", json={"content": "<p>v2</p>"})   # saved again, nothing changed
    archive, pipeline, source = _open(tmp_path, cmis_url)
    key = f"blog/post/post:{post['id']}"
    try:
        (item,) = source.fetch([f"post:{post['id']}"])
        # WordPress lists the revision and, modified later, the current state: the same state twice
        assert [r.id[:4] for r in item.revisions] == ["rev-", "cur-"]
        rev, cur = (r.id for r in item.revisions)
        summary = _file(pipeline, source, post["id"])
        assert summary.versions == 1 and summary.outcome == "ok"
        (version,) = _versions(archive, key)
        assert version["sa:revisionId"] == rev
        assert b"".join(archive.repo.content(version["cmis:objectId"])) == b"<p>v2</p>"
        assert archive.ledger.covered(key) == {cur: rev}
    finally:
        archive.close()
