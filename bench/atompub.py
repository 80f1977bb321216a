#!/usr/bin/env python3
"""Throughput over AtomPub next to the Browser binding: filing N new items, OURS vs RAW on each.

OURS   ``Pipeline.backfill`` (as ``bench/throughput.py``) over the Browser binding and over AtomPub
       (``[repository] binding = "atompub"``, ``/inmemory/atom11``), ``--workers 4``.
RAW    plain ``requests`` loops, everything built before the clock starts, nothing recorded:
       - Browser: one createDocument POST per item (properties, content, ACL, versioning state);
       - AtomPub: one POST of an Atom entry with the content inside as base64, then one PUT of the
         ACL (OpenCMIS's AtomPub server ignores ACEs sent with a create): what OURS sends.
       And the two ways AtomPub can carry content, on plain ``cmis:document`` (InMemory refuses to
       set the content of a checked-in version of a versionable type, and cannot create a document
       checked out, so "create, then set the content" is not possible for our versioned records):
       - entry: the POST with base64 content inside (1 request);
       - edit-media: the POST without content, then a PUT of the raw bytes to the new object's
         edit-media link (2 requests).

Rounds alternate the contenders (order rotated) on the same server, restarted empty first;
medians are compared.

    PYTHONPATH=. python bench/atompub.py [--items 200] [--rounds 3] [--cmis-url BROWSER_URL]
"""
from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from common import (KEY_PROPERTY, ListSource, arguments, cmis_url, machine, median, page, raw_folder, raw_form,
                    raw_session, table, write_config)

from connector.archive import Archive
from connector.cmis import schema
from connector.pipeline import Pipeline

SIZES = (1 << 10, 2 << 10, 4 << 10, 8 << 10, 16 << 10, 64 << 10)   # cycled: wiki pages, a few big
NS = ('xmlns:atom="http://www.w3.org/2005/Atom" xmlns:cmis="http://docs.oasis-open.org/ns/cmis/core/200908/" '
      'xmlns:cmisra="http://docs.oasis-open.org/ns/cmis/restatom/200908/"')
KINDS = {p.id: p.type for p in schema.ARCHIVE_PROPERTIES + schema.DOCUMENT_PROPERTIES}
IDS = {"cmis:objectTypeId", "cmis:secondaryObjectTypeIds"}
ELEMENT = {"string": "propertyString", "id": "propertyId", "integer": "propertyInteger",
           "boolean": "propertyBoolean", "datetime": "propertyDateTime"}


def items(n: int, offset: int) -> list:
    return [page(offset + i, SIZES[i % len(SIZES)]) for i in range(n)]


def run_ours(url: str, objs: list, workers: int) -> tuple[float, object]:
    """A backfill of ``objs`` over the binding the URL names (``common.write_config``)."""
    archive = Archive.open(write_config(url), workers=workers)
    try:
        started = time.perf_counter()
        summary = Pipeline(archive).backfill(ListSource("bench", objs), None, None)
        elapsed = time.perf_counter() - started
    finally:
        archive.close()
    if summary.versions != len(objs) or summary.quarantined or summary.outcome != "ok":
        raise SystemExit(f"OURS did not file everything: {summary.line()}")
    return elapsed, summary


def raw_forms(url: str, objs: list) -> list[tuple]:
    """What RAW sends: our mapper's properties, ACL and content for the same items (off the clock)."""
    archive = Archive.open(write_config(url), dry_run=True, lock=False)
    forms = []
    try:
        for item in objs:
            spec = archive.mapper.document(item)
            version = spec.versions[0]
            props = {"cmis:objectTypeId": "sa:document", "cmis:name": spec.name,
                     "cmis:secondaryObjectTypeIds": ["sa:archived"], KEY_PROPERTY: spec.key,
                     **spec.properties, **version.properties}
            forms.append((props, spec.acl_add, spec.acl_remove, b"".join(version.content.chunks()),
                          version.content.media_type))
    finally:
        archive.close()
    return forms


