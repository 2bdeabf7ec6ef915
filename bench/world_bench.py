"""Benchmark `taxgate world`: wall time, peak RSS and output size for one population size.

Runs the CLI as a subprocess (so the measurement includes start-up and is isolated), records a
JSON under bench/results/ and prints one markdown table row.

    .venv/bin/python bench/world_bench.py --people 1000000 --subjects 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _taxgate() -> list[str]:
    exe = Path(sys.executable).with_name("taxgate")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "taxgate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--present-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-size", type=int, default=200_000)
    parser.add_argument("--out", type=Path, help="world directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated world")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="world-bench-"))
    command = [
        *_taxgate(), "world", "--people", str(args.people), "--subjects", str(args.subjects),
        "--present-fraction", str(args.present_fraction), "--seed", str(args.seed),
        "--chunk-size", str(args.chunk_size), "--out", str(out),
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    if done.returncode != 0:
        sys.exit(f"taxgate world failed with exit code {done.returncode}")
    result = {
        "people": args.people,
        "subjects": args.subjects,
        "chunk_size": args.chunk_size,
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(peak_kib / 1024),
        "output_mib": round(_size(out) / 2**20, 1),
        "filings_mib": round((out / "filings.parquet").stat().st_size / 2**20, 1),
        "people_per_second": round(args.people / wall),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "command": " ".join(command),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"world-{args.people}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep and args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    print("| people | subjects | wall (s) | peak RSS (MiB) | output (MiB) | people/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.people:,} | {args.subjects:,} | {result['wall_seconds']} | "
        f"{result['peak_rss_mib']:,} | {result['output_mib']:,} | {result['people_per_second']:,} |"
    )
    print(f"(saved {path})")


if __name__ == "__main__":
    main()
