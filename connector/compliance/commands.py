"""The compliance commands of the CLI: hold, verify, reclassify, export, audit file, docs procedure, subject.

``cli.py`` registers them with ``register(main, config_options)``, so they share its config and
logging options and its exit-code mapping (``connector.exitcodes``); what only they use is here:

  7  verify (or an export) found a fixity problem: content, property or audit-log mismatch

Every command that writes to the repository or the audit log takes the ledger's run lock (exit 6
while a sync runs), like sync itself.
"""
from __future__ import annotations

import json
import sys

import click

from ..exitcodes import ExitCode
from ..when import option as when_option


def _print_report(report, as_json: bool) -> None:
    """A verify or export report: one JSON document, or its human lines."""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    for line in report.lines():
        click.echo(line)


def _open(cfg, *, write: bool = True):
    from connector.pipeline import Archive
    return Archive.open(cfg, lock=True, dry_run=not write)


def register(main: click.Group, config_options) -> None:  # noqa: C901 - a list of commands
    # --- legal holds ------------------------------------------------------------------------
    @main.group()
    def hold() -> None:
        """Legal holds: every version of the matching records carries the matter's id until released."""

    @hold.command("add")
    @click.argument("matter")
    @click.option("--query", help="Records whose content contains these words (full text, like `search TEXT`).")
    @click.option("--source", help="Records of this source (with --since/--until: created in that range).")
    @when_option("--since", help="With --source: created on or after this time.")
    @when_option("--until", help="With --source: created before this time.")
    @click.option("--note", default="", help="Why: case reference, who asked (kept with the hold and audited).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @config_options
    def hold_add(cfg, matter, query, source, since, until, note, as_json) -> None:
        """Place legal hold MATTER on the records matching --query, or --source [--since] [--until].

        Running it again with the same criteria resumes an interrupted placement and extends a
        full-text hold to records filed since. Exits 5 if some version could not be updated."""
        from .holds import add_hold
        from .select import Criteria
        if bool(query) == bool(source):
            raise click.UsageError("give either --query or --source")
        if query and (since or until):
            raise click.UsageError("--since/--until go with --source")
        criteria = Criteria(query=query, source=source, since=since, until=until)
        archive = _open(cfg)
        try:
            report = add_hold(archive, matter, criteria, note=note)
        finally:
            archive.close()
        _report(report, as_json)
        sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)

    @hold.command("remove")
    @click.argument("matter")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @config_options
    def hold_remove(cfg, matter, as_json) -> None:
        """Release legal hold MATTER: its id leaves every version that carries it (the hold stays listed)."""
        from .holds import remove_hold
        archive = _open(cfg)
        try:
            report = remove_hold(archive, matter)
        finally:
            archive.close()
        _report(report, as_json)
        sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)

    @hold.command("list")
    @click.option("--json", "as_json", is_flag=True, help="One JSON array of holds.")
    @click.option("--all", "show_all", is_flag=True, help="Also released holds.")
    @config_options
    def hold_list(cfg, as_json, show_all) -> None:
        """List the legal holds in the ledger: matter, criteria, who placed it when, records."""
        from connector.ledger import Ledger
        from .holds import HoldBook
        ledger = Ledger(cfg.ledger_path)
        try:
            holds = [h for h in HoldBook(ledger).all() if show_all or h.active]
        finally:
            ledger.close()
        if as_json:
            click.echo(json.dumps([h.as_dict() for h in holds], indent=2, ensure_ascii=False))
            return
        for h in holds:
            state = "active" if h.active else f"released {h.released_at} by {h.released_by}"
            click.echo(f"{h.matter}\t{state}\t{h.criteria.describe()}\t{h.records} records\t"
                       f"placed {h.placed_at} by {h.placed_by}" + (f"\t{h.note}" if h.note else ""))
        if not holds:
            click.echo("no holds", err=True)

    # --- verification -----------------------------------------------------------------------
    @main.command()
    @click.option("--source", help="Only the versions of this source (the audit log is always checked).")
    @click.option("--sample", type=click.IntRange(min=1), help="Re-read N random versions instead of all.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @config_options
    def verify(cfg, source, sample, as_json) -> None:
        """Re-read archived content and re-hash it; check the audit log. Exits 7 on any mismatch."""
        from .verify import verify as run_verify
        archive = _open(cfg, write=False)
        try:
            report = run_verify(archive, source=source, sample=sample)
        finally:
            archive.close()
        _print_report(report, as_json)
        sys.exit(ExitCode.OK if report.ok else ExitCode.FIXITY)

    # --- reclassification -------------------------------------------------------------------
    @main.command()
    @click.option("--source", help="Only the records of this source.")
    @click.option("--apply", is_flag=True, help="Write the changes (without it: a dry run that lists them).")
    @click.option("--force", is_flag=True, help="Also shorten retention periods already filed (audited as forced).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @config_options
    def reclassify(cfg, source, apply, force, as_json) -> None:
        """Decide the record class and retain-until of filed versions again, by the classification
        rules as they are now: a dry run unless --apply.

        Never shortens a retention already filed unless --force; every version changed is one
        audit entry; only properties are updated (updateProperties), never content. Exits 5 if
        some version could not be updated."""
        from .reclassify import reclassify as run_reclassify
        if force and not apply:
            raise click.UsageError("--force goes with --apply (a dry run lists what would shorten anyway)")
        archive = _open(cfg, write=apply)
        try:
            report = run_reclassify(archive, source=source, apply=apply, force=force)
        finally:
            archive.close()
        _print_report(report, as_json)
        sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)

    # --- export -----------------------------------------------------------------------------
    @main.command()
    @click.option("--matter", help="The records of this legal hold.")
    @click.option("--source", help="The records of this source (with --since/--until: created in that range).")
    @when_option("--since", help="With --source: created on or after this time.")
    @when_option("--until", help="With --source: created before this time.")
    @click.option("--out", "out", required=True, type=click.Path(file_okay=False),
                  help="Directory for the bag (must not exist, or be empty).")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @config_options
    def export(cfg, matter, source, since, until, out, as_json) -> None:
        """Write a BagIt bag for auditors (content, metadata, audit trail; RFC 3161 timestamp if configured).

        Exits 7 if content read for the bag did not match its recorded SHA-256 (the bag is still
        written, the mismatches are listed in data/export.json)."""
        from .export import export as run_export
        from .select import Criteria
        if bool(matter) == bool(source):
            raise click.UsageError("give either --matter or --source [--since D] [--until D]")
        if matter and (since or until):
            raise click.UsageError("--since/--until go with --source")
        criteria = None if matter else Criteria(source=source, since=since, until=until)
        archive = _open(cfg, write=False)
        try:
            report = run_export(archive, out, matter=matter, criteria=criteria)
        finally:
            archive.close()
        _print_report(report, as_json)
        sys.exit(ExitCode.FIXITY if report.problems else ExitCode.OK)

    # --- audit log --------------------------------------------------------------------------
    @main.group()
    def audit() -> None:
        """The hash-chained audit log."""

    @audit.command("file")
    @config_options
    def audit_file(cfg) -> None:
        """File the audit-log entries not filed yet into the repository (<base>/_audit/<year>/)."""
        from .segments import file_segment
        archive = _open(cfg)
        try:
            segment = file_segment(archive)
        finally:
            archive.close()
        if segment is None:
            click.echo("nothing new to file")
        else:
            click.echo(f"audit log entries {segment.first_seq}-{segment.last_seq} filed as {segment.object_id} "
                       f"(sha256 {segment.sha256})")

    # --- documentation ----------------------------------------------------------------------
    @main.group()
    def docs() -> None:
        """Documentation generated from the configuration."""

    @docs.command("procedure")
    @click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
    @click.option("--lang", type=click.Choice(["en", "de"]), default="en", show_default=True,
                  help="Language of the document (de: Verfahrensdokumentation).")
    @config_options
    def docs_procedure(cfg, out, lang) -> None:
        """The procedure documentation (Verfahrensdokumentation) of this deployment in Markdown, from
        the configuration in use and the ledger (sources, repository, rules, schedule, holds, lock)."""
        from .procedure import generate
        text = generate(cfg, lang=lang)
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
            click.echo(f"procedure documentation written to {out}", err=True)
        else:
            click.echo(text, nl=False)

    # --- data subjects (GDPR) ---------------------------------------------------------------
    @main.group()
    def subject() -> None:
        """GDPR data subjects: find a person's archived content, restrict its processing."""

    @subject.command("find")
    @click.argument("user")
    @click.option("--json", "as_json", is_flag=True, help="One JSON array of records.")
    @config_options
    def subject_find(cfg, user, as_json) -> None:
        """List the records USER created or revised (sa:author, sa:revisionAuthor). The search is audited."""
        from .subject import find
        from .settings import operator
        archive = _open(cfg, write=False)
        try:
            records = find(archive, user)
            archive.audit.append("subject-find", subject=user, records=len(records), user=operator(),
                                 run_id=archive.run_id)
        finally:
            archive.close()
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
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @config_options
    def subject_restrict(cfg, user, reason, as_json) -> None:
        """Restrict processing of USER's archived content (GDPR Art. 18): marked, ACL narrowed, nothing erased."""
        from .subject import restrict
        archive = _open(cfg)
        try:
            report = restrict(archive, user, reason=reason)
        finally:
            archive.close()
        _report(report, as_json)
        sys.exit(ExitCode.FATAL if report.problems else ExitCode.OK)


def _report(report, as_json: bool) -> None:
    from dataclasses import asdict
    if as_json:
        click.echo(json.dumps(asdict(report), indent=2, ensure_ascii=False))
        return
    click.echo(report.line())
    for problem in report.problems:
        click.echo(f"  problem: {problem}")
