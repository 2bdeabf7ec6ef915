"""Splink is handed only the addresses a blocking rule reaches from the chunk, and scores exactly
the pairs and weights it would score against every address of the master; the reach found once
for a whole batch names, for each chunk, exactly what that chunk alone would reach."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from taxgate.match.linking import RIGHT, linker_for
from taxgate.match.predict import Reach, candidates, duckdb_inputs, reached_alone
from taxgate.match.reachable import rules_sql
from taxgate.match.train import load_model

# The test world's subjects reach a small share of its addresses; every one would be far more.
MAX_REACHED_SHARE = 0.5
CHUNK = 70
CHUNKS = 3


def _predict(subjects: pa.Table, home: Path, reached: pa.Array | None) -> tuple[int, set]:
    """Rows handed to Splink as the right-hand side, and the scored pairs."""
    con, db_api, tables = duckdb_inputs(subjects, home, reached)
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
    reached, pairs = _predict(chunk, trained_home, reached_alone(chunk, trained_home))
    assert all_pairs and pairs == all_pairs
    assert reached < MAX_REACHED_SHARE * every


def test_one_reach_for_the_batch_names_what_each_chunk_alone_reaches(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    batch = subjects_norm.slice(0, CHUNK * CHUNKS - 1)  # the last chunk one short
    with Reach(batch, trained_home, CHUNK) as reach:
        for index in range(CHUNKS):
            chunk = batch.slice(index * CHUNK, CHUNK)
            alone = reached_alone(chunk, trained_home)
            assert len(alone) and reach.chunk(index).equals(alone)
            assert candidates(chunk, trained_home, reach=(reach, index)).equals(
                candidates(chunk, trained_home)
            )
        assert len(reach.chunk(CHUNKS)) == 0


def test_no_load_can_swap_the_master_while_a_batch_holds_its_reach(
    subjects_norm: pa.Table, trained_home: Path, world_dir: Path
) -> None:
    load = (
        "import sys; from taxgate.match.master import load_filings; "
        "load_filings([sys.argv[1]], sys.argv[2])"
    )
    args = [sys.executable, "-c", load, str(world_dir / "filings.parquet"), str(trained_home)]
    with Reach(subjects_norm.slice(0, CHUNK), trained_home, CHUNK):
        held = subprocess.run(args, capture_output=True, text=True, check=False)
    assert held.returncode != 0 and "lock" in held.stderr.lower()


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
