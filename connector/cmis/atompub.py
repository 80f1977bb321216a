"""The CMIS AtomPub binding (1.0 and 1.1), with the same interface as the Browser-binding
``CmisRepository``: for repositories that offer no Browser binding (SharePoint, OpenText,
Documentum, FileNet deployments; every CMIS 1.0 server).

Example::

    repo = AtomPubRepository("http://127.0.0.1:8090/inmemory/atom11", "A1", "admin", "admin")
    doc = repo.create_document(folder_id, {"cmis:name": "Page [1]", ...}, upload,
                               acl_add={"GROUP_staff": ["cmis:read"]}, acl_remove={"anyone": ["cmis:all"]})

Raw requests through our pooled session, not cmislib: its AtomPub binding builds the base64
content in a DOM tree (a 200 MiB file took 1.1 GB), sends secondary type ids as strings and
naive datetimes, and fails on a check-in without properties (see the README's CMIS notes).

What each operation costs, and why:
- createDocument: one POST of an Atom entry to the folder's children collection, content inside
  as base64 (``atom_xml.entry_body``), properties after it (the SHA-256 of the bytes sent);
  ``versioningState`` in the URL. An entry up to 1 MiB is sent whole; a larger one streams
  (chunked, at most ~1 MiB held) on a connection closed after it (see ``WHOLE_BODY``). The other
  way AtomPub allows, create and then PUT the content to the edit-media link, costs one request
  more, and OpenCMIS InMemory refuses it for versionable types (a checked-in version's content
  cannot be set, a document cannot be created checked out). ACEs in the entry are ignored by OpenCMIS's AtomPub
  server, so the ACL is a second request: a PUT of the whole ACL (``acl_add``: on a new object it
  is the object's entire ACL, as ``Filer.replace_acl`` makes it later). Between the two the object
  carries the ACL its folder gave it (OpenCMIS InMemory copies the folder's).
- new version: check-out (POST to the checked-out collection) + check-in (PUT of an entry with the
  content to the working copy, ``checkin=true``): two, as over the Browser binding.
- applyACL replaces the direct ACL: ``apply_acl`` computes it from the ACL ``acl`` last read for the
  object (``Filer.replace_acl`` reads it just before), asking again only if it has none.
- Reads follow the links of an object's entry (AtomPub has no URL per operation). The links of
  every entry seen (created, queried, listed) are kept (``_LINKS_KEPT`` objects), so
  ``find`` (query, then versions) and ``verify`` (versions, content) cost what they cost over the
  Browser binding; an object not seen yet costs one more GET of its entry.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Iterator, Mapping, Sequence

import requests
from lxml import etree

from ..errors import ObjectNotFound, RepositoryRefused, RepositoryUnavailable
from ..http import Session, make_session, retrying, safe_url
from . import atom_xml as ax
from .client import (READ_ATTEMPTS, PropertyValue, RepositoryInfo, Upload, _label_key, _single,
                     whole_or_streamed)

_LINKS_KEPT = 20000
# An entry up to ``WHOLE_BODY`` is sent whole, with a Content-Length; a larger one streams (chunked)
# on a connection of its own. OpenCMIS stops reading an entry at ``</atom:entry>``, before the chunked
# body's last (empty) chunk, and Jetty then drops the connection: the next request on it failed
# with "remote end closed connection without response" (9 times in 100 creates on InMemory).
_REL_VERSIONS = "version-history"
_REL_PARENTS = "up"
_REL_CHILDREN = "down"


class AtomPubRepository:
    """One CMIS repository over the AtomPub binding, with one pooled, instrumented session."""

    binding = "atompub"

    def __init__(self, url: str, repository_id: str, username: str, password: str, *,
                 verify: bool | str = True, timeout: tuple[float, float] = (10.0, 300.0),
                 user_agent: str = "socialarchive", session: Session | None = None, pool_size: int = 0,
                 secondary_types: bool = True):
        """``secondary_types=False``: CMIS 1.0 mode, ``cmis:secondaryObjectTypeIds`` is never sent
        (as ``CmisRepository``)."""
        self.url = url.rstrip("/")
        self.secondary_types = secondary_types
        self.repository_id = repository_id
        self.session = session or make_session(user_agent, verify=verify, timeout=timeout,
                                               auth=(username, password), pool_size=pool_size)
        self.types = ax.PropertyTypes()
        self._types: dict[str, dict] = {}
        self._info: RepositoryInfo | None = None
        self._collections: dict[str, str] = {}
        self._templates: dict[str, str] = {}
        self._links: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._direct_acl: dict[str, dict[str, set[str]]] = {}
        self._lock = threading.Lock()

    @property
    def request_count(self) -> int:
        return self.session.request_count

    def _writable(self, properties: Mapping[str, PropertyValue]) -> Mapping[str, PropertyValue]:
        if self.secondary_types:
            return properties
        return {k: v for k, v in properties.items() if k != "cmis:secondaryObjectTypeIds"}

    # --- transport -----------------------------------------------------------------------
    def _get(self, url: str, **kwargs: Any) -> requests.Response:
        """An idempotent read, asked again on a transient failure (see ``CmisRepository._get``)."""
        def once() -> requests.Response:
            try:
                response = self.session.get(url, **kwargs)
            except requests.ConnectionError as exc:
                raise RepositoryUnavailable(f"cannot reach {safe_url(url)}: {type(exc).__name__}") from None
            if response.status_code == 429 or response.status_code >= 500:
                ax.raise_for_atom(response)
            return response
        return retrying(once, attempts=READ_ATTEMPTS)

    def _read(self, url: str, **params: str) -> etree._Element:
        return ax.parse(ax.raise_for_atom(self._get(url, params=params or None)))

    def _send(self, method: str, url: str, body: Any, content_type: str = ax.ENTRY_TYPE,
              params: Mapping[str, str] | None = None) -> requests.Response:
        headers = {"Content-Type": content_type}
        if body is not None and not isinstance(body, bytes):
            body, more = whole_or_streamed(body)
            if more:
                headers["Connection"] = "close"
        try:
            response = self.session.request(method, url, data=body, params=params, headers=headers)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RepositoryUnavailable(f"{method} {safe_url(url)} failed: {type(exc).__name__}") from None
        return ax.raise_for_atom(response)

    def _entry(self, response: requests.Response) -> dict:
        """Properties of the entry a write answered with; its links are kept."""
        return self._remember(ax.parse(response))

    def _remember(self, entry: etree._Element, by_query_name: bool = False) -> dict:
        props = ax.entry_properties(entry, self.types, by_query_name)
        object_id, links = props.get("cmis:objectId"), ax.entry_links(entry)
        if object_id and links:   # query results carry no links: keep those known
            with self._lock:
                self._links.setdefault(str(object_id), {}).update(links)
                self._links.move_to_end(str(object_id))
                while len(self._links) > _LINKS_KEPT:
                    self._links.popitem(last=False)
        return props

    def _link(self, object_id: str, rel: str) -> str:
        with self._lock:
            found = self._links.get(object_id, {}).get(rel)
        if found:
            return found
        self._object_entry(object_id, filter="cmis:objectId")
        with self._lock:
            found = self._links.get(object_id, {}).get(rel)
        if not found:
            raise ObjectNotFound(f"object {object_id} has no {rel} link", "objectNotFound", 404)
        return found

    def _object_entry(self, object_id: str, **params: str) -> dict:
        return self._remember(self._object_element(object_id, **params))

    def _object_element(self, object_id: str, include_acl: bool = False, **params: str) -> etree._Element:
        self._service()
        url = ax.fill(self._templates["objectbyid"], id=object_id, filter=params.pop("filter", "*"),
                      includeACL="true" if include_acl else "false", includeAllowableActions="false",
                      includePolicyIds="false", includeRelationships="none", renditionFilter="cmis:none")
        return self._read(url, **params)

    # --- repository and types --------------------------------------------------------------
    def _service(self) -> None:
        """Read the service document once: repository info, collections, URI templates."""
        if self._templates:
            return
        try:
            response = ax.raise_for_atom(self._get(self.url, params={"repositoryId": self.repository_id}))
        except ObjectNotFound:
            raise RepositoryRefused(f"no repository {self.repository_id!r} at {safe_url(self.url)}") from None
        kind = response.headers.get("Content-Type", "")
        if "xml" not in kind:   # e.g. a Browser-binding URL given with binding = "atompub"
            answered = kind or "no content type"
            raise RepositoryRefused(f"{safe_url(self.url)} is not a CMIS AtomPub endpoint (it answered {answered}): "
                                    "check [repository] url and binding")
        root = ax.parse(response)
        workspace = ax.service_workspace(root, self.repository_id)
        if workspace is None:
            raise RepositoryRefused(f"no repository {self.repository_id!r} at {safe_url(self.url)}")
        fields = ax.repository_info_fields(workspace)
        self._collections, templates = ax.workspace_urls(workspace)
        self._info = RepositoryInfo(
            id=str(fields.get("repositoryId", "")), product=str(fields.get("productName", "")),
            version=str(fields.get("productVersion", "")), cmis_version=str(fields.get("cmisVersionSupported", "")),
            root_id=str(fields.get("rootFolderId", "")),
            anyone=str(fields.get("principalAnyone") or "cmis:anyone"),
            anonymous=str(fields.get("principalAnonymous") or "cmis:anonymous"),
            capabilities=fields["capabilities"], acl_capabilities=fields["aclCapabilities"])
        self._templates = templates

    def ping(self) -> None:
        """Ask for the service document, uncached: raises ``RepositoryUnavailable`` if nobody answers."""
        ax.raise_for_atom(self.session.get(self.url, params={"repositoryId": self.repository_id}))

    def info(self) -> RepositoryInfo:
        self._service()
        assert self._info is not None
        return self._info

    def get_type(self, type_id: str) -> dict | None:
        """The type definition in the Browser binding's JSON shape, or None if unknown (cached)."""
        if type_id in self._types:
            return self._types[type_id]
        self._service()
        response = self._get(ax.fill(self._templates["typebyid"], id=type_id))
        if response.status_code == 404:
            return None
        definition = ax.type_definition(ax.parse(ax.raise_for_atom(response)))
        if definition is None:
            return None
        self.types.learn(definition)
        self._types[type_id] = definition
        return definition

    def create_type(self, definition: dict) -> dict:
        self._service()
        created = ax.type_definition(ax.parse(self._send("POST", self._collections["types"],
                                                         ax.type_entry(definition)))) or {}
        if created.get("id"):
            self.types.learn(created)
            self._types[created["id"]] = created
        return created

    # --- objects -------------------------------------------------------------------------------
    def get_object(self, object_id: str) -> dict:
        return self._object_entry(object_id)

    def latest(self, object_id: str) -> dict:
        """Properties of the latest version of the series ``object_id`` belongs to."""
        return self._object_entry(object_id, returnVersion="latest")

    def parents(self, object_id: str) -> list[str]:
        feed = self._read(self._link(object_id, _REL_PARENTS), filter="cmis:path")
        return [str(self._remember(e).get("cmis:path") or "") for e in ax.feed_entries(feed)]

    def get_object_by_path(self, path: str) -> dict | None:
        self._service()
        url = ax.fill(self._templates["objectbypath"], path=path, filter="cmis:objectId,cmis:name",
                      includeACL="false", includeAllowableActions="false", includePolicyIds="false",
                      includeRelationships="none", renditionFilter="cmis:none")
        response = self._get(url)
        if response.status_code == 404:
            return None
        props = self._remember(ax.parse(ax.raise_for_atom(response)))
        return {"cmis:objectId": props.get("cmis:objectId"), "cmis:name": props.get("cmis:name")}

    def _children_url(self, folder_id: str) -> str:
        self._service()
        if folder_id == self.info().root_id and self._collections.get("root"):
            return self._collections["root"]
        return self._link(folder_id, _REL_CHILDREN)

    def create_folder(self, parent_id: str, name: str, type_id: str = "cmis:folder") -> dict:
        body = b"".join(ax.entry_body({"cmis:objectTypeId": type_id, "cmis:name": name}, self.types, title=name))
        return self._entry(self._send("POST", self._children_url(parent_id), body))

    def create_document(self, folder_id: str, properties: Mapping[str, PropertyValue],
                        upload: Upload | None, *, versioning_state: str | None = "major",
                        acl_add: Mapping[str, Sequence[str]] | None = None,
                        acl_remove: Mapping[str, Sequence[str]] | None = None) -> dict:
        """createDocument (one POST, content streamed), then the ACL (one PUT) when one is given:
        OpenCMIS's AtomPub server ignores ACEs sent in the entry. ``acl_add`` is the new object's
        whole ACL; ``acl_remove`` (the defaults the Browser binding must name) is implied."""
        params = {"versioningState": versioning_state} if versioning_state else None
        body = ax.entry_body(self._writable(properties), self.types, upload,
                             title=str(properties.get("cmis:name") or ""))
        created = self._entry(self._send("POST", self._children_url(folder_id), body, params=params))
        if acl_add or acl_remove:
            self._put_acl(str(created["cmis:objectId"]), {p: set(v) for p, v in (acl_add or {}).items()})
        return created

    def check_out(self, object_id: str) -> dict:
        self._service()
        body = b"".join(ax.entry_body({"cmis:objectId": object_id}, self.types))
        return self._entry(self._send("POST", self._collections["checkedout"], body))

    def cancel_check_out(self, pwc_id: str) -> None:
        self._send("DELETE", self._link(pwc_id, "edit"), None)

    def delete_scratch(self, object_id: str) -> None:
        """Delete a scratch object (every version) that the connector made for itself (``plan``'s
        timing probes). Never used on archived records."""
        self._send("DELETE", self._link(object_id, "edit"), None, params={"allVersions": "true"})

    def check_in(self, pwc_id: str, properties: Mapping[str, PropertyValue], upload: Upload | None,
                 comment: str = "", major: bool = True) -> dict:
        """checkIn: one PUT of an entry with the properties and the content to the working copy."""
        body = ax.entry_body(self._writable(properties), self.types, upload)
        params = {"checkin": "true", "major": "true" if major else "false", "checkinComment": comment}
        return self._entry(self._send("PUT", self._link(pwc_id, "edit"), body, params=params))

    def update_properties(self, object_id: str, properties: Mapping[str, PropertyValue],
                          change_token: str | None = None) -> dict:
        """updateProperties: a PUT of an entry with the properties (see ``CmisRepository``)."""
        props = dict(self._writable(properties))
        if change_token:
            props["cmis:changeToken"] = change_token
        body = b"".join(ax.entry_body(props, self.types))
        return self._entry(self._send("PUT", self._link(object_id, "edit"), body))

    def apply_acl(self, object_id: str, add: Mapping[str, Sequence[str]],
                  remove: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
        """Add and remove ACEs: AtomPub replaces the direct ACL, so the new one is computed from
        the direct ACL last read (``acl``), read first if there is none."""
        with self._lock:
            current = self._direct_acl.pop(object_id, None)
        if current is None:
            self.acl(object_id)
            with self._lock:
                current = self._direct_acl.pop(object_id, {})
        wanted = {p: set(perms) for p, perms in current.items()}
        for principal, perms in remove.items():
            left = wanted.get(principal, set()) - set(perms)
            if left:
                wanted[principal] = left
            else:
                wanted.pop(principal, None)
        for principal, perms in add.items():
            wanted.setdefault(principal, set()).update(perms)
        return self._put_acl(object_id, wanted)

    def _put_acl(self, object_id: str, aces: Mapping[str, set[str]]) -> dict[str, set[str]]:
        response = self._send("PUT", self._link(object_id, ax.REL_ACL), ax.acl_xml(aces), ax.ACL_TYPE,
                              params={"ACLPropagation": "objectonly"})
        return ax.parse_acl(ax.parse(response))[0] if response.content else {}

    def acl(self, object_id: str) -> dict[str, set[str]]:
        """Direct and inherited ACEs as {principal: {permission, ...}}: from the ACL link, or for an
        object not seen yet from its entry with the ACL included (one request either way)."""
        with self._lock:
            url = self._links.get(object_id, {}).get(ax.REL_ACL)
        if url:
            found = self._read(url)
        else:
            entry = self._object_element(object_id, include_acl=True, filter="cmis:objectId")
            self._remember(entry)
            found = entry.find("cmisra:object/cmis:acl", ax.NS)
            if found is None:
                raise ObjectNotFound(f"object {object_id} came without its ACL", "objectNotFound", 404)
        every, direct = ax.parse_acl(found)
        with self._lock:
            self._direct_acl[object_id] = direct
            while len(self._direct_acl) > _LINKS_KEPT:
                self._direct_acl.pop(next(iter(self._direct_acl)))
        return every

    def versions(self, object_id: str) -> list[dict]:
        """All versions of the series ``object_id`` belongs to, oldest first."""
        feed = self._read(self._link(object_id, _REL_VERSIONS), filter="*")
        found = [self._remember(e) for e in ax.feed_entries(feed)]
        return sorted(found, key=lambda p: (p.get("cmis:creationDate") or 0, _label_key(p)))

    def content(self, object_id: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """Stream a document's content from its content link."""
        url = self._link(object_id, "content")
        with self.session.get(url, stream=True) as response:
            ax.raise_for_atom(response)
            yield from response.iter_content(chunk_size)

    def query(self, statement: str, *, page_size: int = 200, all_versions: bool = False) -> Iterator[dict]:
        """Run a CMIS query and page through every result (the feed's ``next`` link says more)."""
        self._service()
        skip = 0
        while True:
            url = ax.fill(self._templates["query"], q=statement, maxItems=str(page_size), skipCount=str(skip),
                          searchAllVersions="true" if all_versions else "false",
                          includeAllowableActions="false", includeRelationships="none")
            feed = self._read(url)
            entries = ax.feed_entries(feed)
            for entry in entries:
                row = self._remember(entry, by_query_name=True)
                yield {k: _single(v) for k, v in row.items()}
            skip += len(entries)
            if not ax.has_next(feed) or not entries:
                return

    def children(self, folder_id: str, page_size: int = 500) -> Iterator[dict]:
        url = self._children_url(folder_id)
        skip = 0
        while True:
            feed = self._read(url, maxItems=str(page_size), skipCount=str(skip), filter="*")
            entries = ax.feed_entries(feed)
            for entry in entries:
                yield self._remember(entry)
            skip += len(entries)
            if not ax.has_next(feed) or not entries:
                return
