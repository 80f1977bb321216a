"""Sensitive-data detectors: e-mail addresses, phone numbers, IBANs (mod-97 checked), payment card
numbers (Luhn and issuer prefix checked) and configurable regular expressions.

Only textual content is scanned (markup: ``text/*``, JSON, XML), and only its first
``max_bytes`` (default 5 MB), read from the content's chunk iterator, so a large file is never
read whole. What matched is reported by detector name (never the matched value), and lands on the
version as ``sa:sensitive``.

Example::

    scanner = Scanner()
    scanner.scan_text("pay to DE89 3704 0044 0532 0130 00, mail bob@example.org")
    # -> ("email", "iban")

Edge cases:
- an IBAN must have its country's length and pass ISO 13616 mod 97; a typo'd IBAN is not flagged;
- a card number must have 13-19 digits, a known issuer prefix and a valid Luhn digit; digit runs
  that continue past the candidate (order numbers, hashes) are not flagged;
- phone numbers need an international (+, 00) or trunk (0) prefix and 7-15 digits; dates are not
  phone numbers. It is a heuristic: it flags, it never decides alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from ..errors import ConfigError
from ..model import Content

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
BUILTIN = ("email", "phone", "iban", "card")
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/ld+json",
              "application/x-ndjson", "application/jsonl")

# ISO 13616 lengths (SWIFT IBAN registry)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])")
# Each number pattern begins with the characters a match must start with (the "not after" test is a
# lookbehind placed after that first character), so the regex engine skips every other position in
# C instead of trying a match at each one: that keeps digit-dense text (hashes, logs) cheap.
_IBAN_START = re.compile(r"([A-Z](?<![A-Za-z0-9][A-Z])[A-Z])(\d{2})")


def _ascii_twin(pattern: str) -> tuple[re.Pattern, re.Pattern]:
    """``pattern`` for any text, and with ASCII ``[0-9]`` for ``\\d`` for ASCII text (indexed by
    ``text.isascii()``): twice as fast, ``\\d`` has to look up every character's Unicode category."""
    return re.compile(pattern), re.compile(pattern.replace(r"\d", "[0-9]"))


# a maximal run of 13 or more digits, single spaces or hyphens between: it starts where such a run
# starts (the lookbehinds: a later start is a suffix of a run already too short), and the
# possessive repeat takes all of it without keeping a backtracking point per digit
_CARD_RUN = _ascii_twin(r"\d(?<!\d\d)(?<!\d[ -]\d)(?:[ -]?+\d){12,}+")
_PHONE = re.compile(r"(?:\+(?<![\w+/.-]\+)[1-9]\d{0,2}[ ./-]?(?:\(0\)[ ]?)?"   # +49 (0)30 ...
                    r"|0(?<![\w+/.-]0)0[1-9]\d{0,2}[ ./-]?(?:\(0\)[ ]?)?"       # 0049 30 ...
                    r"|\((?<![\w+/.-]\()0\d{1,5}\)?[ ./-]?"                     # (030) ...
                    r"|0(?<![\w+/.-]0)\d{1,5}\)?[ ./-]?)"                         # 030/...
                    r"\d[\d ./-]{4,16}\d(?![\w-])")
_IBAN_SHAPE = re.compile(r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?: ?[A-Z0-9]{1,4}){2,8}(?![A-Za-z0-9])")
# possessive: nothing to give back, the run is maximal either way
_SEVEN_DIGITS = re.compile(r"\d(?:[ ./()-]?+\d){6,}+")
_DOUBLED = str.maketrans("0123456789", "0246813579")   # Luhn: 2d, minus 9 above 9
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


