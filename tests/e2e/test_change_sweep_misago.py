"""The change sweep on the REAL Misago and OpenCMIS InMemory: an edit of a post in a thread older
than ``rescan_window`` (no listing ``changes`` reads shows it) is archived by the first sync whose
sweep covers it; every version is read back from the repository."""
from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from connector import config
from connector.archive import Archive
from connector.pipeline import Pipeline
from connector.sources.misago import MisagoSource

from ..conftest import write_config
from ..sources.test_misago import ADMIN, STATE, URL, Client, SKIP_REASON, _reachable
from .shared import MISAGO_FORUM, WHOLE_PASS

pytestmark = pytest.mark.integration

# a whole pass a run: the run after the edit covers every thread
SOURCE = MISAGO_FORUM + WHOLE_PASS


def source() -> MisagoSource:
    """``rescan_window`` 0: every thread whose last post is before the checkpoint is 'old'."""
    return MisagoSource("forum", URL, *ADMIN, public_categories=("Engineering",),
                        rescan_window=timedelta(0), overlap=timedelta(0))


def test_an_edit_in_a_thread_older_than_the_rescan_window_is_archived_by_the_sweep(cmis_url, tmp_path):
    if not URL:
        pytest.skip(SKIP_REASON)
    _reachable()
    categories = json.loads((Path(STATE) / "categories.json").read_text())
    admin, tag = Client(*ADMIN), uuid.uuid4().hex[:8]
    tid = admin.call("POST", "/api/threads/", json={"title": f"Sweep old {tag}", "category": categories["engineering"],
                                                      "post": f"Sweep first {tag}"})["id"]
    reply = admin.call("POST", f"/api/threads/{tid}/posts/", json={"post": f"Sweep reply {tag}"})["id"]
    (tmp_path / "misago-password").write_text(ADMIN[1])
    time.sleep(1.1)   # the server's Date has 1 s resolution: the thread is older than the first run
    archive = Archive.open(config.load(write_config(tmp_path, cmis_url, sources=SOURCE.format(url=URL))))
    pipeline = Pipeline(archive)
    key, thread_key = f"forum/post/post:{reply}", f"forum/thread/thread:{tid}"
    try:
        first = pipeline.sync(source())
        assert first.outcome == "ok" and first.quarantined == 0
        # the full crawl read every thread: the sweep checked them all without a request
        assert first.swept_units >= 1 and archive.ledger.sweep_mark(key) == "0|" + \
            admin.call("GET", f"/api/threads/{tid}/posts/")["post_set"]["results"][1]["updated_on"]
        assert set(archive.ledger.filed_revisions(key)) == {"0"}
        thread_revisions = set(archive.ledger.filed_revisions(thread_key))

        time.sleep(1.1)   # the server's Date has 1 s resolution: the edit lands after the checkpoint
        edited = f"Sweep reply {tag}, edited in an old thread"
        admin.call("PUT", f"/api/threads/{tid}/posts/{reply}/", json={"post": edited})
        swept = source()
        second = pipeline.sync(swept)
        assert second.outcome == "ok" and second.quarantined == 0
        assert key not in swept._yielded          # changes did not see it: the thread is older than the window
        added = set(archive.ledger.filed_revisions(key)) - {"0"}
        assert len(added) == 1 and next(iter(added)).startswith("edit:")
        versions = archive.repo.versions(archive.ledger.record(key)["object_id"])
        assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0"]
        assert b"".join(archive.repo.content(versions[-1]["cmis:objectId"])).decode() == edited
        assert archive.ledger.sweep_mark(key).startswith("1|")
        assert set(archive.ledger.filed_revisions(thread_key)) == thread_revisions   # the record did not change

        third = pipeline.sync(source())      # checked again, nothing new: nothing filed twice
        assert third.outcome == "ok"
        assert len(archive.repo.versions(archive.ledger.record(key)["object_id"])) == 2
        totals = archive.ledger.sweep_totals("forum")
        assert totals["paid_units"] >= 2 and totals["requests"] >= totals["paid_units"]
    finally:
        archive.close()
