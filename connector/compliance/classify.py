"""Automatic classification: rules as data (``mappings/classification.toml``) → record class →
retention years → retain-until; plus the sensitive-data flags, legal holds and processing
restrictions that every version carries.

The Mapper calls ``Classifier.restrictions(item)`` once per item (the restrictions the archive
must place on the record: sensitive data configured to restrict, a person whose processing is
restricted; the ledger keeps them, so they never widen by themselves) and
``version_properties(item, revision)`` for each version. ``Archive.open`` builds the classifier
with ``build(config, repo, ledger, profile)``.

Example::

    rules = ClassRules.load("mappings/classification.toml")
    decision = Classifier(rules).decide(Facts.of_item(item, revision), revision.content)
    decision.record_class, decision.retain_until      # "organisation", 2034-12-31T22:59:59Z

Decisions the issue left open, and why:
- no silent default: the rules file must name ``default_class`` (the connector refuses to start
  without it); a version that matches no rule gets it with ``sa:classRule = "default"`` and the
  source is logged at warning level, so the unclassified are one query away;
- the period runs from the end of the calendar year in which the *version* was created (each
  version is a record state of its own; a later revision never expires before its own period),
  in the configured time zone; retain-until is 31 December 23:59:59 of that year + N;
- classification is per version (item fields, this revision's title and text): an edit that adds
  an invoice number can move the new version into another class; earlier versions keep theirs.
"""
from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Collection, Iterable, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError
from ..fold import fold
from ..model import Content, Item, Revision, Tombstone
from . import holds, rm
from .sensitive import Scanner, read_text
from .settings import settings

log = logging.getLogger(__name__)

PRESETS = {"gobd-10": 10, "gobd-8": 8, "gobd-6": 6}
_LIST_FIELDS = ("source", "system", "kind", "space", "tags", "author")
_REGEX_FIELDS = ("title", "content")
DEFAULT_RULE = "default"
RESTRICTED_REASON = "processing restricted (GDPR Art. 18)"


@dataclass(frozen=True)
class RecordClass:
    name: str
    years: int
    preset: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    record_class: str
    lists: dict[str, tuple[str, ...]]
    patterns: dict[str, re.Pattern]

    @property
    def needs_text(self) -> bool:
        return "content" in self.patterns

    def matches(self, facts: "Facts", text: "_LazyText") -> bool:
        for name, values in self.lists.items():
            if name in ("source", "system", "kind"):
                if getattr(facts, name) not in values:
                    return False
            elif name == "tags":
                if not {t.casefold() for t in facts.tags} & {v.casefold() for v in values}:
                    return False
            elif name == "author":
                people = {p.casefold() for p in facts.authors if p}
                if not people & {v.casefold() for v in values}:
                    return False
            elif (getattr(facts, name) or "").casefold() not in {v.casefold() for v in values}:
                return False
        if "title" in self.patterns and not self.patterns["title"].search(facts.title or ""):
            return False
        if "content" in self.patterns and not self.patterns["content"].search(text.get()):
            return False
        return True

    def describe(self) -> str:
        parts = [f"{k} in [{', '.join(v)}]" for k, v in self.lists.items()]
        parts += [f"{k} ~ /{p.pattern}/" for k, p in self.patterns.items()]
        return " and ".join(parts) or "always"