def run_raw(url: str, forms: list) -> float:
    """Browser binding: one createDocument POST per item."""
    session = raw_session()
    folder = raw_folder(session, url, f"raw-{time.time_ns()}")
    prepared = [(raw_form(folder, p, add, remove, data), data, media) for p, add, remove, data, media in forms]
    started = time.perf_counter()
    for fields, data, media in prepared:
        response = session.post(f"{url}/A1/root", data=[(k, v.encode()) for k, v in fields],
                                files={"content": ("content", data, media)}, timeout=120)
        response.raise_for_status()
    return time.perf_counter() - started


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return escape(str(value), {"\r": "&#13;"})


def raw_entry(props: dict, data: bytes | None, media: str) -> bytes:
    """The Atom entry a plain client sends: typed properties, the content as base64 (or none)."""
    out = [f'<?xml version="1.0" encoding="UTF-8"?><atom:entry {NS}><atom:title>{escape(str(props["cmis:name"]))}'
           "</atom:title>"]
    if data is not None:
        out.append(f"<cmisra:content><cmisra:mediatype>{media}</cmisra:mediatype><cmisra:base64>"
                   f"{base64.b64encode(data).decode()}</cmisra:base64></cmisra:content>")
    out.append("<cmisra:object><cmis:properties>")
    for prop, value in props.items():
        if value is None:
            continue
        element = ELEMENT["id" if prop in IDS else KINDS.get(prop, "string")]
        values = value if isinstance(value, (list, tuple)) else [value]
        out.append(f"<cmis:{element} propertyDefinitionId={quoteattr(prop)}>"
                   + "".join(f"<cmis:value>{_text(v)}</cmis:value>" for v in values) + f"</cmis:{element}>")
    out.append("</cmis:properties></cmisra:object></atom:entry>")
    return "".join(out).encode()


def raw_acl(aces: dict) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<cmis:acl xmlns:cmis="http://docs.oasis-open.org/ns/cmis/core/200908/">'
            + "".join(f"<cmis:permission><cmis:principal><cmis:principalId>{escape(p)}</cmis:principalId>"
                      "</cmis:principal>"
                      + "".join(f"<cmis:permission>{x}</cmis:permission>" for x in perms)
                      + "<cmis:direct>true</cmis:direct></cmis:permission>" for p, perms in sorted(aces.items()))
            + "</cmis:acl>").encode()


def _link(text: str, rel: str) -> str:
    return re.search(rf'rel="{re.escape(rel)}" href="([^"]+)"', text).group(1).replace("&amp;", "&")


def atom_folder(session, atom: str, name: str) -> str:
    entry = raw_entry({"cmis:objectTypeId": "cmis:folder", "cmis:name": name}, None, "")
    response = session.post(f"{atom}/A1/children?id={root_id(session, atom)}", data=entry,
                            headers={"Content-Type": "application/atom+xml;type=entry"}, timeout=60)
    response.raise_for_status()
    return _link(response.text, "down")


def root_id(session, atom: str) -> str:
    return re.search(r"<cmis:rootFolderId>([^<]+)<", session.get(atom, timeout=30).text).group(1)


def prepared(forms: list, plain: bool) -> list[tuple[dict, bytes, str, dict]]:
    out = []
    for props, add, _remove, data, media in forms:
        props = {**props, "sa:sha256": hashlib.sha256(data).hexdigest(), "sa:contentLength": len(data)}
        if plain:   # cmis:document: our secondary type still applies, the record key is sa:document's
            props = {k: v for k, v in props.items() if k != schema.KEY_PROPERTY}
            props["cmis:objectTypeId"] = "cmis:document"
        out.append((props, data, media, add))
    return out


