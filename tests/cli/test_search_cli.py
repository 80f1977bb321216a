"""`socialarchive search` on pages archived from the real MediaWiki into the real OpenCMIS: words of
the text (also one only the latest revision has) and of the title, in any case and with or without
accents; the author in any case; the version that matched; the restricted marker; natural order;
the note when --limit cut the list; the text form's header line and the --json object."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner

from cli import main
from connector.search import natural_key

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
restricted_namespaces = [4]
"""


@pytest.fixture(scope="module")
def archived(wiki, cmis_url, tmp_path_factory):  # noqa: F811
    tag = uuid.uuid4().hex[:8]
    word, later, first_only, shout, secret = (f"{w}{tag}" for w in ("zebra", "okapi", "gnu", "QUOKKA", "tapir"))
    shout = shout.upper()                      # a word in capitals: QUOKKA<TAG>
    title = f"SA search MÜNCHEN {tag}"
    start = wiki.server_time() - timedelta(seconds=1)
    first = wiki.edit(title, f"The {word} grazes; a {first_only} passes.\n")
    wiki.edit(title, f"The {word} grazes.\n\nLater an {later} joins, {shout}.\n", summary="second")
    hidden = wiki.edit(f"Project:SA search restricted {tag}", f"A {secret} in Köln{tag}.\n")
    end = wiki.server_time() + timedelta(seconds=1)
    path = write_config(tmp_path_factory.mktemp("search-cli"), cmis_url, sources=SOURCE.format(api=API, state=STATE))
    result = CliRunner().invoke(main, ["backfill", "--source", "wiki", "--since", iso(start), "--until", iso(end),
                                       "--json", "--config", path])
    assert result.exit_code == 0, result.output
    return {"config": path, "tag": tag, "word": word, "later": later, "first_only": first_only, "shout": shout,
            "secret": secret, "key": f"wiki/page/{first['pageid']}", "hidden": f"wiki/page/{hidden['pageid']}",
            "title": title}


def run(archived, *args: str) -> dict:
    result = CliRunner().invoke(main, ["search", *args, "--json", "--config", archived["config"]])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def keys(archived, *args: str) -> list[str]:
    return [h["key"] for h in run(archived, *args)["hits"]]


def test_finds_the_page_by_a_word_of_its_text(archived):
    hits = run(archived, archived["word"])["hits"]
    assert [(h["key"], h["title"]) for h in hits] == [(archived["key"], archived["title"])]
    assert hits[0]["version"] == "2.0" and hits[0]["url"].endswith(f"curid={archived['key'].split('/')[-1]}")
    assert hits[0]["path"].endswith(f"[{archived['key'].split('/')[-1]}].wiki") and hits[0]["object_id"]
    assert hits[0]["matched_versions"] == ["1.0", "2.0"] and hits[0]["date"].endswith("Z")


def test_finds_a_word_only_the_latest_revision_has(archived):
    assert keys(archived, archived["later"]) == [archived["key"]]


def test_shows_the_version_that_matched_not_the_latest(archived):
    [hit] = run(archived, archived["first_only"])["hits"]
    assert (hit["key"], hit["version"], hit["matched_versions"]) == (archived["key"], "1.0", ["1.0"])


def test_words_match_in_any_case_and_with_or_without_accents(archived):
    assert keys(archived, archived["shout"].lower()) == [archived["key"]]        # QUOKKA… in the text
    assert keys(archived, archived["shout"].capitalize()) == [archived["key"]]
    assert keys(archived, f"köln{archived['tag']}") == [archived["hidden"]]       # Köln… in the text
    assert keys(archived, f"KÖLN{archived['tag']}") == [archived["hidden"]]


def test_titles_are_searched_in_any_case_and_without_accents(archived):
    assert keys(archived, f"munchen {archived['tag']}") == [archived["key"]]       # SA search MÜNCHEN <tag>
    assert keys(archived, f"München {archived['tag']}") == [archived["key"]]
    assert keys(archived, f"search restricted {archived['tag'].upper()}") == [archived["hidden"]]


def test_finds_the_page_by_its_author_in_any_case(archived):
    for name in ("Admin", "admin", "ADMIN"):
        assert archived["key"] in keys(archived, "--author", name, "--source", "wiki", "--limit", "1000")
    both = run(archived, archived["word"], "--author", "admin")["hits"]
    assert [(h["key"], h["author"]) for h in both] == [(archived["key"], "Admin")]
    assert keys(archived, archived["word"], "--author", "Nobody-" + archived["word"]) == []


def test_restricted_records_are_marked(archived):
    [hit] = run(archived, archived["secret"])["hits"]
    assert hit["key"] == archived["hidden"] and hit["restricted"] is True
    assert run(archived, archived["word"])["hits"][0]["restricted"] is False


def test_hits_are_in_natural_order_and_a_cut_list_says_so(archived):
    whole = run(archived, "--source", "wiki", "--limit", "100000")
    order = [h["key"] for h in whole["hits"]]
    assert order == sorted(order, key=natural_key) and whole["truncated"] is False
    ids = [int(k.rsplit("/", 1)[1]) for k in order if k.startswith("wiki/page/")]
    assert ids == sorted(ids) and len(ids) >= 2
    cut = CliRunner().invoke(main, ["search", "--source", "wiki", "--limit", "1", "--config", archived["config"]])
    assert cut.exit_code == 0, cut.output
    assert f"showing 1 of {whole['total']} hits (--limit 1" in cut.stderr
    as_json = run(archived, "--source", "wiki", "--limit", "1")
    assert (as_json["shown"], as_json["total"], as_json["truncated"]) == (1, whole["total"], True)
    assert as_json["hits"][0]["key"] == order[0]


def test_text_output_has_a_header_line_and_one_row_per_hit(archived):
    result = CliRunner().invoke(main, ["search", archived["word"], "--config", archived["config"]])
    assert result.exit_code == 0
    header, row = result.stdout.strip().split("\n")
    assert header.split("\t") == ["key", "title", "date", "version", "access", "url", "path", "object id"]
    key, title, date, version, access, *_ = row.split("\t")
    assert (key, title, version, access) == (archived["key"], archived["title"], "v2.0 (+1)", "-")
    assert date[:4].isdigit() and "1 hit (searched" in result.stderr


def test_nothing_found_says_so(archived):
    result = CliRunner().invoke(main, ["search", "nothing" + archived["tag"] * 2, "--config", archived["config"]])
    assert result.exit_code == 0 and "no hits" in result.stderr
