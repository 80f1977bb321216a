"""Exit codes: the one table every command exits by, and which error class ends in which code.

Scripts, cron and alerting act on these numbers, so they are defined here once: the commands of
``connector/cli/`` exit with ``ExitCode`` members, ``socialarchive --help`` lists
``MEANING``, and a test compares ``MEANING`` with the README's exit-code table in both directions
(a code added here without a README row, or a row without a code, fails it).

Example::

    sys.exit(for_error(exc))                       # RepositoryUnavailable -> 4, ConfigError -> 2
    sys.exit(worst([ExitCode.UNAVAILABLE, ExitCode.FATAL]))   # -> 5: what needs a person first
"""
from __future__ import annotations

import textwrap
from enum import IntEnum
from typing import Iterable

from .errors import ConfigError, ConnectorError, Fatal, Retriable, RunLocked


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    QUARANTINED = 3
    UNAVAILABLE = 4
    FATAL = 5
    LOCKED = 6
    FIXITY = 7
    DIFFERENCES = 8
    INTERRUPTED = 130


# One line each, word for word the README's "Exit codes" table (tests/unit/test_exitcodes.py).
MEANING: dict[ExitCode, str] = {
    ExitCode.OK: "done, everything filed",
    ExitCode.ERROR: "unexpected error (a bug: report it with the log)",
    ExitCode.USAGE: "usage or configuration error, or a selection (`hold add`, `export`, `verify --source`, "
                    "`reclassify --source`, `subject restrict`) that matches no record, without `--allow-empty`",
    ExitCode.QUARANTINED: "done, but some items were quarantined (their reasons are in the ledger)",
    ExitCode.UNAVAILABLE: "a source or the repository stayed unavailable after retries (or its host name does not "
                          "resolve); the checkpoint was not advanced",
    ExitCode.FATAL: "fatal: credentials or permissions refused, or the repository lacks our types",
    ExitCode.LOCKED: "another run holds the same ledger (`sync`, `backfill` and every command that writes to "
                     "the repository take its lock)",
    ExitCode.FIXITY: "`verify` (or `export`) found a fixity mismatch: content, property or audit log",
    ExitCode.DIFFERENCES: "`report` found missing or extra items (they are listed in the report); items changed "
                          "after the last completed sync are PENDING and exit 0",
    ExitCode.INTERRUPTED: "interrupted: Ctrl-C (SIGINT), or SIGTERM for `sync` and `backfill`; the item in flight was "
                          "finished, the next run goes on",
}

# Error class -> exit code, the most specific class first (RunLocked and ConfigError are Fatal too).
BY_ERROR: tuple[tuple[type[ConnectorError], ExitCode], ...] = (
    (ConfigError, ExitCode.USAGE),
    (RunLocked, ExitCode.LOCKED),
    (Retriable, ExitCode.UNAVAILABLE),
    (Fatal, ExitCode.FATAL),
    (ConnectorError, ExitCode.ERROR),
)

# Which code wins when one command met several outcomes (``check`` probing many systems): the one
# that needs a person first. A bug beats a bad config beats refused credentials beats an outage.
SEVERITY: tuple[ExitCode, ...] = (ExitCode.ERROR, ExitCode.USAGE, ExitCode.FATAL, ExitCode.UNAVAILABLE,
                                  ExitCode.QUARANTINED, ExitCode.OK)


def for_error(exc: BaseException) -> ExitCode:
    """The exit code of a command that stopped on ``exc``: ``ERROR`` for anything not ours (a bug)."""
    return next((code for cls, code in BY_ERROR if isinstance(exc, cls)), ExitCode.ERROR)


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The most severe of ``codes`` by ``SEVERITY``; ``OK`` for none."""
    return min(codes, key=SEVERITY.index, default=ExitCode.OK)


def help_text() -> str:
    """The table for ``--help`` (click keeps a paragraph that starts with ``\\b`` as it is)."""
    rows = (textwrap.fill(MEANING[code], width=78, initial_indent=f"  {code.value:>3}  ", subsequent_indent=" " * 7)
            for code in ExitCode)
    return "\b\nExit codes:\n" + "\n".join(rows)
