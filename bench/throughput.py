#!/usr/bin/env python3
"""Throughput: filing N new items into the real OpenCMIS InMemory server, OURS vs a RAW loop.

OURS   ``Archive.backfill`` of a source that yields N pages (one revision each): mapping, ledger
       intents and commits (SQLite, synchronous=FULL), hash-chained audit log (fsync), folders from
       the mapping, one createDocument per item (properties, content, ACL, versioning state),
       SHA-256 while streaming and the repository's echo checked. Timed from the first object to
       the end of the run, folder creation included. With ``--workers 4`` (the default) and 1; and
       once more with the compliance classifier off (``Mapper.classifier = None``: no record class,
       no sensitive-data scan), which isolates the filing path from the classifier's CPU cost.
RAW    a plain ``requests`` loop of single Browser-binding createDocument POSTs into one folder:
       the same properties, content sizes, ACEs and versioning state (the form is built before the
       clock starts), the SHA-256 computed by the loop; nothing recorded anywhere.

Rounds alternate RAW and OURS (order rotated) on the same server, restarted empty first (InMemory
gets slower as its Java heap fills up); medians are compared.

    PYTHONPATH=. python bench/throughput.py [--items 400] [--rounds 3] [--cmis-url URL]
"""
from __future__ import annotations

import time

from common import (arguments, cmis_url, machine, median, page, raw_folder, raw_form, raw_session,
                    table, write_config, ListSource, KEY_PROPERTY)

from connector.pipeline import Archive

SIZES = (1 << 10, 2 << 10, 4 << 10, 8 << 10, 16 << 10, 64 << 10)   # cycled: wiki pages, a few big


def items(n: int, offset: int) -> list:
    return [page(offset + i, SIZES[i % len(SIZES)]) for i in range(n)]


def run_ours(url: str, objs: list, workers: int, classify: bool = True) -> tuple[float, object]:
    archive = Archive.open(write_config(url), workers=workers)
    if not classify:
        archive.mapper.classifier = None
    try:
        started = time.perf_counter()
        summary = archive.backfill(ListSource("bench", objs), None, None)
        elapsed = time.perf_counter() - started
    finally:
        archive.close()
    if summary.versions != len(objs) or summary.quarantined or summary.outcome != "ok":
        raise SystemExit(f"OURS did not file everything: {summary.line()}")
    return elapsed, summary


def raw_forms(url: str, objs: list) -> list[tuple[list, tuple]]:
    """The forms RAW posts: our mapper's properties for the same items (built off the clock)."""
    archive = Archive.open(write_config(url), dry_run=True, lock=False)
    forms = []
    try:
        for item in objs:
            spec = archive.mapper.document(item)
            version = spec.versions[0]
            data = b"".join(version.content.chunks())
            props = {"cmis:objectTypeId": "sa:document", "cmis:name": spec.name,
                     "cmis:secondaryObjectTypeIds": ["sa:archived"], KEY_PROPERTY: spec.key,
                     **spec.properties, **version.properties}
            forms.append((props, spec.acl_add, spec.acl_remove, data, version.content.media_type))
    finally:
        archive.close()
    return forms


def run_raw(url: str, forms: list) -> float:
    session = raw_session()
    folder = raw_folder(session, url, f"raw-{time.time_ns()}")
    prepared = [(raw_form(folder, props, add, remove, data), data, media) for props, add, remove, data, media in forms]
    started = time.perf_counter()
    for fields, data, media in prepared:
        response = session.post(f"{url}/A1/root", data=[(k, v.encode()) for k, v in fields],
                                files={"content": ("content", data, media)}, timeout=120)
        response.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 1])
    args = parser.parse_args()
    url = cmis_url(args.cmis_url, fresh=True)   # an empty server: InMemory slows as its heap fills
    n = args.items
    forms = raw_forms(url, items(n, 0))
    run_ours(url, items(20, 10**6), 1)   # warm-up: types created, JIT warm, connections open
    run_raw(url, forms[:20])
    results: dict[str, list[float]] = {"raw": []}
    requests_per_item: dict[str, float] = {}
    contenders = (["raw"] + [f"ours --workers {w}" for w in args.workers]
                  + [f"ours --workers {w}, classifier off" for w in args.workers])
    for r in range(args.rounds):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for name in order:
            if name == "raw":
                results["raw"].append(n / run_raw(url, forms))
            else:
                workers = int(name.split(",")[0].rsplit(" ", 1)[1])
                elapsed, summary = run_ours(url, items(n, (r + 1) * 10**5 + 10**4 * len(results)), workers,
                                            classify="classifier off" not in name)
                results.setdefault(name, []).append(n / elapsed)
                requests_per_item[name] = summary.cmis_requests / n
    raw = median(results["raw"])
    rows = [("RAW: 1 createDocument POST per item", f"{raw:.1f}", f"{1000 / raw:.1f}", "1.00",
             " ".join(f"{v:.0f}" for v in results["raw"]), "100 %")]
    for name in contenders[1:]:
        ours = median(results[name])
        rows.append((f"OURS: backfill, {name.split(' ', 1)[1]}", f"{ours:.1f}", f"{1000 / ours:.1f}",
                     f"{requests_per_item[name]:.2f}", " ".join(f"{v:.0f}" for v in results[name]),
                     f"{100 * ours / raw:.0f} %"))
    print(f"throughput: {n} new items x {args.rounds} rounds, content {', '.join(f'{s >> 10} KiB' for s in SIZES)} "
          f"cycled; server {url}; {machine()}")
    print(table(rows, ("", "items/s (median)", "ms/item", "CMIS req/item", "per round", "OURS/RAW")))
    print("(OURS' requests include creating its 4 folders on first use: 2 requests each, lookup + create.)")


if __name__ == "__main__":
    main()
