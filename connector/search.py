"""Find archived items in the repository: full text and metadata, by CMIS query.

Full text runs on our document type (``CONTAINS``); metadata filters (source, author, dates) run on
the ``sa:archived`` secondary type, whose rows carry the record identity; the two meet on the
record key, so no JOIN is needed (OpenCMIS InMemory has none). Every query is limited to the
archive's own folder tree (``IN_TREE`` of the base folder): two deployments, or a test's scratch
archive, may share a repository and file the same record keys.

Full text: the repository indexes the content streams. OpenCMIS InMemory's ``CONTAINS`` matches the
content of every text type we file (checked: ``text/x-wiki``, ``text/markdown``, ``text/html``,
``text/plain``), so wikitext keeps its own media type and its bytes unchanged.

Example::

    for hit in search(repo, filer, "release", author="Alice"):
        print(hit.title, hit.url, hit.path, hit.object_id, hit.version)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from .cmis import schema
from .cmis.client import CmisRepository
from .cmis.filer import Filer, quote
from .model import record_key


@dataclass
class Hit:
    key: str
    title: str
    url: str
    path: str
    object_id: str
    version: str
    author: str
    kind: str

    def as_dict(self) -> dict:
        return asdict(self)


def _escape_contains(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')


def search(repo: CmisRepository, filer: Filer, text: str | None = None, *, source: str | None = None,
           author: str | None = None, since: datetime | None = None, until: datetime | None = None,
           limit: int = 50) -> list[Hit]:
    doc_type, secondary = filer.profile.document_type, filer.profile.secondary_type
    all_versions = filer.profile.query_all_versions
    in_tree = filer.in_archive()
    keys: set[str] | None = None
    if text:
        rows = repo.query(f"SELECT cmis:objectId, {schema.KEY_PROPERTY} FROM {doc_type} "
                          f"WHERE CONTAINS('{_escape_contains(text)}') AND {in_tree}", all_versions=all_versions)
        keys = {row[schema.KEY_PROPERTY] for row in rows if row.get(schema.KEY_PROPERTY)}
    conditions = []
    if source:
        conditions.append(f"sa:source = {quote(source)}")
    if author:
        conditions.append(f"(sa:author = {quote(author)} OR sa:revisionAuthor = {quote(author)})")
    if since:
        conditions.append(f"sa:created >= TIMESTAMP '{since.strftime('%Y-%m-%dT%H:%M:%S.000Z')}'")
    if until:
        conditions.append(f"sa:created < TIMESTAMP '{until.strftime('%Y-%m-%dT%H:%M:%S.000Z')}'")
    metadata: dict[str, dict] = {}
    if conditions or keys is None:
        where = " WHERE " + " AND ".join(conditions + [in_tree])
        for row in repo.query(f"SELECT * FROM {secondary}{where}", all_versions=all_versions):
            key = record_key(str(row.get("sa:source")), str(row.get("sa:kind")), str(row.get("sa:nativeId")))
            metadata[key] = row
        keys = set(metadata) if keys is None else keys & set(metadata)
    hits = []
    for key in sorted(keys)[:limit]:
        found = repo.query(f"SELECT cmis:objectId, cmis:name, cmis:versionLabel, cmis:versionSeriesId "
                           f"FROM {doc_type} WHERE {schema.KEY_PROPERTY} = {quote(key)} AND {in_tree}",
                           all_versions=all_versions)
        row = next(iter(found), None)
        if row is None:
            continue
        props = repo.latest(row["cmis:objectId"])
        hits.append(Hit(key=key, title=_first(props.get("sa:title")) or props.get("cmis:name", ""),
                        url=_first(props.get("sa:sourceUrl")) or "", path=_path(filer, props),
                        object_id=props.get("cmis:objectId", row["cmis:objectId"]),
                        version=props.get("cmis:versionLabel", ""), author=_first(props.get("sa:author")) or "",
                        kind=_first(props.get("sa:kind")) or ""))
    return hits


def _first(value):
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _path(filer: Filer, props: dict) -> str:
    paths = props.get("cmis:path")
    if paths:
        return paths
    try:
        parents = filer.repo.parents(props["cmis:objectId"])
    except Exception:  # noqa: BLE001 - the path is a convenience, the object id is the reference
        return ""
    return f"{parents[0]}/{props.get('cmis:name', '')}" if parents else ""
