"""The one way to parse XML in this project: lxml with everything dangerous off.

Every source API is JSON (MediaWiki ``format=json``, the WordPress REST API, Misago, Discourse);
the XML read is the CMIS AtomPub binding's (``connector.cmis.atom_xml``: service documents,
entries, feeds, ACLs, type definitions). cmislib's own AtomPub code (``xml.dom.minidom``) is never
used. Any XML that comes in goes through ``parse_xml``::

    root = parse_xml(response.content)

- no entity is resolved (an XXE ``<!ENTITY x SYSTEM "file:///etc/passwd">`` stays a reference,
  and so does the "billion laughs" chain), no DTD is loaded, nothing is fetched from the network;
- ``huge_tree`` stays off (libxml2's limits on depth and text size hold);
- at most ``max_bytes`` of input (default 16 MiB), checked before parsing.

What it refuses is ``errors.UnsafeXml`` (a ``Skippable``: the record is quarantined).
"""
from __future__ import annotations

from lxml import etree

from .errors import UnsafeXml

MAX_XML_BYTES = 16 * 1024 * 1024


def parser() -> etree.XMLParser:
    """A fresh parser with entity resolution, DTD loading and network access off."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_pis=True)


def parse_xml(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse ``data`` (bytes, so the document's own encoding declaration is honoured) safely."""
    if len(data) > max_bytes:
        raise UnsafeXml(f"XML document of {len(data)} bytes is larger than the {max_bytes} byte limit")
    try:
        return etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"XML is not well-formed: {exc}") from None
