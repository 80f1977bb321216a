"""WordPressSource: integration tests against a REAL WordPress 6.1, error paths with ``responses``.

Env for the integration tests: ``SA_TEST_WP_URL`` (e.g. http://127.0.0.1:18082) and
``SA_TEST_WP_STATE`` (the server's state dir, with ``app_password``). Without the URL they are
skipped; with a URL that does not answer they FAIL. Each test writes its own posts, comments and
uploads through the REST API (unique titles) and looks only at what it wrote, so the tests do not
depend on the seed or on each other. The site timezone is Europe/Berlin on purpose.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from connector.errors import Fatal, Retriable
from connector.model import CHUNK_SIZE, HashingReader, Item, Tombstone, Visibility
from connector.sources.wordpress import api as wordpress_api
from connector.sources.wordpress import shape as wp_module
from connector.sources.wordpress import WordPressSource

UTC = timezone.utc
URL = os.environ.get("SA_TEST_WP_URL", "").rstrip("/")
STATE = os.environ.get("SA_TEST_WP_STATE", "")
SKIP_REASON = "set SA_TEST_WP_URL to run against a real WordPress (make test does)"
EDITORS = ("role:editor", "role:administrator")


# --------------------------------------------------------------------------- integration helpers
@pytest.fixture(scope="module")
def wp():
    if not URL:
        pytest.skip(SKIP_REASON)
    try:
        requests.get(URL + "/wp-json/", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"SA_TEST_WP_URL={URL} is set but WordPress does not answer: {exc}")
    if not STATE or not os.path.exists(os.path.join(STATE, "app_password")):
        pytest.fail(f"SA_TEST_WP_STATE={STATE!r} has no app_password file")
    with open(os.path.join(STATE, "app_password"), encoding="utf-8") as fh:
        return Admin(fh.read().strip())


class Admin:
    """The test's own writes through the REST API, as admin with the application password."""

    def __init__(self, app_password: str):
        self.app_password = app_password
        self.s = requests.Session()
        self.s.auth = ("admin", app_password)

    def call(self, method: str, path: str, **kw):
        r = self.s.request(method, URL + "/wp-json/wp/v2" + path, timeout=30, **kw)
        assert r.ok, f"{method} {path}: {r.status_code} {r.text[:300]}"
        return r.json()

    def post(self, **fields) -> dict:
        fields.setdefault("title", f"sa-test {uuid.uuid4().hex[:10]}")
        fields.setdefault("content", f"<p>{uuid.uuid4().hex}</p>")
        fields.setdefault("status", "publish")
        return self.call("POST", "/posts", json=fields)

    def comment(self, post_id: int, **fields) -> dict:
        fields.setdefault("content", f"comment {uuid.uuid4().hex}")
        return self.call("POST", "/comments", json={"post": post_id, **fields})

    def upload(self, data: bytes, name: str, mime: str, post_id: int | None = None) -> dict:
        return self.call("POST", "/media", data=data, params={"post": post_id} if post_id else None,
                         headers={"Content-Disposition": f'attachment; filename="{name}"',
                                  "Content-Type": mime})

    def source(self, **kw) -> WordPressSource:
        return WordPressSource("blog", URL, "admin", self.app_password, **kw)


def recent_state(seconds: int = 120) -> dict:
    """A state whose checkpoint is a moment ago: an incremental run that sees only new content."""
    now = datetime.now(UTC)
    return {"checkpoint": (now - timedelta(seconds=seconds)).isoformat(), "swept_at": now.isoformat()}


def run(source: WordPressSource, state: dict) -> dict[str, Item | Tombstone]:
    out: dict[str, Item | Tombstone] = {}
    for obj in source.changes(state):
        out[obj.native_id] = obj          # a later object for the same id replaces the earlier one
    return out


def body(revision) -> bytes:
    return b"".join(revision.content.chunks())


def restricted(item: Item, reason: str, author: str = "admin") -> None:
    narrowed(item.visibility, reason, author)


def narrowed(visibility: Visibility, reason: str, author: str = "admin") -> None:
    assert not visibility.is_public, visibility
    assert visibility.reason == reason
    assert visibility.readers == (f"user:{author}", *EDITORS)


