#!/usr/bin/env python3
"""MediaWiki requests per 1 000 revisions: a full crawl by OURS vs a RAW client, and the bound the
API's batch cap implies.

Uses its own MediaWiki (servers/mediawiki/up.sh on 127.0.0.1:18181, state /tmp/mw-bench) and fills
one namespace (Help, 12) with 50 pages x 21 revisions once (kept for later runs).

OURS   ``MediaWikiSource.changes({})`` over that namespace: login, siteinfo, ``list=allrevisions``
       (ids only, 5000 a request) to plan whole pages, then content by ``revids`` in batches of the
       content cap (500 with apihighlimits; also shown with the 50 of an account without it), each
       batch with the pages' info, categories and file versions; every item complete and verified.
RAW    plain ``requests``: login, then ``list=allrevisions`` with content (``arvprop=...|content``),
       following ``continue``: the fewest requests that return every revision's text.
CAP    the bound: ceil(N / content cap) + ceil(N / 5000) per N revisions, plus the run's setup.

    PYTHONPATH=. python bench/mediawiki_requests.py [--mw-api URL --mw-botpassword FILE]
"""
from __future__ import annotations

import math
import os
import subprocess
import time

import requests

from common import ROOT, arguments, machine, raw_mediawiki_login, table

from connector.model import Item
from connector.sources.mediawiki import MediaWikiSource

MW_PORT, MW_STATE = 18181, "/tmp/mw-bench"
NAMESPACE, PAGES, REVISIONS = 12, 50, 21


def revisions_in_namespace(session: requests.Session, api: str) -> int:
    count, cont = 0, {}
    while True:
        body = session.get(api, params={"action": "query", "list": "allrevisions", "arvprop": "ids",
                                        "arvnamespace": str(NAMESPACE), "arvlimit": "max", "format": "json",
                                        "formatversion": "2", **cont}, timeout=60).json()
        count += sum(len(p.get("revisions", [])) for p in body["query"]["allrevisions"])
        if "continue" not in body:
            return count
        cont = body["continue"]


def seed(api: str, password: str) -> int:
    """Make sure the namespace holds PAGES x REVISIONS revisions (edits only what is missing)."""
    session = raw_mediawiki_login(api, password)
    have = revisions_in_namespace(session, api)
    if have >= PAGES * REVISIONS:
        return have
    csrf = session.get(api, params={"action": "query", "meta": "tokens", "format": "json"},
                       timeout=30).json()["query"]["tokens"]["csrftoken"]
    for r in range(REVISIONS):
        for p in range(PAGES):
            text = f"== Revision {r} of bench page {p} ==\n" + f"Line {r}.{p} lorem ipsum dolor sit amet.\n" * 20
            for attempt in range(5):
                body = session.post(api, data={"action": "edit", "title": f"Help:Bench page {p}", "text": text,
                                               "summary": f"bench revision {r}", "bot": "1", "token": csrf,
                                               "format": "json"}, timeout=60).json()
                if "error" not in body:
                    break
                time.sleep(0.3 * (attempt + 1))   # SQLite "database is locked"
            else:
                raise SystemExit(f"edit failed: {body}")
    return revisions_in_namespace(session, api)


def ours(api: str, password: str, cap: int | None) -> tuple[int, int, float, int]:
    source = MediaWikiSource("wiki", api, "Admin@connector", password, namespaces=(NAMESPACE,), batch_size=cap)
    started = time.perf_counter()
    objects = [o for o in source.changes({}) if isinstance(o, Item)]
    for item in objects:   # read every revision (they are in memory: no request)
        for revision in item.revisions:
            b"".join(revision.content.chunks())
    elapsed = time.perf_counter() - started
    return sum(len(o.revisions) for o in objects), source.request_count, elapsed, len(objects)


def raw(api: str, password: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    session = raw_mediawiki_login(api, password)
    made, revisions, cont = 2, 0, {}
    while True:
        body = session.get(api, params={"action": "query", "list": "allrevisions",
                                        "arvprop": "ids|timestamp|user|comment|sha1|content", "arvslots": "main",
                                        "arvnamespace": str(NAMESPACE), "arvlimit": "max", "format": "json",
                                        "formatversion": "2", **cont}, timeout=60).json()
        made += 1
        revisions += sum(len(p.get("revisions", [])) for p in body["query"]["allrevisions"])
        if "continue" not in body:
            return revisions, made, time.perf_counter() - started
        cont = body["continue"]


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--mw-api", help=f"default: our own MediaWiki on 127.0.0.1:{MW_PORT}")
    parser.add_argument("--mw-botpassword", help="file with the bot password of Admin@connector")
    args = parser.parse_args()
    if not args.mw_api:
        subprocess.run([os.path.join(ROOT, "servers/mediawiki/up.sh"), "start", str(MW_PORT), MW_STATE],
                       check=True, stdout=subprocess.DEVNULL)
    api = args.mw_api or f"http://127.0.0.1:{MW_PORT}/api.php"
    password = open(args.mw_botpassword or f"{MW_STATE}/botpassword").read().strip()
    seeded = seed(api, password)
    rows = []
    setup = 4   # login token, login, siteinfo (+ the newest rc row), the anonymous read probe
    for cap in (500, 50):
        n, made, elapsed, pages = ours(api, password, cap)
        bound = setup + math.ceil(n / cap) + math.ceil(n / 5000)
        rows.append((f"OURS: full crawl, content cap {cap}", n, pages, made, f"{1000 * made / n:.1f}",
                     f"{1000 * (made - setup) / n:.1f}", bound, f"{n / elapsed:.0f}"))
    n, made, elapsed = raw(api, password)
    rows.append(("RAW: login + allrevisions with content", n, "-", made, f"{1000 * made / n:.1f}",
                 f"{1000 * (made - 2) / n:.1f}", "-", f"{n / elapsed:.0f}"))
    print(f"MediaWiki requests for {seeded} revisions of {PAGES} pages (namespace {NAMESPACE}) on {api}; {machine()}")
    print(table(rows, ("", "revisions", "pages", "requests", "per 1000 rev", "per 1000 w/o setup",
                       "cap bound", "rev/s")))
    print("cap bound = setup (4: token, login, siteinfo, anonymous probe) + ceil(N/cap) content batches "
          "+ ceil(N/5000) id listings.")


if __name__ == "__main__":
    main()
