"""HTTP sessions, the one place where a response becomes an error class, and retries.

Example::

    session = make_session(user_agent="socialarchive/0.1", timeout=(5, 60))
    fetch = retrying(lambda: check(session.get(url)), attempts=5)

- ``check(response)`` maps status codes to ``Retriable`` (429, 5xx, honouring ``Retry-After``),
  ``Fatal`` (401, 403) and ``Skippable`` (other 4xx). Sources add their own in-body signals
  (MediaWiki ``maxlag``) on top by raising the same classes.
- ``retrying`` composes tenacity: bounded attempts, exponential backoff with jitter, and the
  server's ``Retry-After`` when it gave one (capped, so a hostile header cannot stall a run).
- Every answer read whole (``stream=False``: API JSON, CMIS JSON) is read in chunks and refused
  past ``max_response_bytes`` (``ResponseTooLarge``), so a hostile or broken server cannot make us
  hold an unbounded body in memory. Streamed downloads (files) are not capped: they flow through.
- A connection that breaks while the body is read (reset, truncated chunked body) is a
  ``requests.ConnectionError`` like one that breaks before: transient, retried.
- A host name that does not resolve is ``HostUnresolved`` ("cannot resolve host wiki.example"),
  raised at the first failure, never retried here. It is a ``Retriable`` (exit 4, unavailable;
  the checkpoint stays, the next run tries again), not a ``Fatal``: a resolver outage or a DNS
  change in flight is not the wrong credentials that exit 5 tells the operator to fix, and a
  typo in a host name shows as such in the message. It is not retried because every lookup
  already went through the resolver's own retries (resolv.conf ``attempts``/``timeout``) and a
  negative answer is cached: asking again within our backoff window (seconds) gets the same
  answer, it only makes ``check`` and a doomed run wait.
- The numbers (backoff, Retry-After cap, response cap, default timeouts, write attempts) are
  ``SETTINGS``; ``configure(**table)`` sets them from the config file's ``[http]`` table.
- Error messages carry the URL without its query string: queries may hold tokens.
- A source's ``rate_per_minute`` throttles its session per host (``Throttle``), from every thread
  that shares it: workers download attachments while the main thread reads the API.
- Credentials stay on their origin: ``Session.bind_credentials(api_url, headers)`` names the
  headers (API keys, a CSRF token) that go on requests to the API's origin (scheme, host and
  port) and nowhere else, checked on every hop of a redirect chain; the session's cookies (a
  login session) go to that origin only. requests itself keeps session headers on a redirect to
  another host and sends cookies to the same host on any port or scheme.
"""
from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from datetime import datetime, timezone
from dataclasses import dataclass, fields
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NameResolutionError

from .errors import ConfigError, ConnectorError, Fatal, HostUnresolved, ResponseTooLarge, Retriable, Skippable

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_TIMEOUT = (10.0, 120.0)
MAX_RETRY_AFTER = 300.0   # the hard ceiling; SETTINGS.max_retry_after is the one in force


@dataclass
class Settings:
    """Process-wide HTTP numbers; ``configure`` sets them from the ``[http]`` config table."""

    backoff_initial: float = 1.0        # first backoff (s); doubles per attempt
    backoff_max: float = 60.0           # no single backoff is longer
    backoff_jitter: float = 1.0         # + uniform(0, jitter) s
    max_retry_after: float = 120.0      # a server's Retry-After is honoured up to this (s)
    max_response_mb: float = 64.0       # answers read whole (JSON) are refused past this
    connect_timeout: float = DEFAULT_TIMEOUT[0]
    read_timeout: float = DEFAULT_TIMEOUT[1]
    write_attempts: int = 8             # attempts of one repository write (each looks up first)

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1024 * 1024)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


SETTINGS = Settings()


def configure(table: dict[str, Any] | None = None, **values: Any) -> Settings:
    """Set ``SETTINGS`` from a ``[http]`` table (unknown keys and bad values are config errors).

    Only what is given changes; ``configure()`` with nothing resets nothing. Sessions made
    afterwards get the new timeouts; retries and the response cap read SETTINGS on every use.
    """
    given = {**(table or {}), **values}
    known = {f.name: f.type for f in fields(Settings)}
    for key, value in given.items():
        if key not in known:
            raise ConfigError(f"[http] {key}: unknown setting (known: {', '.join(sorted(known))})")
        try:
            number = int(value) if key == "write_attempts" else float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"[http] {key}: {value!r} is not a number") from None
        if number <= 0 and key not in ("backoff_jitter", "backoff_initial"):
            raise ConfigError(f"[http] {key}: must be greater than 0")
        if number < 0:
            raise ConfigError(f"[http] {key}: must not be negative")
        if key == "max_retry_after":
            number = min(number, MAX_RETRY_AFTER)
        setattr(SETTINGS, key, number)
    return SETTINGS


