"""The HTTP layer's throttle: per host, shared by threads."""
import threading

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
