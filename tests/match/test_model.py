"""Training: deterministic by seed, the documented comparisons and levels, an offline card."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from taxgate.errors import TaxgateError
from taxgate.match.master import MASTER_FILE, load_filings
from taxgate.match.model import COMPARISONS
from taxgate.match.predict import candidates
from taxgate.match.train import (
    CARD_FILE,
    DEFAULT_TOP_M,
    MIN_EM_PAIRS,
    MODEL_FILE,
    TRAINING_KEY,
    freeze,
    load_model,
    model_sha256,
    train,
    training_connection,
    training_record,
    unestimated,
)
from tests.match.test_predict import MIN_EXACT_FIRST_SHARE
from tests.worlds import SEED, TEST_U_PAIRS


def test_same_seed_same_model_bytes(trained_home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(trained_home / MASTER_FILE, other / MASTER_FILE)
    info = train(other, SEED, u_max_pairs=TEST_U_PAIRS)
    assert (other / MODEL_FILE).read_bytes() == (trained_home / MODEL_FILE).read_bytes()
    assert info.sha256 == model_sha256(trained_home)
    assert info.sha256 == hashlib.sha256((other / MODEL_FILE).read_bytes()).hexdigest()


def test_comparisons_and_gamma_levels_as_documented(trained_home: Path) -> None:
    model = load_model(trained_home)
    assert model["link_type"] == "link_only"
    names = [c["output_column_name"] for c in model["comparisons"]]
    assert names == list(COMPARISONS)
    levels = {
        c["output_column_name"]: [
            lv for lv in c["comparison_levels"] if not lv.get("is_null_level")
        ]
        for c in model["comparisons"]
    }
    # gamma = number of levels below: docs/matching.md "Gamma levels the decision relies on".
    assert {c: len(lv) - 1 for c, lv in levels.items() if c != "given" and c != "family"} == {
        "dob": 3, "tin": 2, "house_number": 1, "street_name": 2, "unit": 1, "zip5": 1, "city": 1,
    }  # fmt: skip
    assert "jaro_winkler_similarity" in levels["street_name"][1]["sql_condition"]
    assert ">= 0.9" in levels["street_name"][1]["sql_condition"]
    tf = {c: lv[0].get("tf_adjustment_column") for c, lv in levels.items()}
    assert tf["given"] == "given" and tf["family"] == "family" and tf["dob"] is None


def test_agreement_is_evidence_for_a_match(trained_home: Path) -> None:
    model = load_model(trained_home)
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        top, bottom = levels[0], levels[-1]
        assert top["m_probability"] > top["u_probability"], comparison["output_column_name"]
        assert bottom["m_probability"] < bottom["u_probability"], comparison["output_column_name"]
        assert sum(lv["m_probability"] for lv in levels) == pytest.approx(1.0)


def test_model_card_renders_offline(trained_home: Path) -> None:
    card = (trained_home / CARD_FILE).read_text(encoding="utf-8")
    assert "vegaEmbed" in card and model_sha256(trained_home) in card
    assert not re.search(r"<script[^>]*\bsrc=", card), "the card must not fetch scripts"
    assert "cdn.jsdelivr" not in card
    spec = re.findall(
        r"vegaEmbed\(document.getElementById\('chart-0'\), (\{.*?\}), \{actions", card
    )
    assert spec and json.loads(spec[0])["data"]["values"]


def test_training_without_a_master_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(TaxgateError, match="no master index"):
        train(tmp_path, SEED)
    with pytest.raises(TaxgateError, match="no trained model"):
        model_sha256(tmp_path)


# ------------------------------------------------------------- a master of single filers


@pytest.fixture(scope="module")
def single_filers(world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small world's master with each taxpayer's latest filing only: no repeat filer."""
    folder = tmp_path_factory.mktemp("single")
    filings = folder / "single.parquet"
    with duckdb.connect() as con:
        con.execute(f"""
            COPY (SELECT * FROM '{world_dir / "filings.parquet"}'
                  QUALIFY row_number() OVER (PARTITION BY tin ORDER BY filed_on DESC) = 1)
            TO '{filings}' (FORMAT parquet)
        """)
    home = folder / "home"
    load_filings([filings], home)
    train(home, SEED, u_max_pairs=TEST_U_PAIRS)
    return home


def test_a_master_of_single_filers_trains_on_fallback_sessions(single_filers: Path) -> None:
    sessions = {s["blocking"]: s for s in training_record(single_filers)["em_sessions"]}
    assert sessions["tin"]["pairs"] == 0
    assert "no repeat filers" in sessions["tin"]["skipped"]
    assert "estimated" not in sessions["given AND family AND dob"]
    ran = [s for s in sessions.values() if "estimated" in s]
    assert ran and all(s["kind"] == "fallback" and s["pairs"] >= MIN_EM_PAIRS for s in ran)
    assert {c for s in ran for c in s["estimated"]} == set(COMPARISONS)
    assert training_record(single_filers)["default_m"] == []
    card = (single_filers / CARD_FILE).read_text(encoding="utf-8")
    assert "no repeat filers" in card and "family AND zip5" in card