# --------------------------------------------------------------------------------- integration
@pytest.mark.integration
def test_every_status_has_the_right_visibility_and_no_password_leaks(wp):
    secret = f"pw-{uuid.uuid4().hex}"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    made = {
        "publish": wp.post(),
        "future": wp.post(status="future", date_gmt=tomorrow),
        "draft": wp.post(status="draft"),
        "pending": wp.post(status="pending"),
        "private": wp.post(status="private"),
        "password-protected": wp.post(password=secret),
        "trash": wp.post(),
    }
    wp.call("DELETE", f"/posts/{made['trash']['id']}")      # no force: moves to the trash
    page = wp.call("POST", "/pages", json={"title": f"sa-page {uuid.uuid4().hex[:8]}", "content": "p",
                                           "status": "publish"})
    private_page = wp.call("POST", "/pages", json={"title": f"sa-page {uuid.uuid4().hex[:8]}",
                                                   "content": "pp", "status": "private"})
    source = wp.source()
    state = recent_state()
    items = run(source, state)

    for label, raw in made.items():
        item = items[f"post:{raw['id']}"]
        assert item.kind == "post" and item.title == raw["title"]["raw"]
        assert item.extra["status"] == ("publish" if label == "password-protected" else label)
        assert item.extra["password_protected"] == ("true" if label == "password-protected" else "false")
        assert item.created.tzinfo is not None and item.modified.tzinfo is not None
        if label == "publish":
            assert item.visibility.is_public
        else:
            restricted(item, label)
        assert item.revisions[-1].content.media_type == "text/html"
        assert body(item.revisions[-1]) == raw["content"]["raw"].encode()
    assert items[f"page:{page['id']}"].visibility.is_public
    assert items[f"page:{page['id']}"].space == "pages"
    restricted(items[f"page:{private_page['id']}"], "private")
    # the scheduled post is re-read by id next run (cron publishes it without touching modified)
    assert made["future"]["id"] in state["recheck"]["posts"]

    leaked = []
    for item in items.values():
        texts = [item.title, item.url, json.dumps(item.extra)]
        for revision in item.revisions:
            texts.append((revision.record or b"").decode())
            if item.kind != "media":
                texts.append(body(revision).decode())
        if any(secret in t for t in texts):
            leaked.append(item.native_id)
        for revision in item.revisions:
            assert b'"password"' not in (revision.record or b""), item.native_id
    assert not leaked


@pytest.mark.integration
def test_revisions_oldest_first_including_the_unkept_first_version(wp):
    source = wp.source(overlap=timedelta(0))
    state = recent_state()
    raw = wp.post(content="<p>v1</p>")
    first = run(source, state)[f"post:{raw['id']}"]
    # WordPress keeps no revision of the REST-created version: the current state stands for it
    assert [r.id[:4] for r in first.revisions] == ["cur-"]
    assert body(first.revisions[0]) == b"<p>v1</p>"
    wp.call("POST", f"/posts/{raw['id']}", json={"content": "<p>v2</p>"})
    wp.call("POST", f"/posts/{raw['id']}", json={"content": "<p>v3</p>", "title": "retitled " + raw["title"]["raw"]})
    second = run(source, state)[f"post:{raw['id']}"]
    assert [r.id[:4] for r in second.revisions] == ["rev-", "rev-"]
    assert [body(r) for r in second.revisions] == [b"<p>v2</p>", b"<p>v3</p>"]
    assert second.revisions[-1].title == "retitled " + raw["title"]["raw"]
    assert second.revisions[0].created <= second.revisions[1].created
    assert second.revisions[0].author == "admin"
    archive = [r.id for r in first.revisions] + [r.id for r in second.revisions]
    assert len(set(archive)) == 3        # v1, v2, v3: three distinct versions in order


