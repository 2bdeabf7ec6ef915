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
from taxgate.match.rejects import INT_PATTERN, Split, split, text

KIND = "filings"
# Rows per chunk for CSV and JSON Lines (Parquet keeps its own row groups): large enough for
# vectorised normalising, small enough to keep memory flat.
TEXT_CHUNK_ROWS = 200_000
FIRST_ROW = 1  # data rows count from 1 (row 0 is a CSV header), as in formats.tables


def _as_table(columns: dict[str, list | pa.Array]) -> pa.Table:
    """Columns as `tables.read_columns` gives them (lists from the exact readers) as a table."""
    return pa.table(
        {
            name: values if isinstance(values, pa.Array | pa.ChunkedArray)
            else pa.array(values, pa.string())
            for name, values in columns.items()
        }
    )  # fmt: skip


@dataclass
class FilingsSource:
    """One filings file: its row count and tax years up front, then its rows in chunks.

    The file's structure (readable, the filings columns, the format) is checked up front and
    refuses the file; its values are checked per chunk, and a bad row is only set aside
    (`taxgate.match.rejects`).
    """

    path: Path
    _table: pa.Table | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_file():
            raise FormatError("file not found", "Check the path.", file=self.path)
        if self._is_parquet:
            try:
                self._parquet = pq.ParquetFile(self.path)
                names = self._parquet.schema_arrow.names
            except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
                raise FormatError(
                    f"is not a readable Parquet file ({exc})",
                    "Write it again as Parquet.",
                    file=self.path,
                ) from exc
            tables.check_header(names, self.path, KIND)
        else:
            columns, _ = tables.read_columns(self.path, KIND)
            self._table = _as_table(columns)

    @property
    def _is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    @property
    def rows(self) -> int:
        if self._table is not None:
            return self._table.num_rows
        return self._parquet.metadata.num_rows

    @property
    def chunk_count(self) -> int:
        """How many chunks `chunks` yields."""
        if self._table is not None:
            return -(-self._table.num_rows // TEXT_CHUNK_ROWS)
        return self._parquet.num_row_groups

    def tax_years(self) -> set[int]:
        """The tax years the file's readable rows name (one column only, for Parquet)."""
        if self._table is not None:
            years = self._table.column("tax_year")
        else:
            try:
                years = self._parquet.read(columns=["tax_year"]).column("tax_year")
            except (pa.ArrowException, KeyError) as exc:
                raise FormatError(
                    "has no readable tax_year column", "See docs/formats.md.", file=self.path
                ) from exc
        values = pc.utf8_trim_whitespace(text(years))
        whole = pc.if_else(pc.match_substring_regex(values, INT_PATTERN), values, None)
        return {int(y) for y in pc.unique(whole.cast(pa.int64())).to_pylist() if y is not None}

    def chunks(self) -> Iterator[Split]:
        """Each chunk in file order (Parquet row groups, or slices of a text file), split into
        typed rows to load and the reject lines of rows that cannot be loaded."""
        first_row = FIRST_ROW
        for raw in self._raw_chunks():
            try:
                yield split(raw, self.path, first_row)
            except FormatError as exc:
                exc.file = exc.file or self.path
                if exc.row is not None and exc.row > 0:
                    exc.row += first_row - 1
                raise
            first_row += raw.num_rows

    def _raw_chunks(self) -> Iterator[pa.Table]:
        if self._table is not None:
            for start in range(0, self._table.num_rows, TEXT_CHUNK_ROWS):
                yield self._table.slice(start, TEXT_CHUNK_ROWS)
            return
        for group in range(self._parquet.num_row_groups):
            try:
                raw = self._parquet.read_row_group(group)
                raw.validate(full=True)  # text that is not UTF-8 is refused here
            except (pa.ArrowException, OSError) as exc:
                raise FormatError(
                    f"is not a readable Parquet file ({exc})",
                    "Write it again as Parquet.",
                    file=self.path,
                ) from exc
            yield raw.rename_columns([n.strip().lstrip("\ufeff") for n in raw.column_names])
