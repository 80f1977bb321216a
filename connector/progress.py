"""Progress display for long runs, and a graceful stop on Ctrl-C / SIGTERM.

``Progress`` is an ``on_object`` callback for ``Pipeline.sync/backfill``: on a terminal it redraws
one line (a bar when the total is known, counts, rate, ETA) at most five times a second; when
stderr is not a terminal it writes a plain line every ``interval`` seconds (one JSON object per
line with ``json_lines``), and a last one when the run ends. ``watch(requests)`` also shows the
source requests made so far and redraws from a thread while no object finishes, so a listing
(a sync reading its feeds, a backfill listing its range) shows that it is moving.

``graceful_stop(pipeline)`` installs SIGINT and SIGTERM handlers for the duration of a run: the
first signal asks the pipeline to stop after the object in flight (``Pipeline.request_stop``), so
the item being filed is finished and the ledger stays exact; a second SIGINT aborts at once
(``KeyboardInterrupt``; the next run recovers anything half-written by its key).

Example::

    progress = Progress(total=1200, stream=sys.stderr)
    with graceful_stop(pipeline):
        summary = pipeline.backfill(source, since, until, on_object=progress.update)
    progress.close(summary)
"""
from __future__ import annotations

import json
import signal
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator, TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    def __init__(self, total: int | None = None, *, stream: TextIO | None = None, tty: bool | None = None,
                 interval: float = 10.0, json_lines: bool = False, label: str = "",
                 clock: Callable[[], float] = time.monotonic, start: int = 0):
        self.total = total if total and total > 0 else None
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.json_lines = json_lines
        self.label = label
        self.clock = clock
        self.done = 0
        self.start = start          # objects finished by earlier attempts (a resumed backfill)
        self.versions = 0
        self.quarantined = 0
        self._t0 = clock()
        self._last = float("-inf")
        self._drawn = False
        self._requests: Callable[[], int] | None = None
        self._lock = threading.Lock()      # the watcher thread draws too
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- figures --------------------------------------------------------------------
    @property
    def rate(self) -> float:
        elapsed = self.clock() - self._t0
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.total is None or not self.rate:
            return None
        return max(0, self.total - self.start - self.done) / self.rate

    def figures(self) -> dict:
        return {"label": self.label, "objects": self.start + self.done, "total": self.total,
                "new_versions": self.versions, "quarantined": self.quarantined,
                "source_requests": self._requests() if self._requests else None,
                "rate_per_second": round(self.rate, 2), "elapsed_seconds": round(self.clock() - self._t0, 1),
                "eta_seconds": None if self.eta is None else round(self.eta)}

    def line(self) -> str:
        done = self.start + self.done
        prefix = f"{self.label}: " if self.label else ""
        requests = f", {self._requests()} source requests" if self._requests else ""
        elapsed = f"elapsed {_duration(self.clock() - self._t0)}"
        if not done and self._requests:
            return f"{prefix}listing{requests}, {elapsed}"
        count = f"{done}/~{self.total}" if self.total else f"{done}"
        eta = f", ETA {_duration(self.eta)}" if self.eta is not None else ""
        return (f"{prefix}{count} objects, {self.versions} new versions, {self.quarantined} quarantined"
                f"{requests}, {self.rate:.1f}/s, {elapsed}{eta}")

    def watch(self, requests: Callable[[], int], every: float = 0.5) -> None:
        """Show ``requests()`` (the source's request count) and redraw every ``every`` seconds from
        a thread (on a terminal; else a line every ``interval``) until ``close``."""
        self._requests = requests

        def run() -> None:
            while not self._stop.wait(every):
                self._tick()
        self._watcher = threading.Thread(target=run, name="progress", daemon=True)
        self._watcher.start()

    # --- callbacks ------------------------------------------------------------------
    def update(self, summary=None) -> None:
        """One object done (the pipeline's ``on_object``); ``summary`` carries the run's counts."""
        self.done += 1
        if summary is not None:
            self.versions, self.quarantined = summary.versions, summary.quarantined
        self._tick()

    def _tick(self) -> None:
        with self._lock:
            now = self.clock()
            if self.tty and now - self._last >= 0.2:
                self._draw()
                self._last = now
            elif not self.tty and now - self._last >= self.interval:
                self._emit()
                self._last = now

    def close(self, summary=None) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        if summary is not None:
            self.versions, self.quarantined = summary.versions, summary.quarantined
        if self.tty:
            if self._drawn or self.done:
                self._draw()
                self.stream.write("\n")
                self.stream.flush()
        elif self.done:
            self._emit()

    def _draw(self) -> None:
        bar = ""
        if self.total:
            filled = min(20, int(20 * (self.start + self.done) / self.total))
            bar = "[" + "#" * filled + "." * (20 - filled) + "] "
        self.stream.write("\r\x1b[2K" + bar + self.line())
        self.stream.flush()
        self._drawn = True

    def _emit(self) -> None:
        if self.json_lines:
            entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": "info",
                     "logger": "socialarchive.progress", "message": self.line(), **self.figures()}
            self.stream.write(json.dumps(entry) + "\n")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


@contextmanager
def graceful_stop(pipeline, notify: Callable[[str], None] | None = None) -> Iterator[None]:
    """First SIGINT/SIGTERM: stop after the object in flight. Second SIGINT: abort now."""
    def handler(signum, frame):
        if pipeline.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        pipeline.request_stop()
        if notify:
            notify(f"{signal.Signals(signum).name}: finishing the item in flight, then stopping "
                   "(Ctrl-C again to abort at once)")

    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:      # not the main thread (embedded use): no handlers, Ctrl-C aborts as usual
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
