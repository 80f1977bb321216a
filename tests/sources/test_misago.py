"""MisagoSource against a REAL Misago 0.39 (``make test`` starts one and sets the env).

Env: ``SA_TEST_MISAGO_URL`` (e.g. http://127.0.0.1:18083) and ``SA_TEST_MISAGO_STATE`` (the
server's state dir, with ``categories.json``). Without the URL these tests are skipped; with a URL
that does not answer they FAIL. The tests write their own threads, posts, edits and attachments
through Misago's API (as admin, who is exempt from the 3-second flood limit; alice posts once), so
they do not depend on the seed or on each other's order beyond one module-scoped fixture.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from connector.errors import Skippable
from connector.model import HashingReader, Item, Tombstone
from connector.sources.misago import MisagoSource, diff_sides

pytestmark = pytest.mark.integration

URL = os.environ.get("SA_TEST_MISAGO_URL", "").rstrip("/")
STATE = os.environ.get("SA_TEST_MISAGO_STATE", "")
SKIP_REASON = "set SA_TEST_MISAGO_URL to run against a real Misago (make test does)"
ADMIN = ("admin", "AdminPass-12345")
ALICE = ("alice", "alice-Pass-123")
STAFF_READERS = ("role:moderator", "group:staff-lounge")
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c"
    "6360000002000001e221bc330000000049454e44ae426082")


class Client:
    """A tiny Misago client for the test's own writes (session + CSRF, like the source)."""

    def __init__(self, user: str, password: str):
        self.s = requests.Session()
        self.s.get(URL + "/", timeout=10)
        self.s.headers.update({"X-CSRFToken": self.s.cookies["csrftoken"], "Referer": URL + "/"})
        r = self.s.post(URL + "/api/auth/", json={"username": user, "password": password}, timeout=10)
        assert r.ok, r.text
        self.s.headers["X-CSRFToken"] = self.s.cookies["csrftoken"]

    def call(self, method: str, path: str, **kw):
        r = self.s.request(method, URL + path, timeout=30, **kw)
        if r.status_code in (400, 403) and "so quickly" in r.text:  # members: one post per 3 s
            time.sleep(3.5)
            r = self.s.request(method, URL + path, timeout=30, **kw)
        assert r.ok, f"{method} {path}: {r.status_code} {r.text[:300]}"
        return r.json() if r.content else None


def _reachable() -> None:
    try:
        requests.get(URL + "/api/threads/", timeout=10).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(f"SA_TEST_MISAGO_URL={URL} is set but Misago does not answer: {exc}")


@pytest.fixture(scope="module")
def categories() -> dict:
    if not URL:
        pytest.skip(SKIP_REASON)
    _reachable()
    if not STATE or not (Path(STATE) / "categories.json").is_file():
        pytest.fail("SA_TEST_MISAGO_STATE must name the server's state dir (with categories.json)")
    return json.loads((Path(STATE) / "categories.json").read_text())


def make_source(**kw) -> MisagoSource:
    return MisagoSource("forum", URL, *ADMIN, public_categories=("Engineering",),
                        category_visibility={"Staff lounge": STAFF_READERS}, **kw)


@pytest.fixture(scope="module")
def forum(categories) -> dict:
    """Content written for this module: a public thread with an attachment, two edits, a reply by
    alice and a hidden reply; a thread in the moderator-only "Staff lounge"."""
    tag = uuid.uuid4().hex[:8]
    admin, alice = Client(*ADMIN), Client(*ALICE)
    att = admin.s.post(URL + "/api/attachments/", files={"upload": (f"dot-{tag}.png", PNG, "image/png")},
                       timeout=30).json()
    v0 = f"First version {tag}\n\nwith [attachment={att['id']}]dot.png[/attachment]"
    v1 = v0 + "\nsecond line"
    v2 = v1.replace("First", "Final")
    thread = admin.call("POST", "/api/threads/", json={"title": f"Archive me {tag}", "category": categories["engineering"],
                                                         "post": v0, "attachments": [att["id"]]})
    tid = thread["id"]
    first = admin.call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][0]
    for text in (v1, v2):
        admin.call("PUT", f"/api/threads/{tid}/posts/{first['id']}/", json={"post": text, "attachments": [att["id"]]})
    reply = alice.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"Reply by alice {tag}"})
    hidden = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"To be hidden {tag}"})
    admin.call("PATCH", f"/api/threads/{tid}/posts/{hidden['id']}/",
               json=[{"op": "replace", "path": "is-hidden", "value": True}])
    staff = admin.call("POST", "/api/threads/", json={"title": f"Staff only {tag}", "category": categories["staff"],
                                                        "post": f"staff secret {tag}"})
    return {"tag": tag, "admin": admin, "tid": tid, "first": first["id"], "reply": reply["id"],
            "hidden": hidden["id"], "staff_tid": staff["id"], "att": att["id"], "versions": [v0, v1, v2],
            "categories": categories}


