"""``socialarchive report``: reconciliation of source, ledger and repository, per source and space.

Three views of the same records are compared, revision by revision:

- **source**: a listing of the source (``source.backfill(since, until)``; without a range the whole
  source). Item and revision ids only: the sources build items with lazy content, and nothing here
  reads ``Content.chunks()``, so no file is downloaded (markup that arrives inside the API's
  revision batches, as with MediaWiki, is read as part of the listing);
- **ledger**: the revisions the ledger says were filed;
- **repository**: what a CMIS query on our properties finds inside the archive's folder tree
  (records by ``sa:recordKey`` inside the base folder's tree, then each record's version list:
  one request per record).

A revision the pipeline did not file because it repeats the version before it (same content and
archived metadata, ``Ledger.cover``) counts as archived wherever the version covering it is.

An item is *missing* when a revision the source lists is absent from the repository or the
ledger; every missing item is listed with its missing revisions. Lag is told from loss: when every
revision missing was made at or after the start of the source's last completed ``sync`` (the
ledger's ``runs``), the item is *pending* (the next run files it) and does not count as missing;
a revision older than that, or without a date, is missing (no completed sync: everything is).
Without a range, records the
archive holds but the source no longer lists are *extra* (deleted in the source and not yet
tombstoned: ``sync --reconcile`` files their tombstones); records with a tombstone are counted as
deleted in the source, not as extra. With a range only missing items are reported, because the
archive also holds revisions outside the range.

Renderers: text, CSV (one row per space, then one per missing or extra item), JSON, and a
self-contained HTML page (inline CSS and SVG, no external asset) with the archived items per month
of their creation in the source as a bar chart.
"""
from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from datetime import datetime, timezone

from .cmis import schema
from .cmis.filer import quote
from .model import Item, Tombstone, record_key
from .reader import ArchiveView
from .sources import Source


