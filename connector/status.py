"""``socialarchive status``: what the ledger knows, per source. Local only: no network request.

Per source: the incremental checkpoint; records (items, files, tombstones, items deleted in the
source), versions and bytes archived (``versions.length`` summed); quarantined records with their
reasons; the last run with its outcome (a run with no outcome was killed or is still running);
backfills with their status; intents left by a killed run (the next run checks them against the
repository); the change sweep's coverage and per-run budget (``connector.sweep.figures``).

Every time it prints (checkpoint, run, backfill and quarantine times; in the text and the JSON) is
ISO 8601 UTC with ``Z`` in whole seconds (``when.iso``), the form every ``--since``/``--until``
reads: ``report --since 2026-12-03T17:20:57Z`` takes what ``status`` showed as is. The source's raw
state, under ``state``, stays as the source wrote it.
"""
from __future__ import annotations

from .config import Config
from .store import Ledger
from .sweep import for_source, format_figures
from .when import pasteable

FILE_KINDS = ("file", "media", "attachment")
TIMES = ("since", "until", "started_at", "finished_at")


def status(cfg: Config, ledger: Ledger | None = None) -> dict:
    own = ledger is None
    ledger = ledger or Ledger(cfg.ledger_path)
    try:
        names = list(cfg.sources)
        for name in sorted(ledger.record_sources() | ledger.quarantine_sources()):
            if name not in names:
                names.append(name)
        sources = [_source(ledger, name, cfg.sources[name].type if name in cfg.sources else None)
                   for name in names]
        for entry in sources:
            sc = cfg.sources.get(entry["source"])
            entry["sweep"] = for_source(ledger, sc.name, sc.type, sc.options) if sc else None
        return {"ledger": cfg.ledger_path, "sources": sources, "totals": ledger.counts()}
    finally:
        if own:
            ledger.close()


def _source(ledger: Ledger, name: str, system: str | None) -> dict:
    items, file_count, tombstones, deleted = ledger.record_counts(name, FILE_KINDS)
    versions, size = ledger.archived_size(name)
    kinds = ledger.kind_counts(name)
    quarantined = [{"key": key, "error": error, "reason": reason, "attempts": attempts,
                    "first_seen": pasteable(first), "last_seen": pasteable(last)}
                   for key, _, error, reason, attempts, first, last in ledger.quarantined(name)]
    run = ledger.last_run(name)
    last_run = None
    if run:
        summary = run[5]
        last_run = {"run_id": run[0], "command": run[1].split(" ", 1)[0], "started_at": pasteable(run[2]),
                    "finished_at": pasteable(run[3]), "outcome": run[4] or "unfinished (killed, or still running)",
                    "versions": summary.get("versions"), "quarantined": summary.get("quarantined"),
                    "seconds": summary.get("seconds"), "errors": summary.get("errors", [])}
    state = ledger.source_state(name)
    return {"source": name, "system": system, "configured": system is not None,
            "checkpoint": pasteable(state.get("checkpoint")), "state": state,
            "items": items, "files": file_count, "versions": versions, "bytes": size,
            "tombstones": tombstones, "deleted_in_source": deleted, "kinds": kinds,
            "quarantined": quarantined, "last_run": last_run,
            "backfills": [{k: pasteable(b[k]) if k in TIMES else b[k]
                           for k in ("run_id", "since", "until", "status", "objects", "cursor", "attempts",
                                     "started_at", "finished_at")}
                          for b in ledger.backfills(name)],
            "pending_intents": ledger.pending_intents(name)}


def format_status(st: dict) -> str:
    lines = [f"ledger {st['ledger']}: {st['totals']['records']} records, {st['totals']['versions']} versions, "
             f"{st['totals']['quarantined']} quarantined"]
    for s in st["sources"]:
        head = f"{s['source']} ({s['system'] or 'not in the config'})"
        lines.append(head)
        lines.append(f"  checkpoint: {s['checkpoint'] or 'none (the next sync is a full crawl)'}")
        lines.append(f"  archived: {s['items']} items, {s['files']} files, {s['versions']} versions, "
                     f"{_size(s['bytes'])}; {s['tombstones']} tombstones ({s['deleted_in_source']} records deleted in the source)")
        run = s["last_run"]
        if run:
            lines.append(f"  last run: {run['command']} {run['run_id']} started {run['started_at']}, "
                         f"{run['outcome']}" + (f", {run['versions']} new versions in {run['seconds']:.1f} s"
                                                 if run.get("seconds") is not None else ""))
            lines += [f"    error: {e}" for e in run["errors"]]
        else:
            lines.append("  last run: never")
        for b in s["backfills"]:
            lines.append(f"  backfill {b['run_id']} [{b['since'] or '-'} .. {b['until'] or '-'}): {b['status']}, "
                         f"{b['objects']} objects, {b['attempts']} attempt(s)")
        if s["pending_intents"]:
            lines.append(f"  {s['pending_intents']} writes were in flight when a run stopped; the next run checks them")
        if s.get("sweep"):
            lines += [f"  {line}" for line in format_figures(s["sweep"])]
        lines.append(f"  quarantined: {len(s['quarantined'])}")
        for q in s["quarantined"]:
            lines.append(f"    {q['key']}: {q['error']}: {q['reason']} ({q['attempts']} attempt(s), last {q['last_seen']})")
    return "\n".join(lines)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
