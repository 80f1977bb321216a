"""The MediaWiki Action API as the MediaWiki source talks to it, and the one place where a
MediaWiki answer becomes an error class.

Example::

    api = ActionApi("http://127.0.0.1:8081/api.php", "Admin@connector", secret, session)
    for body in api.query({"action": "query", "list": "allpages", "aplimit": "max"}):
        ...                      # every continuation, each a parsed JSON body

Edge cases it owns:

- MediaWiki answers most errors with HTTP 200 and an ``error`` object: ``maxlag`` (wait the lag
  or ``Retry-After``), ``ratelimited``, ``readonly`` and internal errors are ``Retriable``; a lost
  login cookie (``assertuserfailed``) logs in once more; denied reads and bad tokens are
  ``Fatal``; any other code concerns the request at hand and is ``Skippable``.
- Every call carries ``maxlag`` and, once logged in, ``assert=user`` (so a lost session is an
  error, never an anonymous answer); a query whose URL would pass ``MAX_GET_URL`` goes by POST.
- In read-only mode reads work, but a bot-password *login* fails with ``readonly``.
- Files stream in chunks (``open_stream``); answers read whole are capped by ``connector.http``.
- The password is sent in the login POST only; it is never in a message or a ``repr``.
"""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from functools import partial
from typing import Callable, Iterator
from urllib.parse import urlencode

import requests

from ...errors import Fatal, Retriable, SessionLost, Skippable
from ...http import check as check_response
from ...http import make_session, parse_retry_after, retrying, safe_url
from ...model import CHUNK_SIZE

log = logging.getLogger(__name__)

TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_GET_URL = 6000               # longer queries go by POST
FATAL_CODES = {
    "readapidenied": "the account may not read this wiki (readapidenied): check the bot password grants",
    "badtoken": "MediaWiki rejected the token (badtoken)",
    "notoken": "MediaWiki wants a token (notoken)",
    "assertbotfailed": "the account is not a bot (assertbotfailed)",
    "mustbeloggedin": "MediaWiki says the account is not logged in (mustbeloggedin)",
    "permissiondenied": "permission denied by MediaWiki (permissiondenied)",
    "apierror-readapidenied": "the account may not read this wiki (readapidenied)",
}


def parse_ts(value: str) -> datetime:
    """``2026-11-29T03:22:15Z`` -> aware UTC datetime."""
    return datetime.strptime(value, TS_FORMAT).replace(tzinfo=timezone.utc)


