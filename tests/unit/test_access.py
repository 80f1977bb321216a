"""connector.access: the one function that decides a record's ACL, and the world-principal guard."""
from __future__ import annotations

import pytest

from connector.access import AccessPolicy, acl_digest
from connector.cmis.profiles import profile
from connector.config import PermissionsConfig
from connector.errors import ConfigError
from connector.model import Visibility, access_label, visibility_from_label

ADMINS_AND_RECORDS = {"admin": ["cmis:all"], "GROUP_records": ["cmis:read"]}


def policy(**changes) -> AccessPolicy:
    settings = dict(archive_admins=["admin"], restricted_readers=["GROUP_records"],
                    principals={"group:sysop": "GROUP_wiki_admins", "forum:group:staff": "GROUP_staff"})
    settings.update(changes)
    return AccessPolicy(PermissionsConfig(**settings), profile("opencmis-inmemory"), anyone="anyone",
                        anonymous="anonymous")


def test_public_in_the_source_and_no_restriction_is_readable_by_the_public_readers():
    decided = policy().decide("wiki", Visibility.public())
    assert decided.add == {"admin": ["cmis:all"], "anyone": ["cmis:read"]}
    assert decided.remove == {"anyone": ["cmis:all"]} and decided.visibility.is_public
    assert policy(public_readers=["GROUP_staff_all"]).decide("wiki", Visibility.public()).add == {
        "admin": ["cmis:all"], "GROUP_staff_all": ["cmis:read"]}


def test_restricted_maps_source_readers_explicitly_and_per_source_first():
    decided = policy().decide("forum", Visibility.restricted("staff only", ["group:staff", "group:sysop"]))
    assert decided.add == {**ADMINS_AND_RECORDS, "GROUP_staff": ["cmis:read"], "GROUP_wiki_admins": ["cmis:read"]}


def test_unmapped_principal_adds_nobody_and_is_remembered():
    p = policy()
    assert p.decide("wiki", Visibility.restricted("x", ["user:zoe"])).add == ADMINS_AND_RECORDS
    assert p.unmapped == {"user:zoe"}


def test_an_archive_restriction_wins_over_the_source_and_drops_source_readers():
    p = policy()
    for visibility in (Visibility.public(), Visibility.restricted("sysops", ["group:sysop"])):
        decided = p.decide("wiki", visibility, restrictions={"sensitive data (iban)"})
        assert decided.add == ADMINS_AND_RECORDS
        assert not decided.visibility.is_public and "sensitive data (iban)" in decided.visibility.reason


def test_the_digest_follows_the_acl_not_the_source_principals():
    p = policy(principals={"group:staff": "GROUP_staff", "group:mods": "GROUP_staff"})
    # two source principals that map to the same ECM ACL have one digest; a config change changes it
    a = p.decide("forum", Visibility.restricted("x", ["group:staff"]))
    b = p.decide("forum", Visibility.restricted("y", ["group:mods"]))
    assert a.digest == b.digest
    remapped = policy(principals={"group:staff": "GROUP_moderators"}).decide(
        "forum", Visibility.restricted("x", ["group:staff"]))
    assert remapped.digest != a.digest
    assert acl_digest({"a": ["r", "w"], "b": ["r"]}) == acl_digest({"b": ["r"], "a": ["w", "r", "r"]})


@pytest.mark.parametrize("world", ["anyone", "cmis:anyone", "anonymous", "cmis:anonymous", "guest", "Everyone",
                                   "GROUP_EVERYONE", "*", "repo-anon"])
def test_world_principals_are_a_configuration_error(world):
    def make(**changes):
        settings = dict(archive_admins=["admin"], restricted_readers=["GROUP_records"])
        settings.update(changes)
        return AccessPolicy(PermissionsConfig(**settings), profile("opencmis-inmemory"), anyone="anyone",
                            anonymous="repo-anon")
    with pytest.raises(ConfigError, match="restricted_readers names"):
        make(restricted_readers=["GROUP_records", world])
    with pytest.raises(ConfigError, match=r"\[permissions.principals\] maps wiki:group:sysop"):
        make(principals={"wiki:group:sysop": world})
    with pytest.raises(ConfigError, match="archive_admins names"):
        make(archive_admins=[world])
    make(public_readers=[world])   # the one place a world principal belongs


def test_ledger_labels_round_trip_and_read_old_ones():
    for visibility in (Visibility.public(), Visibility.restricted("x"), Visibility.restricted("x", ["user:a,b", "group:c"])):
        back = visibility_from_label(access_label(visibility))
        assert (back.is_public, sorted(back.readers)) == (visibility.is_public, sorted(visibility.readers))
    assert visibility_from_label("restricted:group:a,user:b").readers == ("group:a", "user:b")
    assert not visibility_from_label("").is_public and not visibility_from_label("garbage").is_public
