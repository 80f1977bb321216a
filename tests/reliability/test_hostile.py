"""Hostile input: hypothesis-generated titles, authors, tags, spaces, comments and bodies (control
characters, NUL, lone surrogates, 10 000 characters, bidi overrides, ``../``, CMIS-forbidden
characters) filed through ``Archive`` into the real OpenCMIS: each item is filed with a safe name
and its original values, or quarantined with a reason; the run never crashes.

Policy (see connector/cmis/names.py and filer.storable):
- content is bytes and is stored byte-exact, whatever it holds;
- ``cmis:name`` is sanitised (forbidden and control characters -> ``_``, bidi overrides dropped, no
  leading/trailing dot or space, <= 200 characters, native id kept); the original title is in
  ``sa:title``;
- string properties keep the source's text, except characters no repository can store (NUL, other
  C0 controls, lone surrogates, U+FFFE/U+FFFF), which become U+FFFD, with the original values noted
  losslessly in ``sa:extra`` ``_sanitised``; the raw record (``sa:sourceRecord``) is kept as sent;
- folders come from sanitised segments: ``..`` and ``/`` cannot climb out of the archive's tree;
- whatever the repository still refuses is quarantined with its reason (none in this corpus).

Plus: XML goes through ``connector.xml.parse_xml`` (no entity expansion, no network).
"""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connector import config
from connector.archive import Archive
from connector.cmis.names import MAX_NAME, storable_text
from connector.model import Content, Item, Revision, Visibility
from connector.pipeline import Pipeline
from connector.summary import Summary
from connector.xml import UnsafeXml, parse_xml

from ..conftest import write_config

EXAMPLES = 150
T0 = datetime(2023, 5, 1, tzinfo=timezone.utc)
NASTY = ["\x00", "\ud800", "\udfff", "\ud83d", "\u202e", "\u202d", "\u2066", "\u200f", "../", "..", "/", "\\",
         ":", "*", "?", '"', "<", ">", "|", "\r\n", "\n", "\t", " ", ".", "\ufeff", "\x7f", "\x1b[31m",
         "%2e%2e%2f", "\ufffe", "\uffff", "CON", "😀", "שלום", "مرحبا", "'", "\\'", "' OR 1=1 --", "#", "%",
         "&", "+", ";", "=", "~", "${jndi:ldap://x}", "<script>", "&amp;", "]]>", "\u0085", "\u2028", "\x0b"]
ANY_CHAR = st.characters(codec=None, exclude_categories=())          # surrogates included
HOSTILE = st.lists(st.one_of(st.sampled_from(NASTY), st.text(ANY_CHAR, max_size=20)), max_size=8).map("".join)
LONG = st.sampled_from(["A" * 10000, "ü" * 10000, "../" * 3334, "\u202e" * 10000, "\x00" * 10000])
TEXT = st.one_of(HOSTILE, HOSTILE, HOSTILE, LONG)
BODY = st.one_of(st.binary(max_size=3000), HOSTILE.map(lambda s: s.encode("utf-8", "surrogatepass")),
                 st.just(b""), st.just(b"\x00" * 70000))
SERIAL = count(1)


@st.composite
def hostile_items(draw) -> Item:
    n = next(SERIAL)
    title, author, space = draw(TEXT), draw(HOSTILE), draw(HOSTILE)
    tags = tuple(draw(st.lists(HOSTILE, max_size=3)))
    revisions = []
    for r in range(draw(st.integers(1, 2))):
        body, comment = draw(BODY), draw(HOSTILE)
        record = json.dumps({"title": title, "author": author, "tags": tags, "comment": comment})  # ASCII
        revisions.append(Revision(id=f"r{r}", created=T0 + timedelta(minutes=r), author=author, comment=comment,
                                  title=title, record=record.encode(),
                                  content=Content.from_bytes(body, draw(st.sampled_from(
                                      ["text/x-wiki", "application/octet-stream", "text/plain; charset=utf-8"])))))
    visibility = draw(st.sampled_from([Visibility.public(), Visibility.restricted("test", ["group:unmapped"])]))
    return Item(source="hostile", system="mediawiki", native_id=f"h{n}", kind="page", title=title,
                url="http://wiki.example/?curid=" + str(n), visibility=visibility, revisions=revisions,
                author=author, created=T0, modified=T0, space=space, tags=tags,
                extra={"note": draw(HOSTILE)})


@pytest.fixture(scope="module")
def archive(cmis_url, tmp_path_factory):
    cfg = config.load(write_config(tmp_path_factory.mktemp("hostile"), cmis_url))
    arch = Archive.open(cfg)
    arch.tally = {"filed": 0, "quarantined": 0, "sanitised": 0, "reasons": []}
    yield arch
    arch.close()


def _one(value):
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _extra_note(props: dict) -> dict:
    extra = _one(props.get("sa:extra"))
    return json.loads(extra).get("_sanitised", {}) if extra else {}


def _check_string(props: dict, prop: str, original) -> bool:
    """The stored value is the original, or its storable form with the original in the note."""
    stored, expected = props.get(prop), original
    if isinstance(original, (list, tuple)):
        expected = [storable_text(v) for v in original] or None
        stored = stored if isinstance(stored, list) or stored is None else [stored]
        changed = expected is not None and expected != list(original)
    else:
        expected = storable_text(original)
        stored = _one(stored)
        changed = expected != original
    assert stored == expected, (prop, stored, expected)
    if changed:
        assert _extra_note(props)[prop] == (list(original) if isinstance(original, tuple) else original), prop
    return changed


