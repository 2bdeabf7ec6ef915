"""The gate's memory in the ledger database: batch ids received, keyed hashes of people asked."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Column,
    Date,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from taxgate.gate.history import ReceivedBatch

metadata = MetaData()

gate_batches = Table(
    "gate_batches",
    metadata,
    Column("batch_id", String(200), primary_key=True),
    Column("manifest_sha256", String(64), nullable=False),
    Column("received_on", Date, nullable=False),
)

gate_people = Table(
    "gate_people",
    metadata,
    Column("person_key", String(64), primary_key=True),
    Column("batch_id", String(200), primary_key=True),
    Column("submitted_on", Date, nullable=False),
)

QUERY_CHUNK = 5_000  # bound on parameters per IN (...) query


class SqlGateHistory:
    """GateHistory on SQLite or PostgreSQL; the ledger issue moves these tables under Alembic."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def received(self, batch_id: str) -> ReceivedBatch | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(gate_batches).where(gate_batches.c.batch_id == batch_id)
            ).first()
        return ReceivedBatch(row.batch_id, row.manifest_sha256, row.received_on) if row else None

    def asked_since(self, person_keys: set[str], since: date) -> set[str]:
        keys = sorted(person_keys)
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), QUERY_CHUNK):
                chunk = keys[start : start + QUERY_CHUNK]
                found.update(
                    conn.execute(
                        select(gate_people.c.person_key).where(
                            gate_people.c.person_key.in_(chunk),
                            gate_people.c.submitted_on >= since,
                        )
                    ).scalars()
                )
        return found

    def remember(self, batch: ReceivedBatch, person_keys: set[str], submitted_on: date) -> None:
        rows = [
            {"person_key": k, "batch_id": batch.batch_id, "submitted_on": submitted_on}
            for k in sorted(person_keys)
        ]
        with self.engine.begin() as conn:
            conn.execute(
                insert(gate_batches).values(
                    batch_id=batch.batch_id,
                    manifest_sha256=batch.manifest_sha256,
                    received_on=batch.received_on,
                )
            )
            for start in range(0, len(rows), QUERY_CHUNK):
                conn.execute(insert(gate_people), rows[start : start + QUERY_CHUNK])
