"""AtomPub documents without a server: base64 streamed in pieces equals base64 of the whole, an
entry's properties read back equal what was written (whatever the text holds), and an entry body
never holds a whole content stream."""
from __future__ import annotations

import base64
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from connector.cmis import atom_xml as ax
from connector.cmis.client import Upload
from connector.cmis.names import storable_text
from connector.xml import parse_xml

chunkings = st.lists(st.binary(max_size=40), max_size=12)


@given(chunkings, st.integers(min_value=3, max_value=64))
def test_streamed_base64_equals_base64_of_the_whole(chunks, size):
    assert b"".join(ax.base64_chunks(chunks, size=size)) == base64.b64encode(b"".join(chunks))


texts = st.text(max_size=60).map(storable_text)   # what the filer sends: storable text only
values = st.one_of(texts, st.lists(texts, min_size=2, max_size=4), st.booleans(),
                   st.integers(min_value=-2**53, max_value=2**53),
                   st.datetimes(timezones=st.just(timezone.utc)).map(
                       lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.from_regex(r"sa:[a-z]{1,8}", fullmatch=True), values, max_size=6))
def test_properties_read_back_as_written(properties):
    types = ax.PropertyTypes()
    body = b"".join(ax.entry_body(properties, types, title="<&>"))
    read = ax.entry_properties(parse_xml(body), types)
    expected = {k: (v - ax.EPOCH) // ax.MILLISECOND if isinstance(v, datetime) else v for k, v in properties.items()}
    assert read == expected


def test_content_goes_first_and_the_digest_after_it():
    sent = []

    def chunks():
        for _ in range(40):
            sent.append(1)
            yield b"x" * 100_000
    upload = Upload("f.bin", "application/octet-stream", chunks(), lambda: {"sa:sha256": f"done after {len(sent)}"})
    pieces = list(ax.entry_body({"cmis:name": "f"}, ax.PropertyTypes(), upload))
    assert max(len(p) for p in pieces) <= 200_000          # never the whole 4 MB
    entry = parse_xml(b"".join(pieces))
    assert ax.entry_properties(entry, ax.PropertyTypes())["sa:sha256"] == "done after 40"
    assert base64.b64decode(entry.findtext("cmisra:content/cmisra:base64", "", ax.NS)) == b"x" * 4_000_000


def test_secondary_type_ids_are_ids_and_multi_valued():
    body = b"".join(ax.entry_body({"cmis:secondaryObjectTypeIds": ["sa:archived"]}, ax.PropertyTypes()))
    assert b'<cmis:propertyId propertyDefinitionId="cmis:secondaryObjectTypeIds"><cmis:value>sa:archived' in body
    assert ax.entry_properties(parse_xml(body), ax.PropertyTypes()) == {"cmis:secondaryObjectTypeIds": ["sa:archived"]}


def test_a_naive_datetime_is_refused():
    try:
        b"".join(ax.entry_body({"sa:created": datetime(2020, 1, 1)}, ax.PropertyTypes()))
    except ValueError as exc:
        assert "naive" in str(exc)
    else:
        raise AssertionError("a naive datetime was sent")
