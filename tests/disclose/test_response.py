from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from taxgate.decide.rules import decide
from taxgate.disclose.response import MANIFEST_FILE, RESPONSES_FILE, build_responses, write_response
from taxgate.errors import TaxgateError
from taxgate.formats.manifest import ArrivedManifest, ResponseManifest
from taxgate.formats.records import ResponseRow
from taxgate.formats.signing import file_sha256, verify_manifest_file
from taxgate.formats.tables import columns, read_table
from taxgate.policy import Policy
from tests.decide.pairs import MODEL_SHA, pair, person, table
from tests.support import valid_row

A, B = "111111111", "222222222"
STRONG = 30.0
ADDRESS_FIELDS = ("street", "unit", "city", "state", "zip", "address_tax_year")

# The taxpayer filed from 123 N Main St (matched) and has moved since: last_known is elsewhere.
LAST_KNOWN = pa.table(
    {
        "tin": [A, B],
        "street": ["2 Oak St", "9 Elm St"],
        "unit": ["3", None],
        "city": ["Dallas", "Houston"],
        "state": ["TX", "TX"],
        "zip": ["75201", "77002"],
        "tax_year": [2024, 2023],
    }
)


def verdicts(rows: list[tuple[str | None, bool, str | None]]) -> pa.Table:
    return pa.table(
        {
            "row": list(range(1, len(rows) + 1)),
            "subject_id": [r[0] for r in rows],
            "proceed": [r[1] for r in rows],
            "reason_codes": [r[2] for r in rows],
        }
    )


def batch_of_four(policy: Policy, *, probability: float | None = None) -> tuple[pa.Table, ...]:
    """Row 1 rejected, row 2 confirmed (stale address), row 3 ambiguous, row 4 no candidate."""
    subject = person()
    stranger = person(family="PEREZ", house_number="8", street_name="ELM ST")
    pairs = [
        pair(subject, person(), weight=STRONG, tin=A, row=2, probability=probability),
        pair(subject, person(), weight=STRONG, tin=A, row=3, subject_id="S-3"),
        pair(subject, stranger, weight=STRONG - 1, tin=B, row=3, subject_id="S-3"),
    ]
    gate = verdicts(
        [
            ("S-1", False, "ADDRESS_PLACEHOLDER;TIN_INVALID"),
            ("S-2", True, None),
            ("S-3", True, None),
            ("S-4", True, None),
        ]
    )
    decisions = decide(table(pairs), [2, 3, 4], policy, MODEL_SHA)
    return gate, decisions


def by_id(responses: pa.Table) -> dict[str, dict]:
    return {r["subject_id"]: r for r in responses.to_pylist()}


def test_one_response_per_batch_row_in_batch_order(policy) -> None:
    gate, decisions = batch_of_four(policy)
    responses = build_responses(gate.take([3, 1, 0, 2]), decisions, LAST_KNOWN, policy)
    assert responses.column_names == columns("responses")
    assert responses.column("subject_id").to_pylist() == ["S-1", "S-2", "S-3", "S-4"]
    assert responses.column("outcome").to_pylist() == [
        "REJECTED",
        "CONFIRMED",
        "NOT_CONFIRMED",
        "NOT_CONFIRMED",
    ]


def test_rejected_rows_carry_the_gate_codes_and_nothing_else(policy) -> None:
    gate, decisions = batch_of_four(policy)
    rejected = by_id(build_responses(gate, decisions, LAST_KNOWN, policy))["S-1"]
    assert rejected["reason_codes"] == "ADDRESS_PLACEHOLDER;TIN_INVALID"
    assert all(rejected[f] is None for f in ADDRESS_FIELDS)


def test_confirmed_carries_the_last_known_address_not_the_matched_one(policy) -> None:
    gate, decisions = batch_of_four(policy)
    confirmed = by_id(build_responses(gate, decisions, LAST_KNOWN, policy))["S-2"]
    assert confirmed == {
        "subject_id": "S-2",
        "outcome": "CONFIRMED",
        "reason_codes": None,
        "street": "2 Oak St",
        "unit": "3",
        "city": "Dallas",
        "state": "TX",
        "zip": "75201",
        "address_tax_year": 2024,
    }


