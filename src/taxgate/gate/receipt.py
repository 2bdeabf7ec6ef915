"""The gateway's receipt time: the one clock every date rule counts from, never the requester's.

A manifest's `submitted_on` is the requester's claim. The 90-day rule, dates in the future,
taxable periods and the re-request window all count from the UTC day the gateway received the
batch, which the ledger records; a resumed batch keeps the time first recorded. Callers pass
a `Clock` (tests inject a fixed one); date arithmetic goes through `days_before` and
`days_after`, which stop at the ends of the calendar instead of raising OverflowError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from taxgate.errors import TaxgateError

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The gateway's own clock, in UTC."""
    return datetime.now(UTC)


def receipt_time(clock: Clock | None = None) -> datetime:
    """The moment of receipt by `clock` (the system clock when None), as an aware UTC time."""
    at = (clock or utc_now)()
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise TaxgateError(
            f"the receipt clock gave {at!r}, not a time with a time zone",
            "Pass a clock returning an aware datetime, e.g. datetime.now(UTC).",
        )
    try:
        return at.astimezone(UTC)
    except OverflowError as exc:
        raise TaxgateError(
            f"the receipt clock gave {at!r}, which is outside the calendar in UTC",
            "Pass a clock returning a real time.",
        ) from exc


def days_before(day: date, days: int) -> date:
    """`day` minus `days` days, or the first day of the calendar when that comes earlier."""
    try:
        return day - timedelta(days=days)
    except OverflowError:
        return date.min if days >= 0 else date.max


def days_after(day: date, days: int) -> date:
    """`day` plus `days` days, or the last day of the calendar when that comes later."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days >= 0 else date.min
