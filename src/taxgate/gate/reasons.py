"""The human sentence for every reason code: what was wrong and what the requester can do.

A sentence never mentions taxpayer data: a rejection must read the same whether or not the
subject files taxes. docs/reason-codes.md lists the same table (a test keeps them in step).
"""

from __future__ import annotations

from enum import StrEnum

from taxgate.formats.codes import ReasonCode


class BatchReason(StrEnum):
    """Why a whole batch is refused; one reason, the first that applies, in this order."""

    MANIFEST_UNREADABLE = "MANIFEST_UNREADABLE"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    KEY_UNKNOWN = "KEY_UNKNOWN"
    KEY_AGENCY_MISMATCH = "KEY_AGENCY_MISMATCH"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    TABLE_FILE_MISSING = "TABLE_FILE_MISSING"
    TABLE_UNREADABLE = "TABLE_UNREADABLE"
    TABLE_CHANGED = "TABLE_CHANGED"
    COUNT_MISMATCH = "COUNT_MISMATCH"
    SIGNER_NOT_AUTHORISED = "SIGNER_NOT_AUTHORISED"
    STATUTE_NOT_ACCEPTED = "STATUTE_NOT_ACCEPTED"
    ATTESTATION_INCOMPLETE = "ATTESTATION_INCOMPLETE"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    BATCH_DATE_AFTER_RECEIPT = "BATCH_DATE_AFTER_RECEIPT"
    BATCH_DATE_TOO_OLD = "BATCH_DATE_TOO_OLD"
    BATCH_ID_REUSED = "BATCH_ID_REUSED"


SUBJECT_SENTENCES: dict[ReasonCode, str] = {
    ReasonCode.SUBJECT_ID_MISSING: "The subject has no subject_id; give every row a reference.",
    ReasonCode.DUPLICATE_SUBJECT: (
        "The subject_id appears on more than one row; give each person one unique reference."
    ),
    ReasonCode.NAME_INCOMPLETE: (
        "The given name or the family name is empty or a placeholder (such as FNU, LNU or "
        "UNKNOWN); send both name parts."
    ),
    ReasonCode.ADDRESS_MISSING: (
        "No street address was given; send a house number and street with city and state or ZIP."
    ),
    ReasonCode.ADDRESS_PLACEHOLDER: (
        "An address field holds a placeholder (such as UNKNOWN, N/A, FAILED TO PROVIDE or "
        "00000), not an address; send the subject's street address or withdraw the request."
    ),
    ReasonCode.ADDRESS_ZIP_ONLY: (
        "Only a ZIP code was given; a ZIP code is not an address. Send the street address."
    ),
    ReasonCode.ADDRESS_CITY_ONLY: (
        "Only a city was given; a city is not an address. Send the street address."
    ),
    ReasonCode.ADDRESS_NO_LOCALITY: (
        "The street address has neither city and state nor a ZIP code; add them."
    ),
    ReasonCode.ADDRESS_PO_BOX: (
        "A post-office box is not a residence and cannot corroborate where a person lives; "
        "send a street address."
    ),
    ReasonCode.ADDRESS_UNPARSEABLE: (
        "The street could not be read as a house number and street name (USPS Publication 28); "
        "correct it."
    ),
    ReasonCode.ADDRESS_MILITARY: (
        "A military mail address (APO, FPO or DPO; state AA, AE or AP) routes mail to a unit, "
        "not to a residence, and cannot corroborate where a person lives; send a street address."
    ),
    ReasonCode.ADDRESS_ZIP_UNKNOWN: (
        "The ZIP code is not one the Postal Service has issued; correct it."
    ),
    ReasonCode.ADDRESS_ZIP_STATE_MISMATCH: (
        "The ZIP code belongs to another state than the one given; correct the ZIP code or the "
        "state."
    ),
    ReasonCode.ORDER_DATE_MISSING: "The date of the final order of removal is missing.",
    ReasonCode.ORDER_DATE_INVALID: (
        "The date of the final order of removal is not a valid past date (YYYY-MM-DD, on or "
        "before the day the batch was received); correct it."
    ),
    ReasonCode.ORDER_TOO_RECENT: (
        "The final order of removal was issued fewer than the required days before the batch "
        "was received; resubmit once the period has passed."
    ),
    ReasonCode.ORDER_CASE_MISSING: "The case number of the final order of removal is missing.",
    ReasonCode.INVESTIGATION_MISSING: (
        "No criminal investigation is named for this subject; each request must name the "
        "investigation of that person."
    ),
    ReasonCode.TAXABLE_PERIODS_MISSING: "The taxable periods are missing (e.g. 2023;2024).",
    ReasonCode.RELEVANCE_MISSING: (
        "The specific reason why the information is relevant to the investigation is missing "
        "or too short to be specific."
    ),
    ReasonCode.TIN_INVALID: (
        "The TIN is not a valid SSN or ITIN (9 digits, issuable ranges); correct or omit it."
    ),
    ReasonCode.FIELD_MISSING: (
        "A field the agreement requires is empty or holds a placeholder (such as N/A, NONE or "
        "TBD); the detail names it."
    ),
    ReasonCode.FIELD_MALFORMED: (
        "A field is malformed (bad date, state, ZIP, taxable period, control characters, "
        "excessive length, a placeholder such as N/A in a field that may be left empty, or a "
        "subject_id of other than letters, digits, '.', '_' and '-'); "
        "the detail names the field."
    ),
    ReasonCode.REREQUEST: (
        "The same person was already asked about within the re-request window of the agreement."
    ),
}

BATCH_SENTENCES: dict[BatchReason, str] = {
    BatchReason.MANIFEST_UNREADABLE: "The manifest is not valid JSON of the request format.",
    BatchReason.SIGNATURE_MISSING: "The manifest is not signed; sign it with taxgate batch sign.",
    BatchReason.KEY_UNKNOWN: "The signing key is not in the disclosing agency's keyring.",
    BatchReason.KEY_AGENCY_MISMATCH: "The signing key belongs to another agency.",
    BatchReason.SIGNATURE_INVALID: (
        "The signature does not verify: the manifest changed after signing or another key signed."
    ),
    BatchReason.TABLE_FILE_MISSING: "The subjects file named by the manifest is missing.",
    BatchReason.TABLE_UNREADABLE: "The subjects file is not a readable subjects table.",
    BatchReason.TABLE_CHANGED: "The subjects file changed after the manifest was signed.",
    BatchReason.COUNT_MISMATCH: "The subjects file has a different number of rows than signed.",
    BatchReason.SIGNER_NOT_AUTHORISED: (
        "The signer's agency and title are not authorised by the agreement to make requests."
    ),
    BatchReason.STATUTE_NOT_ACCEPTED: "The statutory authority is not one the agreement accepts.",
    BatchReason.ATTESTATION_INCOMPLETE: (
        "The attestation lacks the agreement's required wording on who may use the information."
    ),
    BatchReason.BATCH_TOO_LARGE: "The batch has more subjects than the agreement allows.",
    BatchReason.BATCH_DATE_AFTER_RECEIPT: (
        "The manifest is dated later than the day it was received, beyond the time-zone skew the "
        "agreement allows; date a batch on the day it is sent."
    ),
    BatchReason.BATCH_DATE_TOO_OLD: (
        "The manifest is dated too long before it was received, or before the agreement took "
        "effect; re-sign the batch with a current date and attestation."
    ),
    BatchReason.BATCH_ID_REUSED: (
        "A different manifest was already received under this batch_id; use a new batch_id."
    ),
}
