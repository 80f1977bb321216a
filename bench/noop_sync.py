#!/usr/bin/env python3
"""No-op sync: requests and wall time of an incremental sync when nothing changed, with 1 000 and
10 000 archived records in the ledger, OURS vs a RAW client's minimum.

Uses its own MediaWiki (servers/mediawiki/up.sh on 127.0.0.1:18181, state /tmp/mw-bench: nobody
else edits it, so nothing changes between runs) and its own OpenCMIS InMemory (18190).

OURS   ``Pipeline.sync`` of the real MediaWiki source, a new source object per run (a new login, like
       a new cron process), after one full crawl and one settling incremental run; the ledger is
       then filled with 1 000, later 10 000, synthetic records (and their versions).
       Wall time: Archive.open + sync + close (everything but the interpreter's start).
RAW    plain ``requests``: login token, login, one ``list=recentchanges`` since the checkpoint: the
       least a client can do to learn that nothing changed (OURS also runs the visibility sweep:
       the anonymous read probe, and one ``list=allpages`` per restricted namespace).

    PYTHONPATH=. python bench/noop_sync.py [--rounds 5] [--mw-api URL --mw-botpassword FILE]
"""
from __future__ import annotations

import os
import subprocess
import time

from common import ROOT, arguments, cmis_url, machine, median, raw_mediawiki_login, table, write_config

from connector.archive import Archive
from connector.cmis.filer import FiledVersion
from connector.model import Visibility
from connector.pipeline import Pipeline
from connector.sources import build

MW_PORT, MW_STATE = 18181, "/tmp/mw-bench"
SOURCE = """
[sources.wiki]
type = "mediawiki"
api_url = "{api}"
username = "Admin@connector"
password_file = "{password_file}"
"""


def fill(archive: Archive, start: int, count: int) -> None:
    """Synthetic archived records (one version each, public, with the ACL the archive decides for
    them), in one transaction."""
    acl = archive.mapper.acl("wiki", Visibility.public()).digest
    with archive.ledger.transaction():
        for n in range(start, start + count):
            key = f"wiki/page/{10_000_000 + n}"
            archive.ledger.commit_version(
                FiledVersion(key=key, revision_id=str(20_000_000 + n), object_id=f"synthetic-{n}",
                             series_id=f"synthetic-{n}", version_label="1.0", sha256="0" * 64, length=100,
                             name=f"Synthetic {n} [{10_000_000 + n}].wiki"),
                source="wiki", kind="page", native_id=str(10_000_000 + n), folder="wiki/Main/2024",
                visibility="public:", acl=acl, run_id="bench")


def ours_noop(cfg) -> tuple[float, int, int, str]:
    started = time.perf_counter()
    archive = Archive.open(cfg)
    try:
        summary = Pipeline(archive).sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))
        cmis = archive.repo.request_count   # all of this process's, Archive.open's included
    finally:
        archive.close()
    elapsed = time.perf_counter() - started
    if summary.versions or summary.items or summary.outcome != "ok":
        raise SystemExit(f"not a no-op run: {summary.line()}")
    return elapsed, summary.source_requests, cmis, summary.line()


def raw_noop(api: str, password: str, since: str) -> tuple[float, int]:
    started = time.perf_counter()
    session = raw_mediawiki_login(api, password)
    body = session.get(api, params={"action": "query", "list": "recentchanges", "rcdir": "newer", "rcstart": since,
                                    "rclimit": "max", "format": "json"}, timeout=30).json()
    assert "query" in body
    return time.perf_counter() - started, 3


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mw-api", help=f"default: our own MediaWiki on 127.0.0.1:{MW_PORT}")
    parser.add_argument("--mw-botpassword", help="file with the bot password of Admin@connector")
    args = parser.parse_args()
    url = cmis_url(args.cmis_url)
    if not args.mw_api:
        subprocess.run([os.path.join(ROOT, "servers/mediawiki/up.sh"), "start", str(MW_PORT), MW_STATE],
                       check=True, stdout=subprocess.DEVNULL)
    api = args.mw_api or f"http://127.0.0.1:{MW_PORT}/api.php"
    password_file = args.mw_botpassword or f"{MW_STATE}/botpassword"
    password = open(password_file).read().strip()
    cfg = write_config(url, sources=SOURCE.format(api=api, password_file=password_file))

    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        first = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))   # full crawl
        settle = pipeline.sync(build("wiki", "mediawiki", cfg.sources["wiki"].options))  # first incremental
        archived = archive.ledger.counts()["records"]
    finally:
        archive.close()
    print(f"setup: full crawl: {first.line()}\n       first incremental: {settle.line()}")

    rows, times = [], {}
    filled = 0
    for target in (1000, 10000):
        archive = Archive.open(cfg)
        try:
            fill(archive, filled, target - filled)
            since = archive.ledger.source_state("wiki")["checkpoint"]
            records = archive.ledger.counts()["records"]
        finally:
            archive.close()
        filled = target
        ours, raw, line = [], [], ""
        for _ in range(args.rounds):
            elapsed, source_requests, cmis, line = ours_noop(cfg)
            ours.append((elapsed, source_requests, cmis))
            raw.append(raw_noop(api, password, since))
        times[target] = median([o[0] for o in ours])
        rows.append((f"OURS: sync, {records} records in the ledger", f"{times[target] * 1000:.0f}",
                     max(o[1] for o in ours), max(o[2] for o in ours)))
        rows.append(("RAW: token + login + recentchanges", f"{median([r[0] for r in raw]) * 1000:.0f}",
                     raw[0][1], "-"))
    print(f"no-op sync of one MediaWiki source ({api}, {archived} real records + synthetic ones), "
          f"median of {args.rounds} runs; {machine()}")
    print(table(rows, ("", "wall ms (median)", "source requests", "CMIS requests (whole run)")))
    print(f"10 000 vs 1 000 records: {times[10000] / times[1000]:.2f} x the wall time. OURS' CMIS requests "
          "are all Archive.open's, once per run (repository info, our two types, the compliance module's "
          "records-management type probe); the sync itself sends none.")
    print(f"last run: {line}")


if __name__ == "__main__":
    main()
