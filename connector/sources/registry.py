"""Every source system, one line each: the ``type`` of a ``[sources.NAME]`` table -> its class.

A plugin registry: each entry names the class by its module path, and a package is imported the
first time its class is asked for, i.e. only when a configured source names that system (a run of
one wiki does not pay for the three forum packages: ~0.3 s of CPU at start). It is not a lazy
import dodging a cycle (the sources import nothing that reads this table). A new system is its own
package under ``connector/sources/`` plus one entry here; the config's option check
(``options``), ``build`` and the CLI read this table only::

    SOURCES["mediawiki"]      # -> MediaWikiSource (imports connector.sources.mediawiki)
    list(SOURCES)             # -> the system names, nothing imported
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from .base import Source

PATHS: dict[str, str] = {
    "mediawiki": "connector.sources.mediawiki:MediaWikiSource",
    "wordpress": "connector.sources.wordpress:WordPressSource",
    "misago": "connector.sources.misago:MisagoSource",
    "discourse": "connector.sources.discourse:DiscourseSource",
    "confluence": "connector.sources.confluence:ConfluenceSource",
}


class Registry(Mapping[str, type[Source]]):
    """System name -> source class, the class's package imported on first look-up."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = paths

    def __getitem__(self, system: str) -> type[Source]:
        module, _, name = self._paths[system].partition(":")
        return getattr(importlib.import_module(module), name)

    def __contains__(self, system: object) -> bool:
        return system in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


SOURCES: Mapping[str, type[Source]] = Registry(PATHS)
