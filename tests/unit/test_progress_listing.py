"""Progress while a source lists (issue #17, IT): before the first object is done the line says
it is listing and how many source requests it made, redrawn by the watcher thread."""
from __future__ import annotations

import io
import time

from connector.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_listing_is_shown_before_any_object_then_objects_with_requests():
    requests = [3]
    stream = Terminal()
    progress = Progress(stream=stream, label="wiki")
    progress.watch(lambda: requests[0], every=0.01)
    deadline = time.monotonic() + 5
    while "listing" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "\r\x1b[2Kwiki: listing, 3 source requests, elapsed 0:00:00" in stream.getvalue()
    requests[0] = 9
    progress.update()
    progress.close()
    last = stream.getvalue().rsplit("\r\x1b[2K", 1)[1]
    assert last.startswith("wiki: 1 objects, 0 new versions, 0 quarantined, 9 source requests, ") and last.endswith("\n")
    assert progress.figures()["source_requests"] == 9


def test_off_a_terminal_the_watcher_writes_a_line_every_interval():
    stream = io.StringIO()
    progress = Progress(stream=stream, label="blog", interval=0.05)
    progress.watch(lambda: 1, every=0.01)
    time.sleep(0.3)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert 2 <= len(lines) <= 8 and all(line.startswith("blog: listing, 1 source requests") for line in lines)
