"""Folding (connector/fold.py) and the folded copies filed with every version (schema.search_copies):
hypothesis searches for a text whose fold changes when folded again, when its case or accents
change, or for a version whose copies miss a searchable property."""
from __future__ import annotations

from hypothesis import given, strategies as st

from connector.cmis import schema
from connector.fold import content_variants, fold, strip_accents
from connector.search import natural_key

LATIN = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x24F, exclude_characters="ıſ"), max_size=30)


@given(st.text(max_size=40))
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(LATIN)
def test_fold_ignores_case_and_accents_of_latin_text(text):
    assert fold(text.upper()) == fold(text.lower()) == fold(text)
    assert fold(strip_accents(text)) == fold(text)


@given(st.text(st.characters(categories=("Lu", "Ll")), min_size=1, max_size=12))
def test_content_variants_start_with_the_word_as_typed_and_have_no_duplicates(word):
    variants = content_variants(word)
    assert variants[0] == word and len(set(variants)) == len(variants)
    assert word.lower() in variants and word.upper() in variants


@given(st.dictionaries(st.sampled_from(["sa:title", "sa:author", "sa:revisionAuthor", "sa:kind"]),
                       st.text(min_size=1, max_size=10)), st.text(min_size=1, max_size=10))
def test_every_version_gets_a_folded_title_and_copies_of_what_it_names(props, name):
    copies = schema.search_copies({"cmis:name": name, **props})
    assert copies[schema.TITLE_FOLDED] == fold(props.get("sa:title") or name)
    assert {p for p, f in schema.FOLDED.items() if f in copies and p != "sa:title"} == \
        {p for p in ("sa:author", "sa:revisionAuthor") if p in props}
    assert set(copies) <= {p.id for p in schema.DOCUMENT_PROPERTIES}


def test_examples():
    assert fold("Ärger in MÜNCHEN") == "arger in munchen" and fold("Straße") == "strasse" and fold("ﬁ²") == "fi2"
    assert sorted(["page/10", "page/2", "Page/3"], key=natural_key) == ["page/2", "Page/3", "page/10"]
