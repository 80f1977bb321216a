"""Bad input is quarantined and the run goes on; a bug is not (issue #18). Only the classes of
``connector.errors`` that say "this record" (``Skippable``: ``DigestMismatch``, a record the
repository rejects, ...) quarantine a record; a ``ValueError`` or ``KeyError`` out of our own code,
while an item is mapped or written, stops the run with that error and leaves no "bad record"
behind in the ledger. On the real OpenCMIS InMemory."""
from __future__ import annotations

import hashlib

import pytest

from connector import config
from connector.archive import Archive
from connector.errors import DigestMismatch, Skippable
from connector.model import Content, Revision
from connector.pipeline import Pipeline
from connector.summary import Summary

from ..conftest import write_config
from .test_filer_inmemory import T0, page

pytestmark = pytest.mark.integration


@pytest.fixture
def archive(tmp_path, cmis_url):
    arch = Archive.open(config.load(write_config(tmp_path, cmis_url)))
    yield arch
    arch.close()


def run(archive: Archive, *items) -> Summary:
    summary, pipeline = Summary(source="wiki"), Pipeline(archive)
    for item in items:
        pipeline.archive_object(item, summary)
    return summary


def test_bytes_that_do_not_match_the_source_digest_are_quarantined_and_the_run_goes_on(archive):
    bad = page("71", revisions=1)
    data = b"the bytes the source sent"
    bad.revisions.append(Revision(id="2000", created=T0, author="Alice", content=Content(
        "application/octet-stream", lambda: iter([data]), size=len(data),
        source_digest=("sha1", hashlib.sha1(b"other bytes").hexdigest()))))
    summary = run(archive, bad, page("72", revisions=1))
    assert issubclass(DigestMismatch, Skippable) and not issubclass(DigestMismatch, ValueError)
    assert [(row[0], row[2]) for row in archive.ledger.quarantined()] == [(bad.key, "DigestMismatch")]
    assert archive.ledger.record(page("72").key) is not None and summary.quarantined == 1


@pytest.mark.parametrize("bug", [ValueError("a bug in the mapper"), KeyError("sa:nothing")])
def test_a_bug_while_mapping_stops_the_run_and_quarantines_nothing(archive, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug
    monkeypatch.setattr(archive.mapper, "document", broken)
    with pytest.raises(type(bug)):
        run(archive, page("73", revisions=1))
    assert archive.ledger.quarantined() == []


@pytest.mark.parametrize("bug", [ValueError("a bug in the filer"), KeyError("cmis:objectId")])
def test_a_bug_while_writing_stops_the_run_and_quarantines_nothing(archive, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug
    monkeypatch.setattr(archive.filer, "create", broken)
    with pytest.raises(type(bug)):
        run(archive, page("74", revisions=1))
    assert archive.ledger.quarantined() == [] and archive.ledger.record(page("74").key) is None