def iban_valid(candidate: str) -> bool:
    """ISO 13616: country length and mod 97 == 1.

    >>> iban_valid("DE89370400440532013000"), iban_valid("DE89370400440532013001")
    (True, False)
    """
    iban = candidate.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def luhn_valid(number: str) -> bool:
    """Luhn checksum of a digit string.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not number.isascii():       # other scripts' digits: as ASCII (leading zeros change no sum)
        number = str(int(number))
    digits = number[-2::-2].translate(_DOUBLED) + number[-1::-2]
    return (sum(digits.encode()) - ord("0") * len(digits)) % 10 == 0   # bytes sum in C


def _card_issuer(number: str) -> bool:
    n, p6 = len(number), int(number[:6])
    p2, p3, p4 = p6 // 10_000, p6 // 1000, p6 // 100
    return ((number[0] == "4" and n in (13, 16, 19))                          # Visa
            or (51 <= p2 <= 55 and n == 16) or (222100 <= p6 <= 272099 and n == 16)  # Mastercard
            or (p2 in (34, 37) and n == 15)                                  # American Express
            or ((p4 == 6011 or 644 <= p3 <= 649 or p2 == 65) and 16 <= n <= 19)  # Discover
            or (3528 <= p4 <= 3589 and 16 <= n <= 19)                        # JCB
            or ((300 <= p3 <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19)  # Diners
            or (p2 == 62 and 16 <= n <= 19)                                  # UnionPay
            or ((p2 == 50 or 56 <= p2 <= 69) and 12 < n <= 19))               # Maestro


def find_ibans(text: str) -> Iterable[tuple[str, int, int]]:
    """IBANs written compact or in groups of four separated by single spaces, checksum-valid:
    (IBAN, start, end) in ``text``."""
    for match in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1))
        if not length:
            continue
        chars, pos = [match.group(1), match.group(2)], match.end()
        count = 4
        while count < length and pos < len(text):
            ch = text[pos]
            if ch == " " and pos + 1 < len(text) and text[pos + 1].isalnum() and text[pos - 1] != " ":
                pos += 1
                continue
            if not (ch.isascii() and ch.isalnum()):
                break
            chars.append(ch.upper())
            count += 1
            pos += 1
        if count != length or (pos < len(text) and text[pos].isascii() and text[pos].isalnum()):
            continue
        candidate = "".join(chars)
        if iban_valid(candidate):
            yield candidate, match.start(), pos


def find_cards(text: str, runs: Iterable[tuple[int, int]]) -> Iterable[tuple[str, int, int]]:
    """Card numbers (13-19 digits, single spaces or hyphens between) in ``text``, looked for only
    inside ``runs`` (spans of ``text``): (number, start, end).

    A card number's digits, joined by single spaces or hyphens, are a run of seven or more digits
    with single separators (``numeric_regions``), one of 13 characters or more, and never reach
    past it (the run is maximal over more separators); so the runs ``numeric_regions`` found are
    the only places to look, and on digit-dense text (hashes, ids) they are rarely that long.

    >>> list(find_cards("ref 12345678, card 4111 1111 1111 1111.", [(19, 38)]))
    [('4111111111111111', 19, 38)]
    """
    card_run = _CARD_RUN[text.isascii()]
    for start, end in runs:
        for match in card_run.finditer(text, start, end):
            number = match.group(0).replace(" ", "").replace("-", "")
            if 13 <= len(number) <= 19 and _card_issuer(number) and luhn_valid(number):
                yield number, match.start(), match.end()


def find_phones(text: str) -> Iterable[str]:
    for match in _PHONE.finditer(text):
        value = match.group(0).strip()
        digits = re.sub(r"\D", "", value)
        if not 7 <= len(digits) <= 15 or _DATE.match(value) or len(set(digits)) == 1:
            continue
        yield value


REGION_BEFORE, REGION_AFTER = 50, 40   # an IBAN's letters on either side, a phone's prefix
CARD_MIN = 13                          # characters of the shortest card number (13 digits)
CARD_GAP = 16                          # long runs this close are one span: one regex call, not two


def _run_class_table() -> bytes:
    """ASCII digits: ``9``; the separators a run allows: ``s``; anything else: ``x``."""
    table = bytearray(b"x" * 256)
    for char in b"0123456789":
        table[char] = ord("9")
    for char in b" ./()-":
        table[char] = ord("s")
    return bytes(table)


_RUN_CLASS = _run_class_table()
_SEVEN_DIGITS_IN_CLASSES = re.compile(rb"9(?:s?+9){6,}+")   # _SEVEN_DIGITS, one class per character
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _digit_runs(text: str) -> Iterator[tuple[int, int]]:
    """The spans of ``_SEVEN_DIGITS`` in ``text``, in order. ASCII text is searched as its
    character classes (one C pass): a bytes pattern of literals takes 0.35-0.75 of the time that
    ``[0-9]`` and ``[ ./()-]`` take on str, which matters on digit-dense text (hashes, ids).
    Text with umlauts or other letters outside ASCII is searched so too, unless it holds another
    script's digits: those only ``\\d`` finds, looking up each character's Unicode category.

    >>> list(_digit_runs("sha 3ef9a4c5 call 030 1234567."))
    [(18, 29)]
    """
    if not text.isascii() and any(char.isdecimal() for char in _NON_ASCII.findall(text)):
        return (match.span() for match in _SEVEN_DIGITS.finditer(text))   # another script's digits (\d)
    classes = text.encode("ascii", "replace").translate(_RUN_CLASS)    # other characters: "?", then "x"
    return (match.span() for match in _SEVEN_DIGITS_IN_CLASSES.finditer(classes))


def numeric_regions(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The parts of ``text`` around runs of seven or more digits, joined by blank lines, and the
    spans in that string that hold the runs long enough to hold a card number (``find_cards``;
    nothing between two such runs is one, so runs up to ``CARD_GAP`` apart share a span).

    Every phone number, IBAN and card number contains such a run (single separators allowed), and
    what the detectors look at around it (an IBAN's country code and letters, a phone's prefix,
    the characters that end a number) lies within ``REGION_BEFORE`` characters before and
    ``REGION_AFTER`` after. So the number detectors scan these regions, not all of a long text:
    on markup they are a small part or nothing.

    >>> numeric_regions("no numbers here")
    ('', [])
    >>> numeric_regions("call 030 1234567 or pay with 4111 1111 1111 1111")
    ('call 030 1234567 or pay with 4111 1111 1111 1111', [(29, 48)])
    """
    parts: list[str] = []
    long_runs: list[tuple[int, int]] = []
    start = end = -REGION_BEFORE - 1
    offset = 0                                       # where the current region begins in the result
    for run_start, run_end in _digit_runs(text):
        if run_start - REGION_BEFORE > end:          # a new region
            if end > 0:
                parts.append(text[start:end])
                offset += len(parts[-1]) + 2
            start = max(0, run_start - REGION_BEFORE)
        end = run_end + REGION_AFTER                 # runs come in order: the region grows
        if run_end - run_start >= CARD_MIN:
            span = (offset + run_start - start, offset + run_end - start)
            if long_runs and span[0] - long_runs[-1][1] <= CARD_GAP:
                span = (long_runs.pop()[0], span[1])
            long_runs.append(span)
    if end > 0:
        parts.append(text[start:end])
    return "\n\n".join(parts), long_runs


