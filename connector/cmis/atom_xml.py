"""CMIS AtomPub documents, both ways: Atom entries written as byte generators (content streamed as
base64, never held whole), and entries, feeds, service documents, ACLs and type definitions read
through the project's one XML entry point (``connector.xml``: lxml, no entities, no network).

Properties read come out the way the Browser binding's succinct JSON has them, so callers do not
care which binding they talk to: datetimes as epoch milliseconds (UTC), integers as ``int``,
booleans as ``bool``, multi-valued properties as lists (a property is multi-valued when a type
definition seen says so, see ``PropertyTypes``), a property without a value as ``None``.

Example (the body of a createDocument, content first so the SHA-256 computed while it streams can
go into the properties that follow it)::

    body = entry_body(props, types, content=Upload("a.txt", "text/plain", [b"hello"]))
    b"".join(body)   # b'<?xml ...><atom:entry ...><cmisra:content>...aGVsbG8=...</cmisra:content>
                     #   <cmisra:object><cmis:properties>...'

OpenCMIS reads the entry's children in any order (checked on InMemory 1.1.0).
"""
from __future__ import annotations

import base64
import html
import re
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import quote

import requests
from lxml import etree

from ..xml import parse_xml
from .client import PropertyValue, Upload, _coalesced, raise_cmis_error

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
CMIS = "http://docs.oasis-open.org/ns/cmis/core/200908/"
CMISRA = "http://docs.oasis-open.org/ns/cmis/restatom/200908/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"atom": ATOM, "app": APP, "cmis": CMIS, "cmisra": CMISRA}
REL_ACL = "http://docs.oasis-open.org/ns/cmis/link/200908/acl"
ENTRY_TYPE = "application/atom+xml;type=entry"
ACL_TYPE = "application/cmisacl+xml"
MAX_XML = 64 * 1024 * 1024   # feeds of 200 records with their source records; the session caps answers too
_DECLS = (f'xmlns:atom="{ATOM}" xmlns:app="{APP}" xmlns:cmis="{CMIS}" xmlns:cmisra="{CMISRA}" '
          f'xmlns:xsi="{XSI}"')
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MILLISECOND = timedelta(milliseconds=1)   # epoch ms in integers: a float timestamp loses the last one
_B64_CHUNK = 3 * (1 << 15)   # 96 KiB of content -> 128 KiB of base64, no padding inside the stream

# Base CMIS properties whose type is not string (the others a client sends are strings).
_BASE_TYPES = {name: "id" for name in (
    "cmis:objectId", "cmis:objectTypeId", "cmis:baseTypeId", "cmis:secondaryObjectTypeIds",
    "cmis:versionSeriesId", "cmis:versionSeriesCheckedOutId", "cmis:parentId", "cmis:sourceId",
    "cmis:targetId", "cmis:policyId", "cmis:allowedChildObjectTypeIds", "cmis:contentStreamId")}
_MULTI = {"cmis:secondaryObjectTypeIds", "cmis:allowedChildObjectTypeIds"}
_ELEMENT = {"string": "propertyString", "id": "propertyId", "integer": "propertyInteger",
            "boolean": "propertyBoolean", "datetime": "propertyDateTime", "decimal": "propertyDecimal",
            "html": "propertyHtml", "uri": "propertyUri"}
_KIND = {element: kind for kind, element in _ELEMENT.items()}
_TYPE_XSI = {"cmis:document": "cmisTypeDocumentDefinitionType", "cmis:folder": "cmisTypeFolderDefinitionType",
             "cmis:secondary": "cmisTypeSecondaryDefinitionType", "cmis:item": "cmisTypeItemDefinitionType",
             "cmis:policy": "cmisTypePolicyDefinitionType",
             "cmis:relationship": "cmisTypeRelationshipDefinitionType"}
_TYPE_TAIL = ("versionable", "contentStreamAllowed")   # document fields that follow the property definitions


_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def escape(text: str, extra: dict[str, str] | None = None) -> str:
    """``text`` as XML character data (``&``, ``<``, ``>`` and any ``extra`` characters replaced);
    writing only: everything read goes through ``connector.xml.parse_xml``."""
    table = {**_TEXT_ESCAPES, **(extra or {})}
    return "".join(table.get(ch, ch) for ch in text)


