"""One pydantic model per exchanged record; column names here are the contract (docs/formats.md).

Subjects are modelled as raw strings on purpose: any field may be empty or wrong, and judging
it is the gate's job, so the reader must keep exactly what the requester sent.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from taxgate.formats.codes import Outcome, ReasonCode, split_codes

Tin = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
State = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Zip = Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{4})?$")]
Text = Annotated[str, StringConstraints(min_length=1)]
# Batch and subject ids: a letter or digit, then letters, digits, ".", "_" or "-", at most 100
# characters. An id so made is never a spreadsheet formula, terminal markup or a path.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
IDENTIFIER_DESCRIPTION = (
    "1 to 100 characters: a letter or digit, then letters, digits, '.', '_' or '-'."
)


class Record(BaseModel):
    """Base of every exchanged record: field order is column order, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]


class Filing(Record):
    """One return as filed with the disclosing agency."""

    kind: ClassVar[str] = "filings"

    tin: Tin = Field(description="SSN or ITIN, 9 digits, no dashes.")
    tax_year: int = Field(ge=1900, le=2100)
    filed_on: date
    given_name: Text
    middle_name: str | None = None
    family_name: Text = Field(description="As filed; may hold two surnames.")
    suffix: str | None = None
    date_of_birth: date | None = None
    street: Text = Field(description="House number and street name.")
    unit: str | None = None
    city: Text
    state: State
    zip: Zip = Field(description="ZIP5 or ZIP+4, digits only.")


class Subject(Record):
    """One person asked about, exactly as the requesting agency sent it."""

    kind: ClassVar[str] = "subjects"

    subject_id: str | None = Field(None, description="Requester's reference, unique in batch.")
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = Field(None, description="ISO date YYYY-MM-DD.")
    tin: str | None = None
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    removal_order_date: str | None = Field(None, description="ISO date of the final order.")
    removal_order_case: str | None = None
    investigation_id: str | None = None
    taxable_periods: str | None = Field(None, description='Years separated by ";".')
    relevance: str | None = Field(None, description="Why disclosure is relevant.")


ADDRESS_FIELDS = ("street", "unit", "city", "state", "zip")


class ResponseRow(Record):
    """The answer for one subject. NOT_CONFIRMED carries nothing but the id and outcome."""

    kind: ClassVar[str] = "responses"

    subject_id: Text
    outcome: Outcome
    reason_codes: str | None = Field(None, description='REJECTED only; codes joined by ";".')
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    address_tax_year: int | None = None

    @model_validator(mode="after")
    def _only_what_the_outcome_allows(self) -> ResponseRow:
        address = [getattr(self, f) for f in ADDRESS_FIELDS] + [self.address_tax_year]
        if self.outcome is Outcome.CONFIRMED:
            if self.reason_codes:
                raise ValueError("a CONFIRMED response carries no reason codes")
            if not (self.street and self.city and self.state and self.zip):
                raise ValueError("a CONFIRMED response needs street, city, state and zip")
            if self.address_tax_year is None:
                raise ValueError("a CONFIRMED response needs address_tax_year")
        else:
            if any(v is not None for v in address):
                raise ValueError(f"a {self.outcome} response carries no address")
            if self.outcome is Outcome.REJECTED and not self.reason_codes:
                raise ValueError("a REJECTED response needs at least one reason code")
            if self.outcome is Outcome.NOT_CONFIRMED and self.reason_codes:
                raise ValueError("a NOT_CONFIRMED response carries nothing but its outcome")
        for code in split_codes(self.reason_codes):
            ReasonCode(code)
        return self


class Truth(Record):
    """Ground truth written by the generator only; the pipeline never reads it."""

    kind: ClassVar[str] = "truth"

    subject_id: Text
    tin: str | None = Field(None, description="TIN of the true taxpayer; empty if none.")
    case: Text = Field(description="Scenario that produced the subject (docs/world.md).")
    expected_outcome: Outcome
    expected_reason_codes: str | None = Field(
        None, description='For REJECTED: the codes the gate must give, joined by ";".'
    )


RECORD_TYPES: dict[str, type[Record]] = {m.kind: m for m in (Filing, Subject, ResponseRow, Truth)}
