"""A mapper works out each folder path and each ACL decision once per run (issue #21): whatever
the sequence of objects, every answer must be the one worked out afresh."""
from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from connector.access import AccessPolicy
from connector.cmis.profiles import profile
from connector.config import PermissionsConfig, shipped_mapping
from connector.mapping import Mapper, Rules
from connector.model import Visibility

VISIBILITIES = st.one_of(st.just(Visibility.public()), st.builds(
    Visibility.restricted, st.sampled_from(["private", "hidden"]),
    st.lists(st.sampled_from(["group:sysop", "group:nobody", "user:alice"]), max_size=2).map(tuple)))
RESTRICTIONS = st.frozensets(st.sampled_from(["sensitive data (iban)", "restricted subject"]), max_size=2)
WHEN = st.one_of(st.none(), st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2031, 1, 1),
                                         timezones=st.just(timezone.utc)))


def _mapper() -> Mapper:
    permissions = PermissionsConfig(archive_admins=["admin"], restricted_readers=["GROUP_records"],
                                    principals={"group:sysop": "GROUP_admins"})
    return Mapper(Rules.load(shipped_mapping("default.toml")),
                  AccessPolicy(permissions, profile("opencmis-inmemory"), anyone="anyone"), "run-1")


@settings(max_examples=150, deadline=None)
@given(calls=st.lists(st.tuples(st.sampled_from(["wiki", "blog"]), VISIBILITIES, RESTRICTIONS), min_size=1,
                      max_size=10))
def test_acl_decisions_are_the_policys(calls):
    kept, fresh = _mapper(), _mapper()
    for source, visibility, restrictions in calls:
        decided, digest = kept._acl(source, visibility, restrictions)
        expected = fresh.policy.decide(source, visibility, restrictions)
        assert decided == expected and digest == expected.digest
        assert kept.acl(source, visibility, restrictions) == expected


@settings(max_examples=150, deadline=None)
@given(calls=st.lists(st.tuples(st.sampled_from(["page", "file", "tombstone", "comment"]),
                                st.sampled_from(["wiki", "blog"]), st.sampled_from(["", "Main", "a/b: c"]), WHEN),
                      min_size=1, max_size=10))
def test_folders_are_worked_out_afresh(calls):
    kept = _mapper()
    for kind, source, space, when in calls:
        assert kept.folder(kind, source, "mediawiki", space, when) == \
            _mapper().folder(kind, source, "mediawiki", space, when)
