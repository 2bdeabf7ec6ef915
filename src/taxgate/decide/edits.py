"""Column-wise string helpers for the decision: nulls, spaces and edit distances over Arrow arrays.

rapidfuzz computes the edit distances in C++ over whole columns: per-pair Python is too slow
for a batch of a million subjects.
"""

from __future__ import annotations

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
