"""One taxonomy for everything that goes wrong, so callers decide by class, not by status code.

- ``Retriable``: try again later (429, 5xx, timeouts, MediaWiki maxlag/readonly). Carries the
  server's requested wait when it gave one. ``SourceUnavailable``: the source failed while an
  item's bytes were on their way to the repository.
- ``Fatal``: stop the run (bad credentials, bad config, repository refuses what we need).
- ``Skippable``: this one record is bad; quarantine it, report it, go on.

Every error class of the engine, the repository client, the sources and the record manager is
here, the signals a source raises and catches inside itself too (``RecordUnreadable``,
``SessionLost``). What each class means as an exit code is in ``connector.exitcodes`` (one table). Nothing else is caught as "bad
input": a ``ValueError`` or ``KeyError`` out of our own code is a bug and stops the run.
"""
from __future__ import annotations


class ConnectorError(Exception):
    """Base class. Messages must never contain secrets."""


class Retriable(ConnectorError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SourceUnavailable(Retriable):
    """The source failed while an item's content streamed from it to the repository.

    Raised in place of whatever the source's chunk iterator raised (see ``model.HashingReader``),
    so that it is never mistaken for a repository failure: it is not an ``OSError``, which the
    HTTP stack of the *upload* would wrap as a connection error of the repository. Retried like
    any transient error; when every attempt failed, the item is quarantined, the run goes on.
    """


class Fatal(ConnectorError):
    pass


class ConfigError(Fatal):
    pass


class RunLocked(Fatal):
    """Another sync or backfill holds this ledger."""


class Skippable(ConnectorError):
    pass


# --- one record -----------------------------------------------------------------------------
class DigestMismatch(Skippable):
    """The bytes read do not match the digest the source announced."""


class RecordUnreadable(Skippable):
    """A source could not read one record it had listed: it vanished while read (Misago: 404 on a
    thread's posts or a post's edit history) or the account may not read it (Discourse: 403 on a
    topic). Raised and caught inside the source, which decides: a tombstone (gone), an entry in
    ``skipped`` (refused, read again next run), or nothing (a post gone with its thread). One
    that escaped would quarantine the record, like any ``Skippable``."""


class UnsafeXml(Skippable):
    """XML that is too large or not well-formed (``connector.xml``): this record cannot be read."""


# --- a source's session ---------------------------------------------------------------------
class SessionLost(Fatal):
    """The source dropped our login during a run (MediaWiki ``assertuserfailed``). The client logs
    in again once and repeats the call; lost again right after, the run stops (``Fatal``)."""


# --- HTTP -------------------------------------------------------------------------------------
class HostUnresolved(Retriable):
    """The host name of a URL did not resolve (DNS): unavailable, not retried (see ``connector.http``)."""


class ResponseTooLarge(Skippable):
    """An answer that should be small (API JSON) is larger than ``SETTINGS.max_response_mb``."""


# --- the repository (CMIS) --------------------------------------------------------------------
class CmisError(ConnectorError):
    """A CMIS exception the caller may want to tell apart (``name`` is the CMIS exception name)."""

    def __init__(self, message: str, name: str = "", status: int = 0):
        super().__init__(message)
        self.name = name
        self.status = status


class NameConflict(CmisError, Skippable):
    """nameConstraintViolation (OpenCMIS) or contentAlreadyExists (Alfresco) on create."""


class UpdateConflict(CmisError, Retriable):
    """updateConflict / versioning: someone else holds the object; try again."""


class ObjectNotFound(CmisError, Skippable):
    pass


class RejectedByRepository(CmisError, Skippable):
    """invalidArgument / constraint / streamNotSupported: this record cannot be stored as sent."""


class RepositoryUnavailable(CmisError, Retriable):
    pass


class RepositoryRefused(CmisError, Fatal):
    """permissionDenied / unauthorized / notSupported: nothing will work until config changes."""


class AlreadyFiled(Exception):
    """Create found the record already in the repository (recovered by key); ``versions`` are the
    ``cmis.filer.FiledVersion``s ``Filer.find`` returns, not yet proven. Not a failure: the caller
    records them instead of filing again."""

    def __init__(self, versions: list):
        super().__init__(f"{len(versions)} versions already filed")
        self.versions = versions


class ArchiveLost(Fatal):
    """The ledger holds versions the repository no longer has the archive for."""


# --- the record manager -----------------------------------------------------------------------
class EmptySelection(ConnectorError):
    """A selection that matches no record of this archive, raised before anything is written or
    audited: acting on nothing would read as success (a hold "placed on 0 records" for a
    misspelt word). The commands refuse it unless told that an empty selection is meant
    (``--allow-empty``: a hold or a restriction that is to catch records filed later).

    Example: ``EmptySelection("hold add M-1", "text 'münchen'")`` reads
    "hold add M-1: text 'münchen' selects no record of this archive; nothing was done"."""

    def __init__(self, action: str, criteria: str):
        super().__init__(f"{action}: {criteria} selects no record of this archive; nothing was done")
        self.action, self.criteria = action, criteria


class HoldError(ConfigError):
    """A hold command that cannot be carried out as asked (unknown matter, conflicting criteria)."""


class ExportError(Fatal):
    pass


class AuditLogDamaged(Fatal):
    """The audit log's last complete line is not an entry: not a torn write, so not repaired."""


class AuditChainBroken(Fatal):
    """The local audit log does not chain on from what was filed: it is not filed."""
