"""SSN and ITIN structure: a TIN that can never have been issued is refused before matching."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.policy.model import TinRules

SEPARATORS = r"[\s-]"


def tin_digits(values: pa.Array) -> pa.Array:
    """'123-45-6789' and '123 45 6789' -> '123456789'; other text keeps its other characters."""
    return pc.replace_substring_regex(pc.utf8_trim_whitespace(values), SEPARATORS, "")


def valid_tins(values: pa.Array, rules: TinRules) -> np.ndarray:
    """Per row: an SSN the SSA issues, or an ITIN in the IRS group ranges (nulls are False)."""
    digits = tin_digits(values)
    nine = np.asarray(pc.fill_null(pc.match_substring_regex(digits, r"^\d{9}$"), False))
    safe = pc.if_else(pa.array(nine), digits, pa.scalar("000000000"))
    area = pc.utf8_slice_codeunits(safe, 0, 3)
    group = np.asarray(pc.cast(pc.utf8_slice_codeunits(safe, 3, 5), pa.int32()))
    serial = np.asarray(pc.utf8_slice_codeunits(safe, 5, 9), dtype=object)
    itin = np.asarray(pc.starts_with(area, "9"))
    itin_ok = np.zeros(len(values), dtype=bool)
    for low, high in rules.itin_group_ranges:
        itin_ok |= (group >= low) & (group <= high)
    invalid_areas = pa.array(rules.ssn_invalid_areas, pa.string())
    ssn_ok = (
        ~np.asarray(pc.is_in(area, value_set=invalid_areas)) & (group != 0) & (serial != "0000")
    )
    return nine & np.where(itin, itin_ok, ssn_ok)


def tin_is_valid(tin: str, rules: TinRules) -> bool:
    """`valid_tins` for one value."""
    return bool(valid_tins(pa.array([tin], pa.string()), rules)[0])
