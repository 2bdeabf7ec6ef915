"""The per-subject rules of the statute and the agreement, applied to a whole batch at once.

Plain Python over Arrow columns, driven by the TOML, rather than Cedar or Rego: every rule is
a predicate over parsed text (strict dates, TIN structure, usaddress tags) that a policy
language cannot express without calling back into Python, and a per-request engine call
cannot meet 1.28 million subjects a minute. The numbers and lists the rules compare against
are the policy's. One request is a batch of one row: there is no second implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.formats.codes import ReasonCode
from taxgate.formats.records import IDENTIFIER_PATTERN
from taxgate.formats.tables import columns
from taxgate.gate.address import ZIP, AddressColumns, address_findings, present, state_codes
from taxgate.gate.placeholders import ADDRESS_FIELDS, FieldPlaceholders
from taxgate.gate.tin import valid_tins
from taxgate.normalize.text import visible_array
from taxgate.policy.model import Policy

# A required field that is empty gets the code naming it; any other required field FIELD_MISSING.
MISSING_CODES: dict[str, ReasonCode] = {
    "subject_id": ReasonCode.SUBJECT_ID_MISSING,
    "given_name": ReasonCode.NAME_INCOMPLETE,
    "family_name": ReasonCode.NAME_INCOMPLETE,
    "removal_order_date": ReasonCode.ORDER_DATE_MISSING,
    "removal_order_case": ReasonCode.ORDER_CASE_MISSING,
    "investigation_id": ReasonCode.INVESTIGATION_MISSING,
    "taxable_periods": ReasonCode.TAXABLE_PERIODS_MISSING,
    "relevance": ReasonCode.RELEVANCE_MISSING,
}
# An optional field holding a placeholder is malformed with its own code where it has one.
MALFORMED_CODES: dict[str, ReasonCode] = {"tin": ReasonCode.TIN_INVALID}
# Fields echoed back and compared as sent: an invisible character would make "S-1" and
# "S-1\u200b" two references that read the same, so there it is malformed, not folded away.
EXACT_FIELDS = ("subject_id",)
# Control characters other than tab and line breaks (C0, DEL and C1) are malformed anywhere.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
PERIODS = r"^\d{4}(?:[;,\s]+\d{4})*$"
PERIOD_SEPARATOR = r"[;,\s]+"
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Finding:
    """One failed rule: its code, the field it concerns, and the rows that fail it."""

    code: ReasonCode
    field: str
    rows: np.ndarray


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def _day_number(day: date) -> int:
    return (day - _EPOCH).days


def strict_dates(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(valid, day numbers since 1970) for strict YYYY-MM-DD text; 2021-02-30 is not valid."""
    text = pc.utf8_trim_whitespace(values)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)
    valid = _mask(pc.match_substring_regex(text, ISO_DATE)) & _mask(same)
    days = pc.fill_null(pc.cast(pc.cast(parsed, pa.date32()), pa.int32()), 0)
    return valid, np.asarray(days, dtype=np.int64)


