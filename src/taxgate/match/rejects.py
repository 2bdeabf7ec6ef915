"""Quarantine: filings rows the master cannot use go to a reject file, with row, field and why."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from annotated_types import Ge, Le

from taxgate.errors import FormatError
from taxgate.formats import tables
from taxgate.formats.csvcells import ArrowCsvStream
from taxgate.formats.records import Filing
from taxgate.home import FILE_MODE, private_file

KIND = "filings"
REJECT_COLUMNS = ("file", "row", "field", "reason")
REJECTS_DIR = "rejects"
# The default reject file's name: <first file's stem>-<UTC time of the load>.csv.
STAMP = "%Y%m%dT%H%M%SZ"
# Same rules as formats.tables (its whole-number and date readers); RE2 is stricter than
# Python's `re` about digits and spaces, so a row passing here passes there too.
INT_PATTERN = r"^\s*[+-]?[0-9]{1,18}\s*$"
ISO_DATE = "%Y-%m-%d"
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
EMPTY = "empty"
NOT_WHOLE = "not a whole number"
NOT_DATE = "not a date YYYY-MM-DD"
# What a value that fails a field's pattern is, in words an operator can act on.
PATTERN_REASONS = {
    "tin": "not 9 digits",
    "state": "not a two-letter state code in capitals",
    "zip": "not a ZIP5 or ZIP+4 of digits only",
}


@dataclass(frozen=True)
class Rule:
    """What the exchange format asks of one filing field."""

    name: str
    type: pa.DataType
    required: bool
    pattern: str | None
    low: int | None
    high: int | None


def _rules() -> tuple[Rule, ...]:
    schema = tables.arrow_schema(KIND)
    rules = []
    for arrow_field in schema:
        info = Filing.model_fields[arrow_field.name]
        low = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
        rules.append(
            Rule(
                arrow_field.name,
                arrow_field.type,
                info.is_required(),
                tables.field_pattern(info),
                low,
                high,
            )
        )
    return tuple(rules)


RULES = _rules()


def text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A raw column as text, whatever type the file gave it (Parquet may type it)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_timestamp(values.type):
        values = values.cast(pa.date32())
    if pa.types.is_string(values.type):
        return values
    try:
        return values.cast(pa.string())
    except pa.ArrowException as exc:
        raise FormatError(
            f"has a column of unusable type {values.type}", "See docs/formats.md."
        ) from exc


def _mask(condition: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(condition, False).to_numpy(zero_copy_only=False), dtype=bool)


def _problems(raw: pa.Table) -> list[tuple[str, str, np.ndarray]]:
    """(field, reason, rows) for every rule some row of `raw` breaks; rows as a boolean mask."""
    found = []
    for rule in RULES:
        values = text(raw.column(rule.name))
        blank = _mask(pc.equal(pc.utf8_trim_whitespace(pc.fill_null(values, "")), ""))
        checks: list[tuple[str, np.ndarray]] = []
        if rule.required:
            checks.append((EMPTY, blank))
        if rule.pattern and pa.types.is_string(rule.type):
            bad = ~_mask(pc.match_substring_regex(values, rule.pattern)) & ~blank
            reason = PATTERN_REASONS.get(rule.name, f"does not match {rule.pattern}")
            checks.append((reason, bad))
        if pa.types.is_integer(rule.type):
            checks.extend(_integer_checks(values, rule, blank))
        if pa.types.is_date(rule.type):
            trimmed = pc.utf8_trim_whitespace(values)
            stamps = pc.strptime(trimmed, format=ISO_DATE, unit="s", error_is_null=True)
            same = pc.equal(pc.strftime(stamps, format=ISO_DATE), trimmed)
            ok = pc.and_(pc.match_substring_regex(trimmed, ISO_DATE_PATTERN), same)
            checks.append((NOT_DATE, ~_mask(ok) & ~blank))
        found.extend((rule.name, reason, rows) for reason, rows in checks if rows.any())
    return found


def _integer_checks(
    values: pa.Array, rule: Rule, blank: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    whole = _mask(pc.match_substring_regex(values, INT_PATTERN))
    checks = [(NOT_WHOLE, ~whole & ~blank)]
    if rule.low is not None or rule.high is not None:
        numbers = pc.cast(pc.if_else(whole, pc.utf8_trim_whitespace(values), None), pa.int64())
        low = rule.low if rule.low is not None else np.iinfo(np.int64).min
        high = rule.high if rule.high is not None else np.iinfo(np.int64).max
        inside = pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high))
        checks.append((f"not between {low} and {high}", ~_mask(inside) & whole))
    return checks


@dataclass
class Split:
    """One chunk parted: the rows to load (typed) and the reject lines of the others."""

    good: pa.Table
    rejects: pa.Table | None
    rejected_rows: int
    reasons: Counter[tuple[str, str]]


def _reject_table(
    raw: pa.Table, path: Path, first_row: int, problems: list[tuple[str, str, np.ndarray]]
) -> pa.Table:
    parts = []
    for name, reason, rows in problems:
        index = np.flatnonzero(rows)
        columns = {
            "file": pa.repeat(str(path), len(index)),
            "row": pa.array(index + first_row, pa.int64()),
            "field": pa.repeat(name, len(index)),
            "reason": pa.repeat(reason, len(index)),
        }
        for column in tables.columns(KIND):
            columns[column] = text(raw.column(column)).take(pa.array(index))
        parts.append(pa.table(columns))
    return pa.concat_tables(parts).sort_by([("row", "ascending"), ("field", "ascending")])


def split(raw: pa.Table, path: Path, first_row: int) -> Split:
    """Check one chunk read as is (`first_row`: the file's row number of its first row).

    Field by field, with Arrow kernels, by the rules formats.records.Filing declares
    (required, pattern, whole number and its range, date): one empty name must not refuse
    millions of good returns. One reject line per (row, field) problem.
    """
    problems = _problems(raw)
    while True:
        bad = np.zeros(raw.num_rows, dtype=bool)
        for _, _, rows in problems:
            bad |= rows
        keep = np.flatnonzero(~bad)
        good = raw.take(pa.array(keep)) if bad.any() else raw
        try:
            columns = {name: good.column(name) for name in good.column_names}
            typed = tables.conform(columns, good.num_rows, path, KIND)
            break
        except FormatError as exc:
            # A value the vectorised checks let through but the format's reader refuses: a
            # safety net (kept exact by tests), so the reader's own rules stay the last word.
            if exc.row is None or exc.row < 1:
                raise
            rows = np.zeros(raw.num_rows, dtype=bool)
            rows[keep[exc.row - 1]] = True
            problems.append((exc.field or "", exc.what, rows))
    reasons: Counter[tuple[str, str]] = Counter(
        {(name, reason): int(rows.sum()) for name, reason, rows in problems}
    )
    rejects = _reject_table(raw, path, first_row, problems) if problems else None
    return Split(typed, rejects, int(bad.sum()), reasons)


def default_path(home: Path, first_file: Path, now: datetime | None = None) -> Path:
    """HOME/rejects/<stem>-<UTC time>.csv: a new file per load, never one overwritten."""
    stamp = (now or datetime.now(UTC)).strftime(STAMP)
    return Path(home) / REJECTS_DIR / f"{Path(first_file).stem}-{stamp}.csv"


@dataclass
class RejectFile:
    """The reject CSV of one load, created (0600) at its first reject line, streamed after."""

    path: Path
    rows: int = 0
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    _writer: ArrowCsvStream | None = field(default=None, repr=False)
    _sink: object | None = field(default=None, repr=False)

    def add(self, part: Split) -> None:
        self.rows += part.rejected_rows
        self.reasons.update(part.reasons)
        if part.rejects is None:
            return
        if self._writer is None:
            private_file(self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            self._sink = os.fdopen(fd, "wb")
            self._writer = ArrowCsvStream(self._sink, part.rejects.schema)
        self._writer.write(part.rejects)

    @property
    def written(self) -> bool:
        return self._sink is not None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()  # type: ignore[union-attr]
            self._writer = None
