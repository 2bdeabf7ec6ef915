"""Judging each distinct combination of values once gives the judgement at every row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from taxgate.decide.edits import distinct_rows, judged_once, within_edits


def test_rows_of_the_same_values_share_a_combination_and_a_null_is_a_value() -> None:
    given = pa.array(["ANA", "ANA", None, "ANA", None, "LUIS"])
    family = pa.array(["RUIZ", "RUIZ", "RUIZ", "DIAZ", "RUIZ", "RUIZ"])
    tokens = pa.array([["ANA"], ["ANA"], None, ["ANA"], None, ["LUIS", "M"]])
    first, inverse = distinct_rows([given, family, tokens])
    assert len(first) == 4
    assert inverse[0] == inverse[1] and inverse[2] == inverse[4]
    assert len({inverse[0], inverse[2], inverse[3], inverse[5]}) == 4
    # Each combination's first row is a row with exactly its values.
    for row, combination in enumerate(inverse):
        at = first[combination]
        assert (given[at], family[at], tokens[at]) == (given[row], family[row], tokens[row])


def test_lists_that_join_alike_are_still_told_apart_by_their_tokens() -> None:
    first, _ = distinct_rows([pa.array([["ANA", "MARIA"], ["ANA MARIA"], ["ANA", "MARIA"]])])
    assert len(first) == 2


def test_judged_once_equals_judging_every_row() -> None:
    rng = np.random.default_rng(5)
    names = ["MARIA", "MARIO", "MAREA", "JOSE", "JSOE", None, "ANA", "ANNA"]
    left = pa.array([names[i] for i in rng.integers(0, len(names), 5000)])
    right = pa.array([names[i] for i in rng.integers(0, len(names), 5000)])

    def judge(a: pa.Array, b: pa.Array) -> np.ndarray:
        return within_edits(a, b, 1, 3, np.ones(len(a), dtype=bool))

    assert np.array_equal(judged_once(judge, left, right), judge(left, right))
    assert np.array_equal(judged_once(judge, left[:0], right[:0]), judge(left[:0], right[:0]))
