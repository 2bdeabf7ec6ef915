"""The Spark backend (pyspark: local mode, or a standalone cluster by its spark:// URL): the
same frozen model, rendered in Spark SQL.

model.json holds DuckDB SQL; Spark gets the same comparisons rendered for its dialect by the
code that defines them (`taxgate.match.model`), with every trained number copied from
model.json. A model.json whose levels differ from the code's is refused, not guessed at.

The executors read the master themselves, from the partitioned Parquet export every master
load writes (`taxgate.match.export`, HOME/master-parquet or TAXGATE_MASTER_PARQUET_DIR): only
the subjects of one chunk pass through the driver, so no one machine's memory bounds the
master. An export that is missing or behind master.duckdb is refused before Spark starts. On a
cluster of several machines that folder must be on a shared mount at the same path on every
worker (and TAXGATE_SPARK_CHECKPOINT_DIR a path they all reach).
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.match import model
from taxgate.match.export import ADDRESSES, Manifest
from taxgate.match.linking import LEFT, RIGHT, SUBJECT_KEYS, linker_for
from taxgate.match.master import TF_COLUMNS, current_export, scratch

TRAINED_KEYS = ("m_probability", "u_probability", "tf_minimum_u_value", "tf_adjustment_weight")
JARO_WINKLER_PREFIX_WEIGHT = 0.1  # DuckDB's, fixed in its implementation
logger = logging.getLogger(__name__)


def jaro_winkler(left: Any, right: Any) -> Any:
    """DuckDB's `jaro_winkler_similarity`, value for value, over two pandas Series of text.

    Splink's Spark backend brings its own Jaro-Winkler (a Scala UDF) that scores some pairs
    differently: "JOHSON" / "JOHNSON" is 0.9278 in DuckDB and 0.9083 in that UDF, so a family
    name fell below the model's 0.92 level on Spark only, and the engines' decisions differed
    (bench/README.md). DuckDB's implementation is rapidfuzz's, run over UTF-8 bytes, with 0 for
    an empty string: so is this one (equal on 116,779 pairs of names, streets and cities, and
    on accents and scripts other than Latin; tests/match/test_spark.py). Null in, null out.
    """
    import numpy as np
    import pandas as pd
    from rapidfuzz.distance import JaroWinkler
    from rapidfuzz.process import cpdist

    valid = (left.notna() & right.notna()).to_numpy()
    a = [str(v).encode() for v in left[valid]]
    b = [str(v).encode() for v in right[valid]]
    scores = np.zeros(len(a))
    if a:
        scores = cpdist(a, b, scorer=JaroWinkler.similarity, dtype=np.float64, workers=1,
                        scorer_kwargs={"prefix_weight": JARO_WINKLER_PREFIX_WEIGHT})  # fmt: skip
        scores[[not (x and y) for x, y in zip(a, b, strict=True)]] = 0.0
    out = pd.array(np.zeros(len(left)), dtype="Float64")
    out[valid] = scores
    out[~valid] = pd.NA
    return pd.Series(out, index=left.index)


def _register_jaro_winkler(spark: Any) -> None:
    """Our `jaro_winkler` in place of Splink's, in this session (registered after Splink's)."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DoubleType

    def series(left: Any, right: Any) -> Any:
        return jaro_winkler(left, right)

    # pandas_udf reads the kind of function from its annotations, as types, not strings.
    series.__annotations__ = {"left": pd.Series, "right": pd.Series, "return": pd.Series}
    spark.udf.register("jaro_winkler", pandas_udf(series, DoubleType()))


def spark_settings(frozen: dict[str, Any]) -> dict[str, Any]:
    """The frozen model with each level's SQL rendered for Spark, all numbers kept."""
    rendered_duckdb = model.settings("link_only").create_settings_dict("duckdb")
    rendered_spark = model.settings("link_only", "spark").create_settings_dict("spark")
    frozen_rules = [r["blocking_rule"] for r in frozen["blocking_rules_to_generate_predictions"]]
    code_rules = [
        r["blocking_rule"] for r in rendered_duckdb["blocking_rules_to_generate_predictions"]
    ]
    if frozen_rules != code_rules:
        raise TaxgateError(
            "model.json's blocking rules differ from the code",
            "Retrain the model with this version: taxgate model train.",
        )
    out = copy.deepcopy(frozen)
    out["comparisons"] = []
    for theirs, ours_duck, ours_spark in zip(
        frozen["comparisons"],
        rendered_duckdb["comparisons"],
        rendered_spark["comparisons"],
        strict=True,
    ):
        duck_sql = [lv["sql_condition"] for lv in ours_duck["comparison_levels"]]
        if [lv["sql_condition"] for lv in theirs["comparison_levels"]] != duck_sql:
            raise TaxgateError(
                f"model.json's comparison {theirs['output_column_name']!r} differs from the code",
                "Retrain the model with this version: taxgate model train.",
            )
        comparison = copy.deepcopy(theirs)
        for level, spark_level in zip(
            comparison["comparison_levels"], ours_spark["comparison_levels"], strict=True
        ):
            level["sql_condition"] = spark_level["sql_condition"]
        out["comparisons"].append(comparison)
    out["blocking_rules_to_generate_predictions"] = rendered_spark[
        "blocking_rules_to_generate_predictions"
    ]
    out.pop("sql_dialect", None)
    return out


