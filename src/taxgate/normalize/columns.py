"""Column helpers: run a Python function once per distinct value, join list columns row-wise.

Names and streets repeat heavily across filings (a person files every year; a street name
carries many house numbers), so Python work is done on the distinct values only and spread
back to the rows with one Arrow `take`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def per_distinct(
    values: pa.Array | pa.ChunkedArray,
    fn: Callable[[Any], Sequence[Any]],
    types: Sequence[pa.DataType],
) -> list[pa.Array]:
    """`fn` (one value -> one tuple of outputs) over the distinct values, as one column each.

    Null rows stay null in every output; `fn` never sees None from a null row.
    """
    encoded = pc.dictionary_encode(as_array(values))
    outputs = [fn(v) for v in encoded.dictionary.to_pylist()]
    columns = zip(*outputs, strict=True) if outputs else [()] * len(types)
    return [
        pa.array(list(column), type).take(encoded.indices)
        for column, type in zip(columns, types, strict=True)
    ]


def concat_lists(left: pa.Array, right: pa.Array) -> pa.Array:
    """Row-wise concatenation of two list<string> columns; null counts as empty, empty -> null."""
    left_len = np.asarray(pc.fill_null(pc.list_value_length(left), 0), dtype=np.int64)
    right_len = np.asarray(pc.fill_null(pc.list_value_length(right), 0), dtype=np.int64)
    left_values, right_values = pc.list_flatten(left), pc.list_flatten(right)
    left_start = np.concatenate(([0], np.cumsum(left_len)[:-1])) if len(left_len) else left_len
    right_start = np.concatenate(([0], np.cumsum(right_len)[:-1])) if len(right_len) else right_len
    lengths = left_len + right_len
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    row = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(offsets[-1], dtype=np.int64) - offsets[:-1][row]
    from_left = position < left_len[row]
    source = np.where(
        from_left,
        left_start[row] + position,
        len(left_values) + right_start[row] + position - left_len[row],
    )
    values = pa.concat_arrays([left_values, right_values]).take(pa.array(source))
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(lengths == 0))
