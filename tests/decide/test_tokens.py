"""Name tokens compared as multisets (taxgate.decide.tokens)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.decide.tokens import Tokens, contained_either_way, overlap, same_sets


def _compare(function, left: str | None, right: str | None) -> bool:
    tokens_l = Tokens.of(pa.array([left], pa.string()))
    tokens_r = Tokens.of(pa.array([right], pa.string()))
    return bool(function(tokens_l, tokens_r, 1)[0])


@pytest.mark.parametrize(
    ("left", "right", "within"),
    [
        ("GARCIA", "GARCIA LOPEZ", True),  # a second surname dropped
        ("LOPEZ GARCIA", "GARCIA LOPEZ", True),  # surnames moved
        ("GARCIA", "GARCIA GARCIA", True),  # one of a repeated surname dropped
        ("GARCIA GARCIA", "GARCIA MIRELES", False),  # the second surname differs
        ("HERNANDEZ HERNANDEZ", "HERNANDEZ FERRER", False),
        ("GARCIA", "LOPEZ", False),
        (None, "GARCIA", False),
    ],
)
def test_a_repeated_token_counts_twice(left, right, within) -> None:
    assert _compare(contained_either_way, left, right) is within


def test_same_tokens_need_the_same_count() -> None:
    assert _compare(same_sets, "LUIS JOSE", "JOSE LUIS")
    assert not _compare(same_sets, "LUIS LUIS", "LUIS")
    assert _compare(same_sets, "LUIS LUIS", "LUIS LUIS")


def test_overlap_is_any_token_in_common() -> None:
    assert _compare(overlap, "GARCIA GARCIA", "GARCIA MIRELES")
    assert not _compare(overlap, "GARCIA", "LOPEZ")


def test_rows_are_judged_apart() -> None:
    left = Tokens.of(pa.array(["GARCIA GARCIA", "GARCIA", "A B"], pa.string()))
    right = Tokens.of(pa.array(["GARCIA MIRELES", "GARCIA GARCIA", "B A"], pa.string()))
    assert contained_either_way(left, right, 3).tolist() == [False, True, True]
