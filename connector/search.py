"""Find archived items in the repository: words of their text or title, their people, metadata.

Matching is case- and accent-insensitive, as a person expects (``quokka`` finds ``QUOKKA``,
``admin`` finds ``Admin``, ``münchen`` finds ``München``), although CMIS QL has no ``lower()``:

- **titles and people** are matched on the folded copies the filer stores with every version
  (``schema.FOLDED``: ``sa:titleFolded`` by ``LIKE '%word%'``, ``sa:authorFolded`` and
  ``sa:revisionAuthorFolded`` by ``=``), with the input folded the same way (``connector.fold``);
- **content** is never altered, so each word is looked for with ``CONTAINS`` in the spellings a
  text is written in (as typed, lower, Capitalised, UPPER, each also without accents:
  ``fold.content_variants``), one query per word; a record matches when every word is in its
  content or title. OpenCMIS InMemory's ``CONTAINS`` (measured on the real server) is a
  case- and accent-sensitive substring match on the content stream only, not on properties;
  so there a word typed without its accents (``munchen``) does not find ``München`` in the
  content (it does in titles). Alfresco's and Nuxeo's full-text indexes fold by themselves.

These queries run on our document type limited to the archive's tree (``IN_TREE`` of the base
folder: two deployments, or a test's scratch archive, may share a repository) and see every
version, so the hit names the version that matched, not the latest. Source and creation dates
are filtered on the ``sa:archived`` secondary type (no JOIN on InMemory), met on the record key.

A version filed before the folded copies existed (a repository whose content model was upgraded
in place; InMemory forgets everything on restart) has no ``sa:titleFolded``. One query finds such
versions; each is then read and matched here (``unfolded``: slow, one request a version, and
warned about), so none is silently missed; its content is matched by ``CONTAINS`` as any other.

Example::

    result = search(repo, filer, "release", author="alice")
    for hit in result.hits:
        print(hit.title, hit.date, hit.version, hit.restricted, hit.path)
    result.truncated   # --limit cut the list: result.total hits were found
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from .cmis import schema
from .cmis.client import CmisRepository
from .cmis.filer import Filer, quote
from .fold import content_variants, fold
from .http import retrying
from .model import record_key


log = logging.getLogger(__name__)


@dataclass
class Hit:
    key: str
    title: str
    date: str            # the matched version's revision time (else the item's creation), UTC
    version: str         # the version that matched (the newest of them), else the latest
    matched_versions: list[str]
    restricted: bool     # the record or the matched version is restricted (archive or source)
    url: str
    path: str
    object_id: str       # of the version shown
    author: str
    kind: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    hits: list[Hit]
    total: int           # records found; more than len(hits) when --limit cut the list
    limit: int
    criteria: dict
    searched_at: str = field(default_factory=lambda: _iso(datetime.now(timezone.utc)))

    @property
    def truncated(self) -> bool:
        return self.total > len(self.hits)

    COLUMNS = ("key", "title", "date", "version", "access", "url", "path", "object id")

    def lines(self) -> list[str]:
        """Tab-separated, a header line first; ``access`` is ``restricted`` or ``-``; the version
        is the one that matched (``v2.0``, ``v3.0 (+1)`` when more versions matched)."""
        rows = ["\t".join(self.COLUMNS)]
        for h in self.hits:
            more = f" (+{len(h.matched_versions) - 1})" if len(h.matched_versions) > 1 else ""
            rows.append("\t".join((h.key, h.title, h.date, f"v{h.version}{more}", "restricted" if h.restricted else "-",
                                   h.url, h.path, h.object_id)))
        return rows

    def note(self) -> str:
        """What a person must know besides the rows: nothing found, or the list cut by --limit."""
        if not self.hits:
            return f"no hits (searched {self.searched_at})"
        if self.truncated:
            return (f"showing {len(self.hits)} of {self.total} hits (--limit {self.limit}; searched "
                    f"{self.searched_at}): raise --limit to see the rest")
        return f"{self.total} hit{'s' if self.total != 1 else ''} (searched {self.searched_at})"

    def as_dict(self) -> dict:
        return {"searched_at": self.searched_at, "criteria": self.criteria, "total": self.total,
                "shown": len(self.hits), "limit": self.limit, "truncated": self.truncated,
                "hits": [h.as_dict() for h in self.hits]}


# --- matching -----------------------------------------------------------------------------------
Matches = dict[str, dict[str, str]]   # record key -> {object id of a matching version: its label}


def _rows(repo: CmisRepository, filer: Filer, where: str) -> Matches:
    statement = (f"SELECT cmis:objectId, cmis:versionLabel, {schema.KEY_PROPERTY} FROM {filer.profile.document_type} "
                 f"WHERE {where} AND {filer.in_archive()}")
    rows = retrying(lambda: list(repo.query(statement, all_versions=filer.profile.query_all_versions)), attempts=3)
    out: Matches = {}
    for row in rows:
        key = _first(row.get(schema.KEY_PROPERTY))
        if key:
            out.setdefault(str(key), {})[row["cmis:objectId"]] = str(_first(row.get("cmis:versionLabel")) or "")
    return out


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')


def _like(text: str) -> str:
    return "'%" + _literal(text).replace("%", "\\%").replace("_", "\\_") + "%'"


def text_matches(repo: CmisRepository, filer: Filer, text: str) -> Matches:
    """Records every word of ``text`` is in, in the content (``CONTAINS``) or the title; the
    versions matching every word, or, where the words are spread over versions, each version
    matching one of them."""
    words = text.split()
    legacy = unfolded(repo, filer) if words else []
    result: Matches | None = None
    for word in words:
        phrases = " OR ".join(f'"{_literal(v)}"' for v in content_variants(word))
        found = _rows(repo, filer, f"CONTAINS('{phrases}')")
        titles = _rows(repo, filer, f"{schema.TITLE_FOLDED} LIKE {_like(fold(word))}")
        titles.update(_local(legacy, lambda props: fold(word) in _folded(props, "sa:title")))
        for key, versions in titles.items():
            found.setdefault(key, {}).update(versions)
        if result is None:
            result = found
            continue
        result = {key: ({i: v for i, v in result[key].items() if i in found[key]} or {**result[key], **found[key]})
                  for key in result.keys() & found.keys()}
    return result or {}


def person_matches(repo: CmisRepository, filer: Filer, user: str) -> Matches:
    """Records ``user`` created or revised, case- and accent-insensitively; the versions that say so."""
    wanted = fold(user)
    found = _rows(repo, filer, f"(sa:authorFolded = {quote(wanted)} OR sa:revisionAuthorFolded = {quote(wanted)})")
    legacy = _local(unfolded(repo, filer),
                    lambda props: wanted in (_folded(props, "sa:author"), _folded(props, "sa:revisionAuthor")))
    for key, versions in legacy.items():
        found.setdefault(key, {}).update(versions)
    return found


def unfolded(repo: CmisRepository, filer: Filer) -> list[dict]:
    """The properties of every version of this archive that lacks the folded copies (filed before
    they existed): the matches check these one by one, so none is silently missed. Empty on an
    archive filed since (one query)."""
    statement = (f"SELECT cmis:objectId FROM {filer.profile.document_type} WHERE {schema.TITLE_FOLDED} IS NULL "
                 f"AND {filer.in_archive()}")
    rows = retrying(lambda: list(repo.query(statement, all_versions=filer.profile.query_all_versions)), attempts=3)
    if rows:
        log.warning("%d versions were filed before socialarchive kept folded copies of titles and people "
                    "(no %s): each is read and matched here, one request apiece", len(rows), schema.TITLE_FOLDED)
    return [retrying(lambda: repo.get_object(row["cmis:objectId"]), attempts=3) for row in rows]


def _local(versions: list[dict], match) -> Matches:
    """The versions (properties) ``match`` accepts, as matches."""
    out: Matches = {}
    for props in versions:
        key = _first(props.get(schema.KEY_PROPERTY))
        if key and match(props):
            out.setdefault(str(key), {})[props["cmis:objectId"]] = str(props.get("cmis:versionLabel", ""))
    return out


def _folded(props: dict, prop: str) -> str:
    return fold(str(_first(props.get(prop)) or ""))


# --- search -------------------------------------------------------------------------------------
def search(repo: CmisRepository, filer: Filer, text: str | None = None, *, source: str | None = None,
           author: str | None = None, since: datetime | None = None, until: datetime | None = None,
           limit: int = 50) -> Result:
    criteria = {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in
                (("text", text), ("source", source), ("author", author), ("since", since), ("until", until)) if v}
    matches: Matches | None = None
    if text:
        matches = text_matches(repo, filer, text)
    if author:
        people = person_matches(repo, filer, author)
        matches = people if matches is None else {k: _meet(matches[k], people[k]) for k in matches.keys() & people.keys()}
    conditions = []
    if source:
        conditions.append(f"sa:source = {quote(source)}")
    if since:
        conditions.append(f"sa:created >= TIMESTAMP '{_cmis_time(since)}'")
    if until:
        conditions.append(f"sa:created < TIMESTAMP '{_cmis_time(until)}'")
    if conditions:
        where = " WHERE " + " AND ".join(conditions + [filer.in_archive()])
        statement = f"SELECT * FROM {filer.profile.secondary_type}{where}"
        keys = {record_key(str(_first(r.get("sa:source"))), str(_first(r.get("sa:kind"))), str(_first(r.get("sa:nativeId"))))
                for r in retrying(lambda: list(repo.query(statement, all_versions=filer.profile.query_all_versions)),
                                  attempts=3)}
        matches = {k: {} for k in keys} if matches is None else {k: v for k, v in matches.items() if k in keys}
    matches = matches or {}
    ordered = sorted(matches, key=natural_key)
    hits = [hit for hit in (_hit(repo, filer, key, matches[key]) for key in ordered[:limit]) if hit]
    return Result(hits=hits, total=len(ordered) - (min(limit, len(ordered)) - len(hits)), limit=limit,
                  criteria=criteria)


def _meet(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    return {i: v for i, v in a.items() if i in b} or {**a, **b}


def _hit(repo: CmisRepository, filer: Filer, key: str, versions: dict[str, str]) -> Hit | None:
    if versions:
        object_id = max(versions, key=lambda i: label_key(versions[i]))
    else:
        found = _rows(repo, filer, f"{schema.KEY_PROPERTY} = {quote(key)}").get(key)
        if not found:
            return None
        object_id = next(iter(found))
    latest = retrying(lambda: repo.latest(object_id), attempts=3)
    props = latest if not versions else retrying(lambda: repo.get_object(object_id), attempts=3)
    when = _first(props.get("sa:revisionCreated")) or _first(props.get("sa:created"))
    return Hit(key=key, title=str(_first(props.get("sa:title")) or props.get("cmis:name", "")),
               date=_iso(_datetime(when)) if when else "",
               version=str(props.get("cmis:versionLabel", "")),
               matched_versions=sorted(set(versions.values()), key=label_key),
               restricted=_restricted(props) or _restricted(latest),
               url=str(_first(props.get("sa:sourceUrl")) or ""), path=_path(filer, latest),
               object_id=str(props.get("cmis:objectId", object_id)),
               author=str(_first(props.get("sa:author")) or ""), kind=str(_first(props.get("sa:kind")) or ""))


def _restricted(props: dict) -> bool:
    return _first(props.get("sa:visibility")) == "restricted" or _first(props.get("sa:restricted")) is True


# --- values -------------------------------------------------------------------------------------
def natural_key(text: str) -> list[tuple[int, int | str]]:
    """Order as a person reads numbers: ``wiki/page/2`` before ``wiki/page/10``.

    >>> sorted(["wiki/page/10", "wiki/page/2", "Wiki/page/3"], key=natural_key)
    ['wiki/page/2', 'Wiki/page/3', 'wiki/page/10']
    """
    return [(0, int(part)) if part.isdigit() else (1, part.casefold()) for part in re.split(r"(\d+)", text) if part]


def label_key(label: str) -> list[tuple[int, int | str]]:
    """Version labels in order: ``2.0`` before ``10.0``."""
    return natural_key(label)


def _first(value):
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _datetime(value) -> datetime:
    """A Browser-binding datetime (epoch milliseconds) as an aware UTC datetime."""
    return value if isinstance(value, datetime) else datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cmis_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _path(filer: Filer, props: dict) -> str:
    paths = props.get("cmis:path")
    if paths:
        return paths
    try:
        parents = filer.repo.parents(props["cmis:objectId"])
    except Exception:  # noqa: BLE001 - the path is a convenience, the object id is the reference
        return ""
    return f"{parents[0]}/{props.get('cmis:name', '')}" if parents else ""
