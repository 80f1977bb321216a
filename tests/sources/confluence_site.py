"""A Confluence site on `responses`: the fixtures (tests/sources/fixtures/confluence/, content,
space, version-list and historical objects in the REST API v1 shapes) served in the documented
envelopes (``results``/``start``/``limit``/``size``/``_links``), with CQL's ``space in``,
``type in`` and ``lastmodified`` read in the site's time zone to the minute, as Confluence does.

``Site(run=2)`` lays the ``run2/`` fixtures over the first ones (``run3/`` too for ``run=3``);
``fail_once[path] = (status, headers)`` answers one request with an error first; attachment
downloads redirect to another host (``MEDIA``), whose requests are kept in ``media_requests``;
the versions in ``short`` lose their last byte there.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import responses

BASE = "https://wiki.example.org"
MEDIA = "https://media.example-cdn.net"
FIX = Path(__file__).parent / "fixtures" / "confluence"
DATES = {1: "Wed, 01 Jul 2026 12:00:00 GMT", 2: "Wed, 01 Jul 2026 14:00:00 GMT", 3: "Wed, 01 Jul 2026 16:00:00 GMT"}
TOKEN = "c0nfluence-PAT-5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a"


def attachment_bytes(version: int) -> bytes:
    """The bytes of version N of diagram.png (1000 N + 17 of them, as its ``fileSize`` says)."""
    return (b"\x89PNG diagram v%d " % version * 1000)[:1000 * version + 17]


class Site:
    def __init__(self, run: int = 1, zone: str = "Europe/Berlin"):
        self.run, self.zone, self.date = run, ZoneInfo(zone), DATES[run]
        self.fail_once: dict[str, tuple[int, dict]] = {}
        self.media_requests: list = []
        self.short: set[int] = set()
        self.requests: list = []
        self.files: dict[str, dict] = {}
        for layer in [FIX] + [FIX / f"run{n}" for n in range(2, run + 1)]:
            for kind in ("content", "versions", "historical"):
                for path in sorted((layer / kind).glob("*.json")) if (layer / kind).is_dir() else ():
                    self.files[f"{kind}/{path.stem}"] = json.loads(path.read_text())

    def register(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback(responses.GET, re.compile(re.escape(BASE) + r"/.*"), callback=self._answer)
        rsps.add_callback(responses.GET, re.compile(re.escape(MEDIA) + r"/.*"), callback=self._media)

    # ------------------------------------------------------------------ helpers
    def _json(self, body, status: int = 200, headers: dict | None = None):
        return status, {"Date": self.date, "Content-Type": "application/json", **(headers or {})}, json.dumps(body)

    def _contents(self) -> list[dict]:
        return [c for key, c in self.files.items() if key.startswith("content/") and c.get("status") == "current"]

    def _envelope(self, results: list, query: dict, path: str, **extra) -> dict:
        start, limit = int(query.get("start", ["0"])[0]), int(query.get("limit", ["25"])[0])
        page = results[start:start + limit]
        links = {"base": BASE, "context": ""}
        if start + limit < len(results):
            rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k not in ("start",))
            links["next"] = f"{path}?{rest}&start={start + limit}"
        return {"results": page, "start": start, "limit": limit, "size": len(page), "_links": links, **extra}

    def _cql_time(self, text: str) -> datetime:
        return datetime.strptime(text, "%Y/%m/%d %H:%M").replace(tzinfo=self.zone)

    def _search(self, cql: str) -> list[dict]:
        types = re.search(r"type in \(([^)]*)\)", cql).group(1).replace(" ", "").split(",")
        spaces = re.findall(r'"([^"]*)"', re.search(r"space in \(([^)]*)\)", cql).group(1))
        found = []
        for content in self._contents():
            when = datetime.fromisoformat(content["version"]["when"].replace("Z", "+00:00")).replace(second=0, microsecond=0)
            if content["type"] not in types or content["space"]["key"] not in spaces:
                continue
            since = re.search(r'lastmodified >= "([^"]+)"', cql)
            until = re.search(r'lastmodified <= "([^"]+)"', cql)
            if since and when < self._cql_time(since.group(1)) or until and when > self._cql_time(until.group(1)):
                continue
            found.append(content)
        return sorted(found, key=lambda c: c["version"]["when"])

    # ------------------------------------------------------------------ the API
    def _answer(self, request):
        self.requests.append(request)
        parts = urlsplit(request.url)
        path, query = parts.path, parse_qs(parts.query)
        if path in self.fail_once:
            status, headers = self.fail_once.pop(path)
            return self._json({"statusCode": status, "message": "Rate limit exceeded"}, status, headers)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json({"statusCode": 401, "message": "Unauthorized"}, 401)
        if path == "/rest/api/space":
            name = "spaces_page2.json" if "cursor" in query else "spaces_page1.json"
            return self._json(json.loads((FIX / name).read_text()))
        if path == "/rest/api/user/current":
            return self._json({"type": "known", "username": "archivist", "displayName": "Archive bot"})
        match = re.fullmatch(r"/rest/api/space/([^/]+)", path)
        if match:
            return self._json(json.loads((FIX / f"space_{match.group(1)}.json").read_text()))
        if path == "/rest/api/content/search":
            results = self._search(query["cql"][0])
            return self._json(self._envelope(results, query, path, totalSize=len(results), cqlQuery=query["cql"][0]))
        match = re.fullmatch(r"/download/attachments/(\d+)/([^/]+)", path)
        if match:
            return 302, {"Location": f"{MEDIA}/blob/{match.group(1)}/{query['version'][0]}", "Date": self.date}, ""
        match = re.fullmatch(r"/rest/api/content/([^/]+)(/.*)?", path)
        if not match:
            return self._json({"statusCode": 404}, 404)
        content_id, rest = match.group(1), match.group(2) or ""
        content = self.files.get(f"content/{content_id}")
        if content is None:
            return self._json({"statusCode": 404, "message": "No content found with id"}, 404)
        if rest == "":
            status = query.get("status", ["current"])[0]
            if status == "historical":
                number = int(query["version"][0])
                if number == content["version"]["number"]:
                    return self._json(content)
                old = self.files.get(f"historical/{content_id}-v{number}")
                return self._json(old) if old else self._json({"statusCode": 404}, 404)
            if status != "any" and content["status"] != "current":
                return self._json({"statusCode": 404}, 404)
            return self._json(content)
        if rest == "/version":
            listing = self.files.get(f"versions/{content_id}") or {"results": [content["version"]]}
            return self._json(self._envelope(listing["results"], query, path))
        if rest in ("/child/comment", "/child/attachment"):
            kind = rest.rsplit("/", 1)[1]
            children = [c for c in self._contents() if c["type"] == kind
                        and (c.get("container") or {}).get("id") == content_id]
            return self._json(self._envelope(children, query, path))
        if rest == "/restriction/byOperation/read":
            return self._json(content["restrictions"]["read"])
        return self._json({"statusCode": 404}, 404)

    def _media(self, request):
        self.media_requests.append(request)
        _, _, page, version = urlsplit(request.url).path.split("/")
        data = attachment_bytes(int(version))
        return 200, {"Content-Type": "image/png"}, data[:-1] if int(version) in self.short else data
