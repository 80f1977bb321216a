"""The rolling change sweep (connector/sweep.py) end to end: an edit no feed reports is archived
by the first sync whose sweep covers it. Discourse on `responses` fixtures (it cannot run here),
the real OpenCMIS InMemory behind; every new version is read back from the repository."""
from __future__ import annotations

import copy

import pytest
import responses

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.status import format_status, status

from ..conftest import write_config
from ..sources.test_discourse import BASE, FakeTime, get, load, register_listing, register_run1, source

pytestmark = pytest.mark.integration

LATER = "Mon, 03 Jul 2028 12:00:00 GMT"      # topic 100 was last active in June 2026
EDITED = "Post number 3, edited two years later."
# 4 topics, 4 runs a period: the sweep re-checks one topic a run
SWEEP = """
[sources.talk]
type = "discourse"
base_url = "https://forum.example.org"
api_key_env = "UNUSED_KEY"
api_username = "archivist"
sweep_period_days = 0.041666667
sync_every_minutes = 15
"""


@pytest.fixture
def archive(tmp_path, cmis_url, monkeypatch):
    monkeypatch.setenv("UNUSED_KEY", "not-used")
    arch = Archive.open(config.load(write_config(tmp_path, cmis_url, sources=SWEEP)))
    yield arch
    arch.close()


@pytest.fixture
def pipeline(archive):
    """The run loop over ``archive``, one per test (its runs are numbered in the ledger)."""
    return Pipeline(archive)


def mocked(cmis_url: str) -> responses.RequestsMock:
    rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
    rsps.add_passthru(cmis_url.split("/inmemory")[0])
    return rsps


def quiet_run(rsps) -> None:
    """Nothing new in the feeds: no new post, no topic bumped since 2026; then the listing."""
    get(rsps, "/posts.json", "posts_latest.json", date=LATER)
    get(rsps, "/latest.json", "c_general_1_page0_moved.json", {"page": "0"}, date=LATER)
    register_listing(rsps, date=LATER)


