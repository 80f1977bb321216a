"""Shared pieces of the bench/ scripts: a private OpenCMIS InMemory server, a config per run,
synthetic items and sources, the raw baseline's form fields, and a table printer.

Every script compares OURS (the real pipeline: ``Archive``, ledger, audit log, mapping) with a RAW
BASELINE (plain ``requests`` doing the same repository work, nothing else) against the same server,
in the same run, interleaved round by round, and prints both side by side with the ratio. Nothing
here asserts a time: the figures are for people (README "Performance"), not for CI.

The servers are the real ones from servers/: by default the scripts start their own OpenCMIS
InMemory on 127.0.0.1:18190 (state /tmp/cmis-bench, ``servers/opencmis/up.sh``) so that they do not
disturb test runs on the shared one; ``--cmis-url`` points them at another.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import requests  # noqa: E402

from connector import config as config_mod  # noqa: E402
from connector.cmis import schema  # noqa: E402
from connector.model import Content, Item, Revision, Visibility  # noqa: E402
from tests.sources.stub import StubSource  # noqa: E402

BENCH_CMIS_PORT = int(os.environ.get("BENCH_CMIS_PORT", "18190"))
BENCH_CMIS_STATE = os.environ.get("BENCH_CMIS_STATE", "/tmp/cmis-bench")
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cmis-url", default=os.environ.get("BENCH_CMIS_URL"),
                        help="Browser binding URL (default: start our own InMemory server on "
                             f"127.0.0.1:{BENCH_CMIS_PORT}, state {BENCH_CMIS_STATE})")
    return parser


def cmis_url(given: str | None, fresh: bool = False) -> str:
    """The server to use: the given one, or our own (started if it is not running; ``fresh``:
    restarted, i.e. empty, since InMemory slows down as its Java heap fills up)."""
    if given:
        return given.rstrip("/")
    if fresh:
        subprocess.run([os.path.join(ROOT, "servers/opencmis/up.sh"), "stop", BENCH_CMIS_STATE],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(ROOT, "servers/opencmis/up.sh"), "start", str(BENCH_CMIS_PORT), BENCH_CMIS_STATE],
                   check=True, stdout=subprocess.DEVNULL)
    return f"http://127.0.0.1:{BENCH_CMIS_PORT}/inmemory/browser"


def write_config(url: str, *, sources: str = "", base_path: str | None = None) -> config_mod.Config:
    """A config of our own (its own ledger and audit log in a temp dir, its own base folder); the
    binding follows the URL (``.../atom11`` or ``.../atom``: AtomPub)."""
    tmp = tempfile.mkdtemp(prefix="sa-bench-")
    binding = "atompub" if url.rstrip("/").rsplit("/", 1)[-1].startswith("atom") else "browser"
    with open(os.path.join(tmp, "cmis-password"), "w") as fh:
        fh.write("admin\n")
    base_path = base_path or f"/bench-{uuid.uuid4().hex[:10]}"
    path = os.path.join(tmp, "socialarchive.toml")
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(f"""
            [repository]
            url = "{url}"
            repository_id = "A1"
            profile = "opencmis-inmemory"
            binding = "{binding}"
            username = "admin"
            password_file = "cmis-password"
            base_path = "{base_path}"

            [permissions]
            archive_admins = ["admin"]
            restricted_readers = ["GROUP_records"]

            [state]
            ledger = "state/ledger.sqlite"
        """) + sources)
    return config_mod.load(path)


class ListSource(StubSource):
    """A source that yields given objects (no HTTP; the rest of the contract reads nothing)."""

    system = "synthetic"
    request_count = 0

    def __init__(self, name: str, objects: Iterable):
        self.name = name
        self._objects = list(objects)

    def check(self) -> dict:
        return {"system": self.system}

    def changes(self, state: dict) -> Iterator:
        yield from self._objects

    def backfill(self, since, until) -> Iterator:
        yield from self._objects


def text_of(n: int, size: int) -> bytes:
    """``size`` bytes of wiki-like text, different for every ``n`` (deterministic)."""
    seed = hashlib.sha256(f"bench {n}".encode()).hexdigest()
    line = f"== Section {n} ==\nLorem ipsum {seed} dolor sit amet, [[Link {n}]] ''emphasis''.\n".encode()
    return (line * (size // len(line) + 1))[:size]


def page(n: int, size: int, *, source: str = "bench", revisions: int = 1, space: str = "Main") -> Item:
    revs = [Revision(id=str(100000 * n + r), created=T0 + timedelta(minutes=r), author="Alice",
                     comment=f"edit {r}", content=Content.from_bytes(text_of(n * 100 + r, size), "text/x-wiki"),
                     record=f'{{"revid": {100000 * n + r}}}'.encode())
            for r in range(1, revisions + 1)]
    return Item(source=source, system="synthetic", native_id=str(n), kind="page", title=f"Bench page {n}",
                url=f"http://bench.invalid/?curid={n}", visibility=Visibility.public(), revisions=revs,
                author="Alice", created=T0, modified=T0, space=space, tags=("Bench",))


def raw_form(folder_id: str, properties: dict, acl_add: dict, acl_remove: dict, data: bytes) -> list[tuple[str, str]]:
    """The Browser-binding createDocument form a plain client sends for the same document: the same
    properties (with the SHA-256 and length it computed), ACEs and versioning state."""
    from connector.cmis.client import encode_value
    fields = [("_charset_", "UTF-8"), ("cmisaction", "createDocument"), ("objectId", folder_id),
              ("succinct", "true"), ("versioningState", "major")]
    props = {**properties, "sa:sha256": hashlib.sha256(data).hexdigest(), "sa:contentLength": len(data)}
    index = 0
    for prop, value in props.items():
        if value is None:
            continue
        fields.append((f"propertyId[{index}]", prop))
        if isinstance(value, (list, tuple)):
            fields += [(f"propertyValue[{index}][{j}]", encode_value(v)) for j, v in enumerate(value)]
        else:
            fields.append((f"propertyValue[{index}]", encode_value(value)))
        index += 1
    for prefix, aces in (("add", acl_add), ("remove", acl_remove)):
        for i, (principal, perms) in enumerate(sorted(aces.items())):
            fields.append((f"{prefix}ACEPrincipal[{i}]", principal))
            fields += [(f"{prefix}ACEPermission[{i}][{j}]", p) for j, p in enumerate(perms)]
    return fields


def raw_session() -> requests.Session:
    session = requests.Session()
    session.auth = ("admin", "admin")
    return session


def raw_mediawiki_login(api: str, password: str) -> requests.Session:
    """A plain ``requests`` session logged in as the bench bot (two requests: token, login)."""
    session = requests.Session()
    token = session.get(api, params={"action": "query", "meta": "tokens", "type": "login", "format": "json"},
                        timeout=30).json()["query"]["tokens"]["logintoken"]
    result = session.post(api, data={"action": "login", "lgname": "Admin@connector", "lgpassword": password,
                                     "lgtoken": token, "format": "json"}, timeout=30).json()
    assert result["login"]["result"] == "Success", result
    return session


def raw_folder(session: requests.Session, url: str, name: str) -> str:
    root = session.get(url, params={"cmisselector": "repositoryInfo"}, timeout=30).json()["A1"]["rootFolderId"]
    response = session.post(f"{url}/A1/root", data={
        "cmisaction": "createFolder", "objectId": root, "succinct": "true",
        "propertyId[0]": "cmis:objectTypeId", "propertyValue[0]": "cmis:folder",
        "propertyId[1]": "cmis:name", "propertyValue[1]": name}, timeout=30)
    response.raise_for_status()
    return response.json()["succinctProperties"]["cmis:objectId"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(rows: list[tuple], header: tuple) -> str:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, load {load:.1f}, Python {sys.version.split()[0]}"


KEY_PROPERTY = schema.KEY_PROPERTY