@dataclass
class ClassRules:
    path: str
    default_class: str
    classes: dict[str, RecordClass]
    rules: list[Rule]
    zone: ZoneInfo | timezone
    scanner: Scanner

    @classmethod
    def load(cls, path: str) -> "ClassRules":
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"classification rules {path}: {exc}") from None
        return cls.parse(data, path)

    @classmethod
    def parse(cls, data: dict, path: str = "<rules>") -> "ClassRules":
        where = f"classification rules {path}"
        head = data.get("classification", {})
        classes = {}
        for name, table in data.get("classes", {}).items():
            if "retention" in table and "years" in table:
                raise ConfigError(f"{where}: [classes.{name}] has both retention and years; give one")
            preset = table.get("retention")
            if preset is not None and preset not in PRESETS:
                raise ConfigError(f"{where}: [classes.{name}] retention {preset!r} is not one of "
                                  f"{', '.join(PRESETS)} (or give years = N)")
            years = PRESETS[preset] if preset else table.get("years")
            if not isinstance(years, int) or isinstance(years, bool) or years <= 0:
                raise ConfigError(f"{where}: [classes.{name}] needs retention = <preset> or years = <positive integer>")
            classes[name] = RecordClass(name, years, preset, str(table.get("description", "")))
        default = head.get("default_class")
        if not default:
            raise ConfigError(f"{where}: [classification] default_class is required: the class of items that "
                              "match no rule (there is no silent default)")
        if default not in classes:
            raise ConfigError(f"{where}: default_class {default!r} is not defined under [classes]")
        rules = []
        for n, table in enumerate(data.get("rules", []), 1):
            name = str(table.get("name", f"rule {n}"))
            target = table.get("class")
            if target not in classes:
                raise ConfigError(f"{where}: rule {name!r}: class {target!r} is not defined under [classes]")
            unknown = set(table) - {"name", "class", *_LIST_FIELDS, *_REGEX_FIELDS}
            if unknown:
                raise ConfigError(f"{where}: rule {name!r}: unknown conditions {', '.join(sorted(unknown))}")
            lists = {k: tuple([table[k]] if isinstance(table[k], str) else table[k]) for k in _LIST_FIELDS if k in table}
            patterns = {}
            for k in _REGEX_FIELDS:
                if k in table:
                    try:
                        patterns[k] = re.compile(table[k])
                    except re.error as exc:
                        raise ConfigError(f"{where}: rule {name!r}: {k} is not a valid regular expression: {exc}") from None
            if not lists and not patterns:
                raise ConfigError(f"{where}: rule {name!r} has no condition; use default_class instead")
            rules.append(Rule(name, target, lists, patterns))
        if len({r.name for r in rules}) != len(rules):
            raise ConfigError(f"{where}: rule names must be unique")
        zone_name = head.get("timezone", "UTC")
        try:
            zone = timezone.utc if zone_name == "UTC" else ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: unknown timezone {zone_name!r}") from None
        scanner = Scanner.from_config(data.get("sensitive", {}), f"{where} [sensitive]")
        return cls(path, default, classes, rules, zone, scanner)

    def period(self, record_class: str, created: datetime) -> tuple[datetime, datetime]:
        """(start of retention, retain-until) for a record made at ``created``: the period starts at the
        end of the calendar year and ends on 31 December of that year + N."""
        year = created.astimezone(self.zone).year
        years = self.classes[record_class].years
        start = datetime(year + 1, 1, 1, tzinfo=self.zone).astimezone(timezone.utc)
        until = (datetime(year + years + 1, 1, 1, tzinfo=self.zone) - timedelta(seconds=1)).astimezone(timezone.utc)
        return start, until


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the item's fields and this version's title and author."""

    key: str
    source: str
    system: str
    kind: str
    title: str
    space: str = ""
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    created: datetime | None = None       # of this version: starts its retention period
    item_created: datetime | None = None  # of the item: what holds by date range look at

    @classmethod
    def of_item(cls, item: Item, revision: Revision | None = None) -> "Facts":
        created = (revision.created if revision else None) or item.created
        return cls(key=item.key, source=item.source, system=item.system, kind=item.kind,
                   title=(revision.title if revision and revision.title else item.title) or "",
                   space=item.space or "", tags=tuple(item.tags),
                   authors=tuple(a for a in (item.author, revision.author if revision else None) if a),
                   created=created,
                   item_created=item.created or (item.revisions[0].created if item.revisions else None))


@dataclass(frozen=True)
class Decision:
    record_class: str
    rule: str
    retain_until: datetime
    start: datetime
    sensitive: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()
    restricted: bool = False


class ComplianceState(Protocol):
    """What the ledger knows that classification needs: active holds and restricted persons."""

    def holds_for(self, facts: Facts) -> list[str]: ...

    def is_restricted(self, people: Iterable[str]) -> bool: ...


class _LazyText:
    def __init__(self, content: Content | None, max_bytes: int):
        self.content, self.max_bytes, self._text = content, max_bytes, None

    def get(self) -> str:
        if self._text is None:
            self._text = (read_text(self.content, self.max_bytes) if self.content else None) or ""
        return self._text


@dataclass
class Classifier:
    rules: ClassRules
    rm_support: rm.RmSupport = field(default_factory=rm.RmSupport)
    secondary_type: str = "sa:archived"
    state: ComplianceState | None = None

    def __post_init__(self):
        self._decisions: dict[tuple[str, str], Decision] = {}
        self._warned: set[str] = set()
        self.counts: dict[str, int] = {}

    # --- decisions ----------------------------------------------------------------------
    def decide(self, facts: Facts, content: Content | None, *, now: datetime | None = None) -> Decision:
        text = _LazyText(content, self.rules.scanner.max_bytes)
        rule = next((r for r in self.rules.rules if r.matches(facts, text)), None)
        record_class = rule.record_class if rule else self.rules.default_class
        if rule is None:
            if facts.source not in self._warned:
                self._warned.add(facts.source)
                log.warning("items of source %s match no classification rule in %s: they get the default class "
                            "%s (sa:classRule = 'default')", facts.source, self.rules.path, record_class)
            log.info("%s matches no classification rule: default class %s", facts.key, record_class)
        start, until = self.rules.period(record_class, facts.created or now or datetime.now(timezone.utc))
        sensitive = self.rules.scanner.scan_text(text.get()) if content is not None else ()
        holds = tuple(self.state.holds_for(facts)) if self.state else ()
        restricted = bool(self.state and self.state.is_restricted(facts.authors))
        self.counts[record_class] = self.counts.get(record_class, 0) + 1
        return Decision(record_class, rule.name if rule else DEFAULT_RULE, until, start, sensitive, holds, restricted)

    def restrictions(self, item: Item, settled: Collection[str] = ()) -> list[str]:
        """Decide every revision of ``item`` not in ``settled``; the reasons for which the archive
        must restrict the record (empty: none found now).

        ``settled`` revisions were decided when they were filed, and what restricted them then is
        kept in the ledger, so their content is not read again; only the people of the item are
        checked against processing restrictions, which can start at any time.
        """
        self._decisions = {}
        decisions = [self._decision(item, revision) for revision in item.revisions if revision.id not in settled]
        reasons = []
        restricting = sorted({name for d in decisions for name in self.rules.scanner.restricting(d.sensitive)})
        if restricting:
            reasons.append(f"sensitive data ({', '.join(restricting)})")
        people = {item.author, *(revision.author for revision in item.revisions)} - {None, ""}
        if any(d.restricted for d in decisions) or (self.state and self.state.is_restricted(people)):
            reasons.append(RESTRICTED_REASON)
        return reasons

    def _decision(self, item: Item, revision: Revision) -> Decision:
        key = (item.key, revision.id)
        if key not in self._decisions:
            self._decisions[key] = self.decide(Facts.of_item(item, revision), revision.content)
        return self._decisions[key]

    # --- properties ---------------------------------------------------------------------
    def version_properties(self, item: Item, revision: Revision) -> dict:
        return self.properties(self._decision(item, revision))

    def tombstone_properties(self, tomb: Tombstone, when: datetime) -> dict:
        facts = Facts(key=tomb.key, source=tomb.source, system=tomb.system, kind="tombstone",
                      title=tomb.title, authors=tuple(a for a in (tomb.deleted_by,) if a), created=when)
        return self.properties(self.decide(facts, None))

    def properties(self, decision: Decision) -> dict:
        props: dict = {"sa:recordClass": decision.record_class, "sa:classRule": decision.rule,
                       "sa:retainUntil": decision.retain_until, "sa:sensitive": list(decision.sensitive)}
        if decision.holds:
            props["sa:holdIds"] = list(decision.holds)
        if decision.restricted:
            props["sa:restricted"] = True
        extra = []
        if self.rm_support.retention:
            extra.append(rm.RETENTION_TYPE)
            props[rm.EXPIRATION] = decision.retain_until
            props[rm.START] = decision.start
        if self.rm_support.hold and decision.holds:
            extra.append(rm.HOLD_TYPE)
            props[rm.HOLD_IDS] = list(decision.holds)
        if extra:
            props["cmis:secondaryObjectTypeIds"] = rm.with_secondary([self.secondary_type], *extra)
        return props


def audit_fields(spec, revision_id: str) -> dict:
    """The classification of one filed version, for its audit entry (empty without a classifier)."""
    version = next((v for v in getattr(spec, "versions", []) if v.revision_id == revision_id), None)
    props = version.properties if version else {}
    if "sa:recordClass" not in props:
        return {}
    fields = {"record_class": props["sa:recordClass"], "class_rule": props.get("sa:classRule"),
              "retain_until": props["sa:retainUntil"].isoformat() if props.get("sa:retainUntil") else None}
    if props.get("sa:sensitive"):
        fields["sensitive"] = list(props["sa:sensitive"])
    if props.get("sa:holdIds"):
        fields["holds"] = list(props["sa:holdIds"])
    if props.get("sa:restricted"):
        fields["restricted"] = True
    return fields


class LedgerState:
    """Holds and processing restrictions as recorded in the ledger, read once and again only when
    this ledger object placed, released or restored a hold or restricted a subject since (a library
    caller may restrict a person between two syncs of one open archive: the next version of theirs
    must be restricted). A restricted person is matched as ``subject find``/``restrict`` match them:
    case and accents ignored."""

    def __init__(self, ledger):
        self._ledger = ledger
        self._read_at = -1
        self._fresh()

    def _fresh(self) -> None:
        if self._read_at != self._ledger.compliance_changes:
            self._read_at = self._ledger.compliance_changes
            self._holds = holds.HoldBook(self._ledger)
            self._restricted = {fold(p) for p in self._ledger.restricted_subjects()}

    def holds_for(self, facts: Facts) -> list[str]:
        self._fresh()
        return self._holds.matters_for(facts)

    def is_restricted(self, people: Iterable[str]) -> bool:
        self._fresh()
        return bool(self._restricted) and any(p and fold(p) in self._restricted for p in people)


def build(config, repo, ledger, profile) -> Classifier:
    """The classifier a run uses: rules from ``[compliance] classification``, the rm probe, the ledger state."""
    conf = settings(config)
    rules = ClassRules.load(conf.classification_path)
    support = rm.probe(repo, conf.cmis_rm)
    if support.retention or support.hold:
        log.info("repository records management types in use: %s", support.describe())
    return Classifier(rules, support, profile.secondary_type, LedgerState(ledger) if ledger is not None else None)
