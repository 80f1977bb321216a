"""The option bundles commands share, and what their values become (the selected sources, a range).

``config_options`` goes on every command: ``--config``, ``--log-format``, ``-v``, ``-q``; it loads
the config, checks ``--source`` against it, and turns the errors every command can meet into the
exit-code table's codes (``connector.exitcodes``). The other bundles keep one wording for options
that several commands take (``--workers``, a backfill's range, a selection's range, ``--allow-empty``).

Example::

    @click.command()
    @range_options
    @config_options
    def plan(cfg, since, until): ...        # cfg: the loaded, checked Config
"""
from __future__ import annotations

import logging
import sys
from functools import wraps
from typing import Callable

import click

from .. import config as config_mod
from ..config import Config
from ..errors import ConfigError, ConnectorError
from ..exitcodes import ExitCode, for_error
from ..store import archived_sources
from ..sources import Source, build
from ..when import option as when_option
from .output import err, flush_repeats, json_logging, setup_logging

# --source parameters: "source" selects archived records (a source retired from the config but
# in the ledger counts), "sources" and "source_name" read the source itself (configured only).
SOURCE_OPTIONS = ("source", "sources", "source_name")

ALLOW_EMPTY_HELP = "Accept a selection of no record (exit 0, reporting 0 records) instead of refusing it (exit 2)."


def _check_source_options(cfg: Config, kwargs: dict) -> None:
    for name in SOURCE_OPTIONS:
        value = kwargs.get(name)
        names = {value} if isinstance(value, str) else set(value or ())
        if name == "source" and names - set(cfg.sources):
            cfg.check_sources(names, archived_sources(cfg.ledger_path))
        else:
            cfg.check_sources(names)


def shared_options(fn: Callable, *, on_group: bool = False) -> Callable:
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


def config_options(fn: Callable) -> Callable:
    """The option bundle every command shares: where the config is, how to log. A command's
    ``--source`` (a parameter named as in SOURCE_OPTIONS) is checked against the config here, so
    no command can report success on a source that does not exist (exit 2)."""
    @shared_options
    @wraps(fn)
    def wrapper(*args, config_path, log_format, verbose, quiet, **kwargs):
        config_path, log_format, verbose = (_given("config_path", config_path), _given("log_format", log_format),
                                            _given("verbose", verbose))
        setup_logging(verbose, log_format, _given("quiet", quiet))
        try:
            cfg = config_mod.load(config_path)
            _check_source_options(cfg, kwargs)
            try:
                return fn(cfg, *args, **kwargs)
            finally:
                flush_repeats()   # before the error line, if any: it stays the last
        except ConfigError as exc:
            err(f"configuration error: {exc}")
            sys.exit(for_error(exc))
        except KeyboardInterrupt:
            err("interrupted")
            sys.exit(ExitCode.INTERRUPTED)
        except ConnectorError as exc:
            err(f"error: {exc}")
            sys.exit(for_error(exc))
        except Exception as exc:
            if not json_logging() or isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)):
                raise
            logging.getLogger("socialarchive").exception("unexpected error (a bug: please report it with the log)")
            sys.exit(ExitCode.ERROR)
    return wrapper


def workers_option(fn: Callable) -> Callable:
    """--workers of the commands that file (sync, backfill)."""
    return click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
                        envvar="SOCIALARCHIVE_WORKERS",
                        help="Threads writing to the repository at once (items stay in order, one ledger writer; "
                             "env SOCIALARCHIVE_WORKERS).")(fn)


def range_options(fn: Callable) -> Callable:
    """--since/--until of a backfill's range (plan, backfill): open at either end."""
    fn = when_option("--until", help="End of the range, exclusive. Default: no end (items dated in the future, "
                                     "such as scheduled posts, too).")(fn)
    return when_option("--since", help="Start of the range, inclusive. Default: the beginning.")(fn)


def selection_range_options(fn: Callable) -> Callable:
    """--since/--until narrowing a selection by --source (hold add, export)."""
    fn = when_option("--until", help="With --source: created before this time.")(fn)
    return when_option("--since", help="With --source: created on or after this time.")(fn)


def check_range(since, until) -> None:
    if since and until and since >= until:
        raise click.UsageError("--since must be before --until")


def selected(cfg: Config, names: tuple[str, ...]) -> list[Source]:
    """The configured sources named (all of them for none), built."""
    cfg.check_sources(names)
    return [build(name, cfg.sources[name].type, cfg.sources[name].options)
            for name in (names or tuple(cfg.sources))]
