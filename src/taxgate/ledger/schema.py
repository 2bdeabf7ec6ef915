"""The ledger's tables as SQLAlchemy Core; migrations/versions must create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# Constraint names are spelled out so a later migration can drop or alter them by name on
# every database (SQLite and PostgreSQL would otherwise invent different ones).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = 200  # batch ids, notice ids, officer names: identifiers, not prose
HEX64 = 64  # SHA-256 or HMAC-SHA-256, lowercase hex
CODE = 32  # a status, outcome or event kind
VERSION = 100  # a policy version
EVENT_KEY = 200

BATCH_STATUSES = ("received", "gated", "decided", "awaiting_review", "released")
OUTCOMES = ("CONFIRMED", "NOT_CONFIRMED", "REVIEW")
RESOLUTIONS = ("CONFIRMED", "NOT_CONFIRMED")

# Tables whose rows, once written, the database itself refuses to change or delete.
APPEND_ONLY_TABLES = (
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

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamp(name: str, *, index: bool = False) -> Column:
    return Column(name, DateTime(timezone=True), nullable=False, index=index)


def _subject_ref(parent: str) -> tuple[Column, Column, ForeignKeyConstraint]:
    """(batch_id, row) and the foreign key naming one row of `parent`."""
    return (
        Column("batch_id", String(ID), nullable=False),
        Column("row", Integer, nullable=False),
        ForeignKeyConstraint(["batch_id", "row"], [f"{parent}.batch_id", f"{parent}.row"]),
    )


batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(ID), primary_key=True),
    Column("manifest_sha256", String(HEX64), nullable=False),
    Column("requesting_agency", Text, nullable=False),
    Column("signer_key_id", Text, nullable=False),
    Column("statute", Text, nullable=False),
    Column("batch_date", Date, nullable=False, index=True),
    _timestamp("received_at", index=True),
    Column("subject_count", Integer, nullable=False),
    Column("status", String(CODE), nullable=False, index=True),
    Column("response_manifest_sha256", String(HEX64)),
    CheckConstraint(_one_of("status", BATCH_STATUSES), name="status"),
)

gate_batches = Table(
    "gate_batches",
    metadata,
    Column("batch_id", String(ID), primary_key=True),
    Column("manifest_sha256", String(HEX64), nullable=False),
    Column("received_on", Date, nullable=False),
)

gate_people = Table(
    "gate_people",
    metadata,
    Column("person_key", String(HEX64), primary_key=True),
    Column("batch_id", ForeignKey(gate_batches.c.batch_id), primary_key=True),
    Column("asked_on", Date, nullable=False, index=True),  # the batch's receipt day (UTC)
)

subjects = Table(
    "subjects",
    metadata,
    Column("batch_id", ForeignKey(batches.c.batch_id), primary_key=True),
    Column("row", Integer, primary_key=True, autoincrement=False),
    Column("subject_id", Text),
    Column("subject_key", String(HEX64), nullable=False, index=True),
    Column("proceed", Boolean, nullable=False),
    Column("reason_codes", Text),
)

subject_data = Table(
    "subject_data",
    metadata,
    *_subject_ref("subjects"),
    Column("fields", Text, nullable=False),
    _timestamp("received_at", index=True),
    PrimaryKeyConstraint("batch_id", "row"),
)

decisions = Table(
    "decisions",
    metadata,
    *_subject_ref("subjects"),
    Column("outcome", String(CODE), nullable=False, index=True),
    Column("tin", String(ID), index=True),  # re-disclosure is checked on the matched taxpayer
    Column("address_id", String(ID)),
    Column("match_probability", Float),
    Column("match_weight", Float),
    Column("runner_up_tin", String(ID)),
    Column("runner_up_weight", Float),
    Column("reasons", Text),
    Column("policy_version", String(VERSION), nullable=False),
    Column("policy_sha256", String(HEX64), nullable=False),
    Column("model_sha256", String(HEX64), nullable=False),
    Column("explanation", Text, nullable=False),
    _timestamp("decided_at", index=True),
    PrimaryKeyConstraint("batch_id", "row"),
    CheckConstraint(_one_of("outcome", OUTCOMES), name="outcome"),
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    *_subject_ref("decisions"),
    Column("resolution", String(CODE), nullable=False),
    Column("officer", String(ID), nullable=False),
    Column("note", Text),
    _timestamp("reviewed_at"),
    Index(None, "batch_id", "row"),
    CheckConstraint(_one_of("resolution", RESOLUTIONS), name="resolution"),
)

disclosures = Table(
    "disclosures",
    metadata,
    *_subject_ref("decisions"),
    Column("subject_id", Text),
    Column("recipient_agency", Text, nullable=False),
    Column("statute", Text, nullable=False),
    Column("fields_disclosed", Text, nullable=False),
    Column("address_tax_year", Integer, nullable=False),
    Column("address_key", String(HEX64), nullable=False, index=True),
    Column("policy_version", String(VERSION), nullable=False),
    Column("policy_sha256", String(HEX64), nullable=False),
    Column("model_sha256", String(HEX64), nullable=False),
    _timestamp("disclosed_at", index=True),
    PrimaryKeyConstraint("batch_id", "row"),
)

responses = Table(
    "responses",
    metadata,
    Column("batch_id", ForeignKey(batches.c.batch_id), primary_key=True),
    Column("manifest_sha256", String(HEX64), nullable=False),
    Column("path", Text, nullable=False),
    _timestamp("released_at", index=True),
)

recalls = Table(
    "recalls",
    metadata,
    Column("notice_id", String(ID), primary_key=True),
    Column("plan_sha256", String(HEX64), nullable=False),
    Column("policy_version", String(VERSION), nullable=False),
    Column("policy_sha256", String(HEX64), nullable=False),
    _timestamp("issued_at", index=True),
    Column("notice_sha256", String(HEX64), nullable=False),
    Column("notice_path", Text, nullable=False),
)

recall_items = Table(
    "recall_items",
    metadata,
    Column("notice_id", ForeignKey(recalls.c.notice_id), primary_key=True),
    Column("batch_id", String(ID), primary_key=True),
    Column("row", Integer, primary_key=True, autoincrement=False),
    Column("reasons", Text, nullable=False),
    Index(None, "batch_id", "row"),
)

acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", ForeignKey(recalls.c.notice_id), nullable=False, index=True),
    Column("acknowledged_by", String(ID), nullable=False),
    _timestamp("acknowledged_at"),
)

log_events = Table(
    "log_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(CODE), nullable=False, index=True),
    Column("batch_id", String(ID), index=True),
    Column("event_key", String(EVENT_KEY), unique=True),
    Column("body", Text, nullable=False),
    Column("leaf_hash", String(HEX64), nullable=False),
    _timestamp("recorded_at", index=True),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(HEX64), nullable=False),
    _timestamp("signed_at", index=True),
    Column("note", Text, nullable=False),
)

purges = Table(
    "purges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("before_date", Date, nullable=False),
    _timestamp("purged_at"),
    Column("subjects_purged", Integer, nullable=False),
)

# A batch the gate refused as a whole (bad signature, reused batch id, ...). Kept apart from
# `batches`: its batch id is only claimed, and a forged manifest must not take the id from the
# genuine batch that may follow it.
refused_batches = Table(
    "refused_batches",
    metadata,
    Column("manifest_sha256", String(HEX64), primary_key=True),
    Column("claimed_batch_id", Text),
    Column("reason", String(CODE), nullable=False),
    Column("message", Text, nullable=False),
    Column("policy_version", String(VERSION), nullable=False),
    Column("policy_sha256", String(HEX64), nullable=False),
    _timestamp("received_at", index=True),
)
