"""The ``socialarchive`` group: the shared options before the command, usage errors as JSON lines,
the exit-code table in ``--help``, and every command group added from its module."""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial

import click

from .. import __version__
from ..exitcodes import help_text as exit_code_help
from . import docs, ledger, quarantine, records, run, survey
from .options import shared_options
from .output import wants_json


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
        self._json_errors = wants_json(args)
        with self._usage_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        _freeze_startup_objects()
        with self._usage_errors():
            return super().invoke(ctx)


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, before the command runs: every object alive now (modules, classes, the
    command table) lives as long as the process, so the garbage collector is told not to walk them
    again, in each full collection during a run or at exit (``gc.freeze``). That exit walk was
    30-50 ms of each command's end (``bench/throughput.py`` counts spawn to exit). Objects made
    later are collected as usual; the guard keeps a test process that invokes ``main`` many times
    from freezing its garbage each time."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]}, epilog=exit_code_help())
@click.version_option(__version__, prog_name="socialarchive")
@partial(shared_options, on_group=True)
def main(config_path, log_format, verbose, quiet) -> None:
    """Archive wikis, blogs and forums - every revision, comment, file and permission - into a
    CMIS repository. Append-only: nothing archived is ever overwritten or deleted.

    --config, --log-format, -v and -q go before the command or after it (after wins)."""


for _module in (run, survey, records, ledger, quarantine, docs):
    for _command in _module.COMMANDS:
        main.add_command(_command)
