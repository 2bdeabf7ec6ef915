"""Read filings files chunk by chunk, so a master load never holds millions of returns at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from taxgate.errors import FormatError
from taxgate.formats import tables

KIND = "filings"
# Rows per chunk for CSV and JSON Lines (Parquet keeps its own row groups): large enough for
# vectorised normalising, small enough to keep memory flat.
TEXT_CHUNK_ROWS = 200_000


def _conform(raw: pa.Table, path: Path, first_row: int) -> pa.Table:
    """Validate and type one chunk exactly as `read_table` would, with file-wide row numbers.

    formats.tables has no public chunk reader yet; this uses its private conformer so that a
    chunk is checked by the same rules as a whole file.
    """
    try:
        columns = {name: raw.column(name).combine_chunks() for name in raw.column_names}
        tables._header(raw.column_names, path, KIND)
        return tables._conform(columns, raw.num_rows, path, KIND)
    except FormatError as exc:
        if exc.row is not None and exc.row > 0:
            exc.row += first_row - 1
        raise


@dataclass
class FilingsSource:
    """One filings file: its row count and tax years up front, then its rows in chunks."""

    path: Path
    _table: pa.Table | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_file():
            raise FormatError("file not found", "Check the path.", file=self.path)
        if self._is_parquet:
            try:
                self._parquet = pq.ParquetFile(self.path)
            except (pa.ArrowException, OSError) as exc:
                raise FormatError(
                    f"is not a readable Parquet file ({exc})",
                    "Write it again as Parquet.",
                    file=self.path,
                ) from exc
        else:
            self._table = tables.read_table(self.path, KIND)

    @property
    def _is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    @property
    def rows(self) -> int:
        if self._table is not None:
            return self._table.num_rows
        return self._parquet.metadata.num_rows

    def tax_years(self) -> set[int]:
        """The tax years in the file (read from one column only, for Parquet)."""
        if self._table is not None:
            years = self._table.column("tax_year")
        else:
            try:
                years = self._parquet.read(columns=["tax_year"]).column("tax_year")
            except (pa.ArrowException, KeyError) as exc:
                raise FormatError(
                    "has no readable tax_year column", "See docs/formats.md.", file=self.path
                ) from exc
            years = pc.cast(years, pa.int64(), safe=False)
        return {int(y) for y in pc.unique(years).to_pylist() if y is not None}

    def chunks(self) -> Iterator[pa.Table]:
        """Validated, typed chunks in file order: Parquet row groups, or slices of a text file."""
        if self._table is not None:
            for start in range(0, self._table.num_rows, TEXT_CHUNK_ROWS):
                yield self._table.slice(start, TEXT_CHUNK_ROWS)
            return
        first_row = 1
        for group in range(self._parquet.num_row_groups):
            raw = self._parquet.read_row_group(group)
            yield _conform(raw, self.path, first_row)
            first_row += raw.num_rows
