"""Candidate pairs: the documented table, and the true taxpayer found and ranked first."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from taxgate.errors import TaxgateError
from taxgate.match import model
from taxgate.match.blocking import comparison_counts
from taxgate.match.model import COMPARISONS, RETAINED
from taxgate.match.predict import candidates

# Most present subjects must reach their taxpayer through blocking; "exact" ones must rank it
# first. The world also has cases no blocking rule is meant to catch (an address never filed
# from with no TIN), hence not all.
MIN_FOUND_SHARE = 0.95
MIN_EXACT_FIRST_SHARE = 0.95
# Blocking must stay far from the cartesian product: pairs per subject.
MAX_PAIRS_PER_SUBJECT = 50


@pytest.fixture(scope="module")
def pairs(subjects_norm: pa.Table, trained_home: Path) -> pa.Table:
    return candidates(subjects_norm, trained_home)


def test_candidate_pairs_schema(pairs: pa.Table) -> None:
    names = pairs.schema.names
    assert names[:6] == [
        "row",
        "subject_id",
        "tin",
        "address_id",
        "match_weight",
        "match_probability",
    ]
    for c in COMPARISONS:
        assert pa.types.is_integer(pairs.schema.field(f"gamma_{c}").type)
        assert pa.types.is_floating(pairs.schema.field(f"bf_{c}").type)
    for c in RETAINED:
        assert f"{c}_l" in names and f"{c}_r" in names
    assert pairs.schema.field("given_tokens_l").type == pa.list_(pa.string())
    assert pairs.num_rows > 0
    assert pc.all(pc.equal(pairs.column("tin"), pairs.column("tin_r"))).as_py()


def test_bayes_factors_multiply_to_the_match_weight(pairs: pa.Table, trained_home: Path) -> None:
    import math

    from taxgate.match.train import load_model

    prior = load_model(trained_home)["probability_two_random_records_match"]
    row = pairs.slice(0, 1).to_pylist()[0]
    total = math.log2(prior / (1 - prior)) + sum(math.log2(row[f"bf_{c}"]) for c in COMPARISONS)
    assert total == pytest.approx(row["match_weight"], abs=1e-6)


def _best_tins(pairs: pa.Table) -> dict[str, str]:
    best: dict[str, tuple[float, str]] = {}
    for sid, tin, w in zip(
        *(pairs.column(c).to_pylist() for c in ("subject_id", "tin", "match_weight")), strict=True
    ):
        if sid not in best or w > best[sid][0]:
            best[sid] = (w, tin)
    return {sid: tin for sid, (_w, tin) in best.items()}


def test_true_taxpayer_found_and_ranked_first_when_clean(pairs: pa.Table, truth: pa.Table) -> None:
    found = set(
        zip(pairs.column("subject_id").to_pylist(), pairs.column("tin").to_pylist(), strict=True)
    )
    best = _best_tins(pairs)
    present = [r for r in truth.to_pylist() if r["tin"] and r["expected_outcome"] != "REJECTED"]
    hits = [r for r in present if (r["subject_id"], r["tin"]) in found]
    assert len(present) > 50
    assert len(hits) / len(present) >= MIN_FOUND_SHARE
    exact = [r for r in present if r["case"] == "exact"]
    first = [r for r in exact if best.get(r["subject_id"]) == r["tin"]]
    assert exact and len(first) / len(exact) >= MIN_EXACT_FIRST_SHARE


def test_blocking_comparison_counts_bounded(
    subjects_norm: pa.Table, trained_home: Path, pairs: pa.Table
) -> None:
    counts = comparison_counts(subjects_norm, trained_home)
    assert [c["rule"] for c in counts] == model.blocking_rule_labels()
    assert counts[-1]["cumulative"] == pairs.num_rows
    assert counts[-1]["cumulative"] <= MAX_PAIRS_PER_SUBJECT * subjects_norm.num_rows


def test_subjects_must_be_normalised(trained_home: Path) -> None:
    with pytest.raises(TaxgateError, match="lacks normalised column"):
        candidates(pa.table({"row": [1], "subject_id": ["S-1"]}), trained_home)
