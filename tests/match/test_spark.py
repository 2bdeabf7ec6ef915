"""The Spark backend gives the same candidate pairs and weights as DuckDB on the same data."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from taxgate.match.predict import candidates
from tests.match.spark_cluster import WORKERS, listening, on_loopback, standalone_cluster

SPARK_SUBJECTS = 60  # a slice: Spark's start-up, not the data, dominates the time
WEIGHT_TOLERANCE = 1e-9  # the engines sum logarithms in different orders


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install pyspark)"
    java = shutil.which("java")
    if java is None:
        return "no java on PATH (Spark needs Java 17)"
    if subprocess.run([java, "-version"], capture_output=True).returncode != 0:
        return "java -version fails"
    return None


def _require_spark() -> None:
    reason = _spark_missing()
    if reason:
        message = f"SPARK BACKEND NOT TESTED: {reason}"
        if os.environ.get("TAXGATE_REQUIRE_SPARK"):
            pytest.fail(f"{message}; TAXGATE_REQUIRE_SPARK is set, so this is an error")
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)


def test_spark_gives_the_same_pairs_and_weights(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    _require_spark()
    subjects = subjects_norm.slice(0, SPARK_SUBJECTS)
    assert_same(candidates(subjects, trained_home), candidates(subjects, trained_home, "spark"))


def test_a_standalone_cluster_gives_the_same_pairs_and_weights(
    subjects_norm: pa.Table, trained_home: Path, tmp_path: Path
) -> None:
    """A master and two workers from pyspark's spark-class on loopback, not local mode."""
    _require_spark()
    from pyspark.sql import SparkSession

    subjects = subjects_norm.slice(0, SPARK_SUBJECTS)
    with standalone_cluster(tmp_path) as (url, pids):
        spark = candidates(subjects, trained_home, "spark", url)
        session = SparkSession.getActiveSession()
        assert session is not None and session.sparkContext.master == url
        executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size()
        assert executors == WORKERS + 1  # the driver's block manager and one per worker
        addresses = listening(pids)
        session.stop()
    assert len(addresses) >= 2 * (WORKERS + 1)  # each JVM: its RPC port and its web UI
    assert all(on_loopback(a) for a in addresses), addresses
    assert_same(candidates(subjects, trained_home), spark)


def assert_same(duck: pa.Table, spark: pa.Table) -> None:
    assert duck.num_rows > 0
    exact = [n for n in duck.schema.names if not pa.types.is_floating(duck.schema.field(n).type)]
    assert spark.select(exact).equals(duck.select(exact))
    for name in duck.schema.names:
        if pa.types.is_floating(duck.schema.field(name).type):
            assert spark.column(name).to_pylist() == pytest.approx(
                duck.column(name).to_pylist(), rel=WEIGHT_TOLERANCE
            ), name


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1:7077", True), ("[::ffff:127.0.0.1]:8080", True), ("[::1]:8080", True),
     ("*:8080", False), ("0.0.0.0:7077", False), ("[::]:8080", False), ("10.0.0.5:7077", False)],
)  # fmt: skip
def test_loopback_is_told_from_every_other_address(address: str, loopback: bool) -> None:
    assert on_loopback(address) is loopback


def test_a_spark_master_that_cannot_be_used_is_told_not_raised(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    """Not "internal error: ConnectionRefusedError": which master failed, and what to do."""
    _require_spark()
    from taxgate.errors import TaxgateError

    with pytest.raises(TaxgateError, match=r"Spark backend failed on master nowhere://x") as info:
        candidates(subjects_norm.slice(0, 5), trained_home, "spark", "nowhere://x")
    assert "--backend duckdb" in info.value.fix
