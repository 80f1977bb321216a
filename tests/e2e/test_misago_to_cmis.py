"""Misago → OpenCMIS InMemory, both real: a forum archived through `Archive.sync`."""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources import build

from ..conftest import write_config
from ..sources.test_misago import ADMIN, PNG, STATE, URL, Client, SKIP_REASON, _reachable
from .shared import MISAGO_FORUM, STAFF_LOUNGE, permissions

pytestmark = pytest.mark.integration

SOURCE = MISAGO_FORUM + STAFF_LOUNGE
PERMISSIONS = permissions({"role:moderator": "GROUP_forum_moderators"})


@pytest.fixture(scope="module")
def forum(cmis_url):
    if not URL:
        pytest.skip(SKIP_REASON)
    _reachable()
    categories = json.loads((Path(STATE) / "categories.json").read_text())
    tag = uuid.uuid4().hex[:8]
    admin = Client(*ADMIN)
    att = admin.s.post(URL + "/api/attachments/", files={"upload": (f"e2e-{tag}.png", PNG, "image/png")},
                       timeout=30).json()
    v0 = f"E2E first {tag}\n\n[attachment={att['id']}]dot.png[/attachment]"
    thread = admin.call("POST", "/api/threads/", json={"title": f"E2E thread {tag}", "category": categories["engineering"],
                                                         "post": v0, "attachments": [att["id"]]})
    tid = thread["id"]
    first = admin.call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][0]["id"]
    admin.call("PUT", f"/api/threads/{tid}/posts/{first}/", json={"post": v0 + "\nedited", "attachments": [att["id"]]})
    hidden = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"E2E hidden {tag}"})["id"]
    admin.call("PATCH", f"/api/threads/{tid}/posts/{hidden}/", json=[{"op": "replace", "path": "is-hidden", "value": True}])
    staff = admin.call("POST", "/api/threads/", json={"title": f"E2E staff {tag}", "category": categories["staff"],
                                                        "post": f"E2E staff secret {tag}"})["id"]
    staff_post = admin.call("GET", f"/api/threads/{staff}/posts/")["post_set"]["results"][0]["id"]
    return {"admin": admin, "tid": tid, "first": first, "hidden": hidden, "staff": staff,
            "staff_post": staff_post, "att": att["id"], "v0": v0}


