"""CMIS object names that every repository we target accepts, unique per record.

Rules (the strictest of OpenCMIS, Alfresco, Nuxeo and Windows-backed stores):

>>> safe_name('a/b\\\\c:d*e?f"g<h>i|j')
'a_b_c_d_e_f_g_h_i_j'
>>> safe_name('  .hidden. ')
'hidden'
>>> unique_name("Release notes", "42")
'Release notes [42]'
>>> len(unique_name("x" * 300, "1"))
200

- forbidden characters ``/ \\ : * ? " < > |`` and control characters become ``_``;
- no leading dot (Alfresco hides such names) and no trailing dot or space;
- Unicode (emoji, RTL text) is kept, but bidi override/embedding controls are dropped so a
  name cannot display reversed;
- at most 200 characters, cut on a character boundary, and the native id is always kept so
  two items with the same title never collide.

The original title is kept in a property; the name is only for people browsing folders.

Property values are not names: they keep what the source said, except the characters no
repository can store in a string property (``storable_text``: those XML 1.0 forbids, i.e. C0
controls other than TAB/LF/CR, lone surrogates, U+FFFE, U+FFFF), which become U+FFFD. The filer
notes every value it changed this way, losslessly, in ``sa:extra`` (see ``filer.storable``).

>>> storable_text("a\\x00b\\ud800c\\tok") == "a\\ufffdb\\ufffdc\\tok"
True
"""
from __future__ import annotations

import re
import unicodedata

MAX_NAME = 200
_FORBIDDEN = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]')
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")   # unicodedata category Cs: lone surrogates
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


def safe_name(text: str, fallback: str = "untitled") -> str:
    """Make ``text`` a valid name segment (may be empty-safe: falls back)."""
    text = unicodedata.normalize("NFC", text).translate(_BIDI_CONTROLS)
    text = _SURROGATE.sub("_", text)   # one regex pass, not a Python call per character
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text.lstrip(".").strip()
    return text or fallback


def unique_name(title: str, native_id: str, suffix: str = "") -> str:
    """``Title [native id]suffix``, cut so that the whole stays within MAX_NAME characters."""
    tail = f" [{safe_name(native_id, 'id')}]{suffix}"
    room = max(MAX_NAME - len(tail), 1)
    head = safe_name(title)[:room].rstrip(" .") or "untitled"
    return (head + tail)[:MAX_NAME]


def folder_segment(text: str) -> str:
    """A folder name from a template value (space, year, source)."""
    return safe_name(text, "_")[:MAX_NAME]


def storable_text(text: str) -> str:
    """``text`` with every character a CMIS string property cannot hold replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)
