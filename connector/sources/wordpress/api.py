"""The WordPress REST API (``/wp-json``) as the WordPress source talks to it, and the one place
where a WordPress answer becomes an error class.

Example::

    api = RestApi("https://blog.example/wp-json", "archiver", session)
    for post in api.keyset("/wp/v2/posts", {"context": "edit"}, order="modified",
                           after_param="modified_after", before_param="modified_before",
                           stamp="modified", after="2026-11-01T00:00:00Z"):
        ...

Edge cases it owns:

- 401/403 -> ``Fatal`` naming the user and what to check (never the password); a query
  WordPress refuses (400) -> ``Fatal`` with its error code and message: it will not get better on
  a retry, and skipping it would leave a silent gap. Asking past the last page is a 400 with a
  ``rest_*_invalid_page_number`` code: the end of the listing, not an error.
- 429, 5xx, timeouts and invalid JSON are retried (``Retry-After`` honoured), then ``Retriable``:
  each try is the kit's ``JsonApi.attempt`` (the run's server clock, the session's request count).
- Listings that change while they are read (posts by ``modified``, comments by ``date``) are
  paged by keyset from page 1 (``keyset``); offset paging (``paged``) is for small stable sets.
- Media downloads stream in chunks, and carry the application password only to the API's own
  origin (never to a CDN or offload host).
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import requests

from ...errors import Fatal, Retriable, Skippable
from ...http import Session, check as check_response
from ...http import retrying, safe_url
from ...model import CHUNK_SIZE
from ..kit.jsonapi import JsonApi

PER_PAGE = 100
END_OF_PAGES = ("rest_post_invalid_page_number", "rest_revision_invalid_page_number",
                "rest_comment_invalid_page_number", "rest_invalid_page_number")


class RestApi:
    """One site's ``/wp-json`` root, read with an application password (the session's Basic auth).
    ``http`` is the kit's client on that root: ``http.start_run()`` and ``http.server_time`` are
    the run's clock (the first answer's ``Date``)."""

    def __init__(self, api_root: str, username: str, session: Session, *, attempts: int = 6,
                 sleep: Callable[[float], None] = time.sleep):
        self.api_root = api_root
        self.username = username
        self.session = session
        self.attempts = attempts
        self._sleep = sleep
        self._origin = urlsplit(api_root)[:2]
        self.http = JsonApi(api_root, session, attempts=attempts, sleep=sleep)

    @property
    def request_count(self) -> int:
        """Requests the session made for this client (retries and media downloads too)."""
        return self.http.request_count

    def __repr__(self) -> str:
        return f"RestApi(api_root={self.api_root!r}, username={self.username!r})"

    def get(self, path: str, params: dict | None = None, *,
            soft: tuple[int, ...] = ()) -> tuple[Any, requests.Response | None]:
        """GET JSON with retries. Returns (None, None) for ``soft`` statuses and end-of-pages."""
        target = self.api_root + path

        def once():
            response = self._send(path, params, soft)
            if response is None:
                return None, None
            try:
                return response.json(), response
            except ValueError:
                raise Retriable(f"invalid JSON from GET {safe_url(target)}") from None
        return retrying(once, attempts=self.attempts, sleep=self._sleep)

    def list(self, path: str, params: dict) -> list[dict]:
        """One page of a listing; [] past its end."""
        data, _ = self.get(path, params)
        if data is None:
            return []
        if not isinstance(data, list):
            raise Retriable(f"expected a JSON list from GET {safe_url(self.api_root + path)}")
        return data

    def paged(self, path: str, params: dict) -> Iterator[dict]:
        """Offset paging, only for small and stable sets (users, terms, revisions by id, id lists)."""
        page = 1
        while True:
            rows = self.list(path, {**params, "per_page": PER_PAGE, "page": page})
            yield from rows
            if len(rows) < PER_PAGE:
                return
            page += 1

    def keyset(self, path: str, params: dict, *, order: str, after_param: str,
               before_param: str, stamp: str, after: str | None = None,
               before: str | None = None) -> Iterator[dict]:
        """Page ``orderby=<order> asc`` from page 1 each time, moving ``after`` to the last stamp - 1 s.

        ``stamp`` is the site-local field the server orders and filters on (``modified``,
        ``date``); cursors after the first are sent naive, which WordPress reads as site-local.
        Dedupes on (id, stamp). A full page inside one second is walked by id.
        """
        seen: set[tuple[int, str]] = set()
        cursor = after
        while True:
            query = {**params, "orderby": order, "order": "asc", "per_page": PER_PAGE, "page": 1}
            if cursor:
                query[after_param] = cursor
            if before:
                query[before_param] = before
            rows = self.list(path, query)
            fresh = [r for r in rows if (r.get("id"), r.get(stamp)) not in seen]
            for row in fresh:
                seen.add((row.get("id"), row.get(stamp)))
                yield row
            if not rows:
                return
            last = rows[-1][stamp]
            if fresh:
                cursor = shift_local(last, -1)
                continue
            if len(rows) < PER_PAGE:
                return
            # a whole page shares one second: walk that second by id, then step past it
            window = {**params, "orderby": "id", "order": "asc",
                      after_param: shift_local(last, -1), before_param: shift_local(last, 1)}
            for row in self.paged(path, window):
                key = (row.get("id"), row.get(stamp))
                if key not in seen:
                    seen.add(key)
                    yield row
            cursor = last

    def downloader(self, url: str) -> Callable[[], Iterator[bytes]]:
        """A re-readable chunk factory for one media file (``Content.chunks``)."""
        same_origin = urlsplit(url)[:2] == self._origin

        def open_stream() -> requests.Response:
            # never send the application password to another host (CDN, offloaded media)
            response = self.session.get(url, stream=True, **({} if same_origin else {"auth": _no_auth}))
            try:
                return check_response(response)
            except Exception:
                response.close()
                raise

        def chunks() -> Iterator[bytes]:
            if not url:
                raise Skippable("media item has no source_url")
            response = retrying(open_stream, attempts=self.attempts, sleep=self._sleep)
            try:
                for chunk in response.iter_content(CHUNK_SIZE):
                    if chunk:
                        yield chunk
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Retriable(f"{type(exc).__name__} while reading {safe_url(url)}") from None
            finally:
                response.close()
        return chunks

    def _send(self, path: str, params: dict | None, soft: tuple[int, ...]) -> requests.Response | None:
        response = self.http.attempt("GET", path, params=params, headers={"Accept": "application/json"})
        status = response.status_code
        if status in soft:
            return None
        if status == 400 and _wp_code(response) in END_OF_PAGES:
            return None
        if status in (401, 403):
            raise Fatal(self._auth_message(response))
        if status == 400:      # a query WordPress refuses will not improve on retry or skip
            raise Fatal(f"WordPress rejected GET {safe_url(response.url)} for user {self.username!r}: "
                        f"{_wp_code(response) or 'HTTP 400'} {_wp_message(response)}; the archive needs "
                        "an editor or administrator account and WordPress 5.7 or later")
        return check_response(response)

    def _auth_message(self, response: requests.Response) -> str:
        code = _wp_code(response) or "no WordPress error code"
        where = f"GET {safe_url(response.url)}"
        if response.status_code == 401 or code in ("incorrect_password", "invalid_username",
                                                     "rest_not_logged_in", "application_passwords_disabled"):
            hint = ("check the user name and the application password; application passwords need "
                    "https or WP_ENVIRONMENT_TYPE=local, and the web server must pass the "
                    "Authorization header to PHP")
        else:
            hint = ("the account lacks a capability the archive needs (context=edit, private posts, "
                    "comment moderation): use an editor or administrator account")
        return (f"WordPress refused user {self.username!r}: HTTP {response.status_code} {code} "
                f"from {where}: {hint}")


def shift_local(value: str, seconds: int) -> str:
    """A site-local naive stamp moved by whole seconds, still naive (WordPress reads it as local)."""
    return (datetime.fromisoformat(value) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


def _no_auth(request):
    return request


def _wp_code(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("code", "")) if isinstance(data, dict) else ""


def _wp_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    details = data.get("data", {}).get("params") if isinstance(data, dict) and isinstance(data.get("data"), dict) else None
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    if details:
        message += " " + json.dumps(details, ensure_ascii=False)
    return message[:300]
