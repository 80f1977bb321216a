"""The ``socialarchive`` group: the shared options before the command, usage errors as JSON lines,
the exit-code table in ``--help``, and every command group added from its module."""
from __future__ import annotations

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
        with self._usage_errors():
            return super().invoke(ctx)


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
