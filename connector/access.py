"""Who may read an archived record: the one place that decides its ACL.

The archive never shows more than the source shows *now*. A record's ACL follows from three things
and nothing else:

1. what the source shows now (``model.Visibility``: public, or restricted to source principals),
   as the ledger last saw it from the feed, the visibility sweep or a deletion;
2. the restrictions the archive placed on the record (sensitive data, a GDPR processing
   restriction): kept in the ledger, they never widen by themselves, whatever later revisions or
   the source say;
3. the config (``[permissions]``): archive admins, restricted readers, public readers and the
   explicit principal map.

Example::

    policy = AccessPolicy(permissions, profile, world={"anyone", "anonymous"})
    decided = policy.decide("wiki", Visibility.public())
    decided.add        # {"admin": ["cmis:all"], "anyone": ["cmis:read"]}
    decided.digest     # what the ledger keeps: the next run writes only where it differs
    policy.decide("wiki", Visibility.public(), restrictions=["sensitive data (iban)"]).add
                       # {"admin": ["cmis:all"], "GROUP_records": ["cmis:read"]}

Rules, failing closed:

- every record gets the archive admins with full control;
- public in the source and no archive restriction: the public readers (default: the repository's
  ``anyone``) may read;
- otherwise the restricted readers, plus the ECM principals the explicit map gives for the
  source's readers (none when the archive itself restricted the record: its restriction is about
  the content, which the source's readers may not see in the archive); an unmapped source
  principal adds nobody and is warned about once;
- the repository's default world ACE (OpenCMIS gives ``anyone`` full control) is always removed;
- a world principal (``anyone``, ``anonymous``, ``everyone``, ``GROUP_EVERYONE``, ``guest``,
  the repository's own anyone/anonymous ids, ...) as an archive admin, restricted reader or mapped
  principal is a configuration error: it would make restricted content world-readable.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Collection, Iterable

from .cmis.profiles import Profile
from .config import WORLD_PRINCIPALS, PermissionsConfig, check_no_world
from .model import Visibility

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DecidedAcl:
    """The ACL a record must have: ``add`` is the whole wanted ACL, ``remove`` the repository's
    default ACE that a create must drop, ``digest`` what the ledger keeps of it."""

    add: dict[str, list[str]]
    remove: dict[str, list[str]]
    visibility: Visibility   # the archive's visibility: the source's, or narrowed by a restriction

    @property
    def digest(self) -> str:
        return acl_digest(self.add)


def acl_digest(add: dict[str, list[str]]) -> str:
    """A stable digest of an ACL (principal → permissions), independent of order."""
    canonical = json.dumps({p: sorted(set(perms)) for p, perms in add.items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class AccessPolicy:
    """Decides ACLs from (source visibility now, archive restrictions, config); see the module doc."""

    def __init__(self, permissions: PermissionsConfig, profile: Profile, *, anyone: str, anonymous: str = ""):
        self.permissions, self.profile, self.anyone = permissions, profile, anyone
        self.unmapped: set[str] = set()
        # config.load refused the well-known world principals; the repository names its own
        check_no_world(permissions, WORLD_PRINCIPALS | {p for p in (anyone, anonymous) if p})

    def decide(self, source: str, visibility: Visibility, restrictions: Collection[str] = ()) -> DecidedAcl:
        """The ACL of a record of ``source`` that the source shows as ``visibility`` and the archive
        restricted for ``restrictions`` (reasons; empty when it placed none)."""
        add: dict[str, list[str]] = {p: [self.profile.all] for p in self.permissions.archive_admins}
        if restrictions:
            effective = Visibility.restricted(
                f"archive restriction: {'; '.join(sorted(set(restrictions)))}; in the source: {visibility.reason or visibility.label}")
            readers = list(self.permissions.restricted_readers)
        elif visibility.is_public:
            effective = visibility
            readers = (list(self.permissions.public_readers) if self.permissions.public_readers is not None
                       else [self.anyone])
        else:
            effective = visibility
            readers = list(self.permissions.restricted_readers) + list(self._mapped(source, visibility.readers))
        for reader in readers:
            add.setdefault(reader, [self.profile.read])
        return DecidedAcl(add=add, remove={self.anyone: [self.profile.all]}, visibility=effective)

    def _mapped(self, source: str, principals: Iterable[str]) -> Iterable[str]:
        for principal in principals:
            mapped = (self.permissions.principals.get(f"{source}:{principal}")
                      or self.permissions.principals.get(principal))
            if mapped:
                yield mapped
            elif principal not in self.unmapped:
                self.unmapped.add(principal)
                log.warning("source principal %s of %s is not mapped in [permissions.principals]: "
                            "restricting to archive admins and restricted readers", principal, source)
