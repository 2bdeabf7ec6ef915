"""A real Spark standalone cluster on loopback for the tests: one master and two workers
started from pyspark's own `spark-class`, every port and web UI on 127.0.0.1, stopped after."""

from __future__ import annotations

import ipaddress
import json
import os
import re
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


def on_loopback(address: str) -> bool:
    """'127.0.0.1:80', '[::ffff:127.0.0.1]:80', '[::1]:80': True; '*:80', '0.0.0.0:80': False."""
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # "*": every address
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def listening(pids: list[int]) -> list[str]:
    """Every TCP address the given processes listen on (`ss`, numeric)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & set(pids):
            found.append(line.split()[3])
    return found


@contextmanager
def standalone_cluster(work: Path) -> Iterator[tuple[str, list[int]]]:
    """Yield (spark://127.0.0.1:PORT, the JVMs' pids) once both workers are ALIVE."""
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
        for index in range(WORKERS):
            start(f"worker-{index}", "org.apache.spark.deploy.worker.Worker", url,
                  "--host", LOOPBACK, "--webui-port", str(free_port()), "--cores", "1",
                  "--memory", WORKER_MEMORY, "--work-dir", str(work / f"work-{index}"))  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while True:
            with suppress(OSError, ValueError):
                if _alive_workers(ui) == WORKERS:
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
