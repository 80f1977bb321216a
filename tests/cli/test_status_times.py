"""What `status` prints as a time can be pasted into any --since/--until (one parser, connector/when.py):
every time in its text and JSON is ISO 8601 UTC with Z, and `search` takes them as they are
(real OpenCMIS InMemory); a time no command reads is refused with exit 2 by each of them."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.store import Ledger
from connector.when import parse_when

from ..conftest import write_config

pytestmark = pytest.mark.integration
BLOG = '\n[sources.blog]\ntype = "wordpress"\nbase_url = "http://127.0.0.1:9"\nusername = "admin"\n' \
       'app_password_file = "cmis-password"\n'
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?")
PASTEABLE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def path(tmp_path, cmis_url) -> str:
    """A ledger with a checkpoint, a run, a backfill and a quarantined record, each stamped as
    their writers stamp them (milliseconds and +00:00, a WordPress checkpoint without a zone)."""
    path = write_config(tmp_path, cmis_url, sources=BLOG)
    ledger = Ledger(config.load(path).ledger_path)
    try:
        ledger.save_source_state("blog", {"checkpoint": "2026-11-29T09:50:00.250000"})
        ledger.start_run("run-1", "sync blog")
        ledger.finish_run("run-1", "ok", {"versions": 3, "seconds": 1.5})
        ledger.begin_backfill("backfill-blog-1", "blog", "2024-01-31T08:00:00Z", None)
        ledger.finish_backfill("backfill-blog-1", "done", {})
        ledger.quarantine("blog/post/post:1", "blog", "DigestMismatch", "simulated")
    finally:
        ledger.close()
    return path


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.exit_code, result.output)
    return result


def test_every_time_status_prints_is_pasteable_into_the_date_options(path):
    text = run("status", "--config", path).stdout
    found = json.loads(run("status", "--json", "--config", path).stdout)
    (blog,) = [s for s in found["sources"] if s["source"] == "blog"]
    shown = [blog["checkpoint"], blog["last_run"]["started_at"], blog["last_run"]["finished_at"],
             blog["backfills"][0]["since"], blog["backfills"][0]["started_at"], blog["backfills"][0]["finished_at"],
             blog["quarantined"][0]["first_seen"], blog["quarantined"][0]["last_seen"]]
    assert all(PASTEABLE.fullmatch(t) for t in shown), shown
    assert blog["checkpoint"] == "2026-11-29T09:50:00Z" and blog["backfills"][0]["since"] == "2024-01-31T08:00:00Z"
    assert blog["state"]["checkpoint"] == "2026-11-29T09:50:00.250000"     # the source's own state, untouched
    in_text = TIME.findall(text)
    assert len(in_text) >= 4 and [t for t in in_text if not PASTEABLE.fullmatch(t)] == []
    assert "checkpoint: 2026-11-29T09:50:00Z" in text and "[2024-01-31T08:00:00Z .. -)" in text

    # pasted as they are into a real command against the real repository
    since, until = blog["checkpoint"], blog["last_run"]["finished_at"]
    assert parse_when(since) < parse_when(until)
    result = run("search", "--source", "blog", "--since", since, "--until", until, "--config", path)
    assert "Invalid value" not in result.output


@pytest.mark.parametrize("args", [["search", "x"], ["hold", "add", "M1", "--source", "blog"],
                                  ["export", "--source", "blog", "--out", "bag"], ["plan", "--source", "blog"],
                                  ["backfill", "--source", "blog"], ["report"]])
def test_every_date_option_refuses_what_it_cannot_read_the_same_way(path, args):
    for option in ("--since", "--until"):
        result = run(*args, option, "31.01.2024", "--config", path, code=2)
        assert f"Invalid value for '{option}': '31.01.2024' is not a date or time: give YYYY-MM-DD" in result.output
        assert "Traceback" not in result.output
