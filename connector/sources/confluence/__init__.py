"""Confluence (Data Center and Cloud) through REST API v1: ``source`` (spaces, CQL, the contract),
``items`` (content into items), ``visibility`` (permissions, restrictions, the sweep), ``api``
(auth bound to the site's origin, both pagings)."""
from .source import ConfluenceSource

__all__ = ["ConfluenceSource"]
