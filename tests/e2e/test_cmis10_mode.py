"""The CMIS 1.0 mode, end to end on real servers: no secondary types, every archive property on our
document type, loaded into OpenCMIS InMemory from the shipped type-definition file at start.

Servers: ``SA_TEST_CMIS10_URL``, an InMemory server started with our type
(``CMIS_TYPES=docker/cmis10/socialarchive-types.xml servers/opencmis/up.sh start PORT DIR``; its
Browser binding, or ``/inmemory/atom`` with ``SA_TEST_CMIS_BINDING=atompub``), the real MediaWiki
and Misago, and the shared InMemory server (``SA_TEST_CMIS_URL``) that lacks our 1.0 type, for
``check``. Same archive, ACLs, versions, verify, search and rebuild as the 1.1 mode; no object
carries a secondary type.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from cli import main
from connector import config
from connector.archive import Archive
from connector.cmis import schema, typedefs
from connector.pipeline import Pipeline
from connector.sources import build

from ..conftest import write_config
from ..sources.test_mediawiki import STATE as MW_STATE, _bot_password, mw_api, wiki  # noqa: F401 - real wiki
from ..sources.test_misago import ADMIN, SKIP_REASON, STATE as MISAGO_STATE, URL as MISAGO_URL, Client, _reachable
from .shared import MEDIAWIKI_WIKI, MISAGO_FORUM, STAFF_LOUNGE, permissions

pytestmark = pytest.mark.integration

PROFILE = "opencmis-inmemory-cmis10"
SOURCES = MEDIAWIKI_WIKI + "namespaces = [4]\noverlap_minutes = 0\n" + MISAGO_FORUM + STAFF_LOUNGE
PERMISSIONS = permissions({"role:moderator": "GROUP_forum_moderators"})


def _config(tmp_path, url: str, profile: str, sources: str = "", permissions: str | None = None,
            binding: str | None = None) -> str:
    path = Path(write_config(tmp_path, url, sources=sources, permissions=permissions))
    text = path.read_text()
    for key, value in (("profile", profile), ("binding", binding)):
        if value:
            start = text.index(f"{key} = ")
            text = text[:start] + f'{key} = "{value}"' + text[text.index("\n", start):]
    path.write_text(text)
    return str(path)


def _cli(path: str, *args: str):
    return CliRunner().invoke(main, ["--config", path, *args], catch_exceptions=False)


def _hits(path: str, *args: str) -> set[str]:
    result = _cli(path, "search", *args, "--json")
    assert result.exit_code == 0, result.output
    return {hit["key"] for hit in json.loads(result.output)["hits"]}


@pytest.fixture(scope="module")
def cmis10_url() -> str:
    url = os.environ.get("SA_TEST_CMIS10_URL")
    if not url:
        pytest.skip("set SA_TEST_CMIS10_URL to an OpenCMIS InMemory server started with "
                    f"CMIS_TYPES={typedefs.TYPE_FILE} (servers/opencmis/up.sh)")
    requests.get(url, auth=("admin", "admin"), timeout=10).raise_for_status()
    return url


def test_check_names_the_file_type_and_properties_to_deploy(cmis_url, tmp_path):
    """The shared server has no 1.0 type (or the 1.1 mode's sa:document, with the record key only)."""
    path = _config(tmp_path, cmis_url, "cmis10")
    result = _cli(path, "check", "--json")
    assert result.exit_code == 5, result.output
    found = json.loads(result.output)["repository"]["types"]
    assert list(found) == [schema.DOCUMENT_TYPE]
    status = found[schema.DOCUMENT_TYPE]
    assert typedefs.TYPE_FILE in status["deploy"] and schema.DOCUMENT_TYPE in status["deploy"]
    if status["present"]:
        assert "sa:sha256" in status["missing_properties"] and "sa:sha256" in status["deploy"]
    text = _cli(path, "check")
    assert text.exit_code == 5 and f"DEPLOY: type {schema.DOCUMENT_TYPE}" in text.output


def test_check_passes_on_the_type_file_server(cmis10_url, tmp_path):
    result = _cli(_config(tmp_path, cmis10_url, PROFILE), "check", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)["repository"]["types"][schema.DOCUMENT_TYPE]
    assert status["present"] and status["versionable"] and status["missing_properties"] == []


def test_a_cmis10_endpoint_with_a_secondary_type_profile_is_refused_by_check(cmis10_url, tmp_path):
    atom10 = cmis10_url.rstrip("/").rsplit("/", 1)[0] + "/atom"      # CMIS 1.0 AtomPub of the same server
    result = _cli(_config(tmp_path, atom10, "opencmis-inmemory", binding="atompub"), "check", "--json")
    assert result.exit_code == 5, result.output
    found = json.loads(result.output)["repository"]
    assert found["cmis_version"] == "1.0" and 'profile = "cmis10"' in found["profile_problem"]


@pytest.fixture(scope="module")
def archived(cmis10_url, wiki, mw_api, tmp_path_factory):  # noqa: F811
    if not MISAGO_URL:
        pytest.skip(SKIP_REASON)
    _reachable()
    tag = uuid.uuid4().hex[:8]
    page = f"Project:CMIS10 {tag}"
    for n in (1, 2, 3):
        wiki.edit(page, f"Revision {n} of cmis10{tag}")
    categories = json.loads((Path(MISAGO_STATE) / "categories.json").read_text())
    admin = Client(*ADMIN)
    public = admin.call("POST", "/api/threads/", json={"title": f"CMIS10 thread {tag}", "category": categories["engineering"],
                                                         "post": f"First words cmis10{tag}"})["id"]
    first = admin.call("GET", f"/api/threads/{public}/posts/")["post_set"]["results"][0]["id"]
    admin.call("PUT", f"/api/threads/{public}/posts/{first}/", json={"post": f"Edited words cmis10{tag}"})
    staff = admin.call("POST", "/api/threads/", json={"title": f"CMIS10 staff {tag}", "category": categories["staff"],
                                                        "post": f"Staff secret cmis10{tag}"})["id"]
    tmp = tmp_path_factory.mktemp("cmis10")
    (tmp / "misago-password").write_text(ADMIN[1])
    path = _config(tmp, cmis10_url, PROFILE, SOURCES.format(api=mw_api, state=MW_STATE, url=MISAGO_URL),
                   PERMISSIONS)
    cfg = config.load(path)
    archive = Archive.open(cfg, lock=False)     # the CLI commands below take the ledger's lock
    pipeline = Pipeline(archive)
    try:
        for name, kind in (("wiki", "mediawiki"), ("forum", "misago")):
            summary = pipeline.sync(build(name, kind, cfg.sources[name].options))
            assert summary.outcome == "ok" and summary.quarantined == 0, summary
        page_id = str(wiki.call("GET", action="query", titles=page)["query"]["pages"][0]["pageid"])
        keys = {"page": f"wiki/page/{page_id}", "post": f"forum/post/post:{first}",
                "staff": f"forum/thread/thread:{staff}", "public": f"forum/thread/thread:{public}"}
        yield {"archive": archive, "path": path, "tag": tag, "page": page, "keys": keys}
    finally:
        archive.close()


def test_versions_acls_and_no_secondary_type(archived, wiki):  # noqa: F811
    archive, keys = archived["archive"], archived["keys"]
    versions = archive.repo.versions(archive.ledger.record(keys["page"])["object_id"])
    assert [v["sa:revisionId"] for v in versions] == [str(r["revid"]) for r in wiki.revisions(archived["page"])]
    assert [b"".join(archive.repo.content(v["cmis:objectId"])) for v in versions] == [
        f"Revision {n} of cmis10{archived['tag']}".encode() for n in (1, 2, 3)]
    post = archive.repo.versions(archive.ledger.record(keys["post"])["object_id"])
    assert len(post) == 2 and post[-1]["sa:revisionAuthor"]
    for props in versions + post:
        assert props["cmis:objectTypeId"] == schema.DOCUMENT_TYPE
        assert not props.get("cmis:secondaryObjectTypeIds")
        assert props["sa:sourceSystem"] in ("mediawiki", "misago") and props["sa:sha256"]
    staff_acl = archive.repo.acl(archive.ledger.record(keys["staff"])["object_id"])
    assert "anyone" not in staff_acl and staff_acl["GROUP_forum_moderators"] == {"cmis:read"}
    assert archive.repo.acl(archive.ledger.record(keys["public"])["object_id"])["anyone"] == {"cmis:read"}


def test_verify_search_and_rebuild(archived, tmp_path):
    path, keys, tag = archived["path"], archived["keys"], archived["tag"]
    verified = _cli(path, "verify", "--json")
    assert verified.exit_code == 0 and json.loads(verified.output)["ok"], verified.output
    assert {keys["page"], keys["post"]} <= _hits(path, f"cmis10{tag}")
    assert {keys["post"], keys["staff"], keys["public"]} <= _hits(path, "--source", "forum", "--limit", "5000")
    ledger = archived["archive"].ledger
    counts = {k: len(ledger.filed_revisions(k)) for k in keys.values()}
    fresh = Path(path).read_text().replace('ledger = "state/ledger.sqlite"', 'ledger = "rebuilt/ledger.sqlite"')
    rebuilt_path = Path(path).parent / "rebuilt.toml"
    rebuilt_path.write_text(fresh)
    result = _cli(str(rebuilt_path), "ledger", "rebuild", "--json")
    assert result.exit_code == 0, result.output
    archive = Archive.open(config.load(str(rebuilt_path)), lock=False, expect_archive=False)
    try:
        assert {k: len(archive.ledger.filed_revisions(k)) for k in keys.values()} == counts
    finally:
        archive.close()
