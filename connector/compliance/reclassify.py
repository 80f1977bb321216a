"""Re-decide the record class and retain-until of filed versions after the classification rules
changed: ``socialarchive reclassify`` (a dry run: what would change) and ``--apply``.

Each filed version is decided again by the rules the config names now, from its own properties
(source, kind, space, tags, authors, title, created: what ``Facts`` holds at filing time) and, only
when a rule looks at the content, its content streamed back from the repository. Then:

- a later retain-until (or a version filed without one) is written;
- the same retain-until with another class or rule is written;
- an earlier retain-until is **not** written: a retention already filed is never shortened
  unless ``--force`` (the version is listed as ``kept``, with both dates);
- a write is one updateProperties on that version (``sa:recordClass``, ``sa:classRule``,
  ``sa:retainUntil``, and ``cmis:rm_expirationDate``/``cmis:rm_startOfRetention`` where the
  repository has ``cmis:rm_clientMgtRetention``): a metadata event, the content is never touched;
- each version written is one ``reclassify`` audit entry (key, version, object id, from, to, who,
  whether forced), made after the repository acknowledged it; then one ``reclassified`` entry
  with the counts and the config digest (which covers the rules file). A dry run writes nothing.
- every record is read back; a version whose values did not take is a problem (exit 5).

Sensitive-data flags, holds and restrictions are not re-decided here (holds and restrictions
have their own commands; the flags belong to the content as filed).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..cmis import schema
from ..errors import ConnectorError, EmptySelection
from ..http import retrying
from ..model import Content
from . import rm
from .classify import Classifier, Facts
from .select import Found, as_datetime, as_list, single, versions
from .settings import operator

log = logging.getLogger(__name__)

CLASS_PROPERTIES = ("sa:recordClass", "sa:classRule", "sa:retainUntil")


@dataclass
class Change:
    """One version whose decision differs from what it carries."""

    key: str
    version: str
    object_id: str
    old_class: str | None
    old_rule: str | None
    old_until: datetime | None
    new_class: str
    new_rule: str
    new_until: datetime
    start: datetime

    @property
    def shortens(self) -> bool:
        return self.old_until is not None and self.new_until < self.old_until

    def as_dict(self) -> dict:
        return {"key": self.key, "version": self.version, "object_id": self.object_id,
                "from": {"record_class": self.old_class, "class_rule": self.old_rule,
                         "retain_until": self.old_until.isoformat() if self.old_until else None},
                "to": {"record_class": self.new_class, "class_rule": self.new_rule,
                       "retain_until": self.new_until.isoformat()}}

    def line(self) -> str:
        until = lambda d: d.date().isoformat() if d else "none"  # noqa: E731
        return (f"{self.key} v{self.version}: {self.old_class or 'unclassified'} ({self.old_rule or '-'}) "
                f"-> {self.new_class} ({self.new_rule}), retain until {until(self.old_until)} -> {until(self.new_until)}")


@dataclass
class ReclassifyReport:
    applied: bool
    forced: bool
    records: int = 0
    versions: int = 0
    changed: list[Change] = field(default_factory=list)       # written (or, in a dry run, to write)
    kept: list[Change] = field(default_factory=list)          # would shorten: not written without --force
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"applied": self.applied, "forced": self.forced, "records": self.records, "versions": self.versions,
                "changed": [c.as_dict() for c in self.changed], "kept": [c.as_dict() for c in self.kept],
                "problems": self.problems}

    def lines(self) -> list[str]:
        verb = "changed" if self.applied else "to change (dry run: nothing written; --apply writes)"
        out = [f"reclassify: {self.records} records, {self.versions} versions; {len(self.changed)} {verb}, "
               f"{len(self.kept)} kept (the new rules would shorten their retention; --force shortens)"
               + (f", {len(self.problems)} problems" if self.problems else "")]
        out += [f"  {'changed' if self.applied else 'change'}: {c.line()}" for c in self.changed]
        out += [f"  kept: {c.line()}" for c in self.kept]
        out += [f"  problem: {p}" for p in self.problems]
        return out


def reclassify(archive, *, source: str | None = None, apply: bool = False, force: bool = False,
               user: str | None = None, allow_empty: bool = False) -> ReclassifyReport:
    """Decide every filed version of this archive (or of ``source``) again; write with ``apply``.
    ``source`` with no record raises ``EmptySelection`` (nothing audited) unless ``allow_empty``."""
    classifier: Classifier = archive.mapper.classifier
    user = user or operator()
    report = ReclassifyReport(applied=apply, forced=force)
    records = _records(archive, source)
    if source and not records and not allow_empty:
        raise EmptySelection("reclassify", f"source {source}")
    for key, record in sorted(records.items()):
        report.records += 1
        written = {}
        for props in record.versions:
            report.versions += 1
            change = _decide(archive, classifier, key, props)
            if change is None:
                continue
            if change.shortens and not force:
                report.kept.append(change)
                continue
            report.changed.append(change)
            if apply and _write(archive, classifier.rm_support, change, props, report):
                archive.audit.append("reclassify", **change.as_dict(), forced=change.shortens, user=user,
                                     run_id=archive.run_id)
                written[change.object_id] = change
        if written:
            _read_back(archive, record, written, report)
    if apply:
        archive.audit.append("reclassified", records=report.records, versions=report.versions,
                             changed=len(report.changed), kept=len(report.kept), problems=len(report.problems),
                             forced=force, rules=classifier.rules.path, config_sha256=archive.config.fingerprint,
                             user=user, run_id=archive.run_id)
    return report


def _records(archive, source: str | None) -> dict[str, Found]:
    """The records of this archive (of ``source``), tombstones included: every series with our
    document type inside the archive's folder tree (a query on the document type sees every
    version; one on the secondary type would see first versions only, on InMemory)."""
    statement = (f"SELECT cmis:objectId, {schema.KEY_PROPERTY} FROM {archive.filer.profile.document_type} "
                 f"WHERE {archive.filer.in_archive()}")
    rows = retrying(lambda: list(archive.repo.query(statement, all_versions=archive.filer.profile.query_all_versions)),
                    attempts=3)
    found: dict[str, Found] = {}
    seen: set[str] = set()
    for row in rows:
        key = row.get(schema.KEY_PROPERTY)
        if key and key not in seen:
            seen.add(key)
            history = versions(archive, row["cmis:objectId"])
            if history and (source is None or single(history[-1].get("sa:source")) == source):
                found[key] = Found(key, row["cmis:objectId"], history)
    return found


def _decide(archive, classifier: Classifier, key: str, props: dict) -> Change | None:
    facts = Facts(key=key, source=str(single(props.get("sa:source")) or ""),
                  system=str(single(props.get("sa:sourceSystem")) or ""), kind=str(single(props.get("sa:kind")) or ""),
                  title=str(single(props.get("sa:title")) or ""), space=str(single(props.get("sa:space")) or ""),
                  tags=tuple(as_list(props.get("sa:tags"))),
                  authors=tuple(a for a in (single(props.get("sa:author")), single(props.get("sa:revisionAuthor"))) if a),
                  created=as_datetime(single(props.get("sa:revisionCreated")) or single(props.get("sa:created"))),
                  item_created=as_datetime(single(props.get("sa:created"))))
    content = None                  # a tombstone is decided without its content, as when it was filed
    if facts.kind != "tombstone" and any(rule.needs_text for rule in classifier.rules.rules):
        object_id = props["cmis:objectId"]
        content = Content(media_type=str(single(props.get("sa:mediaType")) or props.get("cmis:contentStreamMimeType") or ""),
                          chunks=lambda: archive.repo.content(object_id))
    decision = classifier.decide(facts, content)
    old_until = as_datetime(single(props.get("sa:retainUntil")))
    old = (single(props.get("sa:recordClass")), single(props.get("sa:classRule")), old_until)
    if old == (decision.record_class, decision.rule, decision.retain_until):
        return None
    return Change(key, str(props.get("cmis:versionLabel")), props["cmis:objectId"], old[0], old[1], old_until,
                  decision.record_class, decision.rule, decision.retain_until, decision.start)


def _write(archive, support: rm.RmSupport, change: Change, props: dict, report: ReclassifyReport) -> bool:
    update: dict = {"cmis:secondaryObjectTypeIds": rm.with_secondary(props.get("cmis:secondaryObjectTypeIds"),
                                                                    archive.filer.profile.secondary_type),
                    "sa:recordClass": change.new_class, "sa:classRule": change.new_rule,
                    "sa:retainUntil": change.new_until}
    if support.retention:
        update["cmis:secondaryObjectTypeIds"] = rm.with_secondary(update["cmis:secondaryObjectTypeIds"], rm.RETENTION_TYPE)
        update[rm.EXPIRATION], update[rm.START] = change.new_until, change.start
    try:
        retrying(lambda: archive.repo.update_properties(change.object_id, update), attempts=3)
        return True
    except ConnectorError as exc:
        report.problems.append(f"{change.key} version {change.version} ({change.object_id}): {exc}")
        log.error("reclassify: could not update %s version %s: %s", change.key, change.version, exc)
        return False


def _read_back(archive, record: Found, written: dict[str, Change], report: ReclassifyReport) -> None:
    for props in versions(archive, record.object_id):
        change = written.get(props["cmis:objectId"])
        if change and (single(props.get("sa:recordClass")), as_datetime(single(props.get("sa:retainUntil")))) != \
                (change.new_class, change.new_until):
            report.problems.append(f"{change.key} version {change.version}: reads back as "
                                   f"{single(props.get('sa:recordClass'))} until {single(props.get('sa:retainUntil'))}, "
                                   f"expected {change.new_class} until {change.new_until.isoformat()}")
