"""socialarchive: the command line, thin over ``connector``.

Exit codes are ``connector.exitcodes.ExitCode`` (the one table; ``--help`` and the README list it).
Dates and times are read by ``connector.when.WHEN`` in every command.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import partial, wraps

import click

from connector import __version__
from connector import config as config_mod
from connector.errors import ConfigError, ConnectorError, Fatal, Retriable, RunLocked
from connector.logdigest import RepeatDigest
from connector.exitcodes import ExitCode, for_error, help_text as exit_code_help
from connector.when import option as when_option


# Fields every JSON log line of the current run carries (run_id, source), set with log_fields().
_LOG_FIELDS: ContextVar[dict] = ContextVar("socialarchive_log_fields", default={})
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


@contextmanager
def log_fields(**fields):
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


def _json_logging() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


_QUIET = {"on": False}   # --quiet: stderr keeps errors only (set by _setup_logging)


def _err(message: str, level: int = logging.ERROR) -> None:
    """A message for stderr: a log line when logs are JSON (every stderr line stays JSON), else plain.
    With --quiet only errors."""
    if _QUIET["on"] and level < logging.ERROR:
        return
    if _json_logging():
        logging.getLogger("socialarchive").log(level, message)
    else:
        click.echo(message, err=True)


def _wants_json(args) -> bool:
    args = list(args or ())
    return (os.environ.get("SOCIALARCHIVE_LOG_FORMAT") == "json" or "--log-format=json" in args
            or any(a == "--log-format" and b == "json" for a, b in zip(args, args[1:])))


class _Main(click.Group):
    """With JSON logs asked for, click's usage errors (bad option, unknown command) are written as
    one JSON line too; they happen before the command's own logging is set up."""
    _json_errors = False

    @contextmanager
    def _usage_errors(self):
        try:
            yield
        except click.ClickException as exc:
            if not self._json_errors:
                raise
            click.echo(json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                                   "level": "error", "logger": "socialarchive", "message": exc.format_message(),
                                   "exit_code": exc.exit_code}, ensure_ascii=False), err=True)
            raise click.exceptions.Exit(exc.exit_code) from None

    def make_context(self, info_name, args, parent=None, **extra):
        self._json_errors = _wants_json(args)
        with self._usage_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with self._usage_errors():
            return super().invoke(ctx)


def _setup_logging(verbose: int, log_format: str, quiet: bool = False) -> None:
    """stderr gets the log: warnings (info with -v, debug with -vv; errors only with --quiet), a
    warning repeated within the run once (``connector.logdigest``, told by ``_flush_repeats``)."""
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


def _flush_repeats() -> None:
    """The end of a command: each warning held back as a repeat is told once, with its count."""
    for handler in logging.getLogger().handlers:
        for digest in handler.filters:
            if isinstance(digest, RepeatDigest):
                digest.flush(logging.getLogger("socialarchive"))


# --source parameters: "source" selects archived records (a source retired from the config but
# in the ledger counts), "sources" and "source_name" read the source itself (configured only).
SOURCE_OPTIONS = ("source", "sources", "source_name")


def _check_source_options(cfg, kwargs: dict) -> None:
    from connector.ledger import archived_sources
    for name in SOURCE_OPTIONS:
        value = kwargs.get(name)
        names = {value} if isinstance(value, str) else set(value or ())
        if name == "source" and names - set(cfg.sources):
            cfg.check_sources(names, archived_sources(cfg.ledger_path))
        else:
            cfg.check_sources(names)


def _shared_options(fn, *, on_group: bool = False):
    """--config, --log-format, -v, -q: on every command, and on the group (``socialarchive --config X
    sync``), where they have no default of their own so the command can tell they were not given."""
    fn = click.option("-q", "--quiet", is_flag=True,
                      help="Errors only on stderr: no progress, no info or warning lines (the command's "
                           "output on stdout stays).")(fn)
    fn = click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")(fn)
    fn = click.option("--log-format", type=click.Choice(["text", "json"]), default=None if on_group else "text",
                      show_default=not on_group, envvar=None if on_group else "SOCIALARCHIVE_LOG_FORMAT",
                      help="Log lines as text, or one JSON object per line (env SOCIALARCHIVE_LOG_FORMAT).")(fn)
    return click.option("--config", "config_path", envvar=None if on_group else "SOCIALARCHIVE_CONFIG",
                        type=click.Path(dir_okay=False), default=None if on_group else config_mod.DEFAULT_CONFIG,
                        show_default=not on_group, help="TOML config file (env SOCIALARCHIVE_CONFIG).")(fn)


