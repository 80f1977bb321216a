"""What the commands write besides their data: the log on stderr (text or JSON lines), messages for
a person, JSON on stdout.

stdout carries a command's output only (its lines, or one JSON document with ``--json``), so it can
be piped; everything else goes to stderr: log lines, and messages (``err``), which are log lines too
when the logs are JSON, so every stderr line stays JSON. ``-q`` leaves errors only on stderr.

Example::

    setup_logging(verbose=0, log_format="json")
    with log_fields(run_id="r1", source="wiki"):
        err("nothing quarantined", logging.WARNING)   # {"level": "warning", ..., "run_id": "r1", ...}
"""
from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Iterator

import click

from ..logdigest import RepeatDigest

# Fields every JSON log line of the current run carries (run_id, source), set with log_fields().
_LOG_FIELDS: ContextVar[dict] = ContextVar("socialarchive_log_fields", default={})
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_QUIET = {"on": False}   # --quiet: stderr keeps errors only (set by setup_logging)


@contextmanager
def log_fields(**fields) -> Iterator[None]:
    """Add these fields to every JSON log line written inside the block."""
    token = _LOG_FIELDS.set({**_LOG_FIELDS.get(), **fields})
    try:
        yield
    finally:
        _LOG_FIELDS.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the run's fields (run_id, source),
    any ``extra=`` fields of the record, and the traceback as one string."""
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        entry.update(_LOG_FIELDS.get())
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_logging() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def quiet() -> bool:
    """--quiet was given: no progress, no info or warning lines."""
    return _QUIET["on"]


def err(message: str, level: int = logging.ERROR) -> None:
    """A message for stderr: a log line when logs are JSON (every stderr line stays JSON), else plain.
    With --quiet only errors."""
    if _QUIET["on"] and level < logging.ERROR:
        return
    if json_logging():
        logging.getLogger("socialarchive").log(level, message)
    else:
        click.echo(message, err=True)


def wants_json(args) -> bool:
    """JSON logs asked for on this command line or in the environment (read before click parses it)."""
    args = list(args or ())
    return (os.environ.get("SOCIALARCHIVE_LOG_FORMAT") == "json" or "--log-format=json" in args
            or any(a == "--log-format" and b == "json" for a, b in zip(args, args[1:])))


def setup_logging(verbose: int, log_format: str, quiet: bool = False) -> None:
    """stderr gets the log: warnings (info with -v, debug with -vv; errors only with --quiet), a
    warning repeated within the run once (``connector.logdigest``, told by ``flush_repeats``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatDigest())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    _QUIET["on"] = bool(quiet)
    root.setLevel(logging.ERROR if quiet else logging.DEBUG if verbose > 1 else logging.INFO if verbose
                  else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.captureWarnings(True)  # library warnings become log lines (JSON ones with --log-format json)


def flush_repeats() -> None:
    """The end of a command: each warning held back as a repeat is told once, with its count."""
    for handler in logging.getLogger().handlers:
        for digest in handler.filters:
            if isinstance(digest, RepeatDigest):
                digest.flush(logging.getLogger("socialarchive"))


def echo_json(data: Any) -> None:
    """One JSON document on stdout, indented, non-ASCII as it is."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))

