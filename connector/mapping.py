"""From model objects to document specs: folders, names, properties and the ACL.

The rules are data (``mappings/default.toml``); this module applies them. Who may read a
record is decided by ``connector.access`` (one place, failing closed) from the item's visibility
in the source, the restrictions the archive placed (``restrictions``, from the ledger, plus those
the classifier finds in the revisions filed now) and the config.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone

from . import __version__
from .access import AccessPolicy, DecidedAcl
from .cmis.filer import DocumentSpec, VersionSpec
from .cmis.names import folder_segment, unique_name
from .errors import ConfigError
from .model import Content, Item, Tombstone, Visibility, record_key


@dataclass
class Rules:
    default_folder: str
    kind_folders: dict[str, str]
    item_properties: dict[str, str]
    revision_properties: dict[str, str]
    extensions: dict[str, str]

    @classmethod
    def load(cls, path: str) -> "Rules":
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"mapping {path}: {exc}") from None
        folders = data.get("folders", {})
        props = data.get("properties", {})
        return cls(default_folder=folders.get("default", "{source}/{space}/{year}"),
                   kind_folders=dict(folders.get("kinds", {})),
                   item_properties=dict(props.get("item", {})),
                   revision_properties=dict(props.get("revision", {})),
                   extensions=dict(data.get("names", {}).get("extensions", {})))


class Mapper:
    def __init__(self, rules: Rules, policy: AccessPolicy, run_id: str, classifier=None):
        self.rules = rules
        self.classifier = classifier  # connector.compliance.classify.Classifier: class, retention, flags
        self.policy = policy
        self.run_id = run_id
        self._folders: dict[tuple, tuple[str, ...]] = {}   # folder()'s answers
        self._acls: dict[tuple, tuple[DecidedAcl, str]] = {}   # _acl()'s answers

    # --- items --------------------------------------------------------------------------
    def document(self, item: Item, settled: frozenset[str] = frozenset(),
                 restrictions: frozenset[str] = frozenset()) -> DocumentSpec:
        """The document for ``item``, with a version spec for each revision not in ``settled``
        (revisions archived and classified before: their content is not read again).

        ``restrictions`` are those the archive placed on the record before (ledger); the
        classifier may add new ones (sensitive data, a restricted person) from the revisions
        decided now: they are in ``spec.restrictions`` for the pipeline to keep, and in the ACL."""
        found = frozenset(self.classifier.restrictions(item, settled)) if self.classifier is not None else frozenset()
        decided, digest = self._acl(item.source, item.visibility, restrictions | found)
        created = item.created or (item.revisions[0].created if item.revisions else None)
        spec = DocumentSpec(
            key=item.key, folder=self.folder(item.kind, item.source, item.system, item.space, created),
            name=self.name(item.title, item.native_id, item.revisions[-1].content if item.revisions else None),
            properties=self.item_properties(item, decided.visibility), acl_add=decided.add,
            acl_remove=decided.remove, restrictions=found - restrictions, acl_digest=digest)
        spec.versions = [self.version(item, revision) for revision in item.revisions if revision.id not in settled]
        for version in spec.versions:
            version.state = state_digest(spec.properties, version)
        return spec

    def item_properties(self, item: Item, visibility: Visibility) -> dict:
        """``visibility`` is the archive's: the source's, or narrowed by an archive restriction."""
        props = {prop: _value(getattr(item, field)) for prop, field in self.rules.item_properties.items()}
        props.update({
            "sa:sourceSystem": item.system, "sa:source": item.source, "sa:kind": item.kind,
            "sa:nativeId": item.native_id,
            "sa:parentId": item.parent_id,
            "sa:visibility": visibility.label, "sa:visibilityReason": visibility.reason,
            "sa:readers": list(visibility.readers) or None,
            "sa:extra": json.dumps(item.extra, sort_keys=True, ensure_ascii=False) if item.extra else None,
            "sa:connectorVersion": __version__, "sa:runId": self.run_id,
        })
        return props

    def version(self, item: Item, revision) -> VersionSpec:
        props = {prop: _value(getattr(revision, field)) for prop, field in self.rules.revision_properties.items()}
        if revision.title:
            props["sa:title"] = revision.title
        digest = revision.content.source_digest
        props.update({
            "sa:mediaType": revision.content.media_type,
            "sa:sourceDigest": f"{digest[0]}:{digest[1]}" if digest else None,
            "sa:sourceRecord": revision.record.decode("utf-8", "replace") if revision.record else None,
            "sa:capturedAt": datetime.now(timezone.utc),
        })
        if self.classifier is not None:
            props.update(self.classifier.version_properties(item, revision))
        return VersionSpec(revision_id=revision.id, content=revision.content, properties=props,
                           comment=revision.comment or "")

    # --- tombstones ---------------------------------------------------------------------
    def tombstone(self, tomb: Tombstone) -> DocumentSpec:
        """A deletion is a record of its own, restricted, next to nothing it could overwrite."""
        when = tomb.deleted_at or tomb.detected_at
        native = f"{tomb.kind}:{tomb.native_id}@{when.strftime('%Y%m%dT%H%M%SZ')}"
        body = {"deleted_record": tomb.key, "kind": tomb.kind, "native_id": tomb.native_id,
                "title": tomb.title, "deleted_at": _iso(tomb.deleted_at), "deleted_by": tomb.deleted_by,
                "reason": tomb.reason, "detected_at": _iso(tomb.detected_at), "detected_by": tomb.detected_by}
        content = Content.from_bytes(json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode(),
                                     "application/json", filename="tombstone.json")
        visibility = Visibility.restricted("deletion record")
        decided, digest = self._acl(tomb.source, visibility)
        props = {"sa:sourceSystem": tomb.system, "sa:source": tomb.source, "sa:kind": "tombstone",
                 "sa:nativeId": native, "sa:parentId": tomb.key, "sa:title": tomb.title or tomb.key,
                 "sa:deletedAt": tomb.deleted_at, "sa:author": tomb.deleted_by,
                 "sa:visibility": visibility.label, "sa:visibilityReason": visibility.reason,
                 "sa:connectorVersion": __version__, "sa:runId": self.run_id}
        spec = DocumentSpec(
            key=record_key(tomb.source, "tombstone", native),
            folder=self.folder("tombstone", tomb.source, tomb.system, "", when),
            name=unique_name(f"deleted {tomb.title or tomb.native_id}", native, ".json"),
            properties=props, acl_add=decided.add, acl_remove=decided.remove, acl_digest=digest)
        record = {"sa:revisionId": "tombstone", "sa:revisionCreated": when, "sa:mediaType": "application/json",
                  "sa:sourceRecord": tomb.record.decode("utf-8", "replace") if tomb.record else None,
                  "sa:capturedAt": datetime.now(timezone.utc)}
        if self.classifier is not None:
            record.update(self.classifier.tombstone_properties(tomb, when))
        spec.versions = [VersionSpec("tombstone", content, record, f"deleted in source ({tomb.detected_by})")]
        return spec

    # --- rules --------------------------------------------------------------------------
    def folder(self, kind: str, source: str, system: str, space: str, when: datetime | None) -> tuple[str, ...]:
        """The folder path of an object, from its kind's template; a run files many objects into
        one folder, so each path is worked out once per mapper (``_folder``)."""
        key = (kind, source, system, space, (when.year, when.month) if when else None)
        path = self._folders.get(key)
        if path is None:
            path = self._folders[key] = self._folder(kind, source, system, space, when)
        return path

    def _folder(self, kind: str, source: str, system: str, space: str, when: datetime | None) -> tuple[str, ...]:
        template = self.rules.kind_folders.get(kind, self.rules.default_folder)
        values = {"source": source, "system": system, "kind": kind, "space": space or "_",
                  "year": f"{when.year:04d}" if when else "undated", "month": f"{when.month:02d}" if when else "00"}
        try:
            return tuple(folder_segment(part.format(**values)) for part in template.split("/") if part)
        except KeyError as exc:
            raise ConfigError(f"folder template {template!r}: unknown placeholder {exc}") from None

    def name(self, title: str, native_id: str, content: Content | None) -> str:
        extension = self.rules.extensions.get((content.media_type if content else "").split(";")[0], "")
        return unique_name(title, native_id, extension)

    def acl(self, source: str, visibility: Visibility, restrictions: frozenset[str] = frozenset()) -> DecidedAcl:
        return self._acl(source, visibility, restrictions)[0]

    def _acl(self, source: str, visibility: Visibility,
             restrictions: frozenset[str] = frozenset()) -> tuple[DecidedAcl, str]:
        """The policy's decision and its digest, each worked out once per mapper: the decision
        depends on nothing else (``access.AccessPolicy``: the config, fixed for a run), and most
        records of a run share a few (public; restricted for one reason)."""
        key = (source, visibility, restrictions)
        found = self._acls.get(key)
        if found is None:
            decided = self.policy.decide(source, visibility, restrictions)
            found = self._acls[key] = (decided, decided.digest)
        return found


# What says when, by which run or under which id a state was captured, not what the state is:
# left out of the state digest. The source record goes too: its API fields carry the save time
# (``modified``, a revision's ``date``) and ids, so two captures of one state never share it.
CAPTURE_PROPERTIES = frozenset({
    "sa:revisionId", "sa:revisionCreated", "sa:modified", "sa:capturedAt", "sa:runId", "sa:connectorVersion",
    "sa:sourceRecord", "sa:retainUntil", "cmis:rm_expirationDate", "cmis:rm_startOfRetention"})


def state_digest(item_properties: dict, version: VersionSpec) -> str:
    """SHA-256 of what a version archives: its content's SHA-256, the check-in comment, and every
    property of the item and the version but ``CAPTURE_PROPERTIES``. Two consecutive versions
    with the same digest are one state (the pipeline files the first only). Empty when the
    content's digest is unknown before the upload (a streamed file): such versions are always
    filed, since telling them apart would cost a download.

    Example: WordPress's current state filed by one run, and the revision WordPress saves of it
    later without a change to anything archived, have the same digest."""
    if version.content.sha256 is None:
        return ""
    properties = {k: v for k, v in {**item_properties, **version.properties}.items() if k not in CAPTURE_PROPERTIES}
    body = json.dumps({"content": version.content.sha256, "comment": version.comment, "properties": properties},
                      sort_keys=True, ensure_ascii=True, default=str)   # ASCII: lone surrogates escaped
    return hashlib.sha256(body.encode("ascii")).hexdigest()


def _value(value):
    if isinstance(value, tuple):
        return list(value) or None
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
