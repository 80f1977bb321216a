"""The records manager's commands: hold, verify, reclassify, export, audit file, subject.

Each turns its options into one call of ``connector.compliance.actions`` and the result into output
and an exit code (``connector.exitcodes``):

  7  verify (or an export) found a fixity problem: content, property or audit-log mismatch
  5  some version could not be updated (hold, reclassify, subject restrict)
  2  a selection (hold add, export, verify --source, reclassify --source, subject restrict) matches
     no record: nothing is written or audited; ``--allow-empty`` accepts it (exit 0, "0 records")

Every command that writes to the repository or the audit log takes the ledger's run lock (exit 6
while a sync runs), like sync itself.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import asdict
from typing import Iterator

import click

from ..compliance import actions
from ..compliance.select import Criteria
from ..errors import EmptySelection
from ..exitcodes import ExitCode
from ..when import pasteable
from .options import ALLOW_EMPTY_HELP, config_options, selection_range_options


class NothingSelected(click.ClickException):
    """An empty selection refused. Exit 2, as for a ``--source`` that names no source or a
    ``quarantine retry KEY`` that is not quarantined: the command as given cannot do what it
    names and did nothing; the same command line gives the same answer until the criteria (or
    ``--allow-empty``) change. Not 7 or 8: those report the outcome of work that was done."""

    exit_code = ExitCode.USAGE


@contextmanager
def refusing_empty() -> Iterator[None]:
    """Turn ``EmptySelection`` into the command's refusal, naming the criteria and the way out."""
    try:
        yield
    except EmptySelection as exc:
        raise NothingSelected(f"{exc}. Check the criteria, or give --allow-empty if no record is meant "
                              "to match.") from None


def _not_blank(ctx, param, value: str) -> str:
    """A required text that must say something: trimmed, and refused when nothing is left."""
    if value is not None and not value.strip():
        raise click.BadParameter("must not be blank")
    return value.strip() if value is not None else value


def _report(report, as_json: bool) -> None:
    """A hold or restriction report: its dataclass as JSON, or its line and problems."""
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2, ensure_ascii=False))
        return
    click.echo(report.line())
    for problem in report.problems:
        click.echo(f"  problem: {problem}")


def _print_report(report, as_json: bool) -> None:
    """A verify, reclassify or export report: one JSON document, or its human lines."""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    for line in report.lines():
        click.echo(line)


# --- legal holds ----------------------------------------------------------------------------
@click.group()
def hold() -> None:
    """Legal holds: every version of the matching records carries the matter's id until released."""


@hold.command("add")
@click.argument("matter")
@click.option("--query", help="Records with every one of these words in their content or title, in any case "
                              "and with or without accents (like `search TEXT`).")
@click.option("--source", help="Records of this source (with --since/--until: created in that range).")
@selection_range_options
@click.option("--note", default="", help="Why: case reference, who asked (kept with the hold and audited).")
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP + " A source/date hold so placed "
              "catches the matching records filed later.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@config_options
def hold_add(cfg, matter, query, source, since, until, note, allow_empty, as_json) -> None:
    """Place legal hold MATTER on the records matching --query, or --source [--since] [--until].

    Running it again with the same criteria resumes an interrupted placement and extends a
    full-text hold to records filed since. Exits 2 (nothing recorded or audited) when no
    record matches, unless --allow-empty; 5 if some version could not be updated."""
    if bool(query) == bool(source):
        raise click.UsageError("give either --query or --source")
    if query and (since or until):
        raise click.UsageError("--since/--until go with --source")
    criteria = Criteria(query=query, source=source, since=since, until=until)
    with refusing_empty():
        report = actions.place_hold(cfg, matter, criteria, note=note, allow_empty=allow_empty)
    _report(report, as_json)
    sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)


@hold.command("remove")
@click.argument("matter")
@click.option("--reason", required=True, callback=_not_blank,
              help="Why the hold ends: case closed, who decided (required; audited, shown by `hold list`).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@config_options
def hold_remove(cfg, matter, reason, as_json) -> None:
    """Release legal hold MATTER for --reason: its id leaves every version that carries it (the
    hold stays listed, released, with the reason)."""
    report = actions.release_hold(cfg, matter, reason=reason)
    _report(report, as_json)
    sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)


@hold.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of holds.")
@click.option("--all", "show_all", is_flag=True, help="Also released holds.")
@config_options
def hold_list(cfg, as_json, show_all) -> None:
    """List the legal holds in the ledger: matter, criteria, who placed it when, records."""
    holds = actions.holds(cfg, released=show_all)
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in holds], indent=2, ensure_ascii=False))
        return
    for h in holds:
        state = "active" if h.active else (f"released {pasteable(h.released_at)} by {h.released_by}"
                                           + (f", reason: {h.release_reason}" if h.release_reason else ""))
        click.echo(f"{h.matter}\t{state}\t{h.criteria.describe()}\t{h.records} records\t"
                   f"placed {pasteable(h.placed_at)} by {h.placed_by}" + (f"\t{h.note}" if h.note else ""))
    if not holds:
        click.echo("no holds", err=True)


