"""Attacks on time: the requester's `submitted_on` never moves a date rule.

Every rule counts from the gateway's receipt time (taxgate.gate.receipt), injected here as a
parameter. A manifest dated after receipt (beyond the policy's skew), long before it, or
before the agreement took effect is refused with its own reason; no date anywhere in a
manifest or a subjects file crashes the gate.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from taxgate.errors import TaxgateError
from taxgate.formats.codes import ReasonCode
from taxgate.formats.keys import new_key
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.records import Subject
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import records_to_table, write_table
from taxgate.gate.batch_rules import batch_date_problems
from taxgate.gate.history import MemoryHistory, ReceivedBatch
from taxgate.gate.reasons import BatchReason
from taxgate.gate.receipt import days_after, days_before, receipt_time
from taxgate.gate.run import check_subjects, run_gate
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import accounting_rows
from taxgate.ledger.database import open_ledger
from taxgate.ledger.gate_history import SqlGateHistory
from taxgate.ledger.recall import plan_recall
from taxgate.normalize.records import normalise
from tests.ledger.seed import AT as SEED_AT
from tests.ledger.seed import seed_batch
from tests.ledger.seed import subject as seeded
from tests.support import ATTESTATION, BATCH_DATE, RECEIVED_AT, valid_row

SECRET = b"time-secret"
RECEIVED_ON = RECEIVED_AT.date()


def at(day: date) -> datetime:
    """A receipt time on `day` (mid-afternoon UTC)."""
    return datetime.combine(day, time(15, 30), tzinfo=UTC)


def gate(path: Path, keyring, policy, received_at: datetime = RECEIVED_AT, history=None):
    return run_gate(
        path, keyring, policy, history or MemoryHistory(), SECRET, received_at=received_at
    )


# --- the manifest's own date -----------------------------------------------------------------


def test_a_batch_dated_ahead_does_not_let_a_recent_order_through(
    make_batch, keyring, policy
) -> None:
    """The reported attack: dated 100 days ahead, a 30-day-old order passed the 90-day rule."""
    order = (RECEIVED_ON - timedelta(days=30)).isoformat()
    ahead = RECEIVED_ON + timedelta(days=100)
    path = make_batch([valid_row(removal_order_date=order)], submitted_on=ahead)
    result = gate(path, keyring, policy)
    assert result.batch.reason is BatchReason.BATCH_DATE_AFTER_RECEIPT
    assert result.verdicts is None and not result.batch.accepted
    assert ahead.isoformat() in result.batch.message
    assert RECEIVED_ON.isoformat() in result.batch.message


def test_within_the_skew_the_ninety_days_still_count_from_receipt(
    make_batch, keyring, policy
) -> None:
    skew = policy.batch.max_clock_skew_days
    dated = RECEIVED_ON + timedelta(days=skew)
    day_89 = (RECEIVED_ON - timedelta(days=89)).isoformat()  # day 90 by the manifest's date
    day_90 = (RECEIVED_ON - timedelta(days=90)).isoformat()
    rows = [
        valid_row(subject_id="S-89", removal_order_date=day_89),
        valid_row(subject_id="S-90", removal_order_date=day_90, given_name="Ana"),
    ]
    result = gate(make_batch(rows, submitted_on=dated), keyring, policy)
    assert result.batch.accepted
    assert result.verdicts.column("reason_codes").to_pylist() == ["ORDER_TOO_RECENT", None]


def test_one_day_past_the_skew_is_refused(make_batch, keyring, policy) -> None:
    dated = RECEIVED_ON + timedelta(days=policy.batch.max_clock_skew_days + 1)
    result = gate(make_batch([valid_row()], submitted_on=dated), keyring, policy)
    assert result.batch.reason is BatchReason.BATCH_DATE_AFTER_RECEIPT


def test_a_batch_dated_long_before_receipt_is_refused(make_batch, keyring, policy) -> None:
    age = policy.batch.max_manifest_age_days
    oldest = make_batch([valid_row()], name="oldest", submitted_on=RECEIVED_ON - timedelta(age))
    assert gate(oldest, keyring, policy).batch.accepted
    older = make_batch(
        [valid_row()], name="older", submitted_on=RECEIVED_ON - timedelta(days=age + 1)
    )
    result = gate(older, keyring, policy)
    assert result.batch.reason is BatchReason.BATCH_DATE_TOO_OLD
    assert f"{age} days" in result.batch.message


def test_a_batch_dated_before_the_agreement_is_refused(make_batch, keyring, policy) -> None:
    before = policy.effective_from - timedelta(days=1)
    result = gate(make_batch([valid_row()], submitted_on=before), keyring, policy, at(before))
    assert result.batch.reason is BatchReason.BATCH_DATE_TOO_OLD
    assert policy.effective_from.isoformat() in result.batch.message


@pytest.mark.parametrize(
    ("submitted", "reason"),
    [
        (date.min, BatchReason.BATCH_DATE_TOO_OLD),
        (date(1, 1, 2), BatchReason.BATCH_DATE_TOO_OLD),
        (date(1900, 1, 1), BatchReason.BATCH_DATE_TOO_OLD),
        (date.max, BatchReason.BATCH_DATE_AFTER_RECEIPT),
        (date(9999, 12, 30), BatchReason.BATCH_DATE_AFTER_RECEIPT),
    ],
)
def test_absurd_manifest_dates_are_refused_not_crashed(
    make_batch, keyring, policy, submitted: date, reason: BatchReason
) -> None:
    """0001-01-01 used to end in "internal error: OverflowError"."""
    result = gate(make_batch([valid_row()], submitted_on=submitted), keyring, policy)
    assert result.batch.reason is reason


@pytest.mark.parametrize("text", ["2025-02-30", "2025-13-01", "0000-01-01", "10000-01-01", ""])
def test_an_impossible_manifest_date_is_unreadable(make_batch, keyring, policy, text) -> None:
    path = make_batch([valid_row()])
    data = json.loads(path.read_text())
    data["submitted_on"] = text
    path.write_text(json.dumps(data))
    result = gate(path, keyring, policy)
    assert result.batch.reason is BatchReason.MANIFEST_UNREADABLE


# --- the re-request window and the gate's memory ---------------------------------------------


def test_dating_a_batch_later_does_not_reopen_the_rerequest_window(
    make_batch, keyring, policy
) -> None:
    """The reported attack: a later `submitted_on` let the same people through the window."""
    history = MemoryHistory()
    first = make_batch([valid_row()], name="first")
    assert gate(first, keyring, policy, history=history).batch.accepted
    thirty = RECEIVED_AT + timedelta(days=30)
    window = policy.subject.rerequest_window_days
    claimed = thirty.date() + timedelta(days=window + 1)
    late = make_batch([valid_row(subject_id="X")], name="late", submitted_on=claimed)
    assert gate(late, keyring, policy, thirty, history).batch.reason is (
        BatchReason.BATCH_DATE_AFTER_RECEIPT
    )
    honest = make_batch([valid_row(subject_id="Y")], name="honest", submitted_on=thirty.date())
    again = gate(honest, keyring, policy, thirty, history)
    assert again.verdicts.column("reason_codes").to_pylist() == [ReasonCode.REREQUEST]


def test_the_window_counts_receipt_days_not_manifest_dates(make_batch, keyring, policy) -> None:
    """Asked on receipt day R, the person may be asked again from R + window + 1 only."""
    history = MemoryHistory()
    window = policy.subject.rerequest_window_days
    gate(make_batch([valid_row()], name="first"), keyring, policy, history=history)
    last = RECEIVED_AT + timedelta(days=window)
    inside = make_batch([valid_row(subject_id="A")], name="inside", submitted_on=last.date())
    reason = gate(inside, keyring, policy, last, history).verdicts.column("reason_codes")
    assert reason.to_pylist() == [ReasonCode.REREQUEST]
    after = last + timedelta(days=1)
    outside = make_batch([valid_row(subject_id="B")], name="outside", submitted_on=after.date())
    assert gate(outside, keyring, policy, after, history).verdicts.column(
        "proceed"
    ).to_pylist() == [True]


def test_gate_memory_is_dated_by_receipt(make_batch, keyring, policy, database_url) -> None:
    engine = open_ledger(database_url)
    dated = RECEIVED_ON - timedelta(days=10)
    path = make_batch([valid_row()], submitted_on=dated)
    assert gate(path, keyring, policy, history=SqlGateHistory(engine)).batch.accepted
    with engine.connect() as conn:
        assert conn.execute(select(t.gate_people.c.asked_on)).scalars().all() == [RECEIVED_ON]
        assert conn.execute(select(t.gate_batches.c.received_on)).scalars().all() == [RECEIVED_ON]


# --- no date crashes anything ----------------------------------------------------------------

EXTREME_DATES = st.one_of(
    st.sampled_from([date.min, date(1, 1, 2), date(1, 12, 31), date(9999, 12, 30), date.max]),
    st.dates(),
)
DATE_TEXT = st.one_of(
    EXTREME_DATES.map(date.isoformat),
    st.sampled_from(
        ["0000-00-00", "2025-02-30", "2024-02-29", "9999-12-31", "0001-01-01", "99999-01-01",
         "-0001-01-01", "2025-1-1", " 2025-01-01 ", "", "1e9"]
    ),
    st.text(max_size=12),
)  # fmt: skip
RECEIPTS = st.one_of(st.sampled_from([date.min, date.max, date(1970, 1, 1)]), st.dates()).map(at)


def test_date_arithmetic_stops_at_the_ends_of_the_calendar() -> None:
    assert days_before(date.min, 180) == date.min
    assert days_after(date.max, 1) == date.max
    assert days_before(date(2025, 1, 1), 1) == date(2024, 12, 31)
    assert days_after(date(2024, 12, 31), 1) == date(2025, 1, 1)


@settings(max_examples=60, deadline=None)
@given(submitted=EXTREME_DATES, received=RECEIPTS)
def test_batch_date_rules_decide_every_pair_of_dates(policy, submitted, received) -> None:
    problems = batch_date_problems(submitted, policy, received.date())
    oldest = max(
        days_before(received.date(), policy.batch.max_manifest_age_days), policy.effective_from
    )
    latest = days_after(received.date(), policy.batch.max_clock_skew_days)
    assert (problems == []) == (oldest <= submitted <= latest)


@settings(max_examples=60, deadline=None)
@given(received=RECEIPTS, dob=DATE_TEXT, order=DATE_TEXT, periods=DATE_TEXT)
def test_subject_dates_never_crash_the_rules(policy, received, dob, order, periods) -> None:
    row = valid_row(date_of_birth=dob, removal_order_date=order, taxable_periods=periods)
    table = records_to_table([Subject(**row)], "subjects")
    history = MemoryHistory()
    verdicts, keys = check_subjects(table, policy, received.date(), history=history, secret=SECRET)
    assert verdicts.num_rows == 1
    assert normalise(table, "subjects").num_rows == 1  # the pipeline normalises every row
    history.remember(
        ReceivedBatch("B", "0" * 64, received.date()), {k for r in keys for k in r}, received.date()
    )
    since = days_before(received.date(), 10**5)
    assert history.asked_since(set(history.people), since) == set(history.people)


SIGNER = new_key("Requesting Agency", "Pat Example", "Director", created_on=BATCH_DATE, seed=b"t")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(submitted=EXTREME_DATES, received=RECEIPTS, dob=DATE_TEXT, order=DATE_TEXT)
def test_no_date_crashes_the_gate(policy, submitted, received, dob, order) -> None:
    """Any manifest date, subject date and receipt time ends in a verdict, never an exception."""
    private, record = SIGNER
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "manifest.json"
        row = valid_row(date_of_birth=dob, removal_order_date=order)
        write_table(
            records_to_table([Subject(**row)], "subjects"), path.with_name("s.csv"), "subjects"
        )
        manifest = RequestManifest(
            batch_id="B-T", requesting_agency="Requesting Agency", submitted_on=submitted,
            signer=Signer(name="Pat Example", title="Director"),
            statutory_authority="8 U.S.C. 1253(a)(1)", attestation=ATTESTATION,
            subjects_file="s.csv",
        )  # fmt: skip
        sign_manifest(manifest, path, private, record).save(path)
        history = MemoryHistory()
        keyring = {record.key_id: record}
        result = gate(path, keyring, policy, received, history)
        again = gate(path, keyring, policy, received, history)
    accepted = not batch_date_problems(submitted, policy, received.date())
    assert result.batch.accepted == accepted
    assert result.batch.received_at == received
    assert (result.verdicts is not None) == accepted
    assert again.batch.resubmission == accepted


def test_a_receipt_clock_without_a_zone_is_refused() -> None:
    with pytest.raises(TaxgateError, match="time zone"):
        receipt_time(lambda: datetime(2025, 8, 1, 12))


def test_an_accounting_period_may_end_on_the_last_day_of_the_calendar(database_url) -> None:
    """`taxgate report accounting --to 9999-12-31` used to end in an OverflowError."""
    accounting = accounting_rows(open_ledger(database_url), date(9999, 12, 30), date.max)
    assert accounting.rows == [] and len(accounting.days) == 2


def test_a_recall_replays_the_gate_as_of_receipt(database_url, policy) -> None:
    """A batch that claimed a date 100 days after its receipt: the replay counts from receipt."""
    engine = open_ledger(database_url)
    order = (SEED_AT.date() - timedelta(days=60)).isoformat()
    seed_batch(engine, "CLAIMED-LATER", [seeded(1, removal_order_date=order)],
               batch_date=SEED_AT.date() + timedelta(days=100))  # fmt: skip
    plan = plan_recall(engine, policy)
    gate_reasons = {(i.batch_id, i.row): i.gate_reasons for i in plan.items}
    assert gate_reasons == {("CLAIMED-LATER", 1): [ReasonCode.ORDER_TOO_RECENT]}
