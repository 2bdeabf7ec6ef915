"""Outcomes and reason codes: the words a response may use, shared by gate, decision and world."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the requesting agency learns about one subject; nothing finer is ever released."""

    CONFIRMED = "CONFIRMED"
    NOT_CONFIRMED = "NOT_CONFIRMED"
    REJECTED = "REJECTED"


class ReasonCode(StrEnum):
    """Why a request was rejected before any matching. The gate owns the rules behind them."""

    SUBJECT_ID_MISSING = "SUBJECT_ID_MISSING"
    DUPLICATE_SUBJECT = "DUPLICATE_SUBJECT"
    NAME_INCOMPLETE = "NAME_INCOMPLETE"
    ADDRESS_MISSING = "ADDRESS_MISSING"
    ADDRESS_PLACEHOLDER = "ADDRESS_PLACEHOLDER"
    ADDRESS_ZIP_ONLY = "ADDRESS_ZIP_ONLY"
    ADDRESS_CITY_ONLY = "ADDRESS_CITY_ONLY"
    ADDRESS_NO_LOCALITY = "ADDRESS_NO_LOCALITY"
    ADDRESS_PO_BOX = "ADDRESS_PO_BOX"
    ADDRESS_UNPARSEABLE = "ADDRESS_UNPARSEABLE"
    ADDRESS_MILITARY = "ADDRESS_MILITARY"
    ADDRESS_ZIP_UNKNOWN = "ADDRESS_ZIP_UNKNOWN"
    ADDRESS_ZIP_STATE_MISMATCH = "ADDRESS_ZIP_STATE_MISMATCH"
    ORDER_DATE_MISSING = "ORDER_DATE_MISSING"
    ORDER_DATE_INVALID = "ORDER_DATE_INVALID"
    ORDER_TOO_RECENT = "ORDER_TOO_RECENT"
    ORDER_CASE_MISSING = "ORDER_CASE_MISSING"
    INVESTIGATION_MISSING = "INVESTIGATION_MISSING"
    TAXABLE_PERIODS_MISSING = "TAXABLE_PERIODS_MISSING"
    RELEVANCE_MISSING = "RELEVANCE_MISSING"
    TIN_INVALID = "TIN_INVALID"
    FIELD_MISSING = "FIELD_MISSING"
    FIELD_MALFORMED = "FIELD_MALFORMED"
    REREQUEST = "REREQUEST"


REASON_SEPARATOR = ";"


def join_codes(codes: list[ReasonCode] | list[str]) -> str:
    return REASON_SEPARATOR.join(sorted(str(c) for c in codes))


def split_codes(text: str | None) -> list[str]:
    return [c for c in (text or "").split(REASON_SEPARATOR) if c]
