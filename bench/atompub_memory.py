#!/usr/bin/env python3
"""Memory over AtomPub: a 1 GiB attachment goes source -> hash -> repository as base64 inside an
Atom entry; peak RSS of OURS vs a RAW streamed POST (as ``bench/memory.py`` does for the Browser
binding, whose source stand-in, digests and OURS child it reuses).

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
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

from common import ROOT, arguments, machine, table
from memory import _Handler, child_ours, digests

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


def measure(kind: str, atom: str, file_url: str, size: int, sha1: str, sha256: str) -> dict:
    command = ["/usr/bin/time", "-v", sys.executable, os.path.abspath(__file__), "--child", kind,
               "--cmis-url", atom, "--file-url", file_url, "--size", str(size), "--sha1", sha1, "--sha256", sha256]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rss_mib"] = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
    return result


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the attachment in MiB")
    parser.add_argument("--child", choices=["raw", "ours"])
    parser.add_argument("--file-url")
    parser.add_argument("--size", type=int)
    parser.add_argument("--sha1")
    parser.add_argument("--sha256")
    args = parser.parse_args()
    if args.child == "raw":
        print(json.dumps(child_raw(args.cmis_url, args.file_url)))
        return
    if args.child == "ours":
        print(json.dumps(child_ours(args.cmis_url, args.file_url, args.size, args.sha1, args.sha256)))
        return
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("needs /usr/bin/time (Debian package 'time': apt-get install time)")
    size = args.mib << 20
    own = not args.cmis_url
    if own:
        subprocess.run([os.path.join(ROOT, "servers/opencmis/up.sh"), "start", str(PORT), STATE],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "CMIS_HEAP": "6g"})
    atom = (args.cmis_url or f"http://127.0.0.1:{PORT}/inmemory/browser").rstrip("/").rsplit("/", 1)[0] + "/atom11"
    _Handler.size = size
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    file_url = f"http://127.0.0.1:{server.server_port}/big.bin"
    try:
        sha1, sha256 = digests(size)
        raw = measure("raw", atom, file_url, size, sha1, sha256)
        ours = measure("ours", atom, file_url, size, sha1, sha256)
    finally:
        server.shutdown()
        if own:
            subprocess.run([os.path.join(ROOT, "servers/opencmis/up.sh"), "stop", STATE],
                           check=False, stdout=subprocess.DEVNULL)
    rows = [("RAW: streamed GET, base64 piece by piece into one Atom entry POST", f"{raw['rss_mib']:.0f}",
             f"{raw['seconds']:.1f}", f"{args.mib / raw['seconds']:.0f}", "-", "1.00"),
            ("OURS over AtomPub: Archive + Item whose Content streams the GET", f"{ours['rss_mib']:.0f}",
             f"{ours['seconds']:.1f}", f"{args.mib / ours['seconds']:.0f}", str(ours["requests"]),
             f"{ours['rss_mib'] / raw['rss_mib']:.2f}")]
    print(f"memory over AtomPub: one {args.mib} MiB attachment, server {atom}; {machine()}")
    print(table(rows, ("", "peak RSS MiB", "seconds", "MiB/s", "CMIS requests", "RSS OURS/RAW")))
    print(f"(OURS' requests: the page and the attachment, an entry and an ACL each; the rest is Archive.open and "
          f"the folders on first use. SHA-256 {sha256[:16]}... and the length checked against the repository's echo.)")


if __name__ == "__main__":
    main()
