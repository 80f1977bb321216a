"""WordPress 6.1 through its REST API: ``source`` (what a run reads and how posts, media and
comments become items), ``api`` (requests, keyset paging, error classes), ``sweep`` (the change
sweep's units of 100 comment ids)."""
from .source import WordPressSource

__all__ = ["WordPressSource"]
