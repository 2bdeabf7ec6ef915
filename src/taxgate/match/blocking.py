"""How many pairs the blocking rules make: the check that a 1.28-million-subject batch stays
tractable, via Splink's own blocking analysis on the same inputs prediction uses."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from taxgate.match import model
from taxgate.match.linking import LEFT, RIGHT
from taxgate.match.predict import check_subjects, duckdb_inputs, reached_alone


def comparison_counts(
    subjects_norm: pa.Table, home: Path, sample: float = 1.0
) -> list[dict[str, object]]:
    """Per blocking rule: its marginal and cumulative pair counts (estimated from a `sample`
    share of records on each side when below 1)."""
    check_subjects(subjects_norm)
    reached = reached_alone(subjects_norm, home, model.settings().create_settings_dict("duckdb"))
    con, db_api, tables = duckdb_inputs(subjects_norm, home, reached)
    try:
        frames = [
            db_api.register(tables[LEFT], dataset_display_name=LEFT, table_name=LEFT + "_in"),
            db_api.register(tables[RIGHT], dataset_display_name=RIGHT, table_name=RIGHT + "_in"),
        ]
        records = count_comparisons_from_blocking_rules(
            frames,
            blocking_rules=model.blocking_rules(),
            link_type="link_only",
            unique_id_column_name=model.UNIQUE_ID,
            record_sample_proportion=sample,
        )
    finally:
        con.close()
    return [
        {
            "rule": label,
            "marginal": int(r["marginal_comparison_count"]),
            "cumulative": int(r["cumulative_comparison_count"]),
        }
        for label, r in zip(model.blocking_rule_labels(), records, strict=True)
    ]
