"""Building blocks of plan/backfill/status/report without servers: run ids, progress,
the graceful stop, the report renderers."""
from __future__ import annotations

import io
import os
import signal
from datetime import datetime, timezone

import pytest

from connector.backfill import run_id
from connector.progress import Progress, graceful_stop
from connector.report import render
from connector.summary import Summary
from connector.when import parse_when

UTC = timezone.utc


def test_run_id_depends_on_source_and_range_only():
    a, b = parse_when("2024-01-01"), parse_when("2024-02-01")
    assert run_id("blog", a, b) == run_id("blog", a, b) == run_id("blog", parse_when("2024-01-01T01:00+01:00"), b)
    assert len({run_id("blog", a, b), run_id("wiki", a, b), run_id("blog", a, None), run_id("blog", None, None)}) == 4
    assert run_id("blog", a, b).startswith("backfill-blog-")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_lines_when_not_a_terminal():
    out, clock = io.StringIO(), Clock()
    progress = Progress(10, stream=out, tty=False, interval=5, clock=clock, label="blog")
    for n in range(4):
        clock.now = n + 1.0
        progress.update(Summary("blog", versions=n + 1))
    progress.close(Summary("blog", versions=4))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2                       # the first update, then the last line (interval 5 s)
    assert lines[-1] == "blog: 4/~10 objects, 4 new versions, 0 quarantined, 1.0/s, elapsed 0:00:04, ETA 0:00:06"


def test_progress_bar_on_a_terminal_and_json_lines():
    out, clock = io.StringIO(), Clock()
    progress = Progress(4, stream=out, tty=True, clock=clock)
    clock.now = 1.0
    progress.update()
    progress.close()
    assert "\r\x1b[2K[#####...............] 1/~4 objects" in out.getvalue() and out.getvalue().endswith("\n")
    out = io.StringIO()
    progress = Progress(None, stream=out, tty=False, json_lines=True, clock=clock)
    progress.update()
    import json
    entry = json.loads(out.getvalue().splitlines()[0])
    assert entry["objects"] == 1 and entry["total"] is None and entry["eta_seconds"] is None


class FakePipeline:
    stop_requested = False

    def request_stop(self):
        self.stop_requested = True


def test_first_signal_asks_to_stop_second_sigint_aborts():
    pipeline, notes = FakePipeline(), []
    before = signal.getsignal(signal.SIGINT)
    with graceful_stop(pipeline, notify=notes.append):
        os.kill(os.getpid(), signal.SIGTERM)
        assert pipeline.stop_requested and "SIGTERM" in notes[0]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


REPORT = {"generated_at": "2026-01-01T00:00:00+00:00", "repository": "http://cmis", "base_path": "/a",
          "missing_total": 1, "extra_total": 1, "pending_total": 1, "sources": [{
              "source": "wiki", "system": "mediawiki", "ranged": False, "since": None, "until": None,
              "totals": {"source_items": 3}, "deleted_in_source": 0, "last_completed_sync": "2025-12-31T23:00:00+00:00",
              "spaces": {"Main": {"source_items": 3, "source_revisions": 5, "ledger_items": 2, "ledger_revisions": 4,
                                  "repository_items": 2, "repository_revisions": 4, "missing_items": 1,
                                  "pending_items": 1, "extra_items": 1}},
              "missing": [{"key": "wiki/page/3", "space": "Main", "kind": "page", "title": "<Three>",
                           "status": "not archived", "missing_in_repository": ["9"], "missing_in_ledger": ["9"],
                           "source_revisions": 1}],
              "pending": [{"key": "wiki/page/5", "space": "Main", "kind": "page", "title": "Five",
                           "status": "not archived", "missing_in_repository": ["11"], "missing_in_ledger": ["11"],
                           "source_revisions": 1, "changed": "2026-01-01T00:00:00+00:00"}],
              "extra": [{"key": "wiki/page/4", "space": "Main", "status": "not listed by the source",
                         "in_ledger": True, "in_repository": True, "revisions": ["7"]}],
              "per_month": {"2025-11": 1, "2025-12": 2}}]}


def test_renderers():
    text = render(REPORT, "text")
    assert "MISSING wiki/page/3" in text and "EXTRA wiki/page/4" in text and "missing: 1, extra: 1, pending: 1" in text
    assert "PENDING wiki/page/5" in text
    csv_text = render(REPORT, "csv")
    assert csv_text.splitlines()[0].startswith("row,source,space,key,status")
    assert "missing,wiki,Main,wiki/page/3,not archived" in csv_text
    page = render(REPORT, "html")
    assert page.count('<g class="bar"') == 2 and 'data-month="2025-12" data-count="2"' in page
    assert "&lt;Three&gt;" in page and "<Three>" not in page
    assert '"missing_total": 1' in render(REPORT, "json")