# --- verification, reclassification, export -------------------------------------------------
@click.command()
@click.option("--source", help="Only the versions of this source (the audit log is always checked).")
@click.option("--sample", type=click.IntRange(min=1), help="Re-read N random versions instead of all.")
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_options
def verify(cfg, source, sample, allow_empty, as_json) -> None:
    """Re-read archived content and re-hash it; check the audit log. Exits 7 on any mismatch,
    2 when --source has no version archived (unless --allow-empty)."""
    with refusing_empty():
        report = actions.check_fixity(cfg, source=source, sample=sample, allow_empty=allow_empty)
    _print_report(report, as_json)
    sys.exit(ExitCode.OK if report.ok else ExitCode.FIXITY)


@click.command()
@click.option("--source", help="Only the records of this source.")
@click.option("--apply", is_flag=True, help="Write the changes (without it: a dry run that lists them).")
@click.option("--force", is_flag=True, help="Also shorten retention periods already filed (audited as forced).")
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_options
def reclassify(cfg, source, apply, force, allow_empty, as_json) -> None:
    """Decide the record class and retain-until of filed versions again, by the classification
    rules as they are now: a dry run unless --apply.

    Never shortens a retention already filed unless --force; every version changed is one
    audit entry; only properties are updated (updateProperties), never content. Exits 2 when
    --source has no record (unless --allow-empty), 5 if some version could not be updated."""
    if force and not apply:
        raise click.UsageError("--force goes with --apply (a dry run lists what would shorten anyway)")
    with refusing_empty():
        report = actions.reclassify(cfg, source=source, apply=apply, force=force, allow_empty=allow_empty)
    _print_report(report, as_json)
    sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)


@click.command()
@click.option("--matter", help="The records of this legal hold.")
@click.option("--source", help="The records of this source (with --since/--until: created in that range).")
@selection_range_options
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for the bag (must not exist, or be empty).")
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP + " The bag then holds no record.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@config_options
def export(cfg, matter, source, since, until, out, allow_empty, as_json) -> None:
    """Write a BagIt bag for auditors (content, metadata, audit trail; RFC 3161 timestamp if configured).

    Exits 7 if content read for the bag did not match its recorded SHA-256 (the bag is still
    written, the mismatches are listed in data/export.json); 2, writing no bag, when the
    selection matches no record (unless --allow-empty)."""
    if bool(matter) == bool(source):
        raise click.UsageError("give either --matter or --source [--since D] [--until D]")
    if matter and (since or until):
        raise click.UsageError("--since/--until go with --source")
    criteria = None if matter else Criteria(source=source, since=since, until=until)
    with refusing_empty():
        report = actions.export(cfg, out, matter=matter, criteria=criteria, allow_empty=allow_empty)
    _print_report(report, as_json)
    sys.exit(ExitCode.FIXITY if report.problems else ExitCode.OK)


# --- audit log ------------------------------------------------------------------------------
@click.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("file")
@config_options
def audit_file(cfg) -> None:
    """File the audit-log entries not filed yet into the repository (<base>/_audit/<year>/)."""
    segment = actions.file_audit(cfg)
    if segment is None:
        click.echo("nothing new to file")
    else:
        click.echo(f"audit log entries {segment.first_seq}-{segment.last_seq} filed as {segment.object_id} "
                   f"(sha256 {segment.sha256})")


# --- data subjects (GDPR) -------------------------------------------------------------------
@click.group()
def subject() -> None:
    """GDPR data subjects: find a person's archived content, restrict its processing."""


@subject.command("find")
@click.argument("user")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of records.")
@config_options
def subject_find(cfg, user, as_json) -> None:
    """List the records USER created or revised (sa:author, sa:revisionAuthor), the name in any case and
    with or without accents (admin finds Admin; --json gives the names as the source spells them).
    The search is audited."""
    records = actions.find_subject(cfg, user)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in records], indent=2, ensure_ascii=False))
        return
    for r in records:
        click.echo(f"{r.key}\t{r.title}\t{', '.join(r.roles)}\t{r.versions} versions\t{r.object_id}"
                   + ("\trestricted" if r.restricted else ""))
    if not records:
        click.echo(f"nothing archived by {user}", err=True)


@subject.command("restrict")
@click.argument("user")
@click.option("--reason", default="", help="The request's reference (kept in the ledger and audit log).")
@click.option("--allow-empty", is_flag=True, help=ALLOW_EMPTY_HELP + " The restriction then applies to "
              "USER's content filed later.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@config_options
def subject_restrict(cfg, user, reason, allow_empty, as_json) -> None:
    """Restrict processing of USER's archived content (GDPR Art. 18): marked, ACL narrowed, nothing erased.

    Exits 2, recording nothing, when USER created or revised no archived record (unless --allow-empty)."""
    with refusing_empty():
        report = actions.restrict_subject(cfg, user, reason=reason, allow_empty=allow_empty)
    _report(report, as_json)
    sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)


COMMANDS = (hold, verify, reclassify, export, audit, subject)
