"""MediaWiki → OpenCMIS InMemory, both real: a wiki archived through `Archive.sync`.

Servers: the real MediaWiki 1.39 of ``make test`` (``SA_TEST_MW_API``, bot password in
``SA_TEST_MW_STATE``) and the real Apache Chemistry OpenCMIS InMemory server (``SA_TEST_CMIS_URL``).
Every ACL asserted here is read back from the repository, for every version of the series.
"""
from __future__ import annotations

import hashlib
import time
import uuid

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources import build

from ..conftest import write_config
from ..sources.test_mediawiki import STATE, _bot_password, mw_api, wiki  # noqa: F401 - real-wiki fixtures
from .shared import MEDIAWIKI_WIKI, WORLD

pytestmark = pytest.mark.integration

SOURCE = MEDIAWIKI_WIKI
# the Project namespace only (a small full crawl), restricted or not; no overlap, so a page edited
# before a run is not read again by the next one (only the visibility sweep sees it)
PROJECT = SOURCE + """namespaces = [4]
restricted_namespaces = {restricted}
overlap_minutes = 0
"""


@pytest.fixture(scope="module")
def pages(wiki):  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    titles = {
        "history": f"E2E history {tag}",
        "unicode": f"E2E Ünïcödé 🎉 emoji {tag}",
        "rtl": f"E2E שלום עולם مرحبا {tag}",
        "forbidden": f'E2E a/b\\c:d*e?f"g {tag}',
        "long": f"E2E long {tag} " + "x" * (250 - len(f"E2E long {tag} ")),
        "doomed": f"E2E doomed {tag}",
        "mover": f"E2E mover {tag}",
    }
    texts = [f"== Rev {n} ==\nText {n} of {tag}, with ünïcödé and trailing spaces   \n" for n in (1, 2, 3)]
    for text in texts:
        wiki.edit(titles["history"], text)
    for key in ("unicode", "rtl", "forbidden", "long", "doomed", "mover"):
        wiki.edit(titles[key], f"Body of {key} {tag}")
    filename = f"E2E file {tag}.txt"
    wiki.upload(filename, f"file v1 {tag}\n".encode(), "first")
    wiki.upload(filename, f"file v2 {tag} longer\n".encode(), "second")
    return {"tag": tag, "titles": titles, "texts": texts, "file": f"File:{filename}"}


@pytest.fixture(scope="module")
def archived(pages, mw_api, cmis_url, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("mw-e2e")
    path = write_config(tmp, cmis_url, sources=SOURCE.format(api=mw_api, state=STATE))
    cfg = config.load(path)
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    summary = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))
    yield archive, cfg, summary, pipeline   # one pipeline for the module's runs: they are numbered
    archive.close()


def _sync(pipeline, cfg, **kw):
    return pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options), **kw)


def _page_id(wiki, title) -> str:  # noqa: F811
    body = wiki.call("GET", action="query", titles=title)
    return str(body["query"]["pages"][0]["pageid"])


def _versions(archive, key):
    record = archive.ledger.record(key)
    assert record is not None, f"{key} not archived"
    return record, archive.repo.versions(record["object_id"])


def test_every_revision_in_order_byte_exact_and_verified(wiki, pages, archived):  # noqa: F811
    archive, _, summary, _ = archived
    assert summary.outcome == "ok" and summary.quarantined == 0
    for key, title in pages["titles"].items():
        expected = wiki.revisions(title)
        _, versions = _versions(archive, f"wiki/page/{_page_id(wiki, title)}")
        assert [v["sa:revisionId"] for v in versions] == [str(r["revid"]) for r in expected], key
        for version, rev in zip(versions, expected):
            stored = b"".join(archive.repo.content(version["cmis:objectId"]))
            assert stored == rev["slots"]["main"]["content"].encode("utf-8")      # byte-exact markup
            assert hashlib.sha256(stored).hexdigest() == version["sa:sha256"]
            assert hashlib.sha1(stored).hexdigest() == rev["sha1"]                 # and the wiki agrees
        assert versions[-1]["sa:title"] == title                                   # unsanitised title


def test_every_file_revision_matches_the_wikis_sha1(wiki, pages, archived):  # noqa: F811
    archive, _, _, _ = archived
    info = wiki.call("GET", action="query", titles=pages["file"], prop="imageinfo", iilimit="max",
                     iiprop="sha1|timestamp")["query"]["pages"][0]
    _, versions = _versions(archive, f"wiki/file/file:{info['pageid']}")
    assert len(versions) == 2
    expected = sorted(info["imageinfo"], key=lambda i: i["timestamp"])
    for version, file_info in zip(versions, expected):
        data = b"".join(archive.repo.content(version["cmis:objectId"]))
        assert hashlib.sha1(data).hexdigest() == file_info["sha1"]
        assert version["sa:sourceDigest"] == "sha1:" + file_info["sha1"]


def test_second_sync_files_nothing_and_reports_requests(wiki, pages, archived):  # noqa: F811
    archive, cfg, _, pipeline = archived
    keys = [f"wiki/page/{_page_id(wiki, t)}" for t in pages["titles"].values()]
    before = {k: set(archive.ledger.filed_revisions(k)) for k in keys}
    again = _sync(pipeline, cfg)
    assert again.outcome == "ok" and again.source_requests > 0
    assert "source +" in again.line() and "CMIS requests" in again.line()
    assert {k: set(archive.ledger.filed_revisions(k)) for k in keys} == before


