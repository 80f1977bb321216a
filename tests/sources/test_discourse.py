"""DiscourseSource on `responses` fixtures written in the shape of Discourse's documented API
(spec/requests/api/schemas/json/* in discourse/discourse; revisions from PostRevisionSerializer).

Scenario: "General" (public) with a 25-post topic (20 in /t/{id}.json, 5 via posts.json, an upload,
an edited post, a soft-deleted post) and a topic that is later deleted; "Private Team"
(read-restricted: team full, auditors read-only) with a topic holding a whisper; its subcategory
"Team Archive" is empty. A second run sees one edit and one new post.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
import responses
from responses import matchers

from connector.errors import Fatal, Retriable
from connector.model import HashingReader, Item, Tombstone
from connector.sources.discourse import DiscourseSource, body_changed, sha1_from_short_url

BASE = "https://forum.example.org"
KEY = "d1sc0urse-KEY-7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e"
FIX = Path(__file__).parent / "fixtures" / "discourse"
RUN1_DATE = "Wed, 01 Jul 2026 12:00:00 GMT"
RUN2_DATE = "Wed, 01 Jul 2026 14:00:00 GMT"
UPLOAD = (FIX / "upload_diagram.png").read_bytes()
UPLOAD_SHA1 = hashlib.sha1(UPLOAD).hexdigest()


def load(name: str):
    return json.loads((FIX / name).read_text())


class FakeTime:
    """Injected clock and sleep: sleeping advances the clock, nothing really waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def source(fake: FakeTime, **kw) -> DiscourseSource:
    return DiscourseSource("talk", BASE, KEY, "archivist", clock=fake.clock, sleep=fake.sleep, **kw)


def get(rsps, path: str, fixture: str | None, params: dict | None = None, *, status: int = 200,
        date: str = RUN1_DATE, headers: dict | None = None, body: bytes | None = None):
    kwargs = {"body": body} if body is not None else {"json": load(fixture)}
    rsps.add(responses.GET, BASE + path, status=status, headers={"Date": date, **(headers or {})},
             match=[matchers.query_param_matcher(params or {})], **kwargs)


