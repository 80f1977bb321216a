"""MediaWikiSource: integration tests against a REAL MediaWiki 1.39, error paths with ``responses``.

Integration (marker ``integration``): env ``SA_TEST_MW_API`` (e.g. http://127.0.0.1:18081/api.php)
and ``SA_TEST_MW_STATE`` (the server's state dir, with ``botpassword``; ``Extra.php`` and
``READONLY`` there are the server's test switches). Without ``SA_TEST_MW_API`` they are skipped;
with it and a server that does not answer they FAIL. Every test writes its own pages with unique
titles through the API (bot password), so they depend neither on the seed nor on each other.

Error paths: a scripted fake ``api.php`` (JSON shapes captured from MediaWiki 1.39.17) behind
``responses``; no server needed.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from connector.errors import DigestMismatch, Fatal, Retriable, Skippable
from connector.model import Access, HashingReader, Item, Tombstone, Visibility
from connector.sources.mediawiki import MediaWikiSource, format_ts, parse_ts

API = os.environ.get("SA_TEST_MW_API", "")
STATE = os.environ.get("SA_TEST_MW_STATE", "")
SKIP_REASON = "set SA_TEST_MW_API to run against a real MediaWiki (make test does)"
BOT_USER = "Admin@connector"


# ====================================================================== integration helpers

class Wiki:
    """A tiny MediaWiki client for the tests' own writes (bot password, like the source)."""

    def __init__(self, api: str, user: str, password: str):
        self.api = api
        self.s = requests.Session()
        self.s.headers["User-Agent"] = "socialarchive-tests/0.1"
        token = self.call("GET", action="query", meta="tokens", type="login")["query"]["tokens"]["logintoken"]
        result = self.call("POST", action="login", lgname=user, lgpassword=password, lgtoken=token)["login"]
        assert result["result"] == "Success", result
        self.csrf = self.call("GET", action="query", meta="tokens")["query"]["tokens"]["csrftoken"]

    def call(self, method: str, files=None, **params) -> dict:
        params.update(format="json", formatversion="2")
        for attempt in range(5):
            if method == "GET":
                r = self.s.get(self.api, params=params, timeout=60)
            else:
                r = self.s.post(self.api, data=params, files=files, timeout=60)
            r.raise_for_status()
            body = r.json()
            code = body.get("error", {}).get("code")
            if code in ("internal_api_error_DBQueryError", "ratelimited"):   # SQLite "database is locked"
                time.sleep(0.3 * (attempt + 1))
                continue
            assert "error" not in body, f"{params.get('action')}: {body['error']}"
            return body
        raise AssertionError(f"{params.get('action')} kept failing: {body}")

    def edit(self, title: str, text: str, summary: str = "test") -> dict:
        return self.call("POST", action="edit", title=title, text=text, summary=summary,
                         token=self.csrf, bot="1")["edit"]

    def upload(self, filename: str, data: bytes, comment: str) -> dict:
        return self.call("POST", files={"file": (filename, data, "text/plain")}, action="upload",
                         filename=filename, comment=comment, ignorewarnings="1", token=self.csrf)["upload"]

    def delete(self, title: str, reason: str = "test delete") -> dict:
        return self.call("POST", action="delete", title=title, reason=reason, token=self.csrf)["delete"]

    def move(self, old: str, new: str) -> dict:
        return self.call("POST", action="move", **{"from": old}, to=new, reason="test move",
                         token=self.csrf)["move"]

    def protect(self, title: str, protections: str) -> dict:
        return self.call("POST", action="protect", title=title, protections=protections,
                         expiry="infinite", reason="test protect", token=self.csrf)["protect"]

    def revisions(self, title: str) -> list[dict]:
        body = self.call("GET", action="query", titles=title, prop="revisions", rvlimit="max",
                         rvdir="newer", rvslots="main", rvprop="ids|timestamp|sha1|content")
        return body["query"]["pages"][0]["revisions"]

    def server_time(self) -> datetime:
        body = self.call("GET", action="query", meta="siteinfo", siprop="general")
        return parse_ts(body["query"]["general"]["time"])


def _bot_password() -> str:
    if not STATE:
        pytest.fail("SA_TEST_MW_API is set but SA_TEST_MW_STATE (the dir with botpassword) is not")
    path = Path(STATE) / "botpassword"
    if not path.is_file():
        pytest.fail(f"no bot password at {path}")
    return path.read_text().strip()


@pytest.fixture(scope="session")
def mw_api() -> str:
    if not API:
        pytest.skip(SKIP_REASON)
    try:
        r = requests.get(API, params={"action": "query", "meta": "siteinfo", "format": "json"}, timeout=10)
        r.raise_for_status()
        assert "query" in r.json() or "error" in r.json()
    except (requests.RequestException, ValueError, AssertionError) as exc:
        pytest.fail(f"SA_TEST_MW_API={API} is set but MediaWiki does not answer: {exc}")
    return API


@pytest.fixture(scope="session")
def wiki(mw_api) -> Wiki:
    return Wiki(mw_api, BOT_USER, _bot_password())


@pytest.fixture
def make_source(mw_api):
    password = _bot_password()

    def make(**kw) -> MediaWikiSource:
        kw.setdefault("sleep", lambda s: time.sleep(min(s, 0.5)))
        return MediaWikiSource("wiki", mw_api, BOT_USER, password, **kw)
    return make


def uid() -> str:
    return uuid.uuid4().hex[:10]


def items_by_id(objs) -> dict[str, Item]:
    """Last Item per native id (an id may come twice: tombstone + restore, or a sliced history)."""
    return {o.native_id: o for o in objs if isinstance(o, Item)}


