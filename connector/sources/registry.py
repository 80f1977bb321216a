"""Every source system, one line each: the ``type`` of a ``[sources.NAME]`` table -> its class.

A new system is its own package under ``connector/sources/`` plus one import and one entry
here; the config's option check (``options``), ``build`` and the CLI read this table only.
"""
from __future__ import annotations

from .base import Source
from .confluence import ConfluenceSource
from .discourse import DiscourseSource
from .mediawiki import MediaWikiSource
from .misago import MisagoSource
from .wordpress import WordPressSource

SOURCES: dict[str, type[Source]] = {
    "mediawiki": MediaWikiSource,
    "wordpress": WordPressSource,
    "misago": MisagoSource,
    "discourse": DiscourseSource,
    "confluence": ConfluenceSource,
}
