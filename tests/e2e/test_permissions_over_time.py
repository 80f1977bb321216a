"""The archive never shows more than the source shows now (issue #14), on the real OpenCMIS InMemory.

What the source says comes from ``permissions_kit.ScriptedSource`` (its feed and its visibility
sweep); every ACL and every object is read back from the real repository. The examples pin each
rule; ``test_no_history_leaves_restricted_content_readable`` searches for a counter-example with a
hypothesis state machine over histories of one item: edits (some with sensitive data), moves into
and out of restricted areas without an edit, deletion and restoration, a GDPR subject restriction,
a changed principal map, and ACL calls the repository refuses. After every run it checks that every
version's ACL is the decided one (when the repository accepted the ACL calls), and that no
world-readable object (content or any property) holds text the archive restricted, or text written
while the source hid the page and that the source has not shown since (a page the source makes
public again shows its whole history there, so the archive may too).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from connector import config
from connector.archive import Archive
from connector.cmis.client import RejectedByRepository
from connector.compliance import subject
from connector.model import Visibility
from connector.pipeline import Pipeline

from .permissions_kit import IBAN, WORLD, ScriptedSource, page, tombstone, write_configs

MAPPED = '"group:sysop" = "GROUP_wiki_admins"\n"group:staff" = "GROUP_staff"\n'
REMAPPED = '"group:sysop" = "GROUP_sysops_v2"\n'
PRINCIPALS = {"a": {"group:sysop": "GROUP_wiki_admins", "group:staff": "GROUP_staff"},
              "b": {"group:sysop": "GROUP_sysops_v2"}}
ADMINS_AND_RECORDS = {"admin": {"cmis:all"}, "GROUP_records": {"cmis:read"}}
PUBLIC = {"admin": {"cmis:all"}, "anyone": {"cmis:read"}}
HISTORIES = int(os.environ.get("SA_PERMISSION_HISTORIES", "40"))


def acls(archive: Archive, key: str) -> list[dict]:
    """The ACL of every version of ``key``, read from the repository."""
    object_id = archive.ledger.record(key)["object_id"]
    return [archive.repo.acl(v["cmis:objectId"]) for v in archive.repo.versions(object_id)]


def world_readable_text(archive: Archive) -> str:
    """Content and every property of each world-readable object (every version) in the archive."""
    root = archive.filer.in_archive()
    rows = archive.repo.query(f"SELECT cmis:objectId FROM {archive.filer.profile.document_type} WHERE {root}",
                              all_versions=True)
    series = {row["cmis:objectId"] for row in rows}
    seen, found = set(), []
    for object_id in series:
        for version in archive.repo.versions(object_id):
            if version["cmis:objectId"] in seen:
                continue
            seen.add(version["cmis:objectId"])
            if WORLD & set(archive.repo.acl(version["cmis:objectId"])):
                found.append(repr(version))
                found.append(b"".join(archive.repo.content(version["cmis:objectId"])).decode("utf-8", "replace"))
    return "\n".join(found)


@pytest.fixture
def configs(tmp_path, cmis_url):
    return write_configs(tmp_path, cmis_url, {"a": MAPPED, "b": REMAPPED})


@pytest.fixture
def archive(configs):
    opened = Archive.open(config.load(configs["a"]))
    yield opened
    opened.close()


@pytest.fixture
def pipeline(archive):
    """The run loop over ``archive``, one per test (its runs are numbered in the ledger)."""
    return Pipeline(archive)


def test_a_sensitive_version_keeps_the_record_restricted_after_harmless_edits(archive, pipeline):
    source = ScriptedSource()
    source.queue = [page("1", ["plain text", f"account {IBAN}"], Visibility.public())]
    pipeline.sync(source)
    assert acls(archive, "wiki/page/1") == [ADMINS_AND_RECORDS] * 2
    for n in (3, 4):   # incremental items carry only their newest revision; the source says public
        source.queue = [page("1", [f"harmless edit {n}"], Visibility.public(), first=n)]
        source.shown["wiki/page/1"] = Visibility.public()
        assert pipeline.sync(source).versions == 1
    assert acls(archive, "wiki/page/1") == [ADMINS_AND_RECORDS] * 4
    assert IBAN not in world_readable_text(archive)


def test_a_new_restricted_version_never_lands_under_the_old_acl_even_when_the_acl_call_fails(
        archive, pipeline, monkeypatch):
    source = ScriptedSource()
    source.queue = [page("2", ["public text"], Visibility.public())]
    pipeline.sync(source)
    secret = f"secret-{uuid.uuid4().hex}"
    source.queue = [page("2", [secret], Visibility.restricted("moved to a staff area", ["group:staff"]), first=2)]
    source.shown["wiki/page/2"] = Visibility.restricted("moved to a staff area", ["group:staff"])

    def refused(*args, **kwargs):
        raise RejectedByRepository("CMIS runtime (HTTP 500) on applyACL", "runtime", 500)
    monkeypatch.setattr(archive.repo, "apply_acl", refused)
    summary = pipeline.sync(source)
    assert (summary.versions, summary.quarantined) == (0, 1)      # narrowing failed: no check-in at all
    assert len(acls(archive, "wiki/page/2")) == 1 and secret not in world_readable_text(archive)
    monkeypatch.undo()
    source.queue = [page("2", [secret], Visibility.restricted("moved to a staff area", ["group:staff"]), first=2)]
    assert pipeline.sync(source).versions == 1
    assert acls(archive, "wiki/page/2") == [{**ADMINS_AND_RECORDS, "GROUP_staff": {"cmis:read"}}] * 2
    assert secret not in world_readable_text(archive)


def test_a_move_without_an_edit_narrows_at_once_and_widens_when_the_source_does(archive, pipeline):
    source = ScriptedSource()
    source.queue = [page("3", ["text"], Visibility.public())]
    pipeline.sync(source)
    source.shown["wiki/page/3"] = Visibility.restricted("category restricted", ["group:staff"])
    summary = pipeline.sync(source)
    assert (summary.versions, summary.acl_changes) == (0, 1)
    assert acls(archive, "wiki/page/3") == [{**ADMINS_AND_RECORDS, "GROUP_staff": {"cmis:read"}}]
    before = archive.repo.request_count
    assert pipeline.sync(source).acl_changes == 0 and archive.repo.request_count == before   # no-op: 0 CMIS
    source.shown["wiki/page/3"] = Visibility.public()
    assert pipeline.sync(source).acl_changes == 1 and acls(archive, "wiki/page/3") == [PUBLIC]


def test_a_narrowing_the_repository_refused_is_retried_when_the_sweep_says_nothing_more(archive, pipeline, monkeypatch):
    """The sweep reports a narrowing once (its thread moved); the ACL call fails. The next runs'
    sweeps no longer mention the record, and the narrowing is still applied."""
    source = ScriptedSource()
    source.queue = [page("7", ["text"], Visibility.public())]
    pipeline.sync(source)
    source.shown["wiki/page/7"] = Visibility.restricted("thread moved", ["group:staff"])

    def refused(*args, **kwargs):
        raise RejectedByRepository("CMIS runtime (HTTP 500) on applyACL", "runtime", 500)
    monkeypatch.setattr(archive.repo, "apply_acl", refused)
    assert pipeline.sync(source).quarantined == 1
    monkeypatch.undo()
    source.shown.clear()
    assert pipeline.sync(source).acl_changes == 1
    assert acls(archive, "wiki/page/7") == [{**ADMINS_AND_RECORDS, "GROUP_staff": {"cmis:read"}}]


def test_a_changed_principal_map_reaches_filed_records_without_a_source_change(configs):
    source = ScriptedSource()
    source.queue = [page("4", ["text"], Visibility.restricted("sysops only", ["group:sysop"]))]
    with_a = Archive.open(config.load(configs["a"]))
    pipeline = Pipeline(with_a)
    try:
        pipeline.sync(source)
        assert acls(with_a, "wiki/page/4") == [{**ADMINS_AND_RECORDS, "GROUP_wiki_admins": {"cmis:read"}}]
    finally:
        with_a.close()
    with_b = Archive.open(config.load(configs["b"]))
    pipeline = Pipeline(with_b)
    try:
        summary = pipeline.sync(source)   # the source says nothing new
        assert (summary.versions, summary.acl_changes) == (0, 1)
        assert acls(with_b, "wiki/page/4") == [{**ADMINS_AND_RECORDS, "GROUP_sysops_v2": {"cmis:read"}}]
    finally:
        with_b.close()


def test_a_deleted_record_is_readable_only_by_who_sees_deleted_content_until_restored(archive, pipeline):
    source = ScriptedSource()
    source.queue = [page("5", ["one", "two"], Visibility.public())]
    pipeline.sync(source)
    source.queue = [tombstone("5")]
    summary = pipeline.sync(source)
    assert summary.tombstones == 1
    assert acls(archive, "wiki/page/5") == [{**ADMINS_AND_RECORDS, "GROUP_wiki_admins": {"cmis:read"}}] * 2
    assert "wiki/page/5" not in source.swept[-1]       # a deleted record is not offered to the sweep
    assert pipeline.sync(source).acl_changes == 0       # and nothing widens it by itself
    source.queue = [page("5", ["two"], Visibility.public(), first=2)]   # restored in the source
    assert pipeline.sync(source).acl_changes == 1 and acls(archive, "wiki/page/5") == [PUBLIC] * 2


def test_a_deletion_never_widens_a_record_restricted_before(archive, pipeline):
    source = ScriptedSource()
    source.queue = [page("6", ["staff text"], Visibility.restricted("restricted namespace"))]   # no readers
    pipeline.sync(source)
    source.queue = [tombstone("6", readers=("group:sysop",))]   # sysops see deleted pages in the wiki
    pipeline.sync(source)
    assert acls(archive, "wiki/page/6") == [ADMINS_AND_RECORDS]


def test_a_person_restricted_between_two_syncs_of_one_open_archive_restricts_their_queued_edit(archive, pipeline):
    """Found by the state machine: a subject restricted on an open archive (a library caller, the
    state machine) while the person's edit waits in the source; the next sync of the same archive
    files that edit restricted, and the page's deletion in that run does not widen it to sysops."""
    source = ScriptedSource()
    source.queue = [page("7", ["public text"], Visibility.public())]
    pipeline.sync(source)
    source.queue = [page("7", [f"bob-{uuid.uuid4().hex}"], Visibility.public(), first=2, author="Bob")]
    subject.restrict(archive, "Bob", reason="DSAR", allow_empty=True)   # nothing of Bob's filed yet
    source.queue.append(tombstone("7"))
    source.shown.pop("wiki/page/7", None)
    pipeline.sync(source)
    assert acls(archive, "wiki/page/7") == [ADMINS_AND_RECORDS] * 2


