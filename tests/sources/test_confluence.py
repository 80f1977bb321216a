"""ConfluenceSource on `responses` (``confluence_site``: fixtures in the REST API v1 shapes; no
Confluence can run here): versions, comments, attachments, permissions and restrictions, both
pagings, the CQL window in the site's time zone, the token kept on the site's origin."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import responses
from hypothesis import given, settings, strategies as st

from connector.errors import ConfigError, DigestMismatch
from connector.model import Content, HashingReader, Visibility
from connector.sources.confluence import ConfluenceSource
from connector.sources.confluence.api import ConfluenceApi
from connector.sources.confluence.visibility import restricted_by, space_visibility
from connector.http import make_session

from .confluence_site import BASE, FIX, TOKEN, Site, attachment_bytes


class FakeTime:
    def __init__(self):
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))


def source(fake: FakeTime | None = None, **kw) -> ConfluenceSource:
    return ConfluenceSource("wiki", BASE, token=TOKEN, site_timezone="Europe/Berlin", anonymous_access=True,
                            sleep=(fake or FakeTime()).sleep, **kw)


def run(src, state: dict, site: Site) -> list:
    """The run's objects, each revision's content read (as the filer does) and kept in memory."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        site.register(rsps)
        objects = list(src.changes(state))
        for obj in objects:
            for revision in getattr(obj, "revisions", []):
                data = b"".join(HashingReader(revision.content))
                revision.content = Content.from_bytes(data, revision.content.media_type, revision.content.filename)
    return objects


def by_key(objects) -> dict:
    return {o.key: o for o in objects}


def test_full_crawl_versions_comments_attachments_and_visibility():
    site = Site()
    state: dict = {}
    objects = by_key(run(source(), state, site))
    assert state["checkpoint"] == "2026-07-01T11:50:00Z"
    page = objects["wiki/page/page:1001"]
    assert [r.id for r in page.revisions] == ["v1", "v2", "v3", "v4", "v5"]
    assert [r.comment for r in page.revisions] == ["created", "added scope", "typo", "", "review notes"]
    assert page.tags == ("handbook", "onboarding") and page.visibility.is_public
    text = b"".join(page.revisions[0].content.chunks())
    assert text == b'<p>Handbook version 1</p><ac:structured-macro ac:name="toc" />&nbsp;'
    assert objects["wiki/page/page:1002"].visibility.readers == ("group:team", "user:bob")
    child = objects["wiki/page/page:1003"]                     # no restriction of its own
    assert not child.visibility.is_public and child.visibility.readers == ("group:team", "user:bob")
    assert child.parent_id == "page:1002" and child.extra["ancestors"] == "1002"
    assert objects["wiki/page/page:1101"].visibility.readers == ("user:alice",)     # personal space
    blog = objects["wiki/blogpost/blogpost:1201"]
    assert blog.tags == ("release",) and blog.parent_id is None and [r.id for r in blog.revisions] == ["v1"]
    attachment = objects["wiki/attachment/attachment:att2001"]
    assert [r.id for r in attachment.revisions] == ["v1", "v2", "v3"]
    assert [b"".join(r.content.chunks()) for r in attachment.revisions] == [attachment_bytes(n) for n in (1, 2, 3)]
    inline = objects["wiki/comment/comment:3002"]
    assert inline.extra["location"] == "inline" and inline.extra["inline_selection"] == "review notes"
    assert objects["wiki/comment/comment:3003"].extra["reply_to"] == "comment:3001"
    assert sorted(state["index"]["1001"]) == ["attachment:att2001", "comment:3001", "comment:3002", "comment:3003"]


def test_the_token_stays_on_the_site_origin():
    site = Site()
    run(source(), {}, site)
    assert len(site.media_requests) == 3
    assert all("Authorization" not in r.headers for r in site.media_requests)
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in site.requests)
    assert TOKEN not in repr(source())