def read(content) -> bytes:
    reader = HashingReader(content)
    data = b"".join(reader)   # HashingReader.check() runs at the end: sha1 and size verified
    assert reader.done
    return data


def since_state(t: datetime) -> dict:
    return {"checkpoint": format_ts(t - timedelta(seconds=1))}


# ====================================================================== integration tests

@pytest.mark.integration
def test_check_reports_version_rights_and_counts(make_source):
    facts = make_source().check()
    assert facts["version"].startswith("MediaWiki 1.")
    assert facts["apihighlimits"] is True and facts["viewdeleted"] is True
    assert facts["revisions_per_request"] == 500
    assert facts["anonymous_can_read"] is True
    assert isinstance(facts["pages"], int) and facts["pages"] >= 1
    assert "password" not in json.dumps(facts).lower()


@pytest.mark.integration
def test_full_crawl_every_revision_in_order_byte_exact(wiki, make_source):
    """Full crawl (empty state) of one namespace: all revisions, oldest first, bytes and sha1 exact."""
    title = f"Help:SA history {uid()}"
    texts = ["first line\n\n[[Category:SA test]]",
             "zweite Fassung — äöü ß\n== Ünïcødé ==\n😀 emoji and עִבְרִית\n[[Category:SA test]]",
             "third\twith tabs  and  double  spaces\n* list\n{{template|x=1}}",
             "fourth <nowiki>[[x]]</nowiki>\r\nwindows newline becomes LF\n[[Category:SA test]]"]
    revids = [wiki.edit(title, t, summary=f"rev {i}")["newrevid"] for i, t in enumerate(texts)]
    expected = wiki.revisions(title)   # what MediaWiki stored (it normalises CRLF, trailing space)
    assert [r["revid"] for r in expected] == revids

    source = make_source(namespaces=(12,))
    state: dict = {}
    t0 = wiki.server_time()
    objs = list(source.changes(state))
    item = next(o for o in objs if isinstance(o, Item) and o.title == title)
    assert [r.id for r in item.revisions] == [str(r) for r in revids]
    for rev, exp in zip(item.revisions, expected):
        data = read(rev.content)
        assert data == exp["slots"]["main"]["content"].encode("utf-8")
        assert hashlib.sha1(data).hexdigest() == exp["sha1"] == rev.content.source_digest[1]
        assert rev.content.media_type == "text/x-wiki"
        record = json.loads(rev.record)
        assert record["revid"] == exp["revid"] and "content" not in record["slots"]["main"]
        assert rev.created.tzinfo is not None
    assert item.revisions[-1].title == title
    assert item.kind == "page" and item.system == "mediawiki" and item.space == "Help"
    assert item.url.endswith(f"?curid={item.native_id}")
    assert item.author == "Admin" and item.created == item.revisions[0].created
    assert item.modified == item.revisions[-1].created
    assert item.tags == ("SA test",)
    assert item.extra["namespace"] == "12" and item.extra["redirect"] == "false"
    assert all(isinstance(v, str) for v in item.extra.values())
    assert item.visibility.is_public
    # state written at the end: server clock at run start minus the overlap
    checkpoint = parse_ts(state["checkpoint"])
    assert abs((checkpoint + timedelta(minutes=10)) - t0) < timedelta(seconds=30)


@pytest.mark.integration
def test_talk_page_links_to_subject_and_protection(wiki, make_source):
    t0 = wiki.server_time()
    title = f"SA subject {uid()}"
    subject = wiki.edit(title, "subject text")["pageid"]
    talk = wiki.edit(f"Talk:{title}", "a comment ~~~~")["pageid"]
    wiki.protect(title, "edit=sysop|move=sysop")
    got = items_by_id(make_source().backfill(t0 - timedelta(seconds=1), None))
    assert got[str(talk)].parent_id == str(subject)
    assert got[str(talk)].space == "Talk"
    assert got[str(subject)].extra["talk_page_id"] == str(talk)
    assert got[str(subject)].extra["protection"] == "edit=sysop,move=sysop"
    assert got[str(subject)].parent_id is None


@pytest.mark.integration
def test_file_with_two_versions_streams_and_verifies(wiki, make_source):
    t0 = wiki.server_time()
    name = f"SA file {uid()}.txt"
    v1, v2 = b"version one\n", b"version two is longer \xc3\xa4\n" * 1000
    wiki.upload(name, v1, "v1")
    time.sleep(1.1)   # file versions are keyed by their second
    wiki.upload(name, v2, "v2")
    got = items_by_id(make_source().backfill(t0 - timedelta(seconds=1), None))
    page = next(i for i in got.values() if i.title == f"File:{name}")
    assert page.space == "File" and len(page.attachments) == 1
    f = page.attachments[0]
    assert f.kind == "file" and f.native_id == f"file:{page.native_id}" and f.parent_id == page.native_id
    assert [r.comment for r in f.revisions] == ["v1", "v2"]
    for rev, data in zip(f.revisions, (v1, v2)):
        assert rev.content.size == len(data)
        assert rev.content.source_digest == ("sha1", hashlib.sha1(data).hexdigest())
        chunks = rev.content.chunks()
        assert not isinstance(chunks, (bytes, list))   # a stream, not the whole file
        assert read(rev.content) == data
        assert read(rev.content) == data   # re-readable for a retry
        assert rev.content.media_type == "text/plain"


