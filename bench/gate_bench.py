"""Benchmark the gate: wall time and peak memory of `taxgate gate` on a generated batch, and its
verdicts against the world's ground truth (the confusion table of bench/README.md).

    python bench/gate_bench.py --people 2000000 --subjects 1280000 --present-fraction 0.037
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from taxgate.formats.tables import read_table
from taxgate.gate.receipt import receipt_time
from taxgate.world.evaluate import score_gate

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--subjects", type=int, required=True)
    parser.add_argument("--present-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/taxgate-bench"))
    args = parser.parse_args()

    # `taxgate gate` counts every date rule from its own receipt clock: the batch is dated the
    # day it is examined, so the world's ground truth (orders 89 or 90 days old) holds.
    today = receipt_time().date().isoformat()
    tag = f"{args.people}-{args.subjects}-{args.present_fraction}-{args.seed}-{today}"
    world = args.work / f"world-{tag}"
    taxgate = [sys.executable, "-m", "taxgate"]
    if not (world / "truth.csv").exists():
        started = time.perf_counter()
        subprocess.run(
            [*taxgate, "world", "--people", str(args.people), "--subjects", str(args.subjects),
             "--present-fraction", str(args.present_fraction), "--seed", str(args.seed),
             "--batch-date", today, "--out", str(world)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"world generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    out = args.work / "gate-out"
    home = args.work / "home"
    started = time.perf_counter()
    gate = subprocess.Popen(
        [*taxgate, "gate", str(world / "batch" / "manifest.json"), "--keyring",
         str(world / "keys"), "--out", str(out), "--format", "parquet", "--dry-run",
         "--home", str(home)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _, status, usage = os.wait4(gate.pid, 0)  # this child's own peak, not the world's
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"taxgate gate failed with status {status}")
    peak_mib = usage.ru_maxrss / 1024

    score = score_gate(
        read_table(world / "truth.csv", "truth"), pq.read_table(out / "verdicts.parquet")
    )
    result = {
        "people": args.people, "subjects": args.subjects,
        "present_fraction": args.present_fraction, "seed": args.seed,
        "gate_seconds": round(seconds, 1), "peak_rss_mib": round(peak_mib),
        "right": score.total("exact"), "wrongly_rejected": score.total("wrongly_rejected"),
        "missed": score.total("missed"), "other_codes": score.total("wrong_codes"),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    name = f"gate-{args.subjects}-{args.present_fraction}-{args.seed}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print("\n| case | expected | subjects | right | wrongly rejected | missed | other codes |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for c in score.cases:
        print(
            f"| {c.case} | {c.expected_codes or 'proceed'} | {c.subjects:,} | {c.exact:,} | "
            f"{c.wrongly_rejected} | {c.missed} | {c.wrong_codes} |"
        )
    print(
        f"| **all** | | {score.subjects:,} | {score.total('exact'):,} | "
        f"{result['wrongly_rejected']} | {result['missed']} | {result['other_codes']} |"
    )


if __name__ == "__main__":
    main()
