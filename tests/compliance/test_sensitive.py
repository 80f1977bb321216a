"""Sensitive-data detectors: what is flagged, what is not."""
import hashlib
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.compliance import sensitive
from connector.compliance.sensitive import Scanner, find_ibans, iban_valid, luhn_valid, read_text
from connector.errors import ConfigError
from connector.model import Content

VALID_IBANS = ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32",
               "FR14 2004 1010 0505 0001 3M02 606", "NL91 ABNA 0417 1643 00", "CH93 0076 2011 6238 5295 7"]
CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011 1111 1111 1117"]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans_are_flagged(iban):
    assert Scanner().scan_text(f"Bitte überweisen an {iban}, danke.") == ("iban",)


@pytest.mark.parametrize("text", [
    "IBAN DE89 3704 0044 0532 0130 01",          # one digit off: mod 97 fails
    "IBAN DE88370400440532013000",                # check digits wrong
    "IBAN DE89 3704 0044 0532 0130",              # too short for DE
    "IBAN DE89370400440532013000123",             # too long, continues as a word
    "XX89370400440532013000",                     # no such country
])
def test_invalid_ibans_are_not_flagged(text):
    assert Scanner().scan_text(text) == ()          # nor are their digits taken for a phone number


def test_iban_checksum_and_position():
    assert iban_valid("de89370400440532013000") and not iban_valid("DE89370400440532013001")
    text = "a DE89 3704 0044 0532 0130 00 b"
    [(iban, start, end)] = list(find_ibans(text))
    assert iban == "DE89370400440532013000" and text[start:end] == "DE89 3704 0044 0532 0130 00"


@pytest.mark.parametrize("card", CARDS)
def test_card_numbers_pass_luhn_and_are_flagged(card):
    assert Scanner().scan_text(f"card: {card} exp 12/29") == ("card",)


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",                   # Luhn fails
    "order 1234567812345670",                     # Luhn ok, no issuer prefix 1
    "tx 411111111111111112345",                   # a longer digit run
    "revisions 1001, 1002 and 1003",
])
def test_other_numbers_are_not_cards(text):
    assert "card" not in Scanner().scan_text(text)
    assert not luhn_valid("4111111111111112")


def test_email_phone_and_custom_pattern():
    scanner = Scanner.from_config({"patterns": {"employee-id": r"EMP-\d{6}"}})
    assert scanner.scan_text("write to Jane.Doe+wiki@example.co.uk") == ("email",)
    assert scanner.scan_text("ruf an: +49 (0)30 1234 5678") == ("phone",)
    assert scanner.scan_text("Tel. 030/1234567") == ("phone",)
    assert scanner.scan_text("badge EMP-123456") == ("employee-id",)
    assert scanner.scan_text("released 2024-03-01, version 1.2.3, page 42, user@localhost") == ()


def test_iban_digits_are_not_also_a_phone_number():
    assert Scanner().scan_text("DE89 3704 0044 0532 0130 00") == ("iban",)


def test_only_text_is_read_and_only_up_to_max_bytes():
    reads = []

    def chunks():
        for n in range(100):
            reads.append(n)
            yield b"x" * 1000
        yield b" bob@example.org"
    scanner = Scanner(max_bytes=10_000)
    assert scanner.scan(Content(media_type="text/x-wiki", chunks=chunks)) == ()
    assert len(reads) == 10                                            # stopped after 10 kB
    assert scanner.scan(Content.from_bytes(b"bob@example.org", "image/png")) == ()  # binary: not read
    assert scanner.scan(Content.from_bytes(b"bob@example.org", "application/json; charset=utf-8")) == ("email",)
    assert read_text(Content.from_bytes("Grüße".encode("latin-1"), "text/plain; charset=ISO-8859-1")) == "Grüße"


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown"):
        Scanner.from_config({"detectors": ["email", "ssn"]})
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        Scanner.from_config({"patterns": {"x": "("}})
    with pytest.raises(ConfigError, match="not enabled"):
        Scanner.from_config({"detectors": ["email"], "restrict": ["iban"]})


# The detectors as first written: plain patterns (a lookbehind first, so the engine tries every
# position) run over all the regions joined. The fast scanner must find exactly what they find.
_REFERENCE_PHONE = re.compile(r"(?<![\w+/.-])(?:(?:\+|00)[1-9]\d{0,2}[ ./-]?(?:\(0\)[ ]?)?|\(?0\d{1,5}\)?[ ./-]?)"
                              r"\d[\d ./-]{4,16}\d(?![\w-])")
_REFERENCE_IBAN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){2,8}(?![A-Za-z0-9])")
_REFERENCE_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})\d{2}")
_REFERENCE_CARD_RUN = re.compile(r"\d(?:[ -]?\d){12,}")


