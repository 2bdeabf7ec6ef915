"""claimed_taxpayers: who was disclosed, or confirmed for disclosure, within a window."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from taxgate.errors import TaxgateError
from taxgate.ledger.database import open_ledger
from taxgate.ledger.disclosed import claimed_taxpayers, refuse_redisclosure
from taxgate.policy import load_policy
from tests.ledger.seed import AT, seed_batch, subject

TIN = "900700001"  # the taxpayer every seeded decision names


@pytest.fixture
def ledger(database_url: str):
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def test_a_disclosure_in_the_window_claims_its_taxpayer(ledger) -> None:
    seed_batch(ledger, "B-1", [subject(1)])
    assert claimed_taxpayers(ledger, {TIN, "111111111"}, AT - timedelta(days=1)) == {
        TIN: {("B-1", 1)}
    }
    assert claimed_taxpayers(ledger, {TIN}, AT + timedelta(days=1)) == {}


def test_a_review_resolved_confirmed_claims_and_not_confirmed_does_not(ledger) -> None:
    seed_batch(ledger, "B-R", [subject(1, outcome="REVIEW", probability=0.9, review="CONFIRMED")])
    seed_batch(ledger, "B-N", [subject(1, outcome="NOT_CONFIRMED")])
    assert claimed_taxpayers(ledger, {TIN}, AT) == {TIN: {("B-R", 1)}}


def test_a_confirmed_decision_not_yet_released_claims(ledger) -> None:
    """A batch awaiting review holds its CONFIRMED taxpayers for the release to come."""
    seed_batch(ledger, "B-W", [subject(1)], released=False)
    assert claimed_taxpayers(ledger, {TIN}, AT) == {TIN: {("B-W", 1)}}


def test_a_release_that_would_disclose_a_claimed_taxpayer_is_refused(ledger) -> None:
    """A REVIEW resolved CONFIRMED after the taxpayer went out in another batch."""
    seed_batch(ledger, "OLD", [subject(1)])
    later = AT + timedelta(days=30)
    seed_batch(ledger, "NEW", [subject(1, outcome="REVIEW", probability=0.9)],
               received_at=later, released=False)  # fmt: skip
    decisions = pa.table({"row": [1], "tin": [TIN], "outcome": ["REVIEW"]})
    responses = pa.table({"outcome": ["CONFIRMED"]})
    with pytest.raises(TaxgateError, match="batch OLD row 1") as raised:
        refuse_redisclosure(ledger, "NEW", responses, decisions, load_policy())
    assert "review resolve" in str(raised.value)
    # Resolved NOT_CONFIRMED instead, it goes out.
    refuse_redisclosure(ledger, "NEW", pa.table({"outcome": ["NOT_CONFIRMED"]}), decisions,
                         load_policy())  # fmt: skip


def test_two_rows_of_one_release_may_not_share_a_taxpayer(ledger) -> None:
    seed_batch(ledger, "ONE", [subject(1, outcome="REVIEW", probability=0.9),
                               subject(2, outcome="REVIEW", probability=0.9)],
               released=False)  # fmt: skip
    decisions = pa.table({"row": [1, 2], "tin": [TIN, TIN], "outcome": ["REVIEW", "REVIEW"]})
    responses = pa.table({"outcome": ["CONFIRMED", "CONFIRMED"]})
    with pytest.raises(TaxgateError, match="row 1 of this batch"):
        refuse_redisclosure(ledger, "ONE", responses, decisions, load_policy())
