from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.gate.placeholders import FieldPlaceholders, matcher
from taxgate.normalize.text import skeleton_array


def hits(test, values: list[str | None]) -> list[bool]:
    return test.mask(skeleton_array(pa.array(values, pa.string()))).tolist()


def test_entries_repeated_spaced_or_run_together() -> None:
    test = matcher(["N/A", "UNKNOWN", "FNU"])
    values = ["n/a", "N A N A", "UNKNOWN UNKNOWN", "U N K N O W N", "FNUFNU", "FNU N/A", "NANA"]
    assert hits(test, values) == [True] * len(values)
    assert hits(test, ["UNKNOWN STREET", "ANNA", "", None, "FNUX"]) == [False] * 5


def test_an_exception_is_a_value_but_its_spaced_entry_is_not() -> None:
    test = matcher(["N/A", "NA", "FNU"], exceptions=["NA"])
    assert hits(test, ["Na", "NANA", "Na Na", "N/A", "N A N A", "N.A."]) == [
        False, False, False, True, True, True,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "hit"),
    [("XXX", True), ("xx", False), ("0", True), ("000-00", True), ("AAAA", True), ("ABAB", False)],
)
def test_repeated_characters_and_zeros(value: str, hit: bool) -> None:
    assert hits(matcher(["NONE"], min_repeated=3), [value]) == [hit]


def test_zip_codes_of_one_repeated_digit_are_left_to_the_zip_directory(policy) -> None:
    lists = FieldPlaceholders.from_policy(policy)
    values = pa.array(["22222", "44444", "00000", "99999"])
    assert lists.mask("zip", values).tolist() == [False, False, True, True]
    assert lists.mask("investigation_id", values).tolist() == [True] * 4


def test_units_of_one_repeated_digit_are_real_units(policy) -> None:
    """The 1.28M gate bench refused apartments 111, 222 and 333 as placeholders."""
    lists = FieldPlaceholders.from_policy(policy)
    values = pa.array(["# 111", "222", "Apt 3333", "XXX", "0", "# 000"])
    assert lists.mask("unit", values).tolist() == [False, False, False, True, True, True]


def test_a_letter_with_a_digit_no_entry_holds_is_never_looked_up(policy) -> None:
    lists = FieldPlaceholders.from_policy(policy)
    assert lists.other.foreign_digits is not None and "1" in lists.other.foreign_digits
    values = pa.array(["INV-2025-0001", "N/A 0", "UNKNOWN0", "N/A", None])
    assert lists.mask("investigation_id", values).tolist() == [False, True, True, True, False]
