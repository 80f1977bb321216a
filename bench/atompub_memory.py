#!/usr/bin/env python3
"""Memory over AtomPub: a 1 GiB attachment goes source -> hash -> repository as base64 inside an
Atom entry; peak RSS of OURS vs a RAW streamed POST (as ``bench/memory.py`` does for the Browser
binding, whose driver, source stand-in and OURS child it reuses).

OURS   the real pipeline over ``[repository] binding = "atompub"``: ``Archive.open`` and
       ``archive_object`` of a wiki page with a 1 GiB attachment streamed from a local HTTP server;
       the entry is a generator (base64 in 96 KiB pieces, the SHA-256 after the content), then
       the ACL PUT; ledger and audit log written.
RAW    ``requests.get(stream=True)`` of the same bytes, base64-encoded piece by piece into one
       streamed Atom entry POST, computing nothing else.

OpenCMIS InMemory keeps the content in its Java heap: this script starts its own server on
127.0.0.1:18193 with CMIS_HEAP=6g, as ``bench/memory.py`` (with 4g the server ran out of heap on
the 1 GiB entry), state /tmp/cmis-bench-atom-mem, and stops it at the end; ``--cmis-url`` names
another (a Browser-binding URL: its ``atom11`` sibling is used).

    python bench/atompub_memory.py [--mib 1024]
"""
from __future__ import annotations

import base64
import os
import re
import time
import uuid

from common import arguments, machine
from memory import compared, measure, parse, serving

PORT = int(os.environ.get("BENCH_ATOM_MEM_PORT", "18193"))
STATE = os.environ.get("BENCH_ATOM_MEM_STATE", "/tmp/cmis-bench-atom-mem")
NS = ('xmlns:atom="http://www.w3.org/2005/Atom" xmlns:cmis="http://docs.oasis-open.org/ns/cmis/core/200908/" '
      'xmlns:cmisra="http://docs.oasis-open.org/ns/cmis/restatom/200908/"')


def child_raw(atom: str, file_url: str) -> dict:
    import requests
    session = requests.Session()
    session.auth = ("admin", "admin")
    service = session.get(atom, timeout=30).text
    children = re.search(r'<app:collection href="([^"]+)"><cmisra:collectionType>root<', service).group(1)
    name = f"raw-1gib-{uuid.uuid4().hex[:8]}"

    def body():
        yield (f'<?xml version="1.0" encoding="UTF-8"?><atom:entry {NS}><atom:title>{name}</atom:title>'
               "<cmisra:content><cmisra:mediatype>application/octet-stream</cmisra:mediatype><cmisra:base64>").encode()
        pending = b""
        with session.get(file_url, stream=True, timeout=60) as download:
            download.raise_for_status()
            for chunk in download.iter_content(1 << 16):
                pending += chunk
                cut = len(pending) - len(pending) % 3
                yield base64.b64encode(pending[:cut])
                pending = pending[cut:]
        yield base64.b64encode(pending)
        yield ('</cmisra:base64></cmisra:content><cmisra:object><cmis:properties>'
               '<cmis:propertyId propertyDefinitionId="cmis:objectTypeId"><cmis:value>cmis:document</cmis:value>'
               '</cmis:propertyId><cmis:propertyString propertyDefinitionId="cmis:name">'
               f"<cmis:value>{name}</cmis:value>"
               "</cmis:propertyString></cmis:properties></cmisra:object></atom:entry>").encode()

    started = time.perf_counter()
    response = session.post(children, data=body(), timeout=3600,
                            headers={"Content-Type": "application/atom+xml;type=entry"})
    response.raise_for_status()
    elapsed = time.perf_counter() - started
    length = int(re.search(r'"cmis:contentStreamLength"[^>]*><cmis:value>(\d+)<', response.text).group(1))
    edit = re.search(r'rel="edit" href="([^"]+)"', response.text).group(1).replace("&amp;", "&")
    session.delete(edit, timeout=600)
    return {"seconds": elapsed, "length": length, "requests": 3}


def main() -> None:
    args = parse(arguments(__doc__.split("\n\n")[0]), child_raw)
    if args is None:
        return
    size = args.mib << 20
    with serving(args.cmis_url, PORT, STATE, size) as (browser, file_url, sha1, sha256):
        atom = browser.rstrip("/").rsplit("/", 1)[0] + "/atom11"
        raw = measure(__file__, "raw", atom, file_url, size, sha1, sha256)
        ours = measure(__file__, "ours", atom, file_url, size, sha1, sha256)
    print(f"memory over AtomPub: one {args.mib} MiB attachment, server {atom}; {machine()}")
    print(compared(raw, ours, args.mib, "RAW: streamed GET, base64 piece by piece into one Atom entry POST",
                   "OURS over AtomPub: Archive + Item whose Content streams the GET"))
    print(f"(OURS' requests: the page and the attachment, an entry and an ACL each; the rest is Archive.open and "
          f"the folders on first use. SHA-256 {sha256[:16]}... and the length checked against the repository's echo.)")


if __name__ == "__main__":
    main()
