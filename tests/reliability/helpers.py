"""Shared checks of the reliability tests: which records are ours, what the ledger says of them,
and what the repository really holds (one document per key, one version per revision)."""
from __future__ import annotations

import os
import sqlite3
from collections import Counter

from connector import config
from connector.archive import Archive
from connector.cmis import schema
from connector.cmis.filer import quote

STATE = os.environ.get("SA_TEST_MW_STATE", "")


def page_ids(wiki, titles: list[str]) -> dict[str, int]:
    """title -> page id, asked of the wiki (50 titles per request)."""
    out: dict[str, int] = {}
    for start in range(0, len(titles), 50):
        body = wiki.call("GET", action="query", titles="|".join(titles[start:start + 50]))
        for page in body["query"]["pages"]:
            assert "missing" not in page, page
            out[page["title"]] = page["pageid"]
    return out


def wiki_keys(wiki, corpus) -> dict[str, list[str]]:
    """Our record keys -> the wiki's revision ids of that record (pages, file pages, file versions)."""
    ids = page_ids(wiki, corpus.titles + corpus.files)
    out: dict[str, list[str]] = {}
    for title, pid in ids.items():
        revs = wiki.call("GET", action="query", pageids=str(pid), prop="revisions", rvlimit="max",
                         rvdir="newer", rvprop="ids")["query"]["pages"][0]["revisions"]
        out[f"wiki/page/{pid}"] = [str(r["revid"]) for r in revs]
        if title.startswith("File:"):
            out[f"wiki/file/file:{pid}"] = []      # file versions: ids are the source's; counted below
    return out


def ledger_versions(ledger_path: str, keys) -> dict[str, dict[str, tuple]]:
    """key -> {revision id: (sha256, length, version label)} from the ledger file itself."""
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        out: dict[str, dict[str, tuple]] = {}
        for key in keys:
            rows = db.execute("SELECT revision_id, sha256, length, version_label FROM versions WHERE key=?", (key,))
            out[key] = {r[0]: (r[1], r[2], r[3]) for r in rows}
        return out
    finally:
        db.close()


def source_state(ledger_path: str, source: str) -> str | None:
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT state FROM source_state WHERE source=?", (source,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def open_archive(config_path: str, cmis_url: str | None = None) -> Archive:
    """The archive of this config, without the run lock; ``cmis_url`` bypasses a (stopped) proxy."""
    cfg = config.load(config_path)
    if cmis_url:
        cfg.repository.url = cmis_url
    return Archive.open(cfg, lock=False)


def repository_versions(archive: Archive, key: str) -> list[dict]:
    """Every version the repository holds for ``key`` in this archive's tree: the document type's
    key finds every object (all versions searched; InMemory has no JOIN to the secondary type, so
    the revision ids come from each series' version list)."""
    statement = (f"SELECT cmis:objectId, cmis:versionSeriesId FROM {archive.filer.profile.document_type} "
                 f"WHERE {schema.KEY_PROPERTY} = {quote(key)} AND {archive.filer.in_archive()}")
    rows = list(archive.repo.query(statement, all_versions=True))
    out: list[dict] = []
    for series in {r["cmis:versionSeriesId"]: r["cmis:objectId"] for r in rows}.values():
        out += [v for v in archive.repo.versions(series) if not v.get("cmis:isPrivateWorkingCopy")]
    return out


def assert_no_duplicates(archive: Archive, ledger: dict[str, dict[str, tuple]], ahead: list | None = None) -> int:
    """One series per key, each revision once, exactly the ledger's revisions; returns versions seen.

    With ``ahead`` (a list), the repository may hold revisions the ledger does not know yet (acked,
    never recorded: a run stopped or killed there); they are appended to ``ahead`` as (key, revision).
    """
    seen = 0
    for key, revisions in ledger.items():
        rows = repository_versions(archive, key)
        series = {r["cmis:versionSeriesId"] for r in rows}
        assert len(series) <= 1, f"{key}: {len(series)} documents in the repository"
        counted = Counter(str(_one(r.get("sa:revisionId"))) for r in rows)
        twice = [rev for rev, n in counted.items() if n > 1]
        assert not twice, f"{key}: revisions filed twice: {twice}"
        if ahead is not None:
            assert set(revisions) <= set(counted), f"{key}: ledger {sorted(revisions)} not in the repository {sorted(counted)}"
            ahead += [(key, rev) for rev in sorted(set(counted) - set(revisions))]
        else:
            assert set(counted) == set(revisions), f"{key}: repository {sorted(counted)} != ledger {sorted(revisions)}"
        seen += len(rows)
    return seen


def _one(value):
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def checked_out(archive: Archive, object_id: str) -> bool:
    props = archive.repo.latest(object_id)
    return bool(props.get("cmis:isVersionSeriesCheckedOut"))
