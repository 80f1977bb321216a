"""The run lock: one writer per ledger. ``sync``, ``backfill`` and every command that writes to
the repository hold ``<ledger>.lock`` (an exclusive ``flock``) for the run (``Archive.open``); a
second one on the same ledger is refused at once with ``RunLocked`` (exit 6) rather than waiting.
The kernel drops the lock with the process, so a killed run leaves none behind.

Example::

    fd = take_lock(".state/ledger.sqlite.lock")   # RunLocked while another run holds it
    ...
    os.close(fd)                                   # released
"""
from __future__ import annotations

import fcntl
import os

from .errors import RunLocked


def take_lock(path: str) -> int:
    """The lock's file descriptor, held until closed."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunLocked(f"another socialarchive run holds {path}; not starting a second one") from None
    return fd
