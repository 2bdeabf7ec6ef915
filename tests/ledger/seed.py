"""Seed the ledger directly (inserts and log events) for accounting, recall and purge tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from taxgate.ledger import schema as t
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.policy import Policy, default_policy_path, load_policy
from tests.support import BATCH_DATE, valid_row

AT = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
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


def seed_batch(
    engine: Engine,
    batch_id: str,
    subjects: Iterable[Seeded],
    *,
    received_at: datetime = AT,
    batch_date: date = BATCH_DATE,
    statute: str = STATUTE,
    recipient: str = REQUESTER,
    purged: bool = False,
    released: bool = True,
) -> None:
    """The batch with every table a processed batch fills, and the log events that go with it.

    `purged` leaves out subject_data, as retention would have; `released` adds the response.
    """
    subjects = list(subjects)
    events = [Event(EventKind.BATCH_RECEIVED, f"batch:{batch_id}", batch_id,
                    {"subject_count": len(subjects), "statute": statute})]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(t.batches).values(
                batch_id=batch_id, manifest_sha256=HASH, requesting_agency=recipient,
                signer_key_id="ed25519:0000000000000000", statute=statute,
                batch_date=batch_date, received_at=received_at, subject_count=len(subjects),
                status="released" if released else "decided",
            )
        )  # fmt: skip
        for s in subjects:
            key = {"batch_id": batch_id, "row": s.row}
            conn.execute(insert(t.subjects).values(
                **key, subject_id=s.fields["subject_id"], subject_key=HASH, proceed=s.proceed,
                reason_codes=s.reason_codes))  # fmt: skip
            events.append(Event(EventKind.GATE_VERDICT, f"verdict:{batch_id}:{s.row}", batch_id,
                                {"row": s.row, "proceed": s.proceed,
                                 "reason_codes": s.reason_codes}))  # fmt: skip
            if not purged:
                conn.execute(insert(t.subject_data).values(
                    **key, fields=json.dumps(dict(s.fields), sort_keys=True),
                    received_at=received_at))  # fmt: skip
            if s.outcome is None:
                continue
            conn.execute(insert(t.decisions).values(
                **key, outcome=s.outcome, tin="900700001", address_id="A-1",
                match_probability=s.probability, match_weight=15.0, reasons=None,
                policy_version=SEEDED_POLICY, policy_sha256=HASH, model_sha256=MODEL,
                explanation=explanation(s), decided_at=received_at))  # fmt: skip
            events.append(Event(EventKind.DECISION, f"decision:{batch_id}:{s.row}", batch_id,
                                {"row": s.row, "outcome": s.outcome}))  # fmt: skip
            if s.review is not None:
                conn.execute(insert(t.reviews).values(
                    **key, resolution=s.review, officer="Dana Officer", note="checked",
                    reviewed_at=received_at))  # fmt: skip
                events.append(Event(EventKind.REVIEW, f"review:{batch_id}:{s.row}", batch_id,
                                    {"row": s.row, "resolution": s.review}))  # fmt: skip
            if released and s.is_disclosed:
                conn.execute(insert(t.disclosures).values(
                    **key, subject_id=s.fields["subject_id"], recipient_agency=recipient,
                    statute=statute, fields_disclosed=FIELDS, address_tax_year=2024,
                    address_key=HASH, policy_version=SEEDED_POLICY, policy_sha256=HASH,
                    model_sha256=MODEL, disclosed_at=received_at))  # fmt: skip
                events.append(Event(EventKind.DISCLOSURE, f"disclosure:{batch_id}:{s.row}",
                                    batch_id, {"row": s.row}))  # fmt: skip
        if released:
            conn.execute(insert(t.responses).values(
                batch_id=batch_id, manifest_sha256=HASH, path=f"{batch_id}/response.json",
                released_at=received_at))  # fmt: skip
            events.append(Event(EventKind.RESPONSE_RELEASED, f"response:{batch_id}", batch_id,
                                {"manifest_sha256": HASH}))  # fmt: skip
        append_events(conn, events, received_at)


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
