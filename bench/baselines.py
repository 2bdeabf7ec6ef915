"""The rules the real process used, as a baseline to measure taxgate against.

(a) Two mutually exclusive scripts: requests with a TIN are disclosed when the TIN and the
family name match a filer and the address field is not blank (placeholders pass); requests
without a TIN are disclosed when the exact normalised name and street address match an address
the filer used. No gate, no ambiguity check: this is the behaviour the court counted.

(b) A plain Splink model: the comparison library's default comparisons on the raw fields
(lower-cased and trimmed, nothing else), trained the textbook way (u by random sampling, m by
EM), and the best pair per subject confirmed at the policy's confirm threshold. No gate, no
address corroboration, no ambiguity or relatives rule: what matching alone would disclose.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pyarrow as pa
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from taxgate.normalize.records import normalise

BASELINE_A_SQL = """
WITH s AS (
    SELECT n.row, n.subject_id, n.tin, n.given_first, n.family, n.family_first,
           n.house_number, n.street_name, n.zip5,
           coalesce(trim(r.street), '') <> '' OR coalesce(trim(r.zip), '') <> '' AS address_given
    FROM subjects_norm n JOIN subjects_raw r ON r.row = n.row
),
tin_path AS (
    SELECT s.row, min(f.tin) AS tin
    FROM s JOIN (SELECT DISTINCT tin, family_first FROM filings_norm) f
      ON s.tin = f.tin AND s.family_first = f.family_first
    WHERE s.tin IS NOT NULL AND s.address_given
    GROUP BY s.row
),
name_path AS (
    SELECT s.row, min(t.tin) AS tin
    FROM s JOIN taxpayer_addresses t
      ON s.given_first = t.given_first AND s.family = t.family
     AND s.house_number = t.house_number AND s.street_name = t.street_name AND s.zip5 = t.zip5
    WHERE s.tin IS NULL
    GROUP BY s.row
),
hits AS (SELECT * FROM tin_path UNION ALL SELECT * FROM name_path)
SELECT s.row, s.subject_id,
       CASE WHEN h.tin IS NULL THEN 'NOT_CONFIRMED' ELSE 'CONFIRMED' END AS outcome,
       h.tin
FROM s LEFT JOIN hits h ON h.row = s.row
ORDER BY s.row
"""


def baseline_a(subjects: pa.Table, master: Path) -> pa.Table:
    """Outcomes (row, subject_id, outcome, tin) of the real process's rules on every subject."""
    raw = subjects.append_column("row", pa.array(range(1, subjects.num_rows + 1), pa.int64()))
    subjects_norm = normalise(subjects, "subjects")  # noqa: F841 (read by DuckDB)
    subjects_raw = raw  # noqa: F841 (read by DuckDB)
    con = duckdb.connect(str(master), read_only=True)
    try:
        return con.execute(BASELINE_A_SQL).to_arrow_table()
    finally:
        con.close()


BASELINE_B_COLUMNS = ("given_name", "family_name", "date_of_birth", "tin", "street", "city", "zip")
# Textbook settings, not tuned on the world: a million random pairs for u, and a prior from
# the pairs that agree on TIN and family name, assumed to find seven matches in ten.
BASELINE_B_U_PAIRS = 1e6
BASELINE_B_PRIOR_RECALL = 0.7
ZIP5 = 5
BASELINE_B_EM_SESSIONS = (("family_name", "zip"), ("given_name", "date_of_birth"))


def _plain(table: pa.Table, con: duckdb.DuckDBPyConnection, name: str, ids: str) -> None:
    """Register `name`: the compared fields lower-cased and trimmed, dates as ISO text."""
    con.register(f"{name}_in", table)
    fields = ", ".join(
        f"nullif(lower(trim(CAST({c} AS VARCHAR))), '') AS {c}"
        if c != "zip"
        else f"nullif(left(trim(CAST(zip AS VARCHAR)), {ZIP5}), '') AS zip"
        for c in BASELINE_B_COLUMNS
    )
    con.execute(f"CREATE TABLE {name} AS SELECT {ids} AS unique_id, {fields} FROM {name}_in")


def baseline_b(
    subjects: pa.Table,
    filings: pa.Table,
    confirm_threshold: float,
    seed: int,
    prior_keys: tuple[str, ...] = ("tin", "family_name"),
    em_sessions: tuple[tuple[str, ...], ...] = BASELINE_B_EM_SESSIONS,
):
    """Outcomes (row, subject_id, outcome, tin) of a plain Splink link with default comparisons.

    `prior_keys`: the fields whose exact agreement estimates the prior; requests that never
    carry a TIN (FEBRL as bench/febrl.py converts it) need another rule, or no pair is found.
    `em_sessions`: the blocking keys of the EM sessions; requests without a birth date need
    sessions that do not block on it.
    """
    con = duckdb.connect()
    raw = subjects.append_column("row", pa.array(range(1, subjects.num_rows + 1), pa.int64()))
    _plain(raw, con, "subjects_plain", "row")
    _plain(filings, con, "filings_plain", "row_number() OVER ()")
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.ExactMatch("tin"),
            cl.LevenshteinAtThresholds("street"),
            cl.ExactMatch("city"),
            cl.ExactMatch("zip"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("tin"),
            block_on("family_name", "zip"),
            block_on("given_name", "date_of_birth"),
        ],
        retain_matching_columns=True,
    )
    db_api = DuckDBAPI(con)
    left, right = db_api.register("subjects_plain"), db_api.register("filings_plain")
    linker = Linker([left, right], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*prior_keys)], recall=BASELINE_B_PRIOR_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=BASELINE_B_U_PAIRS, seed=seed)
    for keys in em_sessions:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*keys))
    pairs = linker.inference.predict().physical_name  # a table on `con`
    return con.execute(
        f"""
        WITH best AS (
            SELECT p.unique_id_l AS row, p.tin_r AS tin, p.match_probability,
                   row_number() OVER (PARTITION BY p.unique_id_l
                                      ORDER BY p.match_probability DESC, p.tin_r) AS rank
            FROM {pairs} p
        )
        SELECT s.unique_id AS row, s_in.subject_id,
               CASE WHEN b.match_probability >= {confirm_threshold}
                    THEN 'CONFIRMED' ELSE 'NOT_CONFIRMED' END AS outcome,
               CASE WHEN b.match_probability >= {confirm_threshold} THEN b.tin END AS tin
        FROM subjects_plain s
        JOIN subjects_plain_in s_in ON s_in.row = s.unique_id
        LEFT JOIN best b ON b.row = s.unique_id AND b.rank = 1
        ORDER BY s.unique_id
        """
    ).to_arrow_table()
