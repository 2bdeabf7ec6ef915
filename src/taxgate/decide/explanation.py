"""The explanation kept with each decision: enough to replay why, without any compared values.

Per subject, the top taxpayers (their deciding pair) with every comparison's level and match
weight (log2 of its Bayes factor, which is 2**weight), plus the checks the rules applied; the
thresholds are those of the policy the decision names by SHA-256. Names, dates
and addresses are left out: the decision record keeps personal data to a minimum (AU-3(3));
`taxgate explain` can look the values up when an officer needs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide import jsonvec as jv
from taxgate.decide.contract import COMPARISONS
from taxgate.decide.evidence import level
from taxgate.decide.households import Households
from taxgate.decide.taxpayers import Taxpayers

EXPLAINED_TAXPAYERS = 3
"""How many of a subject's best taxpayers an explanation lists."""
WEIGHT_DECIMALS = 3
"""Per-comparison weights are kept to this many decimals: enough to replay, short to store."""


@dataclass(frozen=True)
class Checks:
    """Per subject with candidates: the outcome of each rule, for the explanation."""

    weight_gap: np.ndarray
    corroborated: np.ndarray
    unambiguous: np.ndarray
    relatives_distinguished: np.ndarray
    name_corroborated: np.ndarray
    tin_conflict: np.ndarray
    address_reviewable: np.ndarray
    name_reviewable: np.ndarray
    dob_contradicts: np.ndarray


def _field_weights(table: pa.Table, pairs: pa.Array) -> list[tuple[str, pa.Array]]:
    """Per comparison, the match weight of each shown pair: log2 of its Bayes factor, rounded."""
    out = []
    for c in COMPARISONS:
        factors = np.asarray(
            pc.fill_null(table.column(f"bf_{c}").take(pairs), np.nan).to_numpy(), np.float64
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append((c, jv.number(np.round(np.log2(factors), WEIGHT_DECIMALS))))
    return out


def explanations(
    table: pa.Table,
    taxpayers: Taxpayers,
    households: Households,
    checks: Checks,
) -> pa.Array:
    """One JSON document per subject row with candidates, in `taxpayers.rows` order."""
    rank = taxpayers.rank
    shown = np.flatnonzero(rank < EXPLAINED_TAXPAYERS)
    pairs = pa.array(taxpayers.decisive[shown], pa.int64())
    gammas = table.select([f"gamma_{c}" for c in COMPARISONS]).take(pairs)
    household = households.shares[shown]
    distinguished = pa.array(households.distinguished[shown], mask=~household)
    candidates = jv.obj(
        [
            ("rank", jv.number(rank[shown] + 1)),
            ("tin", jv.string(table.column("tin").take(pairs))),
            ("address_id", jv.string(table.column("address_id").take(pairs))),
            ("match_weight", jv.number(table.column("match_weight").take(pairs))),
            ("match_probability", jv.number(table.column("match_probability").take(pairs))),
            ("best_weight", jv.number(taxpayers.weight[shown])),
            ("address_corroborated", jv.boolean(taxpayers.corroborated[shown])),
            ("tin_exact", jv.boolean(taxpayers.tin_exact[shown])),
            ("household", jv.boolean(household)),
            ("distinguished", jv.boolean(distinguished)),
            ("levels", jv.obj([(c, jv.number(level(gammas, c))) for c in COMPARISONS])),
            ("weights", jv.obj(_field_weights(table, pairs))),
        ]
    )
    per_subject = np.bincount(taxpayers.subject_of[shown], minlength=len(taxpayers.rows))
    return jv.obj(
        [
            ("taxpayers", jv.number(np.bincount(taxpayers.subject_of))),
            ("candidates", jv.arrays(candidates, per_subject)),
            (
                "checks",
                jv.obj(
                    [
                        ("weight_gap", jv.number(checks.weight_gap)),
                        ("address_corroborated", jv.boolean(checks.corroborated)),
                        ("unambiguous", jv.boolean(checks.unambiguous)),
                        ("relatives_distinguished", jv.boolean(checks.relatives_distinguished)),
                        ("name_corroborated", jv.boolean(checks.name_corroborated)),
                        ("tin_conflict", jv.boolean(checks.tin_conflict)),
                        ("address_reviewable", jv.boolean(checks.address_reviewable)),
                        ("name_reviewable", jv.boolean(checks.name_reviewable)),
                        ("dob_contradicts", jv.boolean(checks.dob_contradicts)),
                    ]
                ),
            ),
        ]
    )


def empty_explanation() -> str:
    """The explanation of a subject that no taxpayer record was paired with."""
    document = {"taxpayers": 0, "candidates": [], "checks": {}}
    return json.dumps(document, allow_nan=False, separators=(",", ":"))
