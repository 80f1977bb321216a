"""An upload the repository stores short is never recorded as filed (real OpenCMIS InMemory 1.1.0).

A fault proxy on 127.0.0.1 cuts the content part of an upload to 5 bytes and forwards the rest of
the multipart body unchanged, so the repository stores a 5-byte version that carries our trailing
``sa:sha256``/``sa:contentLength`` of the whole. Whether its answer arrives (it says 5 bytes) or is
lost (the retry finds the version by key), whether the run goes on or a later run recovers after a
kill: the damaged copy is never in the ledger nor in the audit log as filed; the revision is written
again to a good copy, or, when every attempt is cut, the item is quarantined.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from connector import config
from connector.archive import Archive
from connector.errors import Retriable
from connector.model import Content, Item, Revision, Visibility
from connector.pipeline import Pipeline
from connector.summary import Summary

from ..conftest import BINDING, write_config
from ..reliability.faultproxy import FaultProxy

pytestmark = pytest.mark.integration
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BODY = b"== Minutes ==\n" + b"The board met and decided nothing at all.\n" * 40   # after a first line of its own
HTTP = """
[http]
backoff_initial = 0.05
backoff_max = 0.2
backoff_jitter = 0.0
write_attempts = 3
"""


def page() -> Item:
    """A one-revision page whose content begins with a line of its own (``marker``)."""
    native_id = uuid.uuid4().hex[:8]
    return Item(source="wiki", system="mediawiki", native_id=native_id, kind="page", title=f"Minutes {native_id}",
                url=f"http://wiki.example/?curid={native_id}", visibility=Visibility.public(), author="Alice",
                created=T0, revisions=[Revision(id="7001", created=T0, author="Alice", comment="minutes",
                                                content=Content.from_bytes(marker(native_id) + BODY, "text/x-wiki"))])


def marker(native_id: str) -> bytes:
    return f"page {native_id}\n".encode()


def cut_content(body: bytes, keep: int = 5) -> bytes:
    """The multipart body with its content part cut to ``keep`` bytes; every other part (the
    trailing sa:sha256 and sa:contentLength of the whole content included) left as it was."""
    if BINDING == "atompub":   # the Atom entry's base64 content, cut to its first ``keep`` bytes
        head, tag, rest = body.partition(b"<cmisra:base64>")
        if not tag:
            return body
        encoded, end, tail = rest.partition(b"</cmisra:base64>")
        return head + tag + base64.b64encode(base64.b64decode(encoded)[:keep]) + end + tail
    head, marker, rest = body.partition(b'name="content"; filename="')
    if not marker:
        return body
    start = rest.index(b"\r\n\r\n") + 4
    end = rest.index(b"\r\n--", start)
    return head + marker + rest[:start + keep] + rest[end:]


class Cutter:
    """Cuts the uploads of one page (found by its content's first line), the first ``times`` of them."""

    def __init__(self, item: Item, times: int):
        self.marker, self.left, self.cut = b"\r\n\r\n" + marker(item.native_id), times, 0
        if BINDING == "atompub":   # the content is the entry's base64, starting with the marker line
            first = marker(item.native_id)
            self.marker = b"<cmisra:base64>" + base64.b64encode(first[:len(first) - len(first) % 3])

    def matches(self, method: str, body: bytes) -> bool:
        if BINDING == "atompub":
            return method in ("POST", "PUT") and self.marker in body
        return method == "POST" and self.marker in body and b'name="content"; filename="' in body

    def rewrite(self, method: str, path: str, body: bytes) -> bytes:
        if self.left and self.matches(method, body):
            self.left -= 1
            self.cut += 1
            return cut_content(body)
        return body


def proxied(tmp_path, cmis_url: str, proxy: FaultProxy, base_path: str | None = None) -> str:
    parts = urlsplit(cmis_url)
    return write_config(tmp_path, proxy.url(parts.path), sources=HTTP, base_path=base_path)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def repository_versions(archive: Archive, key: str) -> list[dict]:
    return archive.repo.versions(archive.filer.find(key)[0].object_id)


def audited(cfg, key: str) -> list[dict]:
    with open(cfg.audit_path, encoding="utf-8") as fh:
        return [e for e in map(json.loads, fh) if e.get("key") == key]


def assert_only_the_good_copy_is_recorded(archive: Archive, cfg, item: Item) -> None:
    """The repository holds the damaged copy and a good one; ledger and audit log know the good one only."""
    key, body = item.key, marker(item.native_id) + BODY
    stored = repository_versions(archive, key)
    lengths = [v["cmis:contentStreamLength"] for v in stored]
    assert lengths == [5, len(body)], lengths
    damaged, good = stored[0]["cmis:objectId"], stored[1]["cmis:objectId"]
    assert stored[0]["sa:sha256"] == hashlib.sha256(body).hexdigest()        # our trailing hash of the whole
    rows = archive.ledger.db.execute("SELECT object_id, sha256, length FROM versions WHERE key=?", (key,)).fetchall()
    assert rows == [(good, hashlib.sha256(body).hexdigest(), len(body))]
    entries = audited(cfg, key)
    assert [e["object_id"] for e in entries if e["event"] in ("file", "version", "recovered")] == [good]
    assert all(e.get("object_id") != damaged for e in entries)
    assert b"".join(archive.repo.content(good)) == body


@pytest.mark.parametrize("answer", ["arrives", "lost"])
def test_a_cut_upload_is_written_again_and_only_the_good_copy_recorded(tmp_path, cmis_url, answer):
    """The first upload is cut to 5 bytes. Its answer says so (the acknowledgement check refuses it),
    or is lost (reset after the repository stored it): the retry finds the version by key, reads it
    back, sees 5 bytes that do not hash to sa:sha256, and writes the revision again."""
    item = page()
    cutter = Cutter(item, times=1)
    rules = [(lambda method, path, body: cutter.matches(method, body) and cutter.cut == 0, "reset_after")]
    with FaultProxy(origin(cmis_url), seed=1, rewrite=cutter.rewrite,
                    rules=rules if answer == "lost" else []) as proxy:
        cfg = config.load(proxied(tmp_path, cmis_url, proxy))
        archive = Archive.open(cfg)
        pipeline = Pipeline(archive)
        try:
            summary = Summary(source="wiki")
            pipeline.archive_object(item, summary)
            assert (summary.versions, summary.quarantined, cutter.cut) == (1, 0, 1), summary
            assert_only_the_good_copy_is_recorded(archive, cfg, item)
        finally:
            archive.close()


def test_an_upload_cut_on_every_attempt_is_quarantined_never_recorded(tmp_path, cmis_url):
    item = page()
    cutter = Cutter(item, times=99)
    with FaultProxy(origin(cmis_url), seed=2, rewrite=cutter.rewrite) as proxy:
        cfg = config.load(proxied(tmp_path, cmis_url, proxy))
        archive = Archive.open(cfg)
        pipeline = Pipeline(archive)
        try:
            summary = Summary(source="wiki")
            pipeline.archive_object(item, summary)
            assert (summary.versions, summary.quarantined) == (0, 1), summary
            assert archive.ledger.filed_revisions(item.key) == {}
            [row] = archive.ledger.quarantined("wiki")
            assert row[0] == item.key and f"repository stored 5 bytes of {item.key}" in row[3], row
            assert [e["event"] for e in audited(cfg, item.key)] == ["quarantine"]
            assert {v["cmis:contentStreamLength"] for v in repository_versions(archive, item.key)} == {5}
        finally:
            archive.close()


def test_a_run_killed_after_a_cut_upload_recovers_to_a_good_copy(tmp_path, cmis_url):
    """A run was killed after the repository stored a cut upload (its intent is in the ledger):
    the next run finds the version by key, reads it back, does not adopt it and files a good copy."""
    item = page()
    cutter = Cutter(item, times=1)
    base_path = f"/test-{uuid.uuid4().hex[:10]}"
    with FaultProxy(origin(cmis_url), seed=3, rewrite=cutter.rewrite) as proxy:
        (tmp_path / "cut").mkdir()
        archive = Archive.open(config.load(proxied(tmp_path / "cut", cmis_url, proxy, base_path=base_path)))
        try:
            spec = archive.mapper.document(item)
            with pytest.raises(Retriable, match="stored 5 bytes"):
                archive.filer.create(spec, spec.versions[0])
        finally:
            archive.close()

    cfg = config.load(write_config(tmp_path, cmis_url, base_path=base_path))
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        archive.ledger.begin_intent(item.key, "7001", "killed-run")      # what the killed run left
        summary = Summary(source="wiki")
        pipeline.archive_object(item, summary)
        assert (summary.versions, summary.quarantined) == (1, 0), summary
        assert_only_the_good_copy_is_recorded(archive, cfg, item)
    finally:
        archive.close()
