"""Confluence (fixtures in the documented REST API v1 shapes, served by ``confluence_site`` on
`responses`: Confluence cannot run here) → OpenCMIS InMemory (real): requests to the repository
pass through; every version, ACL and content checked here is read back from the repository."""
from __future__ import annotations

import pytest
import responses

from connector.archive import Archive

from ..sources.confluence_site import Site, attachment_bytes
from ..sources.test_confluence import FakeTime, source
from .shared import WORLD, passthrough, permissions

pytestmark = pytest.mark.integration

PERMISSIONS = permissions({"group:team": "GROUP_team", "user:bob": "bob", "user:alice": "alice"})
ARCHIVE = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
TEAM = {**ARCHIVE, "GROUP_team": {"cmis:read"}, "bob": {"cmis:read"}}


def mocked(cmis_url: str, site: Site) -> responses.RequestsMock:
    rsps = passthrough(cmis_url, assert_all_requests_are_fired=False)
    site.register(rsps)
    return rsps


def versions(archive: Archive, key: str) -> list[dict]:
    return archive.repo.versions(archive.ledger.record(key)["object_id"])


def contents(archive: Archive, key: str) -> list[bytes]:
    return [b"".join(archive.repo.content(v["cmis:objectId"])) for v in versions(archive, key)]


def acls(archive: Archive, key: str) -> list[dict]:
    return [archive.repo.acl(v["cmis:objectId"]) for v in versions(archive, key)]


def test_confluence_versions_restrictions_personal_space_attachments_moves_and_trash(archive, pipeline, cmis_url):
    site, fake = Site(), FakeTime()
    site.fail_once["/rest/api/content/search"] = (429, {"Retry-After": "7"})
    with mocked(cmis_url, site):
        first = pipeline.sync(source(fake))
    assert first.outcome == "ok" and first.quarantined == 0, first
    assert 7.0 in fake.sleeps                                              # the 429 was waited out

    texts = contents(archive, "wiki/page/page:1001")                       # 5 versions, in order
    assert len(texts) == 5 and all(f"Handbook version {n}</p>".encode() in t for n, t in enumerate(texts, 1))
    assert all(WORLD & set(acl) for acl in acls(archive, "wiki/page/page:1001"))
    assert acls(archive, "wiki/page/page:1002") == [TEAM]                  # its own restriction
    assert acls(archive, "wiki/page/page:1003") == [TEAM]                  # inherited from 1002
    assert acls(archive, "wiki/page/page:1101") == [{**ARCHIVE, "alice": {"cmis:read"}}]   # personal space
    assert contents(archive, "wiki/attachment/attachment:att2001") == [attachment_bytes(n) for n in (1, 2, 3)]
    assert len(contents(archive, "wiki/comment/comment:3002")) == 1
    assert all("Authorization" not in r.headers for r in site.media_requests)

    with mocked(cmis_url, Site()):                                         # nothing changed: nothing filed
        again = pipeline.sync(source(FakeTime()))
    assert again.outcome == "ok" and again.versions == 0 and again.acl_changes == 0

    with mocked(cmis_url, Site(run=2)):            # inline comment edited; 1004 moved under 1002
        second = pipeline.sync(source(FakeTime()))
    assert second.outcome == "ok" and second.versions == 1, second
    assert contents(archive, "wiki/comment/comment:3002")[-1] == b"<p>Which review: the June one?</p>"
    assert len(versions(archive, "wiki/page/page:1001")) == 5
    assert acls(archive, "wiki/page/page:1004") == [TEAM]                  # narrowed by the sweep

    with mocked(cmis_url, Site(run=2)):
        quiet = pipeline.sync(source(FakeTime()))
    assert quiet.versions == 0 and quiet.acl_changes == 0

    with mocked(cmis_url, Site(run=3)):                                    # 1005 trashed
        gone = pipeline.reconcile(source(FakeTime()))
    assert gone.tombstones == 1
    record = archive.ledger.record("wiki/page/page:1005")
    assert record["deleted"] == 1
    assert all(not WORLD & set(acl) for acl in acls(archive, "wiki/page/page:1005"))
