"""Folding text for matching as a person expects: ``fold("München") == fold("MUNCHEN") == "munchen"``.

CMIS QL has no ``lower()``, and OpenCMIS InMemory's ``=``, ``LIKE`` and ``CONTAINS`` compare
exactly (measured on the real server: ``CONTAINS('quokka')`` misses ``QUOKKA``, ``münchen`` misses
``München``). So the filer stores a folded copy of each searchable property with every version
(``schema.FOLDED``), and the commands fold what a person types the same way before they query.

Folding is Unicode case folding (``ß`` -> ``ss``) and compatibility decomposition (NFKD, so
``ﬁ`` -> ``fi`` and ``²`` -> ``2``) with the combining marks (accents) dropped. Content is never
folded (it is archived byte-exact): a word is looked for in the content in the spellings a text is
written in (``content_variants``).

Example::

    >>> fold("Ärger in MÜNCHEN")
    'arger in munchen'
    >>> content_variants("münchen")
    ['münchen', 'München', 'MÜNCHEN', 'munchen', 'Munchen', 'MUNCHEN']
"""
from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case- and accent-free form of ``text``, for equality and substring matching. ASCII text
    (most titles, names and rule values) has nothing to decompose: its lower case is its fold."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKD", bare.casefold())


def strip_accents(text: str) -> str:
    """``text`` without combining marks, its case kept (``"Müller"`` -> ``"Muller"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def content_variants(word: str) -> list[str]:
    """The spellings of ``word`` a case-sensitive full-text match must try: as typed, lower case,
    capitalised and upper case, each also without accents. A repository whose full-text index
    folds by itself (Alfresco, Nuxeo) finds the same records with any of them."""
    out: list[str] = []
    for base in (word, strip_accents(word)):
        for form in (base, base.lower(), base[:1].upper() + base[1:].lower(), base.upper()):
            if form not in out:
                out.append(form)
    return out
