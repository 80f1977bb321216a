"""``docs``: documents generated from the code and the configuration (the CLI reference, the
procedure documentation, the CMIS 1.0 type definition)."""
from __future__ import annotations

import sys

import click

from ..clidoc import generate as generate_reference
from ..cmis import typedefs
from ..compliance.procedure import generate as generate_procedure
from ..exitcodes import ExitCode
from .options import config_options
from .output import err


@click.group()
def docs() -> None:
    """Documentation generated from the configuration."""


@docs.command("cli")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the reference to this file (default: stdout).")
@click.option("--check", "check_file", type=click.Path(dir_okay=False, exists=True),
              help="Compare this file with what would be generated; exit 1 when it is out of date.")
def docs_cli(out, check_file) -> None:
    """The command line reference (docs/cli.md), generated from every command's --help."""
    text = generate_reference(click.get_current_context().find_root().command)
    if check_file:
        with open(check_file, encoding="utf-8") as fh:
            if fh.read() != text:
                err(f"{check_file} is out of date: run `socialarchive docs cli --out {check_file}`")
                sys.exit(ExitCode.ERROR)
        return
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


@docs.command("procedure")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
              help="Language of the document (de: Verfahrensdokumentation).")
@config_options
def docs_procedure(cfg, out, lang) -> None:
    """The procedure documentation (Verfahrensdokumentation) of this deployment in Markdown, from
    the configuration in use and the ledger (sources, repository, rules, schedule, holds, lock)."""
    text = generate_procedure(cfg, lang=lang)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"procedure documentation written to {out}", err=True)
    else:
        click.echo(text, nl=False)


@docs.command("cmis10-type")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the file here (default: stdout).")
def docs_cmis10_type(out) -> None:
    """The type definition (CMIS XML) an administrator deploys for the CMIS 1.0 profiles: our document
    type with every archive property, generated from connector/cmis/schema.py (shipped as
    docker/cmis10/socialarchive-types.xml)."""
    if out:
        typedefs.write(out)
    else:
        click.echo(typedefs.cmis10_type_file().decode("utf-8"), nl=False)


COMMANDS = (docs,)
