"""Time `taxgate master load` on a generated world: wall time, peak RSS and master file size.

    python bench/master_bench.py --people 20000000 --work /tmp/taxgate-master-bench

The world is generated once per size under --work (seed 7, 100,000 subjects, present fraction
0.3, as bench/world_bench.py); the master is loaded into a fresh home every run. Each command is
a subprocess timed with its own peak RSS (os.wait4). Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import duckdb

from accuracy_bench import RESULTS, run
from taxgate.match.master import master_path

MIB = 1024 * 1024
COUNTS = ("filings_norm", "taxpayer_addresses", "last_known")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/taxgate-master-bench"))
    args = parser.parse_args()
    world, home = args.work / f"world-{args.people}", args.work / f"home-{args.people}"
    figures: dict[str, object] = {"people": args.people}
    if not (world / "filings.parquet").exists():
        figures["world (s, MiB)"] = run(["world", "--people", str(args.people), "--subjects",
                                         "100000", "--present-fraction", "0.3", "--seed", "7",
                                         "--out", str(world)])  # fmt: skip
    shutil.rmtree(home, ignore_errors=True)
    seconds, peak = run(["master", "load", str(world / "filings.parquet"), "--home", str(home)])
    figures |= {"load seconds": seconds, "load peak MiB": peak}
    figures["master MiB"] = round(master_path(home).stat().st_size / MIB)
    with duckdb.connect(str(master_path(home)), read_only=True) as con:
        for table in COUNTS:
            figures[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"master-{args.people}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
