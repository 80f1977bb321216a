"""DiscourseSource on `responses` fixtures written in the shape of Discourse's documented API
(spec/requests/api/schemas/json/* in discourse/discourse; revisions from PostRevisionSerializer).

Scenario: "General" (public) with a 25-post topic (20 in /t/{id}.json, 5 via posts.json, an upload,
an edited post, a soft-deleted post), a topic that is later deleted, and "Release chat" (102) with
a whisper, a soft-deleted and a hidden post, whose topic JSON suggests topic 200 with its excerpt;
"Private Team" (read-restricted: team full, auditors read-only) with a topic holding a whisper; its
subcategory "Team Archive" is empty. A second run sees one edit and one new post; in another, topic
102 has moved into "Private Team" with no post edited.
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
from connector.model import Access, HashingReader, Item, Tombstone, Visibility
from connector.sources.discourse import DiscourseSource
from connector.sources.discourse.shape import body_changed, sha1_from_short_url

BASE = "https://forum.example.org"
KEY = "d1sc0urse-KEY-7f3a9c0e5b2d4f6a8c1e3b5d7f9a0c2e"
FIX = Path(__file__).parent / "fixtures" / "discourse"
RUN1_DATE = "Wed, 01 Jul 2026 12:00:00 GMT"
RUN2_DATE = "Wed, 01 Jul 2026 14:00:00 GMT"
UPLOAD = (FIX / "upload_diagram.png").read_bytes()
UPLOAD_SHA1 = hashlib.sha1(UPLOAD).hexdigest()
TOPIC_IDS = (100, 101, 102, 200)
POST_IDS = (*range(1000, 1025), 1100, *range(1200, 1204), 2000, 2001)
WHISPER = "WHISPER-7Q"        # post 1201, a whisper in the public topic 102
DELETED = "DELETED-3K"        # post 1202, soft-deleted, in topic 102
HIDDEN = "HIDDEN-9Z"          # post 1203, hidden after flags, in topic 102


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
    for tid in TOPIC_IDS:
        get(rsps, f"/t/{tid}.json", f"t_{tid}.json", date=date)
    get(rsps, "/t/100/posts.json", "t_100_posts.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]}, date=date)
    for pid in POST_IDS:
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
    assert json.loads(post.revisions[1].record)["revision"]["current_revision"] == 2
    assert json.loads(post.revisions[1].record)["post"]["version"] == 2
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
    assert [t.native_id for t in tombstones] == ["post:1202", "post:1010"]
    assert tombstones[1].deleted_at.isoformat() == "2026-06-15T08:00:00+00:00"
    assert all(t.readers == ("group:staff",) for t in tombstones)
    assert objects.index(post) < objects.index(tombstones[1])


def test_headers_state_and_throttle(run1):
    for call in run1["calls"]:
        assert call.request.headers["Api-Key"] == KEY
        assert call.request.headers["Api-Username"] == "archivist"
        assert call.request.headers["Accept"] == "application/json"
        assert KEY not in call.request.url
    state = run1["state"]
    assert state["checkpoint"] == "2026-07-01T11:50:00Z" and state["last_post_id"] == 2001
    assert state["index"]["100"]["1001"] == [UPLOAD_SHA1] and state["index"]["100"]["1000"] == []
    assert set(state["index"]) == {str(t) for t in TOPIC_IDS} and set(state["index"]["102"]) == {
        "1200", "1201", "1202", "1203"}
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
        register_run2_topics(rsps)
        objects = run(source(fake), state)
    assert [o.native_id for o in objects] == ["thread:200", "post:2002", "thread:100", "post:1024"]
    edited = items(objects)["post:1024"]
    new = [r for r in edited.revisions if (edited.native_id, r.id) not in known]
    assert [text(r) for r in new] == ["Post number 25, edited later."]
    assert new[0].author == "alice" and len(edited.revisions) == 2
    reply = items(objects)["post:2002"]
    assert text(reply.revisions[0]) == "A new reply." and reply.extra["reply_to"] == "2001"
    assert not reply.visibility.is_public
    assert state["checkpoint"] == "2026-07-01T13:50:00Z" and state["last_post_id"] == 2002
    assert set(state["index"]["200"]) == {"2000", "2001", "2002"}


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
    assert len(items(objects)) == 37 and state["last_post_id"] == 2001


def test_deleted_topic_becomes_a_tombstone_on_reconcile(run1):
    known = set(items(run1["objects"]))
    fake = FakeTime()
    with responses.RequestsMock() as rsps:
        get(rsps, "/t/100.json", "t_100.json")
        get(rsps, "/t/101.json", "not_found.json", status=404)
        get(rsps, "/t/102.json", "t_102.json")
        get(rsps, "/t/200.json", "t_200.json")
        get(rsps, "/posts/1100.json", "not_found.json", status=404)
        tombstones = list(source(fake).reconcile(known))
    assert {(t.kind, t.native_id) for t in tombstones} == {("thread", "thread:101"), ("post", "post:1100"),
                                                           ("post", "post:1010"), ("post", "post:1202")}
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


# ----------------------------------------------------------------- records are allow-lists
STAFF_ONLY = (WHISPER, DELETED, HIDDEN, "Staff note.", "Post number 11 in the big topic.")


def test_thread_record_holds_its_own_public_facts_only(run1):
    from connector.sources.discourse.records import THREAD_FIELDS
    found = items(run1["objects"])
    for tid in (100, 102, 200):
        revision = found[f"thread:{tid}"].revisions[0]
        content = text(revision)
        assert revision.record == content.encode()
        for secret in (*STAFF_ONLY, "Team only.", "cooked", "suggested_topics"):
            assert secret not in content, (tid, secret)
        assert set(json.loads(content)) == {*THREAD_FIELDS, "category_name", "tags", "created_by", "post_ids",
                                            "posts_count", "last_posted_at"}
    thread = found["thread:102"]
    record = json.loads(text(thread.revisions[0]))
    assert record["post_ids"] == [1200] and record["posts_count"] == 1 and thread.extra["posts_count"] == "1"
    assert record["category_name"] == "General" and record["tags"] == ["release"] and record["created_by"] == "alice"
    assert record["last_posted_at"] == "2026-06-05T10:00:00.000Z"
    assert thread.revisions[0].author == "alice"                   # not the whisperer, the last visible poster
    assert json.loads(text(found["thread:200"].revisions[0]))["post_ids"] == [2000]


def test_post_records_are_allow_lists_and_own_restrictions_hold(run1):
    from connector.sources.discourse.records import POST_FIELDS, REVISION_FIELDS
    found = items(run1["objects"])
    for item in found.values():
        if item.kind != "post":
            continue
        for revision in item.revisions:
            if revision.record is None:
                continue
            record = json.loads(revision.record)
            assert set(record) <= {"post", "revision"}
            assert set(record.get("post", {})) <= set(POST_FIELDS)
            assert set(record.get("revision", {})) <= set(REVISION_FIELDS)
    assert json.loads(found["post:1201"].revisions[0].record)["post"]["post_type"] == 4
    assert found["post:1201"].visibility.readers == ("group:staff",)
    assert found["post:1202"].visibility.readers == ("group:staff",)
    assert found["post:1203"].visibility.readers == ("group:staff", "user:carol")
    assert found["post:1200"].visibility.is_public
    upload = found[f"attachment:{UPLOAD_SHA1}"]
    assert set(json.loads(upload.revisions[0].record)) == {"short_url", "short_path", "url"}


def test_the_key_never_follows_a_redirect_to_another_host():
    """A secure upload on the forum's origin redirects to object storage: only the first hop has the key."""
    fake = FakeTime()
    src = source(fake)
    storage = "https://bucket.s3.example.net/original/1X/diagram.png"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/secure-uploads/original/1X/{UPLOAD_SHA1}.png", status=302,
                 headers={"Location": storage + "?X-Amz-Signature=abc"})
        rsps.add(responses.GET, storage, body=UPLOAD)
        rsps.add(responses.GET, "http://forum.example.org/uploads/x.png", body=b"")
        assert b"".join(src._stream(f"{BASE}/secure-uploads/original/1X/{UPLOAD_SHA1}.png")) == UPLOAD
        b"".join(src._stream("http://forum.example.org/uploads/x.png"))      # another scheme: another origin
        forum, bucket, plain_http = rsps.calls
    assert forum.request.headers["Api-Key"] == KEY and forum.request.headers["Api-Username"] == "archivist"
    for call in (bucket, plain_http):
        assert "Api-Key" not in call.request.headers and "Api-Username" not in call.request.headers
    assert "Api-Key" not in src.session.headers


