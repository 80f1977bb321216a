"""MediaWiki 1.39 through the Action API: ``source`` (what a run reads and how pages, revisions
and files become items), ``api`` (requests, continuation, login, error classes), ``sweep`` (the
change sweep's units of 50 page ids)."""
from .api import format_ts, parse_ts
from .source import MediaWikiSource

__all__ = ["MediaWikiSource", "format_ts", "parse_ts"]
