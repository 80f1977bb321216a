"""The only code that talks CMIS: cmislib (Browser binding) for reads it does well, hand-built
Browser-binding requests for what cmislib lacks or gets wrong, and one error mapping.

Example::

    repo = CmisRepository("http://127.0.0.1:8090/inmemory/browser", "A1", "admin", "admin")
    folder = repo.create_folder(repo.root_id, "wiki")
    doc = repo.create_document(folder["cmis:objectId"], {"cmis:name": "Page [1]", ...},
                               content=Content.from_bytes(b"hi", "text/plain"),
                               acl_add={"GROUP_staff": ["cmis:read"]}, acl_remove={"anyone": ["cmis:all"]},
                               versioning_state="major")

cmislib 0.7.0 workarounds kept here (see docs in the README):
- no constructor kwargs (they leak into every URL); the binding and our session are set afterwards;
- ``getRepository(id)``, never ``getDefaultRepository()`` (it returns the last repository);
- creates, check-in, ACLs, types and queries are sent by hand: cmislib cannot send
  versioningState or ACEs at create, sends ``major=false`` on any check-in, pages queries wrong
  and reads content streams whole into memory;
- 409s are told apart by the Browser binding's ``exception`` field, not by status;
- datetimes are read from raw epoch milliseconds as UTC (cmislib returns naive local time).

Uploads stream: the multipart body is a generator (chunked transfer), and properties computed
from the bytes (SHA-256, length) are sent as parts *after* the content part, which OpenCMIS and
Alfresco parse fine since the whole form is read before the service runs.
"""
from __future__ import annotations

import itertools
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import requests
from cmislib import CmisClient
from cmislib import exceptions as cmislib_errors
from cmislib.browser.binding import BrowserBinding

from ..errors import (CmisError, NameConflict, ObjectNotFound, RejectedByRepository, RepositoryRefused,
                      RepositoryUnavailable, UpdateConflict)
from ..http import Session, make_session, parse_retry_after, retrying, safe_url

log = logging.getLogger(__name__)

PropertyValue = str | int | bool | datetime | Sequence[str] | None
SECONDARY_IDS = "cmis:secondaryObjectTypeIds"


READ_ATTEMPTS = 4   # per read request; a write's attempts are the pipeline's ([http] write_attempts)
_NAME_CONFLICTS = {"nameConstraintViolation", "contentAlreadyExists"}
_UPDATE_CONFLICTS = {"updateConflict", "versioning"}
_REJECTED = {"invalidArgument", "constraint", "streamNotSupported", "filterNotValid"}
_REFUSED = {"permissionDenied", "unauthorized", "notSupported"}


def raise_for_cmis(response: requests.Response) -> requests.Response:
    """Map a Browser-binding response to our error classes by its ``exception`` field."""
    if response.status_code < 400:
        return response
    name, message = "", ""
    try:
        body = response.json()
        name, message = body.get("exception", ""), body.get("message", "")
    except ValueError:
        message = response.text[:200]
    raise_cmis_error(response, name, message)
    return response


def raise_cmis_error(response: requests.Response, name: str, message: str) -> None:
    """Raise the error class for a failed response whose CMIS exception ``name`` (possibly empty)
    and message the binding has extracted (Browser: JSON fields; AtomPub: see ``atom_xml``)."""
    where = f"{response.request.method if response.request else ''} {safe_url(response.url)}".strip()
    text = f"CMIS {name or 'error'} (HTTP {response.status_code}) on {where}: {message}"
    status = response.status_code
    if name in _NAME_CONFLICTS:
        raise NameConflict(text, name, status)
    if name in _UPDATE_CONFLICTS:
        raise UpdateConflict(text, name, status)
    if name == "objectNotFound" or status == 404:
        raise ObjectNotFound(text, name, status)
    if name in _REFUSED or status in (401, 403):
        raise RepositoryRefused(text, name, status)
    if status == 429 or status >= 500:
        raise _with_wait(RepositoryUnavailable(text, name, status), response)
    if name in _REJECTED or status == 400:
        raise RejectedByRepository(text, name, status)
    raise CmisError(text, name, status)


