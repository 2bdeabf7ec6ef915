"""Fold free text to a comparable form: upper case, no accents, punctuation as spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


@lru_cache(maxsize=1 << 16)
def fold(text: str | None) -> str:
    """'  José  Hernández-López ' -> 'JOSE HERNANDEZ LOPEZ'; None -> ''."""
    if not text:
        return ""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.upper()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", ascii_only.upper()).strip()


def fold_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`fold` over a whole column: Arrow kernels for ASCII text, `fold` itself for the rest."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    fast = pc.utf8_trim(pc.replace_substring_regex(pc.utf8_upper(values), r"[^A-Z0-9]+", " "), " ")
    fast = pc.fill_null(fast, "")
    non_ascii = np.flatnonzero(
        np.asarray(pc.fill_null(pc.invert(pc.string_is_ascii(values)), False))
    )
    if not len(non_ascii):
        return fast
    folded = fast.to_pylist()
    originals = values.take(pa.array(non_ascii)).to_pylist()
    for i, text in zip(non_ascii, originals, strict=True):
        folded[i] = fold(text)
    return pa.array(folded, pa.string())
