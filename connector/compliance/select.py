"""Which archived records match: full-text words, a source and creation-date range, a person, a
hold; always records of *this* archive (its base folder), because several deployments (and every
integration test) may share one repository.

The repository is the source of truth, not the ledger. How the queries run, and why:

- words and people run on our document type limited by ``IN_TREE(base)``, reliable for every
  version, case- and accent-insensitively (``connector.search``: ``CONTAINS`` on the content,
  the folded copies of title and people);
- metadata conditions run on the ``sa:archived`` secondary type (no JOINs on OpenCMIS InMemory),
  whose rows carry source, kind and native id, so the record key follows. Such a query is *not*
  limited by ``IN_TREE``: InMemory 1.1.0 then matches only the first version of each series (found
  on the real server). So the keys are candidates: each is resolved by ``sa:recordKey`` on the
  document type inside the base folder, its versions are read, and the condition is checked again
  on them. A record of another deployment with the same key never slips in.

Every function reads through an ``ArchiveView`` (``connector.reader``): the repository and the
filer's view of it, nothing of a run (a reader, or a command's ``Archive``).

Example::

    found = select.by_criteria(archive, Criteria(source="wiki", since=datetime(2024, 1, 1, tzinfo=timezone.utc)))
    for key, record in found.items():
        record.object_id, [v["cmis:versionLabel"] for v in record.versions]
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from ..cmis import schema
from ..cmis.filer import quote
from ..fold import fold
from ..http import retrying
from ..model import record_key
from ..reader import ArchiveView
from ..search import person_matches, text_matches


@dataclass(frozen=True)
class Criteria:
    """A selection as stored with a hold or an export: words (full text) and/or source and dates."""

    query: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in (("query", self.query), ("source", self.source), ("since", self.since),
                             ("until", self.until)) if v is not None}

    @classmethod
    def from_dict(cls, data: dict) -> "Criteria":
        parse = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
        return cls(query=data.get("query"), source=data.get("source"), since=parse(data.get("since")),
                   until=parse(data.get("until")))

    def describe(self) -> str:
        parts = []
        if self.query:
            parts.append(f"text {self.query!r}")
        if self.source:
            parts.append(f"source {self.source}")
        if self.since:
            parts.append(f"created since {self.since.isoformat()}")
        if self.until:
            parts.append(f"created before {self.until.isoformat()}")
        return ", ".join(parts) or "everything"

    def covers(self, source: str, created: datetime | None) -> bool:
        """Whether an item being filed falls under these criteria without a full-text query
        (used to extend a hold to records filed after it was placed)."""
        if self.query or not self.source or source != self.source:
            return False
        return self._in_range(created)

    def _in_range(self, created: datetime | None) -> bool:
        if self.since and (created is None or created < self.since):
            return False
        if self.until and (created is None or created >= self.until):
            return False
        return True

    def matches(self, props: dict) -> bool:
        """The metadata part of the criteria, checked on a version's properties."""
        if self.source and single(props.get("sa:source")) != self.source:
            return False
        return self._in_range(as_datetime(single(props.get("sa:created"))))


@dataclass
class Found:
    """A record of this archive: its key, one object id of its series, every checked-in version."""

    key: str
    object_id: str
    versions: list[dict]

    @property
    def latest(self) -> dict:
        return self.versions[-1]


# --- queries ------------------------------------------------------------------------------------
def _utc(value: datetime) -> str:
    return "TIMESTAMP '" + value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z") + "'"


def _key(row: dict) -> str | None:
    source, kind, native = (single(row.get(p)) for p in ("sa:source", "sa:kind", "sa:nativeId"))
    if not (source and kind and native):
        return None
    return record_key(str(source), str(kind), str(native))


def metadata_rows(archive: ArchiveView, conditions: Iterable[str]) -> list[dict]:
    """Rows of the secondary type (one per matching version) in the whole repository: candidates."""
    conditions = list(conditions)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    statement = f"SELECT * FROM {archive.filer.profile.secondary_type}{where}"
    return retrying(lambda: list(archive.repo.query(statement, all_versions=archive.filer.profile.query_all_versions)),
                    attempts=3)


def candidate_keys(archive: ArchiveView, conditions: Iterable[str]) -> set[str]:
    return {k for k in map(_key, metadata_rows(archive, conditions)) if k}


def text_keys(archive: ArchiveView, text: str) -> set[str]:
    """Keys of records of this archive with every word of ``text`` in their content or title (any
    version), in any case and with or without accents, as ``search TEXT`` finds them."""
    return set(text_matches(archive.repo, archive.filer, text))