def _month(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m")
    if isinstance(value, (int, float)):      # CMIS datetimes arrive as epoch milliseconds
        return datetime.fromtimestamp(value / 1000, timezone.utc).strftime("%Y-%m")
    if isinstance(value, str) and len(value) >= 7:
        return value[:7]
    return "undated"


def source_listing(source: Source, since: datetime | None, until: datetime | None) -> tuple[dict, set]:
    """key -> {kind, space, title, created, revisions, made}; and the keys the listing reports deleted.
    ``made``: revision id -> when the source made it (None when unknown)."""
    listed: dict[str, dict] = {}
    deleted: set[str] = set()

    def add(item: Item, space: str) -> None:
        entry = listed.setdefault(item.key, {"kind": item.kind, "space": space or "_", "title": item.title,
                                             "created": item.created, "revisions": [], "made": {}})
        for revision in item.revisions:
            if revision.id not in entry["revisions"]:
                entry["revisions"].append(revision.id)
                entry["made"][revision.id] = revision.created
        if entry["created"] is None:
            entry["created"] = item.created or (item.revisions[0].created if item.revisions else None)

    for obj in source.backfill(since, until):
        if isinstance(obj, Tombstone):
            deleted.add(obj.key)
            continue
        add(obj, obj.space)
        for attachment in obj.attachments:
            add(attachment, attachment.space or obj.space)
    return listed, deleted


def repository_listing(archive: ArchiveView, source_name: str) -> tuple[dict, set]:
    """key -> {revisions, space, created} found in the repository; and keys that have tombstones.

    Our records are found on the document type (``sa:recordKey``) inside the archive's tree; the
    revision ids are read from each record's version list (one request per record). A query on the
    ``sa:archived`` secondary type cannot do this: OpenCMIS InMemory returns only the first version
    of each series for it, with or without ``searchAllVersions``, and it cannot return object ids.
    """
    profile = archive.filer.profile
    found: dict[str, dict] = {}
    tombstoned: set[str] = set()
    prefix = f"{source_name}/"
    series: dict[str, str] = {}
    for row in archive.repo.query(
            f"SELECT cmis:objectId, cmis:versionSeriesId, {schema.KEY_PROPERTY} FROM {profile.document_type} "
            f"WHERE {schema.KEY_PROPERTY} LIKE {quote(_like_prefix(prefix))} AND {archive.filer.in_archive()}",
            all_versions=profile.query_all_versions):
        if str(row.get(schema.KEY_PROPERTY) or "").startswith(prefix):
            series.setdefault(str(row.get("cmis:versionSeriesId") or row["cmis:objectId"]), row["cmis:objectId"])
    for object_id in series.values():
        for props in archive.repo.versions(object_id):
            if props.get("cmis:isPrivateWorkingCopy"):
                continue
            row = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in props.items()}
            kind = str(row.get("sa:kind") or "")
            if kind == "tombstone":
                if row.get("sa:parentId"):
                    tombstoned.add(str(row["sa:parentId"]))
                continue
            key = record_key(source_name, kind, str(row.get("sa:nativeId") or ""))
            entry = found.setdefault(key, {"revisions": set(), "space": row.get("sa:space") or "_",
                                           "created": row.get("sa:created")})
            if row.get("sa:revisionId") is not None:
                entry["revisions"].add(str(row["sa:revisionId"]))
    return found, tombstoned


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern for keys starting with ``prefix`` (its own % and _ are matched loosely and
    filtered exactly afterwards: not every repository supports an ESCAPE clause)."""
    return prefix + "%"


def reconcile(archive: ArchiveView, source: Source, since: datetime | None = None,
              until: datetime | None = None) -> dict:
    ranged = since is not None or until is not None
    listed, deleted_in_listing = source_listing(source, since, until)
    in_repo, tombstoned = repository_listing(archive, source.name)
    ledger = archive.ledger
    ledger_keys = set(listed)
    if not ranged:
        ledger_keys |= {record_key(source.name, kind, native) for kind, native in ledger.record_ids(source.name)}
    in_ledger = {key: set(ledger.filed_revisions(key)) for key in ledger_keys}
    in_ledger = {k: v for k, v in in_ledger.items() if v}
    deleted = tombstoned | deleted_in_listing | {
        record_key(source.name, kind, native) for kind, native in ledger.record_ids(source.name, deleted_only=True)}
    synced = ledger.last_completed_sync(source.name)

    spaces: dict[str, dict] = defaultdict(lambda: dict.fromkeys(
        ("source_items", "source_revisions", "ledger_items", "ledger_revisions", "repository_items",
         "repository_revisions", "missing_items", "pending_items", "extra_items"), 0))
    missing, pending, extra = [], [], []
    per_month: dict[str, int] = defaultdict(int)
    for key, entry in sorted(listed.items()):
        space = spaces[entry["space"]]
        revs = entry["revisions"]
        led, rep = in_ledger.get(key, set()), in_repo.get(key, {}).get("revisions", set())
        # a revision that repeats the version before it is held by that version (Ledger.cover)
        rep = rep | {r for r, by in ledger.covered(key).items() if by in rep} if led else rep
        space["source_items"] += 1
        space["source_revisions"] += len(revs)
        space["ledger_items"] += bool(led & set(revs))
        space["ledger_revisions"] += len(led & set(revs))
        space["repository_items"] += bool(rep & set(revs))
        space["repository_revisions"] += len(rep & set(revs))
        if rep:
            per_month[_month(entry["created"])] += 1
        not_in_repo = [r for r in revs if r not in rep]
        not_in_ledger = [r for r in revs if r not in led]
        if not_in_repo or not_in_ledger:
            status = ("not archived" if not rep and not led else
                      "missing from the repository" if not rep else
                      "missing from the ledger" if not led else "missing revisions")
            row = {"key": key, "space": entry["space"], "kind": entry["kind"], "title": entry["title"],
                   "status": status, "missing_in_repository": not_in_repo,
                   "missing_in_ledger": not_in_ledger, "source_revisions": len(revs)}
            if _after_sync([entry["made"][r] for r in {*not_in_repo, *not_in_ledger}], synced):
                space["pending_items"] += 1
                pending.append({**row, "changed": _iso(max(entry["made"][r] for r in {*not_in_repo, *not_in_ledger}))})
            else:
                space["missing_items"] += 1
                missing.append(row)
    deleted_count = 0
    if not ranged:
        for key in sorted((set(in_repo) | set(in_ledger)) - set(listed)):
            if key in deleted:
                deleted_count += 1
                continue
            space_name = str(in_repo.get(key, {}).get("space") or "_")
            spaces[space_name]["extra_items"] += 1
            if in_repo.get(key):
                per_month[_month(in_repo[key].get("created"))] += 1
            extra.append({"key": key, "space": space_name, "status": "not listed by the source",
                          "in_ledger": key in in_ledger, "in_repository": key in in_repo,
                          "revisions": sorted(in_repo.get(key, {}).get("revisions", set()) | in_ledger.get(key, set()))})
    totals = {k: sum(s[k] for s in spaces.values()) for k in next(iter(spaces.values()), {})}
    return {"source": source.name, "system": source.system, "ranged": ranged,
            "since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            "totals": totals, "spaces": {name: spaces[name] for name in sorted(spaces)},
            "last_completed_sync": _iso(synced),
            "missing": missing, "pending": pending, "extra": extra, "deleted_in_source": deleted_count,
            "per_month": dict(sorted(per_month.items()))}


def build_report(archive: ArchiveView, sources: list[Source], since: datetime | None = None,
                 until: datetime | None = None) -> dict:
    results = [reconcile(archive, s, since, until) for s in sources]
    return {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "repository": archive.config.repository.url, "base_path": archive.filer.base_path or "/",
            "sources": results,
            "missing_total": sum(len(r["missing"]) for r in results),
            "pending_total": sum(len(r["pending"]) for r in results),
            "extra_total": sum(len(r["extra"]) for r in results)}


def _after_sync(made: list[datetime | None], synced: datetime | None) -> bool:
    """Lag, not loss: every revision was made at or after the last completed sync started (and
    so may be filed by the next run). Undated revisions, or no completed sync, fail closed.

    Sources stamp revisions in whole seconds, the run's start has milliseconds: a revision of the
    second the sync started in may have been missed by it, so the cutoff is that whole second."""
    if synced is None or not made:
        return False
    cutoff = synced.replace(microsecond=0)
    return all(when is not None and when >= cutoff for when in made)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds") if when else None


# --- renderers ----------------------------------------------------------------------------
def render(report: dict, fmt: str) -> str:
    return {"text": render_text, "csv": render_csv, "json": render_json, "html": render_html}[fmt](report)


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"


def render_text(report: dict) -> str:
    out = [f"reconciliation report, {report['generated_at']}, {report['repository']} {report['base_path']}"]
    for r in report["sources"]:
        window = f" [{r['since'] or '-'} .. {r['until'] or '-'})" if r["ranged"] else ""
        t = r["totals"]
        out.append(f"{r['source']} ({r['system']}){window}: {t.get('source_items', 0)} items / "
                   f"{t.get('source_revisions', 0)} revisions in the source, {t.get('ledger_items', 0)} / "
                   f"{t.get('ledger_revisions', 0)} in the ledger, {t.get('repository_items', 0)} / "
                   f"{t.get('repository_revisions', 0)} in the repository; {len(r['missing'])} missing, "
                   f"{len(r['pending'])} pending, {len(r['extra'])} extra, {r['deleted_in_source']} deleted in "
                   f"the source (tombstoned); last completed sync {r['last_completed_sync'] or 'none'}")
        for name, s in r["spaces"].items():
            out.append(f"  {name}: source {s['source_items']}/{s['source_revisions']}, ledger "
                       f"{s['ledger_items']}/{s['ledger_revisions']}, repository {s['repository_items']}/"
                       f"{s['repository_revisions']}, missing {s['missing_items']}, pending {s['pending_items']}, "
                       f"extra {s['extra_items']}")
        for m in r["missing"]:
            out.append(f"  MISSING {m['key']} ({m['space']}, {m['title']!r}): {m['status']}; revisions "
                       f"not in the repository: {', '.join(m['missing_in_repository']) or '-'}; "
                       f"not in the ledger: {', '.join(m['missing_in_ledger']) or '-'}")
        for p in r["pending"]:
            out.append(f"  PENDING {p['key']} ({p['space']}, {p['title']!r}): changed {p['changed']}, after the "
                       f"last completed sync; not yet archived: {', '.join(p['missing_in_repository']) or '-'}")
        for e in r["extra"]:
            out.append(f"  EXTRA {e['key']} ({e['space']}): {e['status']}")
    out.append(f"missing: {report['missing_total']}, extra: {report['extra_total']}, pending: {report['pending_total']}")
    return "\n".join(out) + "\n"


CSV_FIELDS = ("row", "source", "space", "key", "status", "source_items", "source_revisions", "ledger_items",
              "ledger_revisions", "repository_items", "repository_revisions", "missing_items", "pending_items",
              "extra_items", "missing_in_repository", "missing_in_ledger")


def render_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in report["sources"]:
        for name, s in r["spaces"].items():
            writer.writerow({"row": "space", "source": r["source"], "space": name, **s})
        for kind in ("missing", "pending"):
            for m in r[kind]:
                writer.writerow({"row": kind, "source": r["source"], "space": m["space"], "key": m["key"],
                                 "status": m["status"], "missing_in_repository": " ".join(m["missing_in_repository"]),
                                 "missing_in_ledger": " ".join(m["missing_in_ledger"])})
        for e in r["extra"]:
            writer.writerow({"row": "extra", "source": r["source"], "space": e["space"], "key": e["key"],
                             "status": e["status"]})
    return buf.getvalue()


def _chart(per_month: dict[str, int]) -> str:
    """An inline SVG bar chart: one bar per month, labelled, with the count on top."""
    months = [m for m in per_month if m != "undated"] + (["undated"] if "undated" in per_month else [])
    if not months:
        return '<svg class="chart" role="img" aria-label="no archived items" width="300" height="40"><text x="4" y="24">no archived items</text></svg>'
    peak = max(per_month.values()) or 1
    bar, gap, height, top, bottom = 28, 8, 160, 20, 40
    width = len(months) * (bar + gap) + gap
    parts = [f'<svg class="chart" role="img" aria-label="archived items per month" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height + top + bottom}" viewBox="0 0 {width} {height + top + bottom}">']
    for i, month in enumerate(months):
        count = per_month[month]
        h = max(1, round(height * count / peak))
        x, y = gap + i * (bar + gap), top + height - h
        parts.append(f'<g class="bar" data-month="{html.escape(month)}" data-count="{count}">'
                     f'<title>{html.escape(month)}: {count}</title>'
                     f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="#3a6ea5"/>'
                     f'<text x="{x + bar / 2}" y="{y - 4}" text-anchor="middle" font-size="11">{count}</text>'
                     f'<text x="{x + bar / 2}" y="{top + height + 14}" text-anchor="end" font-size="10" '
                     f'transform="rotate(-45 {x + bar / 2} {top + height + 14})">{html.escape(month)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict) -> str:
    e = html.escape
    body = [f"<h1>Archive reconciliation</h1><p>{e(report['generated_at'])} &middot; {e(report['repository'])} "
            f"{e(report['base_path'])} &middot; <b>{report['missing_total']}</b> missing, "
            f"{report['pending_total']} pending (changed after the last completed sync), "
            f"<b>{report['extra_total']}</b> extra</p>"]
    for r in report["sources"]:
        window = f" [{e(r['since'] or '-')} .. {e(r['until'] or '-')})" if r["ranged"] else ""
        body.append(f'<section class="source" id="source-{e(r["source"])}"><h2>{e(r["source"])} '
                    f'({e(r["system"])}){window}</h2>')
        body.append("<h3>Archived items per month (creation date in the source)</h3>")
        body.append(f'<div class="chart-box">{_chart(r["per_month"])}</div>')
        body.append("<table><tr><th>space</th><th>source items</th><th>source revisions</th><th>ledger items</th>"
                    "<th>ledger revisions</th><th>repository items</th><th>repository revisions</th>"
                    "<th>missing</th><th>pending</th><th>extra</th></tr>")
        for name, s in r["spaces"].items():
            cls = ' class="bad"' if s["missing_items"] or s["extra_items"] else ""
            body.append(f"<tr{cls}><td>{e(name)}</td>" + "".join(
                f"<td>{s[k]}</td>" for k in ("source_items", "source_revisions", "ledger_items", "ledger_revisions",
                                             "repository_items", "repository_revisions", "missing_items",
                                             "pending_items", "extra_items")) + "</tr>")
        body.append("</table>")
        body.append(f"<p>{r['deleted_in_source']} records deleted in the source (tombstoned).</p>")
        if r["missing"]:
            body.append('<h3>Missing</h3><table class="missing"><tr><th>key</th><th>space</th><th>title</th>'
                        "<th>status</th><th>revisions not in the repository</th><th>not in the ledger</th></tr>")
            for m in r["missing"]:
                body.append(f"<tr><td>{e(m['key'])}</td><td>{e(m['space'])}</td><td>{e(m['title'] or '')}</td>"
                            f"<td>{e(m['status'])}</td><td>{e(', '.join(m['missing_in_repository']))}</td>"
                            f"<td>{e(', '.join(m['missing_in_ledger']))}</td></tr>")
            body.append("</table>")
        if r["pending"]:
            body.append('<h3>Pending: changed after the last completed sync</h3><table class="pending"><tr>'
                        "<th>key</th><th>space</th><th>title</th><th>changed</th><th>revisions not yet archived</th></tr>")
            for p in r["pending"]:
                body.append(f"<tr><td>{e(p['key'])}</td><td>{e(p['space'])}</td><td>{e(p['title'] or '')}</td>"
                            f"<td>{e(p['changed'] or '')}</td><td>{e(', '.join(p['missing_in_repository']))}</td></tr>")
            body.append("</table>")
        if r["extra"]:
            body.append('<h3>Extra</h3><table class="extra"><tr><th>key</th><th>space</th><th>status</th></tr>')
            for x in r["extra"]:
                body.append(f"<tr><td>{e(x['key'])}</td><td>{e(x['space'])}</td><td>{e(x['status'])}</td></tr>")
            body.append("</table>")
        body.append("</section>")
    style = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}td:first-child,th:first-child"
             "{text-align:left}tr.bad td{background:#fde2e2}.chart-box{overflow-x:auto}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>socialarchive report</title>"
            f"<style>{style}</style></head><body>" + "".join(body) + "</body></html>\n")