def format_ts(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime(TS_FORMAT)


class ActionApi:
    """One wiki's ``api.php`` (``format=json&formatversion=2``), logged in with a bot password."""

    def __init__(self, api_url: str, username: str, password: str, session: requests.Session, *,
                 user_agent: str, verify: bool | str = True, maxlag: int = 5, attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        self.api_url = api_url
        self.username = username
        self._password = password
        self.session = session
        self.user_agent = user_agent
        self.verify = verify
        self.maxlag = maxlag
        self.attempts = attempts
        self._sleep = sleep
        self._logged_in = False
        self._anon_requests = 0
        self._own_requests = 0

    def __repr__(self) -> str:
        return f"ActionApi(api_url={self.api_url!r}, username={self.username!r})"

    @property
    def request_count(self) -> int:
        """Requests sent so far: the session's count when it keeps one, plus anonymous probes."""
        counted = getattr(self.session, "request_count", None)
        base = counted if counted is not None else self._own_requests
        return base + self._anon_requests

    def ensure_login(self) -> None:
        if not self._logged_in:
            self._login()

    def call(self, params: dict, *, post: bool = False, auth: bool = True) -> dict:
        """One API call with retries (connector.http.retrying); logs in again once if the session is lost."""
        for attempt in (1, 2):
            if auth:
                self.ensure_login()
            try:
                return retrying(lambda: self._call_once(params, post, auth), attempts=self.attempts,
                                sleep=self._sleep)
            except SessionLost:
                self._logged_in = False
                if attempt == 2:
                    raise Fatal("MediaWiki dropped the session again right after a new login "
                                "(assertuserfailed): check the bot password and session storage") from None
                log.warning("MediaWiki session lost (assertuserfailed); logging in again")
        raise AssertionError("unreachable")

    def query(self, params: dict) -> Iterator[dict]:
        """Follow ``continue`` to the end: base parameters plus the latest continue block."""
        cont: dict = {}
        while True:
            body = self.call({**params, **cont})
            yield body
            if "continue" not in body:
                return
            cont = body["continue"]

    def query_pages(self, params: dict) -> dict[int, dict]:
        """``query.pages`` of every continuation merged by page id (lists are concatenated)."""
        pages: dict[int, dict] = {}
        seen: dict[tuple[int, str], set[str]] = {}
        for body in self.query(params):
            for page in body.get("query", {}).get("pages", []) or []:
                key = page.get("pageid") or -abs(hash(page.get("title", "")))
                target = pages.setdefault(key, {})
                for k, v in page.items():
                    if not (isinstance(v, list) and isinstance(target.get(k), list)):
                        target.setdefault(k, v)
                    elif k == "revisions":
                        target[k].extend(v)   # unique by revid
                    else:   # categories, protection, imageinfo: never twice, even if a server repeats them
                        marks = seen.setdefault((key, k), {json.dumps(x, sort_keys=True) for x in target[k]})
                        for entry in v:
                            mark = json.dumps(entry, sort_keys=True)
                            if mark not in marks:
                                marks.add(mark)
                                target[k].append(entry)
        return pages

    def anonymous_can_read(self) -> bool:
        """Ask as nobody: a private wiki answers HTTP 200 with readapidenied (or 401/403 at a proxy)."""
        anon = make_session(self.user_agent, verify=self.verify)
        params = {"action": "query", "meta": "siteinfo", "siprop": "general", "format": "json",
                  "formatversion": "2"}

        def probe() -> bool:
            self._anon_requests += 1
            response = anon.get(self.api_url, params=params)
            if response.status_code in (401, 403):
                return False
            check_response(response)
            try:
                body = response.json()
            except ValueError:
                raise Retriable(f"non-JSON answer to the anonymous probe of {safe_url(self.api_url)}") from None
            code = (body.get("error") or {}).get("code")
            if code in ("maxlag", "ratelimited"):
                raise Retriable(f"anonymous probe: {code}")
            return code is None
        try:
            return retrying(probe, attempts=self.attempts, sleep=self._sleep)
        finally:
            anon.close()

    def stream(self, url: str) -> Callable[[], Iterator[bytes]]:
        """A re-readable chunk factory for one file URL (``Content.chunks``)."""
        return partial(self.open_stream, url)

    def open_stream(self, url: str) -> Iterator[bytes]:
        """Stream one file version; never holds the whole file."""
        def open_once() -> requests.Response:
            self._own_requests += 1
            try:
                response = self.session.get(url, stream=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Retriable(f"{type(exc).__name__} fetching {safe_url(url)}") from None
            try:
                return check_response(response)
            except Exception:
                response.close()
                raise
        # opening is retried here, like every other request of the source; a break in the
        # middle of the body is Retriable for the reader (the upload is retried whole)
        response = retrying(open_once, attempts=self.attempts, sleep=self._sleep)
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                if chunk:
                    yield chunk
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise Retriable(f"{type(exc).__name__} while reading {safe_url(url)}") from None
        finally:
            response.close()

    # ------------------------------------------------------------------ internals

    def _login(self) -> None:
        body = self.call({"action": "query", "meta": "tokens", "type": "login"}, auth=False)
        token = body.get("query", {}).get("tokens", {}).get("logintoken")
        if not token:
            raise Fatal(f"no login token from {safe_url(self.api_url)}: is this a MediaWiki api.php?")
        body = self.call({"action": "login", "lgname": self.username, "lgpassword": self._password,
                          "lgtoken": token}, post=True, auth=False)
        result = body.get("login", {})
        if result.get("result") != "Success":
            reason = result.get("reason") or result.get("result") or "no answer"
            if isinstance(reason, dict):
                reason = reason.get("text") or reason.get("code") or json.dumps(reason)
            raise Fatal(f"MediaWiki login as {self.username!r} at {safe_url(self.api_url)} failed: "
                        f"{reason} (use a bot password from Special:BotPasswords, user@appid)")
        self._logged_in = True
        log.info("logged in to %s as %s", safe_url(self.api_url), result.get("lgusername"))

    def _call_once(self, params: dict, post: bool, auth: bool) -> dict:
        full = dict(params)
        full.update(format="json", formatversion="2", maxlag=str(self.maxlag))
        if auth and self._logged_in:
            full["assert"] = "user"
        if not post and len(urlencode(full)) > MAX_GET_URL:
            post = True
        self._own_requests += 1
        if post:
            response = self.session.post(self.api_url, data=full)
        else:
            response = self.session.get(self.api_url, params=full)
        check_response(response)
        try:
            body = response.json()
        except ValueError:
            raise Retriable(f"non-JSON answer (HTTP {response.status_code}, "
                            f"{response.headers.get('Content-Type', '?')}) from {safe_url(self.api_url)}") from None
        if not isinstance(body, dict):
            raise Retriable(f"unexpected JSON from {safe_url(self.api_url)}")
        if "error" in body:
            self._raise_error(body["error"], response, params.get("action", "?"))
        for module, warning in (body.get("warnings") or {}).items():
            log.info("MediaWiki warning from %s: %s", module, warning)
        return body

    def _raise_error(self, error: dict, response: requests.Response, action: str) -> None:
        code = str(error.get("code", "unknown"))
        info = str(error.get("info", ""))[:300]
        where = f"{action} at {safe_url(self.api_url)}"
        header_wait = parse_retry_after(response.headers.get("Retry-After"))
        if code == "maxlag":
            lag = error.get("lag")
            wait = header_wait if header_wait is not None else (float(lag) if lag is not None else 5.0)
            raise Retriable(f"MediaWiki maxlag ({info}) on {where}", retry_after=wait)
        if code == "ratelimited":
            raise Retriable(f"MediaWiki rate limit (ratelimited) on {where}", retry_after=header_wait)
        if code == "readonly":
            reason = str(error.get("readonlyreason", "")).strip()[:200]
            raise Retriable(f"MediaWiki is read-only ({reason or info}) on {where}", retry_after=header_wait)
        if code.startswith("internal_api_error") or code in ("databaseerror", "internal"):
            raise Retriable(f"MediaWiki internal error {code} on {where}: {info}", retry_after=header_wait)
        if code in ("assertuserfailed", "assertnameduserfailed"):
            if self._logged_in:
                raise SessionLost(f"session lost on {where}")
            raise Fatal(f"MediaWiki says the account is not logged in ({code}) on {where}")
        if code in FATAL_CODES or code.endswith("readapidenied"):
            raise Fatal(f"{FATAL_CODES.get(code, code)} on {where}: {info}")
        raise Skippable(f"MediaWiki error {code} on {where}: {info}")
