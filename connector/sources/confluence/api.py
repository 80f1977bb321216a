"""Confluence's REST API v1 over the kit's ``JsonApi``: the account's credentials bound to the
site's origin, both pagings, and streamed downloads::

    api = ConfluenceApi("https://example.atlassian.net/wiki", session, username="me@example.org",
                        token="…")                      # Basic with an API token (Cloud)
    api = ConfluenceApi("https://wiki.example.org", session, token="…")   # Bearer PAT (DC)
    for page in api.results("/rest/api/content/search", {"cql": 'space = "ENG"', "limit": 50}):
        ...

Paging: Cloud answers a cursor in ``_links.next`` only, Data Center ``start``/``limit`` and (since
7.x) ``_links.next`` too. ``_links.next`` is followed whenever present (relative to the site's base
URL, the context path included); without it a page as long as ``limit`` asks for the next
``start``. Offsets are never computed when the server gave a link.

The credentials go to the base URL's origin only (``http.Session.bind_credentials``), checked on
every hop: an attachment download redirected to a media host gets no ``Authorization``.
"""
from __future__ import annotations

import base64
import time
from typing import Any, Callable, Iterator

from ...errors import ConfigError
from ...http import Session, check
from ...model import CHUNK_SIZE
from ..kit.jsonapi import JsonApi


def authorization(username: str, token: str, password: str) -> str:
    """The ``Authorization`` header: Basic ``username:token`` (Cloud API token) or
    ``username:password``, Bearer ``token`` (a Data Center personal access token) without a user.

    >>> authorization("", "pat", "")
    'Bearer pat'
    >>> authorization("me", "tok", "")
    'Basic bWU6dG9r'
    """
    if username and (token or password):
        return "Basic " + base64.b64encode(f"{username}:{token or password}".encode()).decode("ascii")
    if token and not password:
        return f"Bearer {token}"
    raise ConfigError("confluence needs token_env/token_file (a PAT, or an API token with username) "
                      "or username with password_env/password_file")


class ConfluenceApi(JsonApi):
    def __init__(self, base_url: str, session: Session, *, username: str = "", token: str = "",
                 password: str = "", attempts: int = 6, sleep: Callable[[float], None] = time.sleep):
        super().__init__(base_url, session, attempts=attempts, sleep=sleep)
        session.headers["Accept"] = "application/json"
        session.bind_credentials(self.base_url, {"Authorization": authorization(username, token, password)})

    def results(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
        """Every result of a paged listing (both pagings, see the module docstring)."""
        params = dict(params or {})
        limit = int(params.get("limit") or 25)
        next_path: str | None = path
        while next_path:
            data = self.get(next_path, params) or {}
            results = data.get("results") or []
            yield from results
            link = (data.get("_links") or {}).get("next")
            if link:
                next_path, params = link, None          # the link carries every parameter
            elif params is not None and len(results) >= limit and results:
                params = {**params, "start": int(data.get("start") or params.get("start") or 0) + len(results)}
            else:
                next_path = None

    def content(self, content_id: str, params: dict[str, Any]) -> dict | None:
        """One content object, None when the site answers 404 (purged, or not visible)."""
        return self.get(f"/rest/api/content/{content_id}", params, allow_404=True)

    def stream(self, path: str, params: dict[str, Any] | None = None) -> Iterator[bytes]:
        """A download's bytes in chunks (redirects followed; credentials only on the site's origin)."""
        response = self.send("GET", path, params=params, stream=True)
        with response:
            check(response)
            for chunk in response.iter_content(CHUNK_SIZE):
                if chunk:
                    yield chunk
