"""CSV cells that a spreadsheet will not run: the one neutraliser every CSV writer uses.

A text cell a spreadsheet could read as a formula (OWASP "CSV Injection": a first character
`=`, `+`, `-`, `@`, tab or carriage return, also after leading spaces or invisible characters,
and their full-width forms) is written with a single quote in front, and every text cell is
quoted. Numbers in numeric columns are written as numbers: -5 in an integer column stays -5.

The quote is reversible. `neutralise` also prefixes a cell that starts with quotes followed by
a trigger, so `restore` (used by our CSV reader) drops exactly one leading quote exactly when
`neutralise` added one: every text survives a round trip, and a value such as "'t Hooft" that
was never neutralised is read as it was written. Spreadsheets show a leading quote as the text
marker and hide it, so what a person sees is what `restore` returns.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

QUOTE = "'"
# OWASP's characters, plus line feed and the full-width and minus-sign forms some spreadsheets
# also accept as the start of a formula.
TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20\u2212\ufe62\ufe63")
# Characters a spreadsheet may skip before it sees the trigger: spaces and separators (Z*),
# format characters such as zero-width spaces and bidi marks (Cf), and control characters (Cc).
_SKIPPED_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc"})
# A cheap first-character filter for whole Arrow columns (RE2 syntax): only cells matching it
# can need a quote, so a column of names and digits is written without a Python pass.
_MAYBE = r"^['\p{Z}\p{Cf}\p{Cc}=+\-@\x{ff1d}\x{ff0b}\x{ff0d}\x{ff20}\x{2212}\x{fe62}\x{fe63}]"


def _starts_formula(text: str) -> bool:
    """True when the first character a spreadsheet would act on is a formula trigger."""
    for char in text:
        if char in TRIGGERS:
            return True
        if unicodedata.category(char) not in _SKIPPED_CATEGORIES:
            return False
    return False


def needs_quote(text: str) -> bool:
    """True for text that `neutralise` prefixes: quotes, if any, then a formula start."""
    return _starts_formula(text.lstrip(QUOTE))


def neutralise(value: Any) -> Any:
    """The cell as written: text that could start a formula gets a leading quote.

    Non-text values (numbers, dates, None) are returned unchanged.
    """
    if isinstance(value, str) and value and not value[0].isalnum() and needs_quote(value):
        return QUOTE + value
    return value


def restore(value: Any) -> Any:
    """The value a neutralised cell stood for: the inverse of `neutralise` on every text."""
    if isinstance(value, str) and value.startswith(QUOTE) and needs_quote(value[1:]):
        return value[1:]
    return value


def _map_column(array: pa.Array, func) -> pa.Array:
    maybe = pc.match_substring_regex(array, _MAYBE)
    if not pc.any(pc.fill_null(maybe, False)).as_py():
        return array
    return pa.array([func(v) for v in array.to_pylist()], array.type)


def neutralise_table(table: pa.Table) -> pa.Table:
    """The table with every text column neutralised; other columns are untouched."""
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            column = table.column(i).combine_chunks()
            table = table.set_column(i, field, _map_column(column, neutralise))
    return table


def restore_array(array: pa.Array) -> pa.Array:
    """A text column as read from CSV, with the quotes `neutralise` added removed."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return array
    starts = pc.starts_with(array, QUOTE)
    if not pc.any(pc.fill_null(starts, False)).as_py():
        return array
    return pa.array([restore(v) for v in array.to_pylist()], array.type)


def write_arrow_csv(table: pa.Table, destination: Path | Any) -> None:
    """Write an Arrow table as CSV, text neutralised and quoted; numbers stay numbers."""
    pacsv.write_csv(
        neutralise_table(table),
        destination,
        write_options=pacsv.WriteOptions(quoting_style="needed"),  # "needed" quotes all text
    )


class ArrowCsvStream:
    """An Arrow CSV writer fed table by table (a streamed file such as a load's rejects), each
    table neutralised and quoted as `write_arrow_csv` does."""

    def __init__(self, sink: Any, schema: pa.Schema) -> None:
        options = pacsv.WriteOptions(quoting_style="needed")  # "needed" quotes all text
        self._writer = pacsv.CSVWriter(sink, schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(neutralise_table(table))

    def close(self) -> None:
        self._writer.close()


def write_csv_rows(
    fh: TextIO,
    header: Iterable[str],
    rows: Iterable[Iterable[Any]],
    *,
    lineterminator: str = "\r\n",
) -> None:
    """Write rows with the csv module: text neutralised and quoted, numbers bare."""
    writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC, lineterminator=lineterminator)
    writer.writerow(list(header))
    writer.writerows([_cell(v) for v in row] for row in rows)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    return neutralise(str(value))
