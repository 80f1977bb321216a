"""Legal holds: a matter puts every version of the matching records on hold, and keeps new
versions and newly filed matching records on hold until it is removed.

- In the repository: the matter's id goes into ``sa:holdIds`` of every version (an
  updateProperties per version: a metadata event, the content is untouched), and into
  ``cmis:rm_holdIds`` (secondary type ``cmis:rm_hold``) where the repository defines it, so the
  repository itself refuses deletion.
- In the ledger (``connector/store/compliance.py``): tables ``holds`` (matter, criteria, who and
  when placed/released, and why released) and ``hold_records`` (which records it was applied to).
  A removed hold stays in the table, released.
- In the audit log: ``hold-add`` (criteria, who), ``hold-apply`` per record, ``hold-applied``
  (counts), and ``hold-remove`` / ``hold-release`` / ``hold-released`` likewise; the release's
  reason (required: a hold is lifted for a stated cause, e.g. "case M-17 closed, counsel's mail of
  2025-03-01") is in ``hold-remove`` and ``hold-released``, so ``ledger rebuild`` restores it.
- New versions of held records, and new records that fall under a source/date hold, get the hold
  at filing time (the classifier asks ``HoldBook.matters_for``); a full-text hold covers the
  records found when it was placed (re-run ``hold add`` with the same criteria to extend it).

``hold add`` for a matter already active with the same criteria resumes (idempotent: only
versions lacking the id are updated); with other criteria it is refused. Criteria that select no
record are refused before the hold is recorded or audited (``EmptySelection``), unless
``allow_empty``: a source/date hold placed ahead of the records it is to catch.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..errors import ConnectorError, EmptySelection, HoldError
from ..http import retrying
from ..store import now
from ..mapping import Mapper
from . import rm
from .select import Criteria, Found, as_list, by_criteria, by_hold, load, versions
from .settings import operator

log = logging.getLogger(__name__)

@dataclass
class Hold:
    matter: str
    placed_at: str
    placed_by: str
    criteria: Criteria
    note: str = ""
    released_at: str | None = None
    released_by: str | None = None
    records: int = 0
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    def as_dict(self) -> dict:
        return {"matter": self.matter, "active": self.active, "placed_at": self.placed_at,
                "placed_by": self.placed_by, "criteria": self.criteria.as_dict(), "note": self.note,
                "released_at": self.released_at, "released_by": self.released_by,
                "release_reason": self.release_reason, "records": self.records}


@dataclass
class HoldReport:
    matter: str
    action: str
    records: int = 0
    versions_changed: int = 0
    versions_unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    reason: str = ""

    def line(self) -> str:
        return (f"hold {self.matter}: {self.action} on {self.records} records, {self.versions_changed} versions "
                f"updated, {self.versions_unchanged} already so" + (f", {len(self.problems)} problems" if self.problems else "")
                + (f"; reason: {self.reason}" if self.reason else ""))


class HoldBook:
    """The ledger's holds; ``matters_for`` answers the classifier for every version it files."""

    def __init__(self, ledger):
        self.ledger = ledger
        self._active = [h for h in self.all() if h.active]
        self._held: dict[str, set[str]] = {}
        for h in self._active:
            for key in self.keys(h):
                self._held.setdefault(key, set()).add(h.matter)

    def all(self) -> list[Hold]:
        return [Hold(m, p, by, Criteria.from_dict(c), n, ra, rb, count, why)
                for m, p, by, c, n, ra, rb, count, why in self.ledger.holds()]

    def active(self, matter: str) -> Hold | None:
        return next((h for h in self.all() if h.matter == matter and h.active), None)

    def latest(self, matter: str) -> Hold | None:
        found = [h for h in self.all() if h.matter == matter]
        return found[-1] if found else None

    def keys(self, hold: Hold) -> set[str]:
        return self.ledger.held_keys(hold.matter, hold.placed_at)

    def matters_for(self, facts) -> list[str]:
        matters = set(self._held.get(facts.key, ()))
        created = getattr(facts, "item_created", None) or facts.created
        for h in self._active:
            if h.criteria.covers(facts.source, created):
                matters.add(h.matter)
        return sorted(matters)


