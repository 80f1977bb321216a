"""Compliance features against the real OpenCMIS InMemory 1.1.0 server: retention by record
class, sensitive-data flags, legal holds, fixity verification (content replaced in the repository,
an audit line edited), audit segments in the repository, BagIt export with an RFC 3161 timestamp,
GDPR restriction."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import bagit
import pytest
from click.testing import CliRunner

from cli import main
from connector import config
from connector.archive import Archive
from connector.audit import verify_chain
from connector.model import Content, Item, Revision, Visibility
from connector.pipeline import Pipeline
from connector.summary import Summary

from .conftest import compliance_config

pytestmark = pytest.mark.integration
BERLIN = ZoneInfo("Europe/Berlin")


def until(year: int) -> int:
    """sa:retainUntil as the Browser binding returns it: epoch milliseconds."""
    return int(datetime(year, 12, 31, 23, 59, 59, tzinfo=BERLIN).timestamp() * 1000)


def revision(n: int, when: datetime, text: str, author: str = "Alice") -> Revision:
    return Revision(id=str(n), created=when, author=author, comment=f"edit {n}",
                    content=Content.from_bytes(text.encode(), "text/x-wiki"))


def item(native_id: str, when: datetime, texts: list[str], *, source: str = "wiki", space: str = "Main",
         tags=(), author: str = "Alice", revision_authors=None, title: str | None = None,
         visibility: Visibility | None = None) -> Item:
    authors = revision_authors or [author] * len(texts)
    return Item(source=source, system="mediawiki", native_id=native_id, kind="page", title=title or f"Page {native_id}",
                url=f"http://wiki.example/?curid={native_id}", visibility=visibility or Visibility.public(),
                revisions=[revision(int(native_id) * 100 + n, when + timedelta(days=200 * n), text, authors[n])
                           for n, text in enumerate(texts)],
                author=author, created=when, space=space, tags=tuple(tags))


def file(archive: Archive, *items: Item) -> None:
    pipeline = Pipeline(archive)
    for it in items:
        summary = Summary(source=it.source)
        pipeline.archive_object(it, summary)
        assert summary.quarantined == 0, summary


def history(archive: Archive, it: Item) -> list[dict]:
    return archive.repo.versions(archive.ledger.record(it.key)["object_id"])


def one(value):
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def audit_events(cfg) -> list[dict]:
    with open(cfg.audit_path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


T2023 = datetime(2023, 3, 15, 9, 0, tzinfo=timezone.utc)


class Seed:
    """Five pages of different classes, fresh for each test (the mapper narrows visibility in place)."""

    def __init__(self, path: str):
        self.path = path
        self.invoice = item("1", T2023, ["Invoice 2023-001 for services", "Invoice 2023-001, corrected"],
                            tags=("Invoice",))
        self.letter = item("2", datetime(2022, 6, 1, tzinfo=timezone.utc), ["Dear supplier, ..."], space="Correspondence")
        self.record = item("3", T2023, ["== Policy ==\nQuarterly review of the archive."])
        self.sensitive = item("4", T2023, ["Contact bob@example.org, IBAN DE89 3704 0044 0532 0130 00, "
                                           "card 4111 1111 1111 1111"])
        self.typo_iban = item("5", T2023, ["Wrong IBAN DE89 3704 0044 0532 0130 01 here"])

    @property
    def items(self) -> list[Item]:
        return [self.invoice, self.letter, self.record, self.sensitive, self.typo_iban]


@pytest.fixture
def seeded(tmp_path, cmis_url) -> Seed:
    """An archive (own ledger, own base folder) with the five pages filed; closed again, so that
    CLI commands can take the run lock."""
    seed = Seed(compliance_config(tmp_path, cmis_url))
    archive = Archive.open(config.load(seed.path))
    try:
        file(archive, *seed.items)
    finally:
        archive.close()
    return seed


def test_retain_until_follows_the_rules_for_three_record_classes(seeded):
    cfg = config.load(seeded.path)
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        invoice, letter, record = (history(archive, it) for it in (seeded.invoice, seeded.letter, seeded.record))
        # booking voucher (8 years): each version from its own year: 2023 -> 2031, 2023+200 days -> 2031
        assert [(one(v["sa:recordClass"]), one(v["sa:classRule"]), one(v["sa:retainUntil"])) for v in invoice] == \
            [("booking-voucher", "invoices", until(2031)), ("booking-voucher", "invoices", until(2031))]
        assert [(one(v["sa:recordClass"]), one(v["sa:retainUntil"])) for v in letter] == [("business-letter", until(2028))]
        # no rule matched: the required default class, visibly so
        assert [(one(v["sa:recordClass"]), one(v["sa:classRule"]), one(v["sa:retainUntil"])) for v in record] == \
            [("organisation", "default", until(2033))]
        rows = list(archive.repo.query("SELECT * FROM sa:archived WHERE sa:classRule = 'default' AND "
                                       f"{archive.filer.in_archive()}", all_versions=True))
        assert {one(r["sa:nativeId"]) for r in rows} == {"3", "4", "5"}
    finally:
        archive.close()
    filed = [e for e in audit_events(cfg) if e["event"] in ("file", "version")]
    assert {(e["key"], e["record_class"]) for e in filed} >= {("wiki/page/1", "booking-voucher"),
                                                               ("wiki/page/2", "business-letter")}
    assert verify_chain(cfg.audit_path) == []


def test_sensitive_data_is_flagged_and_restricts_where_configured(seeded):
    archive = Archive.open(config.load(seeded.path), lock=False, dry_run=True)
    try:
        [flagged] = history(archive, seeded.sensitive)
        assert flagged["sa:sensitive"] == ["email", "iban", "card"]
        [typo] = history(archive, seeded.typo_iban)
        assert not typo.get("sa:sensitive")                         # invalid IBAN checksum: not flagged
        assert not history(archive, seeded.record)[0].get("sa:sensitive")
        # restrict = ["iban"]: public in the source, restricted in the archive
        assert archive.repo.acl(flagged["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
        assert one(flagged["sa:visibility"]) == "restricted" and "sensitive data (iban)" in one(flagged["sa:visibilityReason"])
        assert archive.repo.acl(typo["cmis:objectId"]) == {"admin": {"cmis:all"}, "anyone": {"cmis:read"}}
    finally:
        archive.close()
    # an IBAN added by a later edit narrows the record filed as public
    archive = Archive.open(config.load(seeded.path))
    try:
        seeded.record.revisions.append(revision(301, T2023 + timedelta(days=400), "Refund to DE89370400440532013000"))
        file(archive, seeded.record)
        first, second = history(archive, seeded.record)
        assert not first.get("sa:sensitive") and second["sa:sensitive"] == ["iban"]
        assert archive.repo.acl(second["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
    finally:
        archive.close()


def watch_reads(it: Item, reads: list[str]) -> Item:
    """Record the id of each revision whose content is read."""
    for rev in it.revisions:
        data = b"".join(rev.content.chunks())
        rev.content = Content(media_type=rev.content.media_type, size=len(data),
                              chunks=lambda rid=rev.id, data=data: (reads.append(rid), iter([data]))[1])
    return it


def test_an_edit_reads_only_the_new_revision_and_a_restriction_holds(seeded):
    """Revisions archived and classified before are not read again: their verdict lives on as the
    record's restriction in the ledger, so an incremental item that carries only a harmless new
    revision of a record the source calls public again does not widen it."""
    cfg = config.load(seeded.path)
    archive = Archive.open(cfg)
    try:
        reads: list[str] = []
        seeded.record.revisions.append(revision(302, T2023 + timedelta(days=400), "Quarterly review, second quarter."))
        clean = watch_reads(seeded.record, reads)
        file(archive, clean)
        assert set(reads) == {"302"}                             # scanned and sent; the filed 300 not read
        reads.clear()
        seeded.sensitive.revisions.append(revision(402, T2023 + timedelta(days=400), "Contact details removed."))
        seeded.sensitive.visibility = Visibility.public()        # as the source gives it again
        restricted = watch_reads(seeded.sensitive, reads)        # IBAN in revision 400: restricted by the archive
        file(archive, restricted)
        assert set(reads) == {"402"}                             # 400 not read again, and it must not widen
        first, second = history(archive, restricted)
        assert archive.repo.acl(second["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
        assert one(second["sa:visibility"]) == "restricted" and not second.get("sa:sensitive")
    finally:
        archive.close()


def test_a_rebuilt_ledger_keeps_the_archives_restrictions(seeded):
    """The ledger lost: `ledger rebuild` reads the restriction back from sa:visibilityReason, so the
    record the archive restricted for an IBAN does not widen when the source calls it public."""
    cfg = config.load(seeded.path)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(cfg.ledger_path + suffix):
            os.remove(cfg.ledger_path + suffix)
    result = cli("ledger", "rebuild", "--config", seeded.path)
    assert result.exit_code == 0, result.output
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
    try:
        assert any(r.startswith("archive restriction: sensitive data (iban)")
                   for r in archive.ledger.restrictions(seeded.sensitive.key))
        assert archive.ledger.restrictions(seeded.record.key) == frozenset()
        seeded.sensitive.revisions.append(revision(402, T2023 + timedelta(days=400), "Contact details removed."))
        seeded.sensitive.visibility = Visibility.public()
        before, summary = archive.repo.request_count, Summary(source="wiki")
        pipeline.archive_object(seeded.sensitive, summary)
        assert (summary.versions, summary.acl_changes) == (1, 0)
        assert archive.repo.request_count - before == 2          # check-out and check-in, no ACL request
        for version in history(archive, seeded.sensitive):
            assert archive.repo.acl(version["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
    finally:
        archive.close()


def test_hold_is_applied_listed_extended_and_removed_each_audited(seeded):
    cfg = config.load(seeded.path)
    result = cli("hold", "add", "M-2023-7", "--source", "wiki", "--since", "2023-01-01", "--until", "2024-01-01",
                 "--note", "case 7", "--config", seeded.path)
    assert result.exit_code == 0, result.output
    assert "on 4 records" in result.output                   # 1, 3, 4, 5 created in 2023; 2 in 2022
    listed = json.loads(cli("hold", "list", "--json", "--config", seeded.path).output)
    assert [(h["matter"], h["active"], h["records"], h["note"]) for h in listed] == [("M-2023-7", True, 4, "case 7")]

    archive = Archive.open(cfg)
    try:
        assert all(v["sa:holdIds"] == ["M-2023-7"] for v in history(archive, seeded.invoice))  # every version
        assert not history(archive, seeded.letter)[0].get("sa:holdIds")
        # while the hold is active, a new version of a held record and a new matching record carry it too
        seeded.invoice.revisions.append(revision(103, T2023 + timedelta(days=30), "Invoice 2023-001, paid"))
        later = item("6", T2023 + timedelta(days=90), ["A page filed after the hold"])
        file(archive, seeded.invoice, later)
        assert [v["sa:holdIds"] for v in history(archive, seeded.invoice)] == [["M-2023-7"]] * 3
        assert history(archive, later)[0]["sa:holdIds"] == ["M-2023-7"]
    finally:
        archive.close()

    again = cli("hold", "add", "M-2023-7", "--source", "wiki", "--config", seeded.path)
    assert again.exit_code == 2 and "already active with other criteria" in again.output

    removed = cli("hold", "remove", "M-2023-7", "--reason", "case 7 closed", "--config", seeded.path)
    assert removed.exit_code == 0, removed.output
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        for it in (seeded.invoice, seeded.record, seeded.sensitive, seeded.typo_iban, later):
            assert all(not v.get("sa:holdIds") for v in history(archive, it)), it.key
    finally:
        archive.close()
    listed = json.loads(cli("hold", "list", "--json", "--all", "--config", seeded.path).output)
    assert listed[0]["active"] is False and listed[0]["released_by"]
    assert cli("hold", "list", "--config", seeded.path).output.strip() == "no holds"

    events = [e for e in audit_events(cfg) if e["event"].startswith("hold")]
    assert [e["event"] for e in events if e["event"] in ("hold-add", "hold-applied", "hold-remove", "hold-released")] == \
        ["hold-add", "hold-applied", "hold-remove", "hold-released"]
    assert sorted(e["key"] for e in events if e["event"] == "hold-apply") == \
        ["wiki/page/1", "wiki/page/3", "wiki/page/4", "wiki/page/5"]
    assert sorted(e["key"] for e in events if e["event"] == "hold-release") == \
        ["wiki/page/1", "wiki/page/3", "wiki/page/4", "wiki/page/5", "wiki/page/6"]
    assert all(e["user"] for e in events) and verify_chain(cfg.audit_path) == []


def test_hold_by_full_text_query(seeded):
    result = cli("hold", "add", "Q-1", "--query", "Quarterly", "--config", seeded.path)
    assert result.exit_code == 0 and "on 1 records" in result.output, result.output
    archive = Archive.open(config.load(seeded.path), lock=False, dry_run=True)
    try:
        assert history(archive, seeded.record)[0]["sa:holdIds"] == ["Q-1"]
        assert not history(archive, seeded.invoice)[0].get("sa:holdIds")
    finally:
        archive.close()


def test_verify_detects_content_replaced_in_the_repository(seeded):
    clean = cli("verify", "--json", "--config", seeded.path)
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.output)
    assert report["ok"] and report["versions_checked"] == report["versions_total"] == 6

    cfg = config.load(seeded.path)
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        target = history(archive, seeded.invoice)[0]["cmis:objectId"]          # version 1.0
        session, url = archive.repo.session, archive.repo.root_url
        # Browser binding by hand: InMemory sets content only while the series is checked out
        pwc = session.post(url, data={"cmisaction": "checkOut", "objectId": target, "succinct": "true"})
        assert pwc.status_code < 300, pwc.text
        put = session.post(url, data={"cmisaction": "setContent", "objectId": target, "overwriteFlag": "true"},
                           files={"content": ("x.wiki", b"Invoice 2023-001 for nothing", "text/x-wiki")})
        assert put.status_code < 300, put.text
        session.post(url, data={"cmisaction": "cancelCheckOut",
                                "objectId": pwc.json()["succinctProperties"]["cmis:objectId"]})
        assert b"".join(archive.repo.content(target)) == b"Invoice 2023-001 for nothing"
    finally:
        archive.close()

    tampered = cli("verify", "--json", "--config", seeded.path)
    assert tampered.exit_code == 7, tampered.output
    report = json.loads(tampered.output)
    assert [(p["kind"], p["key"], p["object_id"]) for p in report["problems"]] == [("content", "wiki/page/1", target)]
    unknown = cli("verify", "--source", "blog", "--config", seeded.path)       # a source with nothing archived
    assert unknown.exit_code == 2 and "no source named blog" in unknown.output        # is refused, not "verified"
    verifies = [e for e in audit_events(cfg) if e["event"] == "verify"]
    assert [e["outcome"] for e in verifies] == ["ok", "mismatch"]   # the refused one verified nothing


def test_verify_detects_an_edited_audit_line(seeded):
    cfg = config.load(seeded.path)
    assert cli("verify", "--sample", "2", "--config", seeded.path).exit_code == 0
    lines = open(cfg.audit_path, encoding="utf-8").read().splitlines()
    entry = json.loads(lines[1])
    entry["sha256"] = "0" * 64                     # someone hides what was filed
    lines[1] = json.dumps(entry, sort_keys=True)
    open(cfg.audit_path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    result = cli("verify", "--sample", "1", "--config", seeded.path)
    assert result.exit_code == 7
    assert "audit: audit log: line 2: entry was altered" in result.output
    refused = cli("audit", "file", "--config", seeded.path)       # a tampered log is never filed
    assert refused.exit_code == 5 and "chain is broken at entry 2" in refused.output


def test_audit_segments_are_filed_and_a_rewritten_chain_is_still_caught(seeded):
    cfg = config.load(seeded.path)
    first = cli("audit", "file", "--config", seeded.path)
    assert first.exit_code == 0 and "filed as" in first.output, first.output
    assert cli("audit", "file", "--config", seeded.path).output.strip() == "nothing new to file"
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        [row] = list(archive.repo.query("SELECT cmis:objectId, sa:recordKey FROM sa:document WHERE "
                                        f"sa:recordKey LIKE '_audit/%' AND {archive.filer.in_archive()}"))
        filed = b"".join(archive.repo.content(row["cmis:objectId"]))
        assert archive.repo.parents(row["cmis:objectId"])[0] == f"{archive.filer.base_path}/_audit/{datetime.now(timezone.utc).year}"
        assert archive.repo.acl(row["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
    finally:
        archive.close()
    local = open(cfg.audit_path, "rb").read()
    assert local.startswith(filed) and len(filed.splitlines()) == 6  # one entry per filed version
    assert cli("verify", "--config", seeded.path).exit_code == 0

    # rewrite the whole local chain consistently, with one entry changed: the chain verifies, the
    # segment in the repository does not match any more
    from connector.audit import AuditLog
    entries = [json.loads(line) for line in local.splitlines()]
    entries[0]["sha256"] = "f" * 64
    os.remove(cfg.audit_path)
    forged = AuditLog(cfg.audit_path)
    for e in entries:
        forged.append(e.pop("event"), **{k: v for k, v in e.items() if k not in ("seq", "time", "actor", "prev", "hash")})
    assert verify_chain(cfg.audit_path) == []
    result = cli("verify", "--config", seeded.path)
    assert result.exit_code == 7 and "differ from the segment filed in the repository" in result.output


def test_export_bag_validates_and_its_timestamp_verifies(seeded, tmp_path, tsa):
    with open(seeded.path, "a") as fh:
        fh.write(f'tsa_url = "{tsa.url}"\ntsa_ca_file = "{tsa.ca_file}"\norganization = "Example GmbH"\n')
    assert cli("hold", "add", "M-9", "--source", "wiki", "--since", "2023-01-01", "--config", seeded.path).exit_code == 0
    out = tmp_path / "bag-m9"
    result = cli("export", "--matter", "M-9", "--out", str(out), "--json", "--config", seeded.path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["records"], report["versions"], report["problems"]) == (4, 5, [])

    bag = bagit.Bag(str(out))
    bag.validate()                                                         # independent validator
    assert bag.info["Source-Organization"] == "Example GmbH"
    assert bag.info["Socialarchive-Records"] == "4" and "booking-voucher (2)" in bag.info["Socialarchive-Record-Classes"]
    v1 = out / "data/records/wiki/page/1/v1.0.wiki"
    assert v1.read_bytes() == b"Invoice 2023-001 for services"
    metadata = json.loads((out / "data/records/wiki/page/1/metadata.json").read_text())
    assert [v["sha256"] for v in metadata["versions"]] == [
        hashlib.sha256(b"".join(r.content.chunks())).hexdigest() for r in seeded.invoice.revisions]
    assert metadata["versions"][0]["properties"]["sa:holdIds"] == ["M-9"]
    slice_events = [json.loads(line) for line in (out / "data/audit/audit-slice.jsonl").read_text().splitlines()]
    assert {e["event"] for e in slice_events} >= {"file", "version", "hold-add", "hold-apply", "hold-applied"}
    assert "wiki/page/2" not in {e.get("key") for e in slice_events}

    tsr = out / "tagmanifest-sha256.txt.tsr"
    verified = subprocess.run(["openssl", "ts", "-verify", "-in", str(tsr), "-data", str(out / "tagmanifest-sha256.txt"),
                               "-CAfile", str(out / "tsa-ca.pem")], capture_output=True, text=True)
    assert "Verification: OK" in verified.stdout + verified.stderr, verified.stderr
    assert len(tsa.requests) >= 1
    export_events = [e for e in audit_events(config.load(seeded.path)) if e["event"] == "export"]
    assert export_events[-1]["tagmanifest_sha256"] == hashlib.sha256((out / "tagmanifest-sha256.txt").read_bytes()).hexdigest()

    by_source = tmp_path / "bag-2022"
    result = cli("export", "--source", "wiki", "--since", "2022-01-01", "--until", "2023-01-01", "--out", str(by_source),
                 "--config", seeded.path)
    assert result.exit_code == 0, result.output
    bagit.Bag(str(by_source)).validate()
    assert sorted(os.listdir(by_source / "data/records/wiki/page")) == ["2"]
    assert cli("export", "--source", "wiki", "--out", str(by_source), "--config", seeded.path).exit_code == 2  # never overwrite


def test_subject_find_and_restrict(tmp_path, cmis_url):
    path = compliance_config(tmp_path, cmis_url)
    own = item("10", T2023, ["Mallory's page"], author="Mallory")
    edited = item("11", T2023, ["Alice's page", "Alice's page, edited by Mallory"], revision_authors=["Alice", "Mallory"])
    other = item("12", T2023, ["Only Alice here"])
    archive = Archive.open(config.load(path))
    try:
        file(archive, own, edited, other)
    finally:
        archive.close()

    found = json.loads(cli("subject", "find", "Mallory", "--json", "--config", path).output)
    assert [(r["key"], r["roles"], r["revisions"], r["versions"], r["restricted"]) for r in found] == [
        ("wiki/page/10", ["author", "revision author"], ["1000"], 1, False),
        ("wiki/page/11", ["revision author"], ["1101"], 2, False)]

    result = cli("subject", "restrict", "Mallory", "--reason", "DSAR 2025-14", "--config", path)
    assert result.exit_code == 0 and "on 2 records (3 versions marked, 2 ACLs narrowed)" in result.output, result.output
    cfg = config.load(path)
    archive = Archive.open(cfg)
    try:
        for it in (own, edited):
            assert all(v.get("sa:restricted") is True for v in history(archive, it))
            assert archive.repo.acl(history(archive, it)[0]["cmis:objectId"]) == \
                {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
            assert b"".join(archive.repo.content(history(archive, it)[0]["cmis:objectId"]))  # nothing erased
        assert not history(archive, other)[0].get("sa:restricted")
        assert archive.repo.acl(history(archive, other)[0]["cmis:objectId"])["anyone"] == {"cmis:read"}
        # content of the person filed later is restricted too
        later = item("13", T2023, ["Mallory again"], author="Mallory")
        file(archive, later)
        [v] = history(archive, later)
        assert v["sa:restricted"] is True
        assert archive.repo.acl(v["cmis:objectId"]) == {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
    finally:
        archive.close()
    assert json.loads(cli("subject", "find", "Mallory", "--json", "--config", path).output)[0]["restricted"] is True
    events = [e for e in audit_events(cfg) if e["event"].startswith("subject")]
    assert [e["event"] for e in events] == ["subject-find", "subject-restrict", "subject-restrict-record",
                                            "subject-restrict-record", "subject-restricted", "subject-find"]
    assert verify_chain(cfg.audit_path) == []


def test_sync_files_the_runs_audit_entries_into_the_repository(seeded):
    result = cli("sync", "--config", seeded.path)           # no source configured: only the audit segment
    assert result.exit_code == 0, result.output
    cfg = config.load(seeded.path)
    segments = [e for e in audit_events(cfg) if e["event"] == "audit-segment"]
    assert [(e["first_seq"], e["last_seq"]) for e in segments] == [(1, 6)]
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        props = archive.repo.get_object(segments[0]["object_id"])
        assert one(props["sa:kind"]) == "audit-segment" and one(props["sa:recordClass"]) == "organisation"
        assert one(props["sa:sha256"]) == hashlib.sha256(b"".join(open(cfg.audit_path, "rb").readlines()[:6])).hexdigest()
    finally:
        archive.close()
    assert cli("sync", "--config", seeded.path).exit_code == 0
    assert len([e for e in audit_events(cfg) if e["event"] == "audit-segment"]) == 1   # nothing new, nothing filed
    report = json.loads(cli("verify", "--json", "--config", seeded.path).output)
    assert report["ok"] and report["segments_checked"] == 1 and report["versions_total"] == 7
