"""The filer against the real OpenCMIS InMemory 1.1.0 server (started by `make test`)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from connector import config
from connector.archive import Archive
from connector.audit import verify_chain
from connector.cmis.filer import Filer
from connector.cmis.names import MAX_NAME
from connector.model import Content, Item, Revision, Skipped, Visibility
from connector.pipeline import Pipeline
from connector.summary import Summary

from ..conftest import write_config
from ..sources.stub import StubSource

pytestmark = pytest.mark.integration
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def revision(n: int, text: str | None = None, author: str = "Alice") -> Revision:
    body = (text or f"== Revision {n} ==\nBody of revision {n}.\n").encode()
    return Revision(id=str(1000 + n), created=T0 + timedelta(hours=n), author=author,
                    comment=f"edit {n}", content=Content.from_bytes(body, "text/x-wiki"),
                    record=json.dumps({"revid": 1000 + n}).encode())


def chunked_file(data: bytes, chunk: int = 7) -> Content:
    """A file whose bytes arrive in small chunks, with the source's SHA-1 to verify."""
    return Content(media_type="application/octet-stream",
                   chunks=lambda: (data[i:i + chunk] for i in range(0, len(data), chunk)),
                   size=len(data), filename="data.bin", source_digest=("sha1", hashlib.sha1(data).hexdigest()))


def page(native_id: str = "42", title: str = "Release notes", revisions: int = 3,
         visibility: Visibility | None = None, attachments: int = 0) -> Item:
    item = Item(source="wiki", system="mediawiki", native_id=native_id, kind="page", title=title,
                url=f"http://wiki.example/index.php?curid={native_id}",
                visibility=visibility or Visibility.public(),
                revisions=[revision(n) for n in range(1, revisions + 1)], author="Alice",
                created=T0, modified=T0 + timedelta(hours=revisions), space="Main", tags=("Release", "Ops"),
                extra={"namespace": "0"})
    for n in range(attachments):
        data = os.urandom(1000 + n)
        item.attachments.append(Item(
            source="wiki", system="mediawiki", native_id=f"file:{native_id}-{n}", kind="file",
            title=f"Diagram {n}.bin", url=f"http://wiki.example/File:Diagram_{n}.bin",
            visibility=item.visibility, parent_id=native_id, created=T0, author="Bob",
            revisions=[Revision(id=f"f{n}-1", created=T0, author="Bob", content=chunked_file(data))]))
    return item


@pytest.fixture
def archive(tmp_path, cmis_url):
    cfg = config.load(write_config(tmp_path, cmis_url))
    arch = Archive.open(cfg)
    yield arch
    arch.close()


@pytest.fixture
def pipeline(archive):
    """The run loop over ``archive``, one per test (its runs are numbered in the ledger)."""
    return Pipeline(archive)


def file(archive: Archive, item: Item) -> Summary:
    """``item`` filed now, as one filing of its own."""
    summary = Summary(source=item.source)
    Pipeline(archive).archive_object(item, summary)
    return summary


def streamed_sha256(archive: Archive, object_id: str) -> str:
    digest = hashlib.sha256()
    for chunk in archive.repo.content(object_id):
        digest.update(chunk)
    return digest.hexdigest()


def test_item_with_three_revisions_and_two_attachments(archive):
    item = page(attachments=2)
    summary = file(archive, item)
    assert (summary.items, summary.files, summary.versions, summary.quarantined) == (1, 2, 5, 0)

    record = archive.ledger.record(item.key)
    versions = archive.repo.versions(record["object_id"])
    assert [v["cmis:versionLabel"] for v in versions] == ["1.0", "2.0", "3.0"]
    assert [v["sa:revisionId"] for v in versions] == ["1001", "1002", "1003"]
    for version, rev in zip(versions, item.revisions):
        body = b"".join(rev.content.chunks())
        assert streamed_sha256(archive, version["cmis:objectId"]) == version["sa:sha256"] == hashlib.sha256(body).hexdigest()
        assert b"".join(archive.repo.content(version["cmis:objectId"])) == body  # byte-exact markup
        assert version["sa:revisionAuthor"] == "Alice" and version["sa:revisionComment"] == rev.comment

    latest = versions[-1]
    expected = {"sa:sourceSystem": "mediawiki", "sa:source": "wiki", "sa:kind": "page", "sa:nativeId": "42",
                "sa:revisionId": "1003", "sa:sourceUrl": item.url, "sa:title": "Release notes",
                "sa:author": "Alice", "sa:space": "Main", "sa:visibility": "public",
                "sa:mediaType": "text/x-wiki", "sa:recordKey": "wiki/page/42", "sa:contentLength": 37}
    for prop, value in expected.items():
        assert _one(latest[prop]) == value, prop
    assert latest["sa:tags"] == ["Release", "Ops"]
    assert _one(latest["sa:created"]) == int(T0.timestamp() * 1000)
    assert _one(latest["sa:revisionCreated"]) == int((T0 + timedelta(hours=3)).timestamp() * 1000)
    assert json.loads(_one(latest["sa:sourceRecord"])) == {"revid": 1003}
    assert json.loads(_one(latest["sa:extra"])) == {"namespace": "0"}
    for prop in ("sa:capturedAt", "sa:runId", "sa:connectorVersion", "sa:sha256"):
        assert _one(latest[prop]), prop
    assert "sa:archived" in latest["cmis:secondaryObjectTypeIds"]

    acl = archive.repo.acl(record["object_id"])
    assert acl == {"admin": {"cmis:all"}, "anyone": {"cmis:read"}}  # public: read for all, nobody else writes

    for attachment in item.attachments:
        att = archive.ledger.record(attachment.key)
        props = archive.repo.latest(att["object_id"])
        data = b"".join(attachment.revisions[0].content.chunks())
        assert streamed_sha256(archive, att["object_id"]) == _one(props["sa:sha256"]) == hashlib.sha256(data).hexdigest()
        assert _one(props["sa:parentId"]) == "42"
        assert _one(props["sa:sourceDigest"]) == "sha1:" + hashlib.sha1(data).hexdigest()
    assert verify_chain(archive.config.audit_path) == []


