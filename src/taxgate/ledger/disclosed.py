"""Which taxpayers the ledger has disclosed, or confirmed for disclosure, since a moment.

Read by the pipeline under the batch lock (taxgate.ledger.batch_lock) before it records a
chunk of decisions and again before it releases a response, so a taxpayer is disclosed at most
once within the re-request window whatever the request's fields were.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pyarrow as pa
from sqlalchemy import Engine, and_, or_, select

from taxgate.decide.outcomes import Decision
from taxgate.errors import TaxgateError
from taxgate.gate.receipt import days_before, receipt_time
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import day_start
from taxgate.ledger.recorder import stored_batch
from taxgate.policy.model import Policy

QUERY_CHUNK = 5_000  # bound on parameters per IN (...) query

Claim = tuple[str, int]  # (batch_id, row) of the decision that claimed a taxpayer


def claimed_taxpayers(
    engine: Engine, tins: Iterable[str], since: datetime
) -> dict[str, set[Claim]]:
    """tin -> the decisions that disclosed it or confirmed it for disclosure, in any batch
    received (or disclosing) at or after `since`, this batch's recorded rows included."""
    wanted = sorted(set(tins))
    d, b, x = t.decisions, t.batches, t.disclosures
    found: dict[str, set[Claim]] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), QUERY_CHUNK):
            query = (
                select(d.c.tin, d.c.batch_id, d.c.row)
                .join(b, b.c.batch_id == d.c.batch_id)
                .outerjoin(x, and_(x.c.batch_id == d.c.batch_id, x.c.row == d.c.row))
                .where(
                    d.c.tin.in_(wanted[start : start + QUERY_CHUNK]),
                    or_(d.c.outcome == Decision.CONFIRMED.value, x.c.batch_id.is_not(None)),
                    or_(b.c.received_at >= since, x.c.disclosed_at >= since),
                )
            )
            for tin, batch_id, row in conn.execute(query):
                found.setdefault(tin, set()).add((batch_id, row))
    return found


def window_start(received_at: datetime | None, policy: Policy) -> datetime:
    """Start (UTC midnight) of the re-request window ending on the batch's receipt day."""
    received = received_at or receipt_time()
    return day_start(days_before(received.date(), policy.subject.rerequest_window_days))


def refuse_redisclosure(
    ledger: Engine, batch_id: str, responses: pa.Table, decisions: pa.Table, policy: Policy
) -> None:
    """Stop a release that would disclose a taxpayer claimed within the window by another row
    (a REVIEW resolved CONFIRMED after that taxpayer went out in another batch or row)."""
    stored = stored_batch(ledger, batch_id)
    since = window_start(stored.received_at if stored else None, policy)
    tin_of = dict(zip(decisions.column("row").to_pylist(), decisions.column("tin").to_pylist(),
                      strict=True))  # fmt: skip
    confirmed = [
        row
        for row, outcome in enumerate(responses.column("outcome").to_pylist(), start=1)
        if outcome == Decision.CONFIRMED.value and tin_of.get(row)
    ]
    claims = claimed_taxpayers(ledger, {tin_of[r] for r in confirmed}, since)
    first: dict[str, int] = {}
    clashes: list[tuple[int, str]] = []
    for row in confirmed:
        tin = tin_of[row]
        others = {f"batch {b} row {r}" for b, r in claims.get(tin, ()) if (b, r) != (batch_id, row)}
        if tin in first:
            others.add(f"row {first[tin]} of this batch")
        first.setdefault(tin, row)
        if others:
            clashes.append((row, sorted(others)[0]))
    if clashes:
        listed = "; ".join(f"row {row} (as {other})" for row, other in clashes[:5])
        raise TaxgateError(
            f"{len(clashes)} CONFIRMED subject(s) would disclose a taxpayer already disclosed or "
            f"confirmed within the re-request window: {listed}",
            "Resolve the REVIEW row(s) among them NOT_CONFIRMED with `taxgate review resolve` "
            "(that taxpayer's address was already disclosed), then release again.",
            row=clashes[0][0],
        )
