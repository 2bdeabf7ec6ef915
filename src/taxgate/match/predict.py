"""Score subjects against the taxpayer addresses with the frozen model: the candidate pairs.

The model is read from HOME/model.json and never retrained here; its SHA-256
(`model_sha256(home)`) names it in every decision. DuckDB is the default backend; Spark
(local mode) gives the same pairs and weights (tests/match/test_spark.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from splink.backends.duckdb import DuckDBAPI

from taxgate.errors import TaxgateError
from taxgate.match import model
from taxgate.match.linking import LEFT, RIGHT, SUBJECT_KEYS, linker_for, model_columns_sql
from taxgate.match.master import TF_COLUMNS, master_path, scratch
from taxgate.match.reachable import reach_sql, rules_sql
from taxgate.match.train import load_model, model_sha256

__all__ = ["Backend", "Reach", "candidates", "model_sha256"]

Backend = Literal["duckdb", "spark"]

SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64()),
        pa.field("subject_id", pa.string()),
        pa.field("tin", pa.string()),
        pa.field("address_id", pa.string()),
        pa.field("match_weight", pa.float64()),
        pa.field("match_probability", pa.float64()),
        *[pa.field(f"gamma_{c}", pa.int32()) for c in model.COMPARISONS],
        *[pa.field(f"bf_{c}", pa.float64()) for c in model.COMPARISONS],
        *[
            pa.field(f"{c}_{side}", pa.list_(pa.string()) if c == "given_tokens" else t)
            for c, t in ((c, pa.date32() if c == "dob" else pa.string()) for c in model.RETAINED)
            for side in ("l", "r")
        ],
        pa.field("namesakes_r", pa.int32()),
        pa.field("given_filed_r", pa.bool_()),
    ]
)


def check_subjects(subjects_norm: pa.Table) -> None:
    """Refuse a subjects table that did not come through the normaliser."""
    missing = [
        c for c in (*SUBJECT_KEYS, *model.MODEL_COLUMNS) if c not in subjects_norm.schema.names
    ]
    if missing:
        raise TaxgateError(
            f"the subjects table lacks normalised column(s) {', '.join(missing)}",
            "Pass the output of taxgate.normalize.records.normalise(table, 'subjects').",
        )


def require_master(home: Path) -> None:
    if not master_path(home).is_file():
        raise TaxgateError(
            "no master index in this home",
            "Load the filings first: taxgate master load FILINGS --home DIR.",
            file=master_path(home),
        )


class Reach:
    """The master addresses each chunk of one batch can meet (`taxgate.match.reachable`),
    found once for the whole batch: chunk `i` is subjects `i * chunk_subjects` onwards.

    It holds the master open read-only until closed, so no load can swap the master's tables
    (and their rowids) between the chunks it names. Use as a context manager.
    """

    def __init__(
        self,
        subjects_norm: pa.Table,
        home: Path,
        chunk_subjects: int,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`settings`: the Splink settings whose rules decide the reach (the home's frozen
        model's when None)."""
        check_subjects(subjects_norm)
        require_master(home)
        self.rules = rules_sql(settings or load_model(home))
        self.con = scratch()
        try:
            self.con.execute(f"ATTACH '{master_path(home)}' AS master (READ_ONLY)")
            if self.rules is not None:
                self._find(subjects_norm, chunk_subjects, self.rules)
        except BaseException:
            self.con.close()
            raise

    def _find(self, subjects_norm: pa.Table, chunk_subjects: int, rules: list[str]) -> None:
        parts = pa.array(np.arange(subjects_norm.num_rows) // chunk_subjects, pa.int32())
        self.con.register(
            "reach_subjects",
            subjects_norm.select(list(model.MODEL_COLUMNS)).append_column("part", parts),
        )
        self.con.execute("CREATE TABLE reach_left AS SELECT * FROM reach_subjects")
        self.con.unregister("reach_subjects")
        reach = reach_sql("reach_left", "master.taxpayer_addresses", rules)
        self.con.execute(f"CREATE TABLE reach AS {reach}")
        self.con.execute("DROP TABLE reach_left")

    def chunk(self, index: int) -> pa.Array | None:
        """Rowids of `master.taxpayer_addresses` chunk `index` can meet, ascending; None when
        the rules cannot say (every address)."""
        if self.rules is None:
            return None
        sql = "SELECT rid FROM reach WHERE part = ? ORDER BY rid"
        return self.con.execute(sql, [index]).to_arrow_table().column(0).combine_chunks()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Reach:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def duckdb_inputs(
    subjects_norm: pa.Table, home: Path, reached: pa.Array | None
) -> tuple[Any, Any, Any]:
    """A scratch DuckDB holding the subjects, the master's addresses at rowids `reached` (from
    a `Reach`; all of them when None) and the TF tables, the inputs both prediction and the
    blocking analysis (`taxgate.match.blocking`) read."""
    con = scratch()
    con.execute(f"ATTACH '{master_path(home)}' AS master (READ_ONLY)")
    subjects = subjects_norm.select(list(dict.fromkeys((*SUBJECT_KEYS, *model.MODEL_COLUMNS))))
    con.register("subjects_arrow", subjects)
    con.execute(
        f"CREATE TABLE {LEFT} AS SELECT {model_columns_sql('CAST(row AS VARCHAR)')} "
        "FROM subjects_arrow"
    )
    addresses = f"SELECT {model_columns_sql('address_id')} FROM master.taxpayer_addresses"
    if reached is None:
        # A view, not a copy: at 20M people a copy of taxpayer_addresses held 15 GB in memory.
        con.execute(f"CREATE VIEW {RIGHT} AS {addresses}")
    else:
        con.register("reached_rowids", pa.table({"rid": reached}))
        con.execute(
            f"CREATE TABLE {RIGHT} AS {addresses} WHERE rowid IN (SELECT rid FROM reached_rowids)"
        )
        con.unregister("reached_rowids")
    for column in TF_COLUMNS:
        con.execute(f"CREATE TABLE tf_{column} AS SELECT * FROM master.tf_{column}")
    db_api = DuckDBAPI(con)
    return con, db_api, {name: name for name in (LEFT, RIGHT, *[f"tf_{c}" for c in TF_COLUMNS])}


def reached_alone(
    subjects_norm: pa.Table, home: Path, settings: dict[str, Any] | None = None
) -> pa.Array | None:
    """The addresses `subjects_norm` can meet, as one chunk of its own (see `Reach`)."""
    with Reach(subjects_norm, home, max(1, subjects_norm.num_rows), settings) as reach:
        return reach.chunk(0)


def shape(pairs: pa.Table, subjects_norm: pa.Table) -> pa.Table:
    """Splink's prediction columns (as Arrow, from any engine) -> the documented candidate-pairs
    table, in a stable order (`_shaped`)."""
    con = scratch()
    try:
        con.register("pairs", pairs)
        con.register("subjects", subjects_norm.select(list(SUBJECT_KEYS)))
        shaped = _shaped(con, "pairs", "subjects", set(pairs.schema.names))
    finally:
        con.close()
    return _one_chunk(shaped)


def _shaped(con: Any, pairs: str, subjects: str, names: set[str]) -> pa.Table:
    """The candidate-pairs table from Splink's predictions in `pairs` on `con`, joined to
    `subjects` (row, subject_id), ordered by row, weight (highest first), address id.

    `bf_<c>` is the comparison's whole Bayes factor, 2 ** (Splink's `mw_<c>` plus its
    term-frequency adjustment `mw_tf_adj_<c>` where there is one), so the prior odds times
    every `bf_<c>` give 2 ** `match_weight`.
    """
    gammas = ", ".join(f"CAST(gamma_{c} AS INTEGER) AS gamma_{c}" for c in model.COMPARISONS)
    bfs = ", ".join(
        f"pow(2.0, mw_{c} + coalesce(mw_tf_adj_{c}, 0.0)) AS bf_{c}"
        if f"mw_tf_adj_{c}" in names
        else f"pow(2.0, mw_{c}) AS bf_{c}"
        for c in model.COMPARISONS
    )
    values = ", ".join(f"p.{c}_l, p.{c}_r" for c in model.RETAINED)
    table = con.execute(f"""
        SELECT s.row, s.subject_id, p.tin_r AS tin, p.unique_id_r AS address_id,
               p.match_weight, p.match_probability, {gammas}, {bfs}, {values},
               CAST(0 AS INTEGER) AS namesakes_r, false AS given_filed_r
        FROM {pairs} p JOIN {subjects} s ON s.row = CAST(p.unique_id_l AS BIGINT)
        ORDER BY s.row, p.match_weight DESC, address_id
    """).to_arrow_table()
    return table


def _one_chunk(shaped: pa.Table) -> pa.Table:
    """`SCHEMA`, in one chunk as decide takes it (taxgate.decide.contract). Combined once the
    engine's connection is closed, so the copy never sits beside Splink's tables, nor beside
    the pairs for the whole of the decision (1.8 GB for 128,000 subjects at 20M people)."""
    return shaped.combine_chunks().cast(SCHEMA)


def _per_pair(pairs: pa.Table, home: Path, keys: list[str], sql: str) -> pa.Array:
    """The first column of `sql`, one value per pair in the pairs' order. `sql` reads `keyed`
    (the pairs' `keys` and their position `i`, numbered in Arrow before DuckDB sees them, so
    no parallel scan can reorder them), the attached `master` and its name tables as views
    (`NAME_TABLES`)."""
    con = scratch()
    try:
        con.execute(f"ATTACH '{master_path(home)}' AS master (READ_ONLY)")
        _name_views(con)
        keyed = pairs.select(keys).append_column("i", pa.array(range(pairs.num_rows), pa.int64()))
        con.register("keyed", keyed)
        return con.execute(sql).to_arrow_table().column(0)
    finally:
        con.close()


# The master's name tables (taxgate.match.master), or the same rows from its filings for a
# master loaded before they existed: such a master still decides alike, only more slowly.
NAME_TABLES = {
    "taxpayer_names": "SELECT DISTINCT tin, given, family FROM master.filings_norm "
    "WHERE given IS NOT NULL",
    "name_filers": "SELECT DISTINCT zip5, given, family, tin FROM master.filings_norm "
    "WHERE given IS NOT NULL AND family IS NOT NULL AND zip5 IS NOT NULL",
}


def _name_views(con: Any) -> None:
    stored = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'master'"
        ).fetchall()
    }
    for name, rows in NAME_TABLES.items():
        source = f"SELECT * FROM master.{name}" if name in stored else rows
        con.execute(f"CREATE TEMP VIEW {name} AS {source}")


