"""``ledger rebuild``: the local ledger reconstructed from what the repository holds."""
from __future__ import annotations

import json

import click

from ..archive import Archive
from ..rebuild import rebuild_ledger, set_aside
from .options import config_options


@click.group()
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


COMMANDS = (ledger,)
