"""The waterfall chart: rebuilt from a stored explanation, it adds up to the decision's weight."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pyarrow as pa
import pytest
from splink import SettingsCreator

from taxgate.decide.rules import decide
from taxgate.errors import TaxgateError
from taxgate.formats.tables import read_table
from taxgate.match.predict import SCHEMA, candidates
from taxgate.match.train import load_model, model_sha256
from taxgate.match.waterfall import waterfall_html, waterfall_record, waterfall_spec
from taxgate.policy import load_policy

# The explanation keeps weights to 3 decimals; a dozen comparisons may drift by their sum.
WEIGHT_TOLERANCE = 0.02


@pytest.fixture(scope="module")
def decisions(subjects_norm: pa.Table, trained_home: Path) -> list[dict]:
    sample = subjects_norm.slice(0, 60)
    pairs = candidates(sample, trained_home)
    return decide(pairs, sample, load_policy(), model_sha256(trained_home)).to_pylist()


def _with_candidates(decisions: list[dict]) -> list[dict]:
    return [d for d in decisions if json.loads(d["explanation"])["candidates"]]


def test_every_candidate_waterfall_adds_up_to_its_match_weight(
    decisions: list[dict], trained_home: Path
) -> None:
    model = load_model(trained_home)
    explained = _with_candidates(decisions)
    assert explained, "the sample must have subjects with candidates"
    for decision in explained:
        for candidate in json.loads(decision["explanation"])["candidates"]:
            spec = waterfall_spec(model, [candidate])
            bars = spec["data"]["values"]
            steps = [b for b in bars if b["column_name"] != "Final score"]
            final = next(b for b in bars if b["column_name"] == "Final score")
            assert final["log2_bayes_factor"] == candidate["match_weight"]
            assert math.isclose(
                sum(b["log2_bayes_factor"] for b in steps),
                candidate["match_weight"],
                abs_tol=WEIGHT_TOLERANCE,
            )


def test_term_frequency_part_is_the_stored_weight_minus_the_level_weight(
    decisions: list[dict], trained_home: Path
) -> None:
    model = load_model(trained_home)
    candidate = json.loads(_with_candidates(decisions)[0]["explanation"])["candidates"][0]
    settings = SettingsCreator.from_path_or_dict(model).get_settings("duckdb")
    record = waterfall_record(settings, candidate)
    for comparison in settings.comparisons:
        name = comparison.output_column_name
        gamma = candidate["levels"][name]
        assert record[f"gamma_{name}"] == gamma
        level = comparison._get_comparison_level_by_comparison_vector_value(gamma)
        if level._has_tf_adjustments and not level.is_null_level:
            expected = candidate["weights"][name] - level._log2_bayes_factor
            assert math.isclose(record[f"mw_tf_adj_{name}"], expected)
        else:
            assert record[f"mw_tf_adj_{name}"] == 0.0


def test_page_is_offline_and_free_of_compared_values(
    decisions: list[dict], trained_home: Path, world_dir: Path
) -> None:
    decision = _with_candidates(decisions)[0]
    page = waterfall_html(load_model(trained_home), decision)
    assert "vegaEmbed" in page and "cdn.jsdelivr" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page), "the page must not fetch scripts"
    raw = read_table(world_dir / "batch" / "subjects.csv", "subjects").to_pylist()
    family = next(s["family_name"] for s in raw if s["subject_id"] == decision["subject_id"])
    assert family and f'"{family}"' not in page
    assert decision["model_sha256"] in page


def test_a_subject_without_candidates_has_no_chart(trained_home: Path, policy) -> None:
    decision = decide(SCHEMA.empty_table(), [1], policy, model_sha256(trained_home)).to_pylist()[0]
    with pytest.raises(TaxgateError, match="no candidate taxpayer"):
        waterfall_html(load_model(trained_home), decision)