def test_confirmed_carries_only_the_fields_the_policy_allows(policy) -> None:
    gate, decisions = batch_of_four(policy)
    narrower = policy.model_copy(
        update={
            "disclosure": policy.disclosure.model_copy(
                update={"fields": [f for f in policy.disclosure.fields if f != "unit"]}
            )
        }
    )
    confirmed = by_id(build_responses(gate, decisions, LAST_KNOWN, narrower))["S-2"]
    assert confirmed["unit"] is None and confirmed["street"] == "2 Oak St"


def test_a_policy_field_a_response_cannot_carry_is_refused(policy) -> None:
    gate, decisions = batch_of_four(policy)
    wider = policy.model_copy(
        update={
            "disclosure": policy.disclosure.model_copy(
                update={"fields": [*policy.disclosure.fields, "wages"]}
            )
        }
    )
    with pytest.raises(TaxgateError, match="wages"):
        build_responses(gate, decisions, LAST_KNOWN, wider)


def test_not_confirmed_is_the_same_with_or_without_candidates(policy) -> None:
    gate, decisions = batch_of_four(policy)
    outcomes = decisions.to_pylist()
    assert outcomes[1]["reasons"] == "AMBIGUOUS_RUNNER_UP"  # row 3 had candidates
    assert outcomes[2]["reasons"] == "NO_CANDIDATES"  # row 4 had none
    responses = by_id(build_responses(gate, decisions, LAST_KNOWN, policy))
    with_candidates, without = responses["S-3"], responses["S-4"]
    assert {k: v for k, v in with_candidates.items() if k != "subject_id"} == {
        k: v for k, v in without.items() if k != "subject_id"
    }
    assert {k for k, v in without.items() if v is not None} == {"subject_id", "outcome"}


def test_review_is_never_released_unresolved(policy) -> None:
    middle = (policy.decision.confirm_threshold + policy.decision.review_threshold) / 2
    gate, decisions = batch_of_four(policy, probability=middle)
    assert decisions.column("outcome").to_pylist()[0] == "REVIEW"
    with pytest.raises(TaxgateError, match="REVIEW is never released") as caught:
        build_responses(gate, decisions, LAST_KNOWN, policy)
    assert caught.value.row == 2


@pytest.mark.parametrize("resolution", ["CONFIRMED", "NOT_CONFIRMED"])
def test_an_officer_resolves_review(policy, resolution) -> None:
    middle = (policy.decision.confirm_threshold + policy.decision.review_threshold) / 2
    gate, decisions = batch_of_four(policy, probability=middle)
    responses = by_id(build_responses(gate, decisions, LAST_KNOWN, policy, {2: resolution}))
    assert responses["S-2"]["outcome"] == resolution
    assert (responses["S-2"]["street"] == "2 Oak St") is (resolution == "CONFIRMED")


def test_a_resolution_cannot_overturn_a_decision_that_was_not_review(policy) -> None:
    gate, decisions = batch_of_four(policy)
    with pytest.raises(TaxgateError, match="Only a REVIEW decision"):
        build_responses(gate, decisions, LAST_KNOWN, policy, {3: "CONFIRMED"})


def test_every_subject_that_passed_the_gate_needs_a_decision(policy) -> None:
    gate, decisions = batch_of_four(policy)
    with pytest.raises(TaxgateError, match="no decision"):
        build_responses(gate, decisions.slice(0, 2), LAST_KNOWN, policy)


def test_a_decision_for_a_rejected_subject_is_refused(policy) -> None:
    gate, decisions = batch_of_four(policy)
    rejected_everything = gate.set_column(2, "proceed", pa.array([False] * 4))
    rejected_everything = rejected_everything.set_column(
        3, "reason_codes", pa.array(["REREQUEST"] * 4)
    )
    with pytest.raises(TaxgateError, match="rows the gate rejected"):
        build_responses(rejected_everything, decisions, LAST_KNOWN, policy)


def test_a_confirmed_taxpayer_without_a_last_known_address_is_refused(policy) -> None:
    gate, decisions = batch_of_four(policy)
    with pytest.raises(TaxgateError, match="no last known address"):
        build_responses(gate, decisions, LAST_KNOWN.slice(1), policy)


