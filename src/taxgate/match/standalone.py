"""A Spark standalone cluster on this machine, on loopback: one master and its workers started
from pyspark's own `spark-class`, every port and web UI on 127.0.0.1, stopped on exit.

For the tests and the benchmarks (bench/cluster_bench.py), and for trying `--backend spark`
against a real `spark://` master before there is a cluster of several machines. pyspark ships
the launcher but no supervisor for it; Spark's own `sbin/start-*.sh` scripts daemonise and
are not in the pyspark wheel, so this small wrapper is written here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOOPBACK = "127.0.0.1"
WORKERS = 2
START_SECONDS = 120  # a cold JVM on a busy CI machine
WORKER_MEMORY = "1g"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _spark_class() -> tuple[Path, Path]:
    import pyspark

    home = Path(pyspark.__file__).parent
    return home, home / "bin" / "spark-class"


def _alive_workers(ui_port: int) -> int:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{ui_port}/json/", timeout=5) as reply:
        state = json.load(reply)
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


@contextmanager
def standalone_cluster(
    work: Path, workers: int = WORKERS, cores: int = 1, memory: str = WORKER_MEMORY
) -> Iterator[tuple[str, list[int]]]:
    """Yield (spark://127.0.0.1:PORT, the JVMs' pids) once every worker is ALIVE; `cores` and
    `memory` are each worker's. Logs and work folders go under `work`."""
    spark_home, spark_class = _spark_class()
    env = os.environ | {
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": LOOPBACK,  # every listener, the web UIs included, on loopback
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOG_DIR": str(work / "logs"),
        "SPARK_WORKER_DIR": str(work / "workers"),
    }
    port, ui = free_port(), free_port()
    url = f"spark://{LOOPBACK}:{port}"
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> None:
        log = (work / f"{name}.log").open("wb")
        processes.append(
            subprocess.Popen([str(spark_class), *args], env=env, stdout=log, stderr=log)
        )

    try:
        start("master", "org.apache.spark.deploy.master.Master", "--host", LOOPBACK,
              "--port", str(port), "--webui-port", str(ui))  # fmt: skip
        for index in range(workers):
            start(f"worker-{index}", "org.apache.spark.deploy.worker.Worker", url,
                  "--host", LOOPBACK, "--webui-port", str(free_port()), "--cores", str(cores),
                  "--memory", memory, "--work-dir", str(work / f"work-{index}"))  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while True:
            with suppress(OSError, ValueError):
                if _alive_workers(ui) == workers:
                    break
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                logs = "\n".join(p.read_text()[-2000:] for p in sorted(work.glob("*.log")))
                raise RuntimeError(f"the standalone cluster did not start:\n{logs}")
            time.sleep(1)
        yield url, [p.pid for p in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