# ------------------------------------------------------------------------ the visibility sweep
RUN3_DATE = "Wed, 15 Jul 2026 12:00:00 GMT"


def register_quiet_run(rsps, date: str = RUN3_DATE, **listing) -> None:
    """An incremental run with nothing new (no post, no bump since the first run), then the sweep's listing."""
    get(rsps, "/posts.json", "posts_latest.json", date=date)
    get(rsps, "/latest.json", "c_general_1_page0_moved.json", {"page": "0"}, date=date)   # bumped long ago
    register_listing(rsps, date=date, **listing)


def register_run2_topics(rsps) -> None:
    """The topics the second run reads: 200 (new posts), 100 and its edited post 1024."""
    get(rsps, "/t/200.json", "t_200_run2.json", date=RUN2_DATE)
    get(rsps, "/t/100.json", "t_100.json", date=RUN2_DATE)
    get(rsps, "/t/100/posts.json", "t_100_posts_run2.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]},
        date=RUN2_DATE)
    get(rsps, "/posts/1024.json", "post_1024_run2.json", date=RUN2_DATE)
    get(rsps, "/posts/1024/revisions/2.json", "post_1024_revision_2.json", date=RUN2_DATE)
    get(rsps, "/posts/1024.json", "post_1024.json", {"version": "1"}, date=RUN2_DATE)