@pytest.mark.integration
def test_comments_threaded_pending_spam_and_on_private_posts(wp):
    public, private = wp.post(), wp.post(status="private")
    top = wp.comment(public["id"])
    reply = wp.comment(public["id"], parent=top["id"])
    held = wp.comment(public["id"], status="hold")
    spam = wp.comment(public["id"], status="spam")
    on_private = wp.comment(private["id"])
    items = run(wp.source(), recent_state())

    top_item = items[f"comment:{top['id']}"]
    assert top_item.kind == "comment" and top_item.visibility.is_public
    assert top_item.parent_id == f"post:{public['id']}"
    assert body(top_item.revisions[0]) == top["content"]["raw"].encode()
    assert top_item.author == "admin" and top_item.revisions[0].author == "admin"
    reply_item = items[f"comment:{reply['id']}"]
    assert reply_item.extra["reply_to"] == f"comment:{top['id']}" and reply_item.visibility.is_public
    restricted(items[f"comment:{held['id']}"], "comment hold")
    restricted(items[f"comment:{spam['id']}"], "comment spam")
    private_item = items[f"comment:{on_private['id']}"]
    assert not private_item.visibility.is_public
    assert private_item.visibility.reason == "post private"
    for item in (top_item, reply_item, private_item):
        record = json.loads(item.revisions[0].record)
        assert set(record) <= set(wp_module.COMMENT_RECORD) and record["content"]
        assert record["id"] == int(item.native_id.split(":")[1])
        assert not {"author_email", "author_ip", "author_user_agent", "author_avatar_urls", "meta"} & set(record)


