"""`normalise`: filings and subjects into the normalised people of docs/matching.md section 1.

One code path for both kinds: a column the kind does not carry (subjects have no suffix field)
is read as empty, and the kind only chooses which identifying columns are kept. Python work
runs once per distinct name, street, unit, city or state; the rest is Arrow kernels.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.normalize.address import city_name, state_code, street_columns, unit_id, zip5_array
from taxgate.normalize.columns import as_array, concat_lists, per_distinct
from taxgate.normalize.names import family_parts, given_parts, middle_parts, suffix_of
from taxgate.normalize.nicknames import canonical
from taxgate.normalize.phonetic import phonetic_key
from taxgate.normalize.text import visible_array

Kind = Literal["filings", "subjects"]
TOKENS = pa.list_(pa.string())
NORMALISED = pa.schema(
    [
        ("given", pa.string()),
        ("given_first", pa.string()),
        ("given_canonical", pa.string()),
        ("given_tokens", TOKENS),
        ("given_phonetic", pa.string()),
        ("family", pa.string()),
        ("family_first", pa.string()),
        ("family_tokens", TOKENS),
        ("family_phonetic", pa.string()),
        ("name_tokens", TOKENS),
        ("suffix", pa.string()),
        ("dob", pa.date32()),
        ("tin", pa.string()),
        ("house_number", pa.string()),
        ("street_name", pa.string()),
        ("unit", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip5", pa.string()),
    ]
)
KEPT: dict[str, pa.Schema] = {
    "subjects": pa.schema([("row", pa.int64()), ("subject_id", pa.string())]),
    "filings": pa.schema(
        [("tin", pa.string()), ("tax_year", pa.int64()), ("filed_on", pa.date32())]
    ),
}
TIN_DIGITS = 9
ISO_DATE = "%Y-%m-%d"
EARLIEST_DATE = date(1800, 1, 1)  # older "dates" are typing errors, not birth dates
FIRST_ROW = 1


def schema(kind: Kind) -> pa.Schema:
    """The output schema: the kind's identifying columns, then the normalised ones."""
    kept = KEPT[kind]
    return pa.schema(list(kept) + [f for f in NORMALISED if f.name not in kept.names])


