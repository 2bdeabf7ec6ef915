"""The decision's own words: an internal REVIEW outcome and machine reason codes, never released."""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa

from taxgate.formats.codes import Outcome


class Decision(StrEnum):
    """A decision's outcome; REVIEW must be resolved by an officer before any response."""

    CONFIRMED = Outcome.CONFIRMED.value
    REVIEW = "REVIEW"
    NOT_CONFIRMED = Outcome.NOT_CONFIRMED.value


class DecisionReason(StrEnum):
    """Why a subject was not CONFIRMED; kept in the decision record, never sent to the requester."""

    NO_CANDIDATES = "NO_CANDIDATES"
    BELOW_REVIEW = "BELOW_REVIEW"
    BELOW_CONFIRM = "BELOW_CONFIRM"
    ADDRESS_NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
    TIN_ONLY = "TIN_ONLY"
    TIN_CONFLICT = "TIN_CONFLICT"
    NAME_NOT_CORROBORATED = "NAME_NOT_CORROBORATED"
    # Both sides gave a date of birth and they are not the same date written differently.
    DOB_CONTRADICTS = "DOB_CONTRADICTS"
    AMBIGUOUS_RUNNER_UP = "AMBIGUOUS_RUNNER_UP"
    RELATIVE_NOT_DISTINGUISHED = "RELATIVE_NOT_DISTINGUISHED"
    # The matched taxpayer was already disclosed (or confirmed for disclosure) to another
    # request within the re-request window: however the request spelled the person.
    ALREADY_DISCLOSED = "ALREADY_DISCLOSED"


DECISION_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("subject_id", pa.string()),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("tin", pa.string()),
        pa.field("address_id", pa.string()),
        pa.field("match_probability", pa.float64()),
        pa.field("match_weight", pa.float64()),
        pa.field("runner_up_tin", pa.string()),
        pa.field("runner_up_weight", pa.float64()),
        pa.field("reasons", pa.string()),
        pa.field("policy_version", pa.string(), nullable=False),
        pa.field("policy_sha256", pa.string(), nullable=False),
        pa.field("model_sha256", pa.string(), nullable=False),
        pa.field("explanation", pa.string(), nullable=False),
    ]
)
"""One row per subject that passed the gate. `address_id` is written as text whatever its type
in the candidate table, so the schema does not depend on the matcher's choice of id type."""
