"""A host name that does not resolve is classified in connector/http.py: ``HostUnresolved`` (a
Retriable: exit 4), raised on the first failure, never retried; a refused connection still is."""
from __future__ import annotations

import socket

import pytest
import requests

from connector.cmis.client import CmisRepository
from connector.errors import Retriable
from connector.http import HostUnresolved, make_session, retrying, unresolved_host


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_name_that_does_not_resolve_is_tried_once_and_named():
    session, calls, sleeps = make_session("t", timeout=(5, 5)), [], []

    def once():
        calls.append(1)
        return session.get("http://wiki.example.invalid:8080/api.php?token=secret")

    with pytest.raises(HostUnresolved, match=r"^cannot resolve host wiki\.example\.invalid$") as caught:
        retrying(once, attempts=6, sleep=sleeps.append)
    assert (len(calls), sleeps) == (1, [])
    assert isinstance(caught.value, Retriable) and "secret" not in str(caught.value)


def test_a_refused_connection_is_still_retried():
    session, calls, sleeps = make_session("t", timeout=(5, 5)), [], []
    url = f"http://127.0.0.1:{closed_port()}/"

    def once():
        calls.append(1)
        return session.get(url)

    with pytest.raises(Retriable, match="ConnectionError .* after 3 attempts") as caught:
        retrying(once, attempts=3, sleep=sleeps.append)
    assert not isinstance(caught.value, HostUnresolved) and len(calls) == 3 and len(sleeps) == 2


def test_the_repository_client_says_it_too():
    repo = CmisRepository("http://cmis.example.invalid/browser", "A1", "admin", "admin")
    with pytest.raises(HostUnresolved, match="cannot resolve host cmis.example.invalid"):
        repo.info()


def test_only_a_resolution_failure_is_taken_for_one():
    assert unresolved_host(requests.ConnectionError("reset")) is None
    assert unresolved_host(ValueError("x")) is None
