"""The change sweep on the REAL WordPress and OpenCMIS InMemory: an edited comment (comments have
no modified date, so no listing ``changes`` reads shows the edit) is archived by the first sync
whose sweep covers it; versions are read back from the repository."""
from __future__ import annotations

import time

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources import build

from ..conftest import write_config
from ..sources.test_wordpress import STATE, URL, wp  # noqa: F401 - the `wp` fixture: real WordPress
from .shared import WHOLE_PASS, WORDPRESS_BLOG

pytestmark = pytest.mark.integration

# a whole pass a run: the run after the edit covers every comment
SOURCE = WORDPRESS_BLOG + "overlap_minutes = 0\n" + WHOLE_PASS


def test_an_edited_comment_is_archived_by_the_sweep(wp, cmis_url, tmp_path):  # noqa: F811
    post = wp.post()
    comment = wp.comment(post["id"], content="<p>said first</p>")
    spam = wp.comment(post["id"])
    wp.call("POST", f"/comments/{spam['id']}", json={"status": "spam"})
    cfg = config.load(write_config(tmp_path, cmis_url, sources=SOURCE.format(url=URL, state=STATE)))
    key, spam_key = f"blog/comment/comment:{comment['id']}", f"blog/comment/comment:{spam['id']}"
    time.sleep(2.1)   # changes lists comments dated from 1 s before the checkpoint: these are older
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        first = pipeline.sync(build("blog", "wordpress", cfg.sources["blog"].options))
        assert first.outcome == "ok" and first.quarantined == 0
        # the full crawl read every comment: the sweep checked them all without a request
        assert first.swept_units >= 1 and archive.ledger.sweep_totals("blog")["requests"] == 0
        before = set(archive.ledger.filed_revisions(key))
        assert len(before) == 1 and archive.ledger.sweep_mark(key) in before
        spam_mark = archive.ledger.sweep_mark(spam_key)

        wp.call("POST", f"/comments/{comment['id']}", json={"content": "<p>said, then edited</p>"})
        source = build("blog", "wordpress", cfg.sources["blog"].options)
        second = pipeline.sync(source)
        assert second.outcome == "ok" and second.quarantined == 0
        assert key not in source._yielded      # changes did not see the edit: the sweep did
        added = set(archive.ledger.filed_revisions(key)) - before
        assert len(added) == 1 and archive.ledger.sweep_mark(key) == next(iter(added))
        versions = archive.repo.versions(archive.ledger.record(key)["object_id"])
        assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0"]
        assert b"".join(archive.repo.content(versions[-1]["cmis:objectId"])).decode() == "<p>said, then edited</p>"
        assert archive.ledger.sweep_mark(spam_key) == spam_mark      # found among the spam, unchanged
        totals = archive.ledger.sweep_totals("blog")
        assert totals["paid_units"] >= 1 and totals["requests"] >= totals["paid_units"]

        third = pipeline.sync(build("blog", "wordpress", cfg.sources["blog"].options))
        assert third.outcome == "ok"
        assert len(archive.repo.versions(archive.ledger.record(key)["object_id"])) == 2   # nothing twice
    finally:
        archive.close()