@pytest.fixture(scope="module")
def full_run(forum):
    source = make_source()
    state: dict = {}
    objects = list(source.changes(state))
    return source, state, objects


def by_id(objects) -> dict[str, Item]:
    return {o.native_id: o for o in objects if isinstance(o, Item)}


def body(revision) -> bytes:
    return b"".join(HashingReader(revision.content))


def test_full_crawl_has_every_thread_post_edit_and_attachment(forum, full_run):
    source, state, objects = full_run
    items = by_id(objects)
    tid = forum["tid"]
    # every thread the admin can list, in both categories, came out
    for category in forum["categories"].values():
        listed = forum["admin"].call("GET", f"/api/threads/?category={category}")["results"]
        for summary in listed:
            assert f"thread:{summary['id']}" in items
    thread = items[f"thread:{tid}"]
    assert thread.kind == "thread" and thread.space == "Engineering" and thread.visibility.is_public
    assert thread.author == "admin" and json.loads(body(thread.revisions[0]))["id"] == tid
    posts = [o for o in objects if isinstance(o, Item) and o.parent_id == f"thread:{tid}"]
    assert [p.native_id for p in posts] == [f"post:{forum['first']}", f"post:{forum['reply']}", f"post:{forum['hidden']}"]
    assert [p.extra["position"] for p in posts] == ["1", "2", "3"]
    assert posts[0].title == f"Archive me {forum['tag']} #1" and posts[1].author == "alice"
    # every edit is a revision, oldest first, as original markup
    first = items[f"post:{forum['first']}"]
    assert [body(r).decode() for r in first.revisions] == forum["versions"]
    assert [r.content.media_type for r in first.revisions] == ["text/markdown"] * 3
    assert first.revisions[0].id == "0" and all(r.id.startswith("edit:") for r in first.revisions[1:])
    assert all(json.loads(r.record)["diff"] for r in first.revisions[1:])
    # attachment: right bytes, after its post
    att = items[f"attachment:{forum['att']}"]
    assert att.parent_id == first.native_id and body(att.revisions[0]) == PNG
    order = [o.native_id for o in objects]
    assert order.index(f"thread:{tid}") < order.index(first.native_id) < order.index(att.native_id) \
        < order.index(f"post:{forum['reply']}")
    assert state.get("checkpoint")
    assert source.request_count > 0


def test_hidden_category_and_hidden_post_are_restricted(forum, full_run):
    _, _, objects = full_run
    items = by_id(objects)
    staff = items[f"thread:{forum['staff_tid']}"]
    assert staff.space == "Staff lounge" and not staff.visibility.is_public
    assert staff.visibility.readers == STAFF_READERS
    staff_posts = [o for o in objects if isinstance(o, Item) and o.parent_id == staff.native_id]
    assert staff_posts and all(not p.visibility.is_public for p in staff_posts)
    hidden = items[f"post:{forum['hidden']}"]
    assert hidden.extra["hidden"] == "true" and not hidden.visibility.is_public
    assert hidden.visibility.readers == ("role:moderator",)
    assert body(hidden.revisions[-1]).decode() == f"To be hidden {forum['tag']}"
    assert items[f"post:{forum['reply']}"].visibility.is_public


def test_unlisted_category_fails_closed(forum):
    source = MisagoSource("forum", URL, *ADMIN)  # nothing configured as public
    objects = [o for o in source.changes({}) if isinstance(o, Item)]
    assert objects and not any(o.visibility.is_public for o in objects)
    assert {o.visibility.readers for o in objects} == {("role:moderator",)}


