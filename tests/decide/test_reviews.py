"""Review resolutions: only an open REVIEW, once, by a named officer with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from taxgate.decide.reviews import REVIEWS_FILE, load_resolutions, pending_reviews, resolve
from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome
from tests.disclose.test_response import batch_of_four

BETWEEN_THRESHOLDS = 0.9  # above the review threshold, below the confirm threshold
NOW = datetime(2025, 8, 8, 9, 30, tzinfo=UTC)


@pytest.fixture
def decisions(policy):
    _, decided = batch_of_four(policy, probability=BETWEEN_THRESHOLDS)
    assert decided.column("outcome").to_pylist() == ["REVIEW", "NOT_CONFIRMED", "NOT_CONFIRMED"]
    return decided


def test_a_resolution_is_kept_and_closes_the_review(decisions, tmp_path: Path) -> None:
    assert pending_reviews(decisions, {}).column("row").to_pylist() == [2]
    made = resolve(
        tmp_path, decisions, "S-2", Outcome.NOT_CONFIRMED, " A. Officer ", "dob differs", now=NOW
    )
    assert (made.row, made.officer, made.outcome) == (2, "A. Officer", Outcome.NOT_CONFIRMED)
    loaded = load_resolutions(tmp_path)
    assert loaded == {2: made}
    assert pending_reviews(decisions, loaded).num_rows == 0


@pytest.mark.parametrize(
    ("subject", "outcome", "officer", "note", "message"),
    [
        ("S-3", Outcome.CONFIRMED, "A", "n", "decided NOT_CONFIRMED, not REVIEW"),
        ("S-9", Outcome.CONFIRMED, "A", "n", "has no decision"),
        ("S-2", Outcome.REJECTED, "A", "n", "cannot be resolved as REJECTED"),
        ("S-2", Outcome.CONFIRMED, "  ", "n", "officer"),
        ("S-2", Outcome.CONFIRMED, "A", "", "note"),
    ],
)
def test_refused_resolutions_leave_nothing_behind(
    decisions, tmp_path: Path, subject, outcome, officer, note, message
) -> None:
    with pytest.raises(TaxgateError, match=message):
        resolve(tmp_path, decisions, subject, outcome, officer, note, now=NOW)
    assert not (tmp_path / REVIEWS_FILE).exists()


def test_a_resolution_is_final(decisions, tmp_path: Path) -> None:
    resolve(tmp_path, decisions, "S-2", Outcome.CONFIRMED, "A", "checked", now=NOW)
    with pytest.raises(TaxgateError, match="already resolved"):
        resolve(tmp_path, decisions, "S-2", Outcome.NOT_CONFIRMED, "B", "changed mind", now=NOW)
    assert load_resolutions(tmp_path)[2].outcome == Outcome.CONFIRMED


def test_an_edited_file_with_two_resolutions_is_refused(decisions, tmp_path: Path) -> None:
    resolve(tmp_path, decisions, "S-2", Outcome.CONFIRMED, "A", "checked", now=NOW)
    path = tmp_path / REVIEWS_FILE
    path.write_text(path.read_text() * 2)
    with pytest.raises(TaxgateError, match="resolved twice") as caught:
        load_resolutions(tmp_path)
    assert caught.value.row == 2
