"""``quarantine list`` and ``quarantine retry``: what could not be filed, and filing it again."""
from __future__ import annotations

import logging
import sys

import click

from ..exitcodes import ExitCode
from ..archive import Archive
from ..store import Ledger
from ..pipeline import Pipeline
from ..quarantine import entries, one_line, retry
from ..when import pasteable
from .options import config_options, selected
from .output import echo_json, err, log_fields


@click.group()
def quarantine() -> None:
    """Records that could not be filed: list them, or read them again from the source and file them."""


@quarantine.command("list")
@click.option("--source", help="Only this source's records.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON array.")
@config_options
def quarantine_list(cfg, source, as_json) -> None:
    """Quarantined records with their error, reason, attempts and when they were seen."""
    ledger_db = Ledger(cfg.ledger_path)
    try:
        rows = entries(ledger_db, source)
    finally:
        ledger_db.close()
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['key']}\t{row['error']}\t{one_line(row['reason'])}\t{row['attempts']} attempt(s)\t"
                   f"last {pasteable(row['last_seen'])}")
    if not rows:
        err("nothing quarantined", logging.WARNING)


@quarantine.command("retry")
@click.argument("key", required=False)
@click.option("--source", help="Only this source's records.")
@click.option("--json", "as_json", is_flag=True, help="Print what became of each record as JSON.")
@config_options
def quarantine_retry(cfg, key, source, as_json) -> None:
    """Read quarantined records again from their source and file them (KEY: one record key, e.g.
    wiki/page/42; default: all). MediaWiki and WordPress read them by id; Misago and Discourse
    list the whole source. Exit 3 when some stay quarantined."""
    archive = Archive.open(cfg)
    pipeline = Pipeline(archive)
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
                results.append(retry(pipeline, selected(cfg, (name,))[0], keys))
    finally:
        archive.close()
    if as_json:
        echo_json(results)
    else:
        for r in results:
            for item in r["results"]:
                click.echo(f"{item['key']}: {item['outcome']}")
        if not results:
            err("nothing quarantined", logging.WARNING)
    left = any("still quarantined" in i["outcome"] or i["outcome"].startswith("failed") for r in results
               for i in r["results"])
    sys.exit(ExitCode.QUARANTINED if left else ExitCode.OK)


COMMANDS = (quarantine,)
