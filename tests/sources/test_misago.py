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
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from connector.errors import Skippable
from connector.model import HashingReader, Item, Tombstone, Visibility, record_key
from connector.sources.misago import MisagoSource
from connector.sources.misago.shape import ATTACHMENT_FIELDS, EDIT_FIELDS, POST_FIELDS, THREAD_FIELDS, diff_sides

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
    return MisagoSource("forum", URL, *ADMIN, **{"public_categories": ("Engineering",),
                                                 "category_visibility": {"Staff lounge": STAFF_READERS}, **kw})


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


def ours(forum, objects) -> list[Item]:
    """The items of this module's threads: other tests write to the same forum meanwhile."""
    return [o for o in objects if isinstance(o, Item)
            and o.extra.get("thread_id") in (str(forum["tid"]), str(forum["staff_tid"]))]


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
    assert all(set(json.loads(r.record)) == set(EDIT_FIELDS) for r in first.revisions[1:])
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
    assert {(o.native_id, r.id) for o in ours(forum, third) for r in o.revisions} <= known


def test_no_overlap_second_run_yields_nothing(forum, full_run):
    time.sleep(1.1)  # the server's Date header has 1 s resolution: leave the second of the last write
    state: dict = {}
    list(make_source(overlap=timedelta(0)).changes(state))
    time.sleep(1.1)
    assert [o.native_id for o in ours(forum, make_source(overlap=timedelta(0)).changes(state))] == []


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
    assert all(t.readers == ("role:moderator",) for t in tombstones)  # who sees deleted content


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


def test_records_are_allow_lists_without_other_items_text(forum, full_run):
    """A thread record holds no post's text; a post's holds no text at all (the text is the
    version's content, and a record sits on every version); an edit's holds no diff (the previous
    text); none holds the caller's permissions or an attachment's secret URL."""
    items = by_id(full_run[2])
    tid, tag = forum["tid"], forum["tag"]
    mine = [o for o in items.values() if o.native_id == f"thread:{tid}" or o.extra.get("thread_id") == str(tid)]
    first = forum["admin"].call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][0]
    secret = first["attachments"][0]["url"]["index"]
    texts = [f"First version {tag}", f"Final version {tag}", "second line", f"Reply by alice {tag}",
             f"To be hidden {tag}"]
    assert len(mine) == 5
    for item in mine:
        for revision in item.revisions:
            record = revision.record.decode()
            assert not any(text in record for text in texts), (item.native_id, revision.id)
            assert secret not in record and '"acl"' not in record, (item.native_id, revision.id)
    thread = items[f"thread:{tid}"].revisions[0]
    assert set(json.loads(thread.record)) == {*THREAD_FIELDS, "url", "category"}
    assert body(thread) == thread.record and json.loads(thread.record)["category"]["name"] == "Engineering"
    post = json.loads(items[f"post:{forum['first']}"].revisions[0].record)
    assert set(post) == {*POST_FIELDS, "url", "attachments"}
    assert [set(a) for a in post["attachments"]] == [set(ATTACHMENT_FIELDS)]
    assert set(json.loads(items[f"attachment:{forum['att']}"].revisions[0].record)) == set(ATTACHMENT_FIELDS)


def key(kind: str, native_id: int) -> str:
    return record_key("forum", kind, f"{kind}:{native_id}")


def readers(visibility: Visibility) -> tuple[bool, set[str]]:
    return visibility.is_public, set(visibility.readers)


def listing_requests(client: Client) -> int:
    """What listing every visible category costs: one request per page (and one for a 404)."""
    total = 0
    for category in client.call("GET", "/api/auth/")["acl"]["visible_categories"]:
        start = None
        while True:
            total += 1
            r = client.s.get(URL + "/api/threads/", params={"category": category, **({"start": start} if start else {})},
                             timeout=30)
            start = r.json().get("next") if r.ok else None
            if not start:
                break
    return total


def test_sweep_yields_each_archived_thread_as_crawled_and_reads_no_post_of_an_unchanged_one(forum, full_run):
    items = ours(forum, full_run[2])
    archived = {o.key: o.visibility for o in items}
    source = make_source()
    swept = list(source.sweep(archived))
    threads = {key("thread", forum["tid"]), key("thread", forum["staff_tid"])}
    assert {a.key for a in swept} == threads
    assert all(readers(a.visibility) == readers(archived[a.key]) for a in swept)
    assert readers(dict((a.key, a.visibility) for a in swept)[key("thread", forum["staff_tid"])]) \
        == (False, set(STAFF_READERS))
    # the stated cost: sign-in (2) and categories (1), the listing pages, the signed-out ACL (1),
    # one thread read per category holding archived threads
    categories = {o.extra["category_id"] for o in items if o.kind == "thread"}
    bound = 3 + listing_requests(forum["admin"]) + 1 + len(categories)
    print(f"sweep: {source.request_count} requests for {len(threads)} archived threads (bound {bound})")
    assert source.request_count <= bound


