"""``python -m tests.reliability.sweepchild CONFIG PHASE``: one Discourse sync (the `responses`
fixtures of ``tests/e2e/test_change_sweep.py``, the real OpenCMIS behind) in a process of its own,
so the crash test can SIGKILL it. Phases: ``first`` (the full crawl), ``edited`` (quiet feeds;
posts 1002 in topic 100 and 1200 in topic 102 edited: only the change sweep finds them).

``SA_KILL_AT_KEY``: SIGKILL inside ``Ledger.commit_version`` of that record (the repository
acknowledged the version, the ledger never hears of it). Prints the source URLs it requested.
"""
from __future__ import annotations

import os
import signal
import sys

import responses

from connector import config, store
from connector.archive import Archive
from connector.pipeline import Pipeline

from ..e2e.test_change_sweep import LATER, edited_topic_100, mocked, quiet_run
from ..sources.test_discourse import BASE, FakeTime, get, load, register_run1, source

EDITED_1200 = "First post of the release chat, edited much later."


def edited_topic_102(rsps) -> None:
    topic = load("t_102.json")
    for post in topic["post_stream"]["posts"]:
        if post["id"] == 1200:
            post.update(version=2, updated_at="2028-06-21T08:00:00.000Z")
    rsps.add(responses.GET, BASE + "/t/102.json", json=topic, headers={"Date": LATER})
    full = {**load("post_1200.json"), "version": 2, "raw": EDITED_1200, "updated_at": "2028-06-21T08:00:00.000Z"}
    rsps.add(responses.GET, BASE + "/posts/1200.json", json=full, headers={"Date": LATER},
             match=[responses.matchers.query_param_matcher({})])
    revision = {**load("post_1003_revision_2.json"), "post_id": 1200, "edit_reason": "later",
                "created_at": "2028-06-21T08:00:00.000Z",
                "body_changes": {"side_by_side_markdown": "<del>old</del><ins>new</ins>"}}
    rsps.add(responses.GET, BASE + "/posts/1200/revisions/2.json", json=revision, headers={"Date": LATER})
    get(rsps, "/posts/1200.json", "post_1200.json", {"version": "1"}, date=LATER)


def install_kill(key: str) -> None:
    original = store.Ledger.commit_version

    def commit_version(self, filed, **kwargs):
        if filed.key == key:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, filed, **kwargs)
    store.Ledger.commit_version = commit_version


def main(path: str, phase: str) -> None:
    if os.environ.get("SA_KILL_AT_KEY"):
        install_kill(os.environ["SA_KILL_AT_KEY"])
    cfg = config.load(path)
    archive = Archive.open(cfg, workers=1)
    pipeline = Pipeline(archive)
    try:
        with mocked(cfg.repository.url) as rsps:
            if phase == "first":
                register_run1(rsps)
            else:
                quiet_run(rsps)
                edited_topic_100(rsps)
                edited_topic_102(rsps)
                for topic in (101, 200):
                    get(rsps, f"/t/{topic}.json", f"t_{topic}.json", date=LATER)
            try:
                summary = pipeline.sync(source(FakeTime()))
            finally:
                for call in rsps.calls:
                    if call.request.url.startswith(BASE):
                        print(call.request.url, flush=True)
        print("OUTCOME", summary.outcome, summary.swept_units, flush=True)
    finally:
        archive.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