class SubjectRules:
    """All subject-level rules for one batch under one policy, as of its receipt day.

    `received_on` is the gateway's UTC day of receipt (taxgate.gate.receipt), never the
    requester's `submitted_on`: the 90-day rule and every "not in the future" count from it.
    """

    def __init__(self, policy: Policy, received_on: date) -> None:
        self.policy = policy
        self.rules = policy.subject
        self.received_on = received_on
        self.placeholders = FieldPlaceholders.from_policy(policy)

    def findings(self, subjects: pa.Table) -> list[Finding]:
        """Every (code, field) rule with the rows failing it; duplicates are the caller's.

        Rules read each value as a reader sees it (`visible`: invisible characters gone, every
        space a space); only the control-character and length rules read the raw value.
        """
        raw = {
            name: subjects.column(name).combine_chunks().cast(pa.string())
            for name in columns("subjects")
        }
        col = {name: visible_array(values) for name, values in raw.items()}
        content = {name: present(values) for name, values in col.items()}
        placeholder = {
            name: self.placeholders.mask(name, values) & content[name]
            for name, values in col.items()
        }
        # A field holding a placeholder holds no value: every later rule treats it as absent.
        has = {name: content[name] & ~placeholder[name] for name in col}
        out: list[Finding] = []

        def add(code: ReasonCode, field: str, rows: np.ndarray) -> None:
            if rows.any():
                out.append(Finding(code, field, rows))

        for name, values in raw.items():
            bad = _mask(pc.match_substring_regex(values, CONTROL_CHARACTERS)) | _mask(
                pc.greater(pc.utf8_length(values), self.rules.max_field_chars)
            )
            add(ReasonCode.FIELD_MALFORMED, name, bad & content[name])
        for name in EXACT_FIELDS:
            hidden = _mask(pc.not_equal(raw[name], col[name]))
            add(ReasonCode.FIELD_MALFORMED, name, hidden & content[name])
        # An id is echoed into every CSV, ledger row and console line: only safe characters.
        safe_id = _mask(pc.match_substring_regex(raw["subject_id"], IDENTIFIER_PATTERN))
        add(ReasonCode.FIELD_MALFORMED, "subject_id", has["subject_id"] & ~safe_id)
        for name in self.rules.required:
            if name not in ADDRESS_FIELDS:
                add(MISSING_CODES.get(name, ReasonCode.FIELD_MISSING), name, ~has[name])
        for name, rows in placeholder.items():
            if name not in self.rules.required and name not in ADDRESS_FIELDS:
                add(MALFORMED_CODES.get(name, ReasonCode.FIELD_MALFORMED), name, rows)

        today = _day_number(self.received_on)
        ok, order = strict_dates(col["removal_order_date"])
        given = has["removal_order_date"]
        invalid = given & (~ok | (order > today))
        add(ReasonCode.ORDER_DATE_INVALID, "removal_order_date", invalid)
        recent = given & ~invalid & (today - order < self.rules.min_days_since_order)
        add(ReasonCode.ORDER_TOO_RECENT, "removal_order_date", recent)

        ok, born = strict_dates(col["date_of_birth"])
        earliest = _day_number(date(self.rules.earliest_birth_year, 1, 1))
        bad_birth = has["date_of_birth"] & (~ok | (born < earliest) | (born > today))
        add(ReasonCode.FIELD_MALFORMED, "date_of_birth", bad_birth)

        add(ReasonCode.FIELD_MALFORMED, "taxable_periods", self._bad_periods(col, has))

        relevance = pc.utf8_length(pc.utf8_trim_whitespace(col["relevance"]))
        short = _mask(pc.less(relevance, self.rules.min_relevance_chars))
        add(ReasonCode.RELEVANCE_MISSING, "relevance", has["relevance"] & short)

        add(ReasonCode.TIN_INVALID, "tin", has["tin"] & ~valid_tins(col["tin"], self.policy.tin))
        states = _mask(pc.is_valid(state_codes(col["state"])))
        add(ReasonCode.FIELD_MALFORMED, "state", has["state"] & ~states)
        zips = _mask(pc.match_substring_regex(pc.utf8_trim_whitespace(col["zip"]), ZIP))
        add(ReasonCode.FIELD_MALFORMED, "zip", has["zip"] & ~zips)

        address = AddressColumns(
            col["street"], col["city"], col["state"], col["zip"], unit=col["unit"]
        )
        for code, field, rows in address_findings(address, self.policy.address, self.placeholders):
            add(code, field, rows)
        return out

    def _bad_periods(self, col: dict[str, pa.Array], has: dict[str, np.ndarray]) -> np.ndarray:
        text = pc.utf8_trim_whitespace(col["taxable_periods"])
        shaped = _mask(pc.match_substring_regex(text, PERIODS))
        safe = pc.if_else(pa.array(shaped), text, pa.scalar("2000"))
        years = pc.split_pattern_regex(safe, PERIOD_SEPARATOR)
        flat = pc.cast(pc.list_flatten(years), pa.int32()).to_numpy()
        parents = pc.list_parent_indices(years).to_numpy()
        outside = (flat < self.rules.earliest_taxable_period) | (flat > self.received_on.year)
        out_of_range = np.zeros(len(text), dtype=bool)
        out_of_range[parents[outside]] = True
        return has["taxable_periods"] & (~shaped | out_of_range)
