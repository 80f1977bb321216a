"""Our session keeps requests' environment settings (proxies, no_proxy, CA bundle) per origin
instead of reading the environment on every request: the answers must stay requests' own."""
from __future__ import annotations

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from connector.http import Session

HOSTS = ["127.0.0.1", "cmis.example.org", "wiki.internal", "localhost"]
URLS = st.builds(lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
                 st.sampled_from(["http", "https"]), st.sampled_from(HOSTS),
                 st.sampled_from(["", ":8080", ":443"]), st.sampled_from(["", "a?q=1", "b/c"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(st.tuples(URLS, st.sampled_from([None, {}, {"https": "http://other:1"}]),
                                st.sampled_from([None, True, False, "/tmp/ca.pem"])), min_size=1, max_size=8))
def test_environment_settings_are_requests_own(calls, monkeypatch_env):
    """Whatever the sequence of URLs and arguments, cached or not, each answer is the one a plain
    requests session gives (a counter-example would be an answer kept for the wrong key). The
    environment is the fixture's for every example."""
    ours, plain = Session(), requests.Session()
    for url, proxies, verify in calls:
        expected = plain.merge_environment_settings(url, None if proxies is None else dict(proxies), None, verify, None)
        assert ours.merge_environment_settings(url, None if proxies is None else dict(proxies), None, verify,
                                               None) == expected


def test_session_settings_changed_later_are_seen(monkeypatch_env):
    ours = Session()
    first = ours.merge_environment_settings("http://cmis.example.org/", {}, None, None, None)
    ours.proxies = {"http": "http://session-proxy:3128"}
    second = ours.merge_environment_settings("http://cmis.example.org/", {}, None, None, None)
    assert first["proxies"]["http"] == "http://proxy.example:3128"
    assert second["proxies"]["http"] == "http://proxy.example:3128"   # the environment's wins, as in requests
    ours.trust_env = False
    assert ours.merge_environment_settings("http://cmis.example.org/", {}, None, None, None)["proxies"] == {
        "http": "http://session-proxy:3128"}


def test_answers_are_copies(monkeypatch_env):
    """A caller changing the proxies it got back does not change the next answer."""
    ours = Session()
    ours.merge_environment_settings("http://cmis.example.org/", {}, None, None, None)["proxies"]["http"] = "x"
    assert ours.merge_environment_settings("http://cmis.example.org/", {}, None, None, None)["proxies"]["http"] == \
        "http://proxy.example:3128"


@pytest.fixture
def monkeypatch_env(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3129")
    monkeypatch.setenv("NO_PROXY", "wiki.internal,localhost:8080,127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