@pytest.mark.integration
def test_post_and_media_records_hold_only_allowed_fields_of_their_own_item(wp):
    """In edit context WordPress adds the account's own rights (``_links`` wp:action-*), editing aids
    and plugins' ``meta``: none of it is about the item or for every reader."""
    post = wp.post()
    wp.call("POST", f"/posts/{post['id']}", json={"content": "<p>second</p>"})
    media = wp.upload(b"record test\n", f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain", post["id"])
    items = run(wp.source(), recent_state())
    post_item, media_item = items[f"post:{post['id']}"], items[f"media:{media['id']}"]
    allowed = {"post": set(wp_module.POST_RECORD) | set(wp_module.REVISION_RECORD),
               "media": set(wp_module.MEDIA_RECORD)}
    for item in (post_item, media_item):
        for revision in item.revisions:
            record = json.loads(revision.record)
            assert set(record) <= allowed[item.kind] and record["id"]
            assert not {"_links", "meta", "password", "permalink_template", "generated_slug"} & set(record)


@pytest.mark.integration
def test_media_streamed_with_the_parent_visibility(wp):
    private = wp.post(status="private")
    data = ("".join(f"line {i} {uuid.uuid4().hex}\n" for i in range(4000))).encode()   # ~180 KB
    assert len(data) > 2 * CHUNK_SIZE
    attached = wp.upload(data, f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain", private["id"])
    loose = wp.upload(b"hello public\n", f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain")
    items = run(wp.source(), recent_state())

    item = items[f"media:{attached['id']}"]
    assert item.kind == "media" and item.parent_id == f"post:{private['id']}"
    assert not item.visibility.is_public and item.visibility.reason == "attached to a private post"
    assert "served publicly" in item.extra["exposure"]
    content = item.revisions[0].content
    assert content.media_type == "text/plain" and content.filename.endswith(".txt")
    assert content.size in (None, len(data))
    chunks = list(content.chunks())
    assert len(chunks) >= 3 and b"".join(chunks) == data
    reader = HashingReader(content)
    assert b"".join(reader) == data and reader.length == len(data)
    assert items[f"media:{loose['id']}"].visibility.is_public
    assert items[f"media:{loose['id']}"].parent_id is None


@pytest.mark.integration
def test_a_big_image_is_archived_as_the_original_not_the_scaled_copy(wp, tmp_path):
    php = shutil.which("php")
    if not php:
        pytest.skip("needs php with GD to make a JPEG wider than 2560 px")
    jpeg = tmp_path / "big.jpg"
    subprocess.run([php, "-r", f'$i=imagecreatetruecolor(2700,90); imagefilledrectangle($i,0,0,900,40,0x3366ff);'
                               f' imagejpeg($i, "{jpeg}", 92);'], check=True)
    data = jpeg.read_bytes()
    raw = wp.upload(data, f"sa-big-{uuid.uuid4().hex[:8]}.jpg", "image/jpeg")
    assert raw["source_url"].endswith("-scaled.jpg")           # WordPress serves a scaled copy
    item = run(wp.source(), recent_state())[f"media:{raw['id']}"]
    assert item.extra["scaled_url"] == raw["source_url"]
    content = item.revisions[0].content
    assert content.filename == raw["media_details"]["original_image"] and content.size is None
    assert b"".join(content.chunks()) == data


@pytest.mark.integration
def test_incremental_edit_and_new_comment_are_yielded_and_nothing_else(wp):
    source = wp.source(overlap=timedelta(0), sweep_every=None)
    edited, quiet = wp.post(), wp.post()
    time.sleep(2.2)
    state = recent_state()
    assert f"post:{edited['id']}" in run(source, state)
    time.sleep(1.1)
    wp.call("POST", f"/posts/{edited['id']}", json={"content": "<p>edited</p>"})
    new_comment = wp.comment(quiet["id"])
    items = run(source, state)
    assert body(items[f"post:{edited['id']}"].revisions[-1]) == b"<p>edited</p>"
    assert f"comment:{new_comment['id']}" in items
    assert items[f"comment:{new_comment['id']}"].parent_id == f"post:{quiet['id']}"
    assert f"post:{quiet['id']}" not in items          # a new comment does not touch its post
    assert set(state) >= {"checkpoint", "recheck", "version"}


@pytest.mark.integration
def test_force_delete_is_found_by_reconcile(wp):
    doomed, kept = wp.post(), wp.post()
    comment = wp.comment(doomed["id"])
    source = wp.source()
    items = run(source, recent_state())
    known = {f"post:{doomed['id']}", f"post:{kept['id']}", f"comment:{comment['id']}"}
    assert known <= set(items)
    assert list(source.reconcile(known)) == []
    wp.call("DELETE", f"/posts/{doomed['id']}", params={"force": "true"})
    # record keys are accepted too
    tombs = list(source.reconcile({f"blog/post/post:{doomed['id']}", f"post:{kept['id']}",
                                   f"comment:{comment['id']}"}))
    assert {(t.kind, t.native_id) for t in tombs} == {("post", f"post:{doomed['id']}"),
                                                      ("comment", f"comment:{comment['id']}")}
    assert all(isinstance(t, Tombstone) and t.detected_by == "reconcile" for t in tombs)
    assert all(t.readers == EDITORS for t in tombs)          # editors see trashed content in WordPress
    assert tombs[0].key.startswith("blog/")


@pytest.mark.integration
def test_public_to_private_yields_a_restricted_version_and_restricts_its_comments(wp):
    source = wp.source(overlap=timedelta(0), sweep_every=None)
    raw = wp.post()
    comment = wp.comment(raw["id"])
    time.sleep(2.2)
    state = recent_state()
    before = run(source, state)
    assert before[f"post:{raw['id']}"].visibility.is_public
    assert before[f"comment:{comment['id']}"].visibility.is_public
    time.sleep(1.1)
    wp.call("POST", f"/posts/{raw['id']}", json={"status": "private"})
    after = run(source, state)
    item = after[f"post:{raw['id']}"]
    restricted(item, "private")
    old_ids = {r.id for r in before[f"post:{raw['id']}"].revisions}
    assert item.revisions[-1].id not in old_ids            # a new version carries the new ACL
    comment_item = after[f"comment:{comment['id']}"]   # re-read through its post, not by date
    assert not comment_item.visibility.is_public
    assert comment_item.revisions[0].id not in {r.id for r in before[f"comment:{comment['id']}"].revisions}


PUBLIC = Visibility.public()


def swept(source: WordPressSource, archived: dict) -> dict[str, Visibility]:
    return {access.key: access.visibility for access in source.sweep(archived)}


def total(wp, path: str, **params) -> int:
    response = wp.s.get(URL + "/wp-json/wp/v2" + path, timeout=30,
                        params={"context": "edit", "per_page": 1, "_fields": "id", **params})
    return int(response.headers["X-WP-Total"])


@pytest.mark.integration
def test_sweep_narrows_moderated_comments_and_those_of_a_trashed_post(wp):
    """Moderation and trashing a post change no comment date: the sweep finds them by status."""
    post, doomed = wp.post(), wp.post()
    moderated = {status: wp.comment(post["id"]) for status in ("hold", "spam", "trash")}
    approved = wp.comment(post["id"])
    orphaned = wp.comment(doomed["id"])
    for status, comment in moderated.items():
        wp.call("POST", f"/comments/{comment['id']}", json={"status": status})
    wp.call("DELETE", f"/posts/{doomed['id']}")                       # to the trash
    keys = {name: f"blog/comment/comment:{c['id']}" for name, c in
            {**moderated, "approved": approved, "orphaned": orphaned}.items()}
    archived = {key: PUBLIC for key in keys.values()} | {f"blog/post/post:{p['id']}": PUBLIC for p in (post, doomed)}

    got = swept(wp.source(), archived)
    assert set(got) == set(archived) - {keys["approved"], f"blog/post/post:{post['id']}"}
    for status in ("hold", "spam", "trash"):
        narrowed(got[keys[status]], f"comment {status}")
    narrowed(got[keys["orphaned"]], "comment post-trashed; post trash")
    narrowed(got[f"blog/post/post:{doomed['id']}"], "trash")


@pytest.mark.integration
def test_sweep_narrows_media_attached_to_a_restricted_post(wp):
    draft = wp.post(status="draft")
    loose = wp.upload(b"attached later\n", f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain")
    public_post = wp.post()
    on_public = wp.upload(b"stays public\n", f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain", public_post["id"])
    wp.call("POST", f"/media/{loose['id']}", json={"post": draft["id"]})
    archived = {f"blog/media/media:{loose['id']}": PUBLIC, f"blog/media/media:{on_public['id']}": PUBLIC}
    got = swept(wp.source(), archived)
    assert list(got) == [f"blog/media/media:{loose['id']}"]
    narrowed(got[f"blog/media/media:{loose['id']}"], "attached to a draft post")


@pytest.mark.integration
def test_sweep_costs_its_listings_and_nothing_when_nothing_public_is_archived(wp, record_property):
    post = wp.post()
    comment = wp.comment(post["id"])
    media = wp.upload(b"cost\n", f"sa-{uuid.uuid4().hex[:8]}.txt", "text/plain", post["id"])
    archived = {f"blog/post/post:{post['id']}": PUBLIC, f"blog/comment/comment:{comment['id']}": PUBLIC,
                f"blog/media/media:{media['id']}": PUBLIC}
    source = wp.source()
    assert swept(source, archived) == {}
    # a listing costs one request per 100 rows and one more for the last, short page; the post=
    # and parent= listings one per 100 restricted posts (each with fewer than 100 rows here)
    restricted_posts = {base: total(wp, f"/{base}", status="future,draft,pending,private,trash")
                        for base in ("posts", "pages")}
    held = [total(wp, "/comments", status=status, type="") for status in ("hold", "spam", "trash")]
    trashed = total(wp, "/posts", status="trash") + total(wp, "/pages", status="trash")
    by_post = -(-sum(restricted_posts.values()) // 100)
    expected = (sum(n // 100 + 1 for n in restricted_posts.values()) + sum(n // 100 + 1 for n in held)
                + 2 * by_post + -(-trashed // 100))
    record_property("wp_sweep_requests", {"requests": source.request_count, "expected": expected,
                                          "restricted_posts": restricted_posts, "held": held})
    assert abs(source.request_count - expected) <= 1     # other tests may add posts meanwhile
    idle = wp.source()
    assert swept(idle, {key: Visibility.restricted("x", EDITORS) for key in archived}) == {}
    assert idle.request_count == 0


@pytest.mark.integration
def test_europe_berlin_site_a_post_modified_just_now_is_in_the_next_run(wp):
    source = wp.source(overlap=timedelta(0), sweep_every=None)
    old = wp.post()
    time.sleep(2.2)
    state = recent_state()
    run(source, state)
    checkpoint = datetime.fromisoformat(state["checkpoint"])
    assert abs((checkpoint - datetime.now(UTC)).total_seconds()) < 30     # server clock, UTC
    new = wp.post()
    items = run(source, state)
    # a naive UTC cursor would be read as Berlin time (an hour early) and return `old` too;
    # a cursor an hour late would miss `new`
    assert f"post:{new['id']}" in items
    assert f"post:{old['id']}" not in items


@pytest.mark.integration
def test_backfill_yields_exactly_the_range(wp):
    source = wp.source()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    raw = wp.post()
    comment = wp.comment(raw["id"])
    time.sleep(1.1)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    inside = {o.native_id for o in source.backfill(start, end)}
    assert {f"post:{raw['id']}", f"comment:{comment['id']}"} <= inside
    earlier = {o.native_id for o in source.backfill(start - timedelta(hours=2), start - timedelta(hours=1))}
    assert f"post:{raw['id']}" not in earlier and f"comment:{comment['id']}" not in earlier


@pytest.mark.integration
def test_backfill_without_an_end_yields_a_scheduled_post(wp):
    """A backfill with no ``until`` has no end: a post scheduled for next week is in it. WordPress
    gives a post created with a date that date as its ``modified`` too, so both lie in the future
    and a range ending now (as it did without ``until``) misses it."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    future = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S")
    scheduled = wp.post(status="future", date_gmt=future)
    assert scheduled["status"] == "future" and scheduled["modified_gmt"] == future
    source = wp.source()
    assert f"post:{scheduled['id']}" in {o.native_id for o in source.backfill(start, None)}
    assert f"post:{scheduled['id']}" not in {o.native_id for o in source.backfill(start - timedelta(days=1), start)}


@pytest.mark.integration
def test_check_reports_site_facts(wp):
    facts = wp.source().check()
    assert facts["timezone"] == "Europe/Berlin" and facts["user"] == "admin"
    assert "administrator" in facts["roles"]
    assert wp.app_password not in json.dumps(facts)


@pytest.mark.integration
def test_wrong_application_password_is_fatal_without_the_password(wp):
    bad = "xxxx yyyy zzzz " + uuid.uuid4().hex[:8]
    with pytest.raises(Fatal) as err:
        WordPressSource("blog", URL, "admin", bad).check()
    assert "401" in str(err.value) and "admin" in str(err.value) and bad not in str(err.value)


# ------------------------------------------------------------------- error paths (responses)
BASE = "http://wp.test"
INDEX = {"name": "Mock", "url": BASE, "home": BASE, "gmt_offset": 1, "timezone_string": "Europe/Berlin"}
DATE = "Sun, 29 Nov 2026 10:00:00 GMT"
LISTS = re.compile(r"http://wp\.test/wp-json/wp/v2/(posts|pages|media|comments|users|categories|tags)(\?.*)?$")


def mock_source(**kw) -> tuple[WordPressSource, list[float]]:
    sleeps: list[float] = []
    kw.setdefault("sleep", sleeps.append)
    return WordPressSource("blog", BASE, "admin", "secret app pass", **kw), sleeps


ME = {"id": 1, "username": "admin", "roles": ["administrator"],
      "capabilities": {c: True for c in wp_module.NEEDED_CAPS}}


def empty_site(rsps) -> None:
    rsps.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    rsps.add(responses.GET, BASE + "/wp-json/wp/v2/users/me", json=ME)
    rsps.add(responses.GET, LISTS, json=[])


@responses.activate
def test_401_is_fatal_with_a_clear_message_and_no_password():
    responses.add(responses.GET, BASE + "/wp-json/", status=401,
                  json={"code": "incorrect_password", "message": "The provided password is an invalid application password."})
    source, sleeps = mock_source()
    with pytest.raises(Fatal) as err:
        list(source.changes({}))
    text = str(err.value)
    assert "401" in text and "incorrect_password" in text and "'admin'" in text
    assert "secret app pass" not in text and "application password" in text
    assert sleeps == [] and source.request_count == 1


@responses.activate
def test_403_on_context_edit_is_fatal():
    responses.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/me", json=ME)
    responses.add(responses.GET, LISTS, status=403, json={"code": "rest_forbidden_context"})
    state: dict = {}
    with pytest.raises(Fatal, match="editor or administrator"):
        list(mock_source()[0].changes(state))
    assert state == {}


@responses.activate
def test_an_account_that_cannot_read_everything_is_fatal():
    responses.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/me",
                  json={"id": 3, "username": "author1", "roles": ["author"], "capabilities": {"edit_posts": True}})
    state: dict = {}
    with pytest.raises(Fatal, match="read_private_posts"):
        list(mock_source()[0].changes(state))
    assert state == {}


@responses.activate
def test_a_refused_query_is_fatal_not_a_silent_skip():
    empty_site(responses)
    responses.replace(responses.GET, LISTS, status=400, json={
        "code": "rest_invalid_param", "message": "Invalid parameter(s): status",
        "data": {"status": 400, "params": {"status": "Status is forbidden."}}})
    with pytest.raises(Fatal, match="Status is forbidden"):
        list(mock_source()[0].changes({}))


@responses.activate
def test_429_retry_after_is_honoured():
    responses.add(responses.GET, BASE + "/wp-json/", status=429, headers={"Retry-After": "7"})
    empty_site(responses)
    source, sleeps = mock_source()
    state: dict = {}
    assert list(source.changes(state)) == []
    assert sleeps == [7.0]
    # checkpoint = the server's Date (not the local clock) minus the overlap
    assert state["checkpoint"] == "2026-11-29T09:50:00Z"


@responses.activate
def test_500_is_retried_then_succeeds():
    responses.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/me", json=ME)
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/posts", status=500)
    responses.add(responses.GET, LISTS, json=[])
    source, sleeps = mock_source()
    assert list(source.changes({})) == []
    assert len(sleeps) == 1
    assert [c.response.status_code for c in responses.calls[:4]] == [200, 200, 500, 200]


@responses.activate
def test_5xx_that_persists_is_retriable_and_leaves_the_state_alone():
    responses.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/me", json=ME)
    responses.add(responses.GET, LISTS, status=503)
    state = {"checkpoint": "2026-11-28T00:00:00+00:00"}
    source, sleeps = mock_source(attempts=3)
    with pytest.raises(Retriable):
        list(source.changes(state))
    assert len(sleeps) == 2 and state == {"checkpoint": "2026-11-28T00:00:00+00:00"}


def _post(i: int, modified: str, **kw) -> dict:
    raw = {"id": i, "date_gmt": "2026-11-29T08:00:00", "modified": modified,
           "modified_gmt": (datetime.fromisoformat(modified) - timedelta(hours=1)).isoformat(),
           "status": "publish", "password": "", "title": {"raw": f"t{i}"}, "content": {"raw": f"c{i}"},
           "excerpt": {"raw": ""}, "author": 1, "categories": [], "tags": [], "link": f"{BASE}/?p={i}",
           "_links": {"version-history": [{"count": 0}]}}
    raw.update(kw)
    return raw


@responses.activate
def test_keyset_walks_a_page_that_shares_one_second_and_sends_local_cursors(monkeypatch):
    monkeypatch.setattr(wordpress_api, "PER_PAGE", 2)
    same = "2026-11-29T10:00:05"
    pages = {None: [_post(1, same), _post(2, same)],
             "2026-11-29T10:00:04": [_post(1, same), _post(2, same)]}
    second = {1: [_post(1, same), _post(2, same)], 2: [_post(3, same)]}
    after_second = [_post(4, "2026-11-29T10:00:09", status="private", password="hunter2")]

    def posts(request):
        q = request.params
        if q.get("status") == "future":
            return 200, {}, "[]"
        if q.get("orderby") == "id":
            assert (q["modified_after"], q["modified_before"]) == ("2026-11-29T10:00:04", "2026-11-29T10:00:06")
            return 200, {}, json.dumps(second.get(int(q["page"]), []))
        after = q.get("modified_after")
        if after == same:
            return 200, {}, json.dumps(after_second)
        if after == "2026-11-29T10:00:08":
            return 200, {}, json.dumps(after_second)
        return 200, {}, json.dumps(pages[after])

    responses.add(responses.GET, BASE + "/wp-json/", json=INDEX, headers={"Date": DATE})
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/me", json=ME)
    responses.add_callback(responses.GET, BASE + "/wp-json/wp/v2/posts", callback=posts)
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users",
                  json=[{"id": 1, "username": "alice", "name": "Alice"}])
    responses.add(responses.GET, re.compile(r"http://wp\.test/wp-json/wp/v2/(pages|media|comments)\b.*"), json=[])
    items = [o for o in mock_source()[0].changes({}) if o.kind == "post"]
    assert [o.native_id for o in items] == ["post:1", "post:2", "post:3", "post:4"]
    private = items[-1]
    assert private.visibility.readers == ("user:alice", *EDITORS) and private.author == "alice"
    assert b"hunter2" not in private.revisions[-1].record and "hunter2" not in json.dumps(private.extra)
    assert private.created == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@responses.activate
def test_media_from_another_host_is_downloaded_without_credentials():
    responses.add(responses.GET, "https://cdn.example/up/a.bin", body=b"x" * 100)
    responses.add(responses.GET, BASE + "/wp-content/uploads/b.bin", body=b"y" * 10)
    source, _ = mock_source()
    source._posts = {}
    for url, expected, authed in (("https://cdn.example/up/a.bin", b"x" * 100, False),
                                  (BASE + "/wp-content/uploads/b.bin", b"y" * 10, True)):
        raw = {"id": 9, "post": 0, "status": "inherit", "source_url": url, "mime_type": "application/octet-stream",
               "media_details": {"filesize": len(expected)}, "title": {"raw": "f"}, "author": 0,
               "modified_gmt": "2026-11-29T08:00:00", "date_gmt": "2026-11-29T08:00:00", "link": url}
        item = source._media_item(raw)
        assert item.visibility.is_public and item.revisions[0].content.size == len(expected)
        assert b"".join(item.revisions[0].content.chunks()) == expected
        assert ("Authorization" in responses.calls[-1].request.headers) is authed


@responses.activate
def test_scheduled_posts_are_re_read_by_id_until_published():
    published = _post(5, "2026-11-29T09:00:00")          # cron published it; modified unchanged
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/posts", json=[published],
                  match=[responses.matchers.query_param_matcher({"include": "5"}, strict_match=False)])
    responses.add(responses.GET, BASE + "/wp-json/wp/v2/users/1", json={"id": 1, "username": "alice"})
    empty_site(responses)
    state = {"checkpoint": "2026-11-29T09:30:00+00:00", "swept_at": "2026-11-29T09:30:00+00:00",
             "recheck": {"posts": [5]}}
    source, _ = mock_source()
    items = [o for o in source.changes(state) if o.kind == "post"]
    assert [o.native_id for o in items] == ["post:5"] and items[0].visibility.is_public
    assert state["recheck"] == {}


def test_dst_fall_back_widens_the_window():
    source, _ = mock_source()
    source._tz = ZoneInfo("Europe/Berlin")
    # Berlin falls back at 2026-10-25 01:00Z; a cursor just before it must reach an hour further back
    assert source._after(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "2026-10-24T23:29:59Z"
    assert source._after(datetime(2026, 11, 29, 10, 0, tzinfo=UTC)) == "2026-11-29T09:59:59Z"
    assert source._before(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "2026-10-25T02:30:01Z"
    assert source._before(datetime(2026, 11, 29, 10, 0, tzinfo=UTC)) == "2026-11-29T10:00:01Z"


def test_a_record_that_cannot_be_built_is_listed_with_its_record_key():
    source, _ = mock_source(post_types={"posts": "post", "docs": "doc"})
    recheck: dict = {}
    for rest_base, obj_id in (("docs", 12), ("media", 5), ("comments", 7)):
        assert source._build(lambda: {}["title"], rest_base, obj_id, recheck) is None
    assert [s.key for s in source.skipped] == ["blog/doc/doc:12", "blog/media/media:5", "blog/comment/comment:7"]
    assert source.skipped[0].reason == "docs 12: KeyError: 'title'"
    assert recheck == {"docs": {12}, "media": {5}, "comments": {7}}   # and read again next run