def with_namesakes(pairs: pa.Table, home: Path) -> pa.Table:
    """`namesakes_r`: how many other taxpayers filed from the record's ZIP under any name the
    record's taxpayer filed under (in any year, at any address) or under the request's name,
    counted in the whole master, not only among the candidates.

    Blocking brings a subject's namesakes only when the request meets them by an address or a
    birth date: a namesake elsewhere in the ZIP is never a candidate, and the decision must still
    know it is there. Every name the taxpayer filed counts, not only the spelling its address
    record carries: a record reading "D SMITH" (its latest return, an initial) belongs to a
    taxpayer who filed as "DANIEL SMITH" the year before, beside another DANIEL SMITH of the
    ZIP (a wrongful confirmation at 5M people, seed 9). The request's name counts too: a
    record whose filing was mistyped ("EONZALEZ LOPEZ") has no namesake under its own
    spelling, while the requested "GONZALEZ LOPEZ" may have several. And every filing of a
    namesake counts: one whose latest return there was mistyped ("NOEL" for "JEAN-PIERRE")
    filed under the name before. And the other filers under the request's name in the
    request's ZIP count whatever ZIP the record carries: a taxpayer whose one return there
    mistyped the ZIP ("63438" for "64434") has a record with no namesake, while the ZIP asked
    about has one (20M people, seed 29).
    """
    if pairs.num_rows == 0:
        return pairs
    keys = ["tin", "zip5_r", "zip5_l", "given_l", "family_l"]
    # Counted by sizes of names, never by a join per pair: a join per pair multiplied a common
    # name's pairs by its filers ("MICHAEL SMITH", 1,569 records in one ZIP of the 20M world;
    # 133 s for 128,000 subjects against 8 s, bench/README.md). Per (taxpayer, ZIP), the
    # others under its own names: the size of the name when it filed under one, the distinct
    # filers when under several (few do). Per (taxpayer, ZIP, request's name) when the
    # request's name is none of the taxpayer's: the filers under it, less those also under
    # one of the taxpayer's names (found per distinct pair of names, not per pair).
    counts = _per_pair(pairs, home, keys, """
        WITH places AS (SELECT DISTINCT tin, zip5_r AS zip5 FROM keyed WHERE tin IS NOT NULL),
        spelled AS (
            SELECT DISTINCT f.tin, f.given, f.family
            FROM (SELECT DISTINCT tin FROM places) p JOIN taxpayer_names f ON f.tin = p.tin
            WHERE f.family IS NOT NULL
        ),
        spellings AS (SELECT tin, count(*) AS names FROM spelled GROUP BY tin),
        own_names AS (
            SELECT p.tin, p.zip5, s.given, s.family FROM places p JOIN spelled s ON s.tin = p.tin
        ),
        requested AS (
            SELECT DISTINCT k.tin, k.zip5_r AS zip5, k.given_l AS given, k.family_l AS family
            FROM keyed k LEFT JOIN spelled s
              ON s.tin = k.tin AND s.given = k.given_l AND s.family = k.family_l
            WHERE s.tin IS NULL AND k.given_l IS NOT NULL AND k.family_l IS NOT NULL
        ),
        names AS (
            SELECT zip5, given, family FROM own_names
            UNION SELECT zip5, given, family FROM requested
        ),
        name_tins AS (
            SELECT DISTINCT n.zip5, n.given, n.family, t.tin
            FROM names n JOIN name_filers t
              ON t.zip5 = n.zip5 AND t.given = n.given AND t.family = n.family
        ),
        sizes AS (SELECT zip5, given, family, count(*) AS filers FROM name_tins GROUP BY ALL),
        one_name AS (
            SELECT o.tin, o.zip5,
                coalesce(z.filers, 0) - CASE WHEN own.tin IS NULL THEN 0 ELSE 1 END AS others
            FROM own_names o JOIN spellings c ON c.tin = o.tin AND c.names = 1
            LEFT JOIN sizes z ON z.zip5 = o.zip5 AND z.given = o.given AND z.family = o.family
            LEFT JOIN name_tins own ON own.zip5 = o.zip5 AND own.given = o.given
             AND own.family = o.family AND own.tin = o.tin
        ),
        several_names AS (
            SELECT o.tin, o.zip5, count(DISTINCT nt.tin) FILTER (WHERE nt.tin <> o.tin) AS others
            FROM own_names o JOIN spellings c ON c.tin = o.tin AND c.names > 1
            LEFT JOIN name_tins nt
              ON nt.zip5 = o.zip5 AND nt.given = o.given AND nt.family = o.family
            GROUP BY ALL
        ),
        own_side AS (SELECT * FROM one_name UNION ALL SELECT * FROM several_names),
        combos AS (
            SELECT DISTINCT r.zip5, s.given AS own_given, s.family AS own_family,
                r.given, r.family
            FROM requested r JOIN spelled s ON s.tin = r.tin
        ),
        overlap AS (
            SELECT c.*, a.tin AS other
            FROM combos c
            JOIN name_tins a
              ON a.zip5 = c.zip5 AND a.given = c.own_given AND a.family = c.own_family
            JOIN name_tins b ON b.zip5 = c.zip5 AND b.given = c.given AND b.family = c.family
             AND b.tin = a.tin
        ),
        shared AS (
            SELECT r.tin, r.zip5, r.given, r.family, count(DISTINCT v.other) AS filers
            FROM requested r JOIN spelled s ON s.tin = r.tin
            JOIN overlap v ON v.zip5 = r.zip5 AND v.own_given = s.given
             AND v.own_family = s.family AND v.given = r.given AND v.family = r.family
            GROUP BY ALL
        ),
        request_side AS (
            SELECT r.tin, r.zip5, r.given, r.family,
                coalesce(z.filers, 0) - coalesce(b.filers, 0) AS others
            FROM requested r
            LEFT JOIN sizes z ON z.zip5 = r.zip5 AND z.given = r.given AND z.family = r.family
            LEFT JOIN shared b ON b.tin = r.tin AND b.zip5 = r.zip5 AND b.given = r.given
             AND b.family = r.family
        ),
        asked AS (
            SELECT DISTINCT tin, zip5_l AS zip5, given_l AS given, family_l AS family
            FROM keyed WHERE tin IS NOT NULL AND zip5_l IS NOT NULL
             AND given_l IS NOT NULL AND family_l IS NOT NULL
        ),
        asked_sizes AS (
            SELECT a.zip5, a.given, a.family, count(*) AS filers
            FROM (SELECT DISTINCT zip5, given, family FROM asked) a
            JOIN name_filers t ON t.zip5 = a.zip5 AND t.given = a.given AND t.family = a.family
            GROUP BY ALL
        ),
        asked_side AS (
            SELECT a.tin, a.zip5, a.given, a.family,
                coalesce(z.filers, 0) - CASE WHEN own.tin IS NULL THEN 0 ELSE 1 END AS others
            FROM asked a
            LEFT JOIN asked_sizes z
              ON z.zip5 = a.zip5 AND z.given = a.given AND z.family = a.family
            LEFT JOIN name_filers own ON own.zip5 = a.zip5 AND own.given = a.given
             AND own.family = a.family AND own.tin = a.tin
        )
        SELECT CAST(greatest(coalesce(o.others, 0) + coalesce(q.others, 0), coalesce(w.others, 0))
            AS INTEGER)
        FROM keyed k
        LEFT JOIN own_side o ON o.tin = k.tin AND o.zip5 = k.zip5_r
        LEFT JOIN request_side q ON q.tin = k.tin AND q.zip5 = k.zip5_r
         AND q.given = k.given_l AND q.family = k.family_l
        LEFT JOIN asked_side w ON w.tin = k.tin AND w.zip5 = k.zip5_l
         AND w.given = k.given_l AND w.family = k.family_l
        ORDER BY k.i
    """)  # fmt: skip
    index = pairs.schema.get_field_index("namesakes_r")
    return pairs.set_column(index, SCHEMA.field("namesakes_r"), counts)


