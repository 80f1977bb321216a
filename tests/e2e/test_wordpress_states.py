"""WordPress → OpenCMIS InMemory, both real: which states of a post become versions (issue #15).

- a backfill with no range files everything WordPress holds, a post scheduled for next week too;
- two consecutive states with the same content and the same archived metadata are one version:
  the current state filed by one run and the revision WordPress saves of it later (a save that
  changed nothing archived) are one version, and the revision is recorded as covered by it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from connector import config
from connector.backfill import run_backfill
from connector.pipeline import Archive
from connector.sources import build

from ..cli.helpers import blog_config
from ..sources.test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress

pytestmark = pytest.mark.integration


def _open(tmp_path, cmis_url):
    cfg = config.load(blog_config(tmp_path, cmis_url))
    return Archive.open(cfg), build("blog", "wordpress", cfg.sources["blog"].options)


def test_a_backfill_without_a_range_files_a_scheduled_post(wp, cmis_url, tmp_path):  # noqa: F811
    future = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    scheduled = wp.post(status="future", date_gmt=future)
    archive, source = _open(tmp_path, cmis_url)
    try:
        result = run_backfill(archive, source, None, None)
        assert result["status"] == "done" and result["summary"]["outcome"] == "ok"
        record = archive.ledger.record(f"blog/post/post:{scheduled['id']}")
        assert record is not None, "the scheduled post was not filed"
        props = archive.repo.latest(record["object_id"])
        assert props["sa:visibilityReason"] == "future" and props["sa:visibility"] != "public"
    finally:
        archive.close()
