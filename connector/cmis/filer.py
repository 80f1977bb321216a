"""The filer: writes document specs into the repository, append-only and idempotent.

It knows nothing of sources or the ledger. The pipeline hands it a ``DocumentSpec`` (what to
file where, with which properties and ACL) and the revisions still missing; the filer creates the
document (one request: properties, content, ACL, versioning state) or adds a version (check-out,
check-in: two requests), and returns what the repository acknowledged.

Edge cases:
- a crash between check-out and check-in leaves a private working copy; the next ``add_version``
  cancels that stale check-out first (our own, by definition: the archive has no other writers);
- a name conflict on create means either the record is already there (a crash after the
  repository's ack) or another record's sanitised name collides: the first is recovered by key,
  the second gets a suffix made from the key;
- folders are created on demand and cached by path; a concurrent creator is handled by reading
  the path back after a conflict;
- property values go through ``storable``: characters no repository can store (NUL, other C0
  controls, lone surrogates) become U+FFFD and the original values are noted, losslessly, in
  ``sa:extra`` under ``"_sanitised"``; the record key is looked up in the same storable form.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import AlreadyFiled, Fatal, NameConflict, Retriable, UpdateConflict
from ..http import retrying
from ..model import Content, HashingReader
from . import schema
from .client import CmisRepository, PropertyValue, Upload
from .names import storable_text
from .profiles import Profile
from .typedefs import deploy_hint, profile_hint, type_status

log = logging.getLogger(__name__)
_ROOT_LOCK = threading.Lock()   # base-path folders are made by one thread at a time (see _root_id)


@dataclass
class VersionSpec:
    revision_id: str
    content: Content
    properties: dict[str, PropertyValue]
    comment: str = ""
    state: str = ""     # mapping.state_digest: equal for two versions that would archive the same state


@dataclass
class DocumentSpec:
    key: str
    folder: tuple[str, ...]
    name: str
    properties: dict[str, PropertyValue]
    acl_add: dict[str, list[str]]
    acl_remove: dict[str, list[str]]
    versions: list[VersionSpec] = field(default_factory=list)
    acl_digest: str = ""                                  # what the ledger keeps of acl_add
    restrictions: frozenset[str] = frozenset()            # placed by the archive on this record now


@dataclass(frozen=True)
class FiledVersion:
    key: str
    revision_id: str
    object_id: str
    series_id: str
    version_label: str
    sha256: str
    length: int
    name: str


class Filer:
    def __init__(self, repo: CmisRepository, profile: Profile, base_path: str = "/socialarchive"):
        self.repo = repo
        self.profile = profile
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self._folders: dict[str, str] = {}   # path -> folder id, for the life of this filer
        self._created: set[str] = set()      # ids of the folders this filer created
        self._folder_lock = threading.RLock()

    # --- types --------------------------------------------------------------------------
    def ensure_types(self) -> list[str]:
        """Make sure our types exist; create them where the profile allows. Returns what was done.
        A type the profile expects deployed (Alfresco, CMIS 1.0) that is missing or lacks a property
        is fatal, naming what to deploy (``typedefs.deploy_hint``), and so is a profile with secondary
        types on a CMIS 1.0 repository (``typedefs.profile_hint``)."""
        wrong = profile_hint(self.repo.info().cmis_version, self.profile)
        if wrong:
            raise Fatal(wrong)
        done = []
        build = {self.profile.secondary_type: schema.secondary_type_definition,
                 self.profile.document_type: schema.document_type_definition}
        for status in type_status(self.repo, self.profile):
            if not status.present and self.profile.create_types:
                self.repo.create_type(build[status.type_id]())
                done.append(f"created {status.type_id}")
                continue
            if not status.ok:
                raise Fatal(deploy_hint(self.profile, status))
            done.append(f"found {status.type_id}")
        return done

    # --- folders ------------------------------------------------------------------------
    def folder_id(self, segments: Sequence[str]) -> str:
        """The folder's id: from the cache (no request), else looked up or created once per path.
        Safe from several threads: one of them looks up or creates a missing folder."""
        cached = self._folders.get(self.base_path + "".join(f"/{s}" for s in segments))
        if cached is not None:
            return cached
        with self._folder_lock:
            path = self.base_path
            parent = self._root_id()
            for segment in segments:
                path = f"{path}/{segment}"
                cached = self._folders.get(path)
                if cached is None:
                    cached = self._ensure_folder(parent, path, segment)
                    self._folders[path] = cached
                parent = cached
            return parent

    def _root_id(self) -> str:
        if not self.base_path:
            return self.repo.info().root_id
        cached = self._folders.get(self.base_path)
        if cached is None:
            # One thread at a time: find() asks for the root outside folder_id's lock, and OpenCMIS
            # InMemory lets two concurrent createFolder calls make two folders of the same name
            # (seen under injected faults: the documents went to one, IN_TREE looked in the other).
            with _ROOT_LOCK:
                cached = self._folders.get(self.base_path)
                if cached is not None:
                    return cached
                parent, path = self.repo.info().root_id, ""
                for segment in self.base_path.strip("/").split("/"):
                    path = f"{path}/{segment}"
                    parent = self._folders.get(path) or self._ensure_folder(parent, path, segment)
                    self._folders[path] = parent
                cached = parent
        return cached

    def _ensure_folder(self, parent_id: str, path: str, name: str) -> str:
        """The folder at ``path`` (in ``parent_id``), looked up, else created. Under a folder this
        filer created (``_created``) nothing is looked up first: a folder made a moment ago has no
        children unless someone else made one since, and then the create's name conflict says so.
        A new tree of four levels costs four requests instead of seven."""
        if parent_id not in self._created:
            found = self.repo.get_object_by_path(path)
            if found:
                return found["cmis:objectId"]
        try:
            created = self.repo.create_folder(parent_id, name)["cmis:objectId"]
        except NameConflict:  # created by someone else since we looked (or under our new folder)
            found = self.repo.get_object_by_path(path)
            if not found:
                raise
            return found["cmis:objectId"]
        self._created.add(created)
        return created

    # --- documents ----------------------------------------------------------------------
    def create(self, spec: DocumentSpec, version: VersionSpec) -> FiledVersion:
        """Create the document with its first version: one request."""
        folder = self.folder_id(spec.folder)
        properties = {"cmis:objectTypeId": self.profile.document_type, "cmis:name": spec.name,
                      "cmis:secondaryObjectTypeIds": [self.profile.secondary_type],
                      schema.KEY_PROPERTY: spec.key, **spec.properties, **version.properties}
        properties = storable(properties)
        properties.update(schema.search_copies(properties))
        reader = HashingReader(version.content)
        try:
            acked = self.repo.create_document(folder, properties, self._upload(version, reader),
                                              versioning_state="major", acl_add=spec.acl_add,
                                              acl_remove=spec.acl_remove)
        except NameConflict:
            existing = self.find(spec.key)
            if existing:
                # found after a kill or a lost answer: where the ACL is a request of its own (AtomPub)
                # it may not have landed with the document, so it is made the decided one now
                self.replace_acl(existing[-1].object_id, spec.acl_add)
                raise AlreadyFiled(existing) from None
            properties["cmis:name"] = _suffixed(spec.name, spec.key)
            reader = HashingReader(version.content)
            acked = self.repo.create_document(folder, properties, self._upload(version, reader),
                                              versioning_state="major", acl_add=spec.acl_add,
                                              acl_remove=spec.acl_remove)
        return self._filed(spec.key, version.revision_id, acked, reader)

    def add_version(self, object_id: str, spec: DocumentSpec, version: VersionSpec,
                    acl_changed: bool = False) -> FiledVersion:
        """Check out and check in with the new content and properties: two requests.

        A changed ACL is applied *before* the check-out, so the new version never exists with the
        old ACL (no window, whether the check-in then succeeds or fails). The ACL is the record's,
        decided from every version; OpenCMIS InMemory keeps one ACL per version series and refuses
        ACEs on checkIn ("version specific ACLs are not supported")."""
        if acl_changed:
            self.replace_acl(object_id, spec.acl_add)
        try:
            pwc = self.repo.check_out(object_id)
        except UpdateConflict:
            self._cancel_stale_checkout(object_id)
            pwc = self.repo.check_out(object_id)
        reader = HashingReader(version.content)
        # The secondary type id goes with every check-in: OpenCMIS checks properties against the
        # types named in the request, and refuses ours as unknown without it.
        properties = storable({"cmis:secondaryObjectTypeIds": [self.profile.secondary_type],
                               **spec.properties, **version.properties})
        properties.update(schema.search_copies({"cmis:name": pwc.get("cmis:name"), **properties}))
        try:
            acked = self.repo.check_in(pwc["cmis:objectId"], properties, self._upload(version, reader),
                                       comment=storable_text(version.comment[:1000]))
        except Exception:
            self._cancel_quietly(pwc["cmis:objectId"])
            raise
        return self._filed(spec.key, version.revision_id, acked, reader)

    def replace_acl(self, object_id: str, wanted: Mapping[str, Sequence[str]]) -> bool:
        """Make the ACL exactly ``wanted``: the Browser binding only adds and removes, so an item
        that became restricted needs its old grants (e.g. ``anyone: read``) removed explicitly.
        True when it had to change something."""
        current = self.repo.acl(object_id)
        remove = {p: sorted(perms - set(wanted.get(p, ()))) for p, perms in current.items()
                  if perms - set(wanted.get(p, ()))}
        add = {p: list(perms) for p, perms in wanted.items() if set(perms) - current.get(p, set())}
        if add or remove:
            self.repo.apply_acl(object_id, add, remove)
        return bool(add or remove)

    def _cancel_quietly(self, pwc_id: str) -> None:
        """Cancel our check-out after a failed check-in, without hiding why the check-in failed.

        The check-in may have reached the repository (its answer lost): then the working copy is
        gone and the cancel fails, which is fine. If the cancel itself fails otherwise, the stale
        check-out is cancelled by the next ``add_version`` (see ``_cancel_stale_checkout``).
        """
        try:
            self.repo.cancel_check_out(pwc_id)
        except Exception as exc:  # noqa: BLE001 - best effort; the check-in's own error is raised
            log.info("could not cancel check-out %s after a failed check-in: %s", pwc_id, type(exc).__name__)

    def _cancel_stale_checkout(self, object_id: str) -> None:
        current = self.repo.get_object(object_id)
        pwc_id = current.get("cmis:versionSeriesCheckedOutId")
        if pwc_id:
            log.warning("cancelling a stale check-out of %s left by an interrupted run", object_id)
            self.repo.cancel_check_out(pwc_id)

    def _upload(self, version: VersionSpec, reader: HashingReader) -> Upload:
        def trailing() -> Mapping[str, PropertyValue]:
            return {"sa:sha256": reader.sha256, "sa:contentLength": reader.length}
        filename = storable_text(version.content.filename or "content")
        return Upload(filename, storable_text(version.content.media_type), reader, trailing)

    def _filed(self, key: str, revision_id: str, acked: dict, reader: HashingReader) -> FiledVersion:
        """The acknowledged version, once the repository's own length (``cmis:contentStreamLength``,
        never our ``sa:contentLength``) and its echo of our SHA-256 match what was sent."""
        length = acked.get("cmis:contentStreamLength")
        if length is None or int(length) != reader.length:
            raise Retriable(f"repository stored {length} bytes of {key} revision {revision_id}, "
                            f"we sent {reader.length}")
        stored_hash = _single(acked.get("sa:sha256"))
        if stored_hash != reader.sha256:
            raise Retriable(f"repository echoed sha256 {stored_hash} for {key}, we computed {reader.sha256}")
        return FiledVersion(key=key, revision_id=revision_id, object_id=acked["cmis:objectId"],
                            series_id=acked.get("cmis:versionSeriesId") or acked["cmis:objectId"],
                            version_label=acked.get("cmis:versionLabel") or "", sha256=reader.sha256,
                            length=reader.length, name=acked.get("cmis:name", ""))

    # --- recovery -----------------------------------------------------------------------
    def in_archive(self) -> str:
        """A query condition limiting results to our base folder: two deployments may share a repository."""
        return f"IN_TREE({quote(self._root_id())})"

    def find(self, key: str) -> list[FiledVersion]:
        """Every version already filed for ``key``, found by our properties (oldest first), as the
        repository describes it: not proven to hold what was sent (see ``proven``)."""
        statement = (f"SELECT cmis:objectId, cmis:versionSeriesId FROM {self.profile.document_type} "
                     f"WHERE {schema.KEY_PROPERTY} = {quote(storable_text(key))} AND {self.in_archive()}")
        rows = list(self.repo.query(statement, all_versions=self.profile.query_all_versions))
        if not rows:
            return []
        versions = self.repo.versions(rows[0]["cmis:objectId"])
        return [version_from_properties(key, props) for props in versions
                if not props.get("cmis:isPrivateWorkingCopy")]


    def proven(self, versions: Sequence[FiledVersion]) -> list[FiledVersion]:
        """The versions whose content, streamed back from the repository, hashes to the
        ``sa:sha256`` we sent with it, at the repository's own length.

        For the recovery path (a version found by key after a failed or unknown attempt), where
        no acknowledgement was checked: a repository that stored fewer bytes than were sent (a
        body cut on the way) still carries our trailing ``sa:sha256``/``sa:contentLength`` of the
        whole. Such a damaged copy is logged and left out, so it is never recorded as filed; it
        stays in the repository (nothing is deleted) and the revision is written again."""
        intact = []
        for version in versions:
            digest, size = _content_digest(self.repo, version.object_id)
            if digest == version.sha256 and size == version.length:
                intact.append(version)
            else:
                log.warning("the repository holds a damaged copy of %s revision %s (%s v%s: %d bytes, sha256 %s; "
                            "sent with sha256 %s): not recorded as filed", version.key, version.revision_id,
                            version.object_id, version.version_label, size, digest, version.sha256 or "none")
        return intact


def _content_digest(repo: CmisRepository, object_id: str) -> tuple[str, int]:
    """SHA-256 and length of an object's content, streamed (read again from the start on a retry)."""
    def read() -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        for chunk in repo.content(object_id):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size
    return retrying(read, attempts=3)


