from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.formats.records import Truth
from taxgate.formats.tables import records_to_table
from taxgate.world.evaluate import score_gate


def _truth(rows: list[tuple[str, str, str, str | None]]) -> pa.Table:
    return records_to_table(
        [Truth(subject_id=s, case=c, expected_outcome=o, expected_reason_codes=r)
         for s, c, o, r in rows],
        "truth",
    )  # fmt: skip


def _verdicts(rows: list[tuple[str, bool, str | None]]) -> pa.Table:
    return pa.table(
        {
            "subject_id": [r[0] for r in rows],
            "proceed": [r[1] for r in rows],
            "reason_codes": [r[2] for r in rows],
        }
    )


def test_each_kind_of_error_is_counted_once() -> None:
    truth = _truth([
        ("S-1", "exact", "CONFIRMED", None),
        ("S-2", "exact", "CONFIRMED", None),
        ("S-3", "zip_only", "REJECTED", "ADDRESS_ZIP_ONLY"),
        ("S-4", "zip_only", "REJECTED", "ADDRESS_ZIP_ONLY"),
        ("S-5", "zip_only", "REJECTED", "ADDRESS_ZIP_ONLY"),
        ("S-6", "absent", "NOT_CONFIRMED", None),
    ])  # fmt: skip
    verdicts = _verdicts([
        ("S-1", True, None),
        ("S-2", False, "TIN_INVALID"),  # wrongly rejected
        ("S-3", False, "ADDRESS_ZIP_ONLY"),  # right
        ("S-4", True, None),  # missed
        ("S-5", False, "ADDRESS_ZIP_ONLY;FIELD_MALFORMED"),  # other codes
        ("S-6", True, None),
    ])  # fmt: skip
    score = score_gate(truth, verdicts)
    by_case = {c.case: c for c in score.cases}
    assert (by_case["exact"].exact, by_case["exact"].wrongly_rejected) == (1, 1)
    zip_only = by_case["zip_only"]
    assert (zip_only.exact, zip_only.missed, zip_only.wrong_codes) == (1, 1, 1)
    assert zip_only.expected_codes == "ADDRESS_ZIP_ONLY"
    assert score.subjects == 6 and score.total("exact") == 3


def test_misaligned_rows_are_refused() -> None:
    truth = _truth([("S-1", "exact", "CONFIRMED", None)])
    with pytest.raises(ValueError, match="row order"):
        score_gate(truth, _verdicts([("S-2", True, None)]))


def test_outcome_score_counts_wrongful_disclosures_and_recall() -> None:
    from taxgate.world.evaluate import score_outcomes

    truth = records_to_table(
        [
            Truth(subject_id="S-1", tin="111111111", case="exact", expected_outcome="CONFIRMED"),
            Truth(subject_id="S-2", tin="222222222", case="exact", expected_outcome="CONFIRMED"),
            Truth(subject_id="S-3", tin=None, case="absent", expected_outcome="NOT_CONFIRMED"),
            Truth(subject_id="S-4", tin="444444444", case="relative_same_name_no_dob",
                  expected_outcome="NOT_CONFIRMED"),
            Truth(subject_id="S-5", tin="555555555", case="exact", expected_outcome="CONFIRMED"),
        ],
        "truth",
    )  # fmt: skip
    outcomes = pa.table(
        {
            "subject_id": ["S-1", "S-2", "S-3", "S-4", "S-5"],
            "outcome": ["CONFIRMED", "CONFIRMED", "CONFIRMED", "CONFIRMED", "NOT_CONFIRMED"],
            "tin": ["111111111", "999999999", "333333333", "444444444", None],
        }
    )
    score = score_outcomes(truth, outcomes)
    assert score.total("confirmable") == 3 and score.total("confirmed_right") == 1
    assert score.total("wrong_taxpayer") == 2  # S-2 to someone else, S-3 not a taxpayer at all
    assert score.total("not_confirmable") == 1  # S-4: right person, but ambiguous per truth
    assert score.wrongful == 3 and abs(score.recall - 1 / 3) < 1e-9