@pytest.mark.integration
def test_incremental_edit_yields_new_revision_and_moves_checkpoint(wiki, make_source):
    t0 = wiki.server_time()
    title = f"SA incremental {uid()}"
    first = wiki.edit(title, "one")
    source = make_source()
    state = since_state(t0)
    got = items_by_id(source.changes(state))
    assert [r.id for r in got[str(first["pageid"])].revisions] == [str(first["newrevid"])]
    assert parse_ts(state["checkpoint"]) > t0 - timedelta(minutes=11)
    second = wiki.edit(title, "two")
    before = source.request_count
    got = items_by_id(source.changes(state))
    item = got[str(first["pageid"])]
    assert str(second["newrevid"]) in [r.id for r in item.revisions]
    assert read(item.revisions[-1].content) == b"two"
    assert item.author == "Admin" and item.created == parse_ts(first["newtimestamp"])
    assert source.request_count > before


@pytest.mark.integration
def test_two_edits_in_one_second_are_both_seen(wiki, make_source):
    for _ in range(8):
        t0 = wiki.server_time()
        title = f"SA same second {uid()}"
        a = wiki.edit(title, "a")
        b = wiki.edit(title, "b")
        if a["newtimestamp"] == b["newtimestamp"]:
            break
    assert a["newtimestamp"] == b["newtimestamp"], "could not make two edits in one second"
    got = items_by_id(make_source().changes(since_state(t0)))
    ids = [r.id for r in got[str(a["pageid"])].revisions]
    assert ids == [str(a["newrevid"]), str(b["newrevid"])]


@pytest.mark.integration
def test_delete_yields_tombstone(wiki, make_source):
    t0 = wiki.server_time()
    title = f"SA doomed {uid()}"
    pageid = wiki.edit(title, "soon gone")["pageid"]
    wiki.delete(title, reason="cleanup")
    objs = list(make_source().changes(since_state(t0)))
    tombs = [o for o in objs if isinstance(o, Tombstone) and o.native_id == str(pageid)]
    assert len(tombs) == 1
    t = tombs[0]
    assert t.kind == "page" and t.detected_by == "logevents:delete" and t.title == title
    assert t.deleted_by == "Admin" and t.reason == "cleanup" and t.deleted_at >= t0
    assert t.readers == ("group:sysop",)      # sysops still see deleted pages in the wiki
    assert str(pageid) not in items_by_id(objs)


@pytest.mark.integration
def test_reconcile_finds_deleted_ids(wiki, make_source):
    kept = wiki.edit(f"SA kept {uid()}", "stays")["pageid"]
    title = f"SA reconciled {uid()}"
    gone = wiki.edit(title, "goes")["pageid"]
    wiki.delete(title)
    tombs = list(make_source().reconcile({str(kept), str(gone), f"file:{gone}", "999999999"}))
    assert {(t.kind, t.native_id) for t in tombs} == {
        ("page", str(gone)), ("file", f"file:{gone}"), ("page", "999999999")}
    assert all(t.detected_by == "reconcile:allpages" and t.readers == ("group:sysop",) for t in tombs)


@pytest.mark.integration
def test_move_keeps_native_id_with_new_title(wiki, make_source):
    t0 = wiki.server_time()
    old, new = f"SA before move {uid()}", f"SA after move {uid()}"
    pageid = wiki.edit(old, "moving soon")["pageid"]
    wiki.move(old, new)
    got = items_by_id(make_source().changes(since_state(t0)))
    assert got[str(pageid)].title == new
    assert got[str(pageid)].revisions[-1].comment.startswith("Admin moved page")
    redirect = next(i for i in got.values() if i.title == old)
    assert redirect.native_id != str(pageid) and redirect.extra["redirect"] == "true"


@pytest.mark.integration
def test_incremental_falls_back_to_allrevisions_when_rc_does_not_reach(wiki, make_source):
    title = f"Category talk:SA fallback {uid()}"
    created = wiki.edit(title, "old checkpoint")
    state = {"checkpoint": "2001-01-01T00:00:00Z"}   # far older than recentchanges keeps
    got = items_by_id(make_source(namespaces=(15,)).changes(state))
    assert got[str(created["pageid"])].revisions[-1].id == str(created["newrevid"])
    assert state["checkpoint"] > "2001"


@pytest.mark.integration
def test_restricted_namespace_and_public_main(wiki, make_source):
    t0 = wiki.server_time()
    restricted = wiki.edit(f"Project:SA restricted {uid()}", "internal")["pageid"]
    public = wiki.edit(f"SA public {uid()}", "open")["pageid"]
    got = items_by_id(make_source(restricted_namespaces=(4,)).backfill(t0 - timedelta(seconds=1), None))
    vis = got[str(restricted)].visibility
    assert not vis.is_public and vis.reason == "restricted namespace 4"
    assert got[str(public)].visibility.is_public


