"""The rules the real process used, as a baseline to measure taxgate against.

(a) Two mutually exclusive scripts: requests with a TIN are disclosed when the TIN and the
family name match a filer and the address field is not blank (placeholders pass); requests
without a TIN are disclosed when the exact normalised name and street address match an address
the filer used. No gate, no ambiguity check: this is the behaviour the court counted.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

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