def add_hold(archive, matter: str, criteria: Criteria, *, note: str = "", user: str | None = None,
             allow_empty: bool = False) -> HoldReport:
    """Place (or resume placing) the hold ``matter`` on every version of the matching records;
    ``EmptySelection`` (nothing recorded, nothing audited) when none match, unless ``allow_empty``."""
    if not matter.strip() or len(matter) > 200:
        raise HoldError("a matter id is 1-200 characters")
    book = HoldBook(archive.ledger)
    user = user or operator()
    hold = book.active(matter)
    if hold and hold.criteria != criteria:
        raise HoldError(f"hold {matter} is already active with other criteria ({hold.criteria.describe()}); "
                        "remove it first or use another matter id")
    found = by_criteria(archive, criteria)
    if not found and not allow_empty:
        raise EmptySelection(f"hold add {matter}", criteria.describe())
    if hold is None:
        hold = Hold(matter, now(), user, criteria, note)
        archive.ledger.place_hold(matter, hold.placed_at, user, criteria.as_dict(), note)
        archive.audit.append("hold-add", matter=matter, criteria=criteria.as_dict(), note=note, user=user,
                             placed_at=hold.placed_at, run_id=archive.run_id)
    else:
        archive.audit.append("hold-add", matter=matter, criteria=criteria.as_dict(), user=user, resumed=True,
                             placed_at=hold.placed_at, run_id=archive.run_id)
    report = HoldReport(matter, "placed")
    support = _support(archive.mapper)
    for key, record in sorted(found.items()):
        changed, unchanged = _update_series(archive, record, lambda ids: _with(ids, matter), support, report)
        archive.ledger.hold_applied(matter, hold.placed_at, key, changed + unchanged)
        archive.audit.append("hold-apply", matter=matter, key=key, object_id=record.object_id,
                             versions=changed + unchanged, changed=changed, user=user, run_id=archive.run_id)
        report.records += 1
    archive.audit.append("hold-applied", matter=matter, records=report.records, versions_changed=report.versions_changed,
                         versions_unchanged=report.versions_unchanged, problems=len(report.problems), user=user,
                         run_id=archive.run_id)
    return report


def remove_hold(archive, matter: str, *, reason: str, user: str | None = None) -> HoldReport:
    """Release the hold for ``reason`` (required, audited): its id leaves every version that
    carries it; the hold stays in the ledger, released, with the reason."""
    reason = reason.strip()
    if not reason:
        raise HoldError("a hold is released for a reason: give --reason (e.g. the case closed, who decided)")
    book = HoldBook(archive.ledger)
    user = user or operator()
    hold = book.active(matter)
    if hold is None:
        raise HoldError(f"no active hold {matter!r} (see `socialarchive hold list`)")
    archive.audit.append("hold-remove", matter=matter, placed_at=hold.placed_at, reason=reason, user=user,
                         run_id=archive.run_id)
    records = held_records(archive, book, hold)
    report = HoldReport(matter, "released", reason=reason)
    support = _support(archive.mapper)
    for key, record in sorted(records.items()):
        changed, _ = _update_series(archive, record, lambda ids: [i for i in ids if i != matter], support, report)
        archive.audit.append("hold-release", matter=matter, key=key, object_id=record.object_id, changed=changed,
                             user=user, run_id=archive.run_id)
        report.records += 1
    released_at = None if report.problems else now()    # the same time in the ledger and the audit entry
    if released_at:
        archive.ledger.release_hold(matter, hold.placed_at, released_at, user, reason)
    archive.audit.append("hold-released" if released_at else "hold-release-incomplete", matter=matter,
                         released_at=released_at, reason=reason, records=report.records,
                         versions_changed=report.versions_changed,
                         problems=len(report.problems), user=user, run_id=archive.run_id)
    return report


def held_records(archive, book: HoldBook, hold: Hold) -> dict[str, Found]:
    """Every record carrying the hold: those it was applied to (ledger), those filed later under
    its criteria, and any other the repository finds by ``sa:holdIds`` (a query OpenCMIS InMemory
    answers only for values set by updateProperties, hence the first two)."""
    def carries(history: list[dict]) -> bool:
        return any(hold.matter in as_list(v.get("sa:holdIds")) for v in history)
    records = load(archive, book.keys(hold))
    if not hold.criteria.query:
        records.update({k: f for k, f in by_criteria(archive, hold.criteria).items() if carries(f.versions)})
    records.update(by_hold(archive, hold.matter))
    return records


