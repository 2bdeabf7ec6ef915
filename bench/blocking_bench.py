"""Comparison counts of the blocking rules (Splink's blocking analysis) for a batch and a master,
and each rule's blocking recall against the world's truth.

    python bench/blocking_bench.py --world WORLD_DIR --home HOME_DIR

Blocking recall: the share of confirmable subjects (truth.csv says CONFIRMED) for which the
rule pairs the subject with an address record of its true taxpayer; "all rules" is the share
any rule reaches, the ceiling of what matching can confirm.

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
from taxgate.match import model
from taxgate.match.blocking import comparison_counts
from taxgate.match.master import master_path, scratch
from taxgate.normalize.records import normalise

LARGE_BATCH = 1_280_000  # the size of the batch the agreement's process was run on
KIB_PER_MIB = 1024


def _rule_sql(keys: tuple[str, ...] | str) -> str:
    if isinstance(keys, str):
        return keys
    return " AND ".join(f"l.{k} = r.{k}" for k in keys)


def blocking_recall(subjects, truth, home: Path) -> list[dict[str, object]]:
    """Per rule, and for all rules together: confirmable subjects whose true taxpayer it pairs."""
    con = scratch()
    con.execute(f"ATTACH '{master_path(home)}' AS master (READ_ONLY)")
    columns = ", ".join(model.MODEL_COLUMNS)
    con.register("subjects_arrow", subjects)
    con.register("truth_arrow", truth)
    con.execute(f"""
        CREATE TABLE l AS
        SELECT s.row, t.tin AS truth_tin, {", ".join(f"s.{c}" for c in model.MODEL_COLUMNS)}
        FROM subjects_arrow s JOIN truth_arrow t USING (subject_id)
        WHERE t.expected_outcome = 'CONFIRMED'
    """)
    confirmable = con.execute("SELECT count(*) FROM l").fetchone()[0]
    con.execute(f"CREATE VIEW r AS SELECT tin AS r_tin, {columns} FROM master.taxpayer_addresses")
    rules = [*model.BLOCKING_KEYS, *model.CUSTOM_RULES]
    found = []
    for keys in rules:
        condition = _rule_sql(keys)
        con.execute(f"""
            CREATE OR REPLACE TABLE hit AS
            SELECT DISTINCT l.row FROM l JOIN r ON {condition} WHERE r.r_tin = l.truth_tin
        """)
        found.append(con.execute("SELECT list(row) FROM hit").fetchone()[0] or [])
    every = set().union(*map(set, found))
    con.close()
    out = [
        {"rule": label, "subjects_reached": len(rows), "blocking_recall": len(rows) / confirmable}
        for label, rows in zip(model.blocking_rule_labels(), found, strict=True)
    ]
    out.append(
        {
            "rule": "all rules",
            "subjects_reached": len(every),
            "blocking_recall": len(every) / confirmable,
        }
    )
    return [{**o, "blocking_recall": round(float(o["blocking_recall"]), 4)} for o in out]


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
    truth = read_table(args.world / "truth.csv", "truth")
    recall = blocking_recall(subjects, truth, args.home)
    total = counts[-1]["cumulative"]
    result = {
        "world": args.world.name,
        "subjects": subjects.num_rows,
        "rules": counts,
        "blocking_recall": recall,
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
