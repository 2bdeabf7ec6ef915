"""The database itself refuses to change or delete what the ledger has recorded.

Each append-only table gets one valid row (with the parents it needs), then plain SQL, as
anyone with a database client could type it, tries to rewrite or remove it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, Table, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from taxgate.ledger import schema
from taxgate.ledger.database import open_ledger
from taxgate.ledger.schema import APPEND_ONLY_TABLES

AT = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
DAY = date(2025, 8, 1)
HASH = "ab" * 32
BATCH = "B-1"
NOTICE = "R-1"

# One valid row per table, parents first; every append-only table is covered.
ROWS: dict[str, dict] = {
    "batches": dict(
        batch_id=BATCH,
        manifest_sha256=HASH,
        requesting_agency="Requesting Agency",
        signer_key_id="ed25519:abc",
        statute="26 U.S.C. 6103(i)(2)",
        batch_date=DAY,
        received_at=AT,
        subject_count=1,
        status="received",
    ),
    "subjects": dict(batch_id=BATCH, row=0, subject_id="S-1", subject_key=HASH, proceed=True),
    "subject_data": dict(batch_id=BATCH, row=0, fields='{"given_name": "Maria"}', received_at=AT),
    "decisions": dict(
        batch_id=BATCH,
        row=0,
        outcome="CONFIRMED",
        tin="123456789",
        address_id="A-1",
        match_probability=0.999,
        match_weight=12.5,
        reasons=None,
        policy_version="2025.1",
        policy_sha256=HASH,
        model_sha256=HASH,
        explanation="{}",
        decided_at=AT,
    ),
    "reviews": dict(
        id=1,
        batch_id=BATCH,
        row=0,
        resolution="CONFIRMED",
        officer="officer-7",
        note="address corroborated",
        reviewed_at=AT,
    ),
    "disclosures": dict(
        batch_id=BATCH,
        row=0,
        subject_id="S-1",
        recipient_agency="Requesting Agency",
        statute="26 U.S.C. 6103(i)(2)",
        fields_disclosed="street;unit;city;state;zip",
        address_tax_year=2024,
        address_key=HASH,
        policy_version="2025.1",
        policy_sha256=HASH,
        model_sha256=HASH,
        disclosed_at=AT,
    ),
    "responses": dict(
        batch_id=BATCH, manifest_sha256=HASH, path="answer/response.json", released_at=AT
    ),
    "recalls": dict(
        notice_id=NOTICE,
        plan_sha256=HASH,
        policy_version="2025.1",
        policy_sha256=HASH,
        issued_at=AT,
        notice_sha256=HASH,
        notice_path="recalls/R-1.json",
    ),
    "recall_items": dict(notice_id=NOTICE, batch_id=BATCH, row=0, reasons="MODEL_DEFECT"),
    "acknowledgements": dict(
        id=1, notice_id=NOTICE, acknowledged_by="Requesting Agency", acknowledged_at=AT
    ),
    "log_events": dict(
        seq=0,
        kind="decision",
        batch_id=BATCH,
        event_key="decision:B-1:0",
        body='{"row":0}',
        leaf_hash=HASH,
        recorded_at=AT,
    ),
    "checkpoints": dict(tree_size=1, root_hash=HASH, signed_at=AT, note="taxgate\n1\nq83=\n"),
    "purges": dict(id=1, before_date=DAY, purged_at=AT, subjects_purged=0),
    "refused_batches": dict(
        manifest_sha256=HASH,
        claimed_batch_id=BATCH,
        reason="SIGNATURE_INVALID",
        message="the signature does not verify",
        policy_version="2025.2",
        policy_sha256=HASH,
        received_at=AT,
    ),
}

# A change to one ordinary column of each append-only table.
UPDATES = {
    "reviews": "note = 'rewritten'",
    "disclosures": "statute = 'rewritten'",
    "responses": "path = 'rewritten'",
    "recalls": "notice_path = 'rewritten'",
    "recall_items": "reasons = 'rewritten'",
    "acknowledgements": "acknowledged_by = 'rewritten'",
    "log_events": "body = 'rewritten'",
    "checkpoints": "root_hash = 'rewritten'",
    "purges": "subjects_purged = 99",
    "refused_batches": "reason = 'rewritten'",
}

POSTGRES_ONLY = [pytest.param("postgresql", marks=pytest.mark.postgres)]


def test_every_append_only_table_is_tested() -> None:
    assert set(UPDATES) == set(APPEND_ONLY_TABLES)
    assert set(ROWS) == set(schema.metadata.tables) - {"gate_batches", "gate_people"}


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    with engine.begin() as conn:
        for name, row in ROWS.items():
            conn.execute(insert(_table(name)).values(**row))
    yield engine
    engine.dispose()


def _table(name: str) -> Table:
    return schema.metadata.tables[name]


def _rows(engine: Engine, name: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(_table(name)))]


def _refused(engine: Engine, name: str, statement: str) -> None:
    """`statement` fails with the trigger's message and leaves the table as it was."""
    before = _rows(engine, name)
    with pytest.raises(IntegrityError, match=f"{name} is append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert _rows(engine, name) == before and len(before) == 1


@pytest.mark.parametrize("name", APPEND_ONLY_TABLES)
def test_update_and_delete_are_refused(ledger: Engine, name: str) -> None:
    _refused(ledger, name, f"UPDATE {name} SET {UPDATES[name]}")
    _refused(ledger, name, f"DELETE FROM {name}")


@pytest.mark.parametrize("database_url", POSTGRES_ONLY, indirect=True)
@pytest.mark.parametrize("name", APPEND_ONLY_TABLES)
def test_truncate_is_refused_on_postgresql(ledger: Engine, name: str) -> None:
    before = _rows(ledger, name)
    # CASCADE, so a table others refer to reaches its trigger instead of a foreign-key error.
    with pytest.raises(DBAPIError, match="is append-only"), ledger.begin() as conn:
        conn.execute(text(f"TRUNCATE {name} CASCADE"))
    assert _rows(ledger, name) == before


def test_purge_may_delete_subject_data(ledger: Engine) -> None:
    with ledger.begin() as conn:
        conn.execute(
            text("DELETE FROM subject_data WHERE received_at < :cut"),
            {"cut": AT.replace(year=2026)},
        )
    assert _rows(ledger, "subject_data") == []
    assert len(_rows(ledger, "subjects")) == 1  # the accounting of who was asked stays


def test_batch_status_moves_forward(ledger: Engine) -> None:
    with ledger.begin() as conn:
        conn.execute(
            text("UPDATE batches SET status = 'released' WHERE batch_id = :b"), {"b": BATCH}
        )
        status = conn.execute(text("SELECT status FROM batches")).scalar_one()
    assert status == "released"


def test_a_status_outside_the_list_is_refused(ledger: Engine) -> None:
    with pytest.raises(IntegrityError), ledger.begin() as conn:
        conn.execute(text("UPDATE batches SET status = 'lost' WHERE batch_id = :b"), {"b": BATCH})