def version_from_properties(key: str, props: dict) -> FiledVersion:
    return FiledVersion(key=key, revision_id=str(_single(props.get("sa:revisionId")) or ""),
                        object_id=props["cmis:objectId"],
                        series_id=props.get("cmis:versionSeriesId") or props["cmis:objectId"],
                        version_label=props.get("cmis:versionLabel") or "",
                        sha256=str(_single(props.get("sa:sha256")) or ""),
                        # the repository's own length, never our sa:contentLength (which says what was sent)
                        length=int(props.get("cmis:contentStreamLength") or 0),
                        name=props.get("cmis:name", ""))


def storable(properties: Mapping[str, PropertyValue]) -> dict[str, PropertyValue]:
    """The properties with unstorable characters replaced (``names.storable_text``), and a note.

    Nothing is changed silently: every value that had to change is kept, as it was, in ``sa:extra``
    (JSON, ASCII-escaped, so NUL and lone surrogates survive as ``\\u0000``/``\\ud800``) under
    ``"_sanitised": {property id: original value}``.

    >>> out = storable({"sa:title": "a\\x00b", "sa:tags": ["ok"]})
    >>> out["sa:title"] == "a\\ufffdb", json.loads(out["sa:extra"])
    (True, {'_sanitised': {'sa:title': 'a\\x00b'}})
    """
    out: dict[str, PropertyValue] = {}
    notes: dict[str, PropertyValue] = {}
    for prop, value in properties.items():
        clean: PropertyValue = value
        if isinstance(value, str):
            clean = storable_text(value)
        elif isinstance(value, (list, tuple)):
            clean = [storable_text(v) if isinstance(v, str) else v for v in value]
            if clean == list(value):
                clean = value
        if clean is not value and clean != value:
            notes[prop] = list(value) if isinstance(value, tuple) else value
        out[prop] = clean
    if notes:
        extra = properties.get("sa:extra")
        try:
            body = json.loads(extra) if isinstance(extra, str) and extra else {}
            body = body if isinstance(body, dict) else {"_extra": body}
        except ValueError:
            body = {"_extra": extra}
        body["_sanitised"] = {p: v for p, v in notes.items() if p != "sa:extra"}
        out["sa:extra"] = json.dumps(body, sort_keys=True, ensure_ascii=True)
    return out


def quote(value: str) -> str:
    """A CMIS query string literal: backslash-escape quotes and backslashes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _single(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _suffixed(name: str, key: str) -> str:
    tag = f" ~{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    return name[: 200 - len(tag)] + tag
