"""socialarchive: the command line, thin over ``connector``.

Exit codes (also in the README):
  0  done, everything filed
  1  unexpected error (a bug: please report it with the log)
  2  usage or configuration error
  3  done, but some items were quarantined (see `socialarchive status`)
  4  a source or the repository stayed unavailable; the checkpoint was not advanced
  5  fatal: credentials or permissions refused, or the repository lacks what we need
  6  another run holds the ledger
  130 interrupted (Ctrl-C / SIGINT); the item in flight was finished or left for the next run
"""
from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from functools import wraps

import click

from connector import __version__
from connector import config as config_mod
from connector.errors import ConfigError, ConnectorError, Fatal, Retriable

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_QUARANTINED, EXIT_UNAVAILABLE, EXIT_FATAL, EXIT_LOCKED = 0, 1, 2, 3, 4, 5, 6
EXIT_INTERRUPTED = 130


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


def _err(message: str, level: int = logging.ERROR) -> None:
    """A message for stderr: a log line when logs are JSON (every stderr line stays JSON), else plain."""
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


def _setup_logging(verbose: int, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.captureWarnings(True)  # library warnings become log lines (JSON ones with --log-format json)


def config_options(fn):
    """The option bundle every command shares: where the config is, how to log."""
    @click.option("--config", "config_path", envvar="SOCIALARCHIVE_CONFIG", type=click.Path(dir_okay=False),
                  default=config_mod.DEFAULT_CONFIG, show_default=True, help="TOML config file (env SOCIALARCHIVE_CONFIG).")
    @click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                  envvar="SOCIALARCHIVE_LOG_FORMAT",
                  help="Log lines as text, or one JSON object per line (env SOCIALARCHIVE_LOG_FORMAT).")
    @click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
    @wraps(fn)
    def wrapper(*args, config_path, log_format, verbose, **kwargs):
        _setup_logging(verbose, log_format)
        try:
            cfg = config_mod.load(config_path)
            return fn(cfg, *args, **kwargs)
        except ConfigError as exc:
            _err(f"configuration error: {exc}")
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            _err("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        except ConnectorError as exc:
            from connector.pipeline import RunLocked
            _err(f"error: {exc}")
            if isinstance(exc, RunLocked):
                sys.exit(EXIT_LOCKED)
            sys.exit(EXIT_UNAVAILABLE if isinstance(exc, Retriable) else EXIT_FATAL if isinstance(exc, Fatal) else EXIT_ERROR)
        except Exception as exc:
            if not _json_logging() or isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)):
                raise
            logging.getLogger("socialarchive").exception("unexpected error (a bug: please report it with the log)")
            sys.exit(EXIT_ERROR)
    return wrapper


@click.group(cls=_Main)
@click.version_option(__version__, prog_name="socialarchive")
def main() -> None:
    """Archive wikis, blogs and forums - every revision, comment, file and permission - into a
    CMIS repository. Append-only: nothing archived is ever overwritten or deleted."""


def _selected(cfg, names: tuple[str, ...]):
    from connector.sources import build
    unknown = set(names) - set(cfg.sources)
    if unknown:
        raise ConfigError(f"no source named {', '.join(sorted(unknown))} in {cfg.path}")
    return [build(name, cfg.sources[name].type, cfg.sources[name].options)
            for name in (names or tuple(cfg.sources))]


@main.command()
@config_options
def check(cfg) -> None:
    """Probe the repository and every configured source, and print what was found."""
    from connector.cmis.client import CmisRepository
    from connector.cmis.profiles import profile
    from connector.cmis import schema
    rc = cfg.repository
    repo = CmisRepository(rc.url, rc.repository_id, rc.username, rc.password, verify=rc.verify_tls)
    info = repo.info()
    caps = info.capabilities
    prof = profile(rc.profile)
    click.echo(f"repository {info.id}: {info.product_id}, CMIS {info.cmis_version}, profile {prof.name}")
    click.echo(f"  ACL: {caps.get('capabilityACL')}  query: {caps.get('capabilityQuery')}  "
               f"joins: {caps.get('capabilityJoin')}  content updates: {caps.get('capabilityContentStreamUpdatability')}")
    can_create = caps.get("capabilityCreatablePropertyTypes", {}).get("canCreate", [])
    click.echo(f"  type mutability: {'yes' if can_create else 'no'}  world principal: {info.anyone}")
    for type_id in (prof.document_type, prof.secondary_type):
        definition = repo.get_type(type_id)
        click.echo(f"  type {type_id}: {'present' if definition else 'missing' + (' (will be created)' if prof.create_types else '')}")
        if definition and type_id == prof.document_type:
            click.echo(f"    versionable: {definition.get('versionable')}")
    click.echo("  content stream hash: sa:sha256 property (computed by the connector)")
    problems = 0
    for source in _selected(cfg, ()):
        try:
            facts = source.check()
            click.echo(f"source {source.name} ({source.system}): " +
                       ", ".join(f"{k}={v}" for k, v in facts.items()))
        except ConnectorError as exc:
            problems += 1
            click.echo(f"source {source.name} ({source.system}): FAILED: {exc}")
    sys.exit(EXIT_FATAL if problems else EXIT_OK)


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@click.option("--dry-run", is_flag=True, help="Read the sources and plan, write nothing.")
@click.option("--reconcile", is_flag=True, help="Also compare the source's id set with the archive (finds deletions).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--metrics-file", type=click.Path(dir_okay=False), envvar="SOCIALARCHIVE_METRICS_FILE",
              help="After the run, write Prometheus metrics to this file (node_exporter textfile "
                   "collector; env SOCIALARCHIVE_METRICS_FILE). Not written on --dry-run.")
