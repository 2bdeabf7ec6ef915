"""One settings class for the whole tool, read from `TAXGATE_*` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where taxgate keeps its state and how it talks to its database.

    Rules of the agreement (thresholds, placeholders, limits) are not settings: they live in
    the versioned policy file, so a decision can always name the rules it applied.
    """

    model_config = SettingsConfigDict(env_prefix="TAXGATE_", extra="ignore")

    home: Path = Field(
        default=Path.home() / ".taxgate",
        description="Directory holding the master index, models, keys and the ledger file; "
        "created 0700 and checked on every command (taxgate.home, docs/home.md).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the ledger; a SQLite file under `home` when unset.",
    )
    debug: bool = Field(default=False, description="Show full tracebacks instead of one line.")
    match_chunk_subjects: int = Field(
        default=20_000,
        gt=0,
        description="Subjects matched and decided at a time: bounds the memory of candidate pairs.",
    )

    spark_master: str = Field(
        default="local[2]",
        description="Spark master for `--backend spark`: local[N], or spark://HOST:PORT of a "
        "standalone cluster (`taxgate process --spark-master` overrides it for one run).",
    )

    spark_driver_host: str = Field(
        default="127.0.0.1",
        description="The address the Spark driver binds to and executors reach it on: "
        "loopback keeps a one-machine cluster off the network; on a cluster of several "
        "machines, this machine's address on the cluster's network.",
    )

    spark_executor_memory: str | None = Field(
        default=None,
        description="Memory of each Spark executor (spark.executor.memory, e.g. 8g); Spark's "
        "own default (1g) when unset. On a standalone cluster each worker must offer at "
        "least this much.",
    )
    spark_shuffle_partitions: int = Field(
        default=2,
        gt=0,
        description="spark.sql.shuffle.partitions: 2 suits a chunk on one machine; on a "
        "cluster, a few per executor core, so that no partition of the pairs outgrows an "
        "executor.",
    )

    spark_python: str | None = Field(
        default=None,
        description="The Python the Spark executors run taxgate's Jaro-Winkler in "
        "(spark.pyspark.python), with pandas, pyarrow and rapidfuzz installed; this "
        "interpreter when unset, which suits one machine. On a cluster of several machines, "
        "the path of such a Python on every worker.",
    )

    spark_checkpoint_dir: str | None = Field(
        default=None,
        description="Where Spark checkpoints (Splink breaks lineage by checkpoint): a path "
        "every executor can reach (hdfs://, s3a://, a shared mount) on a cluster of several "
        "machines; a fresh local temporary directory when unset.",
    )

    master_parquet_dir: Path | None = Field(
        default=None,
        description="Where every master load also writes the master as partitioned Parquet, "
        "which Spark's executors read themselves (taxgate.match.export): on a cluster of "
        "several machines a folder at the same path on every worker (a shared mount), one per "
        "home; HOME/master-parquet when unset.",
    )

    load_workers: int | None = Field(
        default=None,
        gt=0,
        description="Processes that normalise a master load's chunks side by side; one per "
        "CPU when unset. A file of one chunk is normalised in the loading process itself.",
    )
    master_rebuild_rows: int = Field(
        default=4_000_000,
        gt=0,
        description="Filings per slice when a master load rebuilds its derived tables: bounds "
        "the memory of the window over each slice.",
    )
    train_max_taxpayers: int = Field(
        default=1_000_000,
        gt=0,
        description="Taxpayers whose filings `taxgate model train` reads at most: a larger "
        "master is sampled (seeded), so training's time and memory stop growing with it "
        "(taxgate.match.train).",
    )
    duckdb_memory_limit: str = Field(
        default="6GB",
        description="Memory DuckDB may use for the master index before spilling to disk.",
    )
    batch_lock_wait_seconds: float = Field(
        default=900.0,
        ge=0,
        description="How long a batch command waits for another run on the same ledger to "
        "finish (taxgate.ledger.batch_lock) before giving up with a message naming it.",
    )
    crash_at: str | None = Field(
        default=None,
        description="Tests only: SIGKILL this process at the named crash point "
        "(taxgate.crashpoints.POINTS), to prove a restarted run recovers.",
    )

    def ledger_url(self, home: Path | None = None) -> str:
        return self.database_url or f"sqlite:///{(home or self.home) / 'ledger.sqlite3'}"


def get_settings() -> Settings:
    return Settings()