def register_listing(rsps, *, general: str = "c_general_1_page0.json", team: str = "c_private-team_5_page0.json",
                     general_show: str = "category_1_show.json", date: str = RUN3_DATE) -> None:
    """What the sweep lists: the categories, each one's permissions, each one's topics."""
    get(rsps, "/categories.json", "categories.json", {"include_subcategories": "true"}, date=date)
    get(rsps, "/c/1/show.json", general_show, date=date)
    for cid in (5, 6):
        get(rsps, f"/c/{cid}/show.json", f"category_{cid}_show.json", date=date)
    get(rsps, "/c/general/1.json", general, {"page": "0"}, date=date)
    get(rsps, "/c/general/1.json", "topic_list_empty.json", {"page": "1"}, date=date)
    get(rsps, "/c/private-team/5.json", team, {"page": "0"}, date=date)
    get(rsps, "/c/private-team/5.json", "topic_list_empty.json", {"page": "1"}, date=date)
    get(rsps, "/c/team-archive/6.json", "topic_list_empty.json", {"page": "0"}, date=date)


def archived_after(run1) -> dict[str, Visibility]:
    deleted = {o.key for o in run1["objects"] if isinstance(o, Tombstone)}
    return {o.key: o.visibility for o in run1["objects"] if isinstance(o, Item) and o.key not in deleted}


def quiet_sweep(run1, **listing) -> tuple[list, dict[str, Visibility], int]:
    state = json.loads(json.dumps(run1["state"]))           # as the ledger gives it back
    with responses.RequestsMock() as rsps:
        register_quiet_run(rsps, **listing)
        src = source(FakeTime())
        assert run(src, state) == []
        before = src.request_count
        access = list(src.sweep(archived_after(run1)))
    return access, {a.key: a.visibility for a in access}, src.request_count - before


def test_a_topic_moved_into_a_restricted_category_is_restricted_with_its_posts(run1):
    access, found, cost = quiet_sweep(run1, general="c_general_1_page0_moved.json",
                                      team="c_private-team_5_page0_moved.json")
    team = ("group:auditors", "group:team")
    assert found["talk/thread/thread:102"].readers == team and not found["talk/thread/thread:102"].is_public
    assert found["talk/post/post:1200"].readers == team and not found["talk/post/post:1200"].is_public
    # own restrictions only narrow, to the readers the topic still admits (staff see every category)
    assert "talk/post/post:1201" not in found and found["talk/post/post:1203"].readers == ("group:staff",)
    assert found["talk/thread/thread:100"].is_public and "talk/post/post:1000" not in found
    assert "talk/post/post:2001" not in found                       # a whisper in its unchanged topic
    assert all(isinstance(a, Access) for a in access)
    assert cost == 9      # /categories.json, 3 x /c/{id}/show.json, 5 listing pages (2 + 2 + 1)


def test_a_category_whose_groups_narrowed_restricts_its_topics_posts_and_uploads(run1):
    _, found, _ = quiet_sweep(run1, general_show="category_1_show_narrowed.json")
    for key in ("talk/thread/thread:100", "talk/post/post:1000", f"talk/attachment/attachment:{UPLOAD_SHA1}",
                "talk/thread/thread:101", "talk/post/post:1100", "talk/thread/thread:102"):
        assert found[key].readers == ("group:team",) and not found[key].is_public, key
    assert "talk/post/post:1201" not in found               # staff only already; team does not admit more


def test_a_post_only_widens_when_its_topic_was_read_this_run(run1):
    archived = archived_after(run1)
    archived["talk/thread/thread:102"] = archived["talk/post/post:1200"] = Visibility.restricted("x", ["group:team"])
    state = json.loads(json.dumps(run1["state"]))
    with responses.RequestsMock() as rsps:
        register_quiet_run(rsps)
        src = source(FakeTime())
        run(src, state)
        found = {a.key: a.visibility for a in src.sweep(archived)}
    assert found["talk/thread/thread:102"].is_public                # every fact of a thread is in the listing
    assert "talk/post/post:1200" not in found                       # a post's own flags are not: it stays
    # the incremental run of the other test read topic 200: its posts are exact, both ways
    state = json.loads(json.dumps(run1["state"]))
    with responses.RequestsMock() as rsps:
        get(rsps, "/posts.json", "posts_latest_run2.json", date=RUN2_DATE)
        get(rsps, "/latest.json", "latest_run2.json", {"page": "0"}, date=RUN2_DATE)
        register_listing(rsps, date=RUN2_DATE)
        register_run2_topics(rsps)
        src = source(FakeTime())
        run(src, state)
        archived["talk/post/post:2000"] = Visibility.restricted("x", [])
        found = {a.key: a.visibility for a in src.sweep(archived)}
    assert found["talk/post/post:2000"].readers == ("group:auditors", "group:team")
    assert found["talk/post/post:2001"].readers == ("group:staff",)


def test_a_state_from_before_the_index_makes_one_full_run():
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_run1(rsps)
        state = {"checkpoint": "2026-06-30T11:50:00+00:00", "last_post_id": 2001}
        objects = run(source(fake), state)
        fired = {call.request.url.split("?")[0] for call in rsps.calls}
    assert {f"{BASE}/t/{tid}.json" for tid in TOPIC_IDS} <= fired
    assert len(items(objects)) == 37 and set(state["index"]) == {str(t) for t in TOPIC_IDS}