def test_edit_yields_new_revision_and_repeat_runs_only_repeat_known_revisions(forum, full_run):
    _, state, objects = full_run
    known = {(o.native_id, r.id) for o in objects if isinstance(o, Item) for r in o.revisions}
    state = dict(state)
    text = forum["versions"][-1] + f"\nthird edit {forum['tag']}"
    forum["admin"].call("PUT", f"/api/threads/{forum['tid']}/posts/{forum['first']}/",
                        json={"post": text, "attachments": [forum["att"]]})
    source = make_source()
    second = list(source.changes(state))
    post = by_id(second)[f"post:{forum['first']}"]
    new = [r for r in post.revisions if (post.native_id, r.id) not in known]
    assert len(new) == 1 and body(new[0]).decode() == text and new[0].author == "admin"
    assert len(post.revisions) == 4
    # a run right after: inside the overlap window the same items come again, but every one of
    # their revisions is already known (nothing new to file)
    known |= {(o.native_id, r.id) for o in second if isinstance(o, Item) for r in o.revisions}
    third = list(make_source().changes(state))
    assert not [o for o in third if isinstance(o, Tombstone)]
    assert {(o.native_id, r.id) for o in third if isinstance(o, Item) for r in o.revisions} <= known


def test_no_overlap_second_run_yields_nothing(forum, full_run):
    time.sleep(1.1)  # the server's Date header has 1 s resolution: leave the second of the last write
    state: dict = {}
    list(make_source(overlap=timedelta(0)).changes(state))
    time.sleep(1.1)
    assert [o.native_id for o in make_source(overlap=timedelta(0)).changes(state)] == []


def test_reconcile_after_hard_delete(forum, full_run):
    admin = forum["admin"]
    doomed = admin.call("POST", "/api/threads/", json={"title": f"Doomed {forum['tag']}",
                                                        "category": forum["categories"]["engineering"],
                                                        "post": "short-lived"})
    extra = admin.call("POST", f"/api/threads/{forum['tid']}/posts/", json={"post": f"deleted reply {forum['tag']}"})
    objects = list(make_source().changes({}))
    items = by_id(objects)
    doomed_post = next(o.native_id for o in objects if isinstance(o, Item) and o.parent_id == f"thread:{doomed['id']}")
    assert f"post:{extra['id']}" in items
    admin.call("DELETE", f"/api/threads/{doomed['id']}/")
    admin.call("DELETE", f"/api/threads/{forum['tid']}/posts/{extra['id']}/")
    known = set(items)
    tombstones = list(make_source().reconcile(known))
    gone = {t.native_id for t in tombstones}
    assert gone == {f"thread:{doomed['id']}", doomed_post, f"post:{extra['id']}"}
    assert all(isinstance(t, Tombstone) and t.source == "forum" and t.reason for t in tombstones)


def test_private_threads_only_when_configured_and_only_for_participants(forum):
    admin = forum["admin"]
    private = admin.call("POST", "/api/private-threads/", json={"title": f"Private {forum['tag']}", "to": ["alice"],
                                                               "post": f"between us {forum['tag']}"})
    default_run = by_id(make_source().changes({}))
    assert f"thread:{private['id']}" not in default_run
    found = by_id(make_source(include_private_threads=True).changes({}))
    thread = found[f"thread:{private['id']}"]
    assert thread.space == "Private threads" and thread.extra["private"] == "true"
    assert not thread.visibility.is_public and set(thread.visibility.readers) == {"user:admin", "user:alice"}
    posts = [o for o in found.values() if o.parent_id == thread.native_id]
    assert posts and all(p.visibility == thread.visibility for p in posts)
    assert body(posts[0].revisions[-1]).decode() == f"between us {forum['tag']}"


def test_backfill_is_bounded_by_the_range(forum, full_run):
    thread = by_id(full_run[2])[f"thread:{forum['tid']}"]
    started = thread.created
    inside = by_id(make_source().backfill(started, None))
    assert {f"thread:{forum['tid']}", f"post:{forum['first']}", f"attachment:{forum['att']}"} <= set(inside)
    before = by_id(make_source().backfill(None, started))
    assert f"thread:{forum['tid']}" not in before and f"post:{forum['first']}" not in before


def test_wrong_attachment_secret_is_refused_not_archived(forum):
    source = make_source()
    with pytest.raises(Skippable, match="placeholder"):
        list(source._stream_attachment(forum["att"], f"/a/{'x' * 64}/{forum['att']}/"))


def test_bad_password_is_fatal_without_the_password(categories):
    from connector.errors import Fatal
    with pytest.raises(Fatal) as info:
        MisagoSource("forum", URL, "admin", "Wrong-Secret-999").check()
    assert "Wrong-Secret-999" not in str(info.value)


def test_diff_sides_rebuilds_both_texts():
    old, new = diff_sides(["- a", "+ b", "?  ^\n", "  ? not a hint", "+ c"])
    assert (old, new) == ("a\n? not a hint", "b\n? not a hint\nc")
