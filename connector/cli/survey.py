"""The commands that look and tell: ``check``, ``plan``, ``status``, ``report``, ``search``.

They write nothing to the archive (``plan`` may time scratch documents in ``<base>/_probe`` and
delete them again; ``--no-probe`` never writes) and take no run lock, so they can run beside a sync.
"""
from __future__ import annotations

import json
import logging
import os
import sys

import click

from ..exitcodes import ExitCode
from ..plan import format_plan, plan as make_plan
from ..probe import probe
from ..reader import open_reader
from ..report import build_report, render
from ..search import search as run_search
from ..status import format_status, status
from ..when import option as when_option
from .options import check_range, config_options, range_options, selected
from .output import echo_json, err, json_logging


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
@config_options
def check(cfg, as_json) -> None:
    """Probe the repository and every configured source, and print what was found.

    Every source is probed even when the repository does not answer. Exit 4 when one of them is
    unavailable (or its host name does not resolve), 5 when credentials or grants are refused."""
    result = probe(cfg, selected(cfg, ()))
    click.echo(json.dumps(result.found, indent=2, ensure_ascii=False, default=str) if as_json
               else "\n".join(result.lines))
    sys.exit(result.code)


@click.command()
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
    if not any((text, source, author, since, until)):
        raise click.UsageError("give TEXT or at least one of --source, --author, --since, --until")
    archive = open_reader(cfg)
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
    err(result.note(), logging.WARNING if not result.hits or result.truncated else logging.INFO)


@click.command()
@click.option("--source", "source_name", required=True, help="The source to plan for (its name in the config).")
@range_options
@click.option("--no-probe", is_flag=True,
              help="Never time createDocument with scratch documents; use the ledger's run history only.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@config_options
def plan(cfg, source_name, since, until, no_probe, as_json) -> None:
    """Estimate a backfill before running it: counts, requests, bytes and duration.

    Counts come from cheap API calls (WordPress X-WP-Total, MediaWiki statistics and a capped
    revision listing, Misago's thread listing, Discourse /about.json); the duration from the
    source's speed or rate limit and the repository's measured create rate."""
    check_range(since, until)
    result = make_plan(cfg, source_name, since, until, probe=not no_probe)
    if as_json:
        echo_json(result)
    else:
        click.echo(format_plan(result))


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@config_options
def status_cmd(cfg, as_json) -> None:
    """What the ledger knows, per source: checkpoint, items, versions, files, bytes, tombstones,
    quarantined items with reasons, the last run and its outcome, backfills. Local only."""
    result = status(cfg)
    if as_json:
        echo_json(result)
    else:
        click.echo(format_status(result))


@click.command("report")
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
    check_range(since, until)
    chosen = selected(cfg, sources)
    archive = open_reader(cfg)
    try:
        result = build_report(archive, chosen, since, until)
    finally:
        archive.close()
    text = render(result, "json" if as_json else fmt)
    if out:
        tmp = f"{out}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
        err(f"report written to {out}: {result['missing_total']} missing, {result['pending_total']} pending, "
            f"{result['extra_total']} extra",
            logging.INFO if json_logging() else logging.WARNING)
    else:
        click.echo(text, nl=False)
    sys.exit(ExitCode.DIFFERENCES if result["missing_total"] or result["extra_total"] else ExitCode.OK)


COMMANDS = (check, plan, status_cmd, report_cmd, search)
