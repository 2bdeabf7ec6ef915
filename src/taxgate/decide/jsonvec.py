"""JSON documents built column-wise with Arrow: json.dumps per subject is too slow for a batch."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NULL = "null"
_CONTROL = r"[\x00-\x1f]"


Column = pa.Array | pa.ChunkedArray | np.ndarray


def _array(values: Column) -> pa.Array:
    if isinstance(values, np.ndarray):
        return pa.array(values)
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _filled(values: pa.Array) -> pa.Array:
    return pc.fill_null(values, NULL)


def number(values: Column) -> pa.Array:
    """JSON numbers; null, NaN and infinities become null (JSON has no such numbers)."""
    array = _array(values)
    if pa.types.is_floating(array.type):
        finite = pc.is_finite(array)
        array = pc.if_else(finite, array, pa.scalar(None, array.type))
    return _filled(pc.cast(array, pa.string()))


def boolean(values: Column) -> pa.Array:
    array = _array(values)
    return _filled(pc.cast(array, pa.string()))


def string(values: Column) -> pa.Array:
    """JSON string literals; values holding control characters are escaped by json.dumps."""
    text = pc.cast(_array(values), pa.string())
    escaped = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    odd = np.flatnonzero(
        np.asarray(pc.fill_null(pc.match_substring_regex(text, _CONTROL), False).to_numpy(False))
    )
    if odd.size:
        fixed = quoted.to_pylist()
        raw = text.to_pylist()
        for i in odd:
            fixed[i] = json.dumps(raw[i])
        quoted = pa.array(fixed, pa.string())
    return _filled(quoted)


def obj(members: list[tuple[str, pa.Array]]) -> pa.Array:
    """One JSON object per row from (key, JSON-encoded column) members, in the order given."""
    parts: list[str | pa.Array] = []
    for i, (key, values) in enumerate(members):
        parts += [("{" if i == 0 else ",") + json.dumps(key) + ":", values]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def arrays(items: pa.Array, counts: np.ndarray) -> pa.Array:
    """JSON arrays: the first counts[0] items form row 0's array, the next counts[1] row 1's..."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), _array(items))
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")
