"""The rolling change sweep: every archived item is re-checked for changes no feed reports, at
least once per ``sweep_period``, within a per-run request budget.

Feeds miss some changes: an edit of an old post in a Discourse topic bumps nothing, Misago edits
in threads quiet for longer than ``rescan_window`` are in no listing, WordPress comments have no
modified date. So every ``sync``, after the visibility sweep, this pass re-reads a slice of the
archive's cheap change markers and files what changed::

    sweep = ChangeSweep(ledger, source, Settings.of(options))
    sweep.run(live_keys, file=lambda objects: pipeline.consume(objects))

- **Units.** The source groups its archived records into units it checks together (a Discourse
  topic page, a Misago thread's post listing, 100 WordPress comments, 50 MediaWiki pages):
  ``source.sweep_units(keys)``; ``source.recheck(units, changed, may_spend)`` yields one ``model.Recheck`` per
  unit: the markers of the records it covers (post version and ``updated_at``, revision ids,
  content digests) and the items of those whose marker ``changed`` says is new.
- **Changed?** A record with a stored marker changed when its marker differs. Without one (filed
  before the sweep knew it) the source's own test decides from the revisions the ledger has
  (``archived(filed revision ids)``), so an edit made between filing and the first check is not
  taken for the baseline.
- **Cursor.** Units are checked least recently checked first (never checked first, then by key);
  a unit's check time and its records' markers are committed only after what it found was filed.
  A killed run resumes with the units it had not committed: nothing it covered is read again,
  and what it filed before the kill is found by key (nothing twice).
- **Budget.** A pass costs ``units x requests per unit`` (measured by earlier sweeps, else the
  source's ``SWEEP_REQUESTS_PER_UNIT``); a run earns the share of a pass that the time since the
  last sweep is of the period (at least one ``sync_every``, default 15 minutes, at most a whole
  pass), capped by ``sweep_max_requests``; what it does not spend carries over (``sweeps.credit``),
  so 1,000 topics cost about 1.6 requests a run and 4 topics one request every 150 runs. The
  source asks ``may_spend()`` before each request-costing unit (one whole request must be left);
  units the run read anyway (``changes``) come first and cost nothing. Reading what changed is
  filing, like ``changes``: it is counted apart (``rereads``), outside the budget, because it
  follows the number of edits, not the size of the archive.
- **Options** (per source, in ``[sources.NAME]``): ``sweep_period_days`` (7), ``sync_every_minutes``
  (15: how often sync runs; cron decides, so say it), ``sweep_max_requests`` (none).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from .errors import ConfigError
from .store import Ledger
from .model import Item, Tombstone
from .sources import SWEEP_OPTIONS, Source, build

log = logging.getLogger(__name__)

OPTIONS = SWEEP_OPTIONS   # kept apart by sources.build: the source never sees them
DEFAULT_PERIOD = timedelta(days=7)
DEFAULT_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class Settings:
    """How fast the sweep must go round: ``period`` for a whole pass, ``every`` between syncs."""

    period: timedelta = DEFAULT_PERIOD
    every: timedelta = DEFAULT_EVERY
    every_configured: bool = False
    max_requests: int | None = None

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> "Settings":
        """From a source's config table (the keys in ``OPTIONS``; the source never sees them)."""
        try:
            period = timedelta(days=float(options.get("sweep_period_days", 7)))
            every = timedelta(minutes=float(options.get("sync_every_minutes", 15)))
            cap = options.get("sweep_max_requests")
            cap = None if cap is None else int(cap)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"sweep options: {exc}") from None
        if period <= timedelta(0) or every <= timedelta(0) or (cap is not None and cap < 1):
            raise ConfigError("sweep_period_days and sync_every_minutes must be > 0, sweep_max_requests >= 1")
        return cls(period, every, "sync_every_minutes" in options, cap)

    @property
    def runs_per_period(self) -> float:
        return self.period / self.every


def requests_per_unit(source: Source, totals: Mapping[str, int] | None) -> float:
    """Measured by earlier sweeps (units that cost requests only), else the source's own model."""
    if totals and totals.get("paid_units"):
        return totals["requests"] / totals["paid_units"]
    return float(source.SWEEP_REQUESTS_PER_UNIT)


def share(units: int, per_unit: float, settings: Settings, elapsed: timedelta | None = None) -> float:
    """Requests one run earns: the share of a pass that the time since the last sweep (at least
    one ``sync_every``, at most the period) is of the period, capped by ``sweep_max_requests``.
    What a run does not spend carries over (a unit is checked once a whole request is earned).

    >>> round(share(1000, 1.1, Settings()), 2)            # 1,000 topics, 672 runs a week
    1.64
    >>> round(share(100_000, 1.1, Settings()), 1)
    163.7
    >>> share(100_000, 1.1, Settings(max_requests=50))
    50
    """
    fraction = min(1.0, max(settings.every, elapsed or timedelta(0)) / settings.period)
    need = units * per_unit * fraction
    return min(need, settings.max_requests) if settings.max_requests else need


def achieved_period(units: int, per_unit: float, settings: Settings, per_run: int) -> timedelta:
    """The period a per-run budget of ``per_run`` requests achieves (runs every ``settings.every``).

    >>> achieved_period(100_000, 1.0, Settings(), 100)
    datetime.timedelta(days=10, seconds=36000)
    """
    runs = math.ceil(units * per_unit / max(1, per_run))
    return settings.every * runs


@dataclass
class Outcome:
    units: int = 0          # units checked (committed)
    paid_units: int = 0     # of which cost requests
    requests: int = 0       # spent on checks (what the budget pays for)
    rereads: int = 0        # spent reading what changed (filed like any change, outside the budget)
    budget: float = 0.0     # requests this run could spend: its share plus what earlier runs left


