"""The candidate-pair contract with `taxgate.match` (docs/matching.md), checked before deciding.

Gamma levels are the model's comparison levels, not policy: they are fixed by the contract, so
they live here as names; every threshold the agreement sets lives in the policy file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.errors import TaxgateError
from taxgate.match.model import COMPARISONS  # the matcher's comparisons, in explanation order

NULL_LEVEL = -1
ELSE_LEVEL = 0
DOB_EXACT = 3
DOB_ONE_EDIT_OR_SWAPPED = 2
DOB_SAME_YEAR = 1
HOUSE_NUMBER_EXACT = 1
STREET_NAME_EXACT = 2
STREET_NAME_FUZZY = 1
ZIP5_EXACT = 1
CITY_EXACT = 1
TIN_EXACT = 2

STREET_LEVEL_FOR = {
    "exact": STREET_NAME_EXACT,
    "fuzzy": STREET_NAME_FUZZY,
    "tolerant": STREET_NAME_EXACT,  # or the same street written differently (decide.written)
}
"""`decision.address_level` of the policy -> lowest street-name level that corroborates."""

RELATIVE_LEVELS_FOR: dict[str, int | None] = {
    "exact": None,
    "close": DOB_ONE_EDIT_OR_SWAPPED,
}
"""`decision.relatives_level` -> lowest date-of-birth level that tells a housemate apart when
it disagrees outright (names are judged by `decide.written` instead of a model level); None:
only exact agreement tells apart."""

COMPARED_VALUES = (
    "given_l",
    "given_r",
    "given_tokens_l",
    "given_tokens_r",
    "family_l",
    "family_r",
    "suffix_l",
    "suffix_r",
    "dob_l",
    "dob_r",
    "house_number_l",
    "house_number_r",
    "street_name_l",
    "street_name_r",
    "zip5_l",
    "zip5_r",
    "city_l",
    "city_r",
    "namesakes_r",
    "given_filed_r",
)
"""The compared values the rules read (household and distinguishing-field checks)."""

REQUIRED_COLUMNS = (
    "row",
    "subject_id",
    "tin",
    "address_id",
    "match_weight",
    "match_probability",
    *(f"gamma_{c}" for c in COMPARISONS),
    *(f"bf_{c}" for c in COMPARISONS),
    *COMPARED_VALUES,
)

TIN_PATTERN = r"^\d{9}$"
_NOT_NULL = ("row", "tin", "address_id", "match_weight", "match_probability")
_FIX = "See 'Candidate pairs' in docs/matching.md for the columns taxgate.match must produce."


def checked_candidates(candidates: pa.Table, subject_rows: np.ndarray) -> pa.Table:
    """The candidate table with one chunk and int64 rows, or a TaxgateError naming the defect.

    Pairs for a row that is not among `subject_rows` (the rows that passed the gate) are
    refused: a subject the gate rejected must never reach a decision.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in candidates.column_names]
    if missing:
        raise TaxgateError(
            f"the candidate pairs lack column(s) {', '.join(missing)}", _FIX, field=missing[0]
        )
    table = candidates.combine_chunks()
    for name in _NOT_NULL:
        if table.column(name).null_count:
            raise TaxgateError(f"a candidate pair has no {name}", _FIX, field=name)
    bad_tin = pc.invert(pc.match_substring_regex(table.column("tin"), TIN_PATTERN))
    if pc.any(bad_tin).as_py():
        raise TaxgateError("a candidate pair's tin is not 9 digits", _FIX, field="tin")
    table = table.set_column(
        table.schema.get_field_index("row"), "row", pc.cast(table.column("row"), pa.int64())
    )
    rows = table.column("row").to_numpy()
    stray = np.setdiff1d(rows, subject_rows)
    if stray.size:
        raise TaxgateError(
            f"{stray.size} row(s) have candidate pairs but are not among the subjects that "
            f"passed the gate (first: row {int(stray[0])})",
            "Match only the subjects the gate let proceed.",
            row=int(stray[0]),
        )
    return table


def subject_rows(
    subjects: Sequence[int] | pa.Array | pa.ChunkedArray | pa.Table,
) -> tuple[np.ndarray, list[str | None] | None]:
    """Sorted distinct 1-based subject rows, and their subject ids when a table was given."""
    ids: list[str | None] | None = None
    if isinstance(subjects, pa.Table):
        values = subjects.column("row")
        if "subject_id" in subjects.column_names:
            ids = subjects.column("subject_id").to_pylist()
    else:
        values = subjects
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if values.null_count:
            raise TaxgateError("a subject row number is empty", "Pass the gate's row numbers.")
        rows = np.asarray(pc.cast(values, pa.int64()).to_numpy(), dtype=np.int64)
    else:
        rows = np.asarray(list(values), dtype=np.int64)
    if rows.size and rows.min() < 1:
        raise TaxgateError("subject rows count from 1", "Pass the gate's 1-based row numbers.")
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    if rows.size > 1 and np.any(rows[1:] == rows[:-1]):
        dup = int(rows[1:][rows[1:] == rows[:-1]][0])
        raise TaxgateError(
            "a subject row is listed twice", "Pass each row that passed the gate once.", row=dup
        )
    if ids is not None:
        ids = [ids[i] for i in order]
    return rows, ids
