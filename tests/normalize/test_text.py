from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate.normalize.text import fold, fold_array, skeleton, visible, visible_array

INVISIBLE = "\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202c\u202e\u2066\u2069\u034f"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("UN\u00adKNOWN", "UNKNOWN"),  # soft hyphen
        ("N\u200bA", "N A"),  # zero-width space separates words
        ("\ufeffMaria\u00a0", "MARIA"),  # BOM, non-breaking space
        ("Jos\u00e9\u200d", "JOSE"),
        ("\uff2e\uff2f\uff2e\uff25", "NONE"),  # full width
        ("N\u0336/A\u0301", "N A"),  # combining marks
        ("UN\u034fKNOWN", "UNKNOWN"),  # combining grapheme joiner (a mark of class 0)
        ("A\u3000B\u2028C", "A B C"),  # ideographic space, line separator
        ("A\tB\nC\x00D", "A B C D"),
        ("\u200b" * 1000, ""),
    ],
)
def test_fold_treats_invisible_characters_as_no_content(text: str, folded: str) -> None:
    assert fold(text) == folded
    assert fold_array(pa.array([text])).to_pylist() == [folded]


def test_visible_keeps_what_a_reader_sees() -> None:
    assert visible("\ufeff 2024-01-10\u200b") == " 2024-01-10 "
    assert visible("787\u200d01") == "78701"
    assert visible(None) is None
    assert visible_array(pa.array(["a\u00a0b", "c\td", None])).to_pylist() == ["a b", "c d", None]


def test_skeleton_maps_look_alike_letters_and_fold_does_not() -> None:
    cyrillic_na = "N/\u0410"
    assert skeleton(cyrillic_na) == "N A" and fold(cyrillic_na) == "N"
    assert skeleton("\u039d\u039f\u039d\u0395") == "NONE"  # Greek capitals
    assert skeleton("Jos\u00e9") == fold("Jos\u00e9") == "JOSE"


_noise = st.text(alphabet=INVISIBLE, max_size=3)
_word = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x17F), max_size=12)


@settings(max_examples=200, deadline=None)
@given(_word, _noise, _noise, _noise)
def test_invisible_characters_never_change_a_fold(word: str, before, inside, after) -> None:
    middle = len(word) // 2
    noisy = before + word[:middle] + inside + word[middle:] + after
    assert fold(noisy) == fold(word)
    assert skeleton(noisy) == skeleton(word)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=8))
def test_column_forms_agree_with_the_single_value_forms(values) -> None:
    array = pa.array(values, pa.string())
    assert fold_array(array).to_pylist() == [fold(v) for v in values]
    assert visible_array(array).to_pylist() == [
        visible(v).translate({i: " " for i in range(32)} | {127: " "}) if v is not None else None
        for v in values
    ]