def register_run1(rsps, date: str = RUN1_DATE) -> None:
    get(rsps, "/posts.json", "posts_latest.json", date=date)
    get(rsps, "/categories.json", "categories.json", {"include_subcategories": "true"}, date=date)
    for cid in (1, 5, 6):
        get(rsps, f"/c/{cid}/show.json", f"category_{cid}_show.json", date=date)
    get(rsps, "/c/general/1.json", "c_general_1_page0.json", {"page": "0"}, date=date)
    get(rsps, "/c/general/1.json", "topic_list_empty.json", {"page": "1"}, date=date)
    get(rsps, "/c/private-team/5.json", "c_private-team_5_page0.json", {"page": "0"}, date=date)
    get(rsps, "/c/private-team/5.json", "topic_list_empty.json", {"page": "1"}, date=date)
    get(rsps, "/c/team-archive/6.json", "topic_list_empty.json", {"page": "0"}, date=date)
    for tid in (100, 101, 200):
        get(rsps, f"/t/{tid}.json", f"t_{tid}.json", date=date)
    get(rsps, "/t/100/posts.json", "t_100_posts.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]}, date=date)
    for pid in [*range(1000, 1025), 1100, 2000, 2001]:
        get(rsps, f"/posts/{pid}.json", f"post_{pid}.json", date=date)
    get(rsps, "/posts/1003/revisions/2.json", "post_1003_revision_2.json", date=date)
    get(rsps, "/posts/1003.json", "post_1003_version_1.json", {"version": "1"}, date=date)
    short = load("uploads_lookup_urls.json")[0]["short_url"]
    rsps.add(responses.POST, BASE + "/uploads/lookup-urls.json", json=load("uploads_lookup_urls.json"),
             match=[matchers.urlencoded_params_matcher({"short_urls[]": short})])
    rsps.add(responses.GET, f"{BASE}/uploads/default/original/1X/{UPLOAD_SHA1}.png", body=UPLOAD,
             content_type="image/png")


def run(src: DiscourseSource, state: dict) -> list:
    return list(src.changes(state))


def items(objects) -> dict[str, Item]:
    return {o.native_id: o for o in objects if isinstance(o, Item)}


def text(revision) -> str:
    return b"".join(HashingReader(revision.content)).decode()


@pytest.fixture
def run1():
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        register_run1(rsps)
        src = source(fake)
        state: dict = {}
        objects = run(src, state)
        # stream the upload while the mock is active (content is lazy by design)
        upload = items(objects)[f"attachment:{UPLOAD_SHA1}"]
        upload_bytes = b"".join(HashingReader(upload.revisions[0].content))
        calls = list(rsps.calls)
    return {"src": src, "state": state, "objects": objects, "calls": calls, "fake": fake,
            "upload_bytes": upload_bytes}


def test_topic_with_more_than_20_posts_is_archived_completely(run1):
    objects, found = run1["objects"], items(run1["objects"])
    posts = [o for o in objects if isinstance(o, Item) and o.parent_id == "thread:100"]
    assert [p.native_id for p in posts] == [f"post:{i}" for i in range(1000, 1025)]
    assert [p.extra["position"] for p in posts] == [str(n) for n in range(1, 26)]
    batch = [c for c in run1["calls"] if "/t/100/posts.json" in c.request.url]
    assert len(batch) == 1 and batch[0].request.url.count("post_ids") == 5
    thread = found["thread:100"]
    assert thread.kind == "thread" and thread.space == "General" and thread.tags == ("planning",)
    assert thread.visibility.is_public and thread.author == "alice"
    assert json.loads(text(thread.revisions[0]))["id"] == 100
    order = [o.native_id for o in objects]
    assert order.index("thread:100") < order.index("post:1000")
    assert posts[24].title == "Big topic #25" and text(posts[24].revisions[-1]) == "Post number 25 in the big topic."
    assert all(p.revisions[-1].content.media_type == "text/markdown" for p in posts)


def test_revisions_of_an_edited_post_oldest_first(run1):
    post = items(run1["objects"])["post:1003"]
    assert [text(r) for r in post.revisions] == ["Fourth post, fixed teh typo.", "Fourth post, fixed the typo."]
    assert [r.id.split("-")[0] for r in post.revisions] == ["v1", "v2"]
    assert post.revisions[1].author == "bob" and post.revisions[1].comment == "typo"
    assert json.loads(post.revisions[1].record)["current_revision"] == 2
    assert post.extra["reply_to"] == "1001" and post.extra["version"] == "2"


def test_upload_follows_its_post_with_sha1(run1):
    objects = run1["objects"]
    order = [o.native_id for o in objects]
    native = f"attachment:{UPLOAD_SHA1}"
    assert order.index("post:1001") < order.index(native) < order.index("post:1002")
    upload = items(objects)[native]
    assert upload.parent_id == "post:1001" and upload.title == "diagram.png"
    assert upload.revisions[0].content.source_digest == ("sha1", UPLOAD_SHA1)
    assert run1["upload_bytes"] == UPLOAD
    assert sha1_from_short_url(upload.extra["short_url"]) == UPLOAD_SHA1


def test_restricted_category_gives_group_readers_and_whisper_is_staff_only(run1):
    found = items(run1["objects"])
    thread = found["thread:200"]
    assert thread.space == "Private Team" and thread.tags == ("secret",)
    assert not thread.visibility.is_public
    assert thread.visibility.readers == ("group:auditors", "group:team")
    assert found["post:2000"].visibility == thread.visibility
    assert found["post:2001"].visibility.readers == ("group:staff",) and found["post:2001"].extra["whisper"] == "true"


def test_soft_deleted_post_is_filed_restricted_then_tombstoned(run1):
    objects = run1["objects"]
    post = items(objects)["post:1010"]
    assert not post.visibility.is_public and post.extra["deleted"] == "true"
    tombstones = [o for o in objects if isinstance(o, Tombstone)]
    assert [t.native_id for t in tombstones] == ["post:1010"]
    assert tombstones[0].deleted_at.isoformat() == "2026-06-15T08:00:00+00:00"
    order = [o for o in objects]
    assert order.index(post) < order.index(tombstones[0])


def test_headers_state_and_throttle(run1):
    for call in run1["calls"]:
        assert call.request.headers["Api-Key"] == KEY
        assert call.request.headers["Api-Username"] == "archivist"
        assert call.request.headers["Accept"] == "application/json"
        assert KEY not in call.request.url
    assert run1["state"] == {"checkpoint": "2026-07-01T11:50:00+00:00", "last_post_id": 2001}
    # 60 requests a minute: one second between requests, on the injected clock
    assert run1["fake"].sleeps and set(run1["fake"].sleeps) == {1.0}
    assert len(run1["fake"].sleeps) == run1["src"].request_count - 1


def test_incremental_run_yields_the_edit_and_the_new_post_only(run1):
    known = {(o.native_id, r.id) for o in run1["objects"] if isinstance(o, Item) for r in o.revisions}
    state = dict(run1["state"])
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        get(rsps, "/posts.json", "posts_latest_run2.json", date=RUN2_DATE)
        get(rsps, "/latest.json", "latest_run2.json", {"page": "0"}, date=RUN2_DATE)
        get(rsps, "/categories.json", "categories.json", {"include_subcategories": "true"}, date=RUN2_DATE)
        for cid in (1, 5, 6):
            get(rsps, f"/c/{cid}/show.json", f"category_{cid}_show.json", date=RUN2_DATE)
        get(rsps, "/t/200.json", "t_200_run2.json", date=RUN2_DATE)
        get(rsps, "/t/100.json", "t_100.json", date=RUN2_DATE)
        get(rsps, "/t/100/posts.json", "t_100_posts_run2.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]},
            date=RUN2_DATE)
        get(rsps, "/posts/1024.json", "post_1024_run2.json", date=RUN2_DATE)
        get(rsps, "/posts/1024/revisions/2.json", "post_1024_revision_2.json", date=RUN2_DATE)
        get(rsps, "/posts/1024.json", "post_1024.json", {"version": "1"}, date=RUN2_DATE)
        objects = run(source(fake), state)
    assert [o.native_id for o in objects] == ["thread:200", "post:2002", "thread:100", "post:1024"]
    edited = items(objects)["post:1024"]
    new = [r for r in edited.revisions if (edited.native_id, r.id) not in known]
    assert [text(r) for r in new] == ["Post number 25, edited later."]
    assert new[0].author == "alice" and len(edited.revisions) == 2
    reply = items(objects)["post:2002"]
    assert text(reply.revisions[0]) == "A new reply." and reply.extra["reply_to"] == "2001"
    assert not reply.visibility.is_public
    assert state == {"checkpoint": "2026-07-01T13:50:00+00:00", "last_post_id": 2002}


def test_429_retry_after_and_wait_seconds_are_waited_out():
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, BASE + "/categories.json", status=429, body="Slow down, too many requests",
                 headers={"Retry-After": "7", "Discourse-Rate-Limit-Error-Code": "admin_api_key_rate_limit"})
        rsps.add(responses.GET, BASE + "/t/200.json", status=429, json=load("rate_limited.json"))
        register_run1(rsps)
        state: dict = {}
        objects = run(source(fake), state)
    assert 7.0 in fake.sleeps and 3.0 in fake.sleeps
    assert len(items(objects)) == 32 and state["last_post_id"] == 2001