@config_options
def sync(cfg, sources, dry_run, reconcile, as_json, metrics_file) -> None:
    """Incremental run: archive what changed in each source since its checkpoint."""
    from connector.pipeline import Archive
    selected = _selected(cfg, sources)
    summaries = []
    try:
        archive = Archive.open(cfg, dry_run=dry_run)
        try:
            for source in selected:
                with log_fields(run_id=archive.run_id, source=source.name):
                    summaries.append(archive.sync(source, reconcile=reconcile))
        finally:
            archive.close()
    except BaseException as exc:
        failed = _failed_summaries(selected, summaries, exc)
        if metrics_file and not dry_run and (summaries or failed):
            _write_run_metrics(metrics_file, summaries + failed)
        raise
    if metrics_file and not dry_run:
        _write_run_metrics(metrics_file, summaries)
    _print_summaries(summaries, as_json)
    sys.exit(_exit_code(summaries))


def _failed_summaries(selected, done, exc: BaseException) -> list:
    """Summaries for the sources a run that stopped on ``exc`` did not get to (none when the run
    did not really start: another run holds the ledger, or the config is wrong)."""
    from connector.pipeline import RunLocked, Summary
    if isinstance(exc, (RunLocked, ConfigError, SystemExit)):
        return []
    outcome = ("unavailable" if isinstance(exc, Retriable) else "fatal" if isinstance(exc, Fatal)
               else "interrupted" if isinstance(exc, KeyboardInterrupt) else "error")
    finished = {s.source for s in done}
    return [Summary(source=s.name, outcome=outcome, errors=[str(exc) or type(exc).__name__])
            for s in selected if s.name not in finished]


def _write_run_metrics(path: str, summaries) -> None:
    from connector.metrics import write_metrics
    try:
        write_metrics(path, summaries)
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
    for outcome, code in (("fatal", EXIT_FATAL), ("unavailable", EXIT_UNAVAILABLE), ("quarantined", EXIT_QUARANTINED)):
        if outcome in outcomes:
            return code
    return EXIT_OK


@main.command()
@click.argument("text", required=False)
@click.option("--source", help="Only items of this source.")
@click.option("--author", help="Only items created or edited by this user.")
@click.option("--since", type=click.DateTime(), help="Created on or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Created before (UTC).")
@click.option("--limit", default=50, show_default=True, help="At most this many hits.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of hits.")
@config_options
def search(cfg, text, source, author, since, until, limit, as_json) -> None:
    """Find archived items by a word of their text and/or metadata."""
    from connector.pipeline import Archive
    from connector.search import search as run_search
    if not any((text, source, author, since, until)):
        raise click.UsageError("give TEXT or at least one of --source, --author, --since, --until")
    archive = Archive.open(cfg, lock=False, dry_run=True)
    utc = lambda d: d.replace(tzinfo=timezone.utc) if d else None  # noqa: E731
    try:
        hits = run_search(archive.repo, archive.filer, text, source=source, author=author,
                          since=utc(since), until=utc(until), limit=limit)
    finally:
        archive.close()
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in hits], indent=2, ensure_ascii=False))
        return
    for h in hits:
        click.echo(f"{h.title}\t{h.url}\t{h.path}\t{h.object_id}\tv{h.version}")
    if not hits:
        _err("no hits", logging.WARNING)


@main.group()
def ledger() -> None:
    """Inspect or rebuild the local ledger."""


@ledger.command("rebuild")
@config_options
def ledger_rebuild(cfg) -> None:
    """Reconstruct the ledger from the repository by querying our properties."""
    from connector.pipeline import Archive
    from connector.rebuild import rebuild_ledger
    archive = Archive.open(cfg)
    try:
        records, versions = rebuild_ledger(archive)
    finally:
        archive.close()
    click.echo(f"ledger rebuilt from the repository: {records} records, {versions} versions")


if __name__ == "__main__":
    main()
