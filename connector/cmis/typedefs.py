"""Our types as a repository must hold them: what is present, what is missing, and the CMIS 1.0
type-definition file an administrator deploys.

CMIS 1.0 has no secondary types and no ``createType``: there, every archive property
(``schema.ARCHIVE_PROPERTIES``) sits on our document type ``sa:document`` beside the record key,
and the repository's administrator creates that type before the first run, from the file this
module writes (``socialarchive docs cmis10-type --out FILE``; shipped as ``TYPE_FILE``). It is
generated from ``schema``, the one source of truth, so a property added there appears in it (a
test checks the shipped file is current). The format is the CMIS XML type definition
(``cmisra:type``, ``cmisTypeDocumentDefinitionType``), which OpenCMIS InMemory loads at start
(``InMemoryServer.TypeDefinitionsFile``) and CMIS Workbench imports; other ECMs take its
property list into their own type tools.

Example::

    for status in type_status(repo, profile("cmis10")):
        if not status.ok:
            print(deploy_hint(profile("cmis10"), status))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import schema
from .profiles import Profile

TYPE_FILE = "docker/cmis10/socialarchive-types.xml"   # relative to the source tree
CMIS = "http://docs.oasis-open.org/ns/cmis/core/200908/"
CMISRA = "http://docs.oasis-open.org/ns/cmis/restatom/200908/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ELEMENT = {"string": "propertyStringDefinition", "datetime": "propertyDateTimeDefinition",
            "integer": "propertyIntegerDefinition", "boolean": "propertyBooleanDefinition",
            "id": "propertyIdDefinition"}
_TYPE_FIELDS = ("id", "localName", "localNamespace", "displayName", "queryName", "description", "baseId",
                "parentId", "creatable", "fileable", "queryable", "fulltextIndexed", "includedInSupertypeQuery",
                "controllablePolicy", "controllableACL")
_PROPERTY_FIELDS = ("id", "localName", "localNamespace", "displayName", "queryName", "description",
                    "propertyType", "cardinality", "updatability", "inherited", "required", "queryable",
                    "orderable", "openChoice")


def cmis10_document_type() -> dict:
    """``sa:document`` carrying the record key and every archive property (no secondary type)."""
    definition = schema.document_type_definition()
    definition["description"] = ("A versioned archived item: one version per source revision, with its "
                                 "provenance, integrity and retention metadata (CMIS 1.0: no secondary types)")
    definition["propertyDefinitions"].update(schema.secondary_type_definition()["propertyDefinitions"])
    return definition


def wanted(profile: Profile) -> list[tuple[str, tuple[schema.Prop, ...]]]:
    """(type id, properties it must define) for each type the profile files with."""
    if not profile.secondary_types:
        return [(profile.document_type, schema.DOCUMENT_PROPERTIES + schema.ARCHIVE_PROPERTIES)]
    return [(profile.secondary_type, schema.ARCHIVE_PROPERTIES), (profile.document_type, schema.DOCUMENT_PROPERTIES)]


@dataclass(frozen=True)
class TypeStatus:
    type_id: str
    present: bool
    missing: tuple[str, ...] = ()     # property ids the repository's definition lacks
    versionable: bool | None = None

    @property
    def ok(self) -> bool:
        return self.present and not self.missing


def type_status(repo, profile: Profile) -> list[TypeStatus]:
    """What the repository holds of each type the profile needs (one getTypeDefinition each)."""
    out = []
    for type_id, props in wanted(profile):
        definition = repo.get_type(type_id)
        if definition is None:
            out.append(TypeStatus(type_id, False))
        else:
            out.append(TypeStatus(type_id, True, tuple(schema.missing_properties(definition, props)),
                                  definition.get("versionable")))
    return out


def deploy_hint(profile: Profile, status: TypeStatus) -> str:
    """What the operator must do about a type that is missing or lacks properties."""
    what = (f"type {status.type_id} is missing in the repository" if not status.present else
            f"type {status.type_id} lacks properties {', '.join(status.missing)} (defined by an older socialarchive)")
    if not profile.secondary_types:
        return (f"{what}: the repository's administrator must deploy the type definition {TYPE_FILE} "
                f"(write it with `socialarchive docs cmis10-type --out FILE`): document type {status.type_id} "
                f"under cmis:document, versionable, with {len(wanted(profile)[0][1])} properties"
                + (f", of which these are missing: {', '.join(status.missing)}" if status.missing else "")
                + "; on OpenCMIS InMemory, start the server with InMemoryServer.TypeDefinitionsFile naming "
                  "that file (servers/opencmis/up.sh: CMIS_TYPES=FILE)")
    if status.present:
        return (f"{what}: deploy the current content model, or on OpenCMIS InMemory, which cannot update "
                "types and keeps them in memory, restart the server")
    return f"{what}; deploy the content model for profile {profile.name} (see docker/) before filing"


def profile_hint(cmis_version: str, profile: Profile) -> str | None:
    """Why a profile cannot work with a repository of this CMIS version, or None.

    A CMIS 1.0 repository has no secondary types and no ``createType``, so only the 1.0 profiles fit
    it; the reverse is fine (a 1.1 repository serves the 1.0 mode, which is how it is tested)."""
    if cmis_version == "1.0" and profile.secondary_types:
        return (f"the repository speaks CMIS 1.0 (no secondary types): profile {profile.name} cannot file "
                "there; set [repository] profile = \"cmis10\" (\"opencmis-inmemory-cmis10\" on OpenCMIS InMemory) "
                f"and have the administrator deploy {TYPE_FILE}")
    return None


def render(definitions: list[dict]) -> bytes:
    """The type definitions as a CMIS XML type-definition file (``cmisra:type`` elements).
    lxml is imported here, not with the module: a sync imports this module for ``type_status``
    and never writes XML (4-5 ms of every process start)."""
    from lxml import etree
    root = etree.Element(f"{{{schema.NAMESPACE}}}typeDefinitions",
                         nsmap={None: CMIS, "cmisra": CMISRA, "xsi": XSI, "sa": schema.NAMESPACE})
    root.append(etree.Comment(" Generated from connector/cmis/schema.py by `socialarchive docs cmis10-type`; "
                              "do not edit. "))
    for definition in definitions:
        node = etree.SubElement(root, f"{{{CMISRA}}}type")
        node.set(f"{{{XSI}}}type", "cmisTypeDocumentDefinitionType")
        for name in _TYPE_FIELDS:
            _text(node, name, definition[name])
        for prop in definition["propertyDefinitions"].values():
            element = etree.SubElement(node, f"{{{CMIS}}}{_ELEMENT[prop['propertyType']]}")
            for name in _PROPERTY_FIELDS:
                _text(element, name, prop[name])
        _text(node, "versionable", definition["versionable"])
        _text(node, "contentStreamAllowed", definition["contentStreamAllowed"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def cmis10_type_file() -> bytes:
    return render([cmis10_document_type()])


def write(path: str | Path) -> None:
    Path(path).write_bytes(cmis10_type_file())


def _text(parent, name: str, value) -> None:
    from lxml import etree
    etree.SubElement(parent, f"{{{CMIS}}}{name}").text = ("true" if value else "false") if isinstance(value, bool) \
        else str(value)
