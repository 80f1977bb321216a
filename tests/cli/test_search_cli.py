"""`socialarchive search` finds a wiki page archived from the real MediaWiki by a word of its text
(also a word only its latest revision has) and by its author; `--json` parses."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from cli import main

from ..conftest import write_config
from ..sources.test_mediawiki import API, STATE, mw_api, wiki  # noqa: F401 - real MediaWiki fixtures
from .helpers import iso

pytestmark = pytest.mark.integration
SOURCE = """
[sources.wiki]
type = "mediawiki"
api_url = "{api}"
username = "Admin@connector"
password_file = "{state}/botpassword"
"""


@pytest.fixture(scope="module")
def archived(wiki, cmis_url, tmp_path_factory):  # noqa: F811
    word, later = f"zebra{uuid.uuid4().hex[:8]}", f"okapi{uuid.uuid4().hex[:8]}"
    title = f"SA search {uuid.uuid4().hex[:8]}"
    start = wiki.server_time() - timedelta(seconds=1)
    first = wiki.edit(title, f"The {word} grazes.\n")
    wiki.edit(title, f"The {word} grazes.\n\nLater an {later} joins.\n", summary="second")
    end = wiki.server_time() + timedelta(seconds=1)
    path = write_config(tmp_path_factory.mktemp("search-cli"), cmis_url, sources=SOURCE.format(api=API, state=STATE))
    result = CliRunner().invoke(main, ["backfill", "--source", "wiki", "--since", iso(start), "--until", iso(end),
                                       "--json", "--config", path])
    assert result.exit_code == 0, result.output
    return {"config": path, "word": word, "later": later, "key": f"wiki/page/{first['pageid']}", "title": title}


def search(archived, *args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["search", *args, "--json", "--config", archived["config"]])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_finds_the_page_by_a_word_of_its_text(archived):
    hits = search(archived, archived["word"])
    assert [(h["key"], h["title"]) for h in hits] == [(archived["key"], archived["title"])]
    assert hits[0]["version"] == "2.0" and hits[0]["url"].endswith(f"curid={archived['key'].split('/')[-1]}")
    assert hits[0]["path"].endswith(f"[{archived['key'].split('/')[-1]}].wiki") and hits[0]["object_id"]


def test_finds_a_word_only_the_latest_revision_has(archived):
    assert [h["key"] for h in search(archived, archived["later"])] == [archived["key"]]


def test_finds_the_page_by_its_author(archived):
    hits = search(archived, "--author", "Admin", "--source", "wiki", "--limit", "500")
    assert archived["key"] in {h["key"] for h in hits}
    assert all(h["author"] == "Admin" for h in hits if h["key"] == archived["key"])
    both = search(archived, archived["word"], "--author", "Admin")
    assert [h["key"] for h in both] == [archived["key"]]
    assert search(archived, archived["word"], "--author", "Nobody-" + archived["word"]) == []


def test_text_output_is_tab_separated(archived):
    result = CliRunner().invoke(main, ["search", archived["word"], "--config", archived["config"]])
    assert result.exit_code == 0
    title, url, path, object_id, version = result.stdout.strip().split("\t")
    assert title == archived["title"] and version == "v2.0"