def quoteattr(text: str) -> str:
    """``text`` as a double-quoted XML attribute value (whitespace kept as character references)."""
    return '"' + "".join(_ATTRIBUTE_ESCAPES.get(ch, ch) for ch in text) + '"'



class PropertyTypes:
    """Type and cardinality of every property id seen in a type definition (thread-safe): an Atom
    entry must name each property's type, and only the definition tells a one-value list apart
    from a single value. Base CMIS properties are known from the start."""

    def __init__(self) -> None:
        self._types: dict[str, str] = dict(_BASE_TYPES)
        self._multi: set[str] = set(_MULTI)
        self._lock = threading.Lock()

    def learn(self, definition: Mapping[str, Any]) -> None:
        with self._lock:
            for prop_id, prop in definition.get("propertyDefinitions", {}).items():
                self._types[prop_id] = prop.get("propertyType", "string")
                if prop.get("cardinality") == "multi":
                    self._multi.add(prop_id)

    def kind(self, prop_id: str, value: Any) -> str:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int) and self._types.get(prop_id) != "datetime":
            return "integer"
        if isinstance(value, datetime):
            return "datetime"
        return self._types.get(prop_id, "string")

    def multi(self, prop_id: str) -> bool:
        return prop_id in self._multi


# --- writing -----------------------------------------------------------------------------
def _text(value: Any, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "datetime":
        if isinstance(value, int):   # epoch ms, as read back from the repository
            value = EPOCH + value * MILLISECOND
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError("naive datetime: every timestamp must carry a zone")
            return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return escape(str(value), {"\r": "&#13;"})   # a raw CR would be read back as LF


def properties_xml(properties: Mapping[str, PropertyValue], types: PropertyTypes) -> str:
    """``<cmis:properties>`` for the given values (``None`` is left out; a list is multi-valued)."""
    out = ["<cmis:properties>"]
    for prop_id, value in properties.items():
        if value is None:
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        kind = types.kind(prop_id, values[0] if values else None)
        element = _ELEMENT.get(kind, "propertyString")
        out.append(f"<cmis:{element} propertyDefinitionId={quoteattr(prop_id)}>"
                   + "".join(f"<cmis:value>{_text(v, kind)}</cmis:value>" for v in values)
                   + f"</cmis:{element}>")
    out.append("</cmis:properties>")
    return "".join(out)


def entry_body(properties: Mapping[str, PropertyValue], types: PropertyTypes,
               content: Upload | None = None, title: str = "") -> Iterator[bytes]:
    """An Atom entry as a generator of writes of about 64 KiB: content first (streamed as base64
    in 96 KiB pieces), then the properties, including those known only when the content ran out
    (``Upload.trailing_properties``: SHA-256, length)."""
    return _coalesced(_entry_parts(properties, types, content, title))


def _entry_parts(properties: Mapping[str, PropertyValue], types: PropertyTypes,
                 content: Upload | None, title: str) -> Iterator[bytes]:
    yield (f'<?xml version="1.0" encoding="UTF-8"?><atom:entry {_DECLS}>'
           f"<atom:title>{escape(title)}</atom:title>").encode()
    if content is not None:
        yield (f"<cmisra:content><cmisra:mediatype>{escape(content.media_type)}</cmisra:mediatype>"
               "<cmisra:base64>").encode()
        yield from base64_chunks(content.chunks)
        yield b"</cmisra:base64></cmisra:content>"
        properties = {**properties, **content.trailing_properties()}
    yield f"<cmisra:object>{properties_xml(properties, types)}</cmisra:object></atom:entry>".encode()


def base64_chunks(chunks: Iterable[bytes], size: int = _B64_CHUNK) -> Iterator[bytes]:
    """Base64 of a byte stream, piece by piece: whole 3-byte groups are encoded as they come, the
    rest waits for the next chunk, so the output equals ``b64encode`` of the whole.

    >>> b"".join(base64_chunks([b"he", b"llo", b"!"], size=3)) == base64.b64encode(b"hello!")
    True
    """
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        if len(pending) >= size:
            cut = len(pending) - len(pending) % 3
            yield base64.b64encode(bytes(pending[:cut]))
            del pending[:cut]
    if pending:
        yield base64.b64encode(bytes(pending))


def acl_xml(aces: Mapping[str, Iterable[str]]) -> bytes:
    """A whole ACL (AtomPub's applyACL replaces the object's direct ACEs with it)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><cmis:acl xmlns:cmis="{CMIS}">']
    for principal, permissions in sorted(aces.items()):
        parts.append(f"<cmis:permission><cmis:principal><cmis:principalId>{escape(principal)}"
                     "</cmis:principalId></cmis:principal>"
                     + "".join(f"<cmis:permission>{escape(p)}</cmis:permission>" for p in sorted(permissions))
                     + "<cmis:direct>true</cmis:direct></cmis:permission>")
    parts.append("</cmis:acl>")
    return "".join(parts).encode()


def type_definition_xml(definition: Mapping[str, Any], element: str = "cmisra:type") -> str:
    """A type definition (the Browser binding's JSON shape, as ``schema`` builds it) as CMIS XML:
    the body of an AtomPub createType, and the element a types file for OpenCMIS InMemory holds."""
    kind = _TYPE_XSI.get(str(definition.get("baseId")), "cmisTypeDocumentDefinitionType")
    head = [f"<cmis:{k}>{_text(v, 'boolean' if isinstance(v, bool) else 'string')}</cmis:{k}>"
            for k, v in definition.items() if k != "propertyDefinitions" and k not in _TYPE_TAIL]
    props = []
    for prop in definition.get("propertyDefinitions", {}).values():
        tag = f"cmis:{_ELEMENT.get(prop.get('propertyType', 'string'), 'propertyString')}Definition"
        props.append(f"<{tag}>" + "".join(
            f"<cmis:{k}>{_text(v, 'boolean' if isinstance(v, bool) else 'string')}</cmis:{k}>"
            for k, v in prop.items()) + f"</{tag}>")
    tail = [f"<cmis:{k}>{_text(definition[k], 'boolean' if isinstance(definition[k], bool) else 'string')}</cmis:{k}>"
            for k in _TYPE_TAIL if k in definition]
    return (f'<{element} xsi:type="cmis:{kind}">' + "".join(head) + "".join(props) + "".join(tail)
            + f"</{element}>")


def type_entry(definition: Mapping[str, Any]) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><atom:entry {_DECLS}>'
            f"<atom:title>{escape(str(definition.get('id', '')))}</atom:title>"
            f"{type_definition_xml(definition)}</atom:entry>").encode()


# --- reading -----------------------------------------------------------------------------
def parse(response: requests.Response) -> etree._Element:
    return parse_xml(response.content, max_bytes=MAX_XML)


def raise_for_atom(response: requests.Response) -> requests.Response:
    """Map a failed AtomPub response to our error classes. OpenCMIS answers with an HTML page
    carrying ``<!--exception-->name<!--/exception-->`` and ``<!--message-->...<!--/message-->``."""
    if response.status_code < 400:
        return response
    text = response.text[:20000]
    name = re.search(r"<!--exception-->(.*?)<!--/exception-->", text, re.S)
    message = re.search(r"<!--message-->(.*?)<!--/message-->", text, re.S)
    raise_cmis_error(response, name.group(1).strip() if name else "",
                     html.unescape(message.group(1).strip()) if message else text[:200])
    return response


def _value(text: str | None, kind: str) -> Any:
    if text is None:
        return None
    if kind == "datetime":
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return (stamp - EPOCH) // MILLISECOND
    if kind == "integer":
        return int(text)
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind == "decimal":
        return float(text)
    return text


def entry_properties(entry: etree._Element, types: PropertyTypes, by_query_name: bool = False) -> dict[str, Any]:
    """The properties of an Atom entry, shaped like the Browser binding's succinct properties."""
    props: dict[str, Any] = {}
    found = entry.find("cmisra:object/cmis:properties", NS)
    if found is None:
        return props
    for element in found:
        if not isinstance(element.tag, str):
            continue
        kind = _KIND.get(etree.QName(element).localname, "string")
        prop_id = element.get("propertyDefinitionId") or ""
        key = (element.get("queryName") or prop_id) if by_query_name else prop_id
        values = [_value(v.text or "", kind) for v in element.findall("cmis:value", NS)]
        if types.multi(prop_id) or len(values) > 1:
            props[key] = values
        else:
            props[key] = values[0] if values else None
    return props


def entry_links(entry: etree._Element) -> dict[str, str]:
    """rel -> href of an entry's links (the first of each rel), plus ``content`` (atom:content src)."""
    links: dict[str, str] = {}
    for link in entry.findall("atom:link", NS):
        links.setdefault(link.get("rel", ""), link.get("href", ""))
    content = entry.find("atom:content", NS)
    if content is not None and content.get("src"):
        links["content"] = content.get("src", "")
    return links


def feed_entries(feed: etree._Element) -> list[etree._Element]:
    return feed.findall("atom:entry", NS)


def has_next(feed: etree._Element) -> bool:
    return any(link.get("rel") == "next" for link in feed.findall("atom:link", NS))


def parse_acl(root: etree._Element) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(all ACEs, direct ACEs) as {principal: {permission, ...}}."""
    every: dict[str, set[str]] = {}
    direct: dict[str, set[str]] = {}
    for ace in root.findall("cmis:permission", NS):
        principal = ace.findtext("cmis:principal/cmis:principalId", "", NS)
        permissions = {p.text or "" for p in ace.findall("cmis:permission", NS)}
        every.setdefault(principal, set()).update(permissions)
        if (ace.findtext("cmis:direct", "true", NS) or "true").strip().lower() == "true":
            direct.setdefault(principal, set()).update(permissions)
    return every, direct


def _simple(element: etree._Element) -> Any:
    """An element as a value: its text (``true``/``false`` as bool), or, when it has children,
    a dict of their values (repeated children as lists)."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        text = (element.text or "").strip()
        return {"true": True, "false": False}.get(text, text)
    out: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = _simple(child)
        if name in out:
            out[name] = out[name] + [value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def type_definition(entry: etree._Element) -> dict[str, Any] | None:
    """A ``cmisra:type`` as the Browser binding's JSON type definition (the fields callers read:
    id, baseId, versionable, propertyDefinitions with propertyType and cardinality, ...)."""
    found = entry.find("cmisra:type", NS)
    if found is None:
        return None
    definition: dict[str, Any] = {"propertyDefinitions": {}}
    for child in found:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name.startswith("property") and name.endswith("Definition"):
            prop = _simple(child)
            if isinstance(prop, dict) and prop.get("id"):
                definition["propertyDefinitions"][prop["id"]] = prop
        else:
            definition[name] = _simple(child)
    return definition


def listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def service_workspace(root: etree._Element, repository_id: str) -> etree._Element | None:
    for workspace in root.findall("app:workspace", NS):
        if workspace.findtext("cmisra:repositoryInfo/cmis:repositoryId", "", NS) == repository_id:
            return workspace
    return None


def workspace_urls(workspace: etree._Element) -> tuple[dict[str, str], dict[str, str]]:
    """(collection type -> href, URI template type -> template) of a service document workspace."""
    collections = {c.findtext("cmisra:collectionType", "", NS): c.get("href", "")
                   for c in workspace.findall("app:collection", NS)}
    templates = {t.findtext("cmisra:type", "", NS): t.findtext("cmisra:template", "", NS)
                 for t in workspace.findall("cmisra:uritemplate", NS)}
    return collections, templates


def repository_info_fields(workspace: etree._Element) -> dict[str, Any]:
    """The workspace's ``cmisra:repositoryInfo`` with its Browser-binding JSON names: the
    capabilities as ``capabilities``, ``aclCapability`` as ``aclCapabilities``."""
    info = workspace.find("cmisra:repositoryInfo", NS)
    fields = _simple(info) if info is not None else {}
    fields = fields if isinstance(fields, dict) else {}
    capabilities = fields.get("capabilities") or {}
    if isinstance(capabilities, dict) and isinstance(capabilities.get("capabilityCreatablePropertyTypes"), dict):
        creatable = capabilities["capabilityCreatablePropertyTypes"]
        creatable["canCreate"] = listed(creatable.get("canCreate", []))
    fields["capabilities"] = capabilities if isinstance(capabilities, dict) else {}
    fields["aclCapabilities"] = fields.get("aclCapability") or {}
    return fields


def fill(template: str, **values: str) -> str:
    """Expand a CMIS URI template (``{name}`` placeholders; unknown ones become empty)."""
    return re.sub(r"\{(\w+)\}", lambda m: quote(values.get(m.group(1), ""), safe=""), template)

