"""``anchors.check_log`` searched for a tampered audit log it does not name (hypothesis).

The segments are served by a stand-in for the repository's four calls (query, latest, content;
the real server is in tests/compliance/test_audit_anchors_inmemory.py): what is checked here is
the comparison, over any log, any split into segments and any one tamper of an anchored entry.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from connector.audit import AuditLog
from connector.compliance import anchors
from connector.store import Ledger


class Repository:
    """Segments as the repository answers for them: latest properties and streamed content."""

    def __init__(self, segments: list[bytes]):
        self.segments = {f"seg-{n}": body for n, body in enumerate(segments)}

    def query(self, statement: str, *, all_versions: bool = False):
        return [{"cmis:objectId": oid, "cmis:versionSeriesId": oid,
                 "sa:recordKey": f"{anchors.PREFIX}{int(oid[4:]):010d}"} for oid in self.segments]

    def latest(self, object_id: str) -> dict:
        body = self.segments[object_id]
        return {"cmis:objectId": object_id, "sa:recordKey": f"{anchors.PREFIX}{int(object_id[4:]):010d}",
                "sa:sha256": hashlib.sha256(body).hexdigest()}

    def content(self, object_id: str):
        body = self.segments[object_id]
        return (body[i:i + 7] for i in range(0, len(body), 7))


def archive_of(directory: str, segments: list[bytes]) -> SimpleNamespace:
    profile = SimpleNamespace(document_type="sa:document", query_all_versions=True)
    return SimpleNamespace(repo=Repository(segments), ledger=Ledger(os.path.join(directory, "ledger.sqlite")),
                           config=SimpleNamespace(audit_path=os.path.join(directory, "audit.jsonl")),
                           filer=SimpleNamespace(profile=profile, in_archive=lambda: "IN_TREE('x')"))


@st.composite
def logs(draw):
    """(entries, segment cuts, anchored tamper): n entries, split into segments at ``cuts``, then one
    tamper of an anchored entry ``at``."""
    n = draw(st.integers(2, 30))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=4)))
    anchored = draw(st.integers(1, n))              # entries 1..anchored are in segments
    tamper = draw(st.sampled_from(["none", "cut", "delete", "alter", "remove"]))
    at = draw(st.integers(1, anchored))
    return n, [c for c in cuts if c < anchored] + [anchored], tamper, at


@settings(max_examples=60, deadline=None)
@given(logs())
def test_every_tamper_of_an_anchored_entry_is_named_and_an_intact_log_passes(case):
    n, bounds, tamper, at = case
    with tempfile.TemporaryDirectory() as directory:
        archive = archive_of(directory, [])
        log = AuditLog(archive.config.audit_path)
        for i in range(n):
            log.append("file", key=f"wiki/page/{i}", sha256="a" * 64)
        with open(archive.config.audit_path, "rb") as fh:
            lines = fh.readlines()
        starts = [0] + bounds[:-1]
        archive.repo = Repository([b"".join(lines[a:b]) for a, b in zip(starts, bounds)])
        if tamper == "cut":
            kept = lines[:at - 1]
        elif tamper == "delete":
            kept = lines[:at - 1] + lines[at:]
        elif tamper == "alter":
            kept = lines[:at - 1] + [lines[at - 1].replace(b"wiki/page", b"wiki/pagE")] + lines[at:]
        else:
            kept = lines
        with open(archive.config.audit_path, "wb") as fh:
            fh.writelines(kept)
        if tamper == "remove":
            os.remove(archive.config.audit_path)
        count, problems = anchors.check_log(archive)
        archive.ledger.close()
    assert count == len(bounds)
    if tamper == "none":
        assert problems == []
    elif tamper == "remove":
        assert problems == [f"the audit log {archive.config.audit_path} is missing; the repository holds entries "
                            f"1-{bounds[-1]} in {len(bounds)} segments"]
    elif tamper == "cut":
        assert problems == [f"the audit log was cut: entries {at}-{bounds[-1]} are missing from "
                            f"{archive.config.audit_path} (it ends at entry {at - 1}); the repository's segments hold them"]
    elif tamper == "delete":
        assert len(problems) == 1 and f"entries {at}-{at} are missing from" in problems[0], problems   # or "was cut"
    else:
        assert len(problems) == 1 and problems[0].startswith(f"audit log entries {at}-{at} differ"), problems


def test_ranges_are_runs_of_consecutive_numbers():
    assert anchors.ranges([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert anchors.ranges([]) == []