def _given(name: str, value):
    """A shared option's value: the command's own when its command line names it, else the one
    given before the command, else the command's (environment or default)."""
    ctx = click.get_current_context()
    before = ctx.find_root().params.get(name)
    if before in (None, 0) or ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
        return value
    return before


def config_options(fn):
    """The option bundle every command shares: where the config is, how to log. A command's
    ``--source`` (a parameter named as in SOURCE_OPTIONS) is checked against the config here, so
    no command can report success on a source that does not exist (exit 2)."""
    @_shared_options
    @wraps(fn)
    def wrapper(*args, config_path, log_format, verbose, quiet, **kwargs):
        config_path, log_format, verbose = (_given("config_path", config_path), _given("log_format", log_format),
                                            _given("verbose", verbose))
        _setup_logging(verbose, log_format, _given("quiet", quiet))
        try:
            cfg = config_mod.load(config_path)
            _check_source_options(cfg, kwargs)
            try:
                return fn(cfg, *args, **kwargs)
            finally:
                _flush_repeats()   # before the error line, if any: it stays the last
        except ConfigError as exc:
            _err(f"configuration error: {exc}")
            sys.exit(for_error(exc))
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(ExitCode.INTERRUPTED)
        except ConnectorError as exc:
            _err(f"error: {exc}")
            sys.exit(for_error(exc))
        except Exception as exc:
            if not _json_logging() or isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)):
                raise
            logging.getLogger("socialarchive").exception("unexpected error (a bug: please report it with the log)")
            sys.exit(ExitCode.ERROR)
    return wrapper


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]}, epilog=exit_code_help())
@click.version_option(__version__, prog_name="socialarchive")
@partial(_shared_options, on_group=True)
def main(config_path, log_format, verbose, quiet) -> None:
    """Archive wikis, blogs and forums - every revision, comment, file and permission - into a
    CMIS repository. Append-only: nothing archived is ever overwritten or deleted.

    --config, --log-format, -v and -q go before the command or after it (after wins)."""


def _selected(cfg, names: tuple[str, ...]):
    from connector.sources import build
    cfg.check_sources(names)
    return [build(name, cfg.sources[name].type, cfg.sources[name].options)
            for name in (names or tuple(cfg.sources))]


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
@config_options
def check(cfg, as_json) -> None:
    """Probe the repository and every configured source, and print what was found.

    Every source is probed even when the repository does not answer. Exit 4 when one of them is
    unavailable (or its host name does not resolve), 5 when credentials or grants are refused."""
    from connector.probe import probe
    result = probe(cfg, _selected(cfg, ()))
    click.echo(json.dumps(result.found, indent=2, ensure_ascii=False, default=str) if as_json
               else "\n".join(result.lines))
    sys.exit(result.code)


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@click.option("--dry-run", is_flag=True, help="Read the sources and plan, write nothing.")
@click.option("--reconcile", is_flag=True, help="Also compare the source's id set with the archive (finds deletions).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, envvar="SOCIALARCHIVE_WORKERS",
              help="Threads writing to the repository at once (items stay in order, one ledger writer; "
                   "env SOCIALARCHIVE_WORKERS).")
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
    from connector.pipeline import Archive
    from connector.progress import graceful_stop
    selected = _selected(cfg, sources)
    summaries = []
    try:
        archive = Archive.open(cfg, dry_run=dry_run, workers=workers)
        try:
            with graceful_stop(archive, notify=lambda m: _err(m, logging.WARNING)):
                for source in selected:
                    if archive.stop_requested:
                        break   # the sources after a stop wait for the next run
                    progress = _progress(source, interval=progress_interval)
                    try:
                        with log_fields(run_id=archive.run_id, source=source.name):
                            summaries.append(archive.sync(source, reconcile=reconcile,
                                                          on_object=progress.update if progress else None))
                    finally:
                        if progress:
                            progress.close()
                if not dry_run:
                    from connector.compliance.segments import file_after_run
                    file_after_run(archive)  # the run's audit entries, filed into <base>/_audit
        finally:
            archive.close()
    except BaseException as exc:
        failed = _failed_summaries(selected, summaries, exc)
        if metrics_file and not dry_run and (summaries or failed):
            _write_run_metrics(cfg, metrics_file, summaries + failed)
        raise
    if metrics_file and not dry_run:
        _write_run_metrics(cfg, metrics_file, summaries)
    _print_summaries(summaries, as_json)
    sys.exit(_exit_code(summaries))


