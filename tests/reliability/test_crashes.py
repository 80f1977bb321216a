"""Crashes: SIGKILL at seeded random moments during a real backfill (MediaWiki -> OpenCMIS, the CLI
in a subprocess), then one more run: nothing missing, nothing twice, the audit chain intact.

The corpus is ~300 revisions on 40 pages plus 2 files (3 file versions) written to the real wiki
(``conftest.corpora``). Kill moments, in a seeded order: a timer (anywhere: start-up, listing,
upload, commit; at the latest once the repository acknowledged ``TIMER_CAP`` versions), right
after the repository acknowledged a write and before the ledger recorded it, once a group's audit
entries are durable and before the ledger commit that records the group (on one worker and on
four), in the middle of an audit line (torn line), and between a check-out and its check-in.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from connector import config
from connector.audit import AuditLog, AuditLogDamaged, verify_chain

from .conftest import ROOT, reliability_config, wiki_source
from .helpers import STATE, assert_no_duplicates, checked_out, ledger_versions, open_archive, wiki_keys

SEED = 1337


def _schedule(rng: random.Random) -> list[tuple[str, float, str]]:
    """(moment, at, workers): hooked kills on one worker (sequential writes: each run gets a few
    versions further), timer kills on four (writes in flight and acked ahead of the group commit)."""
    plan = ([("commit", rng.randint(2, 10), "1") for _ in range(5)]
            + [("audit", rng.randint(2, 10), "1") for _ in range(3)]
            + [("checkout", rng.randint(2, 6), "1") for _ in range(2)]
            + [("timer", round(rng.uniform(1.2, 2.2), 2), "4") for _ in range(4)]
            + [("group", rng.randint(1, 3), workers) for workers in ("1", "4")])
    rng.shuffle(plan)
    return plan


# a fast machine must not let one timer run write the whole backfill: the runs after it would find
# every version already in the repository, record it as recovered and never reach their kill. The
# bound counts the repository's acknowledgements, not ledger rows: the worker window lets the
# repository run up to 64 objects (here the whole corpus) ahead of the ledger (CI, 2026-12-04:
# a timer run left 88 rows and ~290 versions written; the next hooked runs recorded them and ended)
TIMER_CAP = 40
ENV = {"commit": "SA_KILL_AT_COMMIT", "audit": "SA_KILL_IN_AUDIT", "checkout": "SA_KILL_AFTER_CHECKOUT",
       "group": "SA_KILL_BEFORE_GROUP_COMMIT", "timer": "SA_KILL_AFTER_WRITES"}


@pytest.mark.integration
def test_sigkill_at_random_moments_loses_nothing_and_files_nothing_twice(corpora, wiki, mw_api, cmis_url,
                                                                        tmp_path, figures):
    corpus = corpora.crash
    path = reliability_config(tmp_path, cmis_url, sources=wiki_source(mw_api, STATE))
    cfg = config.load(path)
    args = [sys.executable, "-m", "tests.reliability.crashchild", "backfill", "--config", path,
            "--source", "wiki", "--progress-interval", "600",
            "--since", corpus.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--until", corpus.until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    base_env = {k: v for k, v in os.environ.items() if k not in ENV.values()}
    base_env["PYTHONPATH"] = str(ROOT)
    runs = []
    for mode, at, workers in _schedule(random.Random(SEED)):
        env = dict(base_env)
        env[ENV[mode]] = str(TIMER_CAP if mode == "timer" else int(at))
        proc = subprocess.Popen(args + ["--workers", workers], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:   # a timer run is killed at ``at`` seconds, or dies sooner once TIMER_CAP versions were written
            out, err = proc.communicate(timeout=at if mode == "timer" else 300)
        except subprocess.TimeoutExpired:
            if mode != "timer":
                raise
            proc.kill()
            out, err = proc.communicate(timeout=300)
        assert proc.returncode in (-9, 0), (mode, at, proc.returncode, err.decode()[-2000:])
        runs.append((mode, at, proc.returncode, _filed(cfg.ledger_path)))
    kills = [r for r in runs if r[2] == -9]
    assert len(kills) >= 10, str(runs)

    final = subprocess.run(args + ["--workers", "4"], env=base_env, cwd=ROOT, capture_output=True, timeout=300)
    assert final.returncode == 0, final.stdout.decode()[-2000:] + final.stderr.decode()[-3000:]
    # the kills came during the work, not after it: each left versions to file (whether the last
    # timer run left any for the final run is chance, so that is not what is asserted)
    during = [r for r in kills if r[3] < _filed(cfg.ledger_path)]
    assert len(during) >= 10, str(runs)

    # nothing missing: every revision of every page, every file version
    keys = wiki_keys(wiki, corpus)
    ledger = ledger_versions(cfg.ledger_path, keys)
    for key, revids in keys.items():
        if revids:
            assert sorted(ledger[key]) == sorted(revids), f"{key}: missing {set(revids) - set(ledger[key])}"
    files = sorted(len(v) for k, v in ledger.items() if k.startswith("wiki/file/"))
    assert files == [1, 2], ledger
    # nothing twice: one document per record, one version per revision, no check-out left behind
    archive = open_archive(path)
    try:
        versions = assert_no_duplicates(archive, ledger)
        for key in ledger:
            record = archive.ledger.record(key)
            assert not checked_out(archive, record["object_id"]), f"{key}: a stale check-out remains"
        assert not archive.ledger.quarantined("wiki")
    finally:
        archive.close()
    assert versions >= corpus.revisions + 3
    # the audit chain verifies; every torn line was cut and said so
    assert verify_chain(cfg.audit_path) == []
    entries = [json.loads(line) for line in open(cfg.audit_path, encoding="utf-8")]
    events = Counter(e["event"] for e in entries)
    tears = sum(1 for mode, _, code, _ in runs if mode == "audit" and code == -9)
    assert events["audit_repaired"] == tears
    assert len([f for f in os.listdir(os.path.dirname(cfg.audit_path)) if ".torn-" in f]) == tears
    assert events["recovered"] >= 1       # a write acked before a kill was recorded, not written again
    figures["crashes"] = {
        "kills": len(kills), "runs": len(runs) + 1,
        "by_moment": dict(Counter(mode for mode, _, code, _ in runs if code == -9)),
        "runs_detail": [list(r) for r in runs],
        "revisions": corpus.revisions, "versions_checked": versions, "torn_lines_repaired": tears,
        "recovered_after_ack": events["recovered"],
    }


def _filed(ledger_path: str) -> int:
    """Versions in the ledger (read-only, while a run may be writing it); 0 before it exists."""
    import sqlite3
    if not os.path.exists(ledger_path):
        return 0
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM versions").fetchone()[0]
    except sqlite3.OperationalError:   # the schema is not there yet
        return 0
    finally:
        db.close()


def test_a_torn_last_audit_line_is_cut_kept_and_recorded(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path))
    for n in range(3):
        log.append("file", key=f"k{n}")
    whole = path.read_bytes()
    torn = b'{"actor": "socialarchive", "event": "version", "ke'
    path.write_bytes(whole + torn)     # killed mid-write
    again = AuditLog(str(path))
    assert verify_chain(str(path)) == []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["event"] for e in lines] == ["file", "file", "file", "audit_repaired"]
    repaired = lines[-1]
    assert repaired["torn_bytes"] == len(torn) and repaired["seq"] == 4
    assert (tmp_path / repaired["torn_kept_in"]).read_bytes() == torn         # kept as evidence
    again.append("file", key="k3")
    assert verify_chain(str(path)) == []
    before = path.read_bytes()
    assert AuditLog(str(path))._seq == 5 and path.read_bytes() == before      # an intact log is left alone


def test_a_damaged_complete_last_line_is_refused_not_repaired(tmp_path):
    path = tmp_path / "audit.jsonl"
    AuditLog(str(path)).append("file", key="k")
    with open(path, "ab") as fh:
        fh.write(b"this is not an audit entry\n")
    with pytest.raises(AuditLogDamaged, match="not an audit entry"):
        AuditLog(str(path))
    assert verify_chain(str(path)) == ["line 2: not JSON"]