def _reference_luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (1 + i % 2)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _reference_numbers(text: str) -> set[str]:
    spans = []
    for match in re.finditer(r"\d(?:[ ./()-]?\d){6,}", text):
        start, end = max(0, match.start() - 50), min(len(text), match.end() + 40)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    numbers = "\n\n".join(text[s:e] for s, e in spans)
    # an IBAN start the fast pattern finds must be one the plain pattern finds, and vice versa
    assert [m.start() for m in _REFERENCE_IBAN_START.finditer(numbers)] == \
        [m.start() for m in sensitive._IBAN_START.finditer(numbers)]
    found = set()
    if list(find_ibans(numbers)):
        found.add("iban")
    cards = [m.span() for m in _REFERENCE_CARD_RUN.finditer(numbers)
             if 13 <= len(n := re.sub(r"[ -]", "", m.group(0))) <= 19 and sensitive._card_issuer(n) and _reference_luhn(n)]
    if cards:
        found.add("card")
    masked = numbers
    for s, e in [m.span() for m in _REFERENCE_IBAN_SHAPE.finditer(numbers)] + cards:
        masked = masked[:s] + " " * (e - s) + masked[e:]
    for match in _REFERENCE_PHONE.finditer(masked):
        value = match.group(0).strip()
        digits = re.sub(r"\D", "", value)
        if 7 <= len(digits) <= 15 and not re.match(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$", value) and len(set(digits)) > 1:
            found.add("phone")
    return found


PIECES = ["0", "00", "+", "(", ")", "(0)", " ", "-", ".", "/", "DE", "GB", "NL", "89", "WEST", "x", "ab",
          "\n", "4111", "1111", "5555", "030", "+49", "0049", "3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00",
          "1234567", "4111 1111 1111 1111", "2024-03-01", "Ü", "é"] + list("0123456789")


# The bench's digit-dense wiki text (bench/common.py text_of: "Section 12300001" lines, a hex digest on
# each line), cut into pieces, plus what the scanner's quick tests (character classes) must get right:
# characters outside ASCII before a 0 that let a phone number begin („ –) or not (ü), a literal "?",
# other scripts' digits after a country code, a card number's groups broken by a dot.
DENSE = ["== Section 12300001 ==\n", "Lorem ipsum ", " dolor sit amet, [[Link 100000001]] ''emphasis''.\n",
         "[[Link ", "]]", "''", "a", "f", "„", "–", "ü", "?", "_", "DE", "٨٩", "(0", "+4", "4111.1111 1111 1111",
         "0301234567", "09f2", "1f0"] + [hashlib.sha256(str(n).encode()).hexdigest() for n in (1, 7, 16)]


@pytest.mark.parametrize("pieces", [PIECES, PIECES + DENSE], ids=["mixed", "digit-dense"])
def test_fast_scanner_finds_what_the_plain_patterns_find(pieces):
    rng = random.Random(20261129)
    scanner = Scanner(detectors=("phone", "iban", "card"))
    flagged = set()
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 80)))
        expected = _reference_numbers(text)
        assert set(scanner.scan_text(text)) == expected, text
        flagged |= expected
    assert flagged == {"phone", "iban", "card"}     # the corpus exercises every detector


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES + DENSE + ["٤١١١", "４", "١٢٣٤٥٦٧", "٥١٠٥ ١٠٥١ ٠٥١٠ ٥١٠٠", "5105105105105100",
                                                   "378282246310005"]), max_size=120))
def test_no_text_where_the_fast_scanner_and_the_plain_patterns_differ(pieces):
    """Counter-example search, other scripts' digits included (``\\d`` matches them, Luhn reads them)."""
    text = "".join(pieces)
    assert set(Scanner(detectors=("phone", "iban", "card")).scan_text(text)) == _reference_numbers(text)


@given(st.text(alphabet="ab ", max_size=60), st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=8))
def test_blanking_in_one_pass_is_blanking_span_by_span(text, spans):
    """Spans lie in the text and may overlap (an IBAN's shape and a card)."""
    spans = [(min(start, len(text)), min(start + length, len(text))) for start, length in spans]
    expected = text
    for start, end in spans:
        expected = expected[:start] + " " * (end - start) + expected[end:]
    assert sensitive._blank(text, spans) == expected


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="0123456789 ./()-ab?\n٣ä", max_size=80))
def test_runs_found_in_the_character_classes_are_the_runs_of_the_plain_pattern(text):
    """Counter-example search: the runs found in ASCII text's character classes are the spans the
    plain pattern finds in the text (other scripts' digits, a literal "?" and double separators
    included)."""
    exact = [m.span() for m in re.finditer(r"\d(?:[ ./()-]?\d){6,}", text)]
    assert list(sensitive._digit_runs(text)) == exact


def test_digit_dense_text_is_scanned_in_full():
    """Hex digests on every line put digit runs everywhere; a number at the very end is still found."""
    lines = "".join(f"sha256 {hashlib.sha256(str(n).encode()).hexdigest()} ok\n" for n in range(500))
    scanner = Scanner(detectors=("phone", "iban", "card"))
    assert set(scanner.scan_text(lines)) == _reference_numbers(lines) == {"card"}   # a digest held a Luhn-valid run
    assert scanner.scan_text(lines + "Tel. 030/1234567") == ("phone", "card")
    assert scanner.scan_text(lines + "IBAN DE89 3704 0044 0532 0130 00") == ("iban", "card")
