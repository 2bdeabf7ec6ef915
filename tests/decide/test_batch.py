from __future__ import annotations

import random
from datetime import date

from taxgate.decide.rules import decide
from tests.decide.pairs import MODEL_SHA, pair, person, table
from tests.decide.test_rules import jr_sr, twins, two_strangers

A, B = "111111111", "222222222"
SEED = 7
COPIES = 4  # of each scenario, so a batch mixes many subjects' pairs
COMPARED = ("outcome", "tin", "address_id", "reasons", "runner_up_tin", "runner_up_weight")


def scenarios() -> list[list[dict]]:
    stale = [
        pair(person(), person(), weight=30.0, tin=A, address_id=1),
        pair(person(), person(house_number="2", zip5="73301"), weight=20.0, tin=A, address_id=2),
    ]
    tin_only = [pair(person(tin=A, house_number="9"), person(), weight=30.0, tin=A)]
    return [
        twins(person(given="JOSE")),
        twins(person(given="JSOE")),
        jr_sr(person(given="JOHN", family="SMITH", suffix="JR", dob=None)),
        jr_sr(person(given="JOHN", family="SMITH", dob=date(1990, 6, 1))),
        jr_sr(person(given="JOHN", family="SMITH", dob=None)),
        two_strangers(5.0),
        two_strangers(5.5),
        two_strangers(0.0),
        stale,
        tin_only,
        [pair(person(), person(), weight=30.0, tin=B, probability=0.9)],
    ]


def test_a_batch_decides_each_subject_as_if_it_were_alone(policy) -> None:
    alone, mixed = {}, []
    row = 0
    for _ in range(COPIES):
        for scenario in scenarios():
            row += 1
            pairs = [{**p, "row": row, "subject_id": f"S-{row}"} for p in scenario]
            single = decide(table(pairs), [row], policy, MODEL_SHA).to_pylist()[0]
            alone[row] = {k: single[k] for k in COMPARED}
            mixed += pairs
    random.Random(SEED).shuffle(mixed)
    gated = list(range(1, row + 2))  # one more subject, without candidates
    decisions = decide(table(mixed), gated, policy, MODEL_SHA).to_pylist()
    assert [d["row"] for d in decisions] == gated
    for d in decisions[:-1]:
        assert {k: d[k] for k in COMPARED} == alone[d["row"]], d["row"]
    assert decisions[-1]["reasons"] == "NO_CANDIDATES"
    assert {d["outcome"] for d in decisions} == {"CONFIRMED", "REVIEW", "NOT_CONFIRMED"}
