"""What a batch did, written to the ledger stage by stage: tables and log events commit together.

Each stage's rows and the log events that account for them go in one transaction, so a crash
leaves either both or neither; every insert is keyed (batch, row), so a restarted run skips
what is already there and never writes a decision or a disclosure twice. Personal data enters
only `subject_data` (which retention purges); log events carry keyed hashes (HMAC-SHA-256
with the disclosing agency's secret) instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
from sqlalchemy import Engine, insert, select, update

from taxgate.decide.outcomes import DECISION_SCHEMA
from taxgate.formats.manifest import RequestManifest
from taxgate.gate.history import ReceivedBatch
from taxgate.gate.verdicts import BatchVerdict
from taxgate.ledger import projection as p
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import utc
from taxgate.ledger.bulk import insert_rows
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.ledger.gate_history import remember_in
from taxgate.ledger.projection import keyed

RAW_FIELDS_EXCLUDED = ("row",)


def _event(spec: p.RowSpec, row: Mapping, secret: bytes) -> Event:
    """The event accounting for `row` of `spec.table`: every field, as the audit re-derives it."""
    return Event(spec.kind, spec.key(row), row.get("batch_id"), p.body_of(spec, row, secret))


@dataclass(frozen=True)
class StoredBatch:
    """A batch the ledger already holds: enough to resume it or to return its result."""

    batch_id: str
    manifest_sha256: str
    status: str
    response_manifest_sha256: str | None
    received_at: datetime | None = None  # the receipt time first recorded: a resume keeps it


def stored_batch(engine: Engine, batch_id: str) -> StoredBatch | None:
    with engine.connect() as conn:
        row = conn.execute(select(t.batches).where(t.batches.c.batch_id == batch_id)).first()
    if row is None:
        return None
    return StoredBatch(
        row.batch_id, row.manifest_sha256, row.status, row.response_manifest_sha256,
        utc(row.received_at),
    )  # fmt: skip


def record_gate(
    engine: Engine,
    manifest: RequestManifest,
    manifest_sha256: str,
    subjects: pa.Table,
    verdicts: pa.Table,
    person_keys: set[str],
    secret: bytes,
    now: datetime,
    *,
    received_at: datetime | None = None,
) -> None:
    """The batch, its subjects, their requested data and gate verdicts, and the gate's memory.

    `received_at` is the gateway's receipt time the gate applied (default `now`): it is the
    batch's `received_at`, and its UTC day dates the people in the gate's memory.
    """
    received_at = utc(received_at or now)
    raw = subjects.to_pylist()
    verdict_rows = verdicts.select(["row", "subject_id", "proceed", "reason_codes"]).to_pylist()
    batch = {
        "batch_id": manifest.batch_id,
        "manifest_sha256": manifest_sha256,
        "requesting_agency": manifest.requesting_agency,
        "signer_key_id": manifest.signer.key_id,
        "statute": manifest.statutory_authority,
        "batch_date": manifest.submitted_on,  # the requester's claim, kept as claimed
        "received_at": received_at,  # the receipt time the rules applied, logged in the body
        "subject_count": len(raw),
        "status": "gated",
    }
    subject_rows, data_rows, events = [], [], [_event(p.BATCHES, batch, secret)]
    for fields, verdict in zip(raw, verdict_rows, strict=True):
        text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
        subject = {
            "batch_id": manifest.batch_id,
            "row": verdict["row"],
            "subject_id": verdict["subject_id"],
            "subject_key": keyed(secret, text),
            "proceed": verdict["proceed"],
            "reason_codes": verdict["reason_codes"],
        }
        subject_rows.append(subject)
        data_rows.append(
            {"batch_id": manifest.batch_id, "row": subject["row"], "fields": text,
             "received_at": received_at}
        )  # fmt: skip
        events.append(_event(p.SUBJECTS, subject, secret))
    with engine.begin() as conn:
        conn.execute(insert(t.batches).values(**batch))
        received = ReceivedBatch(manifest.batch_id, manifest_sha256, received_at.date())
        remember_in(conn, received, person_keys, received_at.date(), now)
        insert_rows(conn, t.subjects, subject_rows)
        insert_rows(conn, t.subject_data, data_rows)
        append_events(conn, events, now)


def record_refusal(engine: Engine, verdict: BatchVerdict, now: datetime) -> bool:
    """A batch the gate refused as a whole; False when this very manifest was refused before.

    Its `received_at` is the receipt time the gate applied (`verdict.received_at`), else `now`.

    The statute's accounting covers every request, so a refusal is logged too; its batch id
    is only claimed (see `schema.refused_batches`) and goes into the event's body, not its
    `batch_id`.
    """
    if verdict.accepted or verdict.reason is None:
        raise ValueError("only a refused batch, with its reason, is recorded as refused")
    reason = verdict.reason.value
    with engine.begin() as conn:
        seen = conn.execute(
            select(t.refused_batches.c.manifest_sha256).where(
                t.refused_batches.c.manifest_sha256 == verdict.manifest_sha256
            )
        ).first()
        if seen:
            return False
        refused = {
            "manifest_sha256": verdict.manifest_sha256,
            "claimed_batch_id": verdict.batch_id,
            "reason": reason,
            "message": verdict.message,
            "policy_version": verdict.policy_version,
            "policy_sha256": verdict.policy_sha256,
            "received_at": utc(verdict.received_at or now),  # the receipt time the gate applied
        }
        conn.execute(insert(t.refused_batches).values(**refused))
        body = p.body_of(p.REFUSED, refused, None)  # no keyed field: a refusal holds no person
        event = Event(EventKind.BATCH_REFUSED, p.REFUSED.key(refused), None, body)
        append_events(conn, [event], now)
    return True


def stored_verdicts(engine: Engine, batch_id: str) -> pa.Table:
    """The gate's verdicts as recorded (row, subject_id, proceed, reason_codes), by row."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.subjects.c.row, t.subjects.c.subject_id, t.subjects.c.proceed,
                   t.subjects.c.reason_codes)
            .where(t.subjects.c.batch_id == batch_id)
            .order_by(t.subjects.c.row)
        ).mappings().all()  # fmt: skip
    return pa.Table.from_pylist(
        [dict(r) for r in rows],
        schema=pa.schema(
            [("row", pa.int64()), ("subject_id", pa.string()), ("proceed", pa.bool_()),
             ("reason_codes", pa.string())]
        ),
    )  # fmt: skip


