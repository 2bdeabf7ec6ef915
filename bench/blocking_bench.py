"""Comparison counts of the blocking rules (Splink's blocking analysis) for a batch and a master.

    python bench/blocking_bench.py --world WORLD_DIR --home HOME_DIR

Counts every subject row of the batch, including those the gate would reject, so the figures
are an upper bound for what `taxgate process` compares. Each subject's pairs depend only on the
master, so pairs per subject times 1,280,000 is what a 1.28M-subject batch against the same
master would make; that line is an extrapolation and says so.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from accuracy_bench import RESULTS
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.tables import read_table
from taxgate.match.blocking import comparison_counts
from taxgate.normalize.records import normalise

LARGE_BATCH = 1_280_000  # the size of the batch the agreement's process was run on
KIB_PER_MIB = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()
    manifest_path = args.world / "batch" / "manifest.json"
    manifest = RequestManifest.load(manifest_path)
    subjects = normalise(
        read_table(manifest_path.parent / manifest.subjects_file, "subjects"), "subjects"
    )
    started = time.perf_counter()
    counts = comparison_counts(subjects, args.home)
    seconds = time.perf_counter() - started
    total = counts[-1]["cumulative"]
    result = {
        "world": args.world.name,
        "subjects": subjects.num_rows,
        "rules": counts,
        "pairs": total,
        "pairs_per_subject": round(total / subjects.num_rows, 2),
        "extrapolated_pairs_for_1_28M_subjects": round(total / subjects.num_rows * LARGE_BATCH),
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"blocking-{args.world.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