class _BoundedAdapter(HTTPAdapter):
    """Reads every non-streamed body itself, in chunks, up to ``SETTINGS.max_response_bytes``.

    requests would read it whole (``Response.content``) with no limit. Streamed responses
    (``stream=True``: file downloads) are handed back untouched.
    """

    def send(self, request, stream=False, **kwargs):  # type: ignore[override]
        response = super().send(request, stream=True, **kwargs)
        if not stream:
            _read_bounded(response, SETTINGS.max_response_bytes)
        return response


def _read_bounded(response: requests.Response, limit: int) -> None:
    where = f"{response.request.method} {safe_url(response.url)}" if response.request else safe_url(response.url)
    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > limit:
        response.close()
        raise ResponseTooLarge(f"answer of {where} announces {int(announced)} bytes, more than the "
                               f"{limit} byte limit ([http] max_response_mb)")
    parts, total = [], 0
    try:
        for chunk in response.iter_content(1 << 16):
            total += len(chunk)
            if total > limit:
                response.close()
                raise ResponseTooLarge(f"answer of {where} is larger than the {limit} byte limit "
                                       "([http] max_response_mb); stopped reading")
            parts.append(chunk)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        response.close()
        raise requests.ConnectionError(f"{type(exc).__name__} while reading the answer of {where}") from None
    response._content = b"".join(parts)  # what requests itself sets when it reads the body whole


