"""The hand-built multipart/form-data body (``client.multipart_body``): whatever the fields, the
content and how the content is cut into chunks, a standard parser reads back exactly the fields,
the content, then the trailing properties computed from the bytes, in that order."""
from __future__ import annotations

import email.parser
import email.policy

from hypothesis import given, settings, strategies as st

from connector.cmis.client import Upload, multipart_body

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40)


def _parsed(body: bytes, boundary: str) -> list[tuple[str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode() + body)
    return [(part.get_param("name", header="content-disposition"), part.get_payload(decode=True))
            for part in message.iter_parts()]


@settings(max_examples=200, deadline=None)
@given(fields=st.lists(st.tuples(st.from_regex(r"[a-zA-Z\[\]0-9]{1,20}", fullmatch=True), TEXT), max_size=12),
       chunks=st.lists(st.binary(max_size=300), max_size=5), filename=TEXT)
def test_parser_reads_back_every_field_and_the_content(fields, chunks, filename):
    upload = Upload(filename, "text/plain", iter(chunks), lambda: {"sa:sha256": "ab" * 32, "sa:contentLength": 7})
    parts = _parsed(b"".join(multipart_body(fields, upload, "sa-test", 3)), "sa-test")
    assert parts == [("_charset_", b"UTF-8"), *((n, v.encode()) for n, v in fields), ("content", b"".join(chunks)),
                     ("propertyId[3]", b"sa:sha256"), ("propertyValue[3]", b"ab" * 32),
                     ("propertyId[4]", b"sa:contentLength"), ("propertyValue[4]", b"7")]


def test_without_content_only_the_fields():
    assert _parsed(b"".join(multipart_body([("cmisaction", "checkOut")], None, "b", 0)), "b") == [
        ("_charset_", b"UTF-8"), ("cmisaction", b"checkOut")]
