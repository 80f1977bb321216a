"""``socialarchive plan``: how big a backfill would be, and how long it would take, before running it.

Three measured inputs:

1. the source's ``estimate(since, until)``: counts from cheap API calls (WordPress ``X-WP-Total``,
   MediaWiki siteinfo statistics and a capped ``allrevisions`` listing without content, Misago's
   thread listing, Discourse ``/about.json``), with the requests a backfill would make;
2. the source's speed: the mean time of the estimate's own requests, or its configured rate limit
   (Discourse ``rate_per_minute``) when that is slower;
3. the repository's create rate: the ledger's history of this source's recent finished runs
   (versions filed per second, end to end) when they filed at least ``MIN_HISTORY_VERSIONS``
   versions; otherwise a probe that times a few ``createDocument`` round trips (1 KiB each, one of
   1 MiB for throughput) in a scratch folder ``_probe`` under the base path, and deletes the
   probes and the folder again.

Duration, from history: versions / the source's end-to-end rate. From a probe: source requests x
seconds per source request + repository writes (one request per new document, two per further
version) x seconds per create (+ bytes / upload throughput): reading and writing are added as if
sequential, an upper bound when the pipeline writes on several workers.
"""
from __future__ import annotations

import logging
import statistics
import time
import uuid
from datetime import datetime

from .backfill import iso, run_id
from .cmis import schema
from .cmis.client import Upload
from .config import Config
from .errors import ConfigError
from .reader import ArchiveView, open_reader
from .sources import build
from .sweep import for_source, format_figures

log = logging.getLogger(__name__)

MIN_HISTORY_VERSIONS = 10
PROBES = 3


def plan(cfg: Config, source_name: str, since: datetime | None, until: datetime | None, *,
         probe: bool = True) -> dict:
    if source_name not in cfg.sources:
        raise ConfigError(f"no source named {source_name} in {cfg.path}")
    sc = cfg.sources[source_name]
    source = build(source_name, sc.type, sc.options)
    t0 = time.monotonic()
    est = source.estimate(since, until)
    spent = time.monotonic() - t0
    per_request = spent / max(1, source.request_count)
    limit = est.rate_limit_per_minute
    source_seconds_per_request = max(per_request, 60.0 / limit) if limit else per_request

    archive = open_reader(cfg)
    try:
        counts = est.counts
        sweep = for_source(archive.ledger, source_name, sc.type, sc.options)
        if not sweep["units"]:   # nothing archived yet: the source's count
            sweep = for_source(archive.ledger, source_name, sc.type, sc.options,
                               units=int(counts.get("topics") or counts.get("threads") or 0))
        rate = history_rate(archive.ledger, source_name)
        if rate is None and probe:
            rate = probe_create_rate(archive)
        previous = archive.ledger.backfill_run(run_id(source_name, since, until))
    finally:
        archive.close()

    new_documents = est.items + est.files
    versions = est.versions
    writes = new_documents + 2 * max(0, versions - new_documents)
    source_seconds = est.requests * source_seconds_per_request
    repo_seconds = None
    if rate and rate["measured_by"] == "probe":
        repo_seconds = writes * rate["seconds_per_create"]
        if rate.get("bytes_per_second"):
            repo_seconds += est.bytes / rate["bytes_per_second"]
    elif rate:
        repo_seconds = versions / rate["versions_per_second"]
        source_seconds = 0.0           # the history's rate is end to end: it includes the source
    notes = list(est.notes)
    if rate and rate["measured_by"] == "ledger":
        notes.append(f"duration from this source's recent runs ({rate['versions_per_second']} versions/s "
                     "end to end)")
    return {
        "source": source_name, "system": est.system, "since": iso(since), "until": iso(until),
        "backfill_run_id": run_id(source_name, since, until),
        "backfill_status": previous["status"] if previous else None,
        "counts": est.counts, "objects": est.objects, "items": est.items,
        "files": est.files, "versions": versions, "bytes": est.bytes,
        "requests": {"source": est.requests, "repository": writes},
        "source_seconds_per_request": round(source_seconds_per_request, 4),
        "source_rate_limit_per_minute": limit, "repository": rate,
        "duration_seconds": None if repo_seconds is None else round(source_seconds + repo_seconds, 1),
        "duration": None if repo_seconds is None else _human(source_seconds + repo_seconds),
        "estimate_requests": source.request_count, "notes": notes, "sweep": sweep,
    }


