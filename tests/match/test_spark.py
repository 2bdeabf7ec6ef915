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


def test_spark_gives_the_same_pairs_and_weights(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    reason = _spark_missing()
    if reason:
        message = f"SPARK BACKEND NOT TESTED: {reason}"
        if os.environ.get("TAXGATE_REQUIRE_SPARK"):
            pytest.fail(f"{message}; TAXGATE_REQUIRE_SPARK is set, so this is an error")
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    subjects = subjects_norm.slice(0, SPARK_SUBJECTS)
    duck = candidates(subjects, trained_home)
    spark = candidates(subjects, trained_home, backend="spark")
    assert duck.num_rows > 0
    exact = [n for n in duck.schema.names if not pa.types.is_floating(duck.schema.field(n).type)]
    assert spark.select(exact).equals(duck.select(exact))
    for name in duck.schema.names:
        if pa.types.is_floating(duck.schema.field(name).type):
            assert spark.column(name).to_pylist() == pytest.approx(
                duck.column(name).to_pylist(), rel=WEIGHT_TOLERANCE
            ), name
