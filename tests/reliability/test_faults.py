"""Faults: a seeded fault-injecting proxy in front of the real MediaWiki and the real OpenCMIS.

- 20 % of requests fail (5xx, 429 + Retry-After, resets and timeouts before *and after* the
  upstream did the work): one backfill completes, and the archive equals a clean run's, with no
  duplicate document or version;
- an item that keeps failing (its file download, or its repository write) is quarantined with the
  reason, after a bounded number of attempts, and the run goes on;
- a repository outage stops a ``sync`` (exit code 4) without marking anything done or moving the
  checkpoint; the next run completes it, again without duplicates;
- retry bounds, Retry-After, and the response-size cap, on the HTTP layer itself.
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from cli import main
from connector import config, http
from connector.archive import Archive
from connector.audit import verify_chain
from connector.errors import Retriable
from connector.store import Ledger
from connector.pipeline import Pipeline
from connector.sources import build

from .conftest import FAULT_HTTP, FAULT_TIMEOUT, PROXY_HANG, reliability_config, seed_checkpoint, wiki_source
from .faultproxy import DEFAULT_WEIGHTS, FaultProxy
from .helpers import (STATE, assert_no_duplicates, ledger_versions, open_archive, page_ids, source_state,
                      wiki_keys)

SEED = 20240301


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _backfill(config_path: str, corpus):
    """The corpus' window as a backfill: [since, until) holds exactly the corpus (and whatever
    else other tests wrote to namespaces 9 and 6 meanwhile; assertions are on our records)."""
    cfg = config.load(config_path)
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        source = build("wiki", "mediawiki", cfg.sources["wiki"].options)
        return pipeline.backfill(source, corpus.since, corpus.until), cfg
    finally:
        archive.close()


def _quarantined(config_path: str) -> list:
    ledger = Ledger(config.load(config_path).ledger_path)
    try:
        return ledger.quarantined()
    finally:
        ledger.close()


def _proxied_config(tmp_path, cmis_proxy: FaultProxy, wiki_proxy: FaultProxy, cmis_url: str, mw_api: str) -> str:
    return reliability_config(tmp_path, cmis_proxy.url(urlsplit(cmis_url).path),
                              sources=wiki_source(wiki_proxy.url(urlsplit(mw_api).path), STATE),
                              repository_extra=f"timeout = {FAULT_TIMEOUT}", http_table=FAULT_HTTP)


@pytest.fixture(scope="module")
def clean_run(corpora, cmis_url, mw_api, wiki, tmp_path_factory):
    """The fault corpus archived without faults: what every faulty run must end up with."""
    tmp = tmp_path_factory.mktemp("clean")
    path = reliability_config(tmp, cmis_url, sources=wiki_source(mw_api, STATE))
    summary, cfg = _backfill(path, corpora.fault)
    assert summary.outcome == "ok", (summary.errors, _quarantined(path))
    keys = wiki_keys(wiki, corpora.fault)
    versions = ledger_versions(cfg.ledger_path, keys)
    for key, revids in keys.items():
        if revids:
            assert sorted(versions[key]) == sorted(revids), key        # every wiki revision archived
    assert sum(len(v) for v in versions.values()) >= corpora.fault.revisions
    return versions


@pytest.mark.integration
def test_a_run_with_20_percent_of_requests_failing_completes_without_duplicates(
        corpora, clean_run, cmis_url, mw_api, tmp_path, figures):
    weights = {**DEFAULT_WEIGHTS, "timeout": 0.5, "timeout_after": 0.5}    # each costs a read timeout
    with FaultProxy(_origin(cmis_url), seed=SEED, rate=0.2, slow_rate=0.05, weights=weights,
                    hang=PROXY_HANG) as cmis_proxy, \
            FaultProxy(_origin(mw_api), seed=SEED + 1, rate=0.2, slow_rate=0.05, weights=weights,
                       hang=PROXY_HANG) as wiki_proxy:
        path = _proxied_config(tmp_path, cmis_proxy, wiki_proxy, cmis_url, mw_api)
        started = time.monotonic()
        summary, cfg = _backfill(path, corpora.fault)
        elapsed = time.monotonic() - started
    assert summary.outcome == "ok" and summary.quarantined == 0, (summary.errors, _quarantined(path))
    assert cmis_proxy.failures + wiki_proxy.failures > 0.15 * (cmis_proxy.requests + wiki_proxy.requests)
    assert cmis_proxy.injected["reset_after"] and cmis_proxy.injected["502_after"], cmis_proxy.injected

    faulty = ledger_versions(cfg.ledger_path, clean_run)
    strip = lambda v: {k: {r: (s, n) for r, (s, n, _) in revs.items()} for k, revs in v.items()}  # noqa: E731
    assert strip(faulty) == strip(clean_run)           # same revisions, same bytes, as the clean run

    archive = open_archive(path, cmis_url)
    try:
        versions = assert_no_duplicates(archive, faulty)
    finally:
        archive.close()
    assert verify_chain(cfg.audit_path) == []
    figures["faults"] = {
        "requests": cmis_proxy.requests + wiki_proxy.requests,
        "injected": cmis_proxy.failures + wiki_proxy.failures,
        "by_kind": dict(cmis_proxy.injected + wiki_proxy.injected),
        "slowed": cmis_proxy.slowed + wiki_proxy.slowed,
        "versions_checked": versions, "seconds": round(elapsed, 1),
    }


@pytest.mark.integration
def test_an_item_that_keeps_failing_is_quarantined_and_the_run_goes_on(
        corpora, clean_run, wiki, cmis_url, mw_api, tmp_path, figures):
    """One file's download always fails (source side); one page's writes always fail (repository
    side): both are quarantined with their reason after bounded attempts; everything else lands."""
    ids = page_ids(wiki, [corpora.fault.files[1], corpora.fault.titles[3]])
    file_name = corpora.fault.files[1].split(":", 1)[1].replace(" ", "_")
    poisoned_file, poisoned_page = (f"wiki/file/file:{ids[corpora.fault.files[1]]}",
                                    f"wiki/page/{ids[corpora.fault.titles[3]]}")
    page_marker = b"\r\n" + poisoned_page.encode() + b"\r\n"     # its key, as a multipart value
    rules_wiki = [(lambda method, path, body: method == "GET" and path.endswith("/" + file_name), "500")]
    rules_cmis = [(lambda method, path, body: method == "POST" and page_marker in body, "500")]
    with FaultProxy(_origin(cmis_url), seed=SEED + 2, rules=rules_cmis) as cmis_proxy, \
            FaultProxy(_origin(mw_api), seed=SEED + 3, rules=rules_wiki) as wiki_proxy:
        path = _proxied_config(tmp_path, cmis_proxy, wiki_proxy, cmis_url, mw_api)
        started = time.monotonic()
        summary, cfg = _backfill(path, corpora.fault)
        elapsed = time.monotonic() - started
    assert summary.outcome == "quarantined" and summary.quarantined == 2, (summary.line(), summary.errors)
    archive = open_archive(path, cmis_url)
    try:
        quarantined = {row[0]: row for row in archive.ledger.quarantined("wiki")}
        assert set(quarantined) == {poisoned_file, poisoned_page}
        assert "HTTP 500" in quarantined[poisoned_file][3] and "source" in quarantined[poisoned_file][3]
        assert "repository answers, but refused" in quarantined[poisoned_page][3]
        assert "HTTP 500" in quarantined[poisoned_page][3]
        others = {k: v for k, v in clean_run.items() if k not in quarantined}
        assert {k: set(v) for k, v in ledger_versions(cfg.ledger_path, others).items()} == \
            {k: set(v) for k, v in others.items()}              # everything else landed
        assert_no_duplicates(archive, ledger_versions(cfg.ledger_path, clean_run))
        assert archive.ledger.has_intent(poisoned_page)         # left for the next run to look up
    finally:
        archive.close()
    bound = http.SETTINGS.write_attempts
    assert cmis_proxy.injected["rule_500"] <= 2 * bound + 2                 # bounded, not forever
    assert wiki_proxy.injected["rule_500"] <= bound + 1
    assert elapsed < 120
    figures["quarantine"] = {"items": 2, "attempts_repository": cmis_proxy.injected["rule_500"],
                             "attempts_source": wiki_proxy.injected["rule_500"], "seconds": round(elapsed, 1)}


@pytest.mark.integration
def test_repository_outage_stops_the_run_without_marking_anything_done(
        corpora, clean_run, cmis_url, mw_api, tmp_path, figures):
    posts = {"n": 0}

    def count(method, path, body):            # the 31st write reaches the repository, its answer is lost
        posts["n"] += method == "POST"
        return posts["n"] == 31 and method == "POST"

    outage = [(count, "reset_after"), (lambda method, path, body: posts["n"] > 30, "reset")]
    with FaultProxy(_origin(cmis_url), seed=SEED + 4, rules=outage) as cmis_proxy, \
            FaultProxy(_origin(mw_api), seed=SEED + 5) as wiki_proxy:
        path = _proxied_config(tmp_path, cmis_proxy, wiki_proxy, cmis_url, mw_api)
        ledger_path = config.load(path).ledger_path
        seeded = seed_checkpoint(ledger_path, "wiki", corpora.fault.since)
        result = CliRunner().invoke(main, ["sync", "--config", path])
        assert result.exit_code == 4, result.output                          # unavailable
        assert "checkpoint" in result.output or "unavailable" in result.output
        assert json.loads(source_state(ledger_path, "wiki")) == seeded      # not advanced
        partial = ledger_versions(ledger_path, clean_run)
        filed = sum(len(v) for v in partial.values())
        assert 0 < filed < sum(len(v) for v in clean_run.values())
        for key, revisions in partial.items():                              # nothing marked done...
            assert set(revisions) <= set(clean_run[key])
        cmis_proxy.rules.clear()                                            # ...that is not in the repository
        archive = open_archive(path)
        try:
            ahead: list = []
            assert_no_duplicates(archive, partial, ahead)
            assert len(ahead) <= 1, ahead     # at most the write whose answer was lost
        finally:
            archive.close()

        second = CliRunner().invoke(main, ["sync", "--config", path])          # the outage is over
        assert second.exit_code == 0, second.output
    complete = ledger_versions(ledger_path, clean_run)
    assert {k: set(v) for k, v in complete.items()} == {k: set(v) for k, v in clean_run.items()}
    assert json.loads(source_state(ledger_path, "wiki")) != seeded
    archive = open_archive(path, cmis_url)
    try:
        assert_no_duplicates(archive, complete)
    finally:
        archive.close()
    assert verify_chain(config.load(path).audit_path) == []
    figures["outage"] = {"filed_before_outage": filed, "refused_during_outage": cmis_proxy.injected["rule_reset"] + cmis_proxy.injected["rule_reset_after"],
                         "completed_by_next_run": sum(len(v) for v in complete.values()) - filed}


# ---------------------------------------------------------------------------- the HTTP layer

def test_retries_are_bounded_with_jittered_backoff_and_retry_after_honoured_but_capped():
    http.configure(backoff_initial=0.5, backoff_max=4, backoff_jitter=0.5, max_retry_after=30)
    sleeps: list[float] = []
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        raise requests.ConnectionError("reset")
    with pytest.raises(Retriable, match="ConnectionError after 6 attempts"):
        http.retrying(flaky, attempts=6, sleep=sleeps.append)
    assert calls["n"] == 6 and len(sleeps) == 5
    for n, slept in enumerate(sleeps):                    # exponential, jittered, capped
        assert min(0.5 * 2 ** n, 4) <= slept <= min(0.5 * 2 ** n, 4) + 0.5 + 1e-9

    sleeps.clear()
    answers = iter([Retriable("429", retry_after=1.0), Retriable("503", retry_after=100000.0), "done"])

    def limited():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert http.retrying(limited, attempts=5, sleep=sleeps.append) == "done"
    assert sleeps == [1.0, 30.0]                          # Retry-After as sent, and capped
    assert http.parse_retry_after("999999") == 30.0
    assert http.parse_retry_after("Wed, 21 Oct 2099 07:28:00 GMT") == 30.0


def test_http_settings_come_from_the_config_and_bad_ones_are_refused(tmp_path, monkeypatch):
    from connector.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown setting"):
        http.configure({"backof_max": 1})
    with pytest.raises(ConfigError, match="not a number"):
        http.configure({"max_response_mb": "lots"})
    path = reliability_config(tmp_path, "http://127.0.0.1:9/inmemory/browser",
                              http_table="\n[http]\nmax_response_mb = 2\nbackoff_max = 7\n")
    config.load(path)
    assert http.SETTINGS.max_response_bytes == 2 * 1024 * 1024 and http.SETTINGS.backoff_max == 7


class _Huge(BaseHTTPRequestHandler):
    """/announced: a Content-Length past the cap; /chunked: an endless chunked JSON array."""
    protocol_version = "HTTP/1.1"
    sent = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/announced"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 ** 10))
            self.end_headers()
            self.wfile.write(b"[" + b"0," * 1000)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"[" + b'"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",' * 2000
        try:
            for _ in range(100000):                      # ~6.6 GB if nobody stops reading
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                type(self).sent += len(chunk)
        except OSError:
            pass


def test_oversized_answers_are_refused_without_reading_them_whole(tmp_path):
    from connector.sources.mediawiki import MediaWikiSource
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        http.configure(max_response_mb=1)
        session = http.make_session("test")
        with pytest.raises(http.ResponseTooLarge, match="announces 10000000000 bytes"):
            session.get(base + "/announced")
        with pytest.raises(http.ResponseTooLarge, match="larger than the 1048576 byte limit"):
            session.get(base + "/chunked?token=SECRET")
        assert _Huge.sent < 50 * 1024 * 1024             # we stopped reading; the server gave up
        with session.get(base + "/chunked", stream=True) as streamed:   # files stream: not capped
            got = 0
            for chunk in streamed.iter_content(1 << 16):
                got += len(chunk)
                if got > 3 * 1024 * 1024:
                    break
        assert got > 3 * 1024 * 1024
        # a source: the oversized API answer is a Skippable error naming the limit, not a memory blow-up
        source = MediaWikiSource("wiki", base + "/chunked", "bot", "pw", attempts=1, sleep=lambda s: None)
        with pytest.raises(http.ResponseTooLarge) as caught:
            source.api.call({"action": "query"}, auth=False)
        assert "SECRET" not in str(caught.value) and "max_response_mb" in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()


def test_a_connection_reset_while_the_body_is_read_is_transient():
    """Found by the proxy: a reset after the headers surfaced as ChunkedEncodingError, which no
    retry caught; now the bounded reader turns it into a ConnectionError (retried)."""
    class Truncated(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"10\r\n[1,2,3")
            self.wfile.flush()
            self.connection.shutdown(2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Truncated)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = http.make_session("test")
        with pytest.raises(Retriable, match="after 2 attempts"):
            http.retrying(lambda: session.get(f"http://127.0.0.1:{server.server_address[1]}/"), attempts=2,
                          sleep=lambda s: None)
    finally:
        server.shutdown()
        server.server_close()


def test_tls_verification_is_on_by_default_and_off_only_with_a_warning(tmp_path, caplog):
    path = reliability_config(tmp_path, "https://127.0.0.1:9/inmemory/browser", http_table="")
    assert config.load(path).repository.verify_tls is True
    assert http.make_session("x").verify is True
    with caplog.at_level("WARNING"):
        http.make_session("x", verify=False)
    assert any("TLS certificate verification is OFF" in r.getMessage() for r in caplog.records)
    assert datetime.now(timezone.utc)  # (the CLI warning on every run: tests/reliability/test_secrets.py)


@pytest.mark.integration
def test_an_oversized_listing_stops_the_run_as_fatal_and_names_the_limit(cmis_url, tmp_path):
    """A source answer past [http] max_response_mb outside any item (here: the very first API call)
    is not an item to quarantine: the run stops (exit 5), the checkpoint stays, the error says why."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}/chunked/api.php"
    try:
        (tmp_path / "bot").write_text("not-a-real-password")
        path = reliability_config(tmp_path, cmis_url, http_table=FAST_HTTP_1MB, sources=f"""
[sources.wiki]
type = "mediawiki"
api_url = "{api}"
username = "bot"
password_file = "bot"
""")
        result = CliRunner().invoke(main, ["sync", "--config", path])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 5, result.output
    assert "max_response_mb" in result.output and "Traceback" not in result.output
    assert source_state(config.load(path).ledger_path, "wiki") is None


FAST_HTTP_1MB = "\n[http]\nmax_response_mb = 1\nbackoff_initial = 0.05\nbackoff_max = 0.2\n"
