"""One taxonomy for everything that goes wrong, so callers decide by class, not by status code.

- ``Retriable``: try again later (429, 5xx, timeouts, MediaWiki maxlag/readonly). Carries the
  server's requested wait when it gave one. ``SourceUnavailable``: the source failed while an
  item's bytes were on their way to the repository.
- ``Fatal``: stop the run (bad credentials, bad config, repository refuses what we need).
- ``Skippable``: this one record is bad; quarantine it, report it, go on.

What each class means as an exit code is in ``connector.exitcodes`` (one table).
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
