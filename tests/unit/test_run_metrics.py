"""Metrics (issue #17): a run that quarantined anything is no success, whatever it filed; the
quarantine has gauges of its own (this run's, and what is in quarantine now)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from prometheus_client.parser import text_string_to_metric_families

from connector import metrics
from connector.summary import Summary


def samples(path) -> dict[tuple, float]:
    with open(path, encoding="utf-8") as fh:
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(fh.read()) for s in family.samples}


LAST_SUCCESS = "socialarchive_last_success_timestamp_seconds"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ok", "quarantined", "unavailable", "fatal", "interrupted"]),
                          st.integers(0, 5), st.integers(0, 9)), min_size=1, max_size=8))
def test_last_success_moves_only_on_a_run_that_quarantined_nothing(tmp_path_factory, runs):
    """Searches for a run history where last_success is not the time of the last ok run."""
    path = str(tmp_path_factory.mktemp("m") / "m.prom")
    clock, expected = [0.0], None
    metrics_time = metrics.time.time
    metrics.time.time = lambda: clock[0]
    try:
        for n, (outcome, quarantined, in_quarantine) in enumerate(runs, start=1):
            clock[0] = 1000.0 * n
            outcome = "quarantined" if outcome == "ok" and quarantined else outcome
            metrics.write_metrics(path, [Summary(source="wiki", outcome=outcome, quarantined=quarantined)],
                                  in_quarantine={"wiki": in_quarantine})
            if outcome == "ok":
                expected = clock[0]
            found = samples(path)
            assert found.get((LAST_SUCCESS, (("source", "wiki"),))) == expected
            assert found[("socialarchive_run_quarantined", (("source", "wiki"),))] == quarantined
            assert found[("socialarchive_quarantine_records", (("source", "wiki"),))] == in_quarantine
    finally:
        metrics.time.time = metrics_time


def test_quarantine_gauge_absent_when_unknown_and_kept_for_other_sources(tmp_path):
    path = str(tmp_path / "m.prom")
    metrics.write_metrics(path, [Summary(source="blog")], in_quarantine={"blog": 2})
    metrics.write_metrics(path, [Summary(source="wiki")])
    found = samples(path)
    assert found[("socialarchive_quarantine_records", (("source", "blog"),))] == 2
    assert ("socialarchive_quarantine_records", (("source", "wiki"),)) not in found
