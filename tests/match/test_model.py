"""Training: deterministic by seed, the documented comparisons and levels, an offline card."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from taxgate.errors import TaxgateError
from taxgate.match.master import MASTER_FILE
from taxgate.match.model import COMPARISONS
from taxgate.match.train import CARD_FILE, MODEL_FILE, load_model, model_sha256, train
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