@pytest.mark.integration
def test_unicode_emoji_rtl_and_long_titles(wiki, make_source):
    t0 = wiki.server_time()
    u = uid()
    long_ascii = f"SA long {u} "
    long_ascii += "x" * (250 - len(long_ascii))
    long_multibyte = f"SA ä {u} "
    long_multibyte += "ä" * ((255 - len(long_multibyte.encode())) // 2)
    titles = [f"SA Ünïcødé 日本語 {u}", f"SA emoji 🎉🚀👩‍💻 {u}", f"SA שלום עולם مرحبا {u}",
              long_ascii, long_multibyte]
    assert len(long_ascii) == 250 and len(long_multibyte.encode()) <= 255
    created = {wiki.edit(t, f"content of {t}")["pageid"]: t for t in titles}
    got = items_by_id(make_source().backfill(t0 - timedelta(seconds=1), None))
    for pageid, title in created.items():
        item = got[str(pageid)]
        assert item.title == title
        assert read(item.revisions[0].content) == f"content of {title}".encode("utf-8")


@pytest.mark.integration
def test_backfill_returns_exactly_the_range(wiki, make_source):
    title = f"SA backfill {uid()}"
    r1 = wiki.edit(title, "one")
    time.sleep(1.1)
    r2 = wiki.edit(title, "two")
    time.sleep(1.1)
    wiki.edit(title, "three")
    at = parse_ts(r2["newtimestamp"])
    got = items_by_id(make_source().backfill(at, at))
    item = got[str(r1["pageid"])]
    assert [r.id for r in item.revisions] == [str(r2["newrevid"])]
    assert item.author == "Admin" and item.created == parse_ts(r1["newtimestamp"])


@pytest.mark.integration
def test_requests_per_1000_revisions_match_the_batch_cap(wiki, make_source, record_property):
    """Full crawl of one namespace with 240 fresh revisions: request count vs. the batch cap.

    Edits go one at a time: the SQLite wiki serialises writes anyway (parallel edits were slower).
    """
    u = uid()
    titles = [f"Help talk:SA perf {u} {n}" for n in range(24)]
    for n in range(10):   # 10 rounds: each page gets 10 revisions
        for title in titles:
            wiki.edit(title, f"revision {n} of {title}\n" + "lorem ipsum " * 20)
    figures = {}
    for cap in (50, 500):
        source = make_source(namespaces=(13,), batch_size=cap)
        started = time.monotonic()
        objs = list(source.changes({}))
        elapsed = time.monotonic() - started
        revisions = sum(len(o.revisions) for o in objs if isinstance(o, Item))
        assert revisions >= 240
        requests_made = source.request_count
        # login (2) + siteinfo (1) + anonymous probe (1) + allrevisions ids (5000 a request)
        # + content batches of `cap`
        bound = 4 + math.ceil(revisions / 5000) + math.ceil(revisions / cap) + 1
        assert requests_made <= bound, (cap, requests_made, revisions)
        per_run = 4   # login token, login, siteinfo|userinfo, anonymous probe
        figures[cap] = {"requests": requests_made, "revisions": revisions,
                        "per_1000": round(1000 * requests_made / revisions, 1),
                        "per_1000_without_run_setup": round(1000 * (requests_made - per_run) / revisions, 1),
                        "cap_implies_per_1000": round(1000 / cap + 1000 / 5000, 1),
                        "seconds": round(elapsed, 2)}
        record_property(f"mw_cap{cap}", figures[cap])
    print(f"\nMediaWiki full crawl of one namespace, by batch cap: {figures}")


PUBLIC = Visibility.public()
NOBODY = Visibility.restricted("as last seen in the source")   # a restricted namespace's readers
SYSOPS = Visibility.restricted("as last seen in the source", ["group:sysop"])
MEMBERS = Visibility.restricted("as last seen in the source", ["group:user"])


def hide_comment(wiki, title: str, revid: int) -> None:
    wiki.call("POST", action="revisiondelete", type="revision", target=title, ids=str(revid),
              hide="comment", reason="test", token=wiki.csrf)


def swept(source: MediaWikiSource, archived: dict) -> dict[str, Visibility]:
    return {access.key: access.visibility for access in source.sweep(archived)}


@pytest.mark.integration
def test_an_old_revision_whose_comment_is_hidden_restricts_the_page(wiki, make_source):
    """The incremental run reads only the window's revisions; the history it reads for the rest must
    carry the comment flags too."""
    title = f"SA hidden summary {uid()}"
    first = wiki.edit(title, "one", summary="a summary to hide")
    wiki.edit(title, "two")
    time.sleep(2.2)
    t1 = wiki.server_time()
    hide_comment(wiki, title, first["newrevid"])
    item = items_by_id(make_source().changes(since_state(t1)))[str(first["pageid"])]
    assert str(first["newrevid"]) not in [r.id for r in item.revisions]   # outside the window
    assert item.visibility.readers == ("group:sysop",) and not item.visibility.is_public


@pytest.mark.integration
def test_sweep_restricts_pages_of_a_newly_restricted_namespace_and_pages_moved_into_one(wiki, make_source):
    u = uid()
    project = wiki.edit(f"Project:SA sweep {u}", "internal")["pageid"]
    main = wiki.edit(f"SA sweep main {u}", "open")["pageid"]
    wiki.edit(f"SA sweep mover {u}", "moves away")
    mover = wiki.move(f"SA sweep mover {u}", f"Project:SA sweep mover {u}")
    mover_id = _page_id(wiki, mover["to"])
    wiki.upload(f"SA sweep {u}.txt", b"file in a restricted namespace\n", "v1")
    file_page = _page_id(wiki, f"File:SA sweep {u}.txt")
    archived = {f"wiki/page/{p}": PUBLIC for p in (project, main, mover_id, file_page)}
    archived[f"wiki/file/file:{file_page}"] = PUBLIC

    got = swept(make_source(restricted_namespaces=(4, 6)), archived)
    assert set(got) == set(archived) - {f"wiki/page/{main}"}
    assert got[f"wiki/page/{project}"] == Visibility.restricted("restricted namespace 4")
    assert got[f"wiki/page/{mover_id}"] == Visibility.restricted("restricted namespace 4")
    assert got[f"wiki/file/file:{file_page}"] == Visibility.restricted("restricted namespace 6")
    assert swept(make_source(restricted_namespaces=(4, 6)), {k: NOBODY for k in archived if k in got}) == {}


@pytest.mark.integration
def test_sweep_widens_only_when_it_knows_every_restricting_fact(wiki, make_source):
    """Namespace 4 was restricted and is not any more: pages widen unless their history has
    revision deletion; a record restricted to sysops (revision deletion) is never widened by the
    sweep; a page that no longer exists yields nothing."""
    u = uid()
    plain = wiki.edit(f"Project:SA widen {u}", "x")["pageid"]
    hidden_title = f"Project:SA widen hidden {u}"
    first = wiki.edit(hidden_title, "one", summary="to hide")
    wiki.edit(hidden_title, "two")
    hide_comment(wiki, hidden_title, first["newrevid"])
    gone_title = f"Project:SA widen gone {u}"
    gone = wiki.edit(gone_title, "soon deleted")["pageid"]
    wiki.delete(gone_title)
    clean_but_sysops = wiki.edit(f"SA widen sysops {u}", "y")["pageid"]
    archived = {f"wiki/page/{plain}": NOBODY, f"wiki/page/{first['pageid']}": NOBODY,
                f"wiki/page/{gone}": NOBODY, f"wiki/page/{clean_but_sysops}": SYSOPS}
    source = make_source()
    got = swept(source, archived)
    assert got == {f"wiki/page/{plain}": PUBLIC,
                   f"wiki/page/{first['pageid']}": Visibility.restricted("revision deletion in the history",
                                                                         ["group:sysop"])}


@pytest.mark.integration
def test_sweep_follows_a_wiki_that_turns_private_and_public_again(wiki, make_source, monkeypatch):
    """The anonymous read probe answers "private" here instead of the server's Extra.php switch: the
    wiki is shared by tests running at the same time, and the switch would make theirs private."""
    page = wiki.edit(f"SA private sweep {uid()}", "members")["pageid"]
    key = f"wiki/page/{page}"
    private = make_source()
    monkeypatch.setattr(private.api, "anonymous_can_read", lambda: False)
    assert list(private.sweep({key: PUBLIC})) == [Access(key, Visibility.restricted("private wiki", ["group:user"]))]
    assert list(private.sweep({key: MEMBERS})) == []
    assert list(make_source().sweep({key: MEMBERS})) == [Access(key, PUBLIC)]
    assert list(make_source().sweep({key: PUBLIC})) == []


@pytest.mark.integration
def test_no_op_sync_with_the_sweep_costs_a_probe_and_a_listing_per_restricted_namespace(
        wiki, make_source, record_property):
    """A quiet namespace (Help talk), one restricted namespace (Project): after a run that read
    nothing new, ``changes`` costs 3 requests (login token, login, one query) and the sweep 2
    (the anonymous read probe, one allpages listing)."""
    t0 = wiki.server_time()
    key = f"wiki/page/{wiki.edit(f'Help talk:SA no-op sweep {uid()}', 'quiet')['pageid']}"
    source = make_source(namespaces=(13,), restricted_namespaces=(4,))
    state = since_state(t0)
    assert key.rsplit("/", 1)[1] in items_by_id(source.changes(state))
    list(make_source(namespaces=(13,)).changes(state))   # settles: the overlap's rows are now known
    source = make_source(namespaces=(13,), restricted_namespaces=(4,))
    assert list(source.changes(state)) == []
    changes_cost = source.request_count
    assert list(source.sweep({key: PUBLIC})) == []
    sweep_cost = source.request_count - changes_cost
    record_property("mw_noop_requests", {"changes": changes_cost, "sweep": sweep_cost})
    assert (changes_cost, sweep_cost) == (3, 2)
    idle = make_source()
    assert list(idle.sweep({"other/page/1": PUBLIC})) == [] and idle.request_count == 0


def _page_id(wiki, title: str) -> int:
    return wiki.call("GET", action="query", titles=title)["query"]["pages"][0]["pageid"]


def _switch(name: str):
    path = Path(STATE) / name
    if not os.access(STATE, os.W_OK):
        pytest.skip(f"{STATE} is not writable: cannot flip the {name} test switch")
    return path


@pytest.mark.integration
def test_private_wiki_restricts_everything(wiki, make_source):
    t0 = wiki.server_time()
    pageid = wiki.edit(f"SA private {uid()}", "members only")["pageid"]
    extra = _switch("Extra.php")
    previous = extra.read_text() if extra.exists() else None
    extra.write_text("<?php\n$wgGroupPermissions['*']['read'] = false;\n")
    try:
        source = make_source()
        assert source.check()["anonymous_can_read"] is False
        item = items_by_id(source.backfill(t0 - timedelta(seconds=1), None))[str(pageid)]
        assert not item.visibility.is_public
        assert item.visibility.reason == "private wiki" and item.visibility.readers == ("group:user",)
    finally:
        if previous is None:
            extra.unlink()
        else:
            extra.write_text(previous)
    assert make_source().check()["anonymous_can_read"] is True


@pytest.mark.integration
def test_read_only_wiki_reads_work_but_login_is_retriable(wiki, make_source):
    """Real 1.39: with $wgReadOnlyFile a logged-in session still reads; a new bot login is refused."""
    t0 = wiki.server_time()
    pageid = wiki.edit(f"SA readonly {uid()}", "frozen")["pageid"]
    logged_in = make_source()
    logged_in.check()
    switch = _switch("READONLY")
    switch.write_text("socialarchive test: read-only\n")
    try:
        got = items_by_id(logged_in.backfill(t0 - timedelta(seconds=1), None))
        assert str(pageid) in got
        fresh = make_source(attempts=2, sleep=lambda s: None)
        with pytest.raises(Retriable, match="read-only"):
            fresh.check()
    finally:
        switch.unlink()


# ====================================================================== error paths (responses)

FAKE_API = "http://wiki.test/w/api.php"
SECRET = "s3cret-bot-password"
ERROR_DOCREF = "See http://wiki.test/w/api.php for API usage."


def api_error(code: str, info: str, **extra) -> dict:
    return {"error": {"code": code, "info": info, "docref": ERROR_DOCREF, **extra}}


class FakeWiki:
    """A scripted api.php: login, siteinfo, allrevisions, revids batches, logevents, files.

    ``script`` maps a request kind ("login", "siteinfo", "allrevisions", "revids", "anon", ...)
    to a list of canned (status, headers, body) answers used before the normal behaviour.
    """

    def __init__(self, *, private=False, highlimits=True, page_size=2):
        self.private = private
        self.highlimits = highlimits
        self.page_size = page_size
        self.script: dict[str, list] = {}
        self.calls: list[tuple[str, dict]] = []
        self.pages = {
            10: {"ns": 0, "title": "Alpha", "categories": ["Category:Greek"], "talkid": 11,
                 "protection": [{"type": "edit", "level": "sysop", "expiry": "infinity"}],
                 "revs": [(100, "2024-01-01T00:00:00Z", "Ann", "created", "alpha one"),
                          (101, "2024-01-01T00:00:00Z", "Bob", "same second", "alpha two"),
                          (104, "2024-01-02T00:00:00Z", "Ann", "third", "alpha three ✓")]},
            11: {"ns": 1, "title": "Talk:Alpha", "subjectid": 10,
                 "revs": [(102, "2024-01-01T10:00:00Z", "Cid", "comment", "Nice page")]},
            12: {"ns": 6, "title": "File:Doc.txt",
                 "revs": [(103, "2024-01-01T12:00:00Z", "Ann", "upload", "a document")],
                 "imageinfo": [
                     {"timestamp": "2024-01-03T00:00:00Z", "user": "Bob", "size": 9, "comment": "v2",
                      "url": "http://wiki.test/images/Doc.txt", "mime": "text/plain",
                      "sha1": hashlib.sha1(b"version 2").hexdigest()},
                     {"timestamp": "2024-01-01T12:00:00Z", "user": "Ann", "size": 9, "comment": "v1",
                      "url": "http://wiki.test/images/archive/20240101120000!Doc.txt",
                      "archivename": "20240101120000!Doc.txt", "mime": "text/plain",
                      "sha1": hashlib.sha1(b"version 1").hexdigest()}]},
        }

    # --- plumbing
    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.GET, FAKE_API, callback=self)
        rsps.add_callback(responses.POST, FAKE_API, callback=self)
        rsps.add(responses.GET, "http://wiki.test/images/Doc.txt", body=b"version 2")
        rsps.add(responses.GET, "http://wiki.test/images/archive/20240101120000!Doc.txt", body=b"version 1")

    def __call__(self, request):
        params = dict(parse_qsl(urlsplit(request.url).query))
        if request.body:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            params.update(parse_qsl(body))
        kind = self.kind(params)
        self.calls.append((kind, params))
        if self.script.get(kind):
            status, headers, answer = self.script[kind].pop(0)
            return status, headers, json.dumps(answer) if not isinstance(answer, str) else answer
        return 200, {"Content-Type": "application/json"}, json.dumps(getattr(self, "do_" + kind)(params))

    @staticmethod
    def kind(p: dict) -> str:
        if p.get("action") == "login":
            return "login"
        if p.get("meta") == "tokens":
            return "token"
        if p.get("meta") == "siteinfo" and "maxlag" not in p:
            return "anon"
        if "siteinfo" in p.get("meta", ""):
            return "siteinfo"
        if "list" in p:
            return p["list"]
        if "revids" in p:
            return "revids"
        if "pageids" in p:
            return "pageids"
        return "other"

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)

    # --- behaviour
    def do_token(self, p):
        return {"batchcomplete": True, "query": {"tokens": {"logintoken": "abc+\\"}}}

    def do_login(self, p):
        if p.get("lgpassword") != SECRET:
            return {"login": {"result": "Failed", "reason": "Incorrect username or password entered."}}
        return {"login": {"result": "Success", "lguserid": 1, "lgusername": "Bot"}}

    def do_anon(self, p):
        if self.private:
            return api_error("readapidenied", "You need read permission to use this module.")
        return {"batchcomplete": True, "query": {"general": {"sitename": "Fake"}}}

    def do_siteinfo(self, p):
        rights = ["read", "edit"] + (["apihighlimits"] if self.highlimits else [])
        return {"batchcomplete": True, "query": {
            "general": {"sitename": "Fake", "generator": "MediaWiki 1.39.17", "time": "2024-02-01T00:00:00Z",
                        "server": "http://wiki.test", "script": "/w/index.php", "readonly": False},
            "namespaces": {"0": {"id": 0, "name": ""}, "1": {"id": 1, "name": "Talk"},
                           "6": {"id": 6, "name": "File"}},
            "usergroups": [{"name": "*", "rights": ["createaccount"] + ([] if self.private else ["read"])}],
            "statistics": {"pages": 3, "articles": 1, "edits": 5, "images": 1, "users": 3},
            "userinfo": {"id": 1, "name": "Bot", "rights": rights}}}

    def all_revs(self):
        rows = [(ts, rid, pid) for pid, page in self.pages.items() for rid, ts, *_ in page["revs"]]
        return sorted(rows)

    def do_allrevisions(self, p):
        rows = self.all_revs()
        start = int(p.get("arvcontinue", 0))
        chunk = rows[start:start + self.page_size]
        grouped: dict[int, list] = {}
        for ts, rid, pid in chunk:
            grouped.setdefault(pid, []).append({"revid": rid, "parentid": 0, "timestamp": ts})
        out = {"query": {"allrevisions": [
            {"pageid": pid, "ns": self.pages[pid]["ns"], "title": self.pages[pid]["title"], "revisions": revs}
            for pid, revs in grouped.items()]}}
        if start + self.page_size < len(rows):
            out["continue"] = {"arvcontinue": str(start + self.page_size), "continue": "-||"}
        else:
            out["batchcomplete"] = True
        return out

    def page_json(self, pid: int, with_info: bool) -> dict:
        page = self.pages[pid]
        out = {"pageid": pid, "ns": page["ns"], "title": page["title"]}
        if with_info:
            out.update(contentmodel="wikitext", lastrevid=page["revs"][-1][0], length=10,
                       protection=page.get("protection", []),
                       canonicalurl=f"http://wiki.test/wiki/{page['title']}")
            for key in ("talkid", "subjectid"):
                if key in page:
                    out[key] = page[key]
            if page.get("categories"):
                out["categories"] = [{"ns": 14, "title": c} for c in page["categories"]]
            if page.get("imageinfo"):
                out["imageinfo"] = page["imageinfo"]
        return out

    def do_revids(self, p):
        """Revisions by id, at most page_size per answer (rvcontinue), info only in the first answer."""
        wanted = [int(r) for r in p["revids"].split("|")]
        start = int(p.get("rvcontinue", 0))
        chunk = wanted[start:start + self.page_size]
        pages: dict[int, dict] = {}
        by_id = {rev[0]: (pid, rev) for pid, page in self.pages.items() for rev in page["revs"]}
        for pid in {by_id[r][0] for r in wanted if r in by_id}:
            pages[pid] = self.page_json(pid, with_info=start == 0)
        for rid in chunk:
            if rid not in by_id:
                continue
            pid, (_, ts, user, comment, text) = by_id[rid]
            data = text.encode()
            pages[pid].setdefault("revisions", []).append({
                "revid": rid, "parentid": 0, "minor": False, "user": user, "timestamp": ts,
                "size": len(data), "sha1": hashlib.sha1(data).hexdigest(), "comment": comment, "tags": [],
                "slots": {"main": {"size": len(data), "sha1": hashlib.sha1(data).hexdigest(),
                                   "contentmodel": "wikitext", "contentformat": "text/x-wiki",
                                   "content": text}}})
        out = {"query": {"pages": list(pages.values())}}
        missing = [r for r in wanted if r not in by_id]
        if missing and start == 0:
            out["query"]["badrevids"] = {str(r): {"revid": r, "missing": True} for r in missing}
        if start + self.page_size < len(wanted):
            out["continue"] = {"rvcontinue": str(start + self.page_size), "continue": "||info|categories"}
        else:
            out["batchcomplete"] = True
        return out


