"""Classification rules → record class → retain-until; the properties every version gets."""
import tomllib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from connector.access import AccessPolicy
from connector.cmis.profiles import profile
from connector.compliance import rm
from connector.compliance.classify import ClassRules, Classifier, Facts, audit_fields
from connector.compliance.settings import default_classification
from connector.config import PermissionsConfig, shipped_mapping
from connector.errors import ConfigError
from connector.mapping import Mapper, Rules
from connector.model import Content, Item, Revision, Tombstone, Visibility

from .conftest import RULES

BERLIN = ZoneInfo("Europe/Berlin")


def rules(text: str = RULES) -> ClassRules:
    return ClassRules.parse(tomllib.loads(text), "test.toml")


def item(created, *, space="Main", tags=(), title="Page", text="hello", author="Alice", kind="page",
         visibility=None, revisions=None) -> Item:
    revs = revisions or [Revision("1", created, author, Content.from_bytes(text.encode(), "text/x-wiki"))]
    return Item(source="wiki", system="mediawiki", native_id="1", kind=kind, title=title, url="u",
                visibility=visibility or Visibility.public(), revisions=revs, author=author, created=created,
                space=space, tags=tuple(tags))


def until(year: int) -> datetime:
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=BERLIN).astimezone(timezone.utc)


def decide(classifier, it, n=0):
    return classifier.decide(Facts.of_item(it, it.revisions[n]), it.revisions[n].content)


def test_three_classes_by_tags_space_and_default():
    c = Classifier(rules())
    t = datetime(2023, 5, 1, 10, tzinfo=timezone.utc)
    voucher = decide(c, item(t, tags=["Invoice"]))           # tags compare case-insensitively
    letter = decide(c, item(t, space="correspondence"))
    other = decide(c, item(t))
    assert (voucher.record_class, voucher.rule, voucher.retain_until) == ("booking-voucher", "invoices", until(2031))
    assert (letter.record_class, letter.rule, letter.retain_until) == ("business-letter", "letters", until(2029))
    assert (other.record_class, other.rule, other.retain_until) == ("organisation", "default", until(2033))
    assert other.start == datetime(2024, 1, 1, tzinfo=BERLIN).astimezone(timezone.utc)


def test_custom_years_by_content_and_first_rule_wins():
    c = Classifier(rules())
    t = datetime(2020, 2, 2, tzinfo=timezone.utc)
    assert decide(c, item(t, text="a Short-Lived Note")).retain_until == until(2023)  # years = 3
    assert decide(c, item(t, tags=["invoice"], text="short-lived note")).record_class == "booking-voucher"


def test_year_is_taken_in_the_configured_zone():
    c = Classifier(rules())
    new_year_in_berlin = datetime(2023, 12, 31, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 Jan 2024 in Berlin
    assert decide(c, item(new_year_in_berlin)).retain_until == until(2034)
    utc_rules = Classifier(rules(RULES.replace('timezone = "Europe/Berlin"', 'timezone = "UTC"')))
    assert decide(utc_rules, item(new_year_in_berlin)).retain_until == datetime(2033, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def test_each_version_runs_from_its_own_year():
    t1, t2 = datetime(2021, 6, 1, tzinfo=timezone.utc), datetime(2024, 6, 1, tzinfo=timezone.utc)
    it = item(t1, revisions=[Revision("1", t1, "A", Content.from_bytes(b"a", "text/x-wiki")),
                             Revision("2", t2, "B", Content.from_bytes(b"b", "text/x-wiki"))])
    m = Mapper(Rules.load(shipped_mapping("default.toml")),
               AccessPolicy(PermissionsConfig(["admin"], ["GROUP_records"]), profile("opencmis-inmemory"), anyone="anyone"),
               "run", classifier=Classifier(rules()))
    spec = m.document(it)
    assert [v.properties["sa:retainUntil"] for v in spec.versions] == [until(2031), until(2034)]
    assert all(v.properties["sa:recordClass"] == "organisation" and v.properties["sa:sensitive"] == []
               for v in spec.versions)
    assert audit_fields(spec, "2") == {"record_class": "organisation", "class_rule": "default",
                                       "retain_until": until(2034).isoformat()}


def test_no_default_class_fails_closed():
    with pytest.raises(ConfigError, match="default_class is required"):
        rules(RULES.replace('default_class = "organisation"', ""))
    with pytest.raises(ConfigError, match="not defined"):
        rules(RULES.replace('class = "short"', 'class = "nope"'))
    with pytest.raises(ConfigError, match="retention"):
        rules(RULES.replace('years = 3', 'years = 0'))
    with pytest.raises(ConfigError, match="not one of"):
        rules(RULES.replace('retention = "gobd-6"', 'retention = "gobd-7"'))
    with pytest.raises(ConfigError, match="unknown conditions"):
        rules(RULES.replace('tags = ["invoice"]', 'tag = ["invoice"]'))


def test_shipped_rules_load_and_classify_everything():
    shipped = ClassRules.load(default_classification())
    assert shipped.default_class == "organisation"
    assert {c.years for c in shipped.classes.values()} == {10, 8, 6}


def test_sensitive_restrict_narrows_a_public_item_and_flags_versions():
    m = Mapper(Rules.load(shipped_mapping("default.toml")),
               AccessPolicy(PermissionsConfig(["admin"], ["GROUP_records"]), profile("opencmis-inmemory"), anyone="anyone"),
               "run", classifier=Classifier(rules()))
    t = datetime(2023, 1, 1, tzinfo=timezone.utc)
    flagged = m.document(item(t, text="IBAN DE89 3704 0044 0532 0130 00, mail a@example.org"))
    assert flagged.versions[0].properties["sa:sensitive"] == ["email", "iban"]
    assert flagged.acl_add == {"admin": ["cmis:all"], "GROUP_records": ["cmis:read"]}   # restrict = ["iban"]
    mail_only = m.document(item(t, text="mail a@example.org"))
    assert mail_only.versions[0].properties["sa:sensitive"] == ["email"]
    assert mail_only.acl_add["anyone"] == ["cmis:read"]                                 # flagged, still public


def test_rm_types_are_written_where_the_repository_has_them():
    class State:
        def holds_for(self, facts):
            return ["M-1"]

        def is_restricted(self, people):
            return "Mallory" in people
    c = Classifier(rules(), rm.RmSupport(retention=True, hold=True), "sa:archived", State())
    t = datetime(2023, 5, 1, tzinfo=timezone.utc)
    props = c.properties(decide(c, item(t, author="Mallory")))
    assert props["cmis:secondaryObjectTypeIds"] == ["sa:archived", rm.RETENTION_TYPE, rm.HOLD_TYPE]
    assert props[rm.EXPIRATION] == props["sa:retainUntil"] == until(2033)
    assert props[rm.START] == datetime(2024, 1, 1, tzinfo=BERLIN).astimezone(timezone.utc)
    assert props[rm.HOLD_IDS] == props["sa:holdIds"] == ["M-1"] and props["sa:restricted"] is True
    plain = Classifier(rules()).properties(decide(Classifier(rules()), item(t)))
    assert "cmis:secondaryObjectTypeIds" not in plain and "sa:holdIds" not in plain


def test_tombstones_are_classified():
    c = Classifier(rules())
    when = datetime(2024, 2, 1, tzinfo=timezone.utc)
    tomb = Tombstone(source="wiki", system="mediawiki", native_id="1", kind="page", detected_at=when,
                     detected_by="logevents")
    props = c.tombstone_properties(tomb, when)
    assert props["sa:recordClass"] == "organisation" and props["sa:retainUntil"] == until(2034)
