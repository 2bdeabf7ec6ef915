"""taxgate and plain Splink on FEBRL 1, 2 or 3 turned into requests and filings (bench/febrl.py).

    python bench/febrl_bench.py --dataset 1 --seed 1

The pipeline runs as a user runs it, each stage a timed subprocess: `taxgate master load`,
`taxgate model train`, `taxgate process`. Plain Splink (bench/baselines.py, baseline b) links
the same subjects against the same filings in the same run, and is scored a second time held to
the statute's address rule (its confirmations kept only where the requested address
corroborates one the confirmed taxpayer filed from; bench/scoring.py). Only subjects the gate
lets proceed are scored, for all: the issue's measure is recall on the present subjects that
passed the gate. The REVIEW band is scored on the same subjects (its queue, and the
confirmable subjects not confirmed automatically that it catches). What the gate refused is
reported by reason code. FEBRL 4 is held out and refused by the converter.

Each taxpayer files once here: `taxgate model train` falls back to EM sessions that need no
repeat filers and says so in the model card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from baselines import baseline_b
from febrl import WITHOUT_DOB_HELP, convert
from scoring import (
    address_check_effect,
    address_checked,
    comparison,
    outcomes_of,
    review_statistics,
    run,
)
from taxgate.formats.codes import split_codes
from taxgate.formats.tables import read_table
from taxgate.gate.receipt import receipt_time
from taxgate.match.master import master_path
from taxgate.policy import load_policy
from taxgate.world.evaluate import OutcomeScore, score_outcomes

RESULTS = Path(__file__).parent / "results"
# Plain Splink's prior comes from pairs agreeing exactly on these fields (baselines.py); with no
# TIN in the requests, the textbook deterministic rule is the full name and date of birth.
PRIOR_KEYS_WITH_TIN = ("tin", "family_name")
PRIOR_KEYS_WITHOUT_TIN = ("given_name", "family_name", "date_of_birth")
# Name and address only: the full name in one ZIP.
PRIOR_KEYS_NAME_ADDRESS = ("given_name", "family_name", "zip")
EM_SESSIONS_NAME_ADDRESS = (("family_name", "zip"), ("given_name", "city"))


def only(table: pa.Table, mask: np.ndarray) -> pa.Table:
    return table.filter(pa.array(mask))


def scored(score: OutcomeScore) -> dict[str, float]:
    return {
        "confirmable": score.total("confirmable"),
        "confirmed_right": score.total("confirmed_right"),
        "wrongful": score.wrongful,
        "recall": round(score.recall, 4),
    }


def refusals(verdicts: pa.Table) -> dict[str, int]:
    """Refused subjects per reason code (a subject with two codes counts under both)."""
    counts: dict[str, int] = {}
    for proceed, codes in zip(
        verdicts.column("proceed").to_pylist(),
        verdicts.column("reason_codes").to_pylist(),
        strict=True,
    ):
        if not proceed:
            for code in split_codes(codes):
                counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=int, required=True, help="FEBRL 1, 2 or 3.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/taxgate-febrl"))
    parser.add_argument("--request-tin", action="store_true", help="Requests carry the TIN.")
    parser.add_argument("--without-dob", action="store_true", help=WITHOUT_DOB_HELP)
    args = parser.parse_args()

    today = receipt_time().date()
    tag = f"{args.dataset}-{args.seed}" + ("-without-dob" if args.without_dob else "")
    work = args.work / f"febrl-{tag}"
    world, home, answer = work / "world", work / "home", work / "answer"
    shutil.rmtree(work, ignore_errors=True)
    conversion = convert(
        args.dataset, world, args.seed, today,
        request_tin=args.request_tin, request_dob=not args.without_dob,
    )  # fmt: skip

    timings: dict[str, tuple[float, float]] = {}
    timings["master load"] = run(["master", "load", str(world / "filings.parquet"),
                                  "--home", str(home)])  # fmt: skip
    timings["model train"] = run(["model", "train", "--home", str(home)])

    truth = read_table(world / "truth.csv", "truth")
    subjects = read_table(world / "batch" / "subjects.csv", "subjects")
    filings = pq.read_table(world / "filings.parquet")
    policy = load_policy()
    (home / "keyring").mkdir(exist_ok=True)
    for record in (world / "keys").glob("*.pub.json"):
        (home / "keyring" / record.name).write_bytes(record.read_bytes())
    key = next(
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in (world / "keys").glob("*.pub.json")
        if '"Disclosing Agency"' in p.read_text()
    )
    timings["process"] = run(["process", str(world / "batch" / "manifest.json"), "--home",
                              str(home), "--key", str(key), "--out", str(answer)])  # fmt: skip
    verdicts = pq.read_table(answer / "verdicts.parquet")
    outcomes = outcomes_of(answer)
    proceed = np.asarray(verdicts.column("proceed").to_numpy(zero_copy_only=False), dtype=bool)
    truth_p = only(truth, proceed)

    started = time.perf_counter()
    subjects_p = only(subjects, proceed)
    plain_outcomes = baseline_b(
        subjects_p, filings, policy.decision.confirm_threshold, args.seed,
        PRIOR_KEYS_WITH_TIN if args.request_tin
        else PRIOR_KEYS_NAME_ADDRESS if args.without_dob
        else PRIOR_KEYS_WITHOUT_TIN,
        **({"em_sessions": EM_SESSIONS_NAME_ADDRESS} if args.without_dob else {}),
    )  # fmt: skip
    plain = score_outcomes(truth_p, plain_outcomes)
    plain_seconds = round(time.perf_counter() - started, 1)
    checked = score_outcomes(
        truth_p, address_checked(plain_outcomes, subjects_p, master_path(home), policy.decision)
    )

    result: dict[str, object] = {
        "dataset": f"FEBRL {args.dataset}",
        "seed": args.seed,
        "date": today.isoformat(),
        "command": f"python bench/febrl_bench.py --dataset {args.dataset} --seed {args.seed}"
        + (" --request-tin" if args.request_tin else "")
        + (" --without-dob" if args.without_dob else ""),
        "conversion": {k: v for k, v in asdict(conversion).items() if k != "paths"},
        "subjects": subjects.num_rows,
        "gate_refused": int((~proceed).sum()),
        "gate_refusals_by_reason": refusals(verdicts),
        "proceeding": int(proceed.sum()),
        "confirmable_among_proceeding": sum(
            t == "CONFIRMED" for t in truth_p.column("expected_outcome").to_pylist()
        ),
        "seconds_and_peak_mib": timings,
        "baseline_b_plain_splink": scored(plain) | {"seconds": plain_seconds},
        "baseline_c_plain_splink_address_checked": scored(checked)
        | address_check_effect(plain, checked),
    }
    ours = score_outcomes(truth_p, only(outcomes, proceed))
    review = review_statistics(
        truth_p, only(verdicts, proceed), pq.read_table(answer / "decisions.parquet")
    )
    result["taxgate"] = scored(ours) | {"awaiting_review": review.review_queue}
    result["taxgate_review"] = review.as_dict()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"febrl-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print("\n" + "\n".join(comparison(ours, review, plain, checked)))


if __name__ == "__main__":
    main()
