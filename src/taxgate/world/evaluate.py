"""Score a stage's output against the world's ground truth (benchmarks and the demo only)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from taxgate.formats.codes import Outcome, split_codes


@dataclass(frozen=True)
class CaseScore:
    """How the gate treated the subjects of one case."""

    case: str
    expected_codes: str  # empty: the subject should proceed to matching
    subjects: int
    exact: int  # REJECTED with exactly the expected codes, or proceeding when valid
    wrongly_rejected: int  # valid per the truth, rejected by the gate
    missed: int  # should have been rejected, proceeded
    wrong_codes: int  # rejected, but with other codes than expected


@dataclass(frozen=True)
class GateScore:
    cases: list[CaseScore]

    @property
    def subjects(self) -> int:
        return sum(c.subjects for c in self.cases)

    def total(self, attribute: str) -> int:
        return sum(getattr(c, attribute) for c in self.cases)


def score_gate(truth: pa.Table, verdicts: pa.Table) -> GateScore:
    """Compare per-row verdicts with the truth rows of the same batch (same row order)."""
    truth_rows = truth.to_pylist()
    verdict_rows = verdicts.select(["subject_id", "proceed", "reason_codes"]).to_pylist()
    if len(truth_rows) != len(verdict_rows):
        raise ValueError(f"truth has {len(truth_rows)} rows, verdicts {len(verdict_rows)}")
    cells: dict[tuple[str, str], list[int]] = {}
    for t, v in zip(truth_rows, verdict_rows, strict=True):
        if t["subject_id"] != v["subject_id"]:
            raise ValueError(f"row order differs at subject {t['subject_id']}")
        expected = set(split_codes(t["expected_reason_codes"]))
        got = set(split_codes(v["reason_codes"]))
        should_reject = t["expected_outcome"] == Outcome.REJECTED
        key = (t["case"], ";".join(sorted(expected)))
        cell = cells.setdefault(key, [0, 0, 0, 0, 0])
        cell[0] += 1
        if should_reject:
            cell[1] += int(not v["proceed"] and got == expected)
            cell[3] += int(v["proceed"])
            cell[4] += int(not v["proceed"] and got != expected)
        else:
            cell[1] += int(v["proceed"])
            cell[2] += int(not v["proceed"])
    return GateScore(
        [CaseScore(case, codes, *counts) for (case, codes), counts in sorted(cells.items())]
    )