def test_the_single_filer_model_still_weighs_agreement_for_a_match(single_filers: Path) -> None:
    model = load_model(single_filers)
    assert TRAINING_KEY not in model  # Splink reads the settings, never the training record
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        assert levels[0]["m_probability"] > levels[0]["u_probability"]
        assert sum(lv["m_probability"] for lv in levels) == pytest.approx(1.0)


def test_the_single_filer_model_ranks_the_true_taxpayer_first(
    single_filers: Path, subjects_norm: pa.Table, truth: pa.Table
) -> None:
    pairs = candidates(subjects_norm, single_filers)
    best: dict[str, tuple[float, str]] = {}
    for sid, tin, weight in zip(
        *(pairs.column(c).to_pylist() for c in ("subject_id", "tin", "match_weight")), strict=True
    ):
        if sid not in best or weight > best[sid][0]:
            best[sid] = (weight, tin)
    exact = [r for r in truth.to_pylist() if r["case"] == "exact" and r["tin"]]
    first = [r for r in exact if best.get(r["subject_id"], (0, None))[1] == r["tin"]]
    assert exact and len(first) / len(exact) >= MIN_EXACT_FIRST_SHARE


def test_a_master_with_repeat_filers_needs_no_fallback(trained_home: Path) -> None:
    record = training_record(trained_home)
    ran = [s["blocking"] for s in record["em_sessions"] if "estimated" in s]
    assert ran == ["tin", "given AND family AND dob"]
    fallbacks = [s for s in record["em_sessions"] if s["kind"] == "fallback"]
    assert fallbacks and all(s["skipped"].startswith("not needed") for s in fallbacks)


def test_a_comparison_no_session_estimated_gets_the_default_m() -> None:
    trained = {
        "comparisons": [
            {
                "output_column_name": "zip5",
                "comparison_levels": [
                    {"is_null_level": True},
                    {"u_probability": 0.001},
                    {"u_probability": 0.999},
                ],
            }
        ]
    }
    assert unestimated(trained) == ["zip5"]
    levels = freeze(trained, 1e-4)["comparisons"][0]["comparison_levels"]
    assert [lv["m_probability"] for lv in levels[1:]] == pytest.approx(
        [DEFAULT_TOP_M, 1 - DEFAULT_TOP_M]
    )


# ------------------------------------------------------------- a master larger than the bound


def test_a_master_over_the_bound_trains_on_whole_taxpayers_sampled_by_seed(
    trained_home: Path, tmp_path: Path
) -> None:
    homes = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        shutil.copy(trained_home / MASTER_FILE, home / MASTER_FILE)
        homes.append(home)
    with duckdb.connect(str(trained_home / MASTER_FILE), read_only=True) as con:
        taxpayers = con.execute("SELECT count(*) FROM last_known").fetchone()[0]
    bound = taxpayers // 4
    info = train(homes[0], SEED, u_max_pairs=TEST_U_PAIRS, max_taxpayers=bound)
    assert (info.taxpayers, info.taxpayers_sampled) == (taxpayers, bound)
    assert training_record(homes[0])["taxpayers_sampled"] == bound
    assert f"the filings of {bound:,} taxpayers" in (homes[0] / CARD_FILE).read_text("utf-8")
    con = training_connection(homes[0], SEED, bound)
    try:
        # Every filing of a sampled taxpayer, so EM still sees each repeat filer's pairs.
        whole = con.execute("""
            SELECT count(*) FROM master.filings_norm
            WHERE tin IN (SELECT tin FROM train_taxpayers)
        """).fetchone()[0]
    finally:
        con.close()
    assert info.filings == whole
    train(homes[1], SEED, u_max_pairs=TEST_U_PAIRS, max_taxpayers=bound)
    assert (homes[1] / MODEL_FILE).read_bytes() == (homes[0] / MODEL_FILE).read_bytes()
    model = load_model(homes[0])
    for comparison in model["comparisons"]:
        top = next(lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level"))
        assert top["m_probability"] > top["u_probability"], comparison["output_column_name"]
    assert model["probability_two_random_records_match"] == pytest.approx(0.5 / taxpayers)


def test_a_master_within_the_bound_trains_on_every_taxpayer(trained_home: Path) -> None:
    with duckdb.connect(str(trained_home / MASTER_FILE), read_only=True) as con:
        taxpayers = con.execute("SELECT count(*) FROM last_known").fetchone()[0]
    assert training_record(trained_home)["taxpayers_sampled"] == taxpayers
