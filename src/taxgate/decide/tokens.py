"""Name tokens compared as multisets, column-wise: per-pair Python is too slow for a whole batch.

A token written twice counts twice: "GARCIA GARCIA" does not lie within "GARCIA MIRELES" (the
second surname differs), while "GARCIA" lies within "GARCIA GARCIA" (one surname dropped).
"""

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


def _occurrence(keys: np.ndarray) -> np.ndarray:
    """For each key, how many equal keys come before it (0 for the first)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = np.arange(len(ordered)) - first
    return out


def _keys(left: Tokens, right: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (row, token, occurrence) keys of each side as integers, with each key's row."""
    codes = np.asarray(
        pc.dictionary_encode(pa.concat_arrays([left.values, right.values])).indices.to_numpy(),
        dtype=np.int64,
    )
    vocabulary = int(codes.max()) + 1 if codes.size else 1
    split = len(left.values)
    left_tokens = left.owner * vocabulary + codes[:split]
    right_tokens = right.owner * vocabulary + codes[split:]
    left_seen, right_seen = _occurrence(left_tokens), _occurrence(right_tokens)
    repeats = int(max(left_seen.max(initial=0), right_seen.max(initial=0))) + 1
    left_keys = distinct(left_tokens * repeats + left_seen)
    right_keys = distinct(right_tokens * repeats + right_seen)
    per_row = vocabulary * repeats
    return left_keys, left_keys // per_row, right_keys, right_keys // per_row


def _counts(left: Tokens, right: Tokens, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: tokens on the left, on the right, and on both (a repeated token counts again)."""
    left_keys, left_rows, right_keys, right_rows = _keys(left, right)
    shared = np.isin(left_keys, right_keys, assume_unique=True)
    return (
        np.bincount(left_rows, minlength=rows),
        np.bincount(right_rows, minlength=rows),
        np.bincount(left_rows[shared], minlength=rows),
    )


def same_sets(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: both sides hold the same non-empty tokens, as often."""
    n_left, n_right, both = _counts(left, right, rows)
    return (n_left > 0) & (n_left == n_right) & (both == n_left)


def contained_either_way(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: one side's non-empty tokens lie within the other's, each as often."""
    n_left, n_right, both = _counts(left, right, rows)
    return ((n_left > 0) & (both == n_left)) | ((n_right > 0) & (both == n_right))


def overlap(left: Tokens, right: Tokens, rows: int) -> np.ndarray:
    """Per row: the two sides have at least one token in common."""
    return _counts(left, right, rows)[2] > 0