class Throttle:
    """At most ``rate_per_minute`` requests a minute, from any number of threads: a caller takes the
    next free slot under a lock and sleeps outside it until then, so requests are spaced evenly and
    a thread that waits does not hold up the others' bookkeeping. ``0`` means no throttle.

    Example: ``Throttle(60)`` lets the first request go at once and each next one a second after
    the one before; a caller that comes late (the slot has passed) goes at once.
    """

    def __init__(self, rate_per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate_per_minute < 0:
            raise ConfigError("rate_per_minute must be >= 0 (0 = no throttle)")
        self.rate_per_minute = rate_per_minute
        self.interval = 60.0 / rate_per_minute if rate_per_minute else 0.0
        self._clock, self._sleep = clock, sleep
        self._next_at: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = now if self._next_at is None or now >= self._next_at else self._next_at
            self._next_at = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the scheme's default port filled in: what a browser calls an origin.

    >>> origin("https://Forum.example.org/t/1.json") == origin("https://forum.example.org:443/")
    True
    >>> origin("http://forum.example.org/") == origin("https://forum.example.org/")
    False
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class Session(requests.Session):
    """A requests session with a default timeout, a request counter (for run summaries), a bounded
    body size for answers read whole, an optional throttle per host (``rate_per_minute``: each
    host it talks to, say the API and a CDN, gets its own budget; shared by the threads using it),
    and credentials bound to one origin (``bind_credentials``)."""

    def __init__(self, timeout: tuple[float, float] | None = None, rate_per_minute: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.default_timeout = timeout or SETTINGS.timeout
        self.request_count = 0
        self._lock = threading.Lock()
        if rate_per_minute < 0:
            raise ConfigError("rate_per_minute must be >= 0 (0 = no throttle)")
        self.rate_per_minute = rate_per_minute
        self.throttles: dict[str, Throttle] = {}
        self._clock, self._sleep = clock, sleep
        self.credential_origin: tuple[str, str, int | None] | None = None
        self.credential_headers: dict[str, str] = {}
        self._environment: dict[tuple, dict] = {}   # merge_environment_settings' answers, per origin
        for prefix in ("https://", "http://"):
            self.mount(prefix, _BoundedAdapter())

    def bind_credentials(self, api_url: str, headers: dict[str, str] | None = None) -> None:
        """Send ``headers`` (added to or replacing those bound before) and the session's cookies to
        ``api_url``'s origin only. A session serves one API: binding a second origin is a bug."""
        wanted = origin(api_url)
        if self.credential_origin not in (None, wanted):
            raise ValueError("this session's credentials are bound to another origin")
        self.credential_origin = wanted
        self.credential_headers.update(headers or {})

    def send(self, request, **kwargs):  # type: ignore[override]
        # every hop passes here (requests sends each redirect through Session.send), so the
        # origin is checked per hop, after requests rebuilt the hop's headers and cookies
        if self.credential_origin is not None:
            if origin(request.url) == self.credential_origin:
                request.headers.update(self.credential_headers)
            else:
                for name in (*self.credential_headers, "Cookie"):
                    request.headers.pop(name, None)
        return super().send(request, **kwargs)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # type: ignore[override]
        """requests' own answer, read from the environment once per origin and arguments.

        requests walks the whole environment (proxy variables, ``no_proxy``, CA bundles) again on
        every request: 0.2 ms on this machine, as much as the rest of our side of a small CMIS
        write. The environment does not change under a session, and what it gives depends only on
        the origin (``no_proxy`` matches host and port) and on the arguments and the session's own
        settings, which are all part of the key."""
        key = (origin(url), _frozen(proxies), stream, verify, cert, _frozen(self.proxies), self.stream,
               self.verify, self.cert, self.trust_env)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        with self._lock:
            self.request_count += 1
            throttle = None
            if self.rate_per_minute:
                host = urlsplit(url).netloc
                throttle = self.throttles.get(host)
                if throttle is None:
                    throttle = self.throttles[host] = Throttle(self.rate_per_minute, self._clock, self._sleep)
        if throttle is not None:
            throttle.wait()
        return super().request(method, url, **kwargs)


def _frozen(mapping: dict | None) -> tuple | None:
    """A dict as a key (None stays None: requests merges the environment's proxies only into a dict)."""
    return None if mapping is None else tuple(sorted(mapping.items()))


def make_session(user_agent: str, *, verify: bool | str = True,
                 timeout: tuple[float, float] | None = None,
                 auth: tuple[str, str] | None = None, pool_size: int = 0,
                 rate_per_minute: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> Session:
    """One pooled session per host. ``pool_size``: keep-alive connections kept per host (give it the
    number of threads sharing the session; requests keeps 10 by default). ``rate_per_minute``:
    the throttle per host (0: none); ``clock`` and ``sleep`` are injectable for tests."""
    session = Session(timeout, rate_per_minute, clock, sleep)
    if pool_size > 10:
        for prefix in ("https://", "http://"):
            session.mount(prefix, _BoundedAdapter(pool_maxsize=pool_size))
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
        return min(float(value), SETTINGS.max_retry_after)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, min((when - datetime.now(timezone.utc)).total_seconds(), SETTINGS.max_retry_after))


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
    # exponential with jitter, capped (tenacity's wait_exponential_jitter, without its renamed argument)
    backoff = min(SETTINGS.backoff_initial * 2 ** (state.attempt_number - 1)
                  + random.uniform(0, SETTINGS.backoff_jitter), SETTINGS.backoff_max)
    if isinstance(exc, Retriable) and exc.retry_after is not None:
        return min(max(exc.retry_after, 0.0), SETTINGS.max_retry_after)
    return backoff


def describe(exc: BaseException | None) -> str:
    """An error, safe to log: ours say nothing secret by convention; a ``requests`` error's own text
    holds the full URL (queries may hold tokens), so it is named by its type, method and safe URL."""
    if exc is None or isinstance(exc, ConnectorError):
        return str(exc)
    request = getattr(exc, "request", None)
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__ + (f" ({request.method} {safe_url(request.url)})" if request is not None
                                     and request.url else "")
    return type(exc).__name__


def unresolved_host(exc: BaseException) -> str | None:
    """The host whose name resolution failed somewhere in ``exc`` (urllib3 hides it two levels deep:
    ``ConnectionError(MaxRetryError(reason=NameResolutionError))``), else None."""
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NameResolutionError):
            return current.conn.host if current.conn is not None else "(unknown)"
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None),
                 *(a for a in current.args if isinstance(a, BaseException))]
    return None


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) and not isinstance(exc, HostUnresolved) and unresolved_host(exc) is None


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("retry %d after %s", state.attempt_number, describe(exc))


TRANSIENT = (Retriable, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def retrying(fn: Callable[[], T], attempts: int = 6, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn`` until it succeeds, retrying transient errors with backoff.

    After the last attempt the last error is raised as ``Retriable`` (the caller decides whether
    to pause the run or quarantine the item). A host name that does not resolve is raised as
    ``HostUnresolved`` at once.
    """
    # a Retrying called directly: tenacity's decorator builds one and copies it for every call
    retrier = Retrying(retry=retry_if_exception(_transient), stop=stop_after_attempt(attempts),
                       wait=_wait, sleep=sleep, before_sleep=_log_retry, reraise=True)
    try:
        return retrier(fn)
    except TRANSIENT as exc:
        host = unresolved_host(exc)     # also under a client's own error class (cmislib calls)
        if host is not None:
            raise HostUnresolved(f"cannot resolve host {host}") from None
        if isinstance(exc, Retriable):
            raise
        raise Retriable(f"{describe(exc)} after {attempts} attempts") from None
