from __future__ import annotations

import json

import pyarrow as pa
from rich.console import Console

from taxgate.decide.explain import explanation_table
from taxgate.decide.rules import decide
from tests.decide.pairs import MODEL_SHA, pair, person, table

A, B = "111111111", "222222222"
WIDE = 200  # columns: every cell fits, so the text can be searched


def render(decision: dict) -> str:
    console = Console(width=WIDE, record=True, color_system=None)
    console.print(explanation_table(decision))
    return console.export_text()


def test_table_shows_each_candidate_and_each_field_level_and_weight(policy) -> None:
    subject = person(given="JOSE")
    pairs = [
        pair(subject, person(), weight=30.0, tin=A),
        pair(subject, person(given="JUAN"), weight=20.0, tin=B, address_id=2),
    ]
    decision = decide(table(pairs), [1], policy, MODEL_SHA).to_pylist()[0]
    text = render(decision)
    assert f"#1 {A}" in text and f"#2 {B}" in text
    given_line = next(line for line in text.splitlines() if line.lstrip("│ ").startswith("given"))
    assert "8  +5.00" in given_line and "0  -3.00" in given_line
    assert "CONFIRMED" in text and MODEL_SHA[:12] in text


def test_table_of_a_subject_without_candidates(policy) -> None:
    decision = decide(table([]), [1], policy, MODEL_SHA).to_pylist()[0]
    text = render(decision)
    assert "no candidate taxpayer" in text and "NO_CANDIDATES" in text


def test_explanation_json_survives_awkward_identifiers(policy) -> None:
    pairs = table([pair(person(), person(), weight=30.0, tin=A)])
    odd_id = 'addr "7"\\\n'
    pairs = pairs.set_column(
        pairs.schema.get_field_index("address_id"), "address_id", pa.array([odd_id])
    )
    decision = decide(pairs, [1], policy, MODEL_SHA).to_pylist()[0]
    assert json.loads(decision["explanation"])["candidates"][0]["address_id"] == odd_id
    assert decision["address_id"] == odd_id