def test_restricted_item_has_no_world_readable_ace(archive):
    item = page("7", "Private memo", visibility=Visibility.restricted("private wiki", ["group:sysop", "group:unmapped"]))
    file(archive, item)
    acl = archive.repo.acl(archive.ledger.record(item.key)["object_id"])
    assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_wiki_admins": {"cmis:read"}}
    assert "anyone" not in acl and "anonymous" not in acl
    assert "group:unmapped" in archive.mapper.policy.unmapped


def test_filing_twice_creates_nothing_and_one_more_revision_adds_one_version(archive):
    item = page("43", attachments=1)
    file(archive, item)
    before = archive.repo.request_count
    again = file(archive, item)
    assert (again.versions, again.unchanged) == (0, 2)
    assert archive.repo.request_count == before  # the ledger answers; no repository round trip

    item.revisions.append(revision(4))
    more = file(archive, item)
    assert more.versions == 1
    versions = archive.repo.versions(archive.ledger.record(item.key)["object_id"])
    assert [v["sa:revisionId"] for v in versions] == ["1001", "1002", "1003", "1004"]
    assert len({v.series_id for v in archive.filer.find(item.key)}) == 1


def test_hostile_names_are_filed_without_overwriting(archive):
    titles = ['a/b\\c:d*e?f"g<h>i|j', "x" * 250, "Emoji 😀🎉 page", "שלום עולם مرحبا", "Same title", "Same title",
              "trailing dot. ", ".hidden"]
    items = [page(str(500 + i), title, revisions=1) for i, title in enumerate(titles)]
    for item in items:
        assert file(archive, item).quarantined == 0
    names = set()
    for item in items:
        props = archive.repo.latest(archive.ledger.record(item.key)["object_id"])
        assert _one(props["sa:title"]) == item.title  # the original title, unsanitised
        name = props["cmis:name"]
        assert len(name) <= MAX_NAME and not any(c in name for c in '/\\:*?"<>|')
        assert not name.startswith(".") and not name.endswith((".", " ")) or name.endswith(".wiki")
        names.add(name)
    assert len(names) == len(items)


