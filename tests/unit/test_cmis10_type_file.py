"""The CMIS 1.0 type definition shipped under docker/cmis10 is the one schema.py generates, and
declares every property the connector writes on our document type, with its type and cardinality."""
from pathlib import Path

from connector.cmis import schema, typedefs
from connector.cmis.profiles import profile
from connector.xml import parse_xml

SHIPPED = Path(__file__).resolve().parents[2] / typedefs.TYPE_FILE
NS = {"c": typedefs.CMIS, "ra": typedefs.CMISRA}


def test_shipped_file_is_current():
    assert SHIPPED.read_bytes() == typedefs.cmis10_type_file(), (
        f"run `socialarchive docs cmis10-type --out {typedefs.TYPE_FILE}` after changing connector/cmis/schema.py")


def test_every_property_on_the_document_type_as_schema_defines_it():
    root = parse_xml(SHIPPED.read_bytes())
    (node,) = root.findall("ra:type", NS)
    assert node.findtext("c:id", namespaces=NS) == schema.DOCUMENT_TYPE
    assert node.findtext("c:baseId", namespaces=NS) == "cmis:document"
    assert node.findtext("c:versionable", namespaces=NS) == "true"
    declared = {p.findtext("c:id", namespaces=NS): (p.findtext("c:propertyType", namespaces=NS),
                                                    p.findtext("c:cardinality", namespaces=NS))
                for p in node if p.tag.endswith("Definition")}
    wanted = {p.id: (p.type, "multi" if p.multi else "single")
              for p in schema.DOCUMENT_PROPERTIES + schema.ARCHIVE_PROPERTIES}
    assert declared == wanted


def test_deploy_hint_names_file_type_and_missing_properties():
    prof = profile("cmis10")
    lacking = typedefs.TypeStatus(schema.DOCUMENT_TYPE, True, ("sa:holdIds", "sa:restricted"))
    hint = typedefs.deploy_hint(prof, lacking)
    assert typedefs.TYPE_FILE in hint and schema.DOCUMENT_TYPE in hint
    assert "sa:holdIds, sa:restricted" in hint and "docs cmis10-type" in hint
    missing = typedefs.deploy_hint(prof, typedefs.TypeStatus(schema.DOCUMENT_TYPE, False))
    assert "missing" in missing and typedefs.TYPE_FILE in missing


def test_cmis10_profiles_file_everything_on_the_document_type():
    for name in ("cmis10", "opencmis-inmemory-cmis10"):
        prof = profile(name)
        assert not prof.secondary_types and not prof.create_types
        assert prof.secondary_type == prof.document_type == schema.DOCUMENT_TYPE
        assert typedefs.wanted(prof) == [(schema.DOCUMENT_TYPE, schema.DOCUMENT_PROPERTIES + schema.ARCHIVE_PROPERTIES)]


def test_a_cmis10_repository_needs_a_cmis10_profile():
    assert "profile = \"cmis10\"" in typedefs.profile_hint("1.0", profile("opencmis-inmemory"))
    assert typedefs.TYPE_FILE in typedefs.profile_hint("1.0", profile("alfresco"))
    assert typedefs.profile_hint("1.0", profile("cmis10")) is None
    assert typedefs.profile_hint("1.1", profile("opencmis-inmemory-cmis10")) is None   # how it is tested
