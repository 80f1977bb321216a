"""The change sweep on the REAL MediaWiki and OpenCMIS InMemory: an edit the feeds missed (the
checkpoint was moved past it, as after recentchanges purged its row) is found by the sweep and
filed through the source's normal path; versions are read back from the repository."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources import build
from connector.sources.mediawiki import format_ts

from ..conftest import write_config
from ..sources.test_mediawiki import STATE, _bot_password, mw_api, wiki  # noqa: F401 - real-wiki fixtures
from .shared import MEDIAWIKI_WIKI, WHOLE_PASS

pytestmark = pytest.mark.integration

# Template talk (11) only: a small full crawl; a whole pass a run
SOURCE = MEDIAWIKI_WIKI + "namespaces = [11]\noverlap_minutes = 0\n" + WHOLE_PASS


def test_an_edit_the_feed_missed_is_found_by_the_sweep(wiki, mw_api, cmis_url, tmp_path):  # noqa: F811
    title = f"Template talk:Sweep {uuid.uuid4().hex[:8]}"
    first_rev = wiki.edit(title, "first text")
    cfg = config.load(write_config(tmp_path, cmis_url, sources=SOURCE.format(api=mw_api, state=STATE)))
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    key = f"wiki/page/{first_rev['pageid']}"
    try:
        first = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))
        assert first.outcome == "ok" and first.quarantined == 0
        assert archive.ledger.sweep_mark(key) == str(first_rev["newrevid"])      # read by the crawl: free
        assert archive.ledger.sweep_totals("wiki")["requests"] == 0

        missed = wiki.edit(title, "second text, which no feed will report")
        # the feeds miss it: the checkpoint moves past the edit (as when recentchanges purged its row)
        state = archive.ledger.source_state("wiki")
        state["checkpoint"] = format_ts(wiki.server_time() + timedelta(seconds=2))
        for name in ("rc_anchor", "rc_seen", "log_seen"):
            state.pop(name, None)
        archive.ledger.save_source_state("wiki", state)

        second = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))
        assert second.outcome == "ok" and second.quarantined == 0
        assert set(archive.ledger.filed_revisions(key)) == {str(first_rev["newrevid"]), str(missed["newrevid"])}
        versions = archive.repo.versions(archive.ledger.record(key)["object_id"])
        assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0"]
        assert b"".join(archive.repo.content(versions[-1]["cmis:objectId"])).decode() == \
            "second text, which no feed will report"
        assert archive.ledger.sweep_mark(key) == str(missed["newrevid"])
        totals = archive.ledger.sweep_totals("wiki")
        assert totals["paid_units"] >= 1 and totals["requests"] == totals["paid_units"]   # one request a unit

        third = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))
        assert third.outcome == "ok"
        assert len(archive.repo.versions(archive.ledger.record(key)["object_id"])) == 2   # nothing twice
    finally:
        archive.close()
