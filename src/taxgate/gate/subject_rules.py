"""The per-subject rules of the statute and the agreement, compiled once from the policy.

Plain Python driven by the TOML, not Cedar or Rego: every rule is a predicate over parsed
text (dates, TIN structure, usaddress tags) that a policy language cannot express without
calling back into Python, and 1.28 million subjects leave no room for a per-request engine
call. What a rule compares against (days, placeholders, ranges, required fields) is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from scourgify.address_constants import STATE_ABBREVIATIONS

from taxgate.formats.codes import ReasonCode
from taxgate.gate.address import address_problems, zip_is_wellformed
from taxgate.gate.tin import tin_is_valid
from taxgate.normalize.text import fold
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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PERIOD_SPLIT = re.compile(r"[;,\s]+")
_PERIODS = re.compile(r"^\d{4}(?:[;,\s]+\d{4})*$")
_STATES = frozenset(STATE_ABBREVIATIONS) | frozenset(STATE_ABBREVIATIONS.values())


@dataclass(frozen=True)
class Finding:
    """One failed rule: its code and the field it concerns."""

    code: ReasonCode
    field: str


def parse_iso_date(text: str) -> date | None:
    """Strict YYYY-MM-DD; anything else (including 2021-02-30) is None."""
    text = text.strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def days_between(earlier: date, later: date) -> int:
    """Whole calendar days from `earlier` to `later`: the 90-day rule's count."""
    return (later - earlier).days


class SubjectRules:
    """All subject-level rules for one batch date under one policy."""

    def __init__(self, policy: Policy, submitted_on: date) -> None:
        self.policy = policy
        self.rules = policy.subject
        self.submitted_on = submitted_on
        self.placeholders = frozenset(fold(p) for p in policy.address.placeholders)

    def check(self, row: dict[str, str | None]) -> list[Finding]:
        """Every rule this subject fails; empty when it may proceed (duplicates aside)."""
        findings: list[Finding] = []
        value = {k: (v if v and not v.isspace() else None) for k, v in row.items()}
        present = [v for v in value.values() if v is not None]
        longest = max(map(len, present), default=0)
        if longest > self.rules.max_field_chars or _CONTROL.search("\t".join(present)):
            for name, text in value.items():
                if text is not None and (
                    _CONTROL.search(text) or len(text) > self.rules.max_field_chars
                ):
                    findings.append(Finding(ReasonCode.FIELD_MALFORMED, name))
        for name in self.rules.required:
            text = value.get(name)
            if text is None or (name in ("given_name", "family_name") and not fold(text)):
                findings.append(Finding(MISSING_CODES.get(name, ReasonCode.FIELD_MISSING), name))
        findings += self._order(value.get("removal_order_date"))
        findings += self._birth(value.get("date_of_birth"))
        findings += self._periods(value.get("taxable_periods"))
        relevance = value.get("relevance")
        if relevance is not None and len(relevance.strip()) < self.rules.min_relevance_chars:
            findings.append(Finding(ReasonCode.RELEVANCE_MISSING, "relevance"))
        tin = value.get("tin")
        if tin is not None and not tin_is_valid(tin, self.policy.tin):
            findings.append(Finding(ReasonCode.TIN_INVALID, "tin"))
        state, zip_code = value.get("state"), value.get("zip")
        if state is not None and fold(state) not in _STATES:
            findings.append(Finding(ReasonCode.FIELD_MALFORMED, "state"))
        if zip_code is not None and not zip_is_wellformed(zip_code):
            findings.append(Finding(ReasonCode.FIELD_MALFORMED, "zip"))
        for code in address_problems(
            value.get("street"),
            value.get("city"),
            state,
            zip_code,
            self.policy.address,
            self.placeholders,
        ):
            findings.append(Finding(code, "street"))
        return _unique(findings)

    def _order(self, text: str | None) -> list[Finding]:
        if text is None:
            return []  # reported as ORDER_DATE_MISSING by the required-field rule
        order = parse_iso_date(text)
        if order is None or order > self.submitted_on:
            return [Finding(ReasonCode.ORDER_DATE_INVALID, "removal_order_date")]
        if days_between(order, self.submitted_on) < self.rules.min_days_since_order:
            return [Finding(ReasonCode.ORDER_TOO_RECENT, "removal_order_date")]
        return []

    def _birth(self, text: str | None) -> list[Finding]:
        if text is None:
            return []
        born = parse_iso_date(text)
        if born is None or born.year < self.rules.earliest_birth_year or born > self.submitted_on:
            return [Finding(ReasonCode.FIELD_MALFORMED, "date_of_birth")]
        return []

    def _periods(self, text: str | None) -> list[Finding]:
        if text is None:
            return []
        years = text.strip()
        ok = bool(_PERIODS.match(years)) and all(
            self.rules.earliest_taxable_period <= int(p) <= self.submitted_on.year
            for p in _PERIOD_SPLIT.split(years)
        )
        return [] if ok else [Finding(ReasonCode.FIELD_MALFORMED, "taxable_periods")]


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    return [f for f in findings if not (f in seen or seen.add(f))]