def _failed_summaries(selected, done, exc: BaseException) -> list:
    """Summaries for the sources a run that stopped on ``exc`` did not get to (none when the run
    did not really start: another run holds the ledger, or the config is wrong)."""
    from connector.pipeline import Summary
    if isinstance(exc, (RunLocked, ConfigError, SystemExit)):
        return []
    outcome = ("unavailable" if isinstance(exc, Retriable) else "fatal" if isinstance(exc, Fatal)
               else "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
    finished = {s.source for s in done}
    return [Summary(source=s.name, outcome=outcome, errors=[str(exc) or type(exc).__name__])
            for s in selected if s.name not in finished]


def _progress(source, *, total: int | None = None, interval: float | None = None):
    """A run's progress on stderr: on a terminal, elsewhere only with an ``interval`` (a line that
    often), never with --quiet. It counts the source's requests, so a listing shows it is moving."""
    from connector.progress import Progress
    if _QUIET["on"] or (interval is None and not sys.stderr.isatty()):
        return None
    progress = Progress(total, interval=interval or 10.0, json_lines=_json_logging(), label=source.name)
    progress.watch(lambda: source.request_count)
    return progress


def _write_run_metrics(cfg, path: str, summaries) -> None:
    """The run's metrics, with the records in quarantine now per source (the ledger's count)."""
    from collections import Counter
    from connector.ledger import Ledger
    from connector.metrics import write_metrics
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


def _print_summaries(summaries, as_json: bool) -> None:
    from dataclasses import asdict
    if as_json:
        click.echo(json.dumps([asdict(s) for s in summaries], indent=2))
        return
    for s in summaries:
        click.echo(s.line())
        for error in s.errors:
            click.echo(f"  error: {error}")


def _exit_code(summaries) -> int:
    outcomes = {s.outcome for s in summaries}
    for outcome, code in (("fatal", ExitCode.FATAL), ("unavailable", ExitCode.UNAVAILABLE),
                          ("interrupted", ExitCode.INTERRUPTED), ("quarantined", ExitCode.QUARANTINED)):
        if outcome in outcomes:
            return code
    return ExitCode.OK


@main.command()
@click.argument("text", required=False)
@click.option("--source", help="Only items of this source.")
@click.option("--author", help="Only items created or edited by this user.")
@when_option("--since", help="Created on or after this time.")
@when_option("--until", help="Created before this time.")
@click.option("--limit", default=50, show_default=True, help="At most this many hits.")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object: searched_at, criteria, total, shown, limit, truncated, hits.")
@config_options
def search(cfg, text, source, author, since, until, limit, as_json) -> None:
    """Find archived items by words of their text or title and/or metadata.

    Case and accents do not matter in words, titles and --author (quokka finds QUOKKA, admin finds
    Admin). Hits are in natural order of their record keys (page/2 before page/10); each shows the
    version that matched, its date and whether the record is restricted; a note on stderr says when
    --limit cut the list."""
    from connector.pipeline import Archive
    from connector.search import search as run_search
    if not any((text, source, author, since, until)):
        raise click.UsageError("give TEXT or at least one of --source, --author, --since, --until")
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        result = run_search(archive.repo, archive.filer, text, source=source, author=author,
                            since=since, until=until, limit=limit)
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    for line in result.lines():
        click.echo(line)
    _err(result.note(), logging.WARNING if not result.hits or result.truncated else logging.INFO)


@main.group()
def ledger() -> None:
    """Inspect or rebuild the local ledger."""


@ledger.command("rebuild")
@click.option("--replace", is_flag=True,
              help="Start a fresh ledger from what the repository holds; the old ledger is kept aside as "
                   "<ledger>.replaced-<UTC time>, never deleted (after the repository lost the archive).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@config_options
def ledger_rebuild(cfg, replace, as_json) -> None:
    """Reconstruct the ledger from the repository by querying our properties. Without --replace,
    what the repository holds is added to the ledger as it is."""
    from connector.pipeline import Archive
    from connector.rebuild import rebuild_ledger, set_aside
    archive = Archive.open(cfg, expect_archive=False)
    aside = None
    try:
        if replace:
            aside = set_aside(archive)
        records, versions = rebuild_ledger(archive)
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps({"records": records, "versions": versions, "old_ledger": aside}))
        return
    click.echo(f"ledger rebuilt from the repository: {records} records, {versions} versions"
               + (f"; the old ledger is kept as {aside}" if aside else ""))


from connector.compliance.commands import register as _register_compliance  # noqa: E402

_register_compliance(main, config_options)  # hold, verify, export, audit, docs, subject


# --- records managers and support: plan, backfill, status, report, quarantine ----------------
def _check_range(since, until) -> None:
    if since and until and since >= until:
        raise click.UsageError("--since must be before --until")


def _echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@main.command()
@click.option("--source", "source_name", required=True, help="The source to plan for (its name in the config).")
@when_option("--since", help="Start of the range, inclusive. Default: the beginning.")
@when_option("--until", help="End of the range, exclusive. Default: no end (items dated in the future, such as "
                             "scheduled posts, too).")
@click.option("--no-probe", is_flag=True,
              help="Never time createDocument with scratch documents; use the ledger's run history only.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@config_options
def plan(cfg, source_name, since, until, no_probe, as_json) -> None:
    """Estimate a backfill before running it: counts, requests, bytes and duration.

    Counts come from cheap API calls (WordPress X-WP-Total, MediaWiki statistics and a capped
    revision listing, Misago's thread listing, Discourse /about.json); the duration from the
    source's speed or rate limit and the repository's measured create rate."""
    from connector.plan import format_plan, plan as make_plan
    _check_range(since, until)
    result = make_plan(cfg, source_name, since, until, probe=not no_probe)
    if as_json:
        _echo_json(result)
    else:
        click.echo(format_plan(result))


@main.command()
@click.option("--source", "source_name", required=True, help="The source to backfill (its name in the config).")
@when_option("--since", help="Start of the range, inclusive. Default: the beginning.")
@when_option("--until", help="End of the range, exclusive. Default: no end (items dated in the future, such as "
                             "scheduled posts, too).")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, envvar="SOCIALARCHIVE_WORKERS",
              help="Threads writing to the repository at once (items stay in order, one ledger writer; "
                   "env SOCIALARCHIVE_WORKERS).")
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
    from connector.backfill import run_backfill
    from connector.pipeline import Archive
    from connector.progress import graceful_stop
    _check_range(since, until)
    source = _selected(cfg, (source_name,))[0]
    total = _estimated_objects(cfg, source_name, since, until)
    archive = Archive.open(cfg, dry_run=dry_run, workers=workers)
    progress = _progress(source, total=total, interval=progress_interval)
    try:
        with log_fields(run_id=archive.run_id, source=source_name), \
                graceful_stop(archive, notify=lambda m: _err(m, logging.WARNING)):
            result = run_backfill(archive, source, since, until, on_object=progress.update if progress else None,
                                  force=force)
    finally:
        if progress:
            progress.close()
        archive.close()
    summary = result.get("summary") or {}
    if as_json:
        _echo_json(result)
    elif result["skipped"]:
        click.echo(f"{source_name}: backfill {result['run_id']} completed before "
                   f"({result['previous']['finished_at']}); nothing to do (--force runs it again)")
    else:
        from connector.pipeline import Summary
        resumed = f" (resumed, attempt {result['previous']['attempts'] + 1})" if result["resumed"] else ""
        click.echo(f"backfill {result['run_id']}{resumed}: {result['status']}")
        click.echo(Summary(**summary).line())
        for error in summary.get("errors", []):
            click.echo(f"  error: {error}")
    if result["status"] == "interrupted":
        sys.exit(ExitCode.INTERRUPTED)
    from connector.pipeline import Summary
    sys.exit(_exit_code([Summary(**summary)]) if summary else ExitCode.OK)


def _estimated_objects(cfg, source_name, since, until) -> int | None:
    """Objects the backfill will go through, for the ETA; None when the source cannot say."""
    try:
        estimator = _selected(cfg, (source_name,))[0]
        return int(estimator.estimate(since, until).objects) or None
    except Exception as exc:  # noqa: BLE001 - the ETA is a convenience; the backfill itself reports errors
        logging.getLogger("socialarchive").info("no estimate for the progress display: %s", exc)
        return None


@main.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@config_options
def status_cmd(cfg, as_json) -> None:
    """What the ledger knows, per source: checkpoint, items, versions, files, bytes, tombstones,
    quarantined items with reasons, the last run and its outcome, backfills. Local only."""
    from connector.status import format_status, status
    result = status(cfg)
    if as_json:
        _echo_json(result)
    else:
        click.echo(format_status(result))


@main.command("report")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@when_option("--since", help="Reconcile only the items of this range (start, inclusive).")
@when_option("--until", help="Reconcile only the items of this range (end, exclusive).")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json", "html"]), default="text",
              show_default=True, help="Output format; html is one self-contained page with a chart.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report to this file instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@config_options
def report_cmd(cfg, sources, since, until, fmt, out, as_json) -> None:
    """Reconciliation per source and space: items and revisions in the source vs the ledger vs the
    repository, with every missing or extra item listed. Exit 8 when something is missing or extra.

    An item whose missing revisions were all made after the source's last completed sync started
    is PENDING (lag: the next run files it), listed apart, and leaves the exit code at 0."""
    from connector.pipeline import Archive
    from connector.report import build_report, render
    _check_range(since, until)
    selected = _selected(cfg, sources)
    archive = Archive.open(cfg, lock=False, dry_run=True)
    try:
        result = build_report(archive, selected, since, until)
    finally:
        archive.close()
    text = render(result, "json" if as_json else fmt)
    if out:
        tmp = f"{out}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
        _err(f"report written to {out}: {result['missing_total']} missing, {result['pending_total']} pending, "
             f"{result['extra_total']} extra",
             logging.INFO if _json_logging() else logging.WARNING)
    else:
        click.echo(text, nl=False)
    sys.exit(ExitCode.DIFFERENCES if result["missing_total"] or result["extra_total"] else ExitCode.OK)


@main.group()
def quarantine() -> None:
    """Records that could not be filed: list them, or read them again from the source and file them."""


@quarantine.command("list")
@click.option("--source", help="Only this source's records.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON array.")
@config_options
def quarantine_list(cfg, source, as_json) -> None:
    """Quarantined records with their error, reason, attempts and when they were seen."""
    from connector.ledger import Ledger
    from connector.quarantine import entries, one_line
    ledger_db = Ledger(cfg.ledger_path)
    try:
        rows = entries(ledger_db, source)
    finally:
        ledger_db.close()
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['key']}\t{row['error']}\t{one_line(row['reason'])}\t{row['attempts']} attempt(s)\t"
                   f"last {row['last_seen']}")
    if not rows:
        _err("nothing quarantined", logging.WARNING)


