from __future__ import annotations

import os
import time
from datetime import date, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate.formats.codes import ReasonCode, split_codes
from taxgate.formats.records import Subject
from taxgate.formats.tables import columns, records_to_table
from taxgate.gate.run import check_subjects
from taxgate.gate.subject_rules import strict_dates
from taxgate.gate.tin import tin_is_valid
from tests.support import BATCH_DATE, valid_row

R = ReasonCode


def codes(policy, received_on: date = BATCH_DATE, **changes) -> set[str]:
    """The codes one request earns: the batch rules applied to a batch of one row."""
    verdicts, _ = check_subjects(_table([valid_row(**changes)]), policy, received_on)
    return set(split_codes(verdicts.column("reason_codes")[0].as_py()))


def test_a_complete_request_passes(policy) -> None:
    assert codes(policy) == set()


@pytest.mark.parametrize(
    ("days", "expected"),
    [(89, {R.ORDER_TOO_RECENT}), (90, set()), (91, set()), (0, {R.ORDER_TOO_RECENT})],
)
def test_ninety_day_boundary(policy, days: int, expected: set) -> None:
    order = BATCH_DATE - timedelta(days=days)
    assert codes(policy, removal_order_date=order.isoformat()) == expected


def test_ninety_days_across_a_leap_day(policy) -> None:
    # 2024-02-29 lies between: 2023-12-02 + 90 days = 2024-03-01
    assert codes(policy, date(2024, 3, 1), removal_order_date="2023-12-02") == set()
    assert codes(policy, date(2024, 2, 29), removal_order_date="2023-12-02") == {R.ORDER_TOO_RECENT}
    assert codes(policy, date(2024, 5, 29), removal_order_date="2024-02-29") == set()
    assert codes(policy, date(2024, 5, 28), removal_order_date="2024-02-29") == {R.ORDER_TOO_RECENT}


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_rule_uses_the_receipt_calendar_date_not_the_local_clock(policy, zone: str) -> None:
    """The 90 days count from the UTC receipt day as given, whatever the local zone."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        assert codes(policy, removal_order_date="2025-05-03") == set()  # day 90
        assert codes(policy, removal_order_date="2025-05-04") == {R.ORDER_TOO_RECENT}  # day 89
    finally:
        if old is None:
            os.environ.pop("TZ")
        else:
            os.environ["TZ"] = old
        time.tzset()


@pytest.mark.parametrize("value", ["2025-08-02", "2030-01-01"])
def test_order_in_the_future_is_invalid(policy, value: str) -> None:
    assert codes(policy, removal_order_date=value) == {R.ORDER_DATE_INVALID}


@pytest.mark.parametrize(
    "value", ["13/45/2020", "2021-02-30", "2023-2-1", "yesterday", "2023-02-29"]
)
def test_malformed_order_dates(policy, value: str) -> None:
    assert codes(policy, removal_order_date=value) == {R.ORDER_DATE_INVALID}


def test_iso_parser_is_strict() -> None:
    valid, days = strict_dates(
        pa.array(
            ["2024-02-29", "20240229", "2024-02-29T00:00:00", "2023-02-29", None, " 1970-01-02"]
        )
    )
    assert valid.tolist() == [True, False, False, False, False, True]
    assert days[0] == (date(2024, 2, 29) - date(1970, 1, 1)).days and days[5] == 1


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("subject_id", R.SUBJECT_ID_MISSING),
        ("given_name", R.NAME_INCOMPLETE),
        ("family_name", R.NAME_INCOMPLETE),
        ("removal_order_date", R.ORDER_DATE_MISSING),
        ("removal_order_case", R.ORDER_CASE_MISSING),
        ("investigation_id", R.INVESTIGATION_MISSING),
        ("taxable_periods", R.TAXABLE_PERIODS_MISSING),
        ("relevance", R.RELEVANCE_MISSING),
    ],
)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_each_required_field(policy, field: str, expected: ReasonCode, empty) -> None:
    assert codes(policy, **{field: empty}) == {expected}


def test_name_of_punctuation_only_is_incomplete(policy) -> None:
    assert codes(policy, given_name="--") == {R.NAME_INCOMPLETE}


def _statement(length: int) -> str:
    return ("Named in the case file. " * 20)[:length]


def test_short_relevance_is_not_specific(policy) -> None:
    assert codes(policy, relevance=_statement(policy.subject.min_relevance_chars - 1)) == {
        R.RELEVANCE_MISSING
    }
    assert codes(policy, relevance=_statement(policy.subject.min_relevance_chars)) == set()


def test_relevance_of_one_repeated_character_is_missing(policy) -> None:
    assert codes(policy, relevance="x" * policy.subject.min_relevance_chars) == {
        R.RELEVANCE_MISSING
    }


def test_several_failures_are_all_reported(policy) -> None:
    got = codes(policy, street="UNKNOWN", investigation_id="", tin="666-12-3456")
    assert got == {R.ADDRESS_PLACEHOLDER, R.INVESTIGATION_MISSING, R.TIN_INVALID}


@pytest.mark.parametrize(
    ("tin", "ok"),
    [
        ("123-45-6789", True),
        ("123456789", True),
        ("000123456", False),
        ("666123456", False),
        ("123006789", False),
        ("123450000", False),
        ("12345678", False),
        ("12345678A", False),
        ("912701234", True),
        ("912501234", True),
        ("912651234", True),
        ("912661234", False),
        ("912931234", False),
        ("912991234", True),
        ("900001234", False),
    ],
)
def test_tin_structure(policy, tin: str, ok: bool) -> None:
    assert tin_is_valid(tin, policy.tin) is ok
    assert codes(policy, tin=tin) == (set() if ok else {R.TIN_INVALID})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "1985-02-30"),
        ("date_of_birth", "1850-01-01"),
        ("date_of_birth", "2026-01-01"),
        ("state", "XX"),
        ("zip", "7870"),
        ("zip", "ABCDE"),
        ("taxable_periods", "2023;24"),
        ("taxable_periods", "1999"),
        ("taxable_periods", "2026"),
        ("given_name", "Ana\x00"),
        ("relevance", "Named in the case file. " * 9),
    ],
)
def test_malformed_fields(policy, field: str, value: str) -> None:
    assert codes(policy, **{field: value}) == {R.FIELD_MALFORMED}


def test_state_names_and_zip_plus_four_are_accepted(policy) -> None:
    assert codes(policy, state="Texas", zip="78701-1234") == set()
    assert codes(policy, zip="787011234", taxable_periods="2023, 2024") == set()


def _table(rows: list[dict]) -> pa.Table:
    return records_to_table([Subject(**r) for r in rows], "subjects")


def test_duplicate_ids_reject_every_row_that_shares_them(policy) -> None:
    rows = [valid_row(subject_id="S-1"), valid_row(subject_id="S-2"), valid_row(subject_id="S-1")]
    verdicts, _ = check_subjects(_table(rows), policy, BATCH_DATE)
    assert verdicts.column("reason_codes").to_pylist() == [
        "DUPLICATE_SUBJECT",
        None,
        "DUPLICATE_SUBJECT",
    ]
    assert verdicts.column("proceed").to_pylist() == [False, True, False]


def test_verdicts_name_the_policy_and_explain(policy) -> None:
    verdicts, _ = check_subjects(_table([valid_row(zip="7")]), policy, BATCH_DATE)
    row = verdicts.to_pylist()[0]
    assert row["policy_sha256"] == policy.sha256 and row["policy_version"] == policy.version
    assert row["fields"] == "zip" and "FIELD_MALFORMED" in row["detail"]


_any_text = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", " ", "2024-02-29"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({c: _any_text for c in columns("subjects")}), max_size=4))
def test_arbitrary_strings_always_get_a_verdict(policy, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows, schema=_table([]).schema)
    verdicts, _ = check_subjects(table, policy, BATCH_DATE, secret=b"k")
    assert verdicts.num_rows == len(rows)
    for verdict in verdicts.to_pylist():
        assert verdict["proceed"] == (verdict["reason_codes"] is None)
        for code in split_codes(verdict["reason_codes"]):
            ReasonCode(code)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({c: _any_text for c in columns("subjects")}), min_size=2, max_size=5
    )
)
def test_a_row_verdict_does_not_depend_on_its_neighbours(policy, rows: list[dict]) -> None:
    """Column-wise rules must give each row the verdict it would get alone."""
    for i, row in enumerate(rows):
        row["subject_id"] = f"S-{i}"  # distinct ids: duplicates are the one cross-row rule
    together, _ = check_subjects(_table_of(rows), policy, BATCH_DATE)
    for i, row in enumerate(rows):
        alone, _ = check_subjects(_table_of([row]), policy, BATCH_DATE)
        assert alone.column("reason_codes")[0] == together.column("reason_codes")[i]


def _table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=_table([]).schema)
