"""Rows inserted through the driver are stored exactly as SQLAlchemy's insert stores them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from taxgate.ledger import schema as t
from taxgate.ledger.bulk import CHUNK_ROWS, insert_rows
from taxgate.ledger.database import open_ledger

AT = datetime(2026, 12, 2, 10, 30, 15, 123456, tzinfo=UTC)


def batch(batch_id: str) -> dict:
    return {
        "batch_id": batch_id, "manifest_sha256": "a" * 64, "requesting_agency": "Agency",
        "signer_key_id": "ed25519:00", "statute": "26 U.S.C. 6103(i)(2)",
        "batch_date": date(2026, 12, 1), "received_at": AT, "subject_count": 2,
        "status": "gated",
    }  # fmt: skip


def subject_rows(batch_id: str, count: int) -> list[dict]:
    return [
        {"batch_id": batch_id, "row": r, "subject_id": None if r % 7 == 0 else f"S-{r}",
         "subject_key": f"{r:064x}", "proceed": r % 2 == 0, "reason_codes": "R'; DROP --"}
        for r in range(1, count + 1)
    ]  # fmt: skip


def data_rows(batch_id: str, count: int) -> list[dict]:
    return [
        {"batch_id": batch_id, "row": r, "fields": '{"name": "Zoë \\u0000 %s ?"}',
         "received_at": AT + timedelta(microseconds=r)}
        for r in range(1, count + 1)
    ]  # fmt: skip


def stored(engine, table: str, batch_id: str) -> list[tuple]:
    """The values as the driver returns them, untouched by SQLAlchemy's result processing."""
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f'SELECT * FROM {table} WHERE batch_id = {marker} ORDER BY "row"', (batch_id,)
        ).fetchall()
    return [tuple(v for v in row[1:]) for row in rows]  # all but batch_id


def test_the_driver_stores_what_sqlalchemy_stores(database_url: str) -> None:
    engine = open_ledger(database_url)
    count = CHUNK_ROWS + 3  # more than one executemany
    with engine.begin() as conn:
        for batch_id in ("core", "bulk"):
            conn.execute(insert(t.batches).values(**batch(batch_id)))
        conn.execute(insert(t.subjects), subject_rows("core", count))
        conn.execute(insert(t.subject_data), data_rows("core", count))
        insert_rows(conn, t.subjects, subject_rows("bulk", count))
        insert_rows(conn, t.subject_data, data_rows("bulk", count))
        insert_rows(conn, t.subjects, [])
    for table in ("subjects", "subject_data"):
        core, bulk = stored(engine, table, "core"), stored(engine, table, "bulk")
        assert len(core) == count and bulk == core, table
    engine.dispose()