def _column(table: pa.Table, name: str) -> pa.Array:
    """The column as one array; a column the table lacks reads as all null."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return as_array(table.column(name))


def _text_column(table: pa.Table, name: str) -> pa.Array:
    return _text(_column(table, name))


def _text(values: pa.Array) -> pa.Array:
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), None, values)


# ------------------------------------------------------------------------- names, per distinct


def _tokens(tokens: tuple[str, ...]) -> list[str] | None:
    return list(tokens) or None


def _given(text: str) -> tuple[object, ...]:
    parts = given_parts(text)
    if not parts.tokens:
        return None, None, None, None, None, parts.suffix
    first = parts.tokens[0]
    canon = canonical(first) or None
    return (
        " ".join(parts.tokens),
        first,
        canon,
        phonetic_key(canon) or None,
        _tokens(tuple(canonical(t) or t for t in parts.tokens)),
        parts.suffix,
    )


def _middle(text: str) -> tuple[object, ...]:
    parts = middle_parts(text)
    return _tokens(tuple(canonical(t) or t for t in parts.tokens)), parts.suffix


def _family(text: str) -> tuple[object, ...]:
    parts = family_parts(text)
    if not parts.tokens:
        return None, None, None, None, parts.suffix
    first = parts.tokens[0]
    return (
        " ".join(parts.tokens),
        first,
        list(parts.tokens),
        phonetic_key(first) or None,
        parts.suffix,
    )


def _names(table: pa.Table) -> dict[str, pa.Array]:
    string = pa.string()
    given, given_first, given_canonical, given_phonetic, given_tokens, given_suffix = per_distinct(
        _text_column(table, "given_name"), _given, (string,) * 4 + (TOKENS, string)
    )
    middle_tokens, middle_suffix = per_distinct(
        _text_column(table, "middle_name"), _middle, (TOKENS, string)
    )
    family, family_first, family_tokens, family_phonetic, family_suffix = per_distinct(
        _text_column(table, "family_name"), _family, (string, string, TOKENS, string, string)
    )
    (field_suffix,) = per_distinct(
        _text_column(table, "suffix"), lambda s: (suffix_of(s),), (string,)
    )
    all_given = concat_lists(given_tokens, middle_tokens)
    return {
        "given": given,
        "given_first": given_first,
        "given_canonical": given_canonical,
        "given_tokens": all_given,
        "given_phonetic": given_phonetic,
        "family": family,
        "family_first": family_first,
        "family_tokens": family_tokens,
        "family_phonetic": family_phonetic,
        "name_tokens": concat_lists(all_given, family_tokens),
        "suffix": pc.coalesce(field_suffix, family_suffix, given_suffix, middle_suffix),
    }


# ---------------------------------------------------------------------- dates, numbers, ids


def _dates(values: pa.Array) -> pa.Array:
    """A date column as date32: ISO text parsed (impossible dates such as 02-30 -> null)."""
    if pa.types.is_date32(values.type):
        parsed = values
    elif pa.types.is_temporal(values.type):
        parsed = values.cast(pa.date32())
    else:
        text = pc.utf8_trim_whitespace(visible_array(_text(values)))
        stamps = pc.strptime(text, format=ISO_DATE, unit="s", error_is_null=True)
        parsed = pc.cast(stamps, pa.date32())
        round_trip = pc.equal(pc.strftime(stamps, format=ISO_DATE), text)
        parsed = pc.if_else(pc.fill_null(round_trip, False), parsed, None)
    earliest = pa.scalar(EARLIEST_DATE, pa.date32())
    return pc.if_else(pc.fill_null(pc.greater_equal(parsed, earliest), False), parsed, None)


def _integers(values: pa.Array) -> pa.Array:
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64())
    text = pc.utf8_trim_whitespace(_text(values))
    digits = pc.if_else(pc.match_substring_regex(text, r"^-?[0-9]{1,18}$"), text, None)
    return digits.cast(pa.int64())


def _tins(values: pa.Array) -> pa.Array:
    """Digits only ('123-45-6789' -> '123456789'); null unless exactly nine digits."""
    digits = pc.replace_substring_regex(_text(values), r"[^0-9]", "")
    return pc.if_else(pc.equal(pc.utf8_length(digits), TIN_DIGITS), digits, None)


# ----------------------------------------------------------------------------------- address


def _address(table: pa.Table) -> dict[str, pa.Array]:
    string = pa.string()
    house_number, street_name, street_unit = street_columns(_text_column(table, "street"))
    (field_unit,) = per_distinct(_text_column(table, "unit"), lambda u: (unit_id(u),), (string,))
    (city,) = per_distinct(_text_column(table, "city"), lambda c: (city_name(c),), (string,))
    (state,) = per_distinct(_text_column(table, "state"), lambda s: (state_code(s),), (string,))
    return {
        "house_number": house_number,
        "street_name": street_name,
        "unit": pc.coalesce(field_unit, street_unit),
        "city": city,
        "state": state,
        "zip5": zip5_array(_text_column(table, "zip")),
    }


def normalise(table: pa.Table, kind: Kind) -> pa.Table:
    """Normalised people from a filings or subjects table (docs/matching.md section 1)."""
    out_schema = schema(kind)
    columns: dict[str, pa.Array] = {
        "row": pa.array(np.arange(FIRST_ROW, table.num_rows + FIRST_ROW), pa.int64()),
        "subject_id": _text_column(table, "subject_id"),
        "tax_year": _integers(_column(table, "tax_year")),
        "filed_on": _dates(_column(table, "filed_on")),
        "dob": _dates(_column(table, "date_of_birth")),
        "tin": _tins(_column(table, "tin")),
        **_names(table),
        **_address(table),
    }
    arrays = []
    for field in out_schema:
        values = columns[field.name]
        if pa.types.is_string(field.type):
            values = _blank_to_null(values)
        arrays.append(values.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=out_schema)
