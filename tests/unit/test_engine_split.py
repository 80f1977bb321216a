"""The engine split (issue #18): ``connector/archive.py`` wires a run's parts and takes the lock,
``connector/pipeline.py`` runs. Each test searches for the counter-example that would undo it:
behaviour growing back into ``Archive``, or ``Pipeline`` handing out the archive's members again
(a service locator)."""
from __future__ import annotations

import dataclasses
import inspect
from types import SimpleNamespace

from connector.archive import Archive
from connector.pipeline import Pipeline

COLLABORATORS = {"config", "repo", "filer", "ledger", "audit", "mapper", "run_id", "dry_run", "workers"}


def test_the_archive_is_its_collaborators_and_their_life_cycle_only():
    assert {f.name for f in dataclasses.fields(Archive) if not f.name.startswith("_")} == COLLABORATORS
    own = {name for name, value in vars(Archive).items()
           if inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod, property))}
    assert own - {"__init__", "__repr__", "__eq__"} == {"open", "close", "__enter__", "__exit__"}


def test_the_pipeline_forwards_none_of_the_archives_members():
    archive = SimpleNamespace(repo=None, filer=None, ledger=None, audit=None, mapper=None, run_id="r",
                              dry_run=True)
    pipeline = Pipeline(archive)
    assert pipeline.archive is archive
    assert not (set(vars(pipeline)) | set(dir(Pipeline))) & COLLABORATORS
