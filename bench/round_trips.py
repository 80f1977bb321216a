#!/usr/bin/env python3
"""Round trips: CMIS requests per operation, OURS (counted by CmisRepository.request_count, the
session counters) vs the minimum a RAW Browser-binding client needs for the same result.

OURS   ``Pipeline.archive_object`` on the real InMemory server: a new document (properties, content,
       ACL and versioning state), a new version (check-out, check-in), a public page that becomes
       restricted (its new version plus the ACL read and diff), a page with 5 revisions, a
       tombstone, the same page again (nothing new), a page restricted without a new revision
       (the ACL alone). Folder creation on first use is counted on
       its own line: the first document into a new folder tree pays for it, once per run and path.
RAW    the same results with plain ``requests``: createDocument with everything in the form;
       checkOut + checkIn for a version; the count is what it sent.

    PYTHONPATH=. python bench/round_trips.py [--cmis-url URL]
"""
from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timezone

from common import (arguments, cmis_url, machine, page, raw_folder, raw_session, table, write_config)

from connector.archive import Archive
from connector.model import Tombstone, Visibility
from connector.pipeline import Pipeline
from connector.summary import Summary


class RawClient:
    def __init__(self, url: str):
        self.url, self.session, self.count = url, raw_session(), 0
        self.folder = raw_folder(self.session, url, f"raw-rt-{uuid.uuid4().hex[:8]}")

    def post(self, data: dict, files: dict | None = None) -> dict:
        self.count += 1
        response = self.session.post(f"{self.url}/A1/root", data=data, files=files, timeout=60)
        response.raise_for_status()
        return response.json().get("succinctProperties", {})

    def create(self, name: str, body: bytes) -> str:
        return self.post({"cmisaction": "createDocument", "objectId": self.folder, "succinct": "true",
                          "versioningState": "major", "propertyId[0]": "cmis:objectTypeId",
                          "propertyValue[0]": "sa:document", "propertyId[1]": "cmis:name", "propertyValue[1]": name,
                          "propertyId[2]": "sa:recordKey", "propertyValue[2]": name,
                          "addACEPrincipal[0]": "admin", "addACEPermission[0][0]": "cmis:all",
                          "removeACEPrincipal[0]": "anyone", "removeACEPermission[0][0]": "cmis:all"},
                         {"content": ("c.wiki", body, "text/x-wiki")})["cmis:objectId"]

    def version(self, object_id: str, body: bytes) -> str:
        pwc = self.post({"cmisaction": "checkOut", "objectId": object_id, "succinct": "true"})["cmis:objectId"]
        return self.post({"cmisaction": "checkIn", "objectId": pwc, "succinct": "true", "major": "true"},
                         {"content": ("c.wiki", body, "text/x-wiki")})["cmis:objectId"]


def main() -> None:
    parser = arguments(__doc__.split("\n\n")[0])
    args = parser.parse_args()
    url = cmis_url(args.cmis_url)
    archive = Archive.open(write_config(url))
    pipeline = Pipeline(archive)
    raw = RawClient(url)
    rows = []

    def ours(item_or_tomb) -> int:
        before = archive.repo.request_count
        summary = Summary(source="bench")
        pipeline.archive_object(item_or_tomb, summary)
        if summary.quarantined:
            raise SystemExit(f"quarantined: {summary}")
        return archive.repo.request_count - before

    def raw_count(fn) -> int:
        before = raw.count
        fn()
        return raw.count - before

    try:
        n0 = int(time.time())
        first = page(n0, 2048)
        with_folders = ours(first)
        second = page(n0 + 1, 2048)
        rows.append(("new document (1 version): properties, content, ACL, versioning state", ours(second),
                     raw_count(lambda: raw.create(f"a{n0}", b"x" * 2048)), "1 POST"))
        rows.append(("  + folders on first use: base, bench/Main/2024 (4 folders), once per run",
                     with_folders - 1, 0, "lookup + create for the first, create alone under it (+1: cmislib's repository); then cached"))
        second.revisions += page(n0 + 1, 2048, revisions=2).revisions[1:]
        object_id = raw.create(f"b{n0}", b"y" * 2048)
        rows.append(("new version of an existing document", ours(second),
                     raw_count(lambda: raw.version(object_id, b"z" * 2048)), "checkOut + checkIn"))
        five = page(n0 + 2, 2048, revisions=5)

        def raw_five():
            oid = raw.create(f"c{n0}", b"1" * 2048)
            for n in range(4):
                oid = raw.version(oid, str(n).encode() * 2048)
        rows.append(("new document with 5 versions", ours(five), raw_count(raw_five), "1 + 2 per later version"))
        second.visibility = Visibility.restricted("became private", ["group:sysop"])
        second.revisions += page(n0 + 1, 2048, revisions=3).revisions[2:]
        rows.append(("new version whose ACL changed (public -> restricted)", ours(second),
                     raw_count(lambda: raw.version(object_id, b"w" * 2048)) + 2,
                     "+ getACL + applyACL (Browser applyACL is a diff)"))
        rows.append(("the same item again, nothing new", ours(second), 0, "the ledger answers"))
        five.visibility = Visibility.restricted("namespace restricted in the config", ["group:sysop"])
        rows.append(("ACL changed, no new revision (public -> restricted)", ours(five), 2,
                     "getACL + applyACL, on the whole series"))
        tomb = Tombstone(source="bench", system="synthetic", native_id=str(n0 + 2), kind="page",
                         detected_at=datetime.now(timezone.utc), detected_by="bench", title="Bench page")
        rows.append(("tombstone (the first: + 2 new folders _deletions/<year>)", ours(tomb),
                     raw_count(lambda: raw.create(f"t{n0}", hashlib.sha256(b"t").hexdigest().encode())),
                     "1 POST + folders"))
    finally:
        archive.close()
    print(f"round trips: CMIS requests per operation on {url}; {machine()}")
    print(table([(name, o, r, note) for name, o, r, note in rows],
                ("operation", "OURS requests", "RAW requests", "how")))


if __name__ == "__main__":
    main()
