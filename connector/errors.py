"""One taxonomy for everything that goes wrong, so callers decide by class, not by status code.

- ``Retriable``: try again later (429, 5xx, timeouts, MediaWiki maxlag/readonly). Carries the
  server's requested wait when it gave one.
- ``Fatal``: stop the run (bad credentials, bad config, repository refuses what we need).
- ``Skippable``: this one record is bad; quarantine it, report it, go on.
"""
from __future__ import annotations


class ConnectorError(Exception):
    """Base class. Messages must never contain secrets."""


class Retriable(ConnectorError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Fatal(ConnectorError):
    pass


class ConfigError(Fatal):
    pass


class Skippable(ConnectorError):
    pass