class OneItemHistory(RuleBasedStateMachine):
    """Histories of one wiki page; the model says what the source shows and what the archive placed."""

    key = "wiki/page/1"
    figures = {"histories": 0, "runs": 0, "runs_with_refused_acl_calls": 0, "acl_checks": 0, "exposure_checks": 0}

    def __init__(self):
        super().__init__()
        OneItemHistory.figures["histories"] += 1
        self.directory = tempfile.mkdtemp(prefix="sa-perm-")
        self.configs = write_configs(_Dir(self.directory), os.environ["SA_TEST_CMIS_URL"], {"a": MAPPED, "b": REMAPPED})
        self.variant = "a"
        self.archive = Archive.open(config.load(self.configs["a"]))
        self.pipeline = Pipeline(self.archive)
        self.source = ScriptedSource()
        self.next_revision = 1
        self.visibility = Visibility.public()
        # what the archive will know of the page's visibility when it reaches the end of the queue:
        # the visibility of the last page queued, or the source's at the last run (its sweep). A move
        # without an edit reaches the archive only through a run's sweep.
        self.known = Visibility.public()
        self.deleted = False
        self.sysops_see_deleted = False
        self.restricted_by_archive = False
        self.secrets: set[str] = set()   # text the archive restricted (sensitive data): never world-readable
        self.hidden: set[str] = set()    # text written while the source hid the page: hidden until it shows it
        self.refuse_acl = False
        self.authors: set[str] = set()

    @initialize(sensitive=st.booleans(), restricted=st.booleans())
    def first_filing(self, sensitive, restricted):
        """Every history starts with the page archived, public or restricted, so each run checks."""
        if restricted:
            self.move_into_a_restricted_area(("group:sysop",))
        self.edit(sensitive, "Alice")
        self.run()

    # --- what happens in the source -------------------------------------------------------
    @precondition(lambda self: not self.deleted)
    @rule(sensitive=st.booleans(), author=st.sampled_from(["Alice", "Bob"]))
    def edit(self, sensitive, author):
        token = f"tok-{self.next_revision}-{uuid.uuid4().hex[:8]}"
        text = f"{token} {IBAN}" if sensitive else token
        if sensitive:
            self.secrets.add(token)
        elif not self.visibility.is_public:
            self.hidden.add(token)
        self.restricted_by_archive |= sensitive
        self.authors.add(author)
        self.source.queue.append(page("1", [text], self.visibility, first=self.next_revision, author=author))
        self.known = self.visibility
        self.next_revision += 1

    @precondition(lambda self: not self.deleted)
    @rule(readers=st.sampled_from([("group:sysop",), ("group:staff",), ("user:nobody",)]))
    def move_into_a_restricted_area(self, readers):
        self.visibility = Visibility.restricted("moved", readers)
        self.source.shown[self.key] = self.visibility

    @precondition(lambda self: not self.deleted)
    @rule()
    def make_public(self):
        # the source now shows the page with its whole history, text written while it was hidden too
        self.visibility = Visibility.public()
        self.source.shown[self.key] = self.visibility
        self.hidden.clear()

    @precondition(lambda self: not self.deleted and self.next_revision > 1)
    @rule()
    def delete(self):
        # sysops see deleted pages in the wiki, unless the page was hidden from them; the source
        # names them on the tombstone. A deletion never widens the record: the archive keeps them
        # only if what it knew of the page before let them read it (a move it has not seen yet,
        # when no run came between move and delete, does not count, either way)
        source_names_sysops = self.visibility.is_public or "group:sysop" in self.visibility.readers
        self.sysops_see_deleted = source_names_sysops and (self.known.is_public or "group:sysop" in self.known.readers)
        self.source.queue.append(tombstone("1", ("group:sysop",) if source_names_sysops else ()))
        self.source.shown.pop(self.key, None)
        self.deleted = True

    @precondition(lambda self: self.deleted)
    @rule()
    def restore(self):
        self.source.queue.append(page("1", ["restored"], self.visibility, first=self.next_revision - 1))
        self.source.shown[self.key] = self.visibility
        self.known = self.visibility
        self.deleted = False

    # --- what people do to the archive ----------------------------------------------------
    @precondition(lambda self: self.archive.ledger.record(OneItemHistory.key) is not None and "Bob" in self.authors)
    @rule()
    def restrict_processing_for_bob(self):
        # Bob's revision may still be queued in the source, not filed: a restriction placed ahead of his content
        subject.restrict(self.archive, "Bob", reason="test", allow_empty=True)
        self.restricted_by_archive = True

    @rule()
    def change_the_principal_map(self):
        self.archive.close()
        self.variant = "b" if self.variant == "a" else "a"
        self.archive = Archive.open(config.load(self.configs[self.variant]))
        self.pipeline = Pipeline(self.archive)

    @rule()
    def refuse_the_next_acl_calls(self):
        self.refuse_acl = True

    @rule()
    def run(self):
        original = self.archive.repo.apply_acl
        if self.refuse_acl:
            def refused(*args, **kwargs):
                raise RejectedByRepository("CMIS runtime (HTTP 500) on applyACL", "runtime", 500)
            self.archive.repo.apply_acl = refused
        try:
            summary = self.pipeline.sync(self.source)
        finally:
            self.archive.repo.apply_acl = original
        assert summary.outcome in ("ok", "quarantined"), summary.errors
        refused_now, self.refuse_acl = self.refuse_acl, False
        if not self.deleted:
            self.known = self.visibility   # the sweep told the archive
        self.figures["runs"] += 1
        self.figures["runs_with_refused_acl_calls"] += refused_now
        if self.archive.ledger.record(self.key) is None:
            return
        if not refused_now:
            self.figures["acl_checks"] += 1
            decided = self.decided()
            assert all(acl == decided for acl in acls(self.archive, self.key)), (acls(self.archive, self.key), decided)
        self.figures["exposure_checks"] += 1
        exposed = world_readable_text(self.archive)
        assert not {token for token in self.secrets | self.hidden if token in exposed}

    def decided(self) -> dict:
        principals = PRINCIPALS[self.variant]
        if self.restricted_by_archive:
            return ADMINS_AND_RECORDS
        if self.deleted:
            sysops = {principals["group:sysop"]: {"cmis:read"}} if self.sysops_see_deleted else {}
            return {**ADMINS_AND_RECORDS, **sysops}
        if self.visibility.is_public:
            return PUBLIC
        mapped = {principals[r]: {"cmis:read"} for r in self.visibility.readers if r in principals}
        return {**ADMINS_AND_RECORDS, **mapped}

    @invariant()
    def no_version_ever_filed_twice(self):
        record = self.archive.ledger.record(self.key)
        if record is not None:
            labels = [v["sa:revisionId"] for v in self.archive.repo.versions(record["object_id"])]
            assert len(labels) == len(set(labels))

    def teardown(self):
        self.archive.close()
        shutil.rmtree(self.directory, ignore_errors=True)