def with_given_filed(pairs: pa.Table, home: Path) -> pa.Table:
    """`given_filed_r`: the record's taxpayer filed under the request's given name, as
    normalised, in some year at some address, whatever name its record here carries.

    A record carries the spelling its taxpayer filed most often there; a housemate whose
    latest return was mistyped or filed under another name ("DANNA" one year, "MARIA" the
    year before) still filed under the subject's name, and that name cannot tell them apart.
    """
    if pairs.num_rows == 0:
        return pairs
    filed = _per_pair(pairs, home, ["tin", "given_l"], """
        WITH wanted AS (
            SELECT DISTINCT tin, given_l FROM keyed WHERE tin IS NOT NULL AND given_l IS NOT NULL
        ),
        found AS (
            SELECT DISTINCT w.tin, w.given_l
            FROM wanted w JOIN taxpayer_names f ON f.tin = w.tin AND f.given = w.given_l
        )
        SELECT f.tin IS NOT NULL AS given_filed
        FROM keyed k LEFT JOIN found f ON f.tin = k.tin AND f.given_l = k.given_l
        ORDER BY k.i
    """)  # fmt: skip
    index = pairs.schema.get_field_index("given_filed_r")
    return pairs.set_column(index, SCHEMA.field("given_filed_r"), filed)


