"""Scoring shared by the accuracy and FEBRL benches: released outcomes, the REVIEW band against
the truth, and plain Splink held to the statute's address rule.

The statute forbids a disclosure unless the requester's address is corroborated against an
address the taxpayer filed from (../shared/reference/legal-basis.md, rule 3). Plain Splink
(baselines.py, baseline b) has no such check, so part of its recall is confirmations taxgate
may not make; `address_checked` keeps only its confirmations the rule allows, so the two are
compared on what is lawful. The REVIEW band is scored as issue 10 sets it: the share of the
confirmable subjects not confirmed automatically that reach an officer, and the queue's size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from taxgate.decide.outcomes import Decision
from taxgate.decide.written import street_written
from taxgate.formats.codes import Outcome
from taxgate.normalize.records import normalise
from taxgate.policy.model import DecisionRules
from taxgate.world.evaluate import OutcomeScore

# Issue 10's targets for the REVIEW band: at least this share of the confirmable subjects not
# confirmed automatically land in REVIEW, with a queue under this share of those proceeding.
REVIEW_CATCH_TARGET = 0.6
REVIEW_QUEUE_TARGET = 0.02
# The normalised address components the corroboration rule compares (evidence.py's rule).
ADDRESS_PARTS = ("house_number", "street_name", "zip5", "city")
DIGITS = 4  # rounding of the shares and recalls reported


def outcomes_of(answer: Path) -> pa.Table:
    """Released outcomes per batch row; a decision still awaiting review releases nothing."""
    verdicts = pq.read_table(answer / "verdicts.parquet")
    decisions = {r["row"]: r for r in pq.read_table(answer / "decisions.parquet").to_pylist()}
    outcome, tin = [], []
    for row, proceed in zip(
        verdicts.column("row").to_pylist(), verdicts.column("proceed").to_pylist(), strict=True
    ):
        decided = decisions.get(row) if proceed else None
        confirmed = decided is not None and decided["outcome"] == Decision.CONFIRMED
        if not proceed:
            outcome.append(Outcome.REJECTED.value)
        else:
            outcome.append(Outcome.CONFIRMED.value if confirmed else Outcome.NOT_CONFIRMED.value)
        tin.append(decided["tin"] if confirmed else None)
    return pa.table(
        {
            "subject_id": verdicts.column("subject_id"),
            "outcome": pa.array(outcome, pa.string()),
            "tin": pa.array(tin, pa.string()),
        }
    )


@dataclass(frozen=True)
class ReviewStats:
    """The REVIEW band against the truth, over the subjects given (see `review_statistics`)."""

    subjects: int
    proceeding: int  # passed the gate
    review_queue: int  # decisions with outcome REVIEW
    review_share_of_proceeding: float
    confirmable: int  # the truth says CONFIRMED (gate-refused ones included, as in recall)
    confirmed_right: int  # confirmed automatically to the true taxpayer, and confirmable
    confirmable_not_confirmed: int  # confirmable, proceeding, not confirmed right automatically
    review_confirmable: int  # in REVIEW with the true taxpayer's tin, and confirmable
    review_confirmable_other_tin: int  # confirmable, in REVIEW with another taxpayer's tin
    review_not_confirmable: int  # in REVIEW, the truth says not CONFIRMED
    review_catch_share: float  # review_confirmable / confirmable_not_confirmed
    recall: float  # confirmed_right / confirmable
    recall_if_review_confirmed: float  # (confirmed_right + review_confirmable) / confirmable
    wrongful_if_review_confirmed: int  # automatic wrongful ones plus every REVIEW a wrong one
    meets_target: bool  # catch share and queue size as issue 10 sets them

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _share(part: int, whole: int) -> float:
    return round(part / whole, DIGITS) if whole else 0.0


def review_statistics(truth: pa.Table, verdicts: pa.Table, decisions: pa.Table) -> ReviewStats:
    """Score the REVIEW band: truth and verdicts row by row (same subjects, same order), the
    decisions (decisions.parquet: row, outcome, tin) joined on the verdicts' row. A REVIEW
    keeps the tin it would confirm, so an officer confirming it is right only with that tin."""
    truth_rows = truth.select(["subject_id", "tin", "expected_outcome"]).to_pylist()
    verdict_rows = verdicts.select(["row", "subject_id", "proceed"]).to_pylist()
    if len(truth_rows) != len(verdict_rows):
        raise ValueError(f"truth has {len(truth_rows)} rows, verdicts {len(verdict_rows)}")
    decided = {r["row"]: r for r in decisions.select(["row", "outcome", "tin"]).to_pylist()}
    n = dict.fromkeys(
        ("proceeding", "queue", "confirmable", "right", "missed", "review_right",
         "review_other", "review_not", "wrongful"), 0,
    )  # fmt: skip
    for t, v in zip(truth_rows, verdict_rows, strict=True):
        if t["subject_id"] != v["subject_id"]:
            raise ValueError(f"row order differs at subject {t['subject_id']}")
        confirmable = t["expected_outcome"] == Outcome.CONFIRMED
        n["confirmable"] += confirmable
        d = decided.get(v["row"]) if v["proceed"] else None
        n["proceeding"] += bool(v["proceed"])
        outcome = d["outcome"] if d else None
        right = bool(t["tin"]) and d is not None and d["tin"] == t["tin"] and confirmable
        confirmed, review = outcome == Decision.CONFIRMED, outcome == Decision.REVIEW
        n["right"] += confirmed and right
        n["wrongful"] += confirmed and not right
        n["missed"] += bool(v["proceed"]) and confirmable and not (confirmed and right)
        n["queue"] += review
        n["review_right"] += review and right
        n["review_other"] += review and confirmable and not right
        n["review_not"] += review and not confirmable
    catch = _share(n["review_right"], n["missed"])
    queue_share = _share(n["queue"], n["proceeding"])
    return ReviewStats(
        subjects=len(truth_rows),
        proceeding=n["proceeding"],
        review_queue=n["queue"],
        review_share_of_proceeding=queue_share,
        confirmable=n["confirmable"],
        confirmed_right=n["right"],
        confirmable_not_confirmed=n["missed"],
        review_confirmable=n["review_right"],
        review_confirmable_other_tin=n["review_other"],
        review_not_confirmable=n["review_not"],
        review_catch_share=catch,
        recall=_share(n["right"], n["confirmable"]) if n["confirmable"] else 1.0,
        recall_if_review_confirmed=_share(n["right"] + n["review_right"], n["confirmable"])
        if n["confirmable"]
        else 1.0,
        wrongful_if_review_confirmed=n["wrongful"] + n["review_other"] + n["review_not"],
        meets_target=(n["missed"] == 0 or catch >= REVIEW_CATCH_TARGET)
        and queue_share < REVIEW_QUEUE_TARGET,
    )


def corroborates(pairs: pa.Table, rules: DecisionRules) -> np.ndarray:
    """Per (request, filed address) pair, with columns `<part>_l` (the request) and `<part>_r`
    (the filing) for each of ADDRESS_PARTS: house number equal, the same street as
    `street_written` judges it, and ZIP or city equal. A part missing on either side never
    agrees."""

    def equal(part: str) -> np.ndarray:
        same = pc.equal(pairs.column(f"{part}_l"), pairs.column(f"{part}_r"))
        return np.asarray(pc.fill_null(same, False).to_numpy(zero_copy_only=False), dtype=bool)

    street = street_written(
        pairs.column("street_name_l").combine_chunks(),
        pairs.column("street_name_r").combine_chunks(),
        rules,
    )
    return equal("house_number") & np.asarray(street, dtype=bool) & (equal("zip5") | equal("city"))


def address_checked(
    outcomes: pa.Table, subjects: pa.Table, master: Path, rules: DecisionRules
) -> pa.Table:
    """`outcomes` (row, subject_id, outcome, tin: one row per subject of `subjects`, rows from
    1) with each CONFIRMED kept only when the request's address corroborates an address the
    confirmed taxpayer filed from (HOME/master.duckdb, taxpayer_addresses); the rest become
    NOT_CONFIRMED with no tin."""
    request = normalise(subjects, "subjects").select(["row", *ADDRESS_PARTS])
    chosen = outcomes.select(["row", "outcome", "tin"])
    left = ", ".join(f"r.{p} AS {p}_l" for p in ADDRESS_PARTS)
    right = ", ".join(f"CAST(t.{p} AS VARCHAR) AS {p}_r" for p in ADDRESS_PARTS)
    con = duckdb.connect(str(master), read_only=True)
    try:
        con.register("request", request)
        con.register("chosen", chosen)
        pairs = con.execute(f"""
            SELECT c.row, {left}, {right}
            FROM chosen c
            JOIN request r ON r.row = c.row
            JOIN taxpayer_addresses t ON t.tin = c.tin
            WHERE c.outcome = '{Outcome.CONFIRMED}'
        """).to_arrow_table()  # fmt: skip
    finally:
        con.close()
    kept = set(np.asarray(pairs.column("row"))[corroborates(pairs, rules)].tolist())
    confirmed = [
        o == Outcome.CONFIRMED and r in kept
        for r, o in zip(
            outcomes.column("row").to_pylist(), outcomes.column("outcome").to_pylist(), strict=True
        )
    ]
    mask = pa.array(confirmed)
    return pa.table(
        {
            "row": outcomes.column("row"),
            "subject_id": outcomes.column("subject_id"),
            "outcome": pc.if_else(mask, Outcome.CONFIRMED.value, Outcome.NOT_CONFIRMED.value),
            "tin": pc.if_else(
                mask,
                pc.cast(outcomes.column("tin").combine_chunks(), pa.string()),
                pa.scalar(None, pa.string()),
            ),
        }
    )


def address_check_effect(plain: OutcomeScore, checked: OutcomeScore) -> dict[str, int]:
    """What the address rule took from plain Splink: right confirmations it may not make (the
    address sent does not corroborate one the taxpayer filed from), and wrongful ones."""
    return {
        "dropped_confirmed_right": plain.total("confirmed_right")
        - checked.total("confirmed_right"),
        "dropped_wrongful": plain.wrongful - checked.wrongful,
    }


def comparison(
    taxgate: OutcomeScore | None,
    review: ReviewStats | None,
    plain: OutcomeScore,
    checked: OutcomeScore,
) -> list[str]:
    """The printed summary's table: recall and wrongful per method on the same subjects."""
    rows: list[tuple[str, int, int, float]] = []
    if taxgate is not None:
        rows.append(
            ("taxgate, automatic", taxgate.total("confirmed_right"), taxgate.wrongful,
             taxgate.recall)
        )  # fmt: skip
    if review is not None:
        rows.append(
            ("taxgate, every REVIEW confirmed by an officer",
             review.confirmed_right + review.review_confirmable,
             review.wrongful_if_review_confirmed, review.recall_if_review_confirmed)
        )  # fmt: skip
    rows.append(("plain Splink", plain.total("confirmed_right"), plain.wrongful, plain.recall))
    rows.append(
        ("plain Splink, address-checked", checked.total("confirmed_right"), checked.wrongful,
         checked.recall)
    )  # fmt: skip
    lines = ["| method | right | wrongful | recall |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {right} | {wrong} | {recall:.{DIGITS}f} |" for name, right, wrong, recall
              in rows]  # fmt: skip
    if review is not None:
        lines.append(
            f"\nREVIEW: {review.review_queue} in the queue "
            f"({review.review_share_of_proceeding:.2%} of {review.proceeding} proceeding, target "
            f"< {REVIEW_QUEUE_TARGET:.0%}); it holds {review.review_confirmable} of the "
            f"{review.confirmable_not_confirmed} confirmable subjects not confirmed automatically "
            f"({review.review_catch_share:.2%}, target >= {REVIEW_CATCH_TARGET:.0%}); "
            f"{review.review_confirmable_other_tin} confirmable with another taxpayer's tin, "
            f"{review.review_not_confirmable} not confirmable; target "
            f"{'met' if review.meets_target else 'not met'}."
        )
    return lines


TAXGATE = [sys.executable, "-m", "taxgate"]


class StageFailed(Exception):
    """A taxgate command exited non-zero; carries its last error line."""


def run(args: list[str]) -> tuple[float, float]:
    """Run one taxgate command; return (wall seconds, peak RSS MiB) of that command alone."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [*TAXGATE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    err = child.stderr.read() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        last = [line for line in err.splitlines() if line.strip()][-1:] or ["(no message)"]
        raise StageFailed(f"taxgate {args[0]} {args[1]}: {last[0][:300]}")
    return round(time.perf_counter() - started, 1), round(usage.ru_maxrss / 1024)