def _classes(text: str) -> bytes:
    """``text`` as one byte per character, each its class (``_CLASS_OF``), after a space: what the
    number detectors need before them, found with C's substring search instead of a regex pass.

    A character outside ASCII is a space here: it may be a digit of another script (``\\d`` matches
    it) or a character that lets a phone number begin after it, and a space is accepted as both.

    >>> _classes("Tel. (030) 12, DE89 x+4")
    b' Awww  090  99  AA99 w+9'
    """
    return b" " + text.encode("ascii", "replace").translate(_CLASS_OF)


def _class_table() -> bytes:
    """Digits: ``0`` and ``9`` (1-9); capitals ``A``; ``+`` itself; the other characters a phone
    number may not follow (``[\\w/.-]``): ``w``; anything else (space, brackets, other scripts): space."""
    table = bytearray(b" " * 256)
    for char in b"abcdefghijklmnopqrstuvwxyz_/.-":
        table[char] = ord("w")
    for char in range(ord("A"), ord("Z") + 1):
        table[char] = ord("A")
    for char in b"123456789":
        table[char] = ord("9")
    table[ord("0")], table[ord("+")] = ord("0"), ord("+")
    return bytes(table)


_CLASS_OF = _class_table()
# an IBAN (and its shape) begins with two capitals and two digits
_MAY_HOLD_IBAN = re.compile(rb"AA[09 ][09 ]")
# a phone number begins "+" and a digit 1-9, or with a 0 after a character that lets it begin (the
# "(" and "00" forms included) followed by a digit
_MAY_BEGIN_PHONE = re.compile(rb" 0[09 ]")


