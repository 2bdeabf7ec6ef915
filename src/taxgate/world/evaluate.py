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


@dataclass(frozen=True)
class OutcomeCase:
    """How one case's subjects ended, against the truth."""

    case: str
    subjects: int
    confirmable: int  # the truth says CONFIRMED
    confirmed_right: int  # CONFIRMED to the true taxpayer, and the truth says CONFIRMED
    wrong_taxpayer: int  # CONFIRMED to someone who is not the subject
    not_confirmable: int  # CONFIRMED to the right person where the truth says it must not be


@dataclass(frozen=True)
class OutcomeScore:
    cases: list[OutcomeCase]

    def total(self, attribute: str) -> int:
        return sum(getattr(c, attribute) for c in self.cases)

    @property
    def wrongful(self) -> int:
        """Every disclosure the truth forbids: wrong person, or a person not confirmable."""
        return self.total("wrong_taxpayer") + self.total("not_confirmable")

    @property
    def recall(self) -> float:
        confirmable = self.total("confirmable")
        return self.total("confirmed_right") / confirmable if confirmable else 1.0


def score_outcomes(truth: pa.Table, outcomes: pa.Table) -> OutcomeScore:
    """Outcomes (subject_id, outcome, tin of the disclosed taxpayer) against the truth rows."""
    truth_rows = truth.select(["subject_id", "tin", "case", "expected_outcome"]).to_pylist()
    rows = outcomes.select(["subject_id", "outcome", "tin"]).to_pylist()
    if len(truth_rows) != len(rows):
        raise ValueError(f"truth has {len(truth_rows)} rows, outcomes {len(rows)}")
    cells: dict[str, list[int]] = {}
    for t, o in zip(truth_rows, rows, strict=True):
        if t["subject_id"] != o["subject_id"]:
            raise ValueError(f"row order differs at subject {t['subject_id']}")
        cell = cells.setdefault(t["case"], [0, 0, 0, 0, 0])
        confirmable = t["expected_outcome"] == Outcome.CONFIRMED
        confirmed = o["outcome"] == Outcome.CONFIRMED
        right_person = bool(t["tin"]) and o["tin"] == t["tin"]
        cell[0] += 1
        cell[1] += confirmable
        cell[2] += confirmed and right_person and confirmable
        cell[3] += confirmed and not right_person
        cell[4] += confirmed and right_person and not confirmable
    return OutcomeScore([OutcomeCase(case, *counts) for case, counts in sorted(cells.items())])
