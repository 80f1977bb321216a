#!/usr/bin/env python3
"""Seed a MediaWiki with demo content for socialarchive, idempotently.

    seed_demo.py API_URL BOT_USER BOT_PASSWORD
    e.g. seed_demo.py http://127.0.0.1:8081/api.php Admin@connector "$(cat STATE/botpassword)"

Creates (each only if missing, so running it again adds nothing):
- "Release notes" (3 revisions) and "Onboarding guide" (4 revisions), in categories;
- "Talk:Onboarding guide" with two comments (the talk page is the comment thread);
- "Company policy", protected (edit=sysop, move=sysop);
- "File:Socialarchive demo logo.png", a PNG uploaded in 2 versions, with a description page;
- "Café ☕ Ünïcödé 🎉 שלום", a page with a Unicode/emoji/RTL title;
- category pages "Category:Demo" and "Category:Engineering".
Multi-revision pages are topped up from the revision count they have: a page with 2 of its 3
revisions gets only the third. Needs only the standard library and requests.
"""
from __future__ import annotations

import struct
import sys
import zlib

import requests

PAGES: dict[str, list[str]] = {
    "Release notes": [
        "== 1.0 ==\nFirst release.\n\n[[Category:Demo]]",
        "== 1.1 ==\n* Faster sync.\n\n== 1.0 ==\nFirst release.\n\n[[Category:Demo]]",
        "== 1.2 ==\n* Archives every revision.\n\n== 1.1 ==\n* Faster sync.\n\n== 1.0 ==\nFirst release.\n\n"
        "[[Category:Demo]] [[Category:Engineering]]",
    ],
    "Onboarding guide": [
        "Welcome! Start here.\n\n[[Category:Demo]]",
        "Welcome! Start here.\n\n== Accounts ==\nAsk IT for an account.\n\n[[Category:Demo]]",
        "Welcome! Start here.\n\n== Accounts ==\nAsk IT for an account.\n\n== Tools ==\n"
        "See [[Release notes]].\n\n[[Category:Demo]]",
        "Welcome! Start here.\n\n== Accounts ==\nAsk IT for an account (two days).\n\n== Tools ==\n"
        "See [[Release notes]] and [[File:Socialarchive demo logo.png|thumb|Logo]].\n\n"
        "[[Category:Demo]] [[Category:Engineering]]",
    ],
    "Talk:Onboarding guide": [
        "== Two days? ==\nIs two days realistic for accounts? ~~~~",
        "== Two days? ==\nIs two days realistic for accounts? ~~~~\n:Yes, IT confirmed. ~~~~",
    ],
    "Company policy": ["Only administrators may change this policy.\n\n[[Category:Demo]]"],
    "Café ☕ Ünïcödé 🎉 שלום": ["Unicode title, emoji 🎉 and right-to-left text: שלום עולם.\n\n[[Category:Demo]]"],
    "Category:Demo": ["Pages created by the socialarchive demo seed."],
    "Category:Engineering": ["Engineering pages."],
}
PROTECTED = ("Company policy", "edit=sysop|move=sysop")
FILE_NAME = "Socialarchive demo logo.png"
FILE_DESCRIPTION = "Demo logo for socialarchive.\n\n[[Category:Demo]]"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid one-colour PNG, built with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


FILE_VERSIONS = [(png(32, 32, (200, 40, 40)), "first version (red)"),
                 (png(48, 48, (40, 120, 200)), "second version (blue, larger)")]


class Api:
    def __init__(self, url: str, user: str, password: str):
        self.url = url
        self.s = requests.Session()
        self.s.headers["User-Agent"] = "socialarchive-demo-seed/0.1"
        token = self.get(action="query", meta="tokens", type="login")["query"]["tokens"]["logintoken"]
        result = self.post(action="login", lgname=user, lgpassword=password, lgtoken=token)["login"]
        if result.get("result") != "Success":
            raise SystemExit(f"login as {user!r} failed: {result.get('reason', result.get('result'))}")
        self.csrf = self.get(action="query", meta="tokens")["query"]["tokens"]["csrftoken"]

    def _check(self, r: requests.Response, what: str) -> dict:
        if r.status_code != 200:
            raise SystemExit(f"{what}: HTTP {r.status_code}")
        body = r.json()
        if "error" in body:
            raise SystemExit(f"{what}: {body['error'].get('code')}: {body['error'].get('info')}")
        return body

    def get(self, **params) -> dict:
        params.update(format="json", formatversion="2")
        return self._check(self.s.get(self.url, params=params, timeout=60), params.get("action", "?"))

    def post(self, files=None, **params) -> dict:
        params.update(format="json", formatversion="2")
        return self._check(self.s.post(self.url, data=params, files=files, timeout=120), params.get("action", "?"))

    def page(self, title: str) -> dict:
        body = self.get(action="query", titles=title, prop="info|revisions|imageinfo", inprop="protection",
                        rvprop="ids", rvlimit="max", iilimit="max", iiprop="timestamp|sha1")
        return body["query"]["pages"][0]


def seed(api: Api) -> list[str]:
    done = []
    # the file first, so the guide that shows it is not filed under "Pages with broken file links"
    page = api.page(f"File:{FILE_NAME}")
    have = len(page.get("imageinfo", []))
    for n, (data, comment) in enumerate(FILE_VERSIONS[have:], start=have + 1):
        api.post(files={"file": (FILE_NAME, data, "image/png")}, action="upload", filename=FILE_NAME,
                 comment=comment, text=FILE_DESCRIPTION, ignorewarnings="1", token=api.csrf)
        done.append(f"upload {FILE_NAME!r} version {n} ({len(data)} bytes)")
    for title, texts in PAGES.items():
        page = api.page(title)
        have = 0 if page.get("missing") else len(page.get("revisions", []))
        for n, text in enumerate(texts[have:], start=have + 1):
            e = api.post(action="edit", title=title, text=text, summary=f"demo seed, revision {n}",
                         token=api.csrf)["edit"]
            done.append(f"edit {title!r} -> revision {e.get('newrevid')}")
    title, protections = PROTECTED
    if not api.page(title).get("protection"):
        api.post(action="protect", title=title, protections=protections, expiry="infinite",
                 reason="demo seed", token=api.csrf)
        done.append(f"protect {title!r} ({protections})")
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    api = Api(argv[1], argv[2], argv[3])
    done = seed(api)
    for line in done:
        print(line)
    print(f"demo seed: {len(done)} change(s)" if done else "demo seed: already complete, nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
