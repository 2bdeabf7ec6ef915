"""Relatives and namesakes look alike to the model: a field must tell them apart to confirm.

A second taxpayer at the best one's matched address, or with its family name in its ZIP code,
must be told apart by a field that agrees with the best taxpayer only: date of birth (exact),
suffix (equal), or the full given name (exact, the same canonical tokens, or the same name
tokens in another order). The best taxpayer must agree on the field; the other must not agree
on any of its records (an empty value does not agree) and, for names, must not be compatible
either (one name's tokens within the other's, e.g. the same name plus a middle name). Every
such taxpayer is checked, not only the runner-up: a third relative in the house is as
confusable as the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from taxgate.decide.evidence import PairEvidence, equal, given_agrees, given_compatible
from taxgate.decide.taxpayers import Taxpayers, any_per


@dataclass(frozen=True)
class Households:
    """Per taxpayer: shares the best one's address or family+ZIP, and is told apart from it."""

    shares: np.ndarray
    distinguished: np.ndarray

    def subjects_ok(self, taxpayers: Taxpayers) -> np.ndarray:
        """Per subject with candidates: every housemate or namesake is told apart."""
        bad = self.shares & ~self.distinguished
        return ~any_per(taxpayers.subject_of, bad, len(taxpayers.rows))


def households(table: pa.Table, evidence: PairEvidence, taxpayers: Taxpayers) -> Households:
    count = taxpayers.count
    subject = np.searchsorted(taxpayers.rows, table.column("row").to_numpy())
    top = taxpayers.top[subject]
    anchor = pa.array(taxpayers.decisive[top], pa.int64())

    def same(column: str) -> np.ndarray:
        values = table.column(column)
        return equal(values, values.take(anchor))

    same_zip = same("zip5_r")
    same_address = same("house_number_r") & same("street_name_r") & same_zip
    same_family = same("family_r") & same_zip
    other = taxpayers.of_pair != top
    shares = any_per(taxpayers.of_pair, other & (same_address | same_family), count)

    # The best taxpayer must agree strictly; another is ruled out only if it cannot be the
    # subject's name at all (a namesake with an extra middle name still could).
    deciding = taxpayers.decisive[taxpayers.top]
    given_best = evidence.given_exact.copy()
    given_best[deciding] |= given_agrees(table, deciding)
    given_other = evidence.given_exact.copy()
    others = np.flatnonzero(shares[taxpayers.of_pair])
    given_other[others] |= given_compatible(table, others)

    fields = (
        (evidence.dob_agrees, evidence.dob_agrees),
        (evidence.suffix_agrees, evidence.suffix_agrees),
        (given_best, given_other),
    )
    best = deciding[taxpayers.subject_of]
    distinguished = np.zeros(count, dtype=bool)
    for agrees, could_be in fields:
        distinguished |= agrees[best] & ~any_per(taxpayers.of_pair, could_be, count)
    return Households(shares=shares, distinguished=distinguished)