def test_incremental_cql_in_site_time_and_comment_edits_found():
    site = Site(run=2)
    state = {"checkpoint": "2026-07-01T11:50:00Z", "index": {}}
    objects = by_key(run(source(), state, site))
    cqls = [r.url for r in site.requests if "/content/search" in r.url]
    assert all("2026%2F07%2F01+13%3A50" in url for url in cqls), cqls      # 11:50Z is 13:50 in Berlin
    assert set(objects) >= {"wiki/page/page:1001", "wiki/comment/comment:3002"}   # its page re-read
    assert [r.id for r in objects["wiki/comment/comment:3002"].revisions] == ["v1", "v2"]
    assert "wiki/page/page:1004" not in objects                                  # moved, not edited
    assert state["checkpoint"] == "2026-07-01T13:50:00Z"


def test_an_attachment_shorter_than_announced_is_refused():
    src = source()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, BASE + "/download/x.png", body=b"abc")
        with pytest.raises(DigestMismatch):
            list(src._download("/download/x.png", 4))


def test_start_limit_paging_without_a_next_link():
    with responses.RequestsMock() as rsps:
        for start, ids in ((0, [1, 2]), (2, [3])):
            rsps.add(responses.GET, BASE + "/rest/api/space", json={"results": [{"id": i} for i in ids],
                     "start": start, "limit": 2, "size": len(ids)},
                     match=[responses.matchers.query_param_matcher({"limit": "2", **({"start": "2"} if start else {})})])
        api = ConfluenceApi(BASE, make_session("t"), token=TOKEN)
        assert [r["id"] for r in api.results("/rest/api/space", {"limit": 2})] == [1, 2, 3]


def test_permissions_fail_closed():
    assert space_visibility(None, "ENG") == Visibility.restricted("space ENG: permissions unreadable", ())
    assert space_visibility({"type": "personal", "permissions": []}, "~bob").readers == ("user:bob",)
    eng = json.loads((FIX / "space_ENG.json").read_text())            # anonymous view granted
    assert space_visibility(eng, "ENG", anonymous_site=True).is_public
    assert space_visibility(eng, "ENG").readers == ("group:confluence-users",)   # a site closed to anonymous
    with pytest.raises(ConfigError):
        ConfluenceSource("wiki", BASE)                       # no credentials
    with pytest.raises(ConfigError):
        ConfluenceSource("wiki", BASE, token="t", site_timezone="Mars/Olympus")


def test_cql_window():
    src = source()
    src._space_keys = ["ENG", "~alice"]
    since = datetime(2026, 1, 15, 23, 59, 30, tzinfo=timezone.utc)
    assert src._cql(("page",), since) == \
        'space in ("ENG","~alice") and type in (page) and lastmodified >= "2026/01/16 00:59" order by lastmodified'
    assert 'lastmodified <= "2026/01/16 01:59"' in src._cql(("page",), since, since + timedelta(hours=1))


def test_change_sweep_finds_a_comment_edited_on_a_quiet_page():
    filed = {key: {r.id for r in obj.revisions} for key, obj in by_key(run(source(), {}, Site())).items()}
    src = source()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        Site(run=2).register(rsps)
        (found,) = src.recheck(["wiki/page/page:1001"], lambda key, marker, archived: not archived(filed.get(key, set())),
                               lambda: True)
        objects = by_key(found.objects)
    assert found.marks["wiki/comment/comment:3002"] == "v2" and found.marks["wiki/page/page:1001"] == "v5"
    assert [r.id for r in objects["wiki/comment/comment:3002"].revisions] == ["v1", "v2"]


@settings(max_examples=200, deadline=None)
@given(levels=st.lists(st.one_of(st.none(), st.frozensets(st.sampled_from(
    ["group:a", "group:b", "user:x", "user:y"]))), max_size=5), public=st.booleans())
def test_a_restriction_never_widens(levels, public):
    """Walking down the tree, each level's readers are among the level above's and its own."""
    visibility = Visibility.public() if public else Visibility.restricted("space", ["group:a", "user:x"])
    for allowed in levels:
        below = restricted_by(visibility, allowed, "level")
        if allowed is not None:
            assert not below.is_public and set(below.readers) <= allowed
        if not visibility.is_public:
            assert not below.is_public and set(below.readers) <= set(visibility.readers)
        visibility = below
