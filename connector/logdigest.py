"""Warnings that repeat within a run, told once: the first as it happens, the rest as one line at
the end with a count and a few examples.

A run over many items repeats the same warning for each (an unmapped source principal per
principal, the default record class per source, a quarantined item per item) and does so again
every run, burying what is new. ``RepeatDigest`` is a filter on the stderr handler: a warning whose
logger and message template it has seen in this run is held back and counted; ``flush`` (at the end
of the command) writes one warning per template that repeated. With JSON logs that line carries
``repeated`` (the count held back), ``examples`` and ``template``. Other handlers (pytest's caplog,
an embedding application's) see every record.

Example (text logs)::

    WARNING connector.access: source principal group:a of wiki is not mapped in [permissions.principals] ...
    ... the run ...
    WARNING socialarchive: 41 more this run like "source principal %s of %s is not mapped in
        [permissions.principals] ...", e.g. group:b, group:c, group:d
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

EXAMPLES = 3


@dataclass
class _Repeats:
    count: int = 0
    examples: list[str] = field(default_factory=list)


class RepeatDigest(logging.Filter):
    """Hold back repeats of a warning template (see the module docstring); thread-safe."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[tuple[str, str], _Repeats] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or hasattr(record, "repeated"):
            return True
        key = (record.name, str(record.msg))
        with self._lock:
            repeats = self._seen.get(key)
            if repeats is None:
                self._seen[key] = _Repeats()
                return True
            repeats.count += 1
            if len(repeats.examples) < EXAMPLES:
                repeats.examples.append(_example(record))
        return False

    def flush(self, logger: logging.Logger) -> None:
        """One warning per template that repeated since the last flush; then start afresh."""
        with self._lock:
            seen, self._seen = self._seen, {}
        for (_name, template), repeats in seen.items():
            if repeats.count:
                more = ", ..." if repeats.count > len(repeats.examples) else ""
                logger.warning('%d more this run like "%s", e.g. %s%s', repeats.count, template,
                               ", ".join(repeats.examples), more,
                               extra={"repeated": repeats.count, "examples": repeats.examples, "template": template})


def _example(record: logging.LogRecord) -> str:
    """What tells this repeat apart: its first argument (the principal, the key), else the message."""
    args = record.args
    if isinstance(args, tuple) and args:
        return str(args[0])
    return record.getMessage()
