"""Retention: delete the personal data of old batches, keep the accounting, log that it happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from taxgate.errors import TaxgateError
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import day_start, utc
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.ledger.projection import PURGES, body_of
from taxgate.policy.model import Policy


@dataclass(frozen=True)
class PurgeBatch:
    """One batch whose requested personal data a purge deletes (or deleted)."""

    batch_id: str
    received_at: datetime
    rows: int


@dataclass(frozen=True)
class PurgeResult:
    """What one purge deleted: subject_data rows of batches received before `before`."""

    purge_id: int | None  # None for a preview, which records nothing
    before: date
    purged_at: datetime
    batches: tuple[PurgeBatch, ...]

    @property
    def subjects_purged(self) -> int:
        return sum(b.rows for b in self.batches)


def latest_allowed(policy: Policy, now: datetime) -> date:
    """The latest --before date that keeps every batch for the policy's retention period."""
    return utc(now).date() - timedelta(days=policy.retention.subject_data_days)


def _check_before(before: date, policy: Policy, now: datetime) -> None:
    latest = latest_allowed(policy, now)
    if before > latest:
        days = policy.retention.subject_data_days
        raise TaxgateError(
            f"purging before {before.isoformat()} would delete personal data received less "
            f"than {days} days ago (the retention period of policy {policy.version})",
            f"Use --before {latest.isoformat()} or earlier; to keep data for less time, change "
            "retention.subject_data_days in the policy file and bump its version.",
            field="before",
        )


def _purgeable(conn: Connection, before: date) -> tuple[PurgeBatch, ...]:
    """Batches received before `before` (UTC) that still hold personal data."""
    b, d = t.batches.c, t.subject_data.c
    query = (
        select(b.batch_id, b.received_at, func.count())
        .join(t.subject_data, d.batch_id == b.batch_id)
        .where(b.received_at < day_start(before))
        .group_by(b.batch_id, b.received_at)
        .order_by(b.received_at, b.batch_id)
    )
    return tuple(PurgeBatch(i, utc(at), n) for i, at, n in conn.execute(query))


def purge_preview(engine: Engine, before: date, policy: Policy, now: datetime) -> PurgeResult:
    """What `purge` would delete now; refuses the same dates and changes nothing."""
    _check_before(before, policy, now)
    with engine.connect() as conn:
        return PurgeResult(None, before, utc(now), _purgeable(conn, before))


def purge(engine: Engine, before: date, policy: Policy, now: datetime) -> PurgeResult:
    """Delete subject_data of batches received before `before` and past retention.

    One transaction deletes the rows, records a `purges` row and appends a PURGE event (dates
    and counts only). Decisions, disclosures, reviews and the log are the permanent
    accounting and stay; so do `subjects` (keyed hashes and gate verdicts, no raw values).
    """
    _check_before(before, policy, now)
    now = utc(now)
    with engine.begin() as conn:
        batches = _purgeable(conn, before)
        ids = [p.batch_id for p in batches]
        if ids:
            conn.execute(delete(t.subject_data).where(t.subject_data.c.batch_id.in_(ids)))
        purged_rows = sum(p.rows for p in batches)
        result = conn.execute(
            insert(t.purges).values(before_date=before, purged_at=now, subjects_purged=purged_rows)
        )
        purge_id = int(result.inserted_primary_key[0])
        row = {"id": purge_id, "before_date": before, "subjects_purged": purged_rows}
        body = body_of(PURGES, row, None) | {  # dates and counts only: nothing keyed
            "batches_purged": len(batches),
            "retention_days": policy.retention.subject_data_days,
            "policy_version": policy.version,
            "policy_sha256": policy.sha256,
        }
        append_events(conn, [Event(EventKind.PURGE, PURGES.key(row), None, body)], now)
    return PurgeResult(purge_id, before, now, batches)