def test_decisions_under_another_policy_are_refused(policy) -> None:
    gate, decisions = batch_of_four(policy)
    other = decisions.set_column(
        decisions.schema.get_field_index("policy_sha256"),
        "policy_sha256",
        pa.array(["0" * 64] * decisions.num_rows),
    )
    with pytest.raises(TaxgateError, match="another policy"):
        build_responses(gate, other, LAST_KNOWN, policy)


def test_a_row_sent_without_subject_id_is_still_answered(policy) -> None:
    gate = verdicts([(None, False, "SUBJECT_ID_MISSING")])
    empty = decide(table([]), [], policy, MODEL_SHA)
    responses = build_responses(gate, empty, LAST_KNOWN, policy).to_pylist()
    assert responses[0]["outcome"] == "REJECTED" and responses[0]["subject_id"] == "(row 1)"


# ---------------------------------------------------------------- signed response


def signed_response(make_batch, policy, disclosing_key, tmp_path) -> tuple[Path, Path, Path]:
    manifest_path = make_batch([valid_row(subject_id=f"S-{i}") for i in range(1, 5)])
    gate, decisions = batch_of_four(policy)
    responses = build_responses(gate, decisions, LAST_KNOWN, policy)
    out = tmp_path / "response"
    key_path, keyring = disclosing_key
    written = write_response(
        responses,
        ArrivedManifest.read(manifest_path),
        out,
        key_path,
        responded_on=date(2025, 8, 7),
    )
    return written, keyring, manifest_path


def test_signed_response_verifies(make_batch, policy, disclosing_key, tmp_path) -> None:
    written, keyring, manifest_path = signed_response(make_batch, policy, disclosing_key, tmp_path)
    assert written.name == MANIFEST_FILE
    assert verify_manifest_file(written, keyring, ResponseManifest) == []
    manifest = ResponseManifest.load(written)
    assert manifest.request_sha256 == file_sha256(manifest_path)
    assert manifest.disclosing_agency == "Disclosing Agency"
    assert manifest.recipient_agency == "Requesting Agency"
    assert manifest.responded_on == date(2025, 8, 7)
    assert manifest.response_count == 4
    rows = read_table(written.parent / RESPONSES_FILE, "responses").to_pylist()
    assert [ResponseRow(**r).outcome for r in rows] == [
        "REJECTED",
        "CONFIRMED",
        "NOT_CONFIRMED",
        "NOT_CONFIRMED",
    ]


def test_a_changed_response_no_longer_verifies(
    make_batch, policy, disclosing_key, tmp_path
) -> None:
    written, keyring, _ = signed_response(make_batch, policy, disclosing_key, tmp_path)
    csv = written.parent / RESPONSES_FILE
    csv.write_bytes(csv.read_bytes().replace(b"Dallas", b"Austin"))
    codes = {p.code for p in verify_manifest_file(written, keyring, ResponseManifest)}
    assert "TABLE_CHANGED" in codes
    data = json.loads(written.read_text())
    data["recipient_agency"] = "Someone Else"
    written.write_text(json.dumps(data))
    codes = {p.code for p in verify_manifest_file(written, keyring, ResponseManifest)}
    assert "SIGNATURE_INVALID" in codes


def test_a_response_is_never_overwritten(make_batch, policy, disclosing_key, tmp_path) -> None:
    written, _, manifest_path = signed_response(make_batch, policy, disclosing_key, tmp_path)
    gate, decisions = batch_of_four(policy)
    responses = build_responses(gate, decisions, LAST_KNOWN, policy)
    with pytest.raises(TaxgateError, match="already there"):
        write_response(
            responses,
            ArrivedManifest.read(manifest_path),
            written.parent,
            disclosing_key[0],
        )


def test_a_response_must_answer_every_subject(make_batch, policy, disclosing_key, tmp_path) -> None:
    manifest_path = make_batch([valid_row(subject_id=f"S-{i}") for i in range(1, 6)])
    gate, decisions = batch_of_four(policy)
    responses = build_responses(gate, decisions, LAST_KNOWN, policy)
    with pytest.raises(TaxgateError, match="4 responses for a batch of 5"):
        write_response(
            responses,
            ArrivedManifest.read(manifest_path),
            tmp_path / "out",
            disclosing_key[0],
        )
