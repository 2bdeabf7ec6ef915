"""The receipt clock and date arithmetic that stops at the ends of the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from taxgate.errors import TaxgateError
from taxgate.gate.receipt import days_after, days_before, receipt_time


def test_days_stop_at_the_ends_of_the_calendar() -> None:
    assert days_before(date.min, 1) == date.min
    assert days_before(date.max, -1) == date.max
    assert days_after(date.max, 1) == date.max
    assert days_after(date.min, -1) == date.min
    assert days_before(date(2025, 3, 1), 1) == date(2025, 2, 28)
    assert days_after(date(2024, 2, 28), 1) == date(2024, 2, 29)


def test_the_receipt_time_is_utc() -> None:
    east = timezone(timedelta(hours=10))
    at = receipt_time(lambda: datetime(2025, 8, 2, 9, 0, tzinfo=east))
    assert at == datetime(2025, 8, 1, 23, 0, tzinfo=UTC) and at.tzinfo == UTC


@pytest.mark.parametrize(
    "clock",
    [
        lambda: datetime(2025, 8, 1, 12, 0),  # no time zone
        lambda: datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))),  # before year 1
        lambda: "2025-08-01",
    ],
)
def test_a_clock_that_gives_no_real_aware_time_is_refused(clock) -> None:
    with pytest.raises(TaxgateError, match="receipt clock"):
        receipt_time(clock)
