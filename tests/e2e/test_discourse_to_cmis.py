"""Discourse (documented API shapes on `responses` fixtures: Discourse cannot run here) →
OpenCMIS InMemory (real): the repository side is never mocked, requests to it pass through; every
ACL, property and content checked here is read back from the repository."""
from __future__ import annotations

import hashlib

import pytest
import responses

from connector.archive import Archive

from ..sources.test_discourse import (BASE, DELETED, HIDDEN, RUN2_DATE, UPLOAD, WHISPER, FakeTime, get,
                                     register_listing, register_quiet_run, register_run1, source)
from .shared import WORLD, passthrough, permissions

pytestmark = pytest.mark.integration

PERMISSIONS = permissions({"group:team": "GROUP_team", "group:auditors": "GROUP_auditors",
                           "group:staff": "GROUP_staff"})
TEAM = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_team": {"cmis:read"},
        "GROUP_auditors": {"cmis:read"}}
STAFF = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_staff": {"cmis:read"}}


def test_forum_topic_restricted_category_429_edit_and_deleted_topic(archive, pipeline, cmis_url):
    fake = FakeTime()
    with passthrough(cmis_url, assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, BASE + "/categories.json", status=429,
                 body="Slow down, too many requests", headers={"Retry-After": "7"})
        register_run1(rsps)
        first = pipeline.sync(source(fake))
    assert first.outcome == "ok" and first.quarantined == 0
    assert 7.0 in fake.sleeps                                  # the 429 was waited out

    # a topic with more than 20 posts: every post is a record
    posts = [archive.ledger.record(f"talk/post/post:{pid}") for pid in range(1000, 1025)]
    assert all(posts)
    # restricted category -> its groups, nobody else
    acl = archive.repo.acl(archive.ledger.record("talk/thread/thread:200")["object_id"])
    assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_team": {"cmis:read"},
                   "GROUP_auditors": {"cmis:read"}}
    # the upload is stored byte-exact
    key = f"talk/attachment/attachment:{hashlib.sha1(UPLOAD).hexdigest()}"
    stored = b"".join(archive.repo.content(archive.ledger.record(key)["object_id"]))
    assert stored == UPLOAD

    # the next run: post 1024 was edited -> exactly one new version
    state = archive.ledger.source_state("talk")
    assert state.get("last_post_id")
    before = set(archive.ledger.filed_revisions("talk/post/post:1024"))
    with passthrough(cmis_url) as rsps:
        get(rsps, "/posts.json", "posts_latest_run2.json", date=RUN2_DATE)
        get(rsps, "/latest.json", "latest_run2.json", {"page": "0"}, date=RUN2_DATE)
        register_listing(rsps, date=RUN2_DATE)              # categories for the topics read, and the sweep
        get(rsps, "/t/200.json", "t_200_run2.json", date=RUN2_DATE)
        get(rsps, "/t/100.json", "t_100.json", date=RUN2_DATE)
        get(rsps, "/t/100/posts.json", "t_100_posts_run2.json",
            {"post_ids[]": [str(i) for i in range(1020, 1025)]}, date=RUN2_DATE)
        get(rsps, "/posts/1024.json", "post_1024_run2.json", date=RUN2_DATE)
        get(rsps, "/posts/1024/revisions/2.json", "post_1024_revision_2.json", date=RUN2_DATE)
        get(rsps, "/posts/1024.json", "post_1024.json", {"version": "1"}, date=RUN2_DATE)
        second = pipeline.sync(source(FakeTime()))
    assert second.outcome == "ok"
    added = set(archive.ledger.filed_revisions("talk/post/post:1024")) - before
    assert len(added) == 1
    versions = archive.repo.versions(archive.ledger.record("talk/post/post:1024")["object_id"])
    assert b"edited later" in b"".join(archive.repo.content(versions[-1]["cmis:objectId"]))

    # topic 101 deleted in Discourse -> a tombstone, the archived thread stays
    with passthrough(cmis_url) as rsps:
        get(rsps, "/t/100.json", "t_100.json")
        get(rsps, "/t/101.json", "not_found.json", status=404)
        get(rsps, "/t/102.json", "t_102.json")
        get(rsps, "/t/200.json", "t_200_run2.json")
        get(rsps, "/posts/1100.json", "not_found.json", status=404)
        src = source(FakeTime())
        tombs = pipeline.reconcile(src)
    assert tombs.tombstones >= 1
    record = archive.ledger.record("talk/thread/thread:101")
    assert record["deleted"] == 1 and archive.repo.versions(record["object_id"])