@quarantine.command("retry")
@click.argument("key", required=False)
@click.option("--source", help="Only this source's records.")
@click.option("--json", "as_json", is_flag=True, help="Print what became of each record as JSON.")
@config_options
def quarantine_retry(cfg, key, source, as_json) -> None:
    """Read quarantined records again from their source and file them (KEY: one record key, e.g.
    wiki/page/42; default: all). MediaWiki and WordPress read them by id; Misago and Discourse
    list the whole source. Exit 3 when some stay quarantined."""
    from connector.pipeline import Archive
    from connector.quarantine import entries, retry
    archive = Archive.open(cfg)
    results = []
    try:
        rows = entries(archive.ledger, source, key)
        if key and not rows:
            raise click.UsageError(f"{key} is not quarantined (see `socialarchive quarantine list`)")
        by_source: dict[str, list[str]] = {}
        for row in rows:
            by_source.setdefault(row["source"], []).append(row["key"])
        for name, keys in sorted(by_source.items()):
            with log_fields(run_id=archive.run_id, source=name):
                results.append(retry(archive, _selected(cfg, (name,))[0], keys))
    finally:
        archive.close()
    if as_json:
        _echo_json(results)
    else:
        for r in results:
            for item in r["results"]:
                click.echo(f"{item['key']}: {item['outcome']}")
        if not results:
            _err("nothing quarantined", logging.WARNING)
    left = any("still quarantined" in i["outcome"] or i["outcome"].startswith("failed") for r in results
               for i in r["results"])
    sys.exit(ExitCode.QUARANTINED if left else ExitCode.OK)


_docs_group = main.commands.get("docs")
if not isinstance(_docs_group, click.Group):
    @main.group("docs")
    def _docs_group() -> None:
        """Documentation generated from the code."""


@_docs_group.command("cli")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the reference to this file (default: stdout).")
@click.option("--check", "check_file", type=click.Path(dir_okay=False, exists=True),
              help="Compare this file with what would be generated; exit 1 when it is out of date.")
def docs_cli(out, check_file) -> None:
    """The command line reference (docs/cli.md), generated from every command's --help."""
    from connector.clidoc import generate
    text = generate(main)
    if check_file:
        with open(check_file, encoding="utf-8") as fh:
            if fh.read() != text:
                _err(f"{check_file} is out of date: run `socialarchive docs cli --out {check_file}`")
                sys.exit(ExitCode.ERROR)
        return
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":
    main()