def fake_source(fake: FakeWiki, **kw) -> tuple[MediaWikiSource, list[float]]:
    sleeps: list[float] = []
    kw.setdefault("attempts", 4)
    source = MediaWikiSource("wiki", FAKE_API, "Bot@archiver", kw.pop("password", SECRET),
                             sleep=sleeps.append, **kw)
    return source, sleeps


@pytest.fixture
def fake():
    wiki = FakeWiki()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        wiki.install(rsps)
        yield wiki


def test_full_crawl_follows_every_continuation(fake):
    source, _ = fake_source(fake, batch_size=2)   # 2 revisions per content request: pages straddle
    state: dict = {}
    objs = list(source.changes(state))
    assert [o.native_id for o in objs] == ["10", "11", "12"]   # each page once, oldest first
    alpha, talk, file_page = objs
    assert [r.id for r in alpha.revisions] == ["100", "101", "104"]
    assert [read(r.content) for r in alpha.revisions] == [b"alpha one", b"alpha two", "alpha three ✓".encode()]
    assert alpha.author == "Ann" and alpha.modified == parse_ts("2024-01-02T00:00:00Z")
    assert alpha.tags == ("Greek",) and alpha.extra["protection"] == "edit=sysop"
    assert alpha.url == "http://wiki.test/w/index.php?curid=10" and alpha.space == "Main"
    assert talk.parent_id == "10" and talk.space == "Talk"
    # allrevisions: 5 revisions, 2 per answer -> 3 requests, each continuing the previous one
    arv = [p for k, p in fake.calls if k == "allrevisions"]
    assert len(arv) == 3 and [p.get("arvcontinue") for p in arv] == [None, "2", "4"]
    assert all(p["arvnamespace"] == "0|1|2|3|4|5|6|7|10|11|12|13|14|15" for p in arv)
    # content: batches of 2 revids, each answered in one go (page_size 2)
    assert fake.count("revids") == 3
    att = file_page.attachments[0]
    assert [r.comment for r in att.revisions] == ["v1", "v2"]
    assert [read(r.content) for r in att.revisions] == [b"version 1", b"version 2"]
    assert state["checkpoint"] == "2024-01-31T23:50:00Z"
    assert all(p.get("assert") == "user" and p.get("maxlag") == "5"
               for k, p in fake.calls if k not in ("token", "login", "anon"))


