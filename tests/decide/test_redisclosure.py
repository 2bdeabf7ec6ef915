"""withhold_redisclosures: a taxpayer already claimed is not disclosed again, in row order."""

from __future__ import annotations

import pyarrow as pa

from taxgate.decide.outcomes import DECISION_SCHEMA, DecisionReason
from taxgate.decide.redisclosure import matched_taxpayers, withhold_redisclosures
from taxgate.formats.codes import split_codes


def table(rows: list[tuple[int, str, str | None, str | None]]) -> pa.Table:
    """(row, outcome, tin, reasons) -> a DECISION_SCHEMA table."""
    return pa.Table.from_pylist(
        [
            {"row": row, "subject_id": f"S-{row}", "outcome": outcome, "tin": tin,
             "reasons": reasons, "policy_version": "v", "policy_sha256": "0" * 64,
             "model_sha256": "1" * 64, "explanation": "{}"}
            for row, outcome, tin, reasons in rows
        ],
        schema=DECISION_SCHEMA,
    )  # fmt: skip


def outcomes(decided: pa.Table) -> dict[int, tuple[str, list[str]]]:
    return {r["row"]: (r["outcome"], split_codes(r["reasons"])) for r in decided.to_pylist()}


def test_a_claimed_taxpayer_is_not_confirmed_again() -> None:
    decided = table([(1, "CONFIRMED", "111", None), (2, "CONFIRMED", "222", None)])
    result = outcomes(withhold_redisclosures(decided, {"111"}))
    assert result[1] == ("NOT_CONFIRMED", [DecisionReason.ALREADY_DISCLOSED])
    assert result[2] == ("CONFIRMED", [])


def test_within_a_batch_the_first_row_keeps_the_taxpayer_whatever_the_table_order() -> None:
    decided = table([(9, "CONFIRMED", "111", None), (3, "CONFIRMED", "111", None),
                     (5, "REVIEW", "111", "BELOW_CONFIRM")])  # fmt: skip
    result = outcomes(withhold_redisclosures(decided, set()))
    assert result[3] == ("CONFIRMED", [])
    assert result[9][0] == result[5][0] == "NOT_CONFIRMED"
    assert result[5][1] == ["ALREADY_DISCLOSED", "BELOW_CONFIRM"]


def test_a_review_does_not_claim_and_not_confirmed_is_untouched() -> None:
    decided = table([(1, "REVIEW", "111", "BELOW_CONFIRM"), (2, "CONFIRMED", "111", None),
                     (3, "NOT_CONFIRMED", "222", "TIN_ONLY"), (4, "NOT_CONFIRMED", None,
                     "NO_CANDIDATES")])  # fmt: skip
    result = outcomes(withhold_redisclosures(decided, {"222"}))
    assert result[1] == ("REVIEW", ["BELOW_CONFIRM"])
    assert result[2] == ("CONFIRMED", [])
    assert result[3] == ("NOT_CONFIRMED", ["TIN_ONLY"])
    assert matched_taxpayers(decided) == {"111"}


def test_nothing_claimed_leaves_the_table_as_it_was() -> None:
    decided = table([(1, "CONFIRMED", "111", None)])
    assert withhold_redisclosures(decided, set()).equals(decided)