def _may_hold_phone(classes: bytes) -> bool:
    return b"+9" in classes or (b" 0" in classes and _MAY_BEGIN_PHONE.search(classes) is not None)


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with every span replaced by as many spaces, in one pass: cutting and joining the
    whole text once per span made a 5 MB text with 100 000 IBANs and cards take hours.

    >>> _blank("IBAN DE89 card 4111 ok", [(15, 19), (5, 9), (7, 11)])
    'IBAN       ard      ok'
    """
    parts, pos = [], 0
    for start, end in sorted(spans):
        start = max(start, pos)            # spans may overlap (an IBAN's shape holding a card)
        if end > start:
            parts += [text[pos:start], " " * (end - start)]
            pos = end
    parts.append(text[pos:])
    return "".join(parts)


@dataclass
class Scanner:
    """Runs the enabled detectors; ``restrict`` names the detectors that make a record restricted."""

    detectors: tuple[str, ...] = BUILTIN
    patterns: dict[str, re.Pattern] = field(default_factory=dict)
    restrict: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_config(cls, table: dict, where: str = "[sensitive]") -> "Scanner":
        detectors = tuple(table.get("detectors", BUILTIN))
        unknown = set(detectors) - set(BUILTIN)
        if unknown:
            raise ConfigError(f"{where} detectors: unknown {', '.join(sorted(unknown))}; built in: {', '.join(BUILTIN)}")
        patterns = {}
        for name, regex in table.get("patterns", {}).items():
            if name in BUILTIN:
                raise ConfigError(f"{where} patterns.{name}: the name of a built-in detector")
            try:
                patterns[name] = re.compile(regex)
            except re.error as exc:
                raise ConfigError(f"{where} patterns.{name}: not a valid regular expression: {exc}") from None
        restrict = tuple(table.get("restrict", ()))
        unknown = set(restrict) - set(detectors) - set(patterns)
        if unknown:
            raise ConfigError(f"{where} restrict names detectors that are not enabled: {', '.join(sorted(unknown))}")
        max_bytes = int(table.get("max_bytes", DEFAULT_MAX_BYTES))
        if max_bytes <= 0:
            raise ConfigError(f"{where} max_bytes must be positive")
        return cls(detectors=detectors, patterns=patterns, restrict=restrict, max_bytes=max_bytes)

    @property
    def names(self) -> tuple[str, ...]:
        return self.detectors + tuple(self.patterns)

    def scan_text(self, text: str) -> tuple[str, ...]:
        """Names of the detectors that match ``text``, in configuration order.

        Cheap tests first: an e-mail address needs an ``@``; a phone number, an IBAN and a card
        number all need seven digits in a row (single separators allowed), so those detectors
        run only on the regions around such runs (``numeric_regions``).
        """
        found = self._numbers(text)
        if "email" in self.detectors and "@" in text and _EMAIL.search(text) is not None:
            found.add("email")
        names = [name for name in self.detectors if name in found]
        names += [name for name, pattern in self.patterns.items() if pattern.search(text)]
        return tuple(names)

    def _numbers(self, text: str) -> set[str]:
        """Cheap tests first here too: each detector's regex runs only where its first characters
        occur (``_classes``), card numbers only inside the long digit runs."""
        wanted = {"phone", "iban", "card"}.intersection(self.detectors)
        numbers, long_runs = numeric_regions(text) if wanted else ("", [])
        if not numbers:
            return set()
        found = set()
        classes = _classes(numbers)
        iban_shaped = _MAY_HOLD_IBAN.search(classes) is not None
        if "iban" in wanted and iban_shaped and next(iter(find_ibans(numbers)), None):
            found.add("iban")
        cards = [(start, end) for _, start, end in find_cards(numbers, long_runs)]
        if cards:
            found.add("card")
        if "phone" in wanted and _may_hold_phone(classes):
            # the digits of an IBAN (valid or not: "DE89 3704 0044 ...") or a card are no phone number;
            # the classes hold for the blanked text too: blanks are spaces, and a span neither begins
            # right after a digit nor ends right before one, so no 0 comes to follow a space
            shapes = [m.span() for m in _IBAN_SHAPE.finditer(numbers)] if iban_shaped else []
            if next(iter(find_phones(_blank(numbers, shapes + cards))), None):
                found.add("phone")
        return found & wanted

    def scan(self, content: Content) -> tuple[str, ...]:
        text = read_text(content, self.max_bytes)
        return self.scan_text(text) if text else ()

    def restricting(self, found: Iterable[str]) -> tuple[str, ...]:
        return tuple(name for name in found if name in self.restrict)


def is_text(media_type: str | None) -> bool:
    base = (media_type or "").split(";")[0].strip().lower()
    return base.startswith(TEXT_TYPES) or base.endswith(("+xml", "+json"))


def read_text(content: Content, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """The first ``max_bytes`` of a textual content stream, decoded; None for other media types."""
    if not is_text(content.media_type):
        return None
    parts, size = [], 0
    for chunk in content.chunks():
        if not chunk:
            continue
        parts.append(chunk[: max_bytes - size])
        size += len(parts[-1])
        if size >= max_bytes:
            break
    charset = "utf-8"
    for param in content.media_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return b"".join(parts).decode(charset, "replace")
    except LookupError:
        return b"".join(parts).decode("utf-8", "replace")
