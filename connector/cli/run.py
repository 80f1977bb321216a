"""The commands that file: ``sync`` (what changed since the checkpoint) and ``backfill`` (one range).

Both stop cleanly on Ctrl-C or SIGTERM (the item in flight is finished, exit 130), show progress on
stderr, and exit by the worst outcome of their sources (``connector.exitcodes``).
"""
from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from dataclasses import asdict

import click

from ..archive import Archive
from ..backfill import run_backfill
from ..compliance.segments import file_after_run
from ..config import Config
from ..errors import ConfigError, Fatal, Retriable, RunLocked
from ..exitcodes import ExitCode
from ..store import Ledger
from ..metrics import write_metrics
from ..pipeline import Pipeline
from ..progress import Progress, graceful_stop
from ..sources import Source
from ..summary import Summary
from .options import check_range, config_options, range_options, selected, workers_option
from .output import echo_json, err, json_logging, log_fields, quiet


@click.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@click.option("--dry-run", is_flag=True, help="Read the sources and plan, write nothing.")
@click.option("--reconcile", is_flag=True, help="Also compare the source's id set with the archive (finds deletions).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@workers_option
@click.option("--metrics-file", type=click.Path(dir_okay=False), envvar="SOCIALARCHIVE_METRICS_FILE",
              help="After the run, write Prometheus metrics to this file (node_exporter textfile "
                   "collector; env SOCIALARCHIVE_METRICS_FILE). Not written on --dry-run.")
@click.option("--progress-interval", type=click.FloatRange(0.1),
              help="Also when stderr is not a terminal, a progress line every this many seconds "
                   "(on a terminal the progress line is always shown).")
@config_options
def sync(cfg, sources, dry_run, reconcile, as_json, workers, metrics_file, progress_interval) -> None:
    """Incremental run: archive what changed in each source since its checkpoint.

    Ctrl-C or SIGTERM finishes the item in flight, records it and exits with 130 (the checkpoint
    stays where it was: the next run goes on); a second Ctrl-C aborts at once. Progress (source
    requests while listing, then objects) goes to stderr on a terminal."""
    chosen = selected(cfg, sources)
    summaries = []
    try:
        archive = Archive.open(cfg, dry_run=dry_run, workers=workers)
        try:
            pipeline = Pipeline(archive)
            with graceful_stop(pipeline, notify=lambda m: err(m, logging.WARNING)):
                for source in chosen:
                    if pipeline.stop_requested:
                        break   # the sources after a stop wait for the next run
                    progress = _progress(source, interval=progress_interval)
                    try:
                        with log_fields(run_id=archive.run_id, source=source.name):
                            summaries.append(pipeline.sync(source, reconcile=reconcile,
                                                           on_object=progress.update if progress else None))
                    finally:
                        if progress:
                            progress.close()
                if not dry_run:
                    file_after_run(archive)  # the run's audit entries, filed into <base>/_audit
        finally:
            archive.close()
    except BaseException as exc:
        failed = _failed_summaries(chosen, summaries, exc)
        if metrics_file and not dry_run and (summaries or failed):
            _write_run_metrics(cfg, metrics_file, summaries + failed)
        raise
    if metrics_file and not dry_run:
        _write_run_metrics(cfg, metrics_file, summaries)
    _print_summaries(summaries, as_json)
    sys.exit(_exit_code(summaries))


@click.command()
@click.option("--source", "source_name", required=True, help="The source to backfill (its name in the config).")
@range_options
@workers_option
@click.option("--dry-run", is_flag=True, help="Read the source and count what would be filed; write nothing.")
@click.option("--force", is_flag=True, help="Run a backfill again that already completed.")
@click.option("--progress-interval", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds between progress lines when stderr is not a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@config_options
def backfill(cfg, source_name, since, until, workers, dry_run, force, progress_interval, as_json) -> None:
    """Archive exactly the items of one source created or changed in a date range. Resumable.

    The run id is derived from (source, since, until) and kept in the ledger: the same command run
    again after a kill or Ctrl-C continues the range (what is archived already is skipped; the
    source is listed again). Ctrl-C or SIGTERM finishes the item in flight and exits with 130; a
    second Ctrl-C aborts at once. Progress goes to stderr: a bar on a terminal, else a line every
    --progress-interval seconds."""
    check_range(since, until)
    source = selected(cfg, (source_name,))[0]
    total = _estimated_objects(cfg, source_name, since, until)
    archive = Archive.open(cfg, dry_run=dry_run, workers=workers)
    progress = _progress(source, total=total, interval=progress_interval)
    try:
        pipeline = Pipeline(archive)
        with log_fields(run_id=archive.run_id, source=source_name), \
                graceful_stop(pipeline, notify=lambda m: err(m, logging.WARNING)):
            result = run_backfill(pipeline, source, since, until, on_object=progress.update if progress else None,
                                  force=force)
    finally:
        if progress:
            progress.close()
        archive.close()
    summary = result.get("summary") or {}
    if as_json:
        echo_json(result)
    elif result["skipped"]:
        click.echo(f"{source_name}: backfill {result['run_id']} completed before "
                   f"({result['previous']['finished_at']}); nothing to do (--force runs it again)")
    else:
        resumed = f" (resumed, attempt {result['previous']['attempts'] + 1})" if result["resumed"] else ""
        click.echo(f"backfill {result['run_id']}{resumed}: {result['status']}")
        click.echo(Summary(**summary).line())
        for error in summary.get("errors", []):
            click.echo(f"  error: {error}")
    if result["status"] == "interrupted":
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(_exit_code([Summary(**summary)]) if summary else ExitCode.OK)


COMMANDS = (sync, backfill)


def _failed_summaries(chosen: list[Source], done: list[Summary], exc: BaseException) -> list[Summary]:
    """Summaries for the sources a run that stopped on ``exc`` did not get to (none when the run
    did not really start: another run holds the ledger, or the config is wrong)."""
    if isinstance(exc, (RunLocked, ConfigError, SystemExit)):
        return []
    outcome = ("unavailable" if isinstance(exc, Retriable) else "fatal" if isinstance(exc, Fatal)
               else "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
    finished = {s.source for s in done}
    return [Summary(source=s.name, outcome=outcome, errors=[str(exc) or type(exc).__name__])
            for s in chosen if s.name not in finished]


def _progress(source: Source, *, total: int | None = None, interval: float | None = None) -> Progress | None:
    """A run's progress on stderr: on a terminal, elsewhere only with an ``interval`` (a line that
    often), never with --quiet. It counts the source's requests, so a listing shows it is moving."""
    if quiet() or (interval is None and not sys.stderr.isatty()):
        return None
    progress = Progress(total, interval=interval or 10.0, json_lines=json_logging(), label=source.name)
    progress.watch(lambda: source.request_count)
    return progress


def _write_run_metrics(cfg: Config, path: str, summaries: list[Summary]) -> None:
    """The run's metrics, with the records in quarantine now per source (the ledger's count)."""
    try:
        in_quarantine = None
        if os.path.exists(cfg.ledger_path):
            ledger = Ledger(cfg.ledger_path)
            try:
                in_quarantine = Counter(row[1] for row in ledger.quarantined())
            finally:
                ledger.close()
        write_metrics(path, summaries, in_quarantine)
    except OSError as exc:
        logging.getLogger("socialarchive").error("cannot write the metrics file %s: %s", path, exc)


def _print_summaries(summaries: list[Summary], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([asdict(s) for s in summaries], indent=2))
        return
    for s in summaries:
        click.echo(s.line())
        for error in s.errors:
            click.echo(f"  error: {error}")


def _exit_code(summaries: list[Summary]) -> ExitCode:
    outcomes = {s.outcome for s in summaries}
    for outcome, code in (("fatal", ExitCode.FATAL), ("unavailable", ExitCode.UNAVAILABLE),
                          ("interrupted", ExitCode.INTERRUPTED), ("quarantined", ExitCode.QUARANTINED)):
        if outcome in outcomes:
            return code
    return ExitCode.OK


def _estimated_objects(cfg: Config, source_name: str, since, until) -> int | None:
    """Objects the backfill will go through, for the ETA; None when the source cannot say."""
    try:
        estimator = selected(cfg, (source_name,))[0]
        return int(estimator.estimate(since, until).objects) or None
    except Exception as exc:  # noqa: BLE001 - the ETA is a convenience; the backfill itself reports errors
        logging.getLogger("socialarchive").info("no estimate for the progress display: %s", exc)
        return None
