from datetime import datetime, timezone

from connector.access import AccessPolicy
from connector.cmis.profiles import profile
from connector.config import PermissionsConfig, shipped_mapping
from connector.mapping import Mapper, Rules
from connector.model import Content, Item, Revision, Tombstone, Visibility


def mapper(**perms):
    permissions = PermissionsConfig(archive_admins=["admin"], restricted_readers=["GROUP_records"],
                                    principals={"group:sysop": "GROUP_admins"}, **perms)
    policy = AccessPolicy(permissions, profile("opencmis-inmemory"), anyone="anyone")
    return Mapper(Rules.load(shipped_mapping("default.toml")), policy, "run-1")


def item(visibility, title="Page", kind="page"):
    when = datetime(2023, 5, 1, tzinfo=timezone.utc)
    return Item(source="wiki", system="mediawiki", native_id="1", kind=kind, title=title, url="u",
                visibility=visibility, space="Main", created=when,
                revisions=[Revision("9", when, "a", Content.from_bytes(b"x", "text/x-wiki"))])


def test_public_gets_read_for_anyone_and_default_ace_removed():
    spec = mapper().document(item(Visibility.public()))
    assert spec.acl_add == {"admin": ["cmis:all"], "anyone": ["cmis:read"]}
    assert spec.acl_remove == {"anyone": ["cmis:all"]}
    assert spec.folder == ("wiki", "Main", "2023") and spec.name == "Page [1].wiki"


def test_restricted_fails_closed_on_unmapped_principals():
    m = mapper()
    spec = m.document(item(Visibility.restricted("private", ["group:sysop", "group:nobody"])))
    assert spec.acl_add == {"admin": ["cmis:all"], "GROUP_records": ["cmis:read"], "GROUP_admins": ["cmis:read"]}
    assert "anyone" not in spec.acl_add and m.policy.unmapped == {"group:nobody"}


def test_tombstone_is_a_restricted_record_of_its_own():
    tomb = Tombstone(source="wiki", system="mediawiki", native_id="1", kind="page", title="Gone",
                     detected_at=datetime(2024, 1, 2, tzinfo=timezone.utc), detected_by="logevents:delete")
    spec = mapper().tombstone(tomb)
    assert spec.key.startswith("wiki/tombstone/page:1@") and spec.properties["sa:parentId"] == "wiki/page/1"
    assert spec.folder == ("wiki", "_deletions", "2024") and "anyone" not in spec.acl_add
