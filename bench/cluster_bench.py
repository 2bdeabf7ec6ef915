"""One batch on a Spark standalone cluster started here, against DuckDB on the same batch.

    cd bench && ../.venv/bin/python cluster_bench.py --world W --home H --work DIR \
        [--workers 2 --cores 1 --worker-memory 9g --executor-memory 8g --chunk 20000]

The cluster is a master and `--workers` workers from pyspark's own `spark-class`, on loopback
(taxgate.match.standalone), stopped at the end. `taxgate process --backend spark
--spark-master spark://127.0.0.1:PORT` and `taxgate process` (DuckDB) each run on a fresh copy
of the loaded, trained home H, as subprocesses. For each: wall time, and the peak of the
summed resident memory of every process it involves (the taxgate process and its children,
the driver's JVM among them; for Spark also the cluster's master, workers and executors),
sampled every second from /proc. The two decisions tables are compared: every column exact
but the floating ones, those within a relative 1e-9 (the engines add logarithms in different
orders). Results go to bench/results/cluster-<people>-<subjects>.json.

With `--match-only N`, only matching is timed, in this process: the first N subject rows of the
batch, normalised (the gate not applied), matched once by DuckDB and once on the cluster
(`taxgate.match.predict.candidates`, the call `taxgate process` makes per chunk), the pairs
compared as the equivalence test compares them. One chunk against masters of several sizes
gives the scaling curve without a whole batch on two cores. Results go to
bench/results/cluster-match-<people>-<N>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from accuracy_bench import RESULTS
from scoring import TAXGATE
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.tables import read_table
from taxgate.match.predict import candidates
from taxgate.match.standalone import standalone_cluster
from taxgate.normalize.records import normalise

MIB = 1024 * 1024
SAMPLE_SECONDS = 1.0
WEIGHT_TOLERANCE = 1e-9


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """The peak, over samples, of the summed RSS of `roots` and all their descendants."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.peak, self.stopped = list(roots), 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stopped.is_set():
            tree, seen, todo = _children(), set(), list(self.roots)
            while todo:
                pid = todo.pop()
                if pid not in seen:
                    seen.add(pid)
                    todo.extend(tree.get(pid, []))
            self.peak = max(self.peak, sum(_rss(pid) for pid in seen))
            self.stopped.wait(SAMPLE_SECONDS)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def process(world: Path, home: Path, out: Path, extra: list[str], env: dict[str, str],
            also: list[int]) -> dict[str, float]:  # fmt: skip
    """`taxgate process` of the world's batch; wall seconds and peak MiB of it and `also`."""
    shutil.rmtree(out, ignore_errors=True)
    keyring = home / "keyring"
    keyring.mkdir(exist_ok=True)
    for public in (world / "keys").glob("*.pub.json"):
        shutil.copy(public, keyring)
    (key,) = [
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in (world / "keys").glob("*.pub.json")
        if json.loads(p.read_text())["agency"] == "Disclosing Agency"
    ]
    command = [*TAXGATE, "process", str(world / "batch" / "manifest.json"), "--home", str(home),
               "--keyring", str(keyring), "--key", str(key), "--out", str(out), *extra]  # fmt: skip
    print("  $", shlex.join(command), flush=True)
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with PeakMemory([child.pid, *also]) as peak:
        _, err = child.communicate()
    if child.returncode != 0:
        sys.exit(f"taxgate process failed: {err.decode()[-2000:]}")
    return {"seconds": round(time.perf_counter() - started, 1), "peak MiB": round(peak.peak / MIB)}