@pytest.fixture(scope="module")
def archived(forum, cmis_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("misago-e2e")
    (tmp / "misago-password").write_text(ADMIN[1])
    path = write_config(tmp, cmis_url, sources=SOURCE.format(url=URL), permissions=PERMISSIONS)
    cfg = config.load(path)
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    source = build("forum", "misago", cfg.sources["forum"].options)
    summary = pipeline.sync(source)
    yield archive, cfg, summary, pipeline   # one pipeline for the module's runs: they are numbered
    archive.close()


def _source(cfg):
    return build("forum", "misago", cfg.sources["forum"].options)


def test_every_thread_post_edit_and_attachment_is_archived(forum, archived):
    archive, _, summary, _ = archived
    assert summary.outcome == "ok" and summary.quarantined == 0
    ledger = archive.ledger
    for key in (f"forum/thread/thread:{forum['tid']}", f"forum/post/post:{forum['hidden']}",
                f"forum/thread/thread:{forum['staff']}", f"forum/post/post:{forum['staff_post']}"):
        assert ledger.record(key) is not None, key
    first = ledger.record(f"forum/post/post:{forum['first']}")
    versions = archive.repo.versions(first["object_id"])
    assert [v["sa:revisionId"] for v in versions][0] == "0" and len(versions) == 2
    assert b"".join(archive.repo.content(versions[0]["cmis:objectId"])).decode() == forum["v0"]
    att = ledger.record(f"forum/attachment/attachment:{forum['att']}")
    props = archive.repo.latest(att["object_id"])
    stored = hashlib.sha256(b"".join(archive.repo.content(att["object_id"]))).hexdigest()
    assert stored == props["sa:sha256"] == hashlib.sha256(PNG).hexdigest()
    assert props["sa:parentId"] == f"post:{forum['first']}"


def test_hidden_category_and_hidden_post_not_readable_by_everyone(forum, archived):
    archive, _, _, _ = archived
    for key in (f"forum/thread/thread:{forum['staff']}", f"forum/post/post:{forum['staff_post']}",
                f"forum/post/post:{forum['hidden']}"):
        acl = archive.repo.acl(archive.ledger.record(key)["object_id"])
        assert "anyone" not in acl and "anonymous" not in acl, (key, acl)
        assert acl["GROUP_forum_moderators"] == {"cmis:read"}
    public = archive.repo.acl(archive.ledger.record(f"forum/thread/thread:{forum['tid']}")["object_id"])
    assert public["anyone"] == {"cmis:read"}


def _mine(forum) -> list[str]:
    return [f"forum/thread/thread:{forum['tid']}", f"forum/post/post:{forum['first']}",
            f"forum/post/post:{forum['hidden']}", f"forum/attachment/attachment:{forum['att']}",
            f"forum/thread/thread:{forum['staff']}", f"forum/post/post:{forum['staff_post']}"]


def test_edit_adds_one_version_and_second_sync_files_nothing(forum, archived):
    """Counted on this test's own records: other tests may write to the same forum meanwhile."""
    archive, cfg, _, pipeline = archived
    before = {key: set(archive.ledger.filed_revisions(key)) for key in _mine(forum)}
    forum["admin"].call("PUT", f"/api/threads/{forum['tid']}/posts/{forum['first']}/",
                        json={"post": forum["v0"] + "\nedited twice", "attachments": [forum["att"]]})
    after_edit = pipeline.sync(_source(cfg))
    assert after_edit.outcome == "ok" and after_edit.quarantined == 0
    after = {key: set(archive.ledger.filed_revisions(key)) for key in _mine(forum)}
    added = {key: after[key] - before[key] for key in after if after[key] - before[key]}
    first = f"forum/post/post:{forum['first']}"
    assert list(added) == [first] and len(added[first]) == 1
    versions = archive.repo.versions(archive.ledger.record(first)["object_id"])
    assert len(versions) == 3 and b"edited twice" in b"".join(archive.repo.content(versions[-1]["cmis:objectId"]))
    quiet = pipeline.sync(_source(cfg))
    assert quiet.outcome == "ok"
    assert {key: set(archive.ledger.filed_revisions(key)) for key in _mine(forum)} == after


WORLD = {"anyone", "anonymous", "cmis:anyone", "cmis:anonymous", "GROUP_EVERYONE", "everyone", "guest"}


def test_a_thread_moved_into_the_staff_lounge_is_restricted_with_its_posts_and_attachment(forum, cmis_url, tmp_path):
    """No post is edited: the move's own event post is the only new content, so the thread's older
    posts and their attachment are narrowed by the sweep (no overlap window re-reads them). The
    sync runs with ``--reconcile``, whose full listing starts the source's reading afresh: the
    access pass comes before it, while the source still knows what this run's changes read."""
    categories = json.loads((Path(STATE) / "categories.json").read_text())
    admin, tag = forum["admin"], uuid.uuid4().hex[:8]
    att = admin.s.post(URL + "/api/attachments/", files={"upload": (f"moved-{tag}.png", PNG, "image/png")},
                       timeout=30).json()["id"]
    tid = admin.call("POST", "/api/threads/", json={"title": f"E2E moved {tag}", "category": categories["engineering"],
                                                      "post": f"E2E moved first {tag}", "attachments": [att]})["id"]
    first = admin.call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][0]["id"]
    reply = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"E2E moved reply {tag}"})["id"]
    (tmp_path / "misago-password").write_text(ADMIN[1])
    sources = SOURCE.format(url=URL).replace('password_file = "misago-password"\n',
                                              'password_file = "misago-password"\noverlap_minutes = 0\n')
    cfg = config.load(write_config(tmp_path, cmis_url, sources=sources, permissions=PERMISSIONS))
    keys = [f"forum/thread/thread:{tid}", f"forum/post/post:{first}", f"forum/post/post:{reply}",
            f"forum/attachment/attachment:{att}"]
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        assert pipeline.sync(_source(cfg)).outcome == "ok"

        def acls(key: str) -> list[dict]:
            object_id = archive.ledger.record(key)["object_id"]
            return [archive.repo.acl(v["cmis:objectId"]) for v in archive.repo.versions(object_id)]

        assert all(acl.get("anyone") == {"cmis:read"} for key in keys for acl in acls(key))
        versions = {key: set(archive.ledger.filed_revisions(key)) for key in keys[1:]}
        time.sleep(1.1)  # the server's Date header has 1 s resolution: the move lands after the checkpoint
        admin.call("PATCH", f"/api/threads/{tid}/", json=[{"op": "replace", "path": "category",
                                                           "value": categories["staff"]}])
        summary = pipeline.sync(_source(cfg), reconcile=True)
        assert summary.outcome == "ok" and summary.quarantined == 0
        assert {key: set(archive.ledger.filed_revisions(key)) for key in keys[1:]} == versions  # no new version
        for key in keys:
            for acl in acls(key):
                assert not WORLD & set(acl), (key, acl)
                assert acl["GROUP_forum_moderators"] == {"cmis:read"}, (key, acl)
    finally:
        archive.close()