def stored_decisions(engine: Engine, batch_id: str) -> pa.Table:
    """The decisions recorded so far for the batch (DECISION_SCHEMA), by row."""
    names = [f.name for f in DECISION_SCHEMA]
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(t.decisions.c[n] for n in names if n != "subject_id"), t.subjects.c.subject_id)
            .join(t.subjects, (t.subjects.c.batch_id == t.decisions.c.batch_id)
                  & (t.subjects.c.row == t.decisions.c.row))
            .where(t.decisions.c.batch_id == batch_id)
            .order_by(t.decisions.c.row)
        ).mappings().all()  # fmt: skip
    return pa.Table.from_pylist([{n: r[n] for n in names} for r in rows], schema=DECISION_SCHEMA)


def record_decisions(
    engine: Engine, batch_id: str, decided: pa.Table, secret: bytes, now: datetime
) -> int:
    """One chunk of decisions and their DECISION events; rows already recorded are skipped."""
    with engine.begin() as conn:
        done = set(
            conn.execute(
                select(t.decisions.c.row).where(t.decisions.c.batch_id == batch_id)
            ).scalars()
        )
        rows = [
            {k: v for k, v in r.items() if k != "subject_id"}
            | {"batch_id": batch_id, "decided_at": now}
            for r in decided.to_pylist()
            if r["row"] not in done
        ]
        if not rows:
            return 0
        insert_rows(conn, t.decisions, rows)
        append_events(conn, [_event(p.DECISIONS, r, secret) for r in rows], now)
        conn.execute(
            update(t.batches).where(t.batches.c.batch_id == batch_id).values(status="decided")
        )
    return len(rows)


def set_status(engine: Engine, batch_id: str, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(t.batches).where(t.batches.c.batch_id == batch_id).values(status=status)
        )


@dataclass(frozen=True)
class Release:
    """What a released response disclosed, for the accounting."""

    manifest_sha256: str
    path: str
    recipient_agency: str
    statute: str
    fields: tuple[str, ...]


def record_release(
    engine: Engine,
    batch_id: str,
    responses: pa.Table,
    decisions: pa.Table,
    reviews: Iterable[Mapping],
    release: Release,
    secret: bytes,
    now: datetime,
) -> int:
    """Reviews, disclosures, the response and their events, in one transaction; returns the
    number of disclosures. A response already recorded is not recorded again."""
    by_row = {r["row"]: r for r in decisions.to_pylist()}
    disclosed, events = [], []
    for row_number, response in enumerate(responses.to_pylist(), start=1):
        if response["outcome"] != "CONFIRMED":
            continue
        decision = by_row[row_number]  # responses are in batch order, one per batch row
        address = "|".join(str(response[f] or "") for f in release.fields)
        item = {
            "batch_id": batch_id,
            "row": decision["row"],
            "subject_id": response["subject_id"],
            "recipient_agency": release.recipient_agency,
            "statute": release.statute,
            "fields_disclosed": ";".join(release.fields),
            "address_tax_year": response["address_tax_year"],
            "address_key": keyed(secret, address),
            "policy_version": decision["policy_version"],
            "policy_sha256": decision["policy_sha256"],
            "model_sha256": decision["model_sha256"],
            "disclosed_at": now,
        }
        disclosed.append(item)
        events.append(_event(p.DISCLOSURES, item, secret))
    review_rows = [dict(r) | {"batch_id": batch_id} for r in reviews]
    review_events = [_event(p.REVIEWS, r, secret) for r in review_rows]
    response = {"batch_id": batch_id, "manifest_sha256": release.manifest_sha256,
                "path": release.path, "released_at": now}  # fmt: skip
    released = p.body_of(p.RESPONSES, response, secret)
    with engine.begin() as conn:
        recorded = select(t.responses.c.batch_id).where(t.responses.c.batch_id == batch_id)
        if conn.execute(recorded).first():
            return 0
        insert_rows(conn, t.reviews, review_rows)
        insert_rows(conn, t.disclosures, disclosed)
        conn.execute(insert(t.responses).values(**response))
        conn.execute(
            update(t.batches)
            .where(t.batches.c.batch_id == batch_id)
            .values(status="released", response_manifest_sha256=release.manifest_sha256)
        )
        append_events(
            conn,
            [*review_events, *events, Event(
                EventKind.RESPONSE_RELEASED, p.RESPONSES.key(response), batch_id,
                released | {"responses": responses.num_rows, "disclosures": len(disclosed)},
            )],
            now,
        )  # fmt: skip
    return len(disclosed)


def released_on(engine: Engine, batch_id: str) -> date | None:
    with engine.connect() as conn:
        at = conn.execute(
            select(t.responses.c.released_at).where(t.responses.c.batch_id == batch_id)
        ).scalar()
    return at.date() if at else None