def _close(a: object, b: object) -> bool:
    """Equal, floats within WEIGHT_TOLERANCE, through JSON's lists and objects."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=WEIGHT_TOLERANCE)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def same_decisions(duck: pa.Table, spark: pa.Table) -> tuple[bool, str]:
    """Every column equal, the floating ones within WEIGHT_TOLERANCE, the explanation's JSON
    too (it quotes the weights); else what differs."""
    if duck.schema != spark.schema or duck.num_rows != spark.num_rows:
        return False, f"schemas or row counts differ ({duck.num_rows} against {spark.num_rows})"
    for name in duck.schema.names:
        a, b = duck.column(name).to_pylist(), spark.column(name).to_pylist()
        if pa.types.is_floating(duck.schema.field(name).type):
            close = all(
                (x is None and y is None)
                or (
                    x is not None and y is not None and math.isclose(x, y, rel_tol=WEIGHT_TOLERANCE)
                )
                for x, y in zip(a, b, strict=True)
            )
            if not close:
                return False, f"column {name} differs beyond {WEIGHT_TOLERANCE}"
        elif name == "explanation":
            wrong = sum(not _close(json.loads(x), json.loads(y)) for x, y in zip(a, b, strict=True))
            if wrong:
                return False, f"column {name} differs beyond {WEIGHT_TOLERANCE} in {wrong} rows"
        elif a != b:
            wrong = sum(x != y for x, y in zip(a, b, strict=True))
            return False, f"column {name} differs in {wrong} rows"
    return True, f"{duck.num_rows} decisions equal"


def same_pairs(duck: pa.Table, spark: pa.Table) -> tuple[bool, str]:
    """As tests/match/test_spark.py: exact columns equal, floating ones within tolerance."""
    exact = [n for n in duck.schema.names if not pa.types.is_floating(duck.schema.field(n).type)]
    if not spark.select(exact).equals(duck.select(exact)):
        return False, "pairs differ"
    floats = duck.select([n for n in duck.schema.names if n not in exact])
    return same_decisions(floats, spark.select(floats.schema.names))[0], f"{duck.num_rows} pairs"


def match_only(args: argparse.Namespace, result: dict[str, object]) -> None:
    """One chunk of `args.match_only` subjects matched by DuckDB, then on the cluster."""
    manifest_path = args.world / "batch" / "manifest.json"
    manifest = RequestManifest.load(manifest_path)
    raw = read_table(manifest_path.parent / manifest.subjects_file, "subjects")
    subjects = normalise(raw.slice(0, args.match_only), "subjects")
    result["subjects"] = subjects.num_rows
    timed: dict[str, pa.Table] = {}
    for engine in ("duckdb", "spark"):
        started = time.perf_counter()
        if engine == "duckdb":
            with PeakMemory([os.getpid()]) as peak:
                timed[engine] = candidates(subjects, args.home)
        else:
            cluster_dir = args.work / "cluster"
            shutil.rmtree(cluster_dir, ignore_errors=True)
            cluster_dir.mkdir(parents=True)
            os.environ["TAXGATE_SPARK_EXECUTOR_MEMORY"] = args.executor_memory
            os.environ["TAXGATE_SPARK_SHUFFLE_PARTITIONS"] = str(args.shuffle_partitions)
            with standalone_cluster(cluster_dir, args.workers, args.cores, args.worker_memory) as (
                url,
                pids,
            ):
                started = time.perf_counter()  # the cluster's start-up is not matching
                with PeakMemory([os.getpid(), *pids]) as peak:
                    timed[engine] = candidates(subjects, args.home, "spark", url)
                from pyspark.sql import SparkSession

                session = SparkSession.getActiveSession()
                if session is not None:
                    session.stop()
        result[engine] = {
            "seconds": round(time.perf_counter() - started, 1),
            "peak MiB": round(peak.peak / MIB),
            "pairs": timed[engine].num_rows,
        }
        print(f"{engine}: {result[engine]}", flush=True)
    equal, why = same_pairs(timed["duckdb"], timed["spark"])
    result["pairs equal"], result["comparison"] = equal, why
    print(f"pairs: {why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True, help="loaded and trained")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="per worker")
    parser.add_argument("--worker-memory", default="9g")
    parser.add_argument("--executor-memory", default="8g")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=20_000, help="subjects per chunk")
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--match-only", type=int, help="one chunk of N subjects, matching only")
    args = parser.parse_args()
    print("command:", shlex.join(["python", *sys.argv]), flush=True)
    world_info = json.loads((args.world / "world.json").read_text())
    people, subjects = world_info["config"]["people"], world_info["config"]["subjects"]
    env = os.environ | {"TAXGATE_MATCH_CHUNK_SUBJECTS": str(args.chunk)}
    result: dict[str, object] = {
        "people": people, "subjects": subjects, "workers": args.workers,
        "cores per worker": args.cores, "worker memory": args.worker_memory,
        "executor memory": args.executor_memory, "chunk": args.chunk,
    }  # fmt: skip
    args.work.mkdir(parents=True, exist_ok=True)
    if args.match_only:
        match_only(args, result)
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"cluster-match-{people}-{args.match_only}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return
    outs = {}
    for engine in ("spark", *(() if args.skip_duckdb else ("duckdb",))):
        home = args.work / f"home-{engine}"
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(args.home, home)
        outs[engine] = args.work / f"out-{engine}"
        print(f"{engine}:", flush=True)
        if engine == "duckdb":
            result[engine] = process(args.world, home, outs[engine], [], env, [])
        else:
            cluster_dir = args.work / "cluster"
            shutil.rmtree(cluster_dir, ignore_errors=True)
            cluster_dir.mkdir()
            spark_env = env | {
                "TAXGATE_SPARK_EXECUTOR_MEMORY": args.executor_memory,
                "TAXGATE_SPARK_SHUFFLE_PARTITIONS": str(args.shuffle_partitions),
            }
            with standalone_cluster(cluster_dir, args.workers, args.cores, args.worker_memory) as (
                url,
                pids,
            ):
                extra = ["--backend", "spark", "--spark-master", url]
                result[engine] = process(args.world, home, outs[engine], extra, spark_env, pids)
        print(f"  {result[engine]}", flush=True)
    if "duckdb" in outs:
        equal, why = same_decisions(
            pq.read_table(outs["duckdb"] / "decisions.parquet"),
            pq.read_table(outs["spark"] / "decisions.parquet"),
        )
        result["decisions equal"], result["comparison"] = equal, why
        print(f"decisions: {why}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"cluster-{people}-{subjects}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
