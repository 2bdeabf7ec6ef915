"""Gate paths the mutation run (bench/mutation_bench.py) found untested."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from taxgate.formats.codes import ReasonCode
from taxgate.formats.records import Subject
from taxgate.formats.tables import records_to_table
from taxgate.gate.address import address_problems
from taxgate.gate.batch_rules import batch_date_problems
from taxgate.gate.history import MemoryHistory, ReceivedBatch
from taxgate.gate.reasons import BatchReason
from taxgate.gate.run import check_subjects, run_gate
from taxgate.gate.tin import tin_is_valid
from taxgate.policy import load_policy
from tests.support import BATCH_DATE, RECEIVED_AT, valid_row

RULES = load_policy().address


@pytest.mark.parametrize("street", ["1 Main St Apt 2 Apt 3", "12 Elm St Unit 4 Unit 5"])
def test_a_street_usaddress_cannot_label_is_unparseable_not_accepted(street: str) -> None:
    """usaddress raises RepeatedLabelError on these; the gate must refuse, not fall through."""
    codes = address_problems(street, "Austin", "TX", "78701", RULES)
    assert codes, street
    assert ReasonCode.ADDRESS_UNPARSEABLE in codes


def test_a_batch_of_exactly_the_largest_size_is_allowed(make_batch, keyring, policy) -> None:
    limit = 2
    small = policy.model_copy(
        update={"batch": policy.batch.model_copy(update={"max_subjects": limit})}
    )
    rows = [valid_row(subject_id=f"S-{i}") for i in range(limit + 1)]

    def reasons(path) -> list[BatchReason]:
        result = run_gate(
            path, keyring, small, MemoryHistory(), b"s", remember=False, received_at=RECEIVED_AT
        )
        return [reason for reason, _ in result.batch.problems]

    assert reasons(make_batch(rows[:limit], name="at-limit")) == []
    assert BatchReason.BATCH_TOO_LARGE in reasons(make_batch(rows, name="over-limit"))


def test_the_memory_counts_a_person_asked_on_the_first_day_of_the_window() -> None:
    history = MemoryHistory()
    day = date(2025, 8, 1)
    history.remember(ReceivedBatch("B-1", "0" * 64, day), {"k"}, day)
    assert history.asked_since({"k", "other"}, day) == {"k"}
    assert history.asked_since({"k"}, day + timedelta(days=1)) == set()
    assert history.asked_since({"k"}, day - timedelta(days=1)) == {"k"}


@pytest.mark.parametrize(
    ("tin", "valid"),
    [("123-45-6789", True), ("123-45-0000", False), ("123-00-6789", False),
     ("000-45-6789", False), ("123-45-0001", True), ("123-45-1000", True)],
)  # fmt: skip
def test_ssn_area_group_and_serial_are_each_checked(tin: str, valid: bool) -> None:
    assert tin_is_valid(tin, load_policy().tin) is valid


def test_subjects_checked_with_a_secret_but_no_memory_are_judged_alone() -> None:
    table = records_to_table([Subject(**valid_row())], "subjects")
    verdicts, keys = check_subjects(table, load_policy(), BATCH_DATE, secret=b"secret")
    assert verdicts.column("proceed").to_pylist() == [True]
    assert len(keys) == 1 and keys[0]


VERDICT_COLUMNS = [
    "row", "subject_id", "proceed", "reason_codes", "fields", "detail", "policy_version",
    "policy_sha256",
]  # fmt: skip


def test_verdicts_carry_every_column_the_ledger_and_the_cli_read() -> None:
    table = records_to_table([Subject(**valid_row()), Subject(**valid_row(zip="1"))], "subjects")
    verdicts, _ = check_subjects(table, load_policy(), BATCH_DATE)
    assert set(VERDICT_COLUMNS) <= set(verdicts.column_names)
    assert verdicts.column("detail").to_pylist()[1]
    assert verdicts.column("fields").to_pylist()[1]


def test_a_refused_batch_lets_no_subject_proceed(make_batch, policy) -> None:
    result = run_gate(
        make_batch([valid_row()]), {}, policy, MemoryHistory(), b"s", received_at=RECEIVED_AT
    )
    assert not result.batch.accepted
    assert result.proceeding().num_rows == 0


@pytest.mark.parametrize(
    ("days_after_receipt", "reasons"),
    [
        (0, []),
        (1, []),  # one day ahead: a requester east of UTC (policy max_clock_skew_days)
        (2, [BatchReason.BATCH_DATE_AFTER_RECEIPT]),
        (-30, []),  # the oldest a manifest may be (max_manifest_age_days)
        (-31, [BatchReason.BATCH_DATE_TOO_OLD]),
    ],
)
def test_the_manifest_date_is_judged_against_the_receipt_day(
    days_after_receipt: int, reasons: list
) -> None:
    policy = load_policy()
    received = RECEIVED_AT.date()
    assert policy.batch.max_clock_skew_days == 1 and policy.batch.max_manifest_age_days == 30
    found = batch_date_problems(received + timedelta(days=days_after_receipt), policy, received)
    assert [reason for reason, _ in found] == reasons


def test_a_manifest_dated_before_the_agreement_is_too_old() -> None:
    policy = load_policy()
    day = policy.effective_from
    found = batch_date_problems(day - timedelta(days=1), policy, day + timedelta(days=1))
    assert [reason for reason, _ in found] == [BatchReason.BATCH_DATE_TOO_OLD]


def test_a_manifest_dated_the_day_the_agreement_took_effect_is_not_too_old() -> None:
    policy = load_policy()
    day = policy.effective_from
    assert batch_date_problems(day, policy, day + timedelta(days=1)) == []