def candidates(
    subjects_norm: pa.Table,
    home: Path,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    reach: tuple[Reach, int] | None = None,
) -> pa.Table:
    """One row per (subject row, taxpayer address) pair blocking produced, scored.

    `subjects_norm` is `normalise(subjects, "subjects")`, with `row` and `subject_id`;
    `spark_master` names the Spark master for the Spark backend (TAXGATE_SPARK_MASTER if None);
    `reach` is the batch's `Reach` and the index of the chunk `subjects_norm` is (DuckDB only;
    found for these subjects alone when None).
    """
    check_subjects(subjects_norm)
    settings = load_model(home)
    require_master(home)
    if subjects_norm.num_rows == 0:
        return SCHEMA.empty_table()
    if backend == "duckdb":
        reached = reach[0].chunk(reach[1]) if reach else reached_alone(subjects_norm, home)
        con, db_api, tables = duckdb_inputs(subjects_norm, home, reached)
        try:
            predicted = linker_for(db_api, tables, settings).inference.predict()
            # Shaped where Splink left them: no round trip of every column through Arrow.
            table = predicted.physical_name
            names = {c[0] for c in con.execute(f"SELECT * FROM {table} LIMIT 0").description}
            shaped = _shaped(con, table, "subjects_arrow", names)
        finally:
            con.close()
        shaped = _one_chunk(shaped)
    elif backend == "spark":
        from taxgate.match.spark import spark_pairs

        pairs = spark_pairs(subjects_norm, home, settings, spark_master)
        shaped = shape(pairs, subjects_norm)
    else:
        raise TaxgateError(f"unknown backend {backend!r}", "Use 'duckdb' or 'spark'.")
    return with_given_filed(with_namesakes(shaped, home), home)
