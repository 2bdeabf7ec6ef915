"""The ledger: batches, subjects, decisions, reviews, disclosures, recalls, the log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written by hand and frozen: it spells out every table instead of importing
taxgate.ledger.schema, so it keeps creating the same schema however schema.py changes later.
Tables that record what was done (reviews, disclosures, ...) are append-only in the database
itself: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) whoever connects.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 200
HEX64 = 64
CODE = 32
VERSION = 100
EVENT_KEY = 200

APPEND_ONLY = (
    "reviews",
    "disclosures",
    "responses",
    "recalls",
    "recall_items",
    "acknowledgements",
    "log_events",
    "checkpoints",
    "purges",
    "refused_batches",
)
PG_FUNCTION = "taxgate_append_only"


def _at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _row_of(table: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["batch_id", "row"],
        [f"{parent}.batch_id", f"{parent}.row"],
        name=f"fk_{table}_batch_id_{parent}",
    )


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("manifest_sha256", sa.String(HEX64), nullable=False),
        sa.Column("requesting_agency", sa.Text(), nullable=False),
        sa.Column("signer_key_id", sa.Text(), nullable=False),
        sa.Column("statute", sa.Text(), nullable=False),
        sa.Column("batch_date", sa.Date(), nullable=False),
        _at("received_at"),
        sa.Column("subject_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(CODE), nullable=False),
        sa.Column("response_manifest_sha256", sa.String(HEX64), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", name="pk_batches"),
        sa.CheckConstraint(
            "status IN ('received', 'gated', 'decided', 'awaiting_review', 'released')",
            name="ck_batches_status",
        ),
    )
    op.create_index("ix_batches_batch_date", "batches", ["batch_date"])
    op.create_index("ix_batches_received_at", "batches", ["received_at"])
    op.create_index("ix_batches_status", "batches", ["status"])

    op.create_table(
        "gate_batches",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("manifest_sha256", sa.String(HEX64), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_gate_batches"),
    )
    op.create_table(
        "gate_people",
        sa.Column("person_key", sa.String(HEX64), nullable=False),
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("person_key", "batch_id", name="pk_gate_people"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["gate_batches.batch_id"], name="fk_gate_people_batch_id_gate_batches"
        ),
    )
    op.create_index("ix_gate_people_submitted_on", "gate_people", ["submitted_on"])

    op.create_table(
        "subjects",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("subject_id", sa.Text(), nullable=True),
        sa.Column("subject_key", sa.String(HEX64), nullable=False),
        sa.Column("proceed", sa.Boolean(), nullable=False),
        sa.Column("reason_codes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id", "row", name="pk_subjects"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.batch_id"], name="fk_subjects_batch_id_batches"
        ),
    )
    op.create_index("ix_subjects_subject_key", "subjects", ["subject_key"])

    # The raw personal data asked about: the only table retention deletes from.
    op.create_table(
        "subject_data",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        _at("received_at"),
        sa.PrimaryKeyConstraint("batch_id", "row", name="pk_subject_data"),
        _row_of("subject_data", "subjects"),
    )
    op.create_index("ix_subject_data_received_at", "subject_data", ["received_at"])

    op.create_table(
        "decisions",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(CODE), nullable=False),
        sa.Column("tin", sa.String(ID), nullable=True),
        sa.Column("address_id", sa.String(ID), nullable=True),
        sa.Column("match_probability", sa.Float(), nullable=True),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("runner_up_tin", sa.String(ID), nullable=True),
        sa.Column("runner_up_weight", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("policy_version", sa.String(VERSION), nullable=False),
        sa.Column("policy_sha256", sa.String(HEX64), nullable=False),
        sa.Column("model_sha256", sa.String(HEX64), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        _at("decided_at"),
        sa.PrimaryKeyConstraint("batch_id", "row", name="pk_decisions"),
        _row_of("decisions", "subjects"),
        sa.CheckConstraint(
            "outcome IN ('CONFIRMED', 'NOT_CONFIRMED', 'REVIEW')", name="ck_decisions_outcome"
        ),
    )
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_index("ix_decisions_outcome", "decisions", ["outcome"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(CODE), nullable=False),
        sa.Column("officer", sa.String(ID), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _at("reviewed_at"),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
        _row_of("reviews", "decisions"),
        sa.CheckConstraint(
            "resolution IN ('CONFIRMED', 'NOT_CONFIRMED')", name="ck_reviews_resolution"
        ),
    )
    op.create_index("ix_reviews_batch_id", "reviews", ["batch_id", "row"])

    op.create_table(
        "disclosures",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=True),
        sa.Column("recipient_agency", sa.Text(), nullable=False),
        sa.Column("statute", sa.Text(), nullable=False),
        sa.Column("fields_disclosed", sa.Text(), nullable=False),
        sa.Column("address_tax_year", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(HEX64), nullable=False),
        sa.Column("policy_version", sa.String(VERSION), nullable=False),
        sa.Column("policy_sha256", sa.String(HEX64), nullable=False),
        sa.Column("model_sha256", sa.String(HEX64), nullable=False),
        _at("disclosed_at"),
        sa.PrimaryKeyConstraint("batch_id", "row", name="pk_disclosures"),
        _row_of("disclosures", "decisions"),
    )
    op.create_index("ix_disclosures_address_key", "disclosures", ["address_key"])
    op.create_index("ix_disclosures_disclosed_at", "disclosures", ["disclosed_at"])

    op.create_table(
        "responses",
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("manifest_sha256", sa.String(HEX64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        _at("released_at"),
        sa.PrimaryKeyConstraint("batch_id", name="pk_responses"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.batch_id"], name="fk_responses_batch_id_batches"
        ),
    )
    op.create_index("ix_responses_released_at", "responses", ["released_at"])

    op.create_table(
        "recalls",
        sa.Column("notice_id", sa.String(ID), nullable=False),
        sa.Column("plan_sha256", sa.String(HEX64), nullable=False),
        sa.Column("policy_version", sa.String(VERSION), nullable=False),
        sa.Column("policy_sha256", sa.String(HEX64), nullable=False),
        _at("issued_at"),
        sa.Column("notice_sha256", sa.String(HEX64), nullable=False),
        sa.Column("notice_path", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", name="pk_recalls"),
    )
    op.create_index("ix_recalls_issued_at", "recalls", ["issued_at"])
    op.create_table(
        "recall_items",
        sa.Column("notice_id", sa.String(ID), nullable=False),
        sa.Column("batch_id", sa.String(ID), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("notice_id", "batch_id", "row", name="pk_recall_items"),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["recalls.notice_id"], name="fk_recall_items_notice_id_recalls"
        ),
    )
    op.create_index("ix_recall_items_batch_id", "recall_items", ["batch_id", "row"])
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("notice_id", sa.String(ID), nullable=False),
        sa.Column("acknowledged_by", sa.String(ID), nullable=False),
        _at("acknowledged_at"),
        sa.PrimaryKeyConstraint("id", name="pk_acknowledgements"),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["recalls.notice_id"], name="fk_acknowledgements_notice_id_recalls"
        ),
    )
    op.create_index("ix_acknowledgements_notice_id", "acknowledgements", ["notice_id"])

    # The tamper-evident log: seq is the leaf index, assigned by the writer.
    op.create_table(
        "log_events",
        sa.Column("seq", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(CODE), nullable=False),
        sa.Column("batch_id", sa.String(ID), nullable=True),
        sa.Column("event_key", sa.String(EVENT_KEY), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(HEX64), nullable=False),
        _at("recorded_at"),
        sa.PrimaryKeyConstraint("seq", name="pk_log_events"),
        sa.UniqueConstraint("event_key", name="uq_log_events_event_key"),
    )
    op.create_index("ix_log_events_batch_id", "log_events", ["batch_id"])
    op.create_index("ix_log_events_kind", "log_events", ["kind"])
    op.create_index("ix_log_events_recorded_at", "log_events", ["recorded_at"])
    op.create_table(
        "checkpoints",
        sa.Column("tree_size", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("root_hash", sa.String(HEX64), nullable=False),
        _at("signed_at"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_checkpoints"),
    )
    op.create_index("ix_checkpoints_signed_at", "checkpoints", ["signed_at"])

    op.create_table(
        "purges",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("before_date", sa.Date(), nullable=False),
        _at("purged_at"),
        sa.Column("subjects_purged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_purges"),
    )
    op.create_table(
        "refused_batches",
        sa.Column("manifest_sha256", sa.String(HEX64), nullable=False),
        sa.Column("claimed_batch_id", sa.Text()),
        sa.Column("reason", sa.String(CODE), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("policy_version", sa.String(VERSION), nullable=False),
        sa.Column("policy_sha256", sa.String(HEX64), nullable=False),
        _at("received_at"),
        sa.PrimaryKeyConstraint("manifest_sha256", name="pk_refused_batches"),
    )
    op.create_index("ix_refused_batches_received_at", "refused_batches", ["received_at"])

    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    for table in (
        "refused_batches",
        "purges",
        "checkpoints",
        "log_events",
        "acknowledgements",
        "recall_items",
        "recalls",
        "responses",
        "disclosures",
        "reviews",
        "decisions",
        "subject_data",
        "subjects",
        "gate_people",
        "gate_batches",
        "batches",
    ):
        op.drop_table(table)  # drops the table's indexes with it


def _create_append_only_triggers() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        # restrict_violation is in class 23, so drivers report an integrity error as SQLite does.
        # No '%' placeholder: offline (--sql) rendering would double it for the pyformat drivers.
        op.execute(
            f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only', "
            "ERRCODE = 'restrict_violation'; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
            )
    else:
        raise NotImplementedError(f"append-only triggers are not written for {dialect}")


def _drop_append_only_triggers() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    elif dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