@pytest.mark.integration
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(item=hostile_items())
def test_hostile_items_are_filed_with_safe_names_or_quarantined_never_crash(archive, item):
    summary = Summary(source=item.source)
    Pipeline(archive).archive_object(item, summary)              # must not raise
    quarantined = {row[0]: row for row in archive.ledger.quarantined("hostile")}
    if item.key in quarantined:
        reason = quarantined[item.key][3]
        assert reason and summary.quarantined == 1
        archive.tally["quarantined"] += 1
        archive.tally["reasons"].append(reason[:200])
        return
    record = archive.ledger.record(item.key)
    assert record is not None and summary.quarantined == 0
    versions = archive.repo.versions(record["object_id"])
    covered = archive.ledger.covered(item.key)   # a revision repeating the one before it is one version
    filed = [r for r in item.revisions if r.id not in covered]
    assert [_one(v["sa:revisionId"]) for v in versions] == [r.id for r in filed]
    assert set(covered.values()) <= {r.id for r in filed}
    sanitised = False
    for version, revision in zip(versions, filed):
        data = b"".join(revision.content.chunks())
        assert b"".join(archive.repo.content(version["cmis:objectId"])) == data        # byte-exact
        assert _one(version["sa:sha256"]) == hashlib.sha256(data).hexdigest()
        raw = json.loads(_one(version["sa:sourceRecord"]))                              # the raw record,
        assert raw["title"] == item.title and raw["author"] == item.author            # unaltered
        sanitised |= _check_string(version, "sa:revisionComment", revision.comment) if revision.comment else False
    latest = versions[-1]
    for prop, value in (("sa:title", item.title), ("sa:author", item.author), ("sa:space", item.space)):
        if value:
            sanitised |= _check_string(latest, prop, value)
    if item.tags:
        sanitised |= _check_string(latest, "sa:tags", item.tags)
    name = latest["cmis:name"]
    assert 0 < len(name) <= MAX_NAME and f"[{item.native_id}]" in name
    assert not any(c in name for c in '/\\:*?"<>|') and not any(ord(c) < 32 or c == "\x7f" for c in name)
    assert not any(c in name for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in name)
    assert not name.startswith(".") and not name.endswith((" ", "."))
    base = archive.filer.base_path
    for path in archive.repo.parents(record["object_id"]):                 # never outside the tree
        assert path.startswith(base + "/") and "/../" not in path + "/" and "/./" not in path + "/", path
    acl = archive.repo.acl(record["object_id"])
    if not item.visibility.is_public:
        assert "anyone" not in acl and "anonymous" not in acl, acl
    archive.tally["filed"] += 1
    archive.tally["sanitised"] += sanitised


@pytest.mark.integration
def test_hostile_tally(archive, figures):
    """Runs after the property test (same module): every generated item was accounted for."""
    tally = archive.tally
    assert tally["filed"] + tally["quarantined"] >= EXAMPLES
    assert tally["quarantined"] == 0, tally["reasons"]     # nothing this hostile is refused any more
    figures["hostile"] = {"items": tally["filed"] + tally["quarantined"], "filed": tally["filed"],
                          "quarantined": tally["quarantined"], "with_sanitised_values": tally["sanitised"]}


# ---------------------------------------------------------------------------- XML

class _Dtd(BaseHTTPRequestHandler):
    hits = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).hits += 1
        body = b'<!ENTITY leak "FETCHED-OVER-THE-NETWORK">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_xml_is_parsed_without_entities_dtds_or_network(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dtd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/evil.dtd"
    try:
        xxe = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">'
               f'<!ENTITY % remote SYSTEM "{url}"> %remote;]><r>&xxe;&leak;</r>').encode()
        root = parse_xml(xxe)
        from lxml import etree
        text = etree.tostring(root).decode()
        assert "TOP-SECRET" not in text and "FETCHED" not in text
        assert _Dtd.hits == 0                                   # nothing fetched
        laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                  + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
                  + ']><l>&i;</l>').encode()
        try:                                                    # the billion laughs: refused or unexpanded
            assert len(etree.tostring(parse_xml(laughs))) < 10000
        except UnsafeXml as refused:
            assert "amplification" in str(refused)
        external_dtd = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{url}"><r>&leak;</r>'.encode()
        assert "FETCHED" not in etree.tostring(parse_xml(external_dtd)).decode() and _Dtd.hits == 0
        with pytest.raises(UnsafeXml, match="larger than"):
            parse_xml(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50)
        with pytest.raises(UnsafeXml, match="not well-formed"):
            parse_xml(b"<r>")
    finally:
        server.shutdown()
        server.server_close()


def test_no_other_xml_parser_is_used_by_the_connector():
    """cmislib parses XML (minidom) only in its AtomPub binding, which we never use: the Browser
    binding is JSON, our own AtomPub client (connector/cmis/atompub.py) parses through connector/xml.py."""
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\b(minidom|xml\.etree|ElementTree|xml\.sax|expat|etree\.(fromstring|parse|XML)\b)")
    offenders = [str(p.relative_to(root)) for p in [*root.glob("connector/**/*.py"), root / "cli.py"]
                 if pattern.search(p.read_text()) and p.name != "xml.py"]
    assert offenders == []
    from connector.cmis.client import CmisRepository
    repo = CmisRepository("http://127.0.0.1:9/inmemory/browser", "A1", "u", "p")
    assert type(repo._cmislib.binding).__name__ == "BrowserBinding"