def run_raw_atom(atom: str, forms: list, way: str) -> tuple[float, int]:
    """way: ours (sa:document, entry + ACL), entry (cmis:document, content inside), edit-media."""
    session = raw_session()
    children = atom_folder(session, atom, f"raw-{way}-{time.time_ns()}")
    versioned = "&versioningState=major" if way == "ours" else ""
    bodies = [(raw_entry(p, None if way == "edit-media" else d, m), d, m, a)
              for p, d, m, a in prepared(forms, way != "ours")]
    count = 0
    started = time.perf_counter()
    for entry, data, media, acl in bodies:
        response = session.post(children + versioned, data=entry, timeout=120,
                                headers={"Content-Type": "application/atom+xml;type=entry"})
        response.raise_for_status()
        count += 1
        if way == "edit-media":
            put = session.put(_link(response.text, "edit-media"), data=data, headers={"Content-Type": media},
                              timeout=120)
            put.raise_for_status()
            count += 1
        if way == "ours":
            put = session.put(_link(response.text, "http://docs.oasis-open.org/ns/cmis/link/200908/acl"),
                              data=raw_acl(acl), headers={"Content-Type": "application/cmisacl+xml"}, timeout=60)
            put.raise_for_status()
            count += 1
    return time.perf_counter() - started, count


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    browser = cmis_url(args.cmis_url, fresh=not args.cmis_url)
    atom = browser.rsplit("/", 1)[0] + "/atom11"
    n = args.items
    forms = raw_forms(browser, items(n, 0))
    run_ours(browser, items(20, 10**6), 1)                 # warm-up: types, JIT, connections
    run_ours(atom, items(20, 2 * 10**6), 1)
    contenders = ["raw browser", "raw atompub", "ours browser", "ours atompub", "raw atompub entry",
                  "raw atompub edit-media"]
    rates: dict[str, list[float]] = {c: [] for c in contenders}
    per_item: dict[str, float] = {"raw browser": 1.0}
    for r in range(args.rounds):
        for name in contenders[r % len(contenders):] + contenders[:r % len(contenders)]:
            if name == "raw browser":
                rates[name].append(n / run_raw(browser, forms))
            elif name.startswith("raw atompub"):
                way = name.split()[-1] if name != "raw atompub" else "ours"
                elapsed, count = run_raw_atom(atom, forms, way)
                rates[name].append(n / elapsed)
                per_item[name] = count / n
            else:
                url = atom if name.endswith("atompub") else browser
                elapsed, summary = run_ours(url, items(n, (r + 1) * 10**5 + 10**4 * contenders.index(name)),
                                            args.workers)
                rates[name].append(n / elapsed)
                per_item[name] = summary.cmis_requests / n
    labels = {"raw browser": "RAW Browser: createDocument POST",
              "raw atompub": "RAW AtomPub: entry POST (base64) + ACL PUT",
              "ours browser": f"OURS Browser: backfill, --workers {args.workers}",
              "ours atompub": f"OURS AtomPub: backfill, --workers {args.workers}",
              "raw atompub entry": "RAW AtomPub, cmis:document: entry POST with content",
              "raw atompub edit-media": "RAW AtomPub, cmis:document: POST, then PUT edit-media"}
    base = {"raw browser": "raw browser", "ours browser": "raw browser", "raw atompub": "raw atompub",
            "ours atompub": "raw atompub", "raw atompub entry": "raw atompub entry",
            "raw atompub edit-media": "raw atompub entry"}
    rows = []
    for name in contenders:
        rate = median(rates[name])
        rows.append((labels[name], f"{rate:.1f}", f"{1000 / rate:.1f}", f"{per_item[name]:.2f}",
                     " ".join(f"{v:.0f}" for v in rates[name]), f"{100 * rate / median(rates[base[name]]):.0f} %",
                     base[name]))
    print(f"throughput by binding: {n} new items x {args.rounds} rounds; server {browser} and {atom}; {machine()}")
    print(table(rows, ("", "items/s (median)", "ms/item", "CMIS req/item", "per round", "ratio", "against")))
    print("(OURS' requests include its 4 folders on first use, 2 requests each.)")


if __name__ == "__main__":
    main()
