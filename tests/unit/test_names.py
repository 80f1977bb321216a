import sys
import unicodedata

from connector.cmis import names
from connector.cmis.names import MAX_NAME, safe_name, unique_name


def test_forbidden_characters_and_dots():
    assert safe_name('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert safe_name(" .hidden. ") == "hidden"
    assert safe_name("tab\there\x00nul") == "tab_here_nul"
    assert safe_name("") == "untitled"


def test_bidi_overrides_dropped_but_rtl_text_kept():
    assert safe_name("evil\u202egnp.exe") == "evilgnp.exe"
    assert safe_name("שלום") == "שלום"


def test_lone_surrogate_replaced():
    assert safe_name("a\ud800b") == "a_b"


def test_surrogates_are_exactly_category_cs():
    """safe_name finds lone surrogates with one regex, not unicodedata per character: every code
    point is checked against Unicode's own category (a counter-example would be a surrogate kept
    or another character replaced)."""
    wrong = [c for c in range(sys.maxunicode + 1)
             if (unicodedata.category(chr(c)) == "Cs") != bool(names._SURROGATE.fullmatch(chr(c)))]
    assert wrong == []


def test_unique_name_keeps_id_and_limit():
    name = unique_name("x" * 250, "12345", ".wiki")
    assert len(name) == MAX_NAME and name.endswith(" [12345].wiki")
    assert unique_name("Same", "1") != unique_name("Same", "2")
    assert unique_name("😀" * 300, "7").endswith("[7]")
