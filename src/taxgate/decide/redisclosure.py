"""Never disclose one taxpayer twice within the re-request window, however the request spelled them.

The gate's re-request check sees only what the requester sent (name with date of birth or
TIN), so dropping the date of birth or adding junk to a name evades it. This check keys on the
taxpayer the decision matched: a CONFIRMED or REVIEW decision whose taxpayer is already
claimed (disclosed or confirmed in a batch received within the window, or confirmed for an
earlier row of this batch) becomes NOT_CONFIRMED with ALREADY_DISCLOSED. The response then
says NOT_CONFIRMED like any other, so the requester learns nothing about the taxpayer.
"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa

from taxgate.decide.outcomes import Decision, DecisionReason
from taxgate.formats.codes import join_codes, split_codes

_DISCLOSABLE = {Decision.CONFIRMED.value, Decision.REVIEW.value}


def matched_taxpayers(decided: pa.Table) -> set[str]:
    """The taxpayers (tin) of the decisions that could lead to a disclosure."""
    return {
        tin
        for outcome, tin in zip(
            decided.column("outcome").to_pylist(), decided.column("tin").to_pylist(), strict=True
        )
        if tin and outcome in _DISCLOSABLE
    }


def withhold_redisclosures(decided: pa.Table, claimed: Collection[str]) -> pa.Table:
    """`decided` (DECISION_SCHEMA) with every re-disclosure turned NOT_CONFIRMED.

    `claimed` are the taxpayers already disclosed or confirmed elsewhere within the window.
    Rows are taken in row order; the first CONFIRMED row of a taxpayer claims it for the rest.
    """
    taken = set(claimed)
    order = sorted(range(decided.num_rows), key=decided.column("row").to_pylist().__getitem__)
    outcomes = decided.column("outcome").to_pylist()
    reasons = decided.column("reasons").to_pylist()
    tins = decided.column("tin").to_pylist()
    changed = False
    for i in order:
        tin, outcome = tins[i], outcomes[i]
        if not tin or outcome not in _DISCLOSABLE:
            continue
        if tin in taken:
            outcomes[i] = Decision.NOT_CONFIRMED.value
            codes = [*split_codes(reasons[i]), DecisionReason.ALREADY_DISCLOSED.value]
            reasons[i] = join_codes(sorted(set(codes)))
            changed = True
        elif outcome == Decision.CONFIRMED.value:
            taken.add(tin)
    if not changed:
        return decided
    schema = decided.schema
    decided = decided.set_column(
        schema.get_field_index("outcome"), schema.field("outcome"), pa.array(outcomes, pa.string())
    )
    return decided.set_column(
        schema.get_field_index("reasons"), schema.field("reasons"), pa.array(reasons, pa.string())
    )