class _Dir(str):
    """A folder path that ``write_configs`` can join with ``/`` like a pytest tmp_path."""

    def __truediv__(self, name: str):
        from pathlib import Path
        return Path(self) / name


def test_no_history_leaves_restricted_content_readable(cmis_url):
    """The state machine above; the number of histories is SA_PERMISSION_HISTORIES (default 40)."""
    OneItemHistory.TestCase.settings = settings(max_examples=HISTORIES, stateful_step_count=30, deadline=None,
                                                suppress_health_check=list(HealthCheck))
    OneItemHistory.TestCase().runTest()
    figures = os.path.join(os.path.dirname(__file__), "..", "..", ".state", "permission-figures.json")
    os.makedirs(os.path.dirname(figures), exist_ok=True)
    with open(figures, "w", encoding="utf-8") as fh:
        json.dump(OneItemHistory.figures, fh, indent=2)


def test_a_widening_the_archive_never_saw_keeps_a_deleted_record_narrow(cmis_url):
    """Found by the state machine (CI, 2026-12-04): a page moved to staff, deleted, restored, made
    public by a move without an edit and deleted again, all between two runs. The archive learns
    the restore (staff) and the second deletion, never the move to public: the deleted record stays
    readable by archive admins and records only, not by the sysops the source names. Narrower
    than the source, never wider."""
    history = OneItemHistory()
    try:
        history.first_filing(sensitive=False, restricted=False)
        history.move_into_a_restricted_area(("group:staff",))
        history.delete()
        history.restore()
        history.make_public()
        history.delete()
        history.run()
        assert acls(history.archive, history.key) == [ADMINS_AND_RECORDS]
    finally:
        history.teardown()