def test_revids_continuation_inside_one_batch(fake):
    fake.page_size = 1   # every answer carries one revision and continues
    source, _ = fake_source(fake)
    objs = list(source.changes({}))
    assert [len(o.revisions) for o in objs] == [3, 1, 1]
    rv = [p for k, p in fake.calls if k == "revids"]
    assert [p.get("rvcontinue") for p in rv] == [None, "1", "2", "3", "4"]
    assert objs[0].tags == ("Greek",)   # info/categories from the first answer only, not repeated


def test_maxlag_with_retry_after_is_retried(fake):
    fake.script["siteinfo"] = [(200, {"Retry-After": "7", "X-Database-Lag": "12",
                                      "MediaWiki-API-Error": "maxlag"},
                                api_error("maxlag", "Waiting for db: 12 seconds lagged.",
                                          host="db", lag=12, type="db"))]
    source, sleeps = fake_source(fake)
    assert source.check()["version"] == "MediaWiki 1.39.17"
    assert sleeps == [7.0]
    assert fake.count("siteinfo") == 2


def test_maxlag_without_header_waits_for_the_lag(fake):
    fake.script["siteinfo"] = [(200, {}, api_error("maxlag", "lagged", lag=3))]
    source, sleeps = fake_source(fake)
    source.check()
    assert sleeps == [3.0]


