"""Fixtures of the reliability tests: fast retry settings, a MediaWiki corpus made once per session
in the real wiki, configs that point the connector at fault proxies, and the figures README's
"Reliability figures" section quotes (written to ``$SA_RELIABILITY_FIGURES``, default
``.state/reliability-figures.json``)."""
from __future__ import annotations

import dataclasses
import json
import os
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connector import http
from connector.sources.mediawiki import format_ts

from ..conftest import write_config
from ..sources.test_mediawiki import mw_api, wiki  # noqa: F401 - real-wiki fixtures

ROOT = Path(__file__).resolve().parents[2]
FIGURES = Path(os.environ.get("SA_RELIABILITY_FIGURES", ROOT / ".state" / "reliability-figures.json"))
NS = 9                       # "MediaWiki talk": in no default namespace list, so no other test crawls it
NS_PREFIX = "MediaWiki talk:"

# [http] settings for the tests: small backoffs (Retry-After is honoured as sent: the proxies send
# 1 s). FAULT_HTTP adds a short read timeout, so that an injected hang costs seconds, not minutes
# (the proxies hang 6 s); long enough for a loaded 2-core machine not to time out by itself.
FAST_HTTP = """
[http]
backoff_initial = 0.05
backoff_max = 0.4
backoff_jitter = 0.05
write_attempts = 10
"""
FAULT_HTTP = FAST_HTTP + "read_timeout = 5\n"
FAULT_TIMEOUT = 5      # the repository's read timeout in the fault tests ([repository] timeout)
PROXY_HANG = 6.0


# ---------------------------------------------------------------------------- figures

_figures: dict = {}


@pytest.fixture(scope="session")
def figures():
    yield _figures
    if _figures:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        previous.update(_figures)
        previous["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        FIGURES.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")


@pytest.fixture(autouse=True)
def _restore_http_settings():
    """Configs in these tests set [http]; the settings are process-wide: put them back."""
    saved = dataclasses.replace(http.SETTINGS)
    yield
    for f in dataclasses.fields(saved):
        setattr(http.SETTINGS, f.name, getattr(saved, f.name))


# ---------------------------------------------------------------------------- the wiki corpus

@dataclass
class Corpus:
    """Pages (and files) written to the real wiki for one purpose, inside [since, until)."""
    tag: str
    since: datetime
    until: datetime
    titles: list[str]
    files: list[str] = field(default_factory=list)     # "File:..." titles
    revisions: int = 0


@dataclass
class WikiCorpora:
    crash: Corpus      # ~300 revisions, first
    fault: Corpus      # ~80 revisions and 2 files, after crash.until


def _write_pages(wiki_factory, titles: list[str], revisions: int, tag: str) -> None:
    per_page = {t: revisions // len(titles) + (1 if i < revisions % len(titles) else 0) for i, t in enumerate(titles)}
    lanes = [titles[i::8] for i in range(8)]

    def lane(own: list[str]) -> None:
        wiki = wiki_factory()
        for n in range(max(per_page[t] for t in own)):
            for title in own:
                if n < per_page[title]:
                    wiki.edit(title, f"== {title} ==\nRevision {n + 1} of {tag}: ünïcødé ✓ שלום\n" + "x" * (n * 37),
                              summary=f"rev {n + 1}")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lane, [own for own in lanes if own]))


@pytest.fixture(scope="session")
def corpora(wiki, mw_api) -> WikiCorpora:
    """Written once per session (the wiki takes ~0.1 s per edit with 8 writers)."""
    from ..sources.test_mediawiki import BOT_USER, Wiki, _bot_password
    password = _bot_password()
    factory = lambda: Wiki(mw_api, BOT_USER, password)   # noqa: E731 - one login per writer thread
    tag = uuid.uuid4().hex[:8]

    def segment(name: str, pages: int, revisions: int, files: int) -> Corpus:
        since = wiki.server_time()
        titles = [f"{NS_PREFIX}SA rel {tag} {name} {i:02d}" for i in range(pages)]
        _write_pages(factory, titles, revisions, tag)
        names = []
        for i in range(files):
            filename = f"SA rel {tag} {name} {i}.txt"
            wiki.upload(filename, f"{name} file {i} of {tag} v1\n".encode(), "v1")
            if i == 0:
                wiki.upload(filename, f"{name} file {i} of {tag} v2, longer\n".encode(), "v2")
            names.append(f"File:{filename}")
        time.sleep(1.1)                                    # MediaWiki stamps have 1 s resolution
        until = wiki.server_time()
        time.sleep(1.1)
        return Corpus(tag, since - timedelta(seconds=1), until, titles, names, revisions)

    reuse = os.environ.get("SA_RELIABILITY_CORPUS")   # a JSON file: reuse the corpus across sessions (development)
    if reuse and Path(reuse).is_file():
        saved = json.loads(Path(reuse).read_text())
        load = lambda d: Corpus(**{**d, "since": datetime.fromisoformat(d["since"]),  # noqa: E731
                                   "until": datetime.fromisoformat(d["until"])})
        return WikiCorpora(load(saved["crash"]), load(saved["fault"]))
    crash = segment("crash", 40, 300, 2)
    fault = segment("fault", 12, 80, 2)
    if reuse:
        Path(reuse).write_text(json.dumps({name: {**dataclasses.asdict(c), "since": c.since.isoformat(),
                                                  "until": c.until.isoformat()}
                                           for name, c in (("crash", crash), ("fault", fault))}))
    return WikiCorpora(crash, fault)


def wiki_source(api: str, state_dir: str, namespaces=(NS, 6), extra: str = "") -> str:
    return textwrap.dedent(f"""
        [sources.wiki]
        type = "mediawiki"
        api_url = "{api}"
        username = "Admin@connector"
        password_file = "{state_dir}/botpassword"
        namespaces = {list(namespaces)}
    """) + extra


def reliability_config(tmp_path, cmis_url: str, *, sources: str = "", http_table: str = FAST_HTTP,
                       repository_extra: str = "") -> str:
    """write_config plus an [http] table (and [repository] extras appended to that table)."""
    path = Path(write_config(tmp_path, cmis_url, sources=sources))
    text = path.read_text()
    if repository_extra:
        text = text.replace('base_path = "', repository_extra.strip() + '\nbase_path = "', 1)
    path.write_text(text + http_table)
    return str(path)


def seed_checkpoint(ledger_path: str, source: str, since: datetime) -> dict:
    """Make the next sync of ``source`` an incremental run from ``since``."""
    from connector.store import Ledger
    state = {"checkpoint": format_ts(since)}
    ledger = Ledger(ledger_path)
    try:
        ledger.save_source_state(source, state)
    finally:
        ledger.close()
    return state
