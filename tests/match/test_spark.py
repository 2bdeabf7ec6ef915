"""The Spark backend gives the same candidate pairs and weights as DuckDB on the same data."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from taxgate.errors import TaxgateError
from taxgate.match import spark as spark_backend
from taxgate.match.export import ADDRESSES, export_dir
from taxgate.match.linking import RIGHT
from taxgate.match.master import TF_COLUMNS, VERSION_TABLE, current_export, master_path
from taxgate.match.predict import candidates
from taxgate.match.standalone import WORKERS, standalone_cluster
from tests.match.spark_cluster import listening, on_loopback

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
    """Chunk after chunk in one process, as `taxgate process` sends them: each on the
    same Spark context (a second chunk once failed on the first one's tables)."""
    _require_spark()
    for start in (0, SPARK_SUBJECTS):
        subjects = subjects_norm.slice(start, SPARK_SUBJECTS)
        duck = candidates(subjects, trained_home)
        assert_same(duck, candidates(subjects, trained_home, "spark"))


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


def copied(home: Path, tmp_path: Path) -> Path:
    """A copy of the shared trained home that a test may break."""
    return Path(shutil.copytree(home, tmp_path / "home"))


def test_spark_reads_the_master_from_parquet_not_through_the_driver(
    subjects_norm: pa.Table, trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the right-hand side and TF tables gone from master.duckdb Spark still gives
    DuckDB's pairs: its executors read them from the Parquet export (a FileScan of its files),
    and nothing but the subjects of the chunk is sent from the driver."""
    _require_spark()
    from pyspark.sql import SparkSession

    home = copied(trained_home, tmp_path)
    with duckdb.connect(str(master_path(home))) as con:
        for table in (ADDRESSES, *(f"tf_{c}" for c in TF_COLUMNS)):
            con.execute(f"DROP TABLE {table}")
    sent: list[int] = []
    real = SparkSession.createDataFrame

    def counted(self: SparkSession, data: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(len(data))  # rows of an Arrow table, a pandas frame or a list alike
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(SparkSession, "createDataFrame", counted)
    subjects = subjects_norm.slice(0, SPARK_SUBJECTS)
    spark = candidates(subjects, home, "spark")
    assert sent == [SPARK_SUBJECTS]
    assert_same(candidates(subjects, trained_home), spark)

    session = SparkSession.getActiveSession()
    assert session is not None
    parquet = current_export(home)
    inputs = spark_backend.spark_inputs(session, subjects, parquet)
    for name, table in ((RIGHT, ADDRESSES), *((f"tf_{c}", f"tf_{c}") for c in TF_COLUMNS)):
        plan = inputs[name]._jdf.queryExecution().executedPlan().toString()
        assert "FileScan parquet" in plan and "LocalTableScan" not in plan, plan
        read = {f.split(f"/{parquet.version}/", 1)[1] for f in inputs[name].inputFiles()}
        assert read == {f for f in parquet.files if f.startswith(f"{table}/")}, name


def test_the_spark_path_refuses_a_missing_or_stale_export_before_spark_starts(
    subjects_norm: pa.Table, trained_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyspark")
    home = copied(trained_home, tmp_path)

    def no_spark(master: str | None = None) -> None:
        raise AssertionError("Spark was started on a master it must refuse")

    monkeypatch.setattr(spark_backend, "spark_session", no_spark)
    subjects = subjects_norm.slice(0, 5)
    with duckdb.connect(str(master_path(home))) as con:  # the master moved on without it
        con.execute(f"UPDATE {VERSION_TABLE} SET version = '{'0' * 32}'")
    with pytest.raises(TaxgateError, match="Parquet export is stale") as stale:
        candidates(subjects, home, "spark")
    shutil.rmtree(export_dir(home))
    with pytest.raises(TaxgateError, match="no Parquet export of the master index") as missing:
        candidates(subjects, home, "spark")
    for caught in (stale, missing):
        assert f"taxgate master export --home {home}" in caught.value.fix


def test_spark_renders_the_frozen_model_and_refuses_one_with_other_blocking_rules(
    trained_home: Path,
) -> None:
    """The Spark path runs the rules model.json froze, each in Spark's own SQL; a model trained
    with other rules is refused, not silently run with the code's."""
    from taxgate.match import model
    from taxgate.match.train import load_model

    frozen = load_model(trained_home)
    rendered = spark_backend.spark_settings(frozen)
    rules = [r["blocking_rule"] for r in rendered["blocking_rules_to_generate_predictions"]]
    assert len(rules) == len(model.blocking_rule_labels())
    assert not any(model.JARO_WINKLER["duckdb"] in r for r in rules)
    assert any(model.JARO_WINKLER["spark"] + "(" in r for r in rules)
    stale = {**frozen, "blocking_rules_to_generate_predictions": [
        {"blocking_rule": 'l."zip5" = r."zip5"', "sql_dialect": "duckdb"}
    ]}  # fmt: skip
    with pytest.raises(TaxgateError, match="blocking rules differ from the code"):
        spark_backend.spark_settings(stale)


JW_PAIRS = [
    ("JOHSON", "JOHNSON"),  # 0.9278 in DuckDB, 0.9083 in Splink's Scala UDF: across the 0.92 level
    ("GARAY GUTIERREZ", "GARCIA HERNANDEZ"),  # across 0.80 likewise
    ("MARTHA", "MARHTA"), ("JOSÉ", "JOSE"), ("ÅSA", "ASA"), ("名前", "名字"),
    ("", ""), ("A", ""), ("SMITH", None), (None, None), ("A" * 70, "A" * 69 + "B"),
]  # fmt: skip


def test_jaro_winkler_is_duckdb_s_value_for_value() -> None:
    """The function the Spark backend runs in place of Splink's gives DuckDB's numbers."""
    import pandas as pd

    left, right = zip(*JW_PAIRS, strict=True)
    ours = spark_backend.jaro_winkler(pd.Series(left), pd.Series(right)).tolist()
    with duckdb.connect() as con:
        theirs = [
            con.execute("SELECT jaro_winkler_similarity(?, ?)", [a, b]).fetchone()[0]
            for a, b in JW_PAIRS
        ]
    assert [None if pd.isna(v) else v for v in ours] == pytest.approx(theirs, abs=1e-12)


def test_spark_sessions_run_duckdb_s_jaro_winkler(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    """What the model's levels and rules call on Spark is ours, not Splink's Scala UDF."""
    _require_spark()
    from pyspark.sql import SparkSession

    candidates(subjects_norm.slice(0, 5), trained_home, "spark")
    session = SparkSession.getActiveSession()
    assert session is not None
    spark = session.newSession()
    from splink.backends.spark import SparkAPI

    SparkAPI(spark_session=spark)
    scala = spark.sql("SELECT jaro_winkler('JOHSON', 'JOHNSON')").collect()[0][0]
    spark_backend._register_jaro_winkler(spark)
    ours = spark.sql("SELECT jaro_winkler('JOHSON', 'JOHNSON')").collect()[0][0]
    assert round(scala, 4) == 0.9083 and round(ours, 4) == 0.9278