class ChangeSweep:
    """One run's slice of the sweep of one source (see the module docstring)."""

    def __init__(self, ledger: Ledger, source: Source, settings: Settings, *, dry_run: bool = False):
        self.ledger, self.source, self.settings, self.dry_run = ledger, source, settings, dry_run

    def run(self, live: Iterable[str], file: Callable[[Iterable[Item | Tombstone]], bool],
            failed: Callable[[str], bool] = lambda key: False) -> Outcome:
        """Check units until this run's budget is spent. ``file`` files the objects and says
        whether the run may go on; ``failed`` names records this run could not file (their
        markers are not stored, so the next check finds them changed again)."""
        units = self.source.sweep_units(live)
        if not units:
            return Outcome()
        checked = self.ledger.sweep_units_checked(self.source.name)
        totals = self.ledger.sweep_totals(self.source.name)
        per_unit = requests_per_unit(self.source, totals)
        elapsed, credit = None, 0.0
        if totals:
            elapsed = datetime.now(timezone.utc) - datetime.fromisoformat(totals["last_run"])
            credit = totals["credit"]
        outcome = Outcome(budget=min(credit, len(units) * per_unit) + share(len(units), per_unit, self.settings, elapsed))
        order = sorted(units, key=lambda unit: (checked.get(unit, ""), unit))
        start = last = self.source.request_count
        results = self.source.recheck(order, self._changed, lambda: outcome.budget - outcome.requests >= 1)
        try:
            for found in results:
                cost = self.source.request_count - last   # the unit's check, made before it was yielded
                outcome.requests += cost
                outcome.paid_units += cost > 0
                if found.objects and not file(found.objects):
                    break
                if not self.dry_run:
                    self.ledger.sweep_checked(self.source.name, found.unit,
                                              {key: mark for key, mark in found.marks.items() if not failed(key)})
                outcome.units += 1
                last = self.source.request_count   # reading what changed is filing, not checking
        finally:
            results.close()
            outcome.rereads = self.source.request_count - start - outcome.requests
            if not self.dry_run:
                self.ledger.sweep_ran(self.source.name, outcome.units, outcome.paid_units, outcome.requests,
                                      credit=outcome.budget - outcome.requests)
        log.info("%s: change sweep checked %d of %d units with %d requests (budget %.2f)", self.source.name,
                 outcome.units, len(units), outcome.requests, outcome.budget)
        return outcome

    def _changed(self, key: str, marker: str, archived: Callable[[set[str]], bool]) -> bool:
        stored = self.ledger.sweep_mark(key)
        if stored is not None:
            return stored != marker
        return not archived(set(self.ledger.filed_revisions(key)))


def figures(ledger: Ledger, source: Source, settings: Settings, units: int | None = None) -> dict:
    """What ``status`` and ``plan`` say of a source's sweep: coverage (records re-checked within
    the period, the oldest check), and the per-run budget the period needs. ``units`` overrides
    the archived count (``plan`` before anything is archived)."""
    live = [key for key, _, _, _, deleted in ledger.access_rows(source.name) if not deleted]
    count = len(source.sweep_units(live)) if units is None else units
    totals = ledger.sweep_totals(source.name)
    per_unit = requests_per_unit(source, totals)
    now = datetime.now(timezone.utc)
    fresh, total, oldest = ledger.sweep_coverage(source.name, (now - settings.period).isoformat())
    per_run = count * per_unit / settings.runs_per_period
    found = {"units": count, "requests_per_unit": round(per_unit, 2),
             "requests_per_unit_measured": bool(totals and totals["paid_units"]),
             "requests_per_pass": math.ceil(count * per_unit), "requests_per_run": round(per_run, 2),
             "period_days": round(settings.period / timedelta(days=1), 3),
             "sync_every_minutes": round(settings.every / timedelta(minutes=1), 2),
             "sync_every_assumed": not settings.every_configured, "max_requests": settings.max_requests,
             "achieved_period_days": None, "records": total, "checked_within_period": fresh,
             "coverage": round(fresh / total, 4) if total else None, "oldest_check": oldest,
             "oldest_check_age_hours": None if oldest is None else
             round((now - datetime.fromisoformat(oldest)) / timedelta(hours=1), 1)}
    if settings.max_requests and settings.max_requests < per_run:
        found["achieved_period_days"] = round(
            achieved_period(count, per_unit, settings, settings.max_requests) / timedelta(days=1), 2)
    return found


def format_figures(found: dict) -> list[str]:
    """Two lines for ``status``/``plan``."""
    every = (f"a sync every {found['sync_every_minutes']:g} min"
             + (" (assumed: set sync_every_minutes)" if found["sync_every_assumed"] else ""))
    budget_line = (f"change sweep: {found['units']} units, ~{found['requests_per_unit']} requests each"
                   f" ({'measured' if found['requests_per_unit_measured'] else 'model'}): "
                   f"{found['requests_per_pass']} per pass, {found['requests_per_run']} per run for a "
                   f"{found['period_days']:g}-day period with {every}")
    if found["achieved_period_days"]:
        budget_line += (f"; capped at {found['max_requests']} a run, a pass takes "
                        f"{found['achieved_period_days']:g} days")
    coverage = ("no archived records" if found["coverage"] is None else
                f"{found['coverage']:.1%} of {found['records']} records re-checked within the period; "
                f"oldest check {found['oldest_check_age_hours']:g} h ago")
    return [budget_line, "change sweep coverage: " + coverage]


def for_source(ledger: Ledger, name: str, system: str, options: Mapping[str, Any],
               units: int | None = None) -> dict:
    """``figures`` of a configured source (built without a request)."""
    source = build(name, system, dict(options))
    return figures(ledger, source, Settings.of(options), units)
