"""The Alfresco content model shipped under docker/ declares every property the connector writes."""
import os

from lxml import etree

from connector.cmis import schema

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "docker", "alfresco", "socialarchive-model.xml")
NS = {"m": "http://www.alfresco.org/model/dictionary/1.0"}


def test_model_matches_schema():
    tree = etree.parse(MODEL, etree.XMLParser(resolve_entities=False, no_network=True))
    aspect = {p.get("name") for p in tree.findall(".//m:aspect[@name='sa:archived']/m:properties/m:property", NS)}
    doc = {p.get("name") for p in tree.findall(".//m:type[@name='sa:document']/m:properties/m:property", NS)}
    assert aspect == {p.id for p in schema.ARCHIVE_PROPERTIES}
    assert doc == {p.id for p in schema.DOCUMENT_PROPERTIES}
    assert tree.find(".//m:namespace", NS).get("uri") == schema.NAMESPACE