def _thread_with_replies(forum, title: str, category: int, att: int | None = None) -> dict:
    admin, tag = forum["admin"], forum["tag"]
    thread = admin.call("POST", "/api/threads/", json={"title": f"{title} {tag}", "category": category,
                                                         "post": f"{title} first {tag}",
                                                         "attachments": [att] if att else []})
    tid = thread["id"]
    first = admin.call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][0]["id"]
    reply = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"{title} reply {tag}"})["id"]
    hidden = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"{title} hidden {tag}"})["id"]
    admin.call("PATCH", f"/api/threads/{tid}/posts/{hidden}/", json=[{"op": "replace", "path": "is-hidden", "value": True}])
    public, moderators = Visibility.public(), Visibility.restricted("hidden post", ("role:moderator",))
    archived = {key("thread", tid): public, key("post", first): public, key("post", reply): public,
                key("post", hidden): moderators}
    if att:
        archived[key("attachment", att)] = public
    return {"tid": tid, "first": first, "reply": reply, "hidden": hidden, "archived": archived}


def test_sweep_restricts_a_thread_moved_into_the_staff_lounge_with_its_posts_and_attachment(forum):
    admin = forum["admin"]
    att = admin.s.post(URL + "/api/attachments/", files={"upload": (f"moved-{forum['tag']}.png", PNG, "image/png")},
                       timeout=30).json()["id"]
    made = _thread_with_replies(forum, "Moved", forum["categories"]["engineering"], att)
    archived, thread = made["archived"], key("thread", made["tid"])
    quiet = {a.key for a in make_source().sweep(archived)} & set(archived)
    assert quiet == {thread}  # nothing changed: the thread only, no post listing read
    admin.call("PATCH", f"/api/threads/{made['tid']}/",
               json=[{"op": "replace", "path": "category", "value": forum["categories"]["staff"]}])
    found = [a for a in make_source().sweep(archived) if a.key in archived]
    swept = {a.key: a.visibility for a in found}
    assert set(swept) == set(archived)
    for restricted in (thread, key("post", made["first"]), key("post", made["reply"]), key("attachment", att)):
        assert readers(swept[restricted]) == (False, set(STAFF_READERS)), restricted
    assert readers(swept[key("post", made["hidden"])]) == (False, {"role:moderator"})


def test_sweep_restricts_a_hidden_thread_and_widens_it_once_unhidden(forum):
    admin = forum["admin"]
    made = _thread_with_replies(forum, "Hidden thread", forum["categories"]["engineering"])
    archived = made["archived"]
    admin.call("PATCH", f"/api/threads/{made['tid']}/", json=[{"op": "replace", "path": "is-hidden", "value": True}])
    hidden = {a.key: a.visibility for a in make_source().sweep(archived) if a.key in archived}
    assert set(hidden) == set(archived)
    assert all(readers(v) == (False, {"role:moderator"}) for v in hidden.values())
    admin.call("PATCH", f"/api/threads/{made['tid']}/", json=[{"op": "replace", "path": "is-hidden", "value": False}])
    shown = {a.key: a.visibility for a in make_source().sweep(hidden) if a.key in archived}
    assert {k for k, v in shown.items() if v.is_public} == set(archived) - {key("post", made["hidden"])}
    assert readers(shown[key("post", made["hidden"])]) == (False, {"role:moderator"})


NARROWING = "Sweep narrowing"


def guest_access(open_to_guests: bool) -> int:
    """Give or take the Guest role's read access to the category NARROWING (made on first use)."""
    script = Path(__file__).resolve().parents[2] / "servers" / "misago" / "guest_access.sh"
    done = subprocess.run([str(script), NARROWING, "on" if open_to_guests else "off", STATE],
                          check=True, capture_output=True, text=True, timeout=120)
    return int(done.stdout.split()[-1])


def test_a_public_category_whose_guest_access_is_taken_away_turns_restricted(forum):
    category = guest_access(True)
    try:
        made = _thread_with_replies(forum, "Narrowed", category)
        archived = made["archived"]
        public = make_source(public_categories=("Engineering", NARROWING))
        assert {a.key: a.visibility for a in public.sweep(archived)}[key("thread", made["tid"])].is_public
        guest_access(False)
        swept = {a.key: a.visibility for a in make_source(public_categories=("Engineering", NARROWING)).sweep(archived)
                 if a.key in archived}
        assert set(swept) == set(archived)
        assert all(readers(v) == (False, {"role:moderator"}) for v in swept.values())
        # a crawl decides the same
        recent = datetime.now(timezone.utc) - timedelta(minutes=10)
        crawled = by_id(make_source(public_categories=("Engineering", NARROWING)).backfill(recent, None))
        assert not crawled[f"thread:{made['tid']}"].visibility.is_public
    finally:
        guest_access(True)


def test_sweep_narrows_a_private_thread_to_the_participants_left(forum):
    admin = forum["admin"]
    private = admin.call("POST", "/api/private-threads/", json={"title": f"Leaving {forum['tag']}", "to": ["alice"],
                                                               "post": f"before alice left {forum['tag']}"})
    pid = private["id"]
    detail = admin.call("GET", f"/api/private-threads/{pid}/")
    first = admin.call("GET", f"/api/private-threads/{pid}/posts/")["post_set"]["results"][0]["id"]
    both = Visibility.restricted("private thread: participants only", ("user:admin", "user:alice"))
    archived = {key("thread", pid): both, key("post", first): both}
    alice = next(p["id"] for p in detail["participants"] if p["username"] == "alice")
    admin.call("PATCH", f"/api/private-threads/{pid}/", json=[{"op": "remove", "path": "participants", "value": alice}])
    swept = {a.key: a.visibility for a in make_source(include_private_threads=True).sweep(archived) if a.key in archived}
    assert {k: readers(v) for k, v in swept.items()} == {k: (False, {"user:admin"}) for k in archived}
