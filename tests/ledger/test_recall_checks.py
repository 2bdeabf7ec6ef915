"""Replaying a decision's checks under a revised policy: what an officer settled stays settled,
a contradicting birth date is recalled whatever the thresholds."""

from __future__ import annotations

import json
from datetime import date

from taxgate.ledger.recall import _decision_reasons, _Disclosed
from tests.ledger.seed import PASSING, STRONG, WIDE_GAP


def disclosed(checks: dict, *, officer: bool = False, outcome: str = "CONFIRMED") -> _Disclosed:
    explanation = json.dumps({"checks": {**PASSING, "weight_gap": WIDE_GAP, **checks}})
    return _Disclosed(
        batch_id="B-1", row=1, subject_id="S-1", recipient_agency="Requesting Agency",
        disclosed_on=date(2026, 12, 1), outcome=outcome, probability=STRONG,
        explanation=explanation, officer_confirmed=officer,
    )  # fmt: skip


def test_a_passing_decision_replays_clean(policy) -> None:
    assert _decision_reasons(disclosed({}), policy.decision) == []


def test_a_contradicting_birth_date_is_recalled(policy) -> None:
    reasons = _decision_reasons(disclosed({"dob_contradicts": True}), policy.decision)
    assert reasons == ["DOB_CONTRADICTS"]


def test_an_officers_confirmation_covers_what_it_was_shown(policy) -> None:
    settled = {"name_corroborated": False, "name_reviewable": True}
    assert (
        _decision_reasons(disclosed(settled, officer=True, outcome="REVIEW"), policy.decision) == []
    )
    # Not reviewable, or not an officer's: the replay names the failing check.
    unsettled = {"name_corroborated": False, "name_reviewable": False}
    assert _decision_reasons(
        disclosed(unsettled, officer=True, outcome="REVIEW"), policy.decision
    ) == ["NAME_NOT_CORROBORATED"]
    assert _decision_reasons(disclosed(settled), policy.decision) == ["NAME_NOT_CORROBORATED"]
    address = {"address_corroborated": False, "address_reviewable": True}
    assert (
        _decision_reasons(disclosed(address, officer=True, outcome="REVIEW"), policy.decision) == []
    )
