"""quarantine retry without a source `fetch` (the forums): the whole listing is read and only the
quarantined objects are filed; outcomes for filed, already archived, still failing and gone
records. Real OpenCMIS InMemory, a scripted source."""
from __future__ import annotations

import pytest

from connector import config
from connector.archive import Archive
from connector.errors import Skippable
from connector.model import Content, Revision
from connector.pipeline import Pipeline
from connector.quarantine import entries, retry

from ..cmis.test_filer_inmemory import T0, file, page
from ..conftest import write_config
from ..sources.stub import StubSource

pytestmark = pytest.mark.integration


class Listing(StubSource):
    """A source without its own fetch(): the contract's default reads the whole listing, which is
    backfill(None, None), yielding the given items."""
    system = "mediawiki"

    def __init__(self, items):
        self.name, self.items, self.request_count, self.listed = "wiki", items, 0, 0

    def backfill(self, since, until):
        assert since is None and until is None
        self.listed += 1
        yield from self.items


def broken(item):
    def fail():
        raise Skippable("simulated: unreadable bytes")
        yield b""  # pragma: no cover
    item.revisions.append(Revision(id="99", created=T0, author="Alice", content=Content("text/x-wiki", fail)))
    return item


def test_retry_by_listing(tmp_path, cmis_url):
    archive = Archive.open(config.load(write_config(tmp_path, cmis_url)))
    try:
        done, again = page("1"), page("2", "Second")
        file(archive, done)                                   # archived already
        for key in ("wiki/page/1", "wiki/page/2", "wiki/page/3", "wiki/page/4"):
            archive.ledger.quarantine(key, "wiki", "DigestMismatch", "simulated")
        source = Listing([done, page("3", "Third"), broken(page("4", "Fourth")), page("5", "Not quarantined")])
        result = retry(Pipeline(archive), source, ["wiki/page/1", "wiki/page/2", "wiki/page/3", "wiki/page/4"])
        assert source.listed == 1 and result["method"] == "full listing"
        outcomes = {r["key"]: r["outcome"] for r in result["results"]}
        assert outcomes == {
            "wiki/page/1": "already archived: released",
            "wiki/page/2": "not returned by the source (deleted there, or not readable): still quarantined",
            "wiki/page/3": "filed: released",
            "wiki/page/4": "failed again: simulated: unreadable bytes"}
        assert archive.ledger.record("wiki/page/5") is None    # only quarantined records are filed
        left = {row["key"]: row["attempts"] for row in entries(archive.ledger, "wiki")}
        assert left == {"wiki/page/2": 1, "wiki/page/4": 2}
        assert archive.ledger.db.execute("SELECT command FROM runs ORDER BY rowid DESC").fetchone()[0] == "retry wiki"
    finally:
        archive.close()
