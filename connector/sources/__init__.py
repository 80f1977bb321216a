"""Sources: one package per system (``mediawiki/``, ``wordpress/``, ``misago/``, ``discourse/``),
listed in ``registry``. Each yields ``model`` objects and knows nothing of CMIS. Inside a package,
``source`` is what the source reads (the contract's members), ``items`` how API objects become
items, ``visibility`` and ``sweep`` the visibility and change sweeps, ``api`` its HTTP client
(requests, paging, login, error classes) where it has one. ``kit`` holds the shared plumbing:
the checkpoint window, tombstones and the deletion guard, the forum shape.

Every source class is a ``base.Source`` (dlt-style: a generator plus explicit state)::

    source = MediaWikiSource(name="wiki", api_url=..., username=..., password=...)
    state = ledger.source_state("wiki")          # a JSON-able dict, {} on the first run
    for obj in source.changes(state):             # Item or Tombstone, in an order safe to file
        ...file it...
    ledger.save_source_state("wiki", state)      # only after every object was filed

- ``changes(state)`` is the incremental run. With an empty state it is a full crawl. The source
  updates ``state`` in place *only at the very end* of the generator (the new checkpoint is the
  server clock taken at the start of the run, minus an overlap), so a run that dies half-way
  leaves the old checkpoint and the next run repeats the window: filing is idempotent.
- ``backfill(since, until)`` yields exactly the items created or changed in the range.
- ``check()`` probes the source and returns facts to print (version, rights, counts).
- ``request_count`` counts HTTP requests made, for the run summary.
- ``skipped`` (where a source can skip records) lists those the last run could not read
  (``model.Skipped``: key and reason); the pipeline quarantines them when the run ends.
- An item may carry only its newest revisions (incremental); the pipeline files those not yet
  archived, in order.
- ``sweep(archived)`` (the visibility sweep; every source has one) re-derives who may read the
  records the archive holds, from cheap listings, because visibility changes without an edit (a
  topic moved into a restricted category, a thread hidden, a namespace restricted in config, a
  wiki turned private). ``archived`` maps each live record key of this source to the visibility
  the archive last saw in the source; the sweep yields ``model.Access(key, visibility)`` for the
  records whose visibility it can derive now. It must yield a narrower visibility whenever the
  source narrowed; it yields a wider one only when it knows every fact that restricted the record
  (otherwise it yields nothing for that key, and the stored visibility stands). Its requests count
  in ``request_count``; it never reads content. The pipeline runs it after ``changes`` on every
  sync.
- ``sweep_units(keys)`` and ``recheck(units, changed)`` (the rolling change sweep,
  ``connector/sweep.py``): the units the source re-checks its archived records by, and per unit a
  ``model.Recheck`` with the records' cheap change markers and the items of those that changed.
  Units the run read anyway come first and cost nothing.
- ``Tombstone.readers``: the source principals who can still see deleted content in the source;
  the deleted record's ACL narrows to them (mapped), the archive admins and restricted readers.

Native ids (the last part of a record key ``source/kind/native id``; filed keys never change, so
neither do these): MediaWiki ``"42"`` for a page (its page id) and ``"file:42"`` for its file;
WordPress ``"post:12"``, ``"page:3"`` (the post type's kind), ``"media:5"``, ``"comment:7"``;
Misago ``"thread:3"``, ``"post:9"``, ``"attachment:4"``; Discourse ``"thread:100"``,
``"post:1003"``, ``"attachment:<sha1>"``. MediaWiki's bare page id is the odd one out; making it
``"page:42"`` would give every page filed so far a new key, so it stays.
"""
from __future__ import annotations

from .base import Estimate, Source
from .options import check, constructor_kwargs, source_class

__all__ = ["Estimate", "Source", "SWEEP_OPTIONS", "build"]


# options of a source table that configure the change sweep (connector.sweep), not the source
SWEEP_OPTIONS = ("sweep_period_days", "sync_every_minutes", "sweep_max_requests")


def build(name: str, system: str, options: dict) -> Source:
    """A source instance from its config table (``[sources.NAME]``), secrets already resolved.

    The table is checked first (``options.check``: keys and types from the constructor, so a
    typo is one line naming the key); ``overlap_minutes`` and ``rescan_window_days`` become
    timedeltas, lists become tuples, the sweep's keys stay with ``connector.sweep``.
    """
    check(name, system, options)
    return source_class(name, system)(name, **constructor_kwargs(options))