def _with_wait(exc: RepositoryUnavailable, response: requests.Response) -> RepositoryUnavailable:
    exc.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return exc


def encode_value(value: Any) -> str:
    """Browser binding form values are strings (cmislib bug 3): datetimes as epoch ms UTC."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp must carry a zone")
        return str(int(value.timestamp() * 1000))
    return str(value)


def decode_datetime(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def _property_fields(properties: Mapping[str, PropertyValue], start: int = 0) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    index = start
    for prop_id, value in properties.items():
        if value is None:
            continue
        fields.append((f"propertyId[{index}]", prop_id))
        if isinstance(value, (list, tuple)):
            for j, item in enumerate(value):
                fields.append((f"propertyValue[{index}][{j}]", encode_value(item)))
        else:
            fields.append((f"propertyValue[{index}]", encode_value(value)))
        index += 1
    return fields


def _ace_fields(prefix: str, aces: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    fields = []
    for i, (principal, permissions) in enumerate(sorted(aces.items())):
        fields.append((f"{prefix}ACEPrincipal[{i}]", principal))
        fields.extend((f"{prefix}ACEPermission[{i}][{j}]", p) for j, p in enumerate(permissions))
    return fields


@dataclass
class Upload:
    """A content stream on its way up: the chunks, and the properties known only once they ran out."""

    filename: str
    media_type: str
    chunks: Iterable[bytes]
    trailing_properties: Callable[[], Mapping[str, PropertyValue]] = lambda: {}


def _quote_header(value: str) -> str:
    return value.replace("\\", "_").replace('"', "_").replace("\r", " ").replace("\n", " ")


def multipart_body(fields: Sequence[tuple[str, str]], upload: Upload | None, boundary: str,
                   property_index: int) -> Iterator[bytes]:
    """A multipart/form-data body as a generator, so a 1 GiB file never sits in memory.

    Parts are coalesced into writes of ``WRITE_SIZE`` (64 KiB): a streamed body is one HTTP chunk
    per 64 KiB, not one per form field (many tiny chunks cost the server more than the document
    itself). The sender reads up to ``WHOLE_BODY`` (1 MiB) ahead and sends a body that ends by then
    whole (``whole_or_streamed``); beyond that at most ~1 MiB + 2 x 64 KiB are held at a time.
    """
    return _coalesced(_multipart_parts(fields, upload, boundary, property_index))


WRITE_SIZE = 1 << 16
# A request body up to this size is sent whole, with a Content-Length: one write after the headers,
# no chunk framing for the server to decode (a chunked 3 KB document cost a second write and the
# terminating chunk a third). A larger one streams, chunked, with at most this much read ahead.
WHOLE_BODY = 1 << 20


def whole_or_streamed(body: Iterator[bytes], limit: int = WHOLE_BODY) -> tuple[bytes | Iterator[bytes], bool]:
    """(the body, True if it streams): read up to ``limit`` bytes of it; if it ended, whole.

    Example: a 3 KB page's multipart body comes back as ``(b"--sa-...", False)``; a 50 MB
    attachment's as ``(an iterator that first replays the ~1 MiB read, True)``."""
    head: list[bytes] = []
    size = 0
    for piece in body:
        head.append(piece)
        size += len(piece)
        if size > limit:
            return itertools.chain(head, body), True
    return b"".join(head), False


