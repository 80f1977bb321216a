"""The HTTP layer's throttle: per host, shared by threads."""
import threading

import pytest
import responses

from connector.http import Throttle, make_session


def test_throttle_spaces_requests_from_many_threads_evenly():
    """Four threads, twenty requests, 600 a minute: slots 0.1 s apart, none taken twice."""
    lock = threading.Lock()
    now = [0.0]
    slots: list[float] = []

    def clock() -> float:
        with lock:
            return now[0]

    def sleep(seconds: float) -> None:   # nothing really waits: record the slot the caller sleeps to
        with lock:
            slots.append(round(now[0] + seconds, 3))

    throttle = Throttle(600, clock, sleep)
    threads = [threading.Thread(target=lambda: [throttle.wait() for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(slots) == [round(0.1 * n, 3) for n in range(1, 20)]   # the first goes at once
    throttle_off = Throttle(0, clock, sleep)
    throttle_off.wait()
    assert len(slots) == 19


def test_session_throttles_each_host_on_its_own():
    sleeps: list[float] = []
    session = make_session("t", rate_per_minute=60, clock=lambda: 0.0, sleep=sleeps.append)
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, "http://api.example/x", json={})
        mock.add(responses.GET, "http://cdn.example/y", body=b"")
        for _ in range(3):
            session.get("http://api.example/x")
        session.get("http://cdn.example/y")
    assert sleeps == [1.0, 2.0]                      # api: slots 0, 1, 2; the CDN's first goes at once
    assert set(session.throttles) == {"api.example", "cdn.example"}


API = "https://forum.example.org"
SECRETS = {"Api-Key": "k-3f9a", "Api-Username": "archivist", "X-CSRFToken": "csrf-77"}


def bound_session():
    session = make_session("t")
    session.bind_credentials(API + "/", SECRETS)
    session.cookies.set("sessionid", "s-1234", domain="forum.example.org")
    return session


def sent(call) -> dict[str, str]:
    return {name: call.request.headers.get(name) for name in (*SECRETS, "Cookie")}


def test_a_redirect_to_another_host_receives_no_credentials():
    session = bound_session()
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, API + "/secure-uploads/a.png", status=302,
                 headers={"Location": "https://bucket.s3.example.net/a.png?X-Amz-Signature=sig"})
        mock.add(responses.GET, "https://bucket.s3.example.net/a.png", body=b"png")
        assert session.get(API + "/secure-uploads/a.png").content == b"png"
        first, second = mock.calls
    assert sent(first) == {**SECRETS, "Cookie": "sessionid=s-1234"}
    assert sent(second) == dict.fromkeys([*SECRETS, "Cookie"])


def test_credentials_follow_a_redirect_inside_their_origin_and_come_back_after_a_foreign_hop():
    session = bound_session()
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, API + "/t/1", status=301, headers={"Location": "/t/slug/1"})
        mock.add(responses.GET, API + "/t/slug/1", status=302, headers={"Location": "https://cdn.example.net/x"})
        mock.add(responses.GET, "https://cdn.example.net/x", status=302, headers={"Location": API + "/t/slug/1.json"})
        mock.add(responses.GET, API + "/t/slug/1.json", json={})
        session.get(API + "/t/1")
        hops = [sent(call) for call in mock.calls]
    with_credentials = {**SECRETS, "Cookie": "sessionid=s-1234"}
    assert hops == [with_credentials, with_credentials, dict.fromkeys([*SECRETS, "Cookie"]), with_credentials]


def test_another_scheme_or_port_of_the_same_host_is_another_origin():
    session = bound_session()
    with responses.RequestsMock() as mock:
        for url in ("http://forum.example.org/x", "https://forum.example.org:8443/x", "https://forum.example.org:443/x"):
            mock.add(responses.GET, url, body=b"")
            session.get(url)
        hops = [sent(call) for call in mock.calls]
    assert hops[0] == hops[1] == dict.fromkeys([*SECRETS, "Cookie"])
    assert hops[2] == {**SECRETS, "Cookie": "sessionid=s-1234"}     # :443 is https' own port


def test_credentials_are_never_session_headers_and_one_session_serves_one_origin():
    session = bound_session()
    assert not set(SECRETS) & set(session.headers)
    session.bind_credentials(API + ":443/api", {"X-CSRFToken": "rotated"})
    assert session.credential_headers["X-CSRFToken"] == "rotated"
    with pytest.raises(ValueError):
        session.bind_credentials("https://other.example.org/", {})