def test_ratelimited_is_retriable_with_backoff(fake):
    limited = (200, {"MediaWiki-API-Error": "ratelimited"},
               api_error("ratelimited", "You've exceeded your rate limit. Please wait some time and try again."))
    fake.script["siteinfo"] = [limited, limited]
    source, sleeps = fake_source(fake)
    source.check()   # third attempt succeeds
    assert len(sleeps) == 2 and all(0 < s <= 61 for s in sleeps)
    fake.script["siteinfo"] = [limited] * 10
    with pytest.raises(Retriable, match="ratelimited"):
        source.check()


def test_readonly_login_is_retriable(fake):
    readonly = (200, {"MediaWiki-API-Error": "readonly"},
                api_error("readonly", "The wiki is currently in read-only mode.",
                          readonlyreason="maintenance\n"))
    fake.script["login"] = [readonly] * 10
    source, sleeps = fake_source(fake)
    with pytest.raises(Retriable, match="read-only.*maintenance"):
        source.check()
    assert len(sleeps) == 3   # attempts=4


def test_readapidenied_is_fatal_without_the_password(fake):
    fake.script["siteinfo"] = [(200, {"MediaWiki-API-Error": "readapidenied"},
                                api_error("readapidenied", "You need read permission to use this module."))]
    source, sleeps = fake_source(fake)
    with pytest.raises(Fatal, match="readapidenied") as exc:
        source.check()
    assert SECRET not in str(exc.value) and sleeps == []