def version_acls(archive: Archive, key: str) -> list[dict]:
    object_id = archive.ledger.record(key)["object_id"]
    return [archive.repo.acl(v["cmis:objectId"]) for v in archive.repo.versions(object_id)]


def world_readable(archive: Archive) -> list[str]:
    """Every property and the content of every world-readable version of every document in the archive."""
    rows = archive.repo.query(f"SELECT cmis:objectId FROM {archive.filer.profile.document_type} "
                              f"WHERE {archive.filer.in_archive()}", all_versions=True)
    found = []
    for object_id in {row["cmis:objectId"] for row in rows}:
        for version in archive.repo.versions(object_id):
            if WORLD & set(archive.repo.acl(version["cmis:objectId"])):
                found.append(repr(version) + "\n" + b"".join(archive.repo.content(version["cmis:objectId"]))
                             .decode("utf-8", "replace"))
    return found


def test_a_topic_moved_into_a_restricted_category_is_restricted_and_no_public_object_holds_staff_text(
        archive, pipeline, cmis_url):
    with passthrough(cmis_url, assert_all_requests_are_fired=False) as rsps:   # uploads are read by the filer
        register_run1(rsps)
        assert pipeline.sync(source(FakeTime())).outcome == "ok"
    public = world_readable(archive)
    assert any('"sa:recordKey": "talk/thread/thread:102"' in text or "talk/thread/thread:102" in text
               for text in public)                                  # topic 102 was public, with its record
    assert any("Release 4.2 goes out on Friday" in text for text in public)
    for text in public:
        for staff_only in (WHISPER, DELETED, HIDDEN, "Staff note.", "Team only."):
            assert staff_only not in text
    assert version_acls(archive, "talk/post/post:1201") == [STAFF]          # the whisper
    assert all(WORLD.isdisjoint(acl) for acl in version_acls(archive, "talk/post/post:1202"))

    # topic 102 moves into "Private Team"; no post is edited, nothing is bumped
    with passthrough(cmis_url) as rsps:
        register_quiet_run(rsps, general="c_general_1_page0_moved.json", team="c_private-team_5_page0_moved.json")
        moved = pipeline.sync(source(FakeTime()))
    assert moved.outcome == "ok" and moved.versions == 0 and moved.acl_changes >= 2
    for key in ("talk/thread/thread:102", "talk/post/post:1200"):
        assert version_acls(archive, key) == [TEAM], key
    assert version_acls(archive, "talk/post/post:1201") == [STAFF]
    assert version_acls(archive, "talk/post/post:1203") == [STAFF]          # the author no longer sees it
    public = world_readable(archive)
    assert not any("Release 4.2 goes out on Friday" in text or "thread:102" in text for text in public)
    for text in public:
        for staff_only in (WHISPER, DELETED, HIDDEN):
            assert staff_only not in text
    assert any("talk/thread/thread:100" in text for text in public)       # what stays public stays public

    with passthrough(cmis_url) as rsps:                                        # a no-op sync: no CMIS request
        register_quiet_run(rsps, general="c_general_1_page0_moved.json", team="c_private-team_5_page0_moved.json")
        before = archive.repo.request_count
        again = pipeline.sync(source(FakeTime()))
    assert again.acl_changes == 0 and archive.repo.request_count == before