def _coalesced(parts: Iterable[bytes], size: int = WRITE_SIZE) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in parts:
        if len(piece) >= size:
            if buffer:
                yield bytes(buffer)
                buffer.clear()
            yield piece
            continue
        buffer += piece
        if len(buffer) >= size:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _multipart_parts(fields: Sequence[tuple[str, str]], upload: Upload | None, boundary: str,
                     property_index: int) -> Iterator[bytes]:
    dash = f"--{boundary}\r\n"

    def parts(pairs: Iterable[tuple[str, str]]) -> bytes:
        # one string, encoded once: the fields are in memory already (properties), and a piece
        # per field cost more than building the rest of the request
        return "".join(f'{dash}Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                       for name, value in pairs).encode()

    yield parts([("_charset_", "UTF-8"), *fields])  # OpenCMIS reads form fields as ISO-8859-1 without _charset_
    if upload is not None:
        yield (f'{dash}Content-Disposition: form-data; name="content"; filename="{_quote_header(upload.filename)}"'
               f"\r\nContent-Type: {_quote_header(upload.media_type)}\r\n\r\n").encode()
        for chunk in upload.chunks:
            if chunk:
                yield chunk
        yield b"\r\n"
        yield parts(_property_fields(upload.trailing_properties(), property_index))
    yield f"--{boundary}--\r\n".encode()


@dataclass(frozen=True)
class RepositoryInfo:
    id: str
    product: str
    version: str
    cmis_version: str
    root_id: str
    anyone: str
    anonymous: str
    capabilities: dict
    acl_capabilities: dict

    @property
    def product_id(self) -> str:
        return f"{self.product} {self.version}"


class CmisRepository:
    """One CMIS repository over the Browser binding, with one pooled, instrumented session."""

    def __init__(self, browser_url: str, repository_id: str, username: str, password: str, *,
                 verify: bool | str = True, timeout: tuple[float, float] = (10.0, 300.0),
                 user_agent: str = "socialarchive", session: Session | None = None, pool_size: int = 0,
                 secondary_types: bool = True):
        """``secondary_types=False``: CMIS 1.0 mode (profile ``secondary_types``): the repository has
        no secondary types, so ``cmis:secondaryObjectTypeIds`` is left out of every write, whoever
        built the properties (filer, holds, reclassify, subject restrictions)."""
        self.browser_url = browser_url.rstrip("/")
        self.secondary_types = secondary_types
        self.session = session or make_session(user_agent, verify=verify, timeout=timeout,
                                               auth=(username, password), pool_size=pool_size)
        self._types: dict[str, dict] = {}   # type definitions found (they do not change under us)
        self._cmislib = CmisClient(self.browser_url, username, password)  # no kwargs: bug 1
        self._cmislib.binding = BrowserBinding()
        self._cmislib.extArgs = {}
        hooks = self._cmislib.session.hooks
        self._cmislib.session = self._cmislib_session(hooks)
        self.repository_id = repository_id
        self._repo = None
        self._info: RepositoryInfo | None = None

    def _cmislib_session(self, hooks: dict) -> Session:
        """cmislib's session: same pool, auth, TLS and timeouts as ours, plus its error hook."""
        s = Session(self.session.default_timeout)
        s.headers.update(self.session.headers)
        s.auth, s.verify, s.hooks = self.session.auth, self.session.verify, hooks
        for prefix, adapter in self.session.adapters.items():
            s.mount(prefix, adapter)
        return s

    @property
    def request_count(self) -> int:
        return self.session.request_count + self._cmislib.session.request_count

    @property
    def url(self) -> str:
        """The endpoint, whichever the binding (``AtomPubRepository.url``)."""
        return self.browser_url

    # --- repository and types (cmislib) -------------------------------------------------
    def _cmislib_call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except cmislib_errors.ObjectNotFoundException as exc:
            raise ObjectNotFound(f"CMIS objectNotFound: {exc}", "objectNotFound", 404) from None
        except cmislib_errors.PermissionDeniedException as exc:
            raise RepositoryRefused(f"CMIS permissionDenied on {safe_url(self.browser_url)}: {exc}",
                                    "permissionDenied", 403) from None
        except cmislib_errors.RuntimeException as exc:
            raise RepositoryUnavailable(f"CMIS runtime error: {exc}", "runtime", 500) from None
        except cmislib_errors.CmisException as exc:
            status = exc.status if isinstance(exc.status, int) else 0
            where = safe_url(str(exc.url or self.browser_url))
            text = f"CMIS error (HTTP {status or '?'}) on {where}: {str(exc.details or '')[:200]}"
            if status == 429 or status >= 500:   # cmislib names only 500: 502, 503, 429 are transient too
                raise RepositoryUnavailable(text, "runtime", status) from None
            raise CmisError(text, "", status) from None
        except requests.ConnectionError as exc:
            raise RepositoryUnavailable(f"cannot reach {safe_url(self.browser_url)}: {type(exc).__name__}") from None

    def _get(self, url: str, params: Mapping[str, str]) -> requests.Response:
        """An idempotent read, asked again on a transient failure (lost answer, reset, 429, 5xx):
        reads cannot duplicate anything, so they are retried right here, and a write attempt in the
        pipeline is not lost for a read that failed. Other statuses are returned to the caller."""
        def once() -> requests.Response:
            response = self.session.get(url, params=params)
            if response.status_code == 429 or response.status_code >= 500:
                raise_for_cmis(response)
            return response
        return retrying(once, attempts=READ_ATTEMPTS)

    def ping(self) -> None:
        """Ask the repository for its info, uncached: raises ``RepositoryUnavailable`` if it does not answer."""
        raise_for_cmis(self.session.get(self.browser_url, params={"cmisselector": "repositoryInfo",
                                                                  "repositoryId": self.repository_id}))

    @property
    def repository(self):
        if self._repo is None:
            self._repo = self._cmislib_call(lambda: self._cmislib.getRepository(self.repository_id))
        return self._repo

    def info(self) -> RepositoryInfo:
        if self._info is None:
            # cmislib's getRepositoryInfo drops the capabilities; the service document has them all.
            try:
                response = self._get(self.browser_url, params={"cmisselector": "repositoryInfo",
                                                                      "repositoryId": self.repository_id})
            except requests.ConnectionError as exc:
                raise RepositoryUnavailable(f"cannot reach {safe_url(self.browser_url)}: {type(exc).__name__}") from None
            raw = raise_for_cmis(response).json().get(self.repository_id)
            if raw is None:
                raise RepositoryRefused(f"no repository {self.repository_id!r} at {safe_url(self.browser_url)}")
            self._info = RepositoryInfo(
                id=raw["repositoryId"], product=raw.get("productName", ""),
                version=raw.get("productVersion", ""), cmis_version=raw.get("cmisVersionSupported", ""),
                root_id=raw["rootFolderId"], anyone=raw.get("principalIdAnyone") or "cmis:anyone",
                anonymous=raw.get("principalIdAnonymous") or "cmis:anonymous",
                capabilities=raw.get("capabilities", {}), acl_capabilities=raw.get("aclCapabilities", {}))
        return self._info

    @property
    def repository_url(self) -> str:
        return f"{self.browser_url}/{self.repository_id}"

    @property
    def root_url(self) -> str:
        return f"{self.repository_url}/root"

    def get_type(self, type_id: str) -> dict | None:
        """The type definition as JSON, or None if the repository does not know it (found ones are
        cached for the life of this object; a missing one is asked again)."""
        if type_id in self._types:
            return self._types[type_id]
        response = self._get(self.repository_url,
                                    params={"cmisselector": "typeDefinition", "typeId": type_id})
        if response.status_code == 404:
            return None
        definition = raise_for_cmis(response).json()
        self._types[type_id] = definition
        return definition

    def create_type(self, definition: dict) -> dict:
        response = self.session.post(self.repository_url,
                                     data={"cmisaction": "createType", "type": json.dumps(definition)})
        created = raise_for_cmis(response).json()
        if isinstance(created, dict) and created.get("id"):
            self._types[created["id"]] = created
        return created

    # --- objects -----------------------------------------------------------------------
    def get_object(self, object_id: str) -> dict:
        response = self._get(self.root_url, params={
            "objectId": object_id, "cmisselector": "object", "succinct": "true"})
        return raise_for_cmis(response).json()["succinctProperties"]

    def latest(self, object_id: str) -> dict:
        """Properties of the latest version of the series ``object_id`` belongs to."""
        response = self._get(self.root_url, params={
            "objectId": object_id, "cmisselector": "object", "succinct": "true", "returnVersion": "latest"})
        return raise_for_cmis(response).json()["succinctProperties"]

    def parents(self, object_id: str) -> list[str]:
        """Paths of the folders an object is filed in."""
        response = self._get(self.root_url, params={
            "objectId": object_id, "cmisselector": "parents", "succinct": "true"})
        return [p["object"]["succinctProperties"].get("cmis:path", "") for p in raise_for_cmis(response).json()]

    def get_object_by_path(self, path: str) -> dict | None:
        """Properties of the object at ``path`` (via cmislib), or None if nothing is there."""
        try:
            obj = self._cmislib_call(lambda: self.repository.getObjectByPath(path))
        except ObjectNotFound:
            return None
        return {"cmis:objectId": obj.getObjectId(), "cmis:name": obj.getName()}

    def create_folder(self, parent_id: str, name: str, type_id: str = "cmis:folder") -> dict:
        fields = [("cmisaction", "createFolder"), ("objectId", parent_id), ("succinct", "true")]
        fields += _property_fields({"cmis:objectTypeId": type_id, "cmis:name": name})
        return self._post_form(self.root_url, fields)

    def create_document(self, folder_id: str, properties: Mapping[str, PropertyValue],
                        upload: Upload | None, *, versioning_state: str | None = "major",
                        acl_add: Mapping[str, Sequence[str]] | None = None,
                        acl_remove: Mapping[str, Sequence[str]] | None = None) -> dict:
        """createDocument with properties, content, ACL and versioning state in ONE request."""
        fields = [("cmisaction", "createDocument"), ("objectId", folder_id), ("succinct", "true")]
        if versioning_state:
            fields.append(("versioningState", versioning_state))
        properties = self._writable(properties)
        fields += _property_fields(properties) + _ace_fields("add", acl_add or {}) + _ace_fields("remove", acl_remove or {})
        return self._post_multipart(self.root_url, fields, upload, _count(properties))

    def check_out(self, object_id: str) -> dict:
        return self._post_form(self.root_url, [("cmisaction", "checkOut"), ("objectId", object_id),
                                               ("succinct", "true")])

    def cancel_check_out(self, pwc_id: str) -> None:
        self._post_form(self.root_url, [("cmisaction", "cancelCheckOut"), ("objectId", pwc_id)])

    def delete_scratch(self, object_id: str) -> None:
        """Delete a scratch object (every version) that the connector made for itself, such as
        the timing probes of ``socialarchive plan``. Never used on archived records."""
        self._post_form(self.root_url, [("cmisaction", "delete"), ("objectId", object_id),
                                        ("allVersions", "true")])

    def check_in(self, pwc_id: str, properties: Mapping[str, PropertyValue], upload: Upload | None,
                 comment: str = "", major: bool = True) -> dict:
        """checkIn with properties and content; sends ``major`` explicitly (cmislib bug 7)."""
        fields = [("cmisaction", "checkIn"), ("objectId", pwc_id), ("succinct", "true"),
                  ("major", "true" if major else "false"), ("checkinComment", comment)]
        properties = self._writable(properties)
        fields += _property_fields(properties)
        return self._post_multipart(self.root_url, fields, upload, _count(properties))

    def update_properties(self, object_id: str, properties: Mapping[str, PropertyValue],
                          change_token: str | None = None) -> dict:
        """updateProperties (``cmisaction=update``) on one object, e.g. one version: metadata events
        only (holds, restrictions), never content. An empty list clears a multi-valued property
        (OpenCMIS InMemory then shows the value the document was created with again, until the
        version series object is cleared too: see ``compliance.holds``). Name
        ``cmis:secondaryObjectTypeIds`` (all of them) when setting secondary properties: OpenCMIS
        InMemory refuses them as unknown otherwise."""
        fields = [("cmisaction", "update"), ("objectId", object_id), ("succinct", "true")]
        if change_token:
            fields.append(("changeToken", change_token))
        fields += _property_fields(self._writable(properties))
        return self._post_form(self.root_url, fields)

    def apply_acl(self, object_id: str, add: Mapping[str, Sequence[str]],
                  remove: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
        fields = [("cmisaction", "applyACL"), ("objectId", object_id), ("ACLPropagation", "objectonly")]
        fields += _ace_fields("add", add) + _ace_fields("remove", remove)
        return _parse_acl(self._post_form(self.root_url, fields))

    def acl(self, object_id: str) -> dict[str, set[str]]:
        """Direct and inherited ACEs as {principal: {permission, ...}}."""
        response = self._get(self.root_url, params={"objectId": object_id, "cmisselector": "acl"})
        return _parse_acl(raise_for_cmis(response).json())

    def versions(self, object_id: str) -> list[dict]:
        """All versions of the series ``object_id`` belongs to, oldest first."""
        response = self._get(self.root_url, params={
            "objectId": object_id, "cmisselector": "versions", "succinct": "true"})
        found = [v["succinctProperties"] for v in raise_for_cmis(response).json()]
        return sorted(found, key=lambda p: (p.get("cmis:creationDate") or 0, _label_key(p)))

    def content(self, object_id: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """Stream a document's content (cmislib reads it whole into memory: bug 11)."""
        with self.session.get(self.root_url, params={"objectId": object_id, "cmisselector": "content"},
                              stream=True) as response:
            raise_for_cmis(response)
            yield from response.iter_content(chunk_size)

    def query(self, statement: str, *, page_size: int = 200, all_versions: bool = False) -> Iterator[dict]:
        """Run a CMIS query and page through every result by hand (cmislib bug 10)."""
        skip = 0
        while True:
            response = self._get(self.repository_url, params={
                "cmisselector": "query", "q": statement, "succinct": "true", "maxItems": str(page_size),
                "skipCount": str(skip), "searchAllVersions": "true" if all_versions else "false"})
            body = raise_for_cmis(response).json()
            rows = body.get("results", [])
            for row in rows:
                yield {k: _single(v) for k, v in row.get("succinctProperties", {}).items()}
            skip += len(rows)
            if not body.get("hasMoreItems") or not rows:
                return

    def children(self, folder_id: str, page_size: int = 500) -> Iterator[dict]:
        skip = 0
        while True:
            response = self._get(self.root_url, params={
                "objectId": folder_id, "cmisselector": "children", "succinct": "true",
                "maxItems": str(page_size), "skipCount": str(skip)})
            body = raise_for_cmis(response).json()
            objects = body.get("objects", [])
            for entry in objects:
                yield entry["object"]["succinctProperties"]
            skip += len(objects)
            if not body.get("hasMoreItems") or not objects:
                return

    def _writable(self, properties: Mapping[str, PropertyValue]) -> Mapping[str, PropertyValue]:
        if self.secondary_types or SECONDARY_IDS not in properties:
            return properties
        return {k: v for k, v in properties.items() if k != SECONDARY_IDS}

    # --- transport -------------------------------------------------------------------
    def _post_form(self, url: str, fields: list[tuple[str, str]]) -> dict:
        data = [("_charset_", "UTF-8")] + fields
        response = self.session.post(url, data=[(k, v.encode("utf-8")) for k, v in data])
        raise_for_cmis(response)
        return response.json().get("succinctProperties", response.json()) if response.content else {}

    def _post_multipart(self, url: str, fields: list[tuple[str, str]], upload: Upload | None,
                        next_index: int) -> dict:
        boundary = f"sa-{uuid.uuid4().hex}"
        body, _ = whole_or_streamed(multipart_body(fields, upload, boundary, next_index))
        try:
            response = self.session.post(url, data=body, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RepositoryUnavailable(f"upload to {safe_url(url)} failed: {type(exc).__name__}") from None
        raise_for_cmis(response)
        return response.json()["succinctProperties"]


def _count(properties: Mapping[str, PropertyValue]) -> int:
    return sum(1 for v in properties.values() if v is not None)


def _single(value: Any) -> Any:
    """Queries return every value as a list on InMemory; unwrap single values."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _label_key(props: dict) -> tuple[int, ...]:
    label = props.get("cmis:versionLabel") or "0"
    return tuple(int(p) if p.isdigit() else 0 for p in label.split("."))


def _parse_acl(body: dict) -> dict[str, set[str]]:
    acl: dict[str, set[str]] = {}
    for ace in body.get("aces", []):
        acl.setdefault(ace["principal"]["principalId"], set()).update(ace.get("permissions", []))
    return acl
