"""Seed the ledger directly (inserts and log events) for accounting, recall and purge tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from taxgate.ledger import projection as p
from taxgate.ledger import schema as t
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.policy import Policy, default_policy_path, load_policy
from tests.support import BATCH_DATE, valid_row

AT = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
SECRET = b"seeded agency secret"  # keys the seeded ledger's personal fields, as HOME's would
HASH = "ab" * 32
MODEL = "cd" * 32
STATUTE = "8 U.S.C. 1253(a)(1)"
REQUESTER = "Requesting Agency"
FIELDS = "street;unit;city;state;zip;address_tax_year"
SEEDED_POLICY = "2025.2-seed"
STRONG = 0.99999  # above the shipped confirm threshold by a wide margin
WIDE_GAP = 20.0  # match-weight points to the runner-up: never ambiguous
PASSING = {
    "address_corroborated": True,
    "unambiguous": True,
    "relatives_distinguished": True,
    "name_corroborated": True,
    "tin_conflict": False,
}


@dataclass(frozen=True)
class Seeded:
    """One subject of a seeded batch, its verdict, decision, review and disclosure."""

    row: int
    fields: Mapping[str, str | None]
    proceed: bool = True
    reason_codes: str | None = None
    outcome: str | None = "CONFIRMED"
    probability: float | None = STRONG
    weight_gap: float | None = WIDE_GAP
    checks: Mapping[str, bool] = field(default_factory=lambda: dict(PASSING))
    review: str | None = None  # an officer's resolution of a REVIEW decision
    disclosed: bool | None = None  # None: disclosed when the final outcome is CONFIRMED

    @property
    def is_disclosed(self) -> bool:
        if self.disclosed is not None:
            return self.disclosed
        return self.outcome == "CONFIRMED" or self.review == "CONFIRMED"


def subject(
    row: int,
    *,
    outcome: str | None = "CONFIRMED",
    probability: float | None = STRONG,
    weight_gap: float | None = WIDE_GAP,
    review: str | None = None,
    disclosed: bool | None = None,
    **request: str | None,
) -> Seeded:
    """A subject that passed the gate; `request` changes fields of tests.support.valid_row."""
    fields = valid_row(**({"subject_id": f"S-{row}"} | request))
    return Seeded(row, fields, outcome=outcome, probability=probability,
                  weight_gap=weight_gap, review=review, disclosed=disclosed)  # fmt: skip


def rejected(row: int, codes: str, **request: str | None) -> Seeded:
    """A subject the gate refused with `codes`: no decision, nothing disclosed."""
    fields = valid_row(**({"subject_id": f"S-{row}"} | request))
    return Seeded(row, fields, proceed=False, reason_codes=codes, outcome=None)


def explanation(s: Seeded) -> str:
    checks = {"weight_gap": s.weight_gap, **s.checks}
    return json.dumps({"taxpayers": 2, "candidates": [], "checks": checks})


def _event(spec: p.RowSpec, row: dict) -> Event:
    return Event(spec.kind, spec.key(row), row.get("batch_id"), p.body_of(spec, row, SECRET))


def seed_batch(
    engine: Engine,
    batch_id: str,
    subjects: Iterable[Seeded],
    *,
    received_at: datetime = AT,
    receipt: datetime | None = None,
    batch_date: date = BATCH_DATE,
    statute: str = STATUTE,
    recipient: str = REQUESTER,
    purged: bool = False,
    released: bool = True,
) -> None:
    """The batch with every table a processed batch fills, and the log events that go with it,
    each body as the recorder writes it (`taxgate.ledger.projection`, keyed with SECRET).

    `purged` leaves out subject_data, as retention would have, and logs the purge that removed
    it; `released` adds the response. `receipt` is the gateway's receipt time (default
    `received_at`, the time every stage is recorded at): as `taxgate process` records it, it
    may precede the stages' time, and is logged in the batch event's body.
    """
    subjects = list(subjects)
    arrived = received_at if receipt is None else receipt
    rows: list[tuple[t.Table, dict]] = []
    events: list[Event] = []

    def add(spec: p.RowSpec, row: dict, *, log: bool = True) -> None:
        rows.append((spec.table, row))
        if log:
            events.append(_event(spec, row))

    add(p.BATCHES, {
        "batch_id": batch_id, "manifest_sha256": HASH, "requesting_agency": recipient,
        "signer_key_id": "ed25519:0000000000000000", "statute": statute,
        "batch_date": batch_date, "received_at": arrived, "subject_count": len(subjects),
        "status": "released" if released else "decided",
        "response_manifest_sha256": HASH if released else None,
    })  # fmt: skip
    data = []
    for s in subjects:
        key = {"batch_id": batch_id, "row": s.row}
        text = json.dumps(dict(s.fields), sort_keys=True)
        add(p.SUBJECTS, {**key, "subject_id": s.fields["subject_id"],
                         "subject_key": p.keyed(SECRET, text), "proceed": s.proceed,
                         "reason_codes": s.reason_codes})  # fmt: skip
        data.append({**key, "fields": text, "received_at": arrived})
        if s.outcome is None:
            continue
        add(p.DECISIONS, {
            **key, "outcome": s.outcome, "tin": "900700001", "address_id": "A-1",
            "match_probability": s.probability, "match_weight": 15.0, "runner_up_tin": None,
            "runner_up_weight": None, "reasons": None, "policy_version": SEEDED_POLICY,
            "policy_sha256": HASH, "model_sha256": MODEL, "explanation": explanation(s),
            "decided_at": received_at,
        })  # fmt: skip
        if s.review is not None:
            add(p.REVIEWS, {**key, "resolution": s.review, "officer": "Dana Officer",
                            "note": "checked", "reviewed_at": received_at})  # fmt: skip
        if released and s.is_disclosed:
            add(p.DISCLOSURES, {
                **key, "subject_id": s.fields["subject_id"], "recipient_agency": recipient,
                "statute": statute, "fields_disclosed": FIELDS, "address_tax_year": 2024,
                "address_key": HASH, "policy_version": SEEDED_POLICY, "policy_sha256": HASH,
                "model_sha256": MODEL, "disclosed_at": received_at,
            })  # fmt: skip
    if not purged:
        rows += [(t.subject_data, d) for d in data]
    if released:
        path = f"{batch_id}/response.json"
        response = {"batch_id": batch_id, "manifest_sha256": HASH, "path": path,
                    "released_at": received_at}  # fmt: skip
        add(p.RESPONSES, response, log=False)
        disclosed = sum(1 for s in subjects if s.outcome and s.is_disclosed)
        counts = {"responses": len(subjects), "disclosures": disclosed}
        events.append(Event(EventKind.RESPONSE_RELEASED, p.RESPONSES.key(response), batch_id,
                            p.body_of(p.RESPONSES, response, SECRET) | counts))  # fmt: skip
    with engine.begin() as conn:
        for table, row in rows:
            conn.execute(insert(table).values(**row))
        append_events(conn, events, received_at)
        if purged:
            _log_purge(conn, received_at, len(data))


def _log_purge(conn: Connection, received_at: datetime, purged: int) -> None:
    """The purge that removed a seeded batch's personal data, as `taxgate purge` records it."""
    before = received_at.date() + timedelta(days=1)
    row = {"before_date": before, "subjects_purged": purged, "purged_at": received_at}
    result = conn.execute(insert(t.purges).values(**row))
    row["id"] = int(result.inserted_primary_key[0])
    body = p.body_of(p.PURGES, row, None)
    append_events(conn, [Event(EventKind.PURGE, p.PURGES.key(row), None, body)], received_at)


def count(engine: Engine, table: t.Table, **where: object) -> int:
    query = select(table)
    for name, value in where.items():
        query = query.where(table.c[name] == value)
    with engine.connect() as conn:
        return len(conn.execute(query).all())


def log_kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = select(t.log_events.c.kind).order_by(t.log_events.c.seq)
        return list(conn.execute(query).scalars())


def last_event(engine: Engine) -> tuple[str, dict]:
    """(kind, leaf as a dict) of the newest log event."""
    with engine.connect() as conn:
        row = conn.execute(select(t.log_events).order_by(t.log_events.c.seq.desc()).limit(1)).one()
    return row.kind, json.loads(row.body)


def policy_variant(tmp_path: Path, version: str, *changes: tuple[str, str]) -> Policy:
    """The shipped policy with (old, new) text replacements, under its own version."""
    text = default_policy_path().read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, f"the shipped policy no longer says {old!r}"
        text = text.replace(old, new)
    text = re.sub(r'^version = ".*"$', f'version = "{version}"', text, count=1, flags=re.M)
    path = tmp_path / f"policy-{version}.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)