def test_deleted_topic_becomes_a_tombstone_on_reconcile(run1):
    known = set(items(run1["objects"]))
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        get(rsps, "/t/100.json", "t_100.json")
        get(rsps, "/t/101.json", "not_found.json", status=404)
        get(rsps, "/t/200.json", "t_200.json")
        get(rsps, "/posts/1100.json", "not_found.json", status=404)
        tombstones = list(source(fake).reconcile(known))
    assert {(t.kind, t.native_id) for t in tombstones} == {("thread", "thread:101"), ("post", "post:1100"),
                                                           ("post", "post:1010")}
    assert all(t.source == "talk" and t.system == "discourse" and t.reason for t in tombstones)


def test_no_api_key_in_errors_logs_or_repr(caplog):
    fake = FakeTime()
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, BASE + "/categories.json", status=403, json={"errors": ["not allowed"]})
        with pytest.raises(Fatal) as fatal:
            list(source(fake)._load_categories())
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, BASE + "/posts.json", status=502, body="bad gateway")
        with pytest.raises(Retriable) as retriable:
            run(source(fake, attempts=2), {})
    src = source(fake)
    for message in (str(fatal.value), str(retriable.value), repr(src), caplog.text):
        assert KEY not in message
    assert "403" in str(fatal.value)


def test_body_changed_reads_the_markdown_diff():
    assert body_changed(load("post_1003_revision_2.json"))
    assert not body_changed({"body_changes": {"side_by_side_markdown": "<table class=\"markdown\"><tr><td>same</td>"
                                                                       "<td>same</td></tr></table>"}})
    assert body_changed({})


def test_private_messages_only_when_configured_and_only_for_participants():
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_run1(rsps)
        objects = run(source(fake), {})
        assert "thread:300" not in items(objects)
        get(rsps, "/topics/private-messages/archivist.json", "pm_inbox_archivist.json", {"page": "0"})
        get(rsps, "/topics/private-messages/archivist.json", "topic_list_empty.json", {"page": "1"})
        get(rsps, "/topics/private-messages-sent/archivist.json", "topic_list_empty.json", {"page": "0"})
        get(rsps, "/t/300.json", "t_300.json")
        get(rsps, "/posts/3000.json", "post_3000.json")
        found = items(run(source(fake, include_private_messages=True), {}))
    pm = found["thread:300"]
    assert pm.space == "Private messages" and not pm.visibility.is_public
    assert pm.visibility.readers == ("user:bob", "user:carol", "group:auditors")
    assert found["post:3000"].visibility == pm.visibility


def test_backfill_yields_exactly_what_was_created_or_changed_in_the_range():
    from datetime import datetime, timezone
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_run1(rsps)
        objects = list(source(fake).backfill(datetime(2026, 6, 2, tzinfo=timezone.utc),
                                             datetime(2026, 6, 4, tzinfo=timezone.utc)))
    assert [o.native_id for o in objects] == ["thread:101", "post:1100", "thread:200", "post:2000", "post:2001"]
