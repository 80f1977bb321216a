"""A hold, export, verification, reclassification or restriction that selects nothing says so,
names the criteria and exits 2 without writing or auditing anything; ``--allow-empty`` makes it
go through, saying "0 records". Through the CLI, on the real OpenCMIS InMemory server, with an
archive of five pages filed there (the compliance tests' ``seeded`` fixture) and a configured
blog that has nothing archived."""
from __future__ import annotations

import json
import os
import sqlite3
import uuid
from datetime import date, timedelta

import bagit
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connector import config

from ..compliance.test_compliance_inmemory import audit_events, cli, seeded  # noqa: F401 - fixture
from .helpers import BLOG, WP_STATE, WP_URL

pytestmark = pytest.mark.integration
NOWHERE = ["--since", "1990-01-01", "--until", "1991-01-01"]        # the seeded pages are from 2022-2023


@pytest.fixture
def archive(seeded):  # noqa: F811
    """The seeded archive's config, with a blog configured that has nothing archived."""
    with open(seeded.path, "a", encoding="utf-8") as fh:
        fh.write(BLOG.format(url=WP_URL, state=WP_STATE))
    return seeded.path


def refused(path: str, *args: str, criteria: str) -> str:
    """The command exits 2, names what selected nothing, offers --allow-empty, writes no audit entry."""
    before = len(audit_events(config.load(path)))
    result = cli(*args, "--config", path)
    assert result.exit_code == 2, result.output
    assert criteria in result.stderr and "selects no record" in result.stderr and "--allow-empty" in result.stderr, \
        result.stderr
    assert "Traceback" not in result.output
    assert len(audit_events(config.load(path))) == before
    return result.stderr


def holds(path: str) -> list[dict]:
    return json.loads(cli("hold", "list", "--all", "--json", "--config", path).stdout)


def test_hold_add_that_selects_nothing_is_refused_in_every_form(archive):
    refused(archive, "hold", "add", "M-1", "--query", "zqxjkwordnowhere", criteria="text 'zqxjkwordnowhere'")
    refused(archive, "hold", "add", "M-1", "--source", "wiki", *NOWHERE,
            criteria="source wiki, created since 1990-01-01T00:00:00+00:00, created before 1991-01-01T00:00:00+00:00")
    refused(archive, "hold", "add", "M-1", "--source", "blog", criteria="hold add M-1: source blog")
    assert holds(archive) == []


def test_hold_add_allow_empty_places_the_hold_on_0_records(archive):
    result = cli("hold", "add", "M-2", "--source", "wiki", *NOWHERE, "--allow-empty", "--config", archive)
    assert result.exit_code == 0 and "placed on 0 records" in result.stdout, result.output
    assert [(h["matter"], h["active"], h["records"]) for h in holds(archive)] == [("M-2", True, 0)]
    assert [e["records"] for e in audit_events(config.load(archive)) if e["event"] == "hold-applied"] == [0]
    # the hold's own selection is empty: exporting it is refused too, and goes through when meant
    out = os.path.join(os.path.dirname(archive), "bag")
    refused(archive, "export", "--matter", "M-2", "--out", out, criteria="export: hold M-2")
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")


def test_export_that_selects_nothing_writes_no_bag_unless_allowed(archive):
    out = os.path.join(os.path.dirname(archive), "bag")
    refused(archive, "export", "--source", "wiki", *NOWHERE, "--out", out, criteria="export: source wiki, created since")
    assert not os.path.exists(out) and not os.path.exists(out + ".partial")
    result = cli("export", "--source", "wiki", *NOWHERE, "--out", out, "--allow-empty", "--config", archive)
    assert result.exit_code == 0 and ": 0 records, 0 versions" in result.stdout, result.output
    bagit.Bag(out).validate()
    assert [e["records"] for e in audit_events(config.load(archive)) if e["event"] == "export"] == [0]


def test_verify_of_a_source_with_nothing_archived_is_refused_unless_allowed(archive):
    refused(archive, "verify", "--source", "blog", criteria="verify: source blog")
    result = cli("verify", "--source", "blog", "--allow-empty", "--config", archive)
    assert result.exit_code == 0 and "source blog: 0 records archived" in result.stdout, result.output
    assert cli("verify", "--source", "wiki", "--config", archive).exit_code == 0     # a selection of records


def test_reclassify_of_a_source_with_nothing_archived_is_refused_unless_allowed(archive):
    refused(archive, "reclassify", "--source", "blog", "--apply", criteria="reclassify: source blog")
    result = cli("reclassify", "--source", "blog", "--allow-empty", "--config", archive)
    assert result.exit_code == 0 and "reclassify: 0 records" in result.stdout, result.output


def test_subject_restrict_of_nobody_archived_records_nothing_unless_allowed(archive):
    refused(archive, "subject", "restrict", "Nobody Archived", "--reason", "DSAR 9",
            criteria="user 'Nobody Archived' (as author or revision author) selects")
    assert ledger_rows(archive)["restrictions"] == 0
    result = cli("subject", "restrict", "Nobody Archived", "--reason", "DSAR 9", "--allow-empty", "--config", archive)
    assert result.exit_code == 0 and "processing restricted on 0 records" in result.stdout, result.output


def test_json_logs_get_the_refusal_as_one_json_line(archive):
    result = cli("hold", "add", "M-3", "--query", "zqxjkwordnowhere", "--log-format", "json", "--config", archive)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert "text 'zqxjkwordnowhere' selects no record" in json.loads(line)["message"]


def ledger_rows(path: str) -> dict[str, int]:
    """Rows of the tables a hold or a restriction writes (absent tables count as empty)."""
    db = sqlite3.connect(config.load(path).ledger_path)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else 0
                for t in ("holds", "hold_records", "restrictions", "restricted_records")}
    finally:
        db.close()


WORD = st.text("bcdfghjklmnpqrstvwxz", min_size=4, max_size=12).map(lambda w: "zq" + w)   # in no seeded text
BEFORE = st.dates(date(1970, 1, 1), date(2021, 6, 1))                                   # the pages are 2022-2023


@st.composite
def empty_selections(draw) -> tuple[list[str], str]:
    """A command whose selection matches nothing in the seeded archive, and the criteria its refusal names."""
    since = draw(BEFORE)
    until = since + timedelta(days=draw(st.integers(1, 200)))
    dates = ["--since", since.isoformat(), "--until", until.isoformat()]
    named = f"source wiki, created since {since.isoformat()}T00:00:00+00:00"
    word, name = draw(WORD), draw(WORD).title()
    return draw(st.sampled_from([
        (["hold", "add", "M-h", "--query", word], f"text {word!r}"),
        (["hold", "add", "M-h", "--source", "wiki", *dates], named),
        (["hold", "add", "M-h", "--source", "blog"], "source blog"),
        (["export", "--source", "wiki", *dates, "--out", f"/tmp/sa-bag-{uuid.uuid4().hex}"], named),
        (["subject", "restrict", name, "--reason", "DSAR"], f"user {name!r}"),
        (["verify", "--source", "blog"], "source blog"),
        (["reclassify", "--source", "blog", "--apply"], "source blog"),
    ]))


@settings(max_examples=14, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=empty_selections())
def test_an_empty_selection_leaves_no_trace(archive, case):
    """Searches for a selection of nothing that writes a hold, a restriction, an audit entry or a bag."""
    args, criteria = case
    before = ledger_rows(archive)
    refused(archive, *args, criteria=criteria)
    assert ledger_rows(archive) == before
    if "--out" in args:
        out = args[args.index("--out") + 1]
        assert not os.path.exists(out) and not os.path.exists(out + ".partial")
