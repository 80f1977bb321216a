"""`subject find`, `subject restrict` and `hold add --query` match as a person expects, through the
CLI on the real OpenCMIS InMemory server: `subject find admin` finds user `Admin` (also as a later
revision's author, which InMemory's secondary-type queries cannot see), `jose` finds `José`, a
hold with `--query münchen` is placed on the page that says `München`, words of a title find it;
a person restricted as `jose` has content filed later as `JOSÉ` restricted too."""
from __future__ import annotations

import json

import pytest

from connector import config
from connector.archive import Archive
from connector.cmis.client import Upload

from ..compliance.conftest import compliance_config
from ..compliance.test_compliance_inmemory import T2023, cli, file, history, item

pytestmark = pytest.mark.integration


@pytest.fixture
def archived(tmp_path, cmis_url):
    path = compliance_config(tmp_path, cmis_url)
    pages = {
        "admin": item("20", T2023, ["Treffen in München am Montag"], author="Admin", title="Protokoll"),
        "edited": item("21", T2023, ["Bob's page", "Bob's page, fixed"], author="Bob", revision_authors=["Bob", "Admin"]),
        "jose": item("22", T2023, ["Nothing to see"], author="José", title="Ärger im Büro"),
        "other": item("23", T2023, ["Munich is not the word"], author="Carol"),
    }
    archive = Archive.open(config.load(path))
    try:
        file(archive, *pages.values())
    finally:
        archive.close()
    return path, pages


def found(path: str, user: str) -> list[tuple]:
    result = cli("subject", "find", user, "--json", "--config", path)
    assert result.exit_code == 0, result.output
    return [(r["key"], r["names"], r["roles"]) for r in json.loads(result.stdout)]


def test_subject_find_ignores_case_and_accents(archived):
    path, _ = archived
    expected = [("wiki/page/20", ["Admin"], ["author", "revision author"]),
                ("wiki/page/21", ["Admin"], ["revision author"])]
    assert found(path, "admin") == expected
    assert found(path, "ADMIN") == expected
    assert found(path, "jose") == [("wiki/page/22", ["José"], ["author", "revision author"])]
    assert found(path, "bo") == []                                    # a name, not a part of one


def test_hold_query_ignores_case_and_accents_and_searches_titles(archived):
    path, pages = archived
    result = cli("hold", "add", "M-1", "--query", "münchen", "--config", path)
    assert result.exit_code == 0 and "on 1 records" in result.output, result.output
    result = cli("hold", "add", "M-2", "--query", "arger buro", "--config", path)     # the title "Ärger im Büro"
    assert result.exit_code == 0 and "on 1 records" in result.output, result.output
    archive = Archive.open(config.load(path), lock=False, dry_run=True)
    try:
        assert history(archive, pages["admin"])[0]["sa:holdIds"] == ["M-1"]
        assert history(archive, pages["jose"])[0]["sa:holdIds"] == ["M-2"]
        assert not history(archive, pages["other"])[0].get("sa:holdIds")
    finally:
        archive.close()


def test_a_person_restricted_by_a_folded_name_stays_restricted_in_content_filed_later(archived):
    path, _ = archived
    result = cli("subject", "restrict", "jose", "--reason", "DSAR 7", "--config", path)
    assert result.exit_code == 0 and "on 1 records" in result.output, result.output
    later = item("24", T2023, ["Again"], author="JOSÉ")
    archive = Archive.open(config.load(path))
    try:
        file(archive, later)
        assert history(archive, later)[0]["sa:restricted"] is True
    finally:
        archive.close()


def test_a_version_filed_before_the_folded_copies_existed_is_still_found(archived):
    """A document as an older socialarchive filed it (no sa:titleFolded, sa:authorFolded): found by
    its author and title in any case, read one by one, and warned about; never a silent miss."""
    path, _ = archived
    archive = Archive.open(config.load(path))
    try:
        archive.repo.create_document(archive.filer.folder_id(("wiki", "Main", "2023")), {
            "cmis:objectTypeId": "sa:document", "cmis:name": "Old page [99]", "sa:recordKey": "wiki/page/99",
            "cmis:secondaryObjectTypeIds": ["sa:archived"], "sa:source": "wiki", "sa:kind": "page",
            "sa:nativeId": "99", "sa:title": "Übersicht alt", "sa:author": "Admin", "sa:revisionAuthor": "Admin"},
            Upload("old.wiki", "text/x-wiki", [b"old text"]))
    finally:
        archive.close()
    assert ("wiki/page/99", ["Admin"], ["author", "revision author"]) in found(path, "admin")
    result = cli("search", "ubersicht", "--json", "--config", path)
    assert result.exit_code == 0, result.output
    assert [h["key"] for h in json.loads(result.stdout)["hits"]] == ["wiki/page/99"]
    assert "1 versions were filed before socialarchive kept folded copies" in result.stderr
