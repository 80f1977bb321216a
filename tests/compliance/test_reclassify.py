"""`socialarchive reclassify` against the real OpenCMIS InMemory 1.1.0 server: after a change of
the classification rules, filed versions get the new class and a later retain-until (one audit
entry per version, properties only), never an earlier one unless forced."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connector import config
from connector.archive import Archive

from .conftest import compliance_config
from .test_compliance_inmemory import T2023, audit_events, cli, file, history, item, one, until

pytestmark = pytest.mark.integration


def _filed(tmp_path, cmis_url, *items):
    path = compliance_config(tmp_path, cmis_url)
    archive = Archive.open(config.load(path))
    try:
        file(archive, *items)
        return path, {it.key: [(one(v["cmis:objectId"]), one(v["sa:sha256"]), one(v["cmis:contentStreamLength"]))
                               for v in history(archive, it)] for it in items}
    finally:
        archive.close()


def _change_rules(tmp_path, old: str, new: str) -> None:
    rules = tmp_path / "classes.toml"
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new))


def _versions(path, it) -> list[tuple]:
    archive = Archive.open(config.load(path), lock=False, dry_run=True)
    try:
        return [(one(v["sa:recordClass"]), one(v["sa:classRule"]), one(v["sa:retainUntil"])) for v in history(archive, it)]
    finally:
        archive.close()


def _reclassify(path, *args):
    result = cli("reclassify", "--config", path, "--json", *args)
    return result.exit_code, json.loads(result.output)


def test_a_rule_change_moves_retain_until_forward_with_one_audit_entry_per_version(tmp_path, cmis_url):
    letter = item("2", datetime(2022, 6, 1, tzinfo=timezone.utc), ["Dear supplier, ...", "Dear supplier, corrected"],
                  space="Correspondence")
    invoice = item("1", T2023, ["Invoice 2023-001"], tags=("Invoice",))
    path, content = _filed(tmp_path, cmis_url, letter, invoice)
    assert _versions(path, letter) == [("business-letter", "letters", until(2028))] * 2   # gobd-6 from 2022
    # letters are kept as records of the organisation (10 years) from now on
    _change_rules(tmp_path, 'space = "Correspondence"\nclass = "business-letter"', 'space = "Correspondence"\nclass = "organisation"')

    code, plan = _reclassify(path)                                   # a dry run: listed, nothing written
    assert code == 0 and not plan["applied"] and plan["kept"] == []
    assert [(c["key"], c["version"], c["from"]["record_class"], c["to"]["record_class"], c["to"]["retain_until"][:10])
            for c in plan["changed"]] == [(letter.key, "1.0", "business-letter", "organisation", "2032-12-31")] + \
        [(letter.key, "2.0", "business-letter", "organisation", "2032-12-31")]
    assert _versions(path, letter) == [("business-letter", "letters", until(2028))] * 2
    cfg = config.load(path)
    assert not [e for e in audit_events(cfg) if e["event"].startswith("reclassif")]

    code, done = _reclassify(path, "--apply")
    assert code == 0 and done["applied"] and len(done["changed"]) == 2 and done["problems"] == []
    assert _versions(path, letter) == [("organisation", "letters", until(2032))] * 2      # read from the repository
    assert _versions(path, invoice) == [("booking-voucher", "invoices", until(2031))]    # unchanged rule: untouched
    entries = [e for e in audit_events(cfg) if e["event"] == "reclassify"]
    assert [(e["key"], e["version"], e["object_id"], e["from"]["retain_until"][:10], e["to"]["retain_until"][:10],
             e["forced"]) for e in entries] == \
        [(letter.key, v, oid, "2028-12-31", "2032-12-31", False) for v, (oid, _, _) in zip(("1.0", "2.0"), content[letter.key])]
    [summary] = [e for e in audit_events(cfg) if e["event"] == "reclassified"]
    assert summary["changed"] == 2 and summary["config_sha256"] == cfg.fingerprint
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:   # properties only: the same versions, the same content
        assert [(one(v["cmis:objectId"]), one(v["sa:sha256"]), one(v["cmis:contentStreamLength"]))
                for v in history(archive, letter)] == content[letter.key]
    finally:
        archive.close()

    code, again = _reclassify(path, "--apply")                       # nothing left to change
    assert code == 0 and again["changed"] == [] and again["versions"] == 3
    assert len([e for e in audit_events(cfg) if e["event"] == "reclassify"]) == 2


def test_reclassify_never_shortens_a_filed_retention_without_force(tmp_path, cmis_url):
    invoice = item("1", T2023, ["Invoice 2023-001", "Invoice 2023-001, corrected"], tags=("Invoice",))
    path, _ = _filed(tmp_path, cmis_url, invoice)
    _change_rules(tmp_path, 'tags = ["invoice"]\nclass = "booking-voucher"', 'tags = ["invoice"]\nclass = "short"')

    listed = cli("reclassify", "--config", path).output                # the dry run, as text
    assert "1 records, 2 versions; 0 to change (dry run: nothing written; --apply writes), 2 kept" in listed
    assert f"  kept: {invoice.key} v1.0: booking-voucher (invoices) -> short (invoices), " \
           "retain until 2031-12-31 -> 2026-12-31" in listed
    code, done = _reclassify(path, "--apply")
    assert code == 0 and done["changed"] == []
    assert [(c["version"], c["from"]["retain_until"][:10], c["to"]["retain_until"][:10]) for c in done["kept"]] == \
        [("1.0", "2031-12-31", "2026-12-31"), ("2.0", "2031-12-31", "2026-12-31")]
    assert _versions(path, invoice) == [("booking-voucher", "invoices", until(2031))] * 2
    cfg = config.load(path)
    assert not [e for e in audit_events(cfg) if e["event"] == "reclassify"]

    result = cli("reclassify", "--config", path, "--force")
    assert result.exit_code == 2 and "--force goes with --apply" in result.output

    code, forced = _reclassify(path, "--apply", "--force")
    assert code == 0 and len(forced["changed"]) == 2 and forced["kept"] == []
    assert _versions(path, invoice) == [("short", "invoices", until(2026))] * 2
    assert [e["forced"] for e in audit_events(cfg) if e["event"] == "reclassify"] == [True, True]
