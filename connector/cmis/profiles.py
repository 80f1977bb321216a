"""Repository profiles: what differs between the CMIS servers we target, as data.

- ``create_types``: create our types with createType (needs type mutability), or expect them to be
  deployed (Alfresco content model under ``docker/alfresco``) and fail with a clear message.
- ``document_type`` / ``secondary_type``: the ids as the repository spells them (Alfresco
  prefixes ``D:`` for types and ``P:`` for aspects).
- ``read`` / ``all``: the permission names for reading and full control.
- ``query_all_versions``: query with searchAllVersions=true to find records by key.
- ``secondary_types``: False in CMIS 1.0 mode (profiles ``cmis10``, ``opencmis-inmemory-cmis10``):
  the repository has no secondary types, so every archive property sits on our document type
  (deployed by the administrator from ``typedefs.TYPE_FILE``), ``secondary_type`` names that same
  document type (the metadata queries run on it unchanged) and ``cmis:secondaryObjectTypeIds`` is
  never sent.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from . import schema


@dataclass(frozen=True)
class Profile:
    name: str
    create_types: bool
    document_type: str = schema.DOCUMENT_TYPE
    secondary_type: str = schema.SECONDARY_TYPE
    read: str = "cmis:read"
    all: str = "cmis:all"
    hidden_leading_dot: bool = False
    # OpenCMIS InMemory matches a WHERE on properties only in a series' first version unless
    # all versions are searched; it does so although it advertises otherwise.
    query_all_versions: bool = False
    secondary_types: bool = True


PROFILES = {
    "opencmis-inmemory": Profile("opencmis-inmemory", create_types=True, query_all_versions=True),
    "generic": Profile("generic", create_types=True),
    "alfresco": Profile("alfresco", create_types=False, document_type="D:sa:document",
                        secondary_type="P:sa:archived", hidden_leading_dot=True),
    "nuxeo": Profile("nuxeo", create_types=False),
    "cmis10": Profile("cmis10", create_types=False, secondary_type=schema.DOCUMENT_TYPE, secondary_types=False),
    # the metadata sits on the document type, whose all-versions queries see every version on InMemory
    "opencmis-inmemory-cmis10": Profile("opencmis-inmemory-cmis10", create_types=False,
                                        secondary_type=schema.DOCUMENT_TYPE, secondary_types=False,
                                        query_all_versions=True),
}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown repository profile {name!r}; choose one of {', '.join(PROFILES)}") from None
