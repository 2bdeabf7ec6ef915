"""What every ledger row must say, as its log event says it: one spec per table, one writer.

The tables that reports, accounting, recall and decisions read are projections of the log:
each row is accounted for by exactly one event (its key is derived from the row's own key),
and the event's body holds every field of the row, either as the plain value (codes, flags,
counts, digests, dates), as a keyed hash (HMAC-SHA-256 with the disclosing agency's secret)
for anything personal, or as a SHA-256 of long text. The recorder builds event bodies from
the rows it inserts with `body_of`, and the audit (`taxgate.ledger.rows_audit`) rebuilds the
same body from the stored row and compares, so the two cannot drift apart. A row's time
column must equal its event's `recorded_at`, which the leaf hashes, except the receipt times
(`received_at` of batches, refusals and requested data): the gateway's clock read as the batch
arrived, earlier than the stage's `now`, so they are logged as a body field instead.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Table

from taxgate.ledger import schema as t
from taxgate.ledger.accounting import utc
from taxgate.ledger.events import BodyValue, Event, EventKind, time_text

PROBABILITY_DIGITS = 9  # log bodies hold no floats: scores go in as fixed-point text
SET_DIGEST_BITS = 256  # an additive multiset hash: order-free, so it streams and composes
_SET_MODULUS = 1 << SET_DIGEST_BITS
_HEX = SET_DIGEST_BITS // 4


class How(StrEnum):
    """How a column's value is written into its event's body."""

    PLAIN = "plain"  # as is (str, int, bool, None)
    KEYED = "keyed"  # HMAC-SHA-256 with the agency secret: personal data
    SHA256 = "sha256"  # SHA-256 of the text: long, non-personal text
    FIXED = "fixed"  # a float as fixed-point text (no floats in a leaf)
    DATE = "date"  # ISO date
    TIME = "time"  # RFC 3339 UTC time with microseconds (events.time_text)


@dataclass(frozen=True)
class Field:
    """One column of a table and the body name it is logged under."""

    column: str
    name: str
    how: How = How.PLAIN


@dataclass(frozen=True)
class RowSpec:
    """A table as a projection of the log: which event accounts for a row, and how."""

    table: Table
    kind: EventKind
    key: Callable[[Mapping], str]  # the event key of the row
    fields: tuple[Field, ...]
    time: str | None = None  # the column that must equal the event's recorded_at
    # The column that must equal the receipt time its batch's batch_received event logs (a row
    # whose own event does not carry it: subject_data under its gate_verdict).
    receipt: str | None = None

    @property
    def name(self) -> str:
        return self.table.name


def keyed(secret: bytes, text: str) -> str:
    """HMAC-SHA-256 of `text`: stable for one person or address, meaningless without the key."""
    return hmac.digest(secret, text.encode("utf-8"), hashlib.sha256).hex()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fixed(value: float | None) -> str | None:
    return None if value is None else f"{value:.{PROBABILITY_DIGITS}f}"


def logged_value(how: How, value: object, secret: bytes | None) -> BodyValue:
    """`value` as the body holds it; a KEYED value needs the secret (None: cannot compute)."""
    if value is None:
        return None
    if how is How.PLAIN:
        return value  # type: ignore[return-value]
    if how is How.KEYED:
        if secret is None:
            raise ValueError("a keyed value needs the agency secret")
        return keyed(secret, str(value))
    if how is How.SHA256:
        return sha256_text(str(value))
    if how is How.FIXED:
        return fixed(float(value))  # type: ignore[arg-type]
    if how is How.DATE:
        return value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, datetime):
        return time_text(utc(value))
    return str(value)


def body_of(spec: RowSpec, row: Mapping, secret: bytes | None) -> dict[str, BodyValue]:
    """The body fields that account for `row` of `spec.table` (the recorder's side); `secret`
    may be None for a table with no keyed field."""
    return {f.name: logged_value(f.how, row[f.column], secret) for f in spec.fields}


def set_digest(items: Iterable[str]) -> str:
    """Order-free digest of distinct items: the sum of their SHA-256 modulo 2^256, in hex.

    Sums compose, so a set logged in parts (several events) is checked against its rows
    streamed in any order, in constant memory.
    """
    total = 0
    for item in items:
        total += int.from_bytes(hashlib.sha256(item.encode("utf-8")).digest(), "big")
    return format(total % _SET_MODULUS, f"0{_HEX}x")


def add_digests(digests: Iterable[str]) -> str:
    """The digest of the union of disjoint sets, from their `set_digest`s."""
    total = sum(int(d, 16) for d in digests)
    return format(total % _SET_MODULUS, f"0{_HEX}x")


def person_item(person_key: str, asked_on: date) -> str:
    """One gate_people row as `set_digest` counts it."""
    return f"{person_key}|{asked_on.isoformat()}"


def recall_item(batch_id: str, row: int, reasons: str) -> str:
    """One recall_items row as `set_digest` counts it (JSON-free, unambiguous: \\x1f apart)."""
    return f"{batch_id}\x1f{row}\x1f{reasons}"


def _row_key(prefix: str) -> Callable[[Mapping], str]:
    return lambda r: f"{prefix}:{r['batch_id']}:{r['row']}"


P, K, S, F, D, T = How.PLAIN, How.KEYED, How.SHA256, How.FIXED, How.DATE, How.TIME

BATCHES = RowSpec(
    t.batches, EventKind.BATCH_RECEIVED, lambda r: f"batch:{r['batch_id']}",
    (Field("manifest_sha256", "manifest_sha256"), Field("requesting_agency", "requesting_agency"),
     Field("signer_key_id", "signer_key_id"), Field("statute", "statute"),
     Field("batch_date", "batch_date", D), Field("received_at", "received_at", T),
     Field("subject_count", "subject_count")),
)  # fmt: skip
SUBJECTS = RowSpec(
    t.subjects, EventKind.GATE_VERDICT, _row_key("verdict"),
    (Field("row", "row"), Field("subject_id", "subject_ref_key", K),
     Field("subject_key", "subject_key"), Field("proceed", "proceed"),
     Field("reason_codes", "reason_codes")),
)  # fmt: skip
# The requested personal data: its keyed hash is the verdict's subject_key. Purge deletes it.
# Its received_at is the batch's receipt time: rows_audit checks it against the batch event.
SUBJECT_DATA = RowSpec(
    t.subject_data, EventKind.GATE_VERDICT, _row_key("verdict"),
    (Field("row", "row"), Field("fields", "subject_key", K)),
    receipt="received_at",
)  # fmt: skip
DECISIONS = RowSpec(
    t.decisions, EventKind.DECISION, _row_key("decision"),
    (Field("row", "row"), Field("outcome", "outcome"), Field("tin", "taxpayer_key", K),
     Field("address_id", "address_key", K), Field("match_probability", "match_probability", F),
     Field("match_weight", "match_weight", F), Field("runner_up_tin", "runner_up_key", K),
     Field("runner_up_weight", "runner_up_weight", F), Field("reasons", "reasons"),
     Field("policy_version", "policy_version"), Field("policy_sha256", "policy_sha256"),
     Field("model_sha256", "model_sha256"), Field("explanation", "explanation_sha256", S)),
    time="decided_at",
)  # fmt: skip
REVIEWS = RowSpec(
    t.reviews, EventKind.REVIEW, _row_key("review"),
    (Field("row", "row"), Field("resolution", "resolution"), Field("officer", "officer"),
     Field("note", "note_sha256", S), Field("reviewed_at", "reviewed_at", T)),
)  # fmt: skip
DISCLOSURES = RowSpec(
    t.disclosures, EventKind.DISCLOSURE, _row_key("disclosure"),
    (Field("row", "row"), Field("subject_id", "subject_ref_key", K),
     Field("recipient_agency", "recipient_agency"), Field("statute", "statute"),
     Field("fields_disclosed", "fields_disclosed"), Field("address_tax_year", "address_tax_year"),
     Field("address_key", "address_key"), Field("policy_version", "policy_version"),
     Field("policy_sha256", "policy_sha256"), Field("model_sha256", "model_sha256")),
    time="disclosed_at",
)  # fmt: skip
RESPONSES = RowSpec(
    t.responses, EventKind.RESPONSE_RELEASED, lambda r: f"response:{r['batch_id']}",
    (Field("manifest_sha256", "manifest_sha256"), Field("path", "path")),
    time="released_at",
)  # fmt: skip
GATE_BATCHES = RowSpec(
    t.gate_batches, EventKind.GATE_MEMORY, lambda r: f"gate_memory:{r['batch_id']}",
    (Field("manifest_sha256", "manifest_sha256"), Field("received_on", "received_on", D)),
)  # fmt: skip
REFUSED = RowSpec(
    t.refused_batches, EventKind.BATCH_REFUSED, lambda r: f"refused:{r['manifest_sha256']}",
    (Field("manifest_sha256", "manifest_sha256"), Field("claimed_batch_id", "claimed_batch_id"),
     Field("reason", "reason"), Field("message", "message_sha256", S),
     Field("policy_version", "policy_version"), Field("policy_sha256", "policy_sha256"),
     Field("received_at", "received_at", T)),
)  # fmt: skip
RECALLS = RowSpec(
    t.recalls, EventKind.RECALL_ISSUED, lambda r: f"recall:{r['notice_id']}",
    (Field("notice_id", "notice_id"), Field("plan_sha256", "plan_sha256"),
     Field("policy_version", "policy_version"), Field("policy_sha256", "policy_sha256"),
     Field("notice_sha256", "notice_sha256"), Field("notice_path", "notice_path")),
    time="issued_at",
)  # fmt: skip
ACKNOWLEDGEMENTS = RowSpec(
    t.acknowledgements, EventKind.ACKNOWLEDGEMENT, lambda r: f"acknowledgement:{r['notice_id']}",
    (Field("notice_id", "notice_id"), Field("acknowledged_by", "acknowledged_by")),
    time="acknowledged_at",
)  # fmt: skip
PURGES = RowSpec(
    t.purges, EventKind.PURGE, lambda r: f"purge:{r['id']}",
    (Field("before_date", "before_date", D), Field("subjects_purged", "subjects_purged")),
    time="purged_at",
)  # fmt: skip

# Tables keyed by batch, checked one batch at a time; the rest are checked whole.
BATCH_SPECS = (BATCHES, SUBJECTS, SUBJECT_DATA, DECISIONS, REVIEWS, DISCLOSURES, RESPONSES)
LEDGER_SPECS = (REFUSED, RECALLS, ACKNOWLEDGEMENTS, PURGES)
# Checked by their own rules in rows_audit: gate_batches/gate_people (a batch may be
# remembered in parts, one GATE_MEMORY event each) and recall_items (a digest in the recall).


def gate_memory_event(
    batch_id: str, manifest_sha256: str, received_on: date, people: list[Mapping]
) -> Event:
    """The gate's memory of a batch, or of people added to it: the gate_batches fields, and
    the count and `set_digest` of the gate_people rows added (keyed hashes already)."""
    digest = set_digest(person_item(r["person_key"], r["asked_on"]) for r in people)
    row = {"batch_id": batch_id, "manifest_sha256": manifest_sha256, "received_on": received_on}
    body = body_of(GATE_BATCHES, row, None) | {"people": len(people), "people_digest": digest}
    return Event(EventKind.GATE_MEMORY, f"{GATE_BATCHES.key(row)}:{digest}", batch_id, body)
