"""Permissions matrix: every restricted kind of item of every source, filed into the real OpenCMIS,
has an ACL (read back from the repository) without a world-readable entry; an unmapped source
principal restricts and is warned about.

MediaWiki (real): a page of a private wiki (``$wgGroupPermissions['*']['read'] = false`` through
the server's ``Extra.php`` switch, restored at once), a file uploaded there, a page in a restricted
namespace. WordPress (real): private, draft, pending, future, password-protected and trashed posts,
the media of a private post, a comment on a private post. Misago (real): a thread and a post in a
moderator-only category, a hidden post, a hidden thread, the attachment of a staff post, a private
thread. Discourse (documented-shape fixtures): a restricted category's topic and post, a whisper,
a soft-deleted post, a private message.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import responses

from connector import config
from connector.archive import Archive
from connector.model import Item
from connector.pipeline import Pipeline
from connector.sources.mediawiki import MediaWikiSource
from connector.sources.misago import MisagoSource
from connector.summary import Summary

from ..conftest import write_config

WORLD = {"anyone", "anonymous", "cmis:anyone", "cmis:anonymous", "GROUP_EVERYONE", "Everyone", "guest", "*"}
PERMISSIONS = """
[permissions]
archive_admins = ["admin"]
restricted_readers = ["GROUP_records"]
[permissions.principals]
"role:editor" = "GROUP_editors"
"group:team" = "GROUP_team"
"group:staff" = "GROUP_staff"
"role:moderator" = "GROUP_moderators"
"""
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def _archive(tmp_path) -> Archive:
    return Archive.open(config.load(write_config(tmp_path, _cmis(), permissions=PERMISSIONS)))


def _cmis() -> str:
    import os
    return os.environ["SA_TEST_CMIS_URL"]


def _file_all(archive: Archive, objects) -> dict[str, Item]:
    summary, pipeline = Summary(source="perm"), Pipeline(archive)
    items = {}
    for obj in objects:
        pipeline.archive_object(obj, summary)
        if isinstance(obj, Item):
            items[obj.key] = obj
            items.update({a.key: a for a in obj.attachments})
    return items


def _assert_restricted_acl(archive: Archive, key: str) -> dict:
    record = archive.ledger.record(key)
    assert record is not None, f"{key} was not archived"
    assert not archive.ledger.quarantined() or key not in {q[0] for q in archive.ledger.quarantined()}
    props = archive.repo.latest(record["object_id"])
    acl = archive.repo.acl(record["object_id"])
    for version in archive.repo.versions(record["object_id"]):     # every version, not only the latest
        assert not WORLD & set(archive.repo.acl(version["cmis:objectId"])), (key, version["cmis:versionLabel"])
    assert not WORLD & set(acl), (key, acl)
    assert acl.get("admin") == {"cmis:all"} and acl.get("GROUP_records") == {"cmis:read"}, (key, acl)
    assert all(perms == {"cmis:read"} for p, perms in acl.items() if p != "admin"), (key, acl)
    value = props.get("sa:visibility")
    assert (value[0] if isinstance(value, list) else value) == "restricted", key
    return acl


# ============================================================================ MediaWiki

@pytest.fixture(scope="module")
def mediawiki(cmis_url, tmp_path_factory):
    from ..sources.test_mediawiki import API, BOT_USER, Wiki, _bot_password, _switch
    if not API:
        pytest.skip("set SA_TEST_MW_API to run against a real MediaWiki (make test does)")
    password = _bot_password()
    wiki = Wiki(API, BOT_USER, password)
    tag = uuid.uuid4().hex[:8]
    t0 = wiki.server_time() - timedelta(seconds=1)
    private_page = wiki.edit(f"MediaWiki talk:SA perm private {tag}", "members only")["pageid"]
    wiki.upload(f"SA perm {tag}.txt", f"private file {tag}\n".encode(), "private upload")
    restricted_page = wiki.edit(f"Project:SA perm internal {tag}", "internal")["pageid"]
    make = lambda **kw: MediaWikiSource("wiki", API, BOT_USER, password, **kw)  # noqa: E731
    extra = _switch("Extra.php")
    previous = extra.read_text() if extra.exists() else None
    extra.write_text("<?php\n$wgGroupPermissions['*']['read'] = false;\n")
    try:   # the wiki is private only while its items are read; filing happens after the restore
        source = make(namespaces=(9, 6))
        assert source.check()["anonymous_can_read"] is False
        private_objects = list(source.backfill(t0, None))
    finally:
        if previous is None:
            extra.unlink()
        else:
            extra.write_text(previous)
    restricted_objects = list(make(namespaces=(4,), restricted_namespaces=(4,)).backfill(t0, None))
    archive = _archive(tmp_path_factory.mktemp("perm-mw"))
    items = _file_all(archive, private_objects + restricted_objects)
    file_pid = wiki.call("GET", action="query", titles=f"File:SA perm {tag}.txt")["query"]["pages"][0]["pageid"]
    keys = {"private wiki page": f"wiki/page/{private_page}",
            "file of a private wiki": f"wiki/file/file:{file_pid}",
            "file page of a private wiki": f"wiki/page/{file_pid}",
            "page in a restricted namespace": f"wiki/page/{restricted_page}"}
    yield archive, keys, items
    archive.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["private wiki page", "file of a private wiki", "file page of a private wiki",
                                  "page in a restricted namespace"])
def test_mediawiki_restricted_items_are_not_world_readable(mediawiki, kind):
    archive, keys, items = mediawiki
    _assert_restricted_acl(archive, keys[kind])


# ============================================================================ WordPress

@pytest.fixture(scope="module")
def wordpress(cmis_url, tmp_path_factory):
    import os
    from ..sources.test_wordpress import URL, Admin, STATE as WP_STATE
    if not URL:
        pytest.skip("set SA_TEST_WP_URL to run against a real WordPress (make test does)")
    wp = Admin(Path(os.path.join(WP_STATE, "app_password")).read_text().strip())
    tag = uuid.uuid4().hex[:8]
    t0 = datetime.now(timezone.utc) - timedelta(seconds=5)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    posts = {
        "private post": wp.post(title=f"Perm private {tag}", status="private"),
        "draft post": wp.post(title=f"Perm draft {tag}", status="draft"),
        "pending post": wp.post(title=f"Perm pending {tag}", status="pending"),
        "future post": wp.post(title=f"Perm future {tag}", status="future", date=tomorrow),
        "password post": wp.post(title=f"Perm password {tag}", password=f"pw-{tag}"),
        "trashed post": wp.post(title=f"Perm trash {tag}"),
    }
    wp.call("DELETE", f"/posts/{posts['trashed post']['id']}")
    media = wp.upload(PNG, f"perm-{tag}.png", "image/png", post_id=posts["private post"]["id"])
    comment = wp.comment(posts["password post"]["id"])
    time.sleep(1.5)      # a run's window ends at its start second (exclusive): be past it
    archive = _archive(tmp_path_factory.mktemp("perm-wp"))
    # an incremental run from just before: it lists scheduled (future) posts too, a date range does not
    archive.ledger.save_source_state("blog", {"checkpoint": t0.isoformat(),
                                              "swept_at": datetime.now(timezone.utc).isoformat()})
    summary = Pipeline(archive).sync(wp.source())
    assert summary.outcome in ("ok", "quarantined"), summary.errors
    keys = {kind: f"blog/post/post:{post['id']}" for kind, post in posts.items()}
    keys["media of a private post"] = f"blog/media/media:{media['id']}"
    keys["comment on a password post"] = f"blog/comment/comment:{comment['id']}"
    yield archive, keys, tag
    archive.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["private post", "draft post", "pending post", "future post", "password post",
                                  "trashed post", "media of a private post", "comment on a password post"])
def test_wordpress_restricted_items_are_not_world_readable(wordpress, kind):
    archive, keys, tag = wordpress
    acl = _assert_restricted_acl(archive, keys[kind])
    assert acl.get("GROUP_editors") == {"cmis:read"}                # the mapped source role
    props = archive.repo.latest(archive.ledger.record(keys[kind])["object_id"])
    assert f"pw-{tag}" not in json.dumps(props)                       # no post password archived


# ============================================================================ Misago

@pytest.fixture(scope="module")
def misago(cmis_url, tmp_path_factory):
    from ..sources.test_misago import ADMIN, ALICE, STATE as MISAGO_STATE, URL as MISAGO_URL, Client, _reachable
    if not MISAGO_URL:
        pytest.skip("set SA_TEST_MISAGO_URL to run against a real Misago (make test does)")
    _reachable()
    categories = json.loads((Path(MISAGO_STATE) / "categories.json").read_text())
    tag = uuid.uuid4().hex[:8]
    admin = Client(*ADMIN)
    t0 = datetime.now(timezone.utc) - timedelta(seconds=5)
    att = admin.s.post(MISAGO_URL + "/api/attachments/", files={"upload": (f"perm-{tag}.png", PNG, "image/png")},
                       timeout=30).json()
    staff = admin.call("POST", "/api/threads/", json={
        "title": f"Perm staff {tag}", "category": categories["staff"],
        "post": f"staff secret {tag}\n[attachment={att['id']}]p.png[/attachment]", "attachments": [att["id"]]})
    staff_post = admin.call("GET", f"/api/threads/{staff['id']}/posts/")["post_set"]["results"][0]["id"]
    public = admin.call("POST", "/api/threads/", json={"title": f"Perm public {tag}",
                                                         "category": categories["engineering"], "post": f"hi {tag}"})
    hidden = admin.call("POST", f"/api/threads/{public['id']}/posts/", json={"post": f"hide me {tag}"})
    admin.call("PATCH", f"/api/threads/{public['id']}/posts/{hidden['id']}/",
               json=[{"op": "replace", "path": "is-hidden", "value": True}])
    hidden_thread = admin.call("POST", "/api/threads/", json={"title": f"Perm hidden thread {tag}",
                                                                "category": categories["engineering"],
                                                                "post": f"hidden thread {tag}"})
    admin.call("PATCH", f"/api/threads/{hidden_thread['id']}/",
               json=[{"op": "replace", "path": "is-hidden", "value": True}])
    private = admin.call("POST", "/api/private-threads/", json={"title": f"Perm private {tag}", "to": [ALICE[0]],
                                                               "post": f"between us {tag}"})
    source = MisagoSource("forum", MISAGO_URL, *ADMIN, public_categories=("Engineering",),
                          category_visibility={"Staff lounge": ("role:moderator",)}, include_private_threads=True)
    archive = _archive(tmp_path_factory.mktemp("perm-misago"))
    summary = Pipeline(archive).backfill(source, t0, None)
    assert summary.outcome in ("ok", "quarantined"), summary.errors
    keys = {"thread in a moderator-only category": f"forum/thread/thread:{staff['id']}",
            "post in a moderator-only category": f"forum/post/post:{staff_post}",
            "attachment of a staff post": f"forum/attachment/attachment:{att['id']}",
            "hidden post": f"forum/post/post:{hidden['id']}",
            "hidden thread": f"forum/thread/thread:{hidden_thread['id']}",
            "private thread": f"forum/thread/thread:{private['id']}"}
    yield archive, keys
    archive.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["thread in a moderator-only category", "post in a moderator-only category",
                                  "attachment of a staff post", "hidden post", "hidden thread", "private thread"])
def test_misago_restricted_items_are_not_world_readable(misago, kind):
    archive, keys = misago
    _assert_restricted_acl(archive, keys[kind])


# ============================================================================ Discourse (fixtures)

@pytest.fixture(scope="module")
def discourse(cmis_url, tmp_path_factory):
    from ..sources.test_discourse import FakeTime, get, register_run1, source
    archive = _archive(tmp_path_factory.mktemp("perm-discourse"))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(cmis_url.split("/inmemory")[0])
        register_run1(rsps)
        get(rsps, "/topics/private-messages/archivist.json", "pm_inbox_archivist.json", {"page": "0"})
        get(rsps, "/topics/private-messages/archivist.json", "topic_list_empty.json", {"page": "1"})
        get(rsps, "/topics/private-messages-sent/archivist.json", "topic_list_empty.json", {"page": "0"})
        get(rsps, "/t/300.json", "t_300.json")
        get(rsps, "/posts/3000.json", "post_3000.json")
        summary = Pipeline(archive).sync(source(FakeTime(), include_private_messages=True))
    assert summary.outcome in ("ok", "quarantined"), summary.errors
    yield archive
    archive.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind, key", [("topic in a restricted category", "talk/thread/thread:200"),
                                       ("post in a restricted category", "talk/post/post:2000"),
                                       ("whisper", "talk/post/post:2001"),
                                       ("soft-deleted post", "talk/post/post:1010"),
                                       ("private message", "talk/thread/thread:300"),
                                       ("post of a private message", "talk/post/post:3000")])
def test_discourse_restricted_items_are_not_world_readable(discourse, kind, key):
    _assert_restricted_acl(discourse, key)


# ============================================================================ unmapped principals

@pytest.mark.integration
def test_an_unmapped_principal_restricts_and_is_warned_about(cmis_url, tmp_path, caplog):
    from ..cmis.test_filer_inmemory import page
    from connector.model import Visibility
    archive = _archive(tmp_path)
    try:
        item = page("u1", "Unmapped readers", revisions=1,
                    visibility=Visibility.restricted("private", ["group:nobody-mapped-this", "role:editor"]))
        with caplog.at_level(logging.WARNING, logger="connector.mapping"):
            _file_all(archive, [item])
        warnings = [r.getMessage() for r in caplog.records if "not mapped" in r.getMessage()]
        assert any("group:nobody-mapped-this" in w for w in warnings), warnings
        acl = _assert_restricted_acl(archive, item.key)
        assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_editors": {"cmis:read"}}
    finally:
        archive.close()
