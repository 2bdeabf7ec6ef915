"""The gate's memory in the ledger database: batch ids received, keyed hashes of people asked."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, insert, select

from taxgate.gate.history import ReceivedBatch
from taxgate.ledger.schema import gate_batches, gate_people

QUERY_CHUNK = 5_000  # bound on parameters per IN (...) query


class SqlGateHistory:
    """GateHistory on SQLite or PostgreSQL, in the ledger's own tables.

    `engine` must come from `taxgate.ledger.database.open_ledger`, which has migrated it: the
    tables belong to the ledger's migrations, so this class never creates them.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        with self.engine.begin() as conn:
            remember_in(conn, batch, person_keys, submitted_on)


def remember_in(
    conn: Connection, batch: ReceivedBatch, person_keys: set[str], submitted_on: date
) -> None:
    """Remember a batch inside the caller's transaction (the pipeline's gate record)."""
    conn.execute(
        insert(gate_batches).values(
            batch_id=batch.batch_id,
            manifest_sha256=batch.manifest_sha256,
            received_on=batch.received_on,
        )
    )
    rows = [
        {"person_key": k, "batch_id": batch.batch_id, "submitted_on": submitted_on}
        for k in sorted(person_keys)
    ]
    for start in range(0, len(rows), QUERY_CHUNK):
        conn.execute(insert(gate_people), rows[start : start + QUERY_CHUNK])