def edited_topic_100(rsps) -> None:
    """Topic 100 as it is after post #3 (1002) was edited: version 2, a new updated_at, no bump."""
    topic = load("t_100.json")
    for post in topic["post_stream"]["posts"]:
        if post["id"] == 1002:
            post.update(version=2, updated_at="2028-06-20T08:00:00.000Z")
    rsps.add(responses.GET, BASE + "/t/100.json", json=topic, headers={"Date": LATER})
    get(rsps, "/t/100/posts.json", "t_100_posts.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]}, date=LATER)
    full = {**load("post_1002.json"), "version": 2, "raw": EDITED, "updated_at": "2028-06-20T08:00:00.000Z"}
    rsps.add(responses.GET, BASE + "/posts/1002.json", json=full, headers={"Date": LATER},
             match=[responses.matchers.query_param_matcher({})])
    revision = copy.deepcopy(load("post_1003_revision_2.json"))
    revision.update(post_id=1002, created_at="2028-06-20T08:00:00.000Z", edit_reason="two years on")
    revision["body_changes"]["side_by_side_markdown"] = "<del>Post number 3 in the big topic.</del><ins>edited</ins>"
    rsps.add(responses.GET, BASE + "/posts/1002/revisions/2.json", json=revision, headers={"Date": LATER})
    get(rsps, "/posts/1002.json", "post_1002.json", {"version": "1"}, date=LATER)


def test_discourse_edit_of_post_3_in_a_topic_quiet_for_two_years_is_archived_by_the_sweep(archive, pipeline, cmis_url):
    with mocked(cmis_url) as rsps:
        register_run1(rsps)
        first = pipeline.sync(source(FakeTime()))
    assert first.outcome == "ok"
    # the full crawl read every topic: the sweep checked them all without a request
    assert first.swept_units == 4
    key = "talk/post/post:1002"
    before = set(archive.ledger.filed_revisions(key))
    assert len(before) == 1

    with mocked(cmis_url) as rsps:
        quiet_run(rsps)
        edited_topic_100(rsps)
        second = pipeline.sync(source(FakeTime()))
        topic_reads = [c.request.url for c in rsps.calls if c.request.url.startswith(BASE + "/t/")]
    assert second.outcome == "ok" and second.swept_units == 1
    assert topic_reads[0] == BASE + "/t/100.json"       # the least recently checked topic first
    added = set(archive.ledger.filed_revisions(key)) - before
    assert len(added) == 1 and next(iter(added)).startswith("v2-")
    versions = archive.repo.versions(archive.ledger.record(key)["object_id"])
    assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0"]
    assert b"".join(archive.repo.content(versions[-1]["cmis:objectId"])).decode() == EDITED
    assert archive.ledger.sweep_mark(key).startswith("v2|2028-06-20")

    # the next run goes on with the next topics (topic 100 cost 2 requests: 2 are earned a run
    # now); topic 100 is not read again, the edited post is not filed again
    with mocked(cmis_url) as rsps:
        quiet_run(rsps)
        for topic in (101, 102, 200):
            get(rsps, f"/t/{topic}.json", f"t_{topic}.json", date=LATER)
        third = pipeline.sync(source(FakeTime()))
        topic_reads = [c.request.url for c in rsps.calls if c.request.url.startswith(BASE + "/t/")]
    assert third.outcome == "ok" and third.versions == 0
    assert topic_reads == [BASE + "/t/101.json", BASE + "/t/102.json"]
    assert len(archive.ledger.filed_revisions(key)) == 2
    fresh, total, _ = archive.ledger.sweep_coverage("talk", "2000-01-01")
    assert fresh == total         # every live record, the upload of post 1001 too (from the index)
    talk = next(s for s in status(archive.config, archive.ledger)["sources"] if s["source"] == "talk")
    sweep = talk["sweep"]
    assert sweep["units"] == 4 and sweep["coverage"] == 1.0 and not sweep["sync_every_assumed"]
    # measured: topic 100 cost 2 requests (25 posts), 101 and 102 one each; 4 runs a period
    assert sweep["requests_per_unit_measured"] and sweep["requests_per_unit"] == 1.33
    assert sweep["requests_per_pass"] == 6 and sweep["requests_per_run"] == 1.33
    assert "change sweep coverage: 100.0% of" in format_status(status(archive.config, archive.ledger))


def test_default_period_a_quiet_forum_spends_nothing_until_a_request_is_earned(tmp_path, cmis_url):
    """4 topics, default period (7 days, a sync every 15 minutes): 4.4 requests a pass are 0.0065
    a run, so quiet runs make no sweep request; the earned share carries over in the ledger."""
    arch = Archive.open(config.load(write_config(tmp_path, cmis_url)))
    pipeline = Pipeline(arch)
    try:
        with mocked(cmis_url) as rsps:
            register_run1(rsps)
            pipeline.sync(source(FakeTime()))
        with mocked(cmis_url) as rsps:
            quiet_run(rsps)
            quiet = pipeline.sync(source(FakeTime()))
            assert not [c for c in rsps.calls if c.request.url.startswith(BASE + "/t/")]
        assert quiet.outcome == "ok" and quiet.swept_units == 0
        credit = arch.ledger.sweep_totals("talk")["credit"]
        assert 0.0129 < credit < 0.0132       # two runs' share: 2 x 4 x 1.1 / 672
    finally:
        arch.close()


def test_default_period_archives_the_old_edit_within_one_pass_of_runs(tmp_path, cmis_url, monkeypatch):
    """The documented bound: with the default period (7 days) and a sync every 15 minutes, every
    archived topic is re-checked within 672 runs. Quiet runs (nothing in any feed) each earn 1/672
    of a pass; the run that has earned topic 100's cost reads it and files the edit of post #3 (run
    152 of 672 when this was written)."""
    monkeypatch.setenv("UNUSED_KEY", "not-used")
    default = SWEEP.replace("sweep_period_days = 0.041666667\n", "")
    arch = Archive.open(config.load(write_config(tmp_path, cmis_url, sources=default)))
    pipeline = Pipeline(arch)
    key = "talk/post/post:1002"
    try:
        with mocked(cmis_url) as rsps:
            register_run1(rsps)
            pipeline.sync(source(FakeTime()))
        runs_per_pass = 7 * 24 * 4
        for run in range(1, runs_per_pass + 1):
            with mocked(cmis_url) as rsps:
                quiet_run(rsps)
                edited_topic_100(rsps)
                for topic in (101, 102, 200):
                    get(rsps, f"/t/{topic}.json", f"t_{topic}.json", date=LATER)
                summary = pipeline.sync(source(FakeTime()))
            assert summary.outcome == "ok"
            if len(arch.ledger.filed_revisions(key)) == 2:
                break
        assert len(arch.ledger.filed_revisions(key)) == 2, f"not archived within {runs_per_pass} runs"
        assert run < runs_per_pass   # earned long before the pass ends: 1.1 requests of 4.4 a pass
    finally:
        arch.close()
