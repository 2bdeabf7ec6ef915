"""Which taxpayers the ledger has disclosed, or confirmed for disclosure, since a moment.

Read by the pipeline under the batch lock (taxgate.ledger.batch_lock) before it records a
chunk of decisions and again before it releases a response, so a taxpayer is disclosed at most
once within the re-request window whatever the request's fields were.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, and_, or_, select

from taxgate.decide.outcomes import Decision
from taxgate.ledger import schema as t

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
