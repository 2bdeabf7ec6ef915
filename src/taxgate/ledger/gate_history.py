"""The gate's memory in the ledger database: batch ids received, keyed hashes of people asked."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select

from taxgate.gate.history import ReceivedBatch
from taxgate.ledger.events import append_events
from taxgate.ledger.projection import gate_memory_event
from taxgate.ledger.schema import gate_batches, gate_people

QUERY_CHUNK = 5_000  # bound on parameters per IN (...) query


class SqlGateHistory:
    """GateHistory on SQLite or PostgreSQL, in the ledger's own tables.

    `engine` must come from `taxgate.ledger.database.open_ledger`, which has migrated it: the
    tables belong to the ledger's migrations, so this class never creates them.
    """

    def __init__(self, engine: Engine, examining: ReceivedBatch | None = None) -> None:
        self.engine = engine
        # The batch `taxgate process` is examining: a record of this very manifest (left by
        # `taxgate gate`, which remembers without processing) is the batch itself, not an
        # earlier one, so it neither makes a re-submission nor a re-request.
        self.examining = examining

    def _is_examined(self, batch_id: str, manifest_sha256: str) -> bool:
        return (
            self.examining is not None
            and self.examining.batch_id == batch_id
            and self.examining.manifest_sha256 == manifest_sha256
        )

    def received(self, batch_id: str) -> ReceivedBatch | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(gate_batches).where(gate_batches.c.batch_id == batch_id)
            ).first()
        if row is None or self._is_examined(row.batch_id, row.manifest_sha256):
            return None
        return ReceivedBatch(row.batch_id, row.manifest_sha256, row.received_on)

    def asked_since(self, person_keys: set[str], since: date) -> set[str]:
        keys = sorted(person_keys)
        found: set[str] = set()
        own = [gate_people.c.batch_id != self.examining.batch_id] if self.examining else []
        with self.engine.connect() as conn:
            for start in range(0, len(keys), QUERY_CHUNK):
                chunk = keys[start : start + QUERY_CHUNK]
                found.update(
                    conn.execute(
                        select(gate_people.c.person_key).where(
                            gate_people.c.person_key.in_(chunk),
                            gate_people.c.asked_on >= since,
                            *own,
                        )
                    ).scalars()
                )
        return found

    def remember(self, batch: ReceivedBatch, person_keys: set[str], asked_on: date) -> None:
        with self.engine.begin() as conn:
            remember_in(conn, batch, person_keys, asked_on)


def remember_in(
    conn: Connection,
    batch: ReceivedBatch,
    person_keys: set[str],
    asked_on: date,
    now: datetime | None = None,
) -> None:
    """Remember a batch inside the caller's transaction (the pipeline's gate record).

    `asked_on` is the batch's receipt day by the gateway's clock (never the requester's date):
    the re-request window counts from it. A batch `taxgate gate` already remembered keeps that
    record; only people not yet remembered under it are added, with a GATE_MEMORY event
    accounting for them (recorded at `now`).
    """
    known = conn.execute(
        select(gate_batches.c.batch_id).where(gate_batches.c.batch_id == batch.batch_id)
    ).first()
    remembered: set[str] = set()
    if known is None:
        conn.execute(
            insert(gate_batches).values(
                batch_id=batch.batch_id,
                manifest_sha256=batch.manifest_sha256,
                received_on=batch.received_on,
            )
        )
    else:
        remembered = set(
            conn.execute(
                select(gate_people.c.person_key).where(gate_people.c.batch_id == batch.batch_id)
            ).scalars()
        )
    rows = [
        {"person_key": k, "batch_id": batch.batch_id, "asked_on": asked_on}
        for k in sorted(person_keys - remembered)
    ]
    for start in range(0, len(rows), QUERY_CHUNK):
        conn.execute(insert(gate_people), rows[start : start + QUERY_CHUNK])
    if known is None or rows:
        event = gate_memory_event(batch.batch_id, batch.manifest_sha256, batch.received_on, rows)
        append_events(conn, [event], now or datetime.now(UTC))
