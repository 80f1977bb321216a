"""Discourse through its JSON API (``Api-Key``): ``source`` (topics, posts, revisions, uploads and
the change sweep per topic), ``records`` (the allow-listed fields of each record)."""
from .source import DiscourseSource

__all__ = ["DiscourseSource"]