def restore(ledger, trail: Iterable[dict], held: Mapping[str, Mapping[str, int]]) -> int:
    """Rebuild ``holds`` and ``hold_records`` after the ledger was lost; returns the active holds.

    ``held`` is what the repository says (matter -> record key -> versions carrying the matter's
    id in ``sa:holdIds``): every matter there is active again, on those records, so a held record
    stays held and its new versions get the hold. ``trail`` (the audit entries, from the segments
    filed in the repository) gives each hold its criteria, note, placer and time, and the holds
    released since. A matter the trail does not explain is restored with no criteria (it holds
    the records found, and extends to no new record) and says so in its note. A release's reason
    comes from its ``hold-remove`` entry (trails from before the reason was required have none)."""
    placed: dict[tuple[str, str], dict] = {}
    released: dict[tuple[str, str], dict] = {}
    removing: dict[str, dict] = {}
    for entry in trail:
        matter, event = entry.get("matter"), entry.get("event")
        if event == "hold-add" and entry.get("placed_at"):
            placed.setdefault((matter, entry["placed_at"]), entry)
        elif event == "hold-remove":
            removing[matter] = entry
        elif event == "hold-released" and matter in removing:
            remove = removing.pop(matter)
            released[(matter, remove.get("placed_at", ""))] = {**entry, "reason": remove.get("reason")}
    for (matter, placed_at), entry in placed.items():
        done = released.get((matter, placed_at)) or {}
        ledger.restore_hold(matter, placed_at, entry.get("user", ""), entry.get("criteria") or {}, entry.get("note", ""),
                            done.get("released_at") or done.get("time"), done.get("user"), done.get("reason"))
    book = HoldBook(ledger)
    for matter, keys in sorted(held.items()):
        hold = book.active(matter)
        if hold is None:
            log.warning("hold %s: carried by %d records in the repository, not explained by the audit trail: "
                        "restored without criteria", matter, len(keys))
            hold = Hold(matter, now(), "ledger rebuild", Criteria(),
                        "restored by ledger rebuild from sa:holdIds; criteria unknown")
            ledger.place_hold(matter, hold.placed_at, hold.placed_by, {}, hold.note)
        ledger.restore_held_records(matter, hold.placed_at, keys)
    return len(held)


def list_holds(archive) -> list[Hold]:
    return HoldBook(archive.ledger).all()


def _with(ids: list[str], matter: str) -> list[str]:
    return ids if matter in ids else [*ids, matter]


def _support(mapper: Mapper) -> rm.RmSupport:
    classifier = getattr(mapper, "classifier", None)
    return classifier.rm_support if classifier is not None else rm.RmSupport()


def _update_series(archive, record: Found, change, support: rm.RmSupport, report: HoldReport) -> tuple[int, int]:
    """Apply ``change`` (old hold ids → new) to every version of a record, and read the result
    back; (changed, unchanged).

    OpenCMIS InMemory keeps the properties a document was created with on its version series and
    shows them again when a version's own value is cleared; so where a clear does not read back
    empty, the series object is cleared too and the version again (on a repository without that
    layering the series id addresses the latest version, which is then set right by the same loop).
    """
    changed = unchanged = 0
    wanted = {}
    for props in record.versions:
        current = as_list(props.get("sa:holdIds"))
        wanted[props["cmis:objectId"]] = change(current)
        if wanted[props["cmis:objectId"]] == current:
            unchanged += 1
        elif _set_holds(archive, record.key, props, wanted[props["cmis:objectId"]], support, report):
            changed += 1
    if changed:
        stale = _stale(archive, record, wanted)
        if any(not wanted[p["cmis:objectId"]] for p in stale) and stale[0].get("cmis:versionSeriesId"):
            _set_holds(archive, record.key, {**stale[0], "cmis:objectId": stale[0]["cmis:versionSeriesId"]}, [],
                       support, report)
            for props in _stale(archive, record, wanted):
                _set_holds(archive, record.key, props, wanted[props["cmis:objectId"]], support, report)
            stale = _stale(archive, record, wanted)
        report.problems += [f"{record.key} version {p.get('cmis:versionLabel')}: sa:holdIds reads back as "
                            f"{as_list(p.get('sa:holdIds'))}, expected {wanted[p['cmis:objectId']]}" for p in stale]
    report.versions_changed += changed
    report.versions_unchanged += unchanged
    return changed, unchanged


def _stale(archive, record: Found, wanted: dict[str, list[str]]) -> list[dict]:
    """Versions whose sa:holdIds, read back, differ from what was written."""
    return [p for p in versions(archive, record.object_id)
            if p["cmis:objectId"] in wanted and as_list(p.get("sa:holdIds")) != wanted[p["cmis:objectId"]]]


def _set_holds(archive, key: str, props: dict, holds: list[str], support: rm.RmSupport, report: HoldReport) -> bool:
    update: dict = {"cmis:secondaryObjectTypeIds": rm.with_secondary(props.get("cmis:secondaryObjectTypeIds"),
                                                                    archive.filer.profile.secondary_type),
                    "sa:holdIds": holds}
    if support.hold:
        update["cmis:secondaryObjectTypeIds"] = rm.with_secondary(update["cmis:secondaryObjectTypeIds"], rm.HOLD_TYPE)
        update[rm.HOLD_IDS] = holds
    try:
        retrying(lambda: archive.repo.update_properties(props["cmis:objectId"], update), attempts=3)
        return True
    except ConnectorError as exc:
        report.problems.append(f"{key} version {props.get('cmis:versionLabel')} ({props['cmis:objectId']}): {exc}")
        log.error("hold %s: could not update %s version %s: %s", report.matter, key, props.get("cmis:versionLabel"), exc)
        return False
