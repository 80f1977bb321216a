"""Misago 0.39 through its JSON API (Django session and CSRF): ``source`` (threads, posts, edits
and attachments), ``sweep`` (the change sweep, one unit per thread)."""
from .source import MisagoSource

__all__ = ["MisagoSource"]
