"""Every registered source passes the contract (``contract.py``): Discourse on its recorded
fixtures, MediaWiki, WordPress and Misago on the real servers on 127.0.0.1 (error classes need no
server: ``responses`` answers every request). Paging is each source's own module's test (a topic
of 25 posts, MediaWiki continuation, WordPress keyset paging, Misago's thread cursor)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from connector.model import Tombstone
from connector.sources.confluence import ConfluenceSource
from connector.sources.discourse import DiscourseSource
from connector.sources.mediawiki import MediaWikiSource
from connector.sources.misago import MisagoSource
from connector.sources.registry import SOURCES
from connector.sources.wordpress import WordPressSource

from . import contract
from .confluence_site import Site
from .test_confluence import run as confluence_run, source as confluence_source
from .test_discourse import FakeTime, get, items, register_run1, run, source as discourse_source
from .test_mediawiki import BOT_USER, _bot_password, mw_api  # noqa: F401 - the real-wiki fixture
from .test_misago import ADMIN, SKIP_REASON as MISAGO_SKIP, URL as MISAGO_URL, _reachable
from .test_wordpress import wp  # noqa: F401 - the `wp` fixture: real WordPress

NO_SLEEP = {"sleep": lambda seconds: None}
OFFLINE = {
    "mediawiki": lambda: MediaWikiSource("wiki", "http://wiki.invalid/api.php", "bot@x", "pw", **NO_SLEEP),
    "wordpress": lambda: WordPressSource("blog", "http://blog.invalid", "admin", "app pw", **NO_SLEEP),
    "misago": lambda: MisagoSource("forum", "http://forum.invalid", "admin", "pw", **NO_SLEEP),
    "discourse": lambda: DiscourseSource("talk", "http://talk.invalid", "key", "archivist", rate_per_minute=0,
                                         **NO_SLEEP),
    "confluence": lambda: ConfluenceSource("wiki", "http://wiki.invalid", token="pat", **NO_SLEEP),
}


def test_every_registered_source_has_a_contract_run():
    assert set(OFFLINE) == set(SOURCES)


@pytest.mark.parametrize("system", sorted(OFFLINE))
def test_registered_and_error_classes(system):
    contract.registered(OFFLINE[system]())
    contract.error_classes(OFFLINE[system])


# ------------------------------------------------------------------ Discourse: recorded fixtures
def test_discourse_checkpoint_dedupe_and_tombstones():
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:   # uploads stream lazily
        register_run1(rsps, date="Wed, 01 Jul 2026 12:00:00 GMT")
        src, state = discourse_source(fake), {}
        objects = run(src, state)
    assert state["checkpoint"] == "2026-07-01T11:50:00Z"     # the Date of the first answer - 10 min
    contract.deduped(objects)
    contract.tombstones([o for o in objects if isinstance(o, Tombstone)], src)


def test_discourse_deletion_guard_and_estimate():
    fake = FakeTime()
    gone = [f"post:{n}" for n in range(9001, 9006)]
    with responses.RequestsMock() as rsps:
        for native in gone:
            get(rsps, f"/posts/{native.split(':')[1]}.json", "not_found.json", status=404)
        contract.deletion_guard(discourse_source(fake), gone)
    with responses.RequestsMock() as rsps:
        get(rsps, "/about.json", None, body=b'{"about": {"stats": {"topics_count": 4, "posts_count": 32}}}')
        est = contract.estimate(discourse_source(fake))
    assert (est.counts["topics"], est.counts["posts"]) == (4, 32)


def test_discourse_small_reconcile_is_not_guarded():
    """Three deletions of four known ids pass: the guard stops only more than three."""
    fake = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:   # uploads stream lazily
        register_run1(rsps)
        known = set(items(run(discourse_source(fake), {})))
    with responses.RequestsMock() as rsps:
        get(rsps, "/t/100.json", "t_100.json")
        get(rsps, "/t/101.json", "not_found.json", status=404)
        get(rsps, "/t/102.json", "t_102.json")
        get(rsps, "/t/200.json", "t_200.json")
        get(rsps, "/posts/1100.json", "not_found.json", status=404)
        found = list(discourse_source(fake).reconcile(known))
    contract.tombstones(found, discourse_source(fake))


# ------------------------------------------------------------------ Confluence: documented shapes
def test_confluence_checkpoint_dedupe_tombstones_guard_and_estimate():
    src, state = confluence_source(), {}
    objects = confluence_run(src, state, Site())
    assert state["checkpoint"] == "2026-07-01T11:50:00Z"     # the Date of the first answer - 10 min
    contract.deduped(objects)
    known = {o.native_id for o in objects}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        Site(run=3).register(rsps)
        found = list(confluence_source().reconcile(known))
        assert [t.native_id for t in found] == ["page:1005"] and found[0].reason == "trashed"
        contract.tombstones(found, src)
        contract.deletion_guard(confluence_source(), [f"page:{n}" for n in range(99990, 99996)])
        est = contract.estimate(confluence_source())
    assert est.counts == {"page": 5, "blogpost": 1, "comment": 3, "attachment": 1}


# ------------------------------------------------------------------ real servers
@pytest.fixture
def mediawiki(mw_api):  # noqa: F811 - the fixture above
    return MediaWikiSource("wiki", mw_api, BOT_USER, _bot_password(), sleep=lambda s: None)


@pytest.fixture
def wordpress(wp):  # noqa: F811 - the fixture above
    return wp.source()


@pytest.fixture
def misago():
    if not MISAGO_URL:
        pytest.skip(MISAGO_SKIP)
    _reachable()
    return MisagoSource("forum", MISAGO_URL, *ADMIN, rescan_window=timedelta(seconds=1))


UNKNOWN = {"mediawiki": [str(n) for n in range(999999990, 999999996)],
           "wordpress": [f"post:{n}" for n in range(99999990, 99999996)],
           "misago": [f"post:{n}" for n in range(99999990, 99999996)]}


@pytest.mark.integration
@pytest.mark.parametrize("system", sorted(UNKNOWN))
def test_real_server_checkpoint_dedupe_guard_and_estimate(system, request):
    src = request.getfixturevalue(system)
    contract.registered(src)
    started = contract.now()
    state = {"checkpoint": contract.checkpoint_text(started - timedelta(seconds=5))}
    if system == "wordpress":
        state["swept_at"] = started.isoformat()         # no media sweep in this run
    objects = list(src.changes(state))
    contract.checkpoint(state, started, contract.now(), src.overlap)
    contract.deduped(objects)
    contract.tombstones([o for o in objects if isinstance(o, Tombstone)], src)
    contract.deletion_guard(src, UNKNOWN[system])
    contract.estimate(src, since=started - timedelta(minutes=5))
