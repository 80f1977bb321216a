"""Requests the rolling change sweep (connector/sweep.py) costs per sync, at 1k and 100k archived
topics with the default period (7 days, a sync every 15 minutes: 672 runs a pass), and the
period a given per-run budget achieves.

Measured: one sweep pass over the Discourse fixtures (4 topics, one of 25 posts; ``responses``,
no server: Discourse cannot run here), every topic re-checked, requests counted by the source.
Computed from that measured requests-per-topic: the per-run budget (``connector.sweep.share``)
and the period of a budget (``achieved_period``), printed side by side with RAW, re-reading
every topic on every run (what a sync without a budget would do to see the same edits).

    .venv/bin/python bench/sweep.py
"""
from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import responses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector.store import Ledger  # noqa: E402
from connector.sweep import ChangeSweep, Settings, achieved_period, share  # noqa: E402
from tests.sources.test_discourse import FakeTime, TOPIC_IDS, get, register_run1, source  # noqa: E402


def measured_pass() -> tuple[int, int]:
    """(topics, requests) of one whole pass over the fixtures, each topic read by the sweep."""
    with tempfile.TemporaryDirectory() as tmp, responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        register_run1(rsps)
        for tid in TOPIC_IDS:          # each topic may be read once more by the sweep
            get(rsps, f"/t/{tid}.json", f"t_{tid}.json")
        get(rsps, "/t/100/posts.json", "t_100_posts.json", {"post_ids[]": [str(i) for i in range(1020, 1025)]})
        ledger = Ledger(f"{tmp}/ledger.sqlite")
        src = source(FakeTime())
        src._run_start()               # a fresh run: nothing read yet, so every topic costs requests
        src._load_categories()         # read by every sync's visibility sweep anyway
        src.SWEEP_REQUESTS_PER_UNIT = 10.0   # a budget for the whole pass: every topic is checked
        keys = [f"talk/thread/thread:{tid}" for tid in TOPIC_IDS]
        sweep = ChangeSweep(ledger, src, Settings(period=timedelta(minutes=15)), dry_run=True)
        outcome = sweep.run(keys, file=lambda objects: True)
        ledger.close()
    return outcome.units, outcome.requests


def main() -> None:
    units, requests = measured_pass()
    per_unit = requests / units
    settings = Settings()
    print(f"measured: one pass over {units} Discourse topics (one of 25 posts) = {requests} requests, "
          f"{per_unit:.2f} per topic")
    print(f"default period {settings.period.days} days, a sync every 15 min (assumed): "
          f"{settings.runs_per_period:.0f} runs a pass\n")
    print(f"{'archived topics':>16} | {'OURS requests/run':>18} | {'RAW requests/run':>17} | ratio")
    for count in (units, 1_000, 100_000):
        ours = share(count, per_unit, settings)
        raw = count * per_unit
        print(f"{count:>16,} | {ours:>18.2f} | {raw:>17,.0f} | {ours / raw:.4f}")
    print(f"\n{'budget/run':>10} | {'period at 1k topics':>20} | {'period at 100k topics':>22}")
    for cap in (1, 10, 50, 100, 200):
        periods = [achieved_period(count, per_unit, settings, cap) for count in (1_000, 100_000)]
        print(f"{cap:>10} | {_days(periods[0]):>20} | {_days(periods[1]):>22}")


def _days(period: timedelta) -> str:
    days = period / timedelta(days=1)
    return f"{days:.2f} days" if days >= 1 else f"{period / timedelta(hours=1):.1f} h"


if __name__ == "__main__":
    main()
