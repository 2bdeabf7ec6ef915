"""Accuracy and speed of the whole pipeline against the world's truth, beside the real process's
rules (baseline a), a plain Splink model (baseline b), and plain Splink held to the statute's
address rule (baseline c: its confirmations kept only where the requested address corroborates
one the confirmed taxpayer filed from; bench/scoring.py). The REVIEW band is scored too: its
queue, and the confirmable subjects not confirmed automatically that it catches.

    python bench/accuracy_bench.py --people 1000000 --subjects 100000 --present-fraction 0.3

Stages run as the CLI runs them (`taxgate world`, `taxgate master load`, `taxgate model train`,
`taxgate process`), each a subprocess timed with its own peak RSS (os.wait4).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from baselines import baseline_a, baseline_b
from scoring import (
    address_check_effect,
    address_checked,
    comparison,
    outcomes_of,
    review_statistics,
    run,
)
from taxgate.formats.tables import read_table
from taxgate.gate.receipt import receipt_time
from taxgate.match.master import master_path
from taxgate.policy import load_policy
from taxgate.world.evaluate import OutcomeScore, score_outcomes

# What a kept home (master index and model) was built by: a home built by other code is rebuilt,
# so a rerun after a change to normalisation, the master or the model's blocking rules (frozen
# in model.json at training) never measures the old ones.
HOME_SOURCES = ("normalize", "match")
FINGERPRINT = "bench-fingerprint.txt"


def code_fingerprint() -> str:
    package = Path(__file__).resolve().parent.parent / "src" / "taxgate"
    digest = hashlib.sha256()
    for folder in HOME_SOURCES:
        for path in sorted((package / folder).rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


RESULTS = Path(__file__).parent / "results"


def summary(score: OutcomeScore) -> dict[str, float]:
    return {
        "wrongful_disclosures": score.wrongful,
        "wrong_taxpayer": score.total("wrong_taxpayer"),
        "confirmed_not_confirmable": score.total("not_confirmable"),
        "confirmable": score.total("confirmable"),
        "confirmed_right": score.total("confirmed_right"),
        "recall": round(score.recall, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--subjects", type=int, required=True)
    parser.add_argument("--present-fraction", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--noise", choices=["default", "none"], default="default",
        help="The world's keying noise on filings and requests (taxgate world --noise).",
    )  # fmt: skip
    parser.add_argument("--work", type=Path, default=Path("/tmp/taxgate-bench"))
    args = parser.parse_args()

    # `taxgate process` counts every date rule from its own receipt clock: the batch is dated
    # the day it is processed, so the world's ground truth (orders 89 or 90 days old) holds.
    today = receipt_time().date().isoformat()
    tag = f"{args.people}-{args.subjects}-{args.present_fraction}-{args.seed}-noise-{args.noise}"
    # The filings do not depend on the batch date, so the home's master index is kept.
    world, home = args.work / f"world-{tag}-{today}", args.work / f"home-{tag}"
    answer = args.work / f"answer-{tag}"
    timings: dict[str, tuple[float, float]] = {}
    if not (world / "truth.csv").exists():
        timings["world"] = run(["world", "--people", str(args.people), "--subjects",
                                str(args.subjects), "--present-fraction",
                                str(args.present_fraction), "--seed", str(args.seed),
                                "--noise", args.noise,
                                "--batch-date", today, "--out", str(world)])  # fmt: skip
    fingerprint = code_fingerprint()
    built_by = home / FINGERPRINT
    if home.exists() and (not built_by.exists() or built_by.read_text() != fingerprint):
        shutil.rmtree(home)
    if not master_path(home).exists():
        timings["master load"] = run(["master", "load", str(world / "filings.parquet"),
                                      "--home", str(home)])  # fmt: skip
        timings["model train"] = run(["model", "train", "--home", str(home)])
        built_by.write_text(fingerprint)
    (home / "keyring").mkdir(exist_ok=True)
    for record in (world / "keys").glob("*.pub.json"):
        (home / "keyring" / record.name).write_bytes(record.read_bytes())
    key = next(
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in (world / "keys").glob("*.pub.json")
        if '"Disclosing Agency"' in p.read_text()
    )
    for stale in (answer / "response.json", answer / "review-queue.csv", home / "ledger.sqlite3"):
        stale.unlink(missing_ok=True)
    timings["process"] = run(["process", str(world / "batch" / "manifest.json"), "--home",
                              str(home), "--key", str(key), "--out", str(answer)])  # fmt: skip

    truth = read_table(world / "truth.csv", "truth")
    ours = score_outcomes(truth, outcomes_of(answer))
    started = time.perf_counter()
    subjects = read_table(world / "batch" / "subjects.csv", "subjects")
    real = score_outcomes(truth, baseline_a(subjects, master_path(home)))
    baseline_seconds = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    rules = load_policy().decision
    plain_outcomes = baseline_b(
        subjects, pq.read_table(world / "filings.parquet"), rules.confirm_threshold, args.seed
    )
    plain = score_outcomes(truth, plain_outcomes)
    plain_seconds = round(time.perf_counter() - started, 1)
    checked = score_outcomes(
        truth, address_checked(plain_outcomes, subjects, master_path(home), rules)
    )
    review = review_statistics(
        truth,
        pq.read_table(answer / "verdicts.parquet"),
        pq.read_table(answer / "decisions.parquet"),
    )

    result = {
        "world": tag,
        "awaiting_review": review.review_queue,
        "seconds_and_peak_mib": timings,
        "stage_seconds": json.loads((answer / "timings.json").read_text())
        if (answer / "timings.json").exists()
        else None,
        "taxgate": summary(ours),
        "baseline_a_real_process": summary(real) | {"seconds": baseline_seconds},
        "baseline_b_plain_splink": summary(plain) | {"seconds": plain_seconds},
        "baseline_c_plain_splink_address_checked": summary(checked)
        | address_check_effect(plain, checked),
        "taxgate_review": review.as_dict(),
        "by_case": [
            {
                "case": c.case,
                "subjects": c.subjects,
                "confirmable": c.confirmable,
                "taxgate_right": c.confirmed_right,
                "taxgate_wrongful": c.wrong_taxpayer + c.not_confirmable,
                "baseline_a_right": r.confirmed_right,
                "baseline_a_wrongful": r.wrong_taxpayer + r.not_confirmable,
                "baseline_b_right": b.confirmed_right,
                "baseline_b_wrongful": b.wrong_taxpayer + b.not_confirmable,
                "baseline_c_right": a.confirmed_right,
                "baseline_c_wrongful": a.wrong_taxpayer + a.not_confirmable,
            }
            for c, r, b, a in zip(ours.cases, real.cases, plain.cases, checked.cases, strict=True)
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"accuracy-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "by_case"}, indent=2))
    print("\n| case | subjects | confirmable | taxgate right | taxgate wrongful "
          "| baseline (a) right | baseline (a) wrongful | baseline (b) right "
          "| baseline (b) wrongful | baseline (c) right | baseline (c) wrongful |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in result["by_case"]:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    print("\n" + "\n".join(comparison(ours, review, plain, checked)))


if __name__ == "__main__":
    main()