def spark_session(master: str | None = None) -> Any:
    """A Spark session on `master` (TAXGATE_SPARK_MASTER when None) with Splink's similarity
    UDF jar on its class path. The driver binds to TAXGATE_SPARK_DRIVER_HOST (loopback by
    default, so a one-machine cluster listens nowhere else) and serves no web UI."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    settings = get_settings()
    master, driver = master or settings.spark_master, settings.spark_driver_host
    # The Python of the executors' Python workers (our Jaro-Winkler runs there): pyspark
    # takes it from this variable when the context starts, not from the session's conf.
    python = settings.spark_python or os.environ.get("PYSPARK_PYTHON") or sys.executable
    os.environ["PYSPARK_PYTHON"] = python
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master != master:
        active.stop()  # getOrCreate would hand back a session on another master
    builder = (
        SparkSession.builder.master(master)
        .appName("taxgate-match")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.host", driver)
        .config("spark.driver.bindAddress", driver)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.pyspark.python", python)
    )
    if settings.spark_executor_memory:
        builder = builder.config("spark.executor.memory", settings.spark_executor_memory)
    return builder.getOrCreate()


def _subjects(subjects_norm: pa.Table) -> pa.Table:
    """The subjects projected as the DuckDB path projects them: one chunk, sent by the driver."""
    con = scratch()
    try:
        columns = ", ".join(model.MODEL_COLUMNS)
        subjects = subjects_norm.select(list(dict.fromkeys((*SUBJECT_KEYS, *model.MODEL_COLUMNS))))
        con.register("subjects_arrow", subjects)
        return con.execute(
            f"SELECT CAST(row AS VARCHAR) AS {model.UNIQUE_ID}, {columns} FROM subjects_arrow"
        ).to_arrow_table()
    finally:
        con.close()


def spark_inputs(spark: Any, subjects_norm: pa.Table, parquet: Manifest) -> dict[str, Any]:
    """Spark DataFrames of the linker's inputs: the subjects from the driver, the addresses
    and term frequencies read by the executors from the master's Parquet export."""
    addresses = spark.read.parquet(parquet.table(ADDRESSES).as_uri())
    out = {
        LEFT: spark.createDataFrame(_subjects(subjects_norm)),
        # The partition column (zip1) is dropped: the model reads exactly its own columns.
        RIGHT: addresses.select(model.UNIQUE_ID, *model.MODEL_COLUMNS),
    }
    for column in TF_COLUMNS:
        out[f"tf_{column}"] = spark.read.parquet(parquet.table(f"tf_{column}").as_uri())
    return out


def spark_pairs(
    subjects_norm: pa.Table, home: Path, frozen: dict[str, Any], master: str | None = None
) -> pa.Table:
    """Splink's predictions on Spark, as an Arrow table with DuckDB's column names.

    A Spark that cannot be reached or dies under the work (an executor out of heap, a master
    that refuses the connection) is told as what it is, with the master it was asked of."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    from splink.backends.spark import SparkAPI

    master = master or get_settings().spark_master
    parquet = current_export(home)  # a missing or stale export is refused before Spark starts
    try:
        # A session of its own for each chunk, on the one context: Splink registers its tables
        # under fixed names, which the previous chunk's session still holds.
        spark = spark_session(master).newSession()
        shared = get_settings().spark_checkpoint_dir
        with tempfile.TemporaryDirectory(prefix="taxgate-spark-") as local:
            # Splink breaks lineage by checkpoint; on several machines it must be a shared path.
            spark.sparkContext.setCheckpointDir(shared or local)
            try:
                db_api = SparkAPI(spark_session=spark)
                _register_jaro_winkler(spark)
                tables = spark_inputs(spark, subjects_norm, parquet)
                linker = linker_for(db_api, tables, spark_settings(frozen))
                return linker.inference.predict().as_pyarrow_table()
            finally:
                spark.catalog.clearCache()  # what Splink cached for this chunk
    except (Py4JError, PySparkException, ConnectionError) as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise TaxgateError(
            f"the Spark backend failed on master {master}: {first}",
            "Check that the master is up and its executors have memory enough "
            "(spark.executor.memory), lower TAXGATE_MATCH_CHUNK_SUBJECTS, or run with "
            "--backend duckdb. The batch resumes where the ledger stopped.",
        ) from exc
