"""Run metrics as a Prometheus text-format file, for node_exporter's textfile collector.

``socialarchive sync --metrics-file PATH`` (env ``SOCIALARCHIVE_METRICS_FILE``) calls
``write_metrics`` once at the end of every run, also when the run failed. The file is written to
a temporary file in the same directory and renamed over the old one, so the collector never reads
half a file.

Every sample carries a ``source`` label. Per-run values describe the last run of that source:

- ``socialarchive_run_items``, ``_versions``, ``_files``, ``_tombstones``, ``_unchanged``,
  ``_recovered``, ``_quarantined``, ``_errors``, ``_source_requests``, ``_cmis_requests``,
  ``_bytes`` (only when the summary counts bytes), ``_duration_seconds``;
- ``socialarchive_run_outcome{outcome=...}``: 1 for the outcome of the last run, 0 for the others;
- ``socialarchive_last_run_timestamp_seconds``: when the last run of the source ended;
- ``socialarchive_last_success_timestamp_seconds``: when a run of the source last completed and
  filed everything (outcome ``ok``). A run that quarantined something, even one that quarantined
  every item, is not a success: it keeps the value read from the previous file, as a failed run
  does; a source that never succeeded has no such sample, so ``absent()`` or ``time() - ... > N``
  alerts work as usual;
- ``socialarchive_quarantine_records``: records of the source in quarantine now, from every run
  so far (``quarantine list``), beside ``socialarchive_run_quarantined``, those the last run
  quarantined.

Sources that are not part of this run (``sync --source wiki``) keep the samples they had in the
previous file, so one file serves every schedule that writes it.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from typing import Iterable

OUTCOMES = ("ok", "quarantined", "unavailable", "fatal", "interrupted")
SUCCESS = {"ok"}
PREFIX = "socialarchive_"

# (metric name, help, attribute of Summary or a function of it)
_COUNTERS = (
    ("run_items", "Source items (pages, posts, threads) with new versions filed in the last run.", "items"),
    ("run_versions", "New versions filed in the last run.", "versions"),
    ("run_files", "Files and attachments with new versions filed in the last run.", "files"),
    ("run_tombstones", "Deletions recorded as tombstones in the last run.", "tombstones"),
    ("run_unchanged", "Items seen in the last run that the archive already had.", "unchanged"),
    ("run_acl_changes", "Records whose ACL followed the source in the last run without a new version.",
     "acl_changes"),
    ("run_recovered", "Versions found in the repository after an interrupted run and recorded.", "recovered"),
    ("run_quarantined", "Items quarantined in the last run (reasons are in the ledger).", "quarantined"),
    ("run_errors", "Errors that stopped the last run.", lambda s: len(getattr(s, "errors", None) or [])),
    ("run_source_requests", "HTTP requests made to the source in the last run.", "source_requests"),
    ("run_cmis_requests", "CMIS requests made in the last run.", "cmis_requests"),
    ("run_bytes", "Content bytes filed in the last run.", "bytes"),
    ("run_duration_seconds", "Duration of the last run.", "seconds"),
)
_OUTCOME = ("run_outcome", "Outcome of the last run: 1 for the outcome it had, 0 for the others.")
_LAST_RUN = ("last_run_timestamp_seconds", "Unix time at which the last run of the source ended.")
_LAST_SUCCESS = ("last_success_timestamp_seconds",
                 "Unix time at which a run of the source last completed with nothing quarantined (outcome ok).")
_IN_QUARANTINE = ("quarantine_records", "Records of the source in quarantine now, from every run so far.")

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?\s*$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def write_metrics(path: str, summaries: list, in_quarantine: dict[str, int] | None = None) -> None:
    """Write the metrics of ``summaries`` (``connector.pipeline.Summary``) to ``path`` atomically;
    ``in_quarantine``: records in quarantine per source now (the ledger's), when known."""
    now = time.time()
    previous = _read(path)
    samples: dict[str, dict[tuple, float]] = {}

    def put(metric: str, labels: dict[str, str], value: float) -> None:
        samples.setdefault(metric, {})[tuple(sorted(labels.items()))] = float(value)

    current = set()
    for summary in summaries:
        source = summary.source
        current.add(source)
        labels = {"source": source}
        for metric, _help, attr in _COUNTERS:
            value = attr(summary) if callable(attr) else getattr(summary, attr, None)
            if value is not None:
                put(metric, labels, value)
        outcome = getattr(summary, "outcome", "ok")
        for known in sorted(set(OUTCOMES) | {outcome}):
            put(_OUTCOME[0], {"source": source, "outcome": known}, 1 if known == outcome else 0)
        put(_LAST_RUN[0], labels, now)
        if in_quarantine is not None:
            put(_IN_QUARANTINE[0], labels, in_quarantine.get(source, 0))
        if outcome in SUCCESS:
            put(_LAST_SUCCESS[0], labels, now)
        else:
            old = previous.get(_LAST_SUCCESS[0], {}).get((("source", source),))
            if old is not None:
                put(_LAST_SUCCESS[0], labels, old)

    # sources not in this run keep what the previous file said about them
    for metric, series in previous.items():
        for labels, value in series.items():
            if dict(labels).get("source") not in current:
                samples.setdefault(metric, {}).setdefault(labels, value)

    _atomic_write(path, _render(samples))


def _render(samples: dict[str, dict[tuple, float]]) -> str:
    helps = {m: h for m, h, _ in _COUNTERS}
    helps.update(dict([_OUTCOME, _LAST_RUN, _LAST_SUCCESS, _IN_QUARANTINE]))
    lines = []
    for metric in sorted(samples):
        if metric not in helps:
            continue  # a metric a newer or older version wrote; not ours to describe
        name = PREFIX + metric
        lines.append(f"# HELP {name} {helps[metric]}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in sorted(samples[metric].items()):
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _read(path: str) -> dict[str, dict[tuple, float]]:
    """The samples of a file this module wrote before ({} if there is none or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines: Iterable[str] = fh.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, dict[tuple, float]] = {}
    for line in lines:
        if not line.startswith(PREFIX):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        try:
            value = float(match["value"])
        except ValueError:
            continue
        labels = tuple(sorted((k, _unescape(v)) for k, v in _LABEL.findall(match["labels"] or "")))
        out.setdefault(match["name"][len(PREFIX):], {})[labels] = value
    return out


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # node_exporter runs as another user
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
