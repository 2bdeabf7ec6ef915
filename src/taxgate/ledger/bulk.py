"""Many rows into one ledger table through the driver, bound exactly as SQLAlchemy binds them.

SQLAlchemy's executemany builds and processes a parameter dictionary per row: on 100,000
subjects against 1M people that handling took about a third of the recording's profile
samples, more than the database's executemany itself (bench/README.md, round four). Here
each column's own bind processor (a DateTime as SQLite stores it, say) is applied once per
value and the tuples go to the driver's executemany: the stored values are those
`insert(table)` would store (tests/ledger/test_bulk.py). Columns left out of the rows are left
to their defaults, as `insert(table)` leaves them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table

CHUNK_ROWS = 5_000  # rows per executemany: bounded memory, few round trips


def _processor(conn: Connection, table: Table, name: str) -> Callable[[Any], Any] | None:
    column_type = table.c[name].type.dialect_impl(conn.dialect)
    return column_type.bind_processor(conn.dialect)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (mappings with the same keys, each a column of `table`) into `table`."""
    if not rows:
        return
    names = list(rows[0])
    processors = [_processor(conn, table, name) for name in names]
    quote = conn.dialect.identifier_preparer
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.quote(n) for n in names)}) VALUES ({', '.join([marker] * len(names))})"
    )
    bound = list(zip(names, processors, strict=True))
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        conn.exec_driver_sql(
            sql,
            [tuple(p(r[n]) if p else r[n] for n, p in bound) for r in chunk],
        )