def resolve(archive: ArchiveView, keys: Iterable[str], batch: int = 50) -> dict[str, str]:
    """key → object id of one version of the record in this archive, for every key found."""
    keys = sorted(set(keys))
    found: dict[str, str] = {}
    doc_type = archive.filer.profile.document_type
    for start in range(0, len(keys), batch):
        chunk = keys[start:start + batch]
        statement = (f"SELECT cmis:objectId, {schema.KEY_PROPERTY} FROM {doc_type} WHERE {schema.KEY_PROPERTY} "
                     f"IN ({', '.join(quote(k) for k in chunk)}) AND {archive.filer.in_archive()}")
        rows = retrying(lambda: list(archive.repo.query(statement, all_versions=archive.filer.profile.query_all_versions)),
                        attempts=3)
        for row in rows:
            found.setdefault(row[schema.KEY_PROPERTY], row["cmis:objectId"])
    return found


def versions(archive: ArchiveView, object_id: str) -> list[dict]:
    """Every checked-in version of the series ``object_id`` belongs to, oldest first."""
    return [v for v in retrying(lambda: archive.repo.versions(object_id), attempts=3)
            if not v.get("cmis:isPrivateWorkingCopy")]


def load(archive: ArchiveView, keys: Iterable[str], keep: Callable[[list[dict]], bool] | None = None) -> dict[str, Found]:
    """Resolve keys inside this archive, read their versions, keep those ``keep`` accepts."""
    out = {}
    for key, object_id in sorted(resolve(archive, keys).items()):
        history = versions(archive, object_id)
        if history and (keep is None or keep(history)):
            out[key] = Found(key, object_id, history)
    return out


# --- selections ---------------------------------------------------------------------------------
def by_criteria(archive: ArchiveView, criteria: Criteria) -> dict[str, Found]:
    """Records matching the words and/or the source and creation dates; with dates, also the
    deletion records (tombstones) of the records found, which have no creation date of their own."""
    if not (criteria.query or criteria.source or criteria.since or criteria.until):
        raise ValueError("a selection needs words or a source/date range")
    metadata = bool(criteria.source or criteria.since or criteria.until)
    if criteria.query:
        keys = text_keys(archive, criteria.query)
    else:
        conditions = []
        if criteria.source:
            conditions.append(f"sa:source = {quote(criteria.source)}")
        if criteria.since:
            conditions.append(f"sa:created >= {_utc(criteria.since)}")
        if criteria.until:
            conditions.append(f"sa:created < {_utc(criteria.until)}")
        keys = candidate_keys(archive, conditions)
    found = load(archive, keys, (lambda h: criteria.matches(h[-1])) if metadata else None)
    if metadata and (criteria.since or criteria.until) and found:
        conditions = ["sa:kind = 'tombstone'"] + ([f"sa:source = {quote(criteria.source)}"] if criteria.source else [])
        rows = [r for r in metadata_rows(archive, conditions) if single(r.get("sa:parentId")) in found]
        found.update(load(archive, {k for k in map(_key, rows) if k},
                          lambda h: single(h[-1].get("sa:parentId")) in found))
    return found


def by_hold(archive: ArchiveView, matter: str) -> dict[str, Found]:
    """Records any of whose versions carries the hold ``matter`` in ``sa:holdIds``."""
    keys = candidate_keys(archive, [f"{quote(matter)} = ANY sa:holdIds"])
    return load(archive, keys, lambda h: any(matter in as_list(v.get("sa:holdIds")) for v in h))


def by_person(archive: ArchiveView, user: str) -> dict[str, Found]:
    """Records ``user`` created (``sa:author``) or revised (``sa:revisionAuthor``), case- and
    accent-insensitively (``admin`` finds ``Admin``; source user names are unique regardless of
    case). Found on the folded copies our document type carries for every version (its queries
    see later versions too, on InMemory as well), then checked again on the versions."""
    keys = person_matches(archive.repo, archive.filer, user)
    return load(archive, keys, lambda h: any(person_roles(v, user) for v in h))


def person_roles(props: dict, user: str) -> set[str]:
    """``author`` and/or ``revision author`` where this version names ``user`` (folded)."""
    wanted = fold(user)
    return {role for role, prop in (("author", "sa:author"), ("revision author", "sa:revisionAuthor"))
            if fold(str(single(props.get(prop)) or "")) == wanted and single(props.get(prop))}


# --- values -------------------------------------------------------------------------------------
def single(value):
    """Succinct values may come as one-element lists (InMemory queries); unwrap them."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else (None if not value else value)
    return value


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def as_datetime(value) -> datetime | None:
    """A Browser-binding datetime (epoch milliseconds) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