def test_sigkill_between_ack_and_ledger_commit_leaves_no_duplicate(tmp_path, cmis_url):
    cfg_path = write_config(tmp_path, cmis_url)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        from tests.cmis.test_filer_inmemory import page, file
        from connector import config, store
        from connector.archive import Archive
        kill_at = int(os.environ["KILL_AT"])
        calls = {{"n": 0}}
        original = store.Ledger.commit_version
        def commit(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)   # the repository acked, the ledger never hears of it
            return original(self, *a, **k)
        store.Ledger.commit_version = commit
        archive = Archive.open(config.load({cfg_path!r}))
        file(archive, page("99", revisions=int(os.environ["REVISIONS"])))
        archive.close()
    """)
    def run(kill_at: int, revisions: int) -> int:
        env = {**os.environ, "KILL_AT": str(kill_at), "REVISIONS": str(revisions)}
        return subprocess.run([sys.executable, "-c", script], env=env, cwd=os.getcwd()).returncode

    assert run(kill_at=1, revisions=2) == -9      # killed after the create was acknowledged
    assert run(kill_at=2, revisions=3) == -9      # recovery of 1.0 recorded, then killed after version 2.0
    assert run(kill_at=0, revisions=3) == 0       # completes

    cfg = config.load(cfg_path)
    archive = Archive.open(cfg)
    try:
        rows = list(archive.repo.query("SELECT cmis:objectId, cmis:versionSeriesId FROM sa:document "
                                       f"WHERE sa:recordKey = 'wiki/page/99' AND {archive.filer.in_archive()}",
                                       all_versions=True))
        assert len({row["cmis:versionSeriesId"] for row in rows}) == 1   # one document
        versions = archive.repo.versions(rows[0]["cmis:objectId"])
        assert [v["sa:revisionId"] for v in versions] == ["1001", "1002", "1003"]  # no duplicate version
        assert sorted(archive.ledger.filed_revisions("wiki/page/99")) == ["1001", "1002", "1003"]
        assert verify_chain(cfg.audit_path) == []
    finally:
        archive.close()


def _one(value):
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def test_public_item_that_becomes_restricted_loses_world_read(archive):
    item = page("77", revisions=1)
    file(archive, item)
    item.visibility = Visibility.restricted("private", ["group:sysop"])
    item.revisions.append(revision(2))
    assert file(archive, item).versions == 1
    acl = archive.repo.acl(archive.ledger.record(item.key)["object_id"])
    assert acl == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_wiki_admins": {"cmis:read"}}


def test_visibility_change_without_a_new_revision_changes_the_acl_alone(archive):
    """A page whose namespace becomes restricted (config) or whose wiki goes private has no new
    revision: its ACL still follows, on every version, recorded in the audit log and the ledger;
    the next run has nothing to do."""
    item = page("78", revisions=2)
    file(archive, item)
    key, object_id = item.key, archive.ledger.record(item.key)["object_id"]
    item.visibility = Visibility.restricted("restricted namespace", ["group:sysop"])
    summary = file(archive, item)
    assert (summary.versions, summary.unchanged, summary.acl_changes) == (0, 1, 1)
    restricted = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}, "GROUP_wiki_admins": {"cmis:read"}}
    assert [archive.repo.acl(v["cmis:objectId"]) for v in archive.repo.versions(object_id)] == [restricted] * 2
    assert archive.ledger.record(key)["visibility"] == 'restricted:["group:sysop"]'
    with open(archive.config.audit_path, encoding="utf-8") as fh:
        [event] = [e for e in map(json.loads, fh) if e["event"] == "acl"]
    assert event["key"] == key and event["visibility"] == 'restricted:["group:sysop"]'
    requests_before = archive.repo.request_count
    again = file(archive, item)
    assert (again.acl_changes, archive.repo.request_count - requests_before) == (0, 0)
    item.visibility = Visibility.public()            # made public again in the source: it follows
    assert file(archive, item).acl_changes == 1
    assert archive.repo.acl(object_id) == {"admin": {"cmis:all"}, "anyone": {"cmis:read"}}
    assert verify_chain(archive.config.audit_path) == []


class SkippingSource(StubSource):
    """Yields the given items and reports records it could not read, as the real sources do."""

    system, request_count = "mediawiki", 0

    def __init__(self, items: list[Item], skipped: list[Skipped]):
        self.name, self._items, self.skipped = "wiki", items, skipped

    def changes(self, state: dict):
        yield from self._items

    def sweep(self, archived):
        return iter(())   # nothing changes who may read these records


def test_records_a_source_could_not_read_are_quarantined_until_filed(archive, pipeline):
    good, broken = page("90", revisions=1), page("91", revisions=1)
    summary = pipeline.sync(SkippingSource([good], [Skipped(broken.key, "HTTP 500 for revids")]))
    assert (summary.versions, summary.quarantined, summary.outcome) == (1, 1, "quarantined")
    [(key, source, error, reason, attempts, *_)] = archive.ledger.quarantined()
    assert (key, source, error, reason, attempts) == (broken.key, "wiki", "Skippable", "HTTP 500 for revids", 1)
    summary = pipeline.sync(SkippingSource([broken], []))              # readable again: filed, cleared
    assert (summary.versions, summary.outcome, archive.ledger.quarantined()) == (1, "ok", [])
    pipeline.sync(SkippingSource([], [Skipped(good.key, "HTTP 502")]))   # an archived record, unreadable once
    assert [row[0] for row in archive.ledger.quarantined()] == [good.key]
    summary = pipeline.sync(SkippingSource([good], []))                # read fine, nothing new: released
    assert (summary.versions, summary.unchanged, archive.ledger.quarantined()) == (0, 1, [])


def test_a_new_folder_tree_is_created_without_lookups_and_a_conflict_under_it_is_found(archive):
    """Under a folder this filer created, children are created without a lookup first (OpenCMIS
    InMemory): four new levels cost four requests, not seven. Another filer that made a child
    there meanwhile is not duplicated: the name conflict makes ours look it up."""
    filer, repo = archive.filer, archive.repo
    filer.folder_id(())                                   # the base path, made before counting
    before = repo.request_count
    leaf = filer.folder_id(("wiki", "Main", "2024"))
    assert repo.request_count - before == 3               # one createFolder a level
    assert repo.get_object_by_path(f"{filer.base_path}/wiki/Main/2024")["cmis:objectId"] == leaf

    other = Filer(repo, filer.profile, filer.base_path)   # e.g. another process on the same tree
    theirs = other.folder_id(("wiki", "Main", "2025"))    # made under our new "Main"
    assert filer.folder_id(("wiki", "Main", "2025")) == theirs   # conflict -> looked up, not a second
    children = [row for row in repo.query(
        f"SELECT cmis:objectId FROM cmis:folder WHERE cmis:name = '2025' "
        f"AND IN_FOLDER('{filer.folder_id(('wiki', 'Main'))}')")]
    assert len(children) == 1
