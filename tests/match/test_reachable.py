"""Splink is handed only the addresses a blocking rule reaches from the chunk, and scores exactly
the pairs and weights it would score against every address of the master."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from taxgate.match.linking import RIGHT, linker_for
from taxgate.match.predict import duckdb_inputs
from taxgate.match.reachable import rules_sql
from taxgate.match.train import load_model

# The test world's subjects reach a small share of its addresses; every one would be far more.
MAX_REACHED_SHARE = 0.5


def _predict(subjects: pa.Table, home: Path, rules: list[str] | None) -> tuple[int, set]:
    """Rows handed to Splink as the right-hand side, and the scored pairs."""
    con, db_api, tables = duckdb_inputs(subjects, home, rules)
    try:
        handed = con.execute(f"SELECT count(*) FROM {RIGHT}").fetchone()[0]
        predicted = linker_for(db_api, tables, load_model(home)).inference.predict()
        table = predicted.physical_name
        pairs = con.execute(
            f"SELECT unique_id_l, unique_id_r, round(match_weight, 9) FROM {table}"
        ).fetchall()
    finally:
        con.close()
    return handed, set(pairs)


def test_the_reached_addresses_give_the_pairs_of_the_whole_master(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    chunk = subjects_norm.slice(0, 200)
    every, all_pairs = _predict(chunk, trained_home, None)
    reached, pairs = _predict(chunk, trained_home, rules_sql(load_model(trained_home)))
    assert all_pairs and pairs == all_pairs
    assert reached < MAX_REACHED_SHARE * every


def test_rules_that_explode_arrays_hand_over_every_address() -> None:
    settings = {
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": "l.tin = r.tin", "arrays_to_explode": None},
            {"blocking_rule": "l.t = r.t", "arrays_to_explode": ["given_tokens"]},
        ]
    }
    assert rules_sql(settings) is None
    settings["blocking_rules_to_generate_predictions"].pop()
    assert rules_sql(settings) == ["l.tin = r.tin"]
