"""Name tokens compared as sets, column-wise: per-pair Python is too slow for a whole batch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


@dataclass(frozen=True)
class Tokens:
    """The tokens of one list<string> column or more: owner row of each token and the token."""

    owner: np.ndarray
    values: pa.Array

    @classmethod
    def of(cls, *columns: pa.Array | pa.ChunkedArray) -> Tokens:
        """Tokens of list columns (strings are split on spaces), merged row by row."""
        owners, values = [], []
        for column in columns:
            lists = _array(column)
            if not pa.types.is_list(lists.type) and not pa.types.is_large_list(lists.type):
                lists = pc.split_pattern(pc.cast(lists, pa.string()), " ")
            flat = pc.cast(pc.list_flatten(lists), pa.string())
            owner = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
            keep = np.asarray(
                pc.fill_null(pc.greater(pc.utf8_length(flat), 0), False).to_numpy(False)
            )
            owners.append(owner[keep])
            values.append(flat.filter(pa.array(keep)))
        return cls(np.concatenate(owners), pa.concat_arrays(values))

    @classmethod
    def leading(cls, lists: pa.Array | pa.ChunkedArray, counts: np.ndarray) -> Tokens:
        """The first `counts[row]` tokens of each row's list (e.g. a given name's own words)."""
        lists = _array(lists)
        owner = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
        offsets = np.asarray(lists.offsets.to_numpy(), dtype=np.int64)
        position = np.arange(len(owner)) + offsets[0] - offsets[owner]
        keep = position < counts[owner]
        flat = pc.cast(pc.list_flatten(lists), pa.string())
        return cls(owner[keep], flat.filter(pa.array(keep)))


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique's hash path is far slower on large integer arrays)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def _keys(left: Tokens, right: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (row, token) keys of each side as integers, with the row of each key."""
    codes = np.asarray(
        pc.dictionary_encode(pa.concat_arrays([left.values, right.values])).indices.to_numpy(),
        dtype=np.int64,
    )
    vocabulary = int(codes.max()) + 1 if codes.size else 1
    split = len(left.values)
    left_keys = distinct(left.owner * vocabulary + codes[:split])
    right_keys = distinct(right.owner * vocabulary + codes[split:])
    return left_keys, left_keys // vocabulary, right_keys, right_keys // vocabulary


def _counts(left: Tokens, right: Tokens, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: distinct tokens on the left, on the right, and on both."""
    left_keys, left_rows, right_keys, right_rows = _keys(left, right)
    shared = np.isin(left_keys, right_keys, assume_unique=True)
    return (
        np.bincount(left_rows, minlength=rows),
        np.bincount(right_rows, minlength=rows),
        np.bincount(left_rows[shared], minlength=rows),
    )


def same_sets(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: both sides hold the same non-empty set of tokens."""
    n_left, n_right, both = _counts(left, right, rows)
    return (n_left > 0) & (n_left == n_right) & (both == n_left)


def contained_either_way(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: one side's non-empty token set lies within the other's."""
    n_left, n_right, both = _counts(left, right, rows)
    return ((n_left > 0) & (both == n_left)) | ((n_right > 0) & (both == n_right))


def overlap(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: the two sides have at least one token in common."""
    return _counts(left, right, rows)[2] > 0