def test_edits_one_version_each_even_two_in_one_second(wiki, pages, archived):  # noqa: F811
    archive, cfg, _, pipeline = archived
    title = pages["titles"]["history"]
    key = f"wiki/page/{_page_id(wiki, title)}"
    wiki.edit(title, "fourth revision")
    _sync(pipeline, cfg)
    _, versions = _versions(archive, key)
    assert len(versions) == 4
    second = int(time.time())
    while int(time.time()) == second:     # start at the beginning of a second
        time.sleep(0.01)
    a, b = wiki.edit(title, "fifth"), wiki.edit(title, "sixth")
    stamps = [r["timestamp"] for r in wiki.revisions(title)[-2:]]
    _sync(pipeline, cfg)
    _, versions = _versions(archive, key)
    assert [v["sa:revisionId"] for v in versions][-2:] == [str(a["newrevid"]), str(b["newrevid"])]
    assert len(versions) == 6, stamps


def test_delete_makes_a_tombstone_and_move_keeps_history(wiki, pages, archived):  # noqa: F811
    archive, cfg, _, pipeline = archived
    doomed_key = f"wiki/page/{_page_id(wiki, pages['titles']['doomed'])}"
    mover_key = f"wiki/page/{_page_id(wiki, pages['titles']['mover'])}"
    _, before = _versions(archive, doomed_key)
    wiki.delete(pages["titles"]["doomed"])
    new_title = pages["titles"]["mover"] + " moved"
    wiki.move(pages["titles"]["mover"], new_title)
    summary = _sync(pipeline, cfg)
    assert summary.tombstones >= 1
    record, after = _versions(archive, doomed_key)
    assert record["deleted"] == 1 and [v["cmis:objectId"] for v in after] == [v["cmis:objectId"] for v in before]
    rows = list(archive.repo.query(f"SELECT * FROM {archive.filer.profile.secondary_type} "
                                   "WHERE sa:kind = 'tombstone'", all_versions=True))
    tomb = [r for r in rows if r.get("sa:parentId") == doomed_key]
    assert tomb, "a tombstone record points at the deleted page"
    _, moved = _versions(archive, mover_key)
    assert moved[0]["sa:title"] == pages["titles"]["mover"] and moved[-1]["sa:title"] == new_title
    rows = list(archive.repo.query(f"SELECT cmis:objectId, cmis:versionSeriesId FROM sa:document "
                                   f"WHERE sa:recordKey = '{mover_key}' AND {archive.filer.in_archive()}",
                                   all_versions=True))
    assert len({r["cmis:versionSeriesId"] for r in rows}) == 1   # still one document


def _project_archive(tmp_path, mw_api, cmis_url, restricted: str, base_path: str) -> Archive:
    """An archive of the Project namespace; opened again on the same ledger and folder with another
    ``restricted_namespaces`` (a config change between two runs)."""
    path = write_config(tmp_path, cmis_url, base_path=base_path,
                        sources=PROJECT.format(api=mw_api, state=STATE, restricted=restricted))
    return Archive.open(config.load(path))


def _sync_wiki(pipeline: Pipeline):
    return pipeline.sync(build("wiki", "mediawiki", pipeline.archive.config.sources["wiki"].options))


def _acls(archive, key) -> list[dict[str, set[str]]]:
    _, versions = _versions(archive, key)
    return [archive.repo.acl(v["cmis:objectId"]) for v in versions]


def test_a_page_deleted_in_the_wiki_is_restricted_in_every_version(wiki, mw_api, cmis_url, tmp_path):  # noqa: F811
    title = f"Project:E2E deleted later {uuid.uuid4().hex[:8]}"
    for n in (1, 2, 3):
        wiki.edit(title, f"revision {n}")
    key = f"wiki/page/{_page_id(wiki, title)}"
    archive = _project_archive(tmp_path, mw_api, cmis_url, "[]", f"/test-{uuid.uuid4().hex[:10]}")
    pipeline = Pipeline(archive)
    try:
        assert _sync_wiki(pipeline).outcome == "ok"
        before = _acls(archive, key)
        assert len(before) == 3 and all(acl.get("anyone") == {"cmis:read"} for acl in before)
        wiki.delete(title)
        summary = _sync_wiki(pipeline)
        assert summary.outcome == "ok" and summary.tombstones >= 1
        for acl in _acls(archive, key):
            assert not WORLD & set(acl), acl
            assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"},
                           "GROUP_wiki_admins": {"cmis:read"}}   # group:sysop, mapped
    finally:
        archive.close()


def test_a_namespace_restricted_in_the_config_restricts_its_pages_without_an_edit(
        wiki, mw_api, cmis_url, tmp_path):  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    title = f"Project:E2E restricted later {tag}"
    for n in (1, 2):
        wiki.edit(title, f"revision {n}")
    key = f"wiki/page/{_page_id(wiki, title)}"
    time.sleep(1.1)   # a later edit elsewhere is the newest change the next run starts from
    wiki.edit(f"Project:E2E bystander {tag}", "newest")
    base_path = f"/test-{uuid.uuid4().hex[:10]}"
    archive = _project_archive(tmp_path, mw_api, cmis_url, "[]", base_path)
    pipeline = Pipeline(archive)
    try:
        assert _sync_wiki(pipeline).outcome == "ok"
        assert all(acl.get("anyone") == {"cmis:read"} for acl in _acls(archive, key))
    finally:
        archive.close()
    archive = _project_archive(tmp_path, mw_api, cmis_url, "[4]", base_path)
    pipeline = Pipeline(archive)
    try:
        summary = _sync_wiki(pipeline)
        assert summary.outcome == "ok" and summary.acl_changes >= 1
        acls = _acls(archive, key)
        assert len(acls) == 2                          # no new version: the ACL changed alone
        for acl in acls:
            assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}, acl
    finally:
        archive.close()
