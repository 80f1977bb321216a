"""A JSON API on one base URL, over ``connector.http.Session``: what Misago and Discourse (and a
next forum) share below their own endpoints::

    api = JsonApi("https://forum.example.org", session, attempts=6, sleep=time.sleep)
    api.start_run()                      # the next answer's Date header is this run's clock
    topics = api.get("/latest.json")     # JSON, or None for a 404 with allow_404=True
    api.server_time, api.request_count   # the server clock, the session's requests (retries too)

Error classes (``connector.errors``): 429 and 5xx are retried, then ``Retriable`` (with the wait
``retry_after(response)`` reads, else ``Retry-After``); 401/403 ``Fatal``; another 4xx or a body
that is not JSON ``Skippable``. A source's own rules (a login, a rate-limit body) stay its own.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

import requests

from ...errors import Retriable, Skippable
from ...http import Session, check, parse_retry_after, retrying, safe_url
from .window import server_clock


class JsonApi:
    def __init__(self, base_url: str, session: Session, *, attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep,
                 retry_after: Callable[[requests.Response], float | None] | None = None,
                 rate_limit_code: str = ""):
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.attempts = attempts
        self.sleep = sleep
        self.retry_after = retry_after or (lambda response: parse_retry_after(response.headers.get("Retry-After")))
        self.rate_limit_code = rate_limit_code   # a header naming which limit a 429 hit
        self.server_time: datetime | None = None
        self._counted = session.request_count

    @property
    def request_count(self) -> int:
        """Requests made through the session since this client was made (retries and downloads too)."""
        return self.session.request_count - self._counted

    def start_run(self) -> None:
        self.server_time = None

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")

    def send(self, method: str, path: str, **kwargs) -> requests.Response:
        """The answer to one request, retried while it is 429 or 5xx; any other status is returned."""
        return retrying(lambda: self.attempt(method, path, **kwargs), attempts=self.attempts, sleep=self.sleep)

    def attempt(self, method: str, path: str, **kwargs) -> requests.Response:
        """One try of ``send``, not retried: a client whose retry covers more than the status (a
        WordPress body that is not JSON is tried again) wraps it in its own ``retrying``."""
        url = self.url(path)
        response = self.session.request(method, url, **kwargs)
        if self.server_time is None:
            self.server_time = server_clock(response)
        if response.status_code == 429:
            wait = self.retry_after(response)
            code = response.headers.get(self.rate_limit_code, "") if self.rate_limit_code else ""
            response.close()
            raise Retriable(f"HTTP 429 from {method} {safe_url(url)}" + (f" ({code})" if code else ""),
                            retry_after=wait)
        if response.status_code >= 500:
            response.close()
            check(response)
        return response

    def get(self, path: str, params: Any = None, *, allow_404: bool = False) -> Any:
        response = self.send("GET", path, params=params)
        if allow_404 and response.status_code == 404:
            return None
        check(response)
        try:
            return response.json()
        except ValueError:
            raise Skippable(f"non-JSON answer from GET {safe_url(response.url)}") from None
