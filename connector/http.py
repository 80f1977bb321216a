"""HTTP sessions, the one place where a response becomes an error class, and retries.

Example::

    session = make_session(user_agent="socialarchive/0.1", timeout=(5, 60))
    fetch = retrying(lambda: check(session.get(url)), attempts=5)

- ``check(response)`` maps status codes to ``Retriable`` (429, 5xx, honouring ``Retry-After``),
  ``Fatal`` (401, 403) and ``Skippable`` (other 4xx). Sources add their own in-body signals
  (MediaWiki ``maxlag``) on top by raising the same classes.
- ``retrying`` composes tenacity: bounded attempts, exponential backoff with jitter, and the
  server's ``Retry-After`` when it gave one (capped, so a hostile header cannot stall a run).
- Error messages carry the URL without its query string: queries may hold tokens.
"""
from __future__ import annotations

import email.utils
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from tenacity import (RetryCallState, retry, retry_if_exception_type, stop_after_attempt,
                      wait_exponential_jitter)

from .errors import Fatal, Retriable, Skippable

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TIMEOUT = (10.0, 120.0)
MAX_RETRY_AFTER = 300.0


class Session(requests.Session):
    """A requests session with a default timeout and a request counter (for run summaries)."""

    def __init__(self, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        super().__init__()
        self.default_timeout = timeout
        self.request_count = 0
        self._lock = threading.Lock()

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        with self._lock:
            self.request_count += 1
        return super().request(method, url, **kwargs)


def make_session(user_agent: str, *, verify: bool | str = True,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 auth: tuple[str, str] | None = None, pool_size: int = 0) -> Session:
    """One pooled session per host. ``pool_size``: keep-alive connections kept per host (give it the
    number of threads sharing the session; requests keeps 10 by default)."""
    session = Session(timeout)
    if pool_size > 10:
        for prefix in ("https://", "http://"):
            session.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=pool_size))
    session.headers["User-Agent"] = user_agent
    session.verify = verify
    if auth is not None:
        session.auth = auth
    if verify is False:
        log.warning("TLS certificate verification is OFF for this session (%s)", user_agent)
    return session


def safe_url(url: str) -> str:
    """The URL without query string, fragment or user info: safe to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, min((when - datetime.now(timezone.utc)).total_seconds(), MAX_RETRY_AFTER))


def check(response: requests.Response) -> requests.Response:
    """Return the response if it is a success, else raise the matching error class."""
    status = response.status_code
    if status < 400:
        return response
    where = f"{response.request.method} {safe_url(response.url)}" if response.request else safe_url(response.url)
    if status == 429 or status >= 500:
        raise Retriable(f"HTTP {status} from {where}",
                        retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403, 407):
        raise Fatal(f"HTTP {status} from {where}: check the credentials and grants")
    raise Skippable(f"HTTP {status} from {where}")


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    backoff = wait_exponential_jitter(initial=1, max=60, jitter=1)(state)
    if isinstance(exc, Retriable) and exc.retry_after is not None:
        return max(exc.retry_after, 0.0)
    return backoff


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("retry %d after %s", state.attempt_number, exc)


TRANSIENT = (Retriable, requests.ConnectionError, requests.Timeout)


def retrying(fn: Callable[[], T], attempts: int = 6, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn`` until it succeeds, retrying transient errors with backoff.

    After the last attempt the last error is raised as ``Retriable`` (the caller decides whether
    to pause the run or quarantine the item).
    """
    wrapped = retry(retry=retry_if_exception_type(TRANSIENT), stop=stop_after_attempt(attempts),
                    wait=_wait, sleep=sleep, before_sleep=_log_retry, reraise=True)(fn)
    try:
        return wrapped()
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise Retriable(f"{type(exc).__name__} after {attempts} attempts") from None
