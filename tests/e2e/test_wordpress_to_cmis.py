"""WordPress → OpenCMIS InMemory, both real: a blog archived through `Archive.sync`.

Servers: the real WordPress 6.1 of ``make test`` (``SA_TEST_WP_URL``, application password in
``SA_TEST_WP_STATE``) and the real Apache Chemistry OpenCMIS InMemory server (``SA_TEST_CMIS_URL``).
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources import build

from ..conftest import write_config
from ..sources.test_wordpress import STATE, URL, wp  # noqa: F401 - the `wp` fixture: real WordPress
from .shared import WORDPRESS_BLOG, permissions

pytestmark = pytest.mark.integration

SOURCE = WORDPRESS_BLOG
PERMISSIONS = permissions({"role:editor": "GROUP_blog_editors", "user:admin": "admin"})
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


@pytest.fixture(scope="module")
def blog(wp):  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    cat = wp.call("POST", "/categories", json={"name": f"Cat {tag}"})["id"]
    label = wp.call("POST", "/tags", json={"name": f"tag-{tag}"})["id"]
    public = wp.post(title=f"Public {tag}", categories=[cat], tags=[label])
    wp.call("POST", f"/posts/{public['id']}", json={"content": f"<p>second {tag}</p>"})
    wp.call("POST", f"/posts/{public['id']}", json={"content": f"<p>third {tag}</p>"})
    restricted = {
        "private": wp.post(title=f"Private {tag}", status="private"),
        "draft": wp.post(title=f"Draft {tag}", status="draft"),
        "pending": wp.post(title=f"Pending {tag}", status="pending"),
        "future": wp.post(title=f"Future {tag}", status="future", date=tomorrow),
        "password": wp.post(title=f"Password {tag}", password=f"pw-{tag}"),
        "trash": wp.post(title=f"Trash {tag}"),
    }
    wp.call("DELETE", f"/posts/{restricted['trash']['id']}")   # to the trash, not force-deleted
    page = wp.call("POST", "/pages", json={"title": f"Page {tag}", "status": "publish", "content": "<p>handbook</p>"})
    comment = wp.comment(public["id"])
    reply = wp.comment(public["id"], parent=comment["id"])
    public_media = wp.upload(PNG, f"pub-{tag}.png", "image/png", post_id=public["id"])
    private_media = wp.upload(PNG, f"priv-{tag}.png", "image/png", post_id=restricted["private"]["id"])
    return {"tag": tag, "public": public, "restricted": restricted, "page": page, "comment": comment,
            "reply": reply, "public_media": public_media, "private_media": private_media}


@pytest.fixture(scope="module")
def archived(blog, cmis_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wp-e2e")
    path = write_config(tmp, cmis_url, sources=SOURCE.format(url=URL, state=STATE), permissions=PERMISSIONS)
    cfg = config.load(path)
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    summary = pipeline.sync(build("blog", "wordpress", cfg.sources["blog"].options))
    yield archive, cfg, summary, pipeline   # one pipeline for the module's runs: they are numbered
    archive.close()


def _sync(pipeline, cfg, reconcile=False):
    return pipeline.sync(build("blog", "wordpress", cfg.sources["blog"].options), reconcile=reconcile)


def _keys(blog) -> list[str]:
    posts = [blog["public"], *blog["restricted"].values()]
    return ([f"blog/post/post:{p['id']}" for p in posts] + [f"blog/page/page:{blog['page']['id']}"]
            + [f"blog/comment/comment:{blog[c]['id']}" for c in ("comment", "reply")]
            + [f"blog/media/media:{blog[m]['id']}" for m in ("public_media", "private_media")])


def _latest(archive, key):
    record = archive.ledger.record(key)
    assert record is not None, f"{key} was not archived"
    return record, archive.repo.latest(record["object_id"])


def test_every_post_page_revision_comment_and_medium_with_metadata(blog, archived):
    archive, _, summary, _ = archived
    assert summary.outcome == "ok" and summary.quarantined == 0
    record, props = _latest(archive, f"blog/post/post:{blog['public']['id']}")
    versions = archive.repo.versions(record["object_id"])
    # created + 2 updates: WordPress keeps 2 revisions (the first state is not kept), newest = current
    assert len(versions) == 2 and b"third" in b"".join(archive.repo.content(versions[-1]["cmis:objectId"]))
    assert props["sa:author"] == "admin" and props["sa:sourceUrl"] == blog["public"]["link"]
    assert props["sa:created"] and props["sa:modified"]
    assert f"Cat {blog['tag']}" in props["sa:tags"] and f"tag-{blog['tag']}" in props["sa:tags"]
    for version in versions:
        stored = hashlib.sha256(b"".join(archive.repo.content(version["cmis:objectId"]))).hexdigest()
        assert stored == version["sa:sha256"]
    for key in (f"blog/page/page:{blog['page']['id']}", f"blog/comment/comment:{blog['comment']['id']}",
                f"blog/comment/comment:{blog['reply']['id']}", f"blog/media/media:{blog['public_media']['id']}"):
        _latest(archive, key)
    _, reply = _latest(archive, f"blog/comment/comment:{blog['reply']['id']}")
    assert reply["sa:parentId"] == f"post:{blog['public']['id']}"
    assert json.loads(reply["sa:extra"])["reply_to"] == f"comment:{blog['comment']['id']}"
    _, media = _latest(archive, f"blog/media/media:{blog['public_media']['id']}")
    assert media["sa:sha256"] == hashlib.sha256(PNG).hexdigest()


def test_nothing_restricted_is_readable_by_everyone(blog, archived):
    archive, _, _, _ = archived
    keys = [f"blog/post/post:{p['id']}" for p in blog["restricted"].values()]
    keys.append(f"blog/media/media:{blog['private_media']['id']}")
    for key in keys:
        record, props = _latest(archive, key)
        acl = archive.repo.acl(record["object_id"])
        assert "anyone" not in acl and "anonymous" not in acl, (key, acl)
        assert acl.get("GROUP_blog_editors") == {"cmis:read"}, (key, acl)
        assert f"pw-{blog['tag']}" not in json.dumps(props)   # the post password is never archived
    public = archive.repo.acl(archive.ledger.record(f"blog/post/post:{blog['public']['id']}")["object_id"])
    assert public.get("anyone") == {"cmis:read"}


def test_changes_second_sync_edit_comment_delete_and_switch_to_private(wp, blog, archived):  # noqa: F811
    archive, cfg, _, pipeline = archived
    public_key = f"blog/post/post:{blog['public']['id']}"
    mine = [key for key in _keys(blog) if archive.ledger.record(key)]
    filed = {key: set(archive.ledger.filed_revisions(key)) for key in mine}
    quiet = _sync(pipeline, cfg)
    assert quiet.outcome == "ok" and quiet.quarantined == 0
    # counted on this test's records: other tests may write to the same blog meanwhile
    assert {key: set(archive.ledger.filed_revisions(key)) for key in mine} == filed

    before = set(archive.ledger.filed_revisions(public_key))
    wp.call("POST", f"/posts/{blog['public']['id']}", json={"content": f"<p>fourth {blog['tag']}</p>"})
    new_comment = wp.comment(blog["public"]["id"])
    _sync(pipeline, cfg)
    assert len(set(archive.ledger.filed_revisions(public_key)) - before) == 1
    assert archive.ledger.record(f"blog/comment/comment:{new_comment['id']}") is not None

    doomed = wp.post(title=f"Doomed {blog['tag']}")
    _sync(pipeline, cfg)
    wp.call("DELETE", f"/posts/{doomed['id']}", params={"force": "true"})
    deleted = _sync(pipeline, cfg, reconcile=True)
    assert deleted.tombstones >= 1
    assert archive.ledger.record(f"blog/post/post:{doomed['id']}")["deleted"] == 1
    rows = list(archive.repo.query(f"SELECT * FROM {archive.filer.profile.secondary_type} "
                                   "WHERE sa:kind = 'tombstone'", all_versions=True))
    assert any(row.get("sa:parentId") == f"blog/post/post:{doomed['id']}" for row in rows)
    record = archive.ledger.record(f"blog/post/post:{doomed['id']}")
    assert archive.repo.versions(record["object_id"])      # the archived versions remain

    before = set(archive.ledger.filed_revisions(public_key))
    wp.call("POST", f"/posts/{blog['public']['id']}", json={"status": "private"})
    _sync(pipeline, cfg)
    assert len(set(archive.ledger.filed_revisions(public_key)) - before) == 1
    record, props = _latest(archive, public_key)
    assert props["sa:visibility"] == "restricted"
    acl = archive.repo.acl(record["object_id"])
    assert "anyone" not in acl and acl.get("GROUP_blog_editors") == {"cmis:read"}


def test_moderation_and_trashing_restrict_comments_without_a_date_change(wp, cmis_url, tmp_path):  # noqa: F811
    """Holding a comment and trashing a post (its comments turn ``post-trashed``) change no comment
    date; with no overlap the next run re-reads neither comment, and the visibility sweep narrows
    both. The ACLs are read back from the real OpenCMIS InMemory."""
    tag = uuid.uuid4().hex[:8]
    kept, doomed = wp.post(title=f"Kept {tag}"), wp.post(title=f"Doomed {tag}")
    held, orphaned = wp.comment(kept["id"]), wp.comment(doomed["id"])
    time.sleep(2.2)                       # both comments are older than the first run's start
    path = write_config(tmp_path, cmis_url, permissions=PERMISSIONS,
                        sources=SOURCE.format(url=URL, state=STATE) + "overlap_minutes = 0\n")
    cfg = config.load(path)
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        keys = [f"blog/comment/comment:{c['id']}" for c in (held, orphaned)]
        assert _sync(pipeline, cfg).outcome == "ok"
        for key in keys:
            record, _ = _latest(archive, key)
            assert archive.repo.acl(record["object_id"]).get("anyone") == {"cmis:read"}
        wp.call("POST", f"/comments/{held['id']}", json={"status": "hold"})
        wp.call("DELETE", f"/posts/{doomed['id']}")
        assert _sync(pipeline, cfg).outcome == "ok"
        for key in keys:
            record, _ = _latest(archive, key)
            for version in archive.repo.versions(record["object_id"]):
                acl = archive.repo.acl(version["cmis:objectId"])
                assert "anyone" not in acl and "anonymous" not in acl, (key, acl)
                assert acl.get("GROUP_blog_editors") == {"cmis:read"}, (key, acl)
    finally:
        archive.close()
