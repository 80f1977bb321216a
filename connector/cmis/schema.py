"""Our CMIS types: the ``sa:archived`` secondary type carrying the archive metadata, and the
``sa:document`` versionable document type carrying the lookup key.

Why two types: CMIS 1.1 puts extra metadata on secondary types (Alfresco aspects, Nuxeo facets),
so the metadata lives there. But a query can only return object ids together with secondary
properties through a JOIN, and the OpenCMIS InMemory server has no joins; so the record key,
the one property we must find an object by, sits on our document type as well. Searching by
metadata runs on ``sa:archived`` (returns the key fields), resolving ids runs on ``sa:document``.

Profiles say how a repository gets these types: created with ``createType`` where the repository
allows type mutability (OpenCMIS InMemory), or deployed beforehand (Alfresco: the content model
under ``docker/alfresco``) and only checked at start.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..fold import fold

NAMESPACE = "http://socialarchive.example/model/1.0"
SECONDARY_TYPE = "sa:archived"
DOCUMENT_TYPE = "sa:document"
FOLDER_TYPE = "cmis:folder"
KEY_PROPERTY = "sa:recordKey"


@dataclass(frozen=True)
class Prop:
    id: str
    type: str = "string"
    multi: bool = False
    description: str = ""


ARCHIVE_PROPERTIES: tuple[Prop, ...] = (
    Prop("sa:sourceSystem", description="the source's system: the type of its [sources.NAME] table"),
    Prop("sa:source", description="the source's name in the connector config"),
    Prop("sa:kind", description="page, file, post, comment, media, thread, tombstone ..."),
    Prop("sa:nativeId", description="the item's id in the source"),
    Prop("sa:revisionId", description="the source revision this version holds"),
    Prop("sa:sourceUrl", description="where the item lives in the source"),
    Prop("sa:title", description="the original title, unsanitised"),
    Prop("sa:author", description="who created the item"),
    Prop("sa:revisionAuthor", description="who made this revision"),
    Prop("sa:revisionComment", description="the edit summary of this revision"),
    Prop("sa:created", "datetime", description="item creation time in the source"),
    Prop("sa:modified", "datetime", description="item modification time in the source"),
    Prop("sa:revisionCreated", "datetime", description="time of this revision in the source"),
    Prop("sa:space", description="namespace, category, blog section"),
    Prop("sa:parentId", description="record key of the parent (thread, post, page)"),
    Prop("sa:tags", multi=True, description="categories and tags"),
    Prop("sa:visibility", description="public or restricted, as seen in the source"),
    Prop("sa:visibilityReason", description="why the item is restricted"),
    Prop("sa:readers", multi=True, description="source principals who may read it"),
    Prop("sa:sha256", description="SHA-256 of this version's content stream"),
    Prop("sa:contentLength", "integer", description="bytes in this version's content stream"),
    Prop("sa:sourceDigest", description="the source's own digest, algorithm:hex"),
    Prop("sa:mediaType", description="media type of the original markup or file"),
    Prop("sa:capturedAt", "datetime", description="when the connector read it"),
    Prop("sa:runId", description="the connector run that filed this version"),
    Prop("sa:connectorVersion"),
    Prop("sa:sourceRecord", description="the raw source record (JSON) of this revision"),
    Prop("sa:extra", description="other source fields, JSON"),
    Prop("sa:deletedAt", "datetime", description="tombstones: when the source deleted it"),
    Prop("sa:recordClass", description="retention class (compliance rules)"),
    Prop("sa:retainUntil", "datetime", description="retention expiry"),
    Prop("sa:holdIds", multi=True, description="legal holds on this record"),
    Prop("sa:classRule", description="the classification rule that gave the record class, or 'default'"),
    Prop("sa:sensitive", multi=True, description="sensitive-data detectors that matched this version"),
    Prop("sa:restricted", "boolean", description="processing restricted (GDPR Art. 18) while retention runs"),
)

# Folded copies (``connector.fold``) of the properties a person searches by, filed with every
# version: CMIS QL has no lower(), and OpenCMIS InMemory compares exactly. They sit on the
# document type, whose queries limited to the archive's tree see every version on InMemory (the
# secondary type's see only the first). Every version we file has ``sa:titleFolded`` (the folded
# cmis:name where there is no title): a version without it was filed before the copies existed.
FOLDED = {"sa:title": "sa:titleFolded", "sa:author": "sa:authorFolded",
          "sa:revisionAuthor": "sa:revisionAuthorFolded"}
TITLE_FOLDED = FOLDED["sa:title"]

DOCUMENT_PROPERTIES: tuple[Prop, ...] = (
    Prop(KEY_PROPERTY, description="source/kind/native id: the record's identity across runs"),
    Prop("sa:titleFolded", description="sa:title (else cmis:name) case- and accent-folded, for search"),
    Prop("sa:authorFolded", description="sa:author case- and accent-folded, for search"),
    Prop("sa:revisionAuthorFolded", description="sa:revisionAuthor case- and accent-folded, for search"),
)


def search_copies(properties: dict) -> dict:
    """The folded copies of a version's properties (as filed: item and version properties merged).

    >>> search_copies({"cmis:name": "x [1]", "sa:title": "München", "sa:author": "Admin"})
    {'sa:titleFolded': 'munchen', 'sa:authorFolded': 'admin'}
    """
    copies = {folded: fold(str(properties[prop])) for prop, folded in FOLDED.items() if properties.get(prop)}
    copies.setdefault(TITLE_FOLDED, fold(str(properties.get("cmis:name") or "")))
    return copies


def _property_definition(prop: Prop) -> dict:
    return {
        "id": prop.id, "localName": prop.id, "localNamespace": NAMESPACE,
        "queryName": prop.id, "displayName": prop.id.split(":", 1)[1],
        "description": prop.description or prop.id, "propertyType": prop.type,
        "cardinality": "multi" if prop.multi else "single", "updatability": "readwrite",
        "inherited": False, "required": False, "queryable": True, "orderable": not prop.multi,
        "openChoice": False,
    }


def secondary_type_definition() -> dict:
    return {
        "id": SECONDARY_TYPE, "localName": "archived", "localNamespace": NAMESPACE,
        "queryName": SECONDARY_TYPE, "displayName": "Social archive record",
        "description": "Provenance, integrity and retention metadata of an archived social item",
        "baseId": "cmis:secondary", "parentId": "cmis:secondary", "creatable": False, "fileable": False,
        "queryable": True, "fulltextIndexed": False, "includedInSupertypeQuery": True,
        "controllablePolicy": False, "controllableACL": False,
        "propertyDefinitions": {p.id: _property_definition(p) for p in ARCHIVE_PROPERTIES},
    }


def document_type_definition(parent: str = "cmis:document") -> dict:
    return {
        "id": DOCUMENT_TYPE, "localName": "document", "localNamespace": NAMESPACE,
        "queryName": DOCUMENT_TYPE, "displayName": "Social archive document",
        "description": "A versioned archived item: one version per source revision",
        "baseId": "cmis:document", "parentId": parent, "creatable": True, "fileable": True,
        "queryable": True, "fulltextIndexed": True, "includedInSupertypeQuery": True,
        "controllablePolicy": False, "controllableACL": True, "versionable": True,
        "contentStreamAllowed": "allowed",
        "propertyDefinitions": {p.id: _property_definition(p) for p in DOCUMENT_PROPERTIES},
    }


def missing_properties(definition: dict, wanted: tuple[Prop, ...]) -> list[str]:
    have = set(definition.get("propertyDefinitions", {}))
    return [p.id for p in wanted if p.id not in have]