def test_login_failure_is_fatal_and_never_shows_the_password(fake):
    source, _ = fake_source(fake, password="wrong-" + SECRET)
    with pytest.raises(Fatal, match="login as 'Bot@archiver'.*Incorrect") as exc:
        source.check()
    assert SECRET not in str(exc.value) and SECRET not in repr(source)


def test_lost_session_logs_in_again_once(fake):
    lost = (200, {}, api_error("assertuserfailed", "You are no longer logged in."))
    fake.script["siteinfo"] = [lost]
    source, _ = fake_source(fake)
    source.check()
    assert fake.count("login") == 2
    fake.script["siteinfo"] = [lost, lost]
    with pytest.raises(Fatal, match="session again"):
        source.check()


def test_other_api_error_is_skippable(fake):
    fake.script["siteinfo"] = [(200, {}, api_error("badvalue", "Unrecognized value for parameter"))]
    source, _ = fake_source(fake)
    with pytest.raises(Skippable, match="badvalue"):
        source.check()


def test_http_503_with_retry_after_then_ok(fake):
    fake.script["siteinfo"] = [(503, {"Retry-After": "2"}, "<html>busy</html>")]
    source, sleeps = fake_source(fake)
    source.check()
    assert sleeps == [2.0]


def test_non_json_answer_is_retried(fake):
    fake.script["siteinfo"] = [(200, {"Content-Type": "text/html"}, "<html>PHP Fatal error</html>")]
    source, sleeps = fake_source(fake)
    source.check()
    assert len(sleeps) == 1


def test_private_wiki_marks_items_restricted(fake):
    fake.private = True
    source, _ = fake_source(fake)
    assert source.check()["anonymous_can_read"] is False
    objs = list(source.changes({}))
    assert all(o.visibility.reason == "private wiki" and o.visibility.readers == ("group:user",) for o in objs)
    assert objs[2].attachments[0].visibility.reason == "private wiki"


def test_without_highlimits_batches_are_50(fake):
    fake.highlimits = False
    source, _ = fake_source(fake)
    assert source.check()["revisions_per_request"] == 50


def test_file_digest_mismatch_is_detected(fake):
    source, _ = fake_source(fake)
    objs = list(source.changes({}))
    rev = objs[2].attachments[0].revisions[0]
    bad = type(rev.content)(media_type=rev.content.media_type, chunks=rev.content.chunks,
                            size=rev.content.size, source_digest=("sha1", "0" * 40))
    with pytest.raises(DigestMismatch, match="sha1"):
        read(bad)


def test_state_untouched_when_the_run_stops_early(fake):
    source, _ = fake_source(fake)
    state: dict = {}
    gen = source.changes(state)
    next(gen)
    gen.close()
    assert state == {}
    list(source.changes(state))
    assert state["checkpoint"] == "2024-01-31T23:50:00Z"


def test_huge_history_is_yielded_in_slices_oldest_first(fake, monkeypatch):
    import connector.sources.mediawiki.feed as mw
    monkeypatch.setattr(mw, "ITEM_BYTES_BUDGET", 1)   # every buffered revision exceeds the budget
    source, _ = fake_source(fake, batch_size=1)
    alpha = [o for o in source.changes({}) if o.native_id == "10"]
    assert [[r.id for r in o.revisions] for o in alpha] == [["100"], ["101"], ["104"]]
    assert {o.author for o in alpha} == {"Ann"} and {o.created for o in alpha} == {parse_ts("2024-01-01T00:00:00Z")}