def history_rate(ledger, source: str, runs: int = 20) -> dict | None:
    """Versions per second over the last ``runs`` finished runs of ``source`` that filed something."""
    versions = seconds = 0.0
    used = 0
    for summary in ledger.completed_summaries(source, runs):
        if summary.get("versions") and summary.get("seconds"):
            versions += summary["versions"]
            seconds += summary["seconds"]
            used += 1
    if versions < MIN_HISTORY_VERSIONS or seconds <= 0:
        return None
    return {"measured_by": "ledger", "runs": used, "versions_per_second": round(versions / seconds, 2)}


def probe_create_rate(archive: ArchiveView, probes: int = PROBES) -> dict:
    """Time ``probes`` createDocument round trips of 1 KiB and one of 1 MiB in ``<base>/_probe``."""
    filer, repo = archive.filer, archive.repo
    folder = filer.folder_id(("_probe",))
    made: list[str] = []
    timings: list[float] = []
    big = 0.0
    ours = repo.get_type(filer.profile.document_type) is not None   # our versionable type, if deployed
    try:
        for n in range(probes + 1):
            size = 1 << 20 if n == probes else 1024
            payload = b"p" * size
            props = {"cmis:objectTypeId": filer.profile.document_type if ours else "cmis:document",
                     "cmis:name": f"probe-{uuid.uuid4().hex}"}
            if ours:
                props[schema.KEY_PROPERTY] = f"_probe/{uuid.uuid4().hex}"
            t0 = time.monotonic()
            created = repo.create_document(folder, props, Upload("probe.bin", "application/octet-stream",
                                                                 iter([payload])),
                                           versioning_state="major" if ours else None)
            elapsed = time.monotonic() - t0
            made.append(created["cmis:objectId"])
            if n == probes:
                big = elapsed
            else:
                timings.append(elapsed)
    finally:
        for object_id in made:
            try:
                repo.delete_scratch(object_id)
            except Exception:  # noqa: BLE001 - a probe left behind is harmless, and named in the log
                log.warning("could not delete the probe document %s", object_id)
        try:
            repo.delete_scratch(folder)
            filer._folders.clear()
        except Exception:  # noqa: BLE001
            pass
    per_create = statistics.median(timings)
    extra = big - per_create
    return {"measured_by": "probe", "probes": probes + 1, "seconds_per_create": round(per_create, 4),
            "versions_per_second": round(1 / per_create, 2) if per_create > 0 else None,
            "bytes_per_second": round((1 << 20) / extra) if extra > 0.001 else None}


def _human(seconds: float) -> str:
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def format_plan(p: dict) -> str:
    window = f"{p['since'] or 'the beginning'} .. {p['until'] or 'now'}"
    lines = [f"plan for {p['source']} ({p['system']}), {window}",
             f"  backfill run id: {p['backfill_run_id']}"
             + (f" (previous run: {p['backfill_status']})" if p["backfill_status"] else ""),
             "  counts: " + ", ".join(f"{k}={v}" for k, v in p["counts"].items()),
             f"  objects: {p['objects']}  items: {p['items']}  files: {p['files']}  versions: {p['versions']}"
             f"  bytes: {_bytes(p['bytes'])}",
             f"  requests: ~{p['requests']['source']} to the source "
             f"({p['source_seconds_per_request']:.3f} s each"
             + (f", rate limit {p['source_rate_limit_per_minute']:g}/min" if p["source_rate_limit_per_minute"] else "")
             + f"), ~{p['requests']['repository']} repository writes"]
    rate = p["repository"]
    if rate and rate["measured_by"] == "probe":
        lines.append(f"  repository: {rate['seconds_per_create'] * 1000:.0f} ms per createDocument "
                     f"(probe of {rate['probes']} round trips)"
                     + (f", {_bytes(rate['bytes_per_second'])}/s upload" if rate.get("bytes_per_second") else ""))
    elif rate:
        lines.append(f"  repository: {rate['versions_per_second']} versions/s over the last {rate['runs']} runs")
    else:
        lines.append("  repository: not measured")
    lines.append(f"  estimated duration: {p['duration'] or 'unknown'}")
    if p.get("sweep"):
        lines.append(f"  {format_figures(p['sweep'])[0]}")
    lines += [f"  note: {n}" for n in p["notes"]]
    return "\n".join(lines)


def _bytes(n) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
