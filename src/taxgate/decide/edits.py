"""Column-wise string helpers for the decision: nulls, spaces and edit distances over Arrow arrays.

rapidfuzz computes the edit distances in C++ over whole columns: per-pair Python is too slow
for a batch of a million subjects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import cpdist


def strings(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pc.cast(array, pa.string())


def spaceless(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.replace_substring(strings(values), " ", "")


def bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def within_edits(
    left: pa.Array, right: pa.Array, max_edits: int, min_length: int, where: np.ndarray
) -> np.ndarray:
    """Where `where` holds: both present, the shorter at least `min_length` characters long, and
    at most `max_edits` Damerau-Levenshtein edits apart."""
    result = np.zeros(len(left), dtype=bool)
    shortest = pc.min_element_wise(pc.utf8_length(left), pc.utf8_length(right))
    candidate = where & both_present(left, right) & bools(pc.greater_equal(shortest, min_length))
    at = np.flatnonzero(candidate)
    if at.size:
        index = pa.array(at, pa.int64())
        distance = cpdist(
            left.take(index).to_pylist(),
            right.take(index).to_pylist(),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=max_edits + 1,
            workers=1,
        )
        result[at] = np.asarray(distance) <= max_edits
    return result


def both_present(left: pa.Array, right: pa.Array) -> np.ndarray:
    return ~bools(pc.or_(pc.is_null(left), pc.is_null(right)))


# Joins a list's tokens into one key; normalised tokens hold only A-Z, 0-9 (normalize.text).
TOKEN_SEPARATOR = "\x1f"


def distinct_rows(columns: Sequence[pa.Array | pa.ChunkedArray]) -> tuple[np.ndarray, np.ndarray]:
    """(first, inverse) over the rows of `columns`: the first row of each distinct combination
    of values (a null is a value of its own), and per row the position of its combination in
    `first`. A judgement made at `first` and taken at `inverse` is the judgement at every row:
    a batch's pairs repeat the same names and streets many times over."""
    codes = []
    for column in columns:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
            array = pc.binary_join(array, TOKEN_SEPARATOR)
        encoded = pc.dictionary_encode(array, null_encoding="encode")
        codes.append(np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64))
    if not codes or len(codes[0]) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # One column at a time, each combined key made dense again: both factors stay below the
    # row count, so their product fits in int64, and every np.unique is one-dimensional.
    key = codes[0]
    for code in codes[1:]:
        _, key = np.unique(key * (int(code.max()) + 1) + code, return_inverse=True)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def judged_once(judge: Callable[..., np.ndarray], *columns: pa.Array) -> np.ndarray:
    """`judge(*columns)`, computed once per distinct combination of their values."""
    first, inverse = distinct_rows(columns)
    index = pa.array(first, pa.int64())
    return judge(*(column.take(index) for column in columns))[inverse]
