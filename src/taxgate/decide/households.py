"""Relatives and namesakes look alike to the model: a field must tell them apart to confirm.

A second taxpayer at the best one's matched address (as filed, or by corroborating the requested
address as the best's record does: either filing may carry a keying error), or with its family
name in its ZIP code, must be told apart by a field that agrees with the best taxpayer only:
date of birth (exact), suffix (equal), or the full given name (exact, the same canonical tokens,
or the same name tokens in another order). The best taxpayer must agree on the field; the other
must not agree on any of its records (an empty value does not agree) and, for names, must not be
compatible either (one name's tokens within the other's, e.g. the same name plus a middle name)
nor have filed under the subject's given name anywhere (`given_filed_r`). Under the policy's
`relatives_level = "close"`, a close agreement of the best (a typo'd or nicknamed given name, a
birth date one edit off) also tells apart an other that disagrees outright (the model's else
level; a missing value is not a disagreement). A taxpayer whose given name agrees more closely
than the best's is never told apart: it is the likelier subject. Every such taxpayer is checked,
not only the runner-up: a third relative in the house is as confusable as the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide.contract import ELSE_LEVEL
from taxgate.decide.edits import bools, within_edits
from taxgate.decide.evidence import PairEvidence, equal, given_agrees, given_compatible, level
from taxgate.decide.taxpayers import Taxpayers, any_per
from taxgate.decide.tokens import Tokens, contained_either_way, same_sets
from taxgate.decide.written import Agreement
from taxgate.policy.model import DecisionRules


@dataclass(frozen=True)
class Households:
    """Per taxpayer: shares the best one's address or family+ZIP, and is told apart from it."""

    shares: np.ndarray
    distinguished: np.ndarray
    yields: np.ndarray

    def subjects_ok(self, taxpayers: Taxpayers) -> np.ndarray:
        """Per subject with candidates: every housemate or namesake is told apart."""
        bad = self.shares & ~self.distinguished
        return ~any_per(taxpayers.subject_of, bad, len(taxpayers.rows))

    def subjects_reviewable(self, taxpayers: Taxpayers) -> np.ndarray:
        """Per subject with candidates: every housemate not told apart yields to the best."""
        bad = self.shares & ~self.distinguished & ~self.yields
        return ~any_per(taxpayers.subject_of, bad, len(taxpayers.rows))


@dataclass(frozen=True)
class Sharing:
    """Who shares the best taxpayer's house or its family name in its ZIP code."""

    anchor: np.ndarray  # per pair: the deciding pair of its subject's best taxpayer
    other: np.ndarray  # per pair: of a taxpayer other than the subject's best
    same_address: np.ndarray  # per pair: at the best's matched address
    shares: np.ndarray  # per taxpayer: a housemate or a namesake of the best

    @classmethod
    def of(cls, table: pa.Table, evidence: PairEvidence, taxpayers: Taxpayers) -> Sharing:
        subject = np.searchsorted(taxpayers.rows, table.column("row").to_numpy())
        top = taxpayers.top[subject]
        anchor = taxpayers.decisive[top]
        other = taxpayers.of_pair != top

        def same(column: str) -> np.ndarray:
            values = table.column(column)
            return equal(values, values.take(pa.array(anchor, pa.int64())))

        # The best's family name, or the subject's as the requester wrote it: the best's filing
        # may carry a typo its namesake's does not ("KILLIAMS" for "WILLIAMS").
        requested_family = equal(table.column("family_r"), table.column("family_l"))
        family = same("family_r") | requested_family | evidence.written.family_typo
        # The best's ZIP, or the one the requester wrote: either filing may carry a mistyped ZIP.
        same_zip = same("zip5_r") | equal(table.column("zip5_r"), table.column("zip5_l"))
        # At the best's address as filed, or at the requested address by the standard that
        # corroborates the best's: a typo in either filing's street or ZIP must not hide a
        # housemate ("9600 ICHESTNUT PL" and "9600 CHESTNUT PL" in a mistyped ZIP are one house).
        same_address = (same("house_number_r") & same("street_name_r") & same_zip) | (
            evidence.corroborated & evidence.corroborated[anchor]
        )
        same_family = family & same_zip
        shares = any_per(taxpayers.of_pair, other & (same_address | same_family), taxpayers.count)
        return cls(anchor=anchor, other=other, same_address=same_address, shares=shares)

    def names_read(self, taxpayers: Taxpayers, margin: float) -> np.ndarray:
        """The pairs whose names the rules read: every pair of the best taxpayer, the deciding
        pair of every taxpayer within `margin` match-weight points of it, and every pair of a
        taxpayer who shares the best's house or family."""
        best = np.zeros(taxpayers.count, dtype=bool)
        best[taxpayers.top] = True
        read = self.shares[taxpayers.of_pair] | best[taxpayers.of_pair]
        best_weight = taxpayers.weight[taxpayers.top][taxpayers.subject_of]
        read[taxpayers.decisive[taxpayers.weight >= best_weight - margin]] = True
        return np.flatnonzero(read)


def _initials_resolved(given: np.ndarray, taxpayers: Taxpayers, count: int) -> np.ndarray:
    """The given-name class of each pair as a housemate's: a PARTIAL record (an initial, the
    beginning of a name) of a taxpayer whose other records carry another given name in full,
    and none the subject's, is that other name ("J" beside "JESSICA" is Jessica, not Jeremy)."""
    written = any_per(taxpayers.of_pair, given == Agreement.WRITTEN, count)
    other = any_per(taxpayers.of_pair, given == Agreement.DIFFERENT, count)
    resolved = (given == Agreement.PARTIAL) & other[taxpayers.of_pair] & ~written[taxpayers.of_pair]
    return np.where(resolved, np.int8(Agreement.DIFFERENT), given)


def households(
    table: pa.Table,
    evidence: PairEvidence,
    taxpayers: Taxpayers,
    sharing: Sharing,
    rules: DecisionRules,
    close: int | None = None,
) -> Households:
    count = taxpayers.count
    anchor = pa.array(sharing.anchor, pa.int64())
    other, same_address, shares = sharing.other, sharing.same_address, sharing.shares

    # The best taxpayer must agree strictly; another is ruled out only if it cannot be the
    # subject's name at all (a namesake with an extra middle name still could).
    deciding = taxpayers.decisive[taxpayers.top]
    given_best = evidence.given_exact.copy()
    given_best[deciding] |= given_agrees(table, deciding)
    given_other = evidence.given_exact.copy()
    others = np.flatnonzero(shares[taxpayers.of_pair])
    given_other[others] |= given_compatible(table, others)
    # A housemate's given name written differently, or only an initial, could be the subject's;
    # so could one that is the best's own name mistyped on the housemate's filing ("JXNNIFER").
    housemate_given = _initials_resolved(evidence.names.given, taxpayers, count)
    given_other |= (housemate_given == Agreement.WRITTEN) | (housemate_given == Agreement.PARTIAL)
    # So could one who filed under the subject's given name in another year or elsewhere: the
    # record carries the spelling filed most often, not every name the housemate used.
    given_other |= bools(table.column("given_filed_r"))
    given_r = table.column("given_r").combine_chunks()
    best_given = given_r.take(anchor)
    given_other |= bools(pc.equal(given_r, best_given)) | within_edits(
        given_r,
        best_given,
        rules.name_max_edits,
        rules.name_min_length,
        other & shares[taxpayers.of_pair],
    )

    given_level, dob_level = level(table, "given"), level(table, "dob")
    dob_missing = pc.is_null(table.column("dob_r")).to_numpy(zero_copy_only=False)
    best_named = (evidence.names.given == Agreement.WRITTEN)[sharing.anchor]
    fields = [
        # A birth date the other's filing lacks could be the subject's (twins share one) when
        # the best bears the subject's given name only in part: then nothing else tells them.
        (evidence.dob_agrees, evidence.dob_agrees | (dob_missing & ~best_named)),
        (evidence.suffix_agrees, evidence.suffix_agrees),
        (given_best, given_other),
    ]
    if close is not None:
        written = evidence.names
        named_at_all = (written.given == Agreement.WRITTEN) | (written.given == Agreement.PARTIAL)
        fields += [
            (dob_level >= close, dob_level != ELSE_LEVEL),
            # The given name written differently, or only partly the subject's (an initial, a
            # short name mistyped), against another given name altogether.
            (named_at_all, given_other | (housemate_given != Agreement.DIFFERENT)),
            # The same family against another family: a housemate of another surname.
            (written.family == Agreement.WRITTEN, written.family != Agreement.DIFFERENT),
            # The requester's TIN, against a housemate whose name is not the subject's as
            # written: a TIN may be mistyped or another person's, so it never settles namesakes.
            (
                evidence.tin_exact,
                (level(table, "tin") != ELSE_LEVEL)
                | given_other
                | (housemate_given != Agreement.DIFFERENT),
            ),
        ]
    best = deciding[taxpayers.subject_of]
    distinguished = np.zeros(count, dtype=bool)
    for agrees, could_be in fields:
        distinguished |= agrees[best] & ~any_per(taxpayers.of_pair, could_be, count)
    # Never against the name: another who bears the subject's given name more closely than the
    # best, or fully when the best does not, is the likelier subject whatever else agrees (a
    # twin with the same birthday).
    given_strict = evidence.given_exact.copy()
    given_strict[others] |= given_agrees(table, others)
    closer = other & ((given_level > given_level[anchor]) | (given_strict & ~given_best[anchor]))
    named_better = any_per(taxpayers.of_pair, closer, count)
    # For a person to settle: the best bears the subject's full given name and the other only
    # part of it ("LUIS" beside "LUIS MANUEL"), nothing else telling them apart.
    # (not an initial or a misspelling of it: that is the same name, for nobody to settle).
    tokens_l, tokens_r = (
        Tokens.of(table.column("given_tokens_l")),
        Tokens.of(table.column("given_tokens_r")),
    )
    part = contained_either_way(tokens_l, tokens_r, table.num_rows) & ~same_sets(
        tokens_l, tokens_r, table.num_rows
    )
    weaker = other & given_best[anchor] & ~given_strict & part
    yields = ~any_per(taxpayers.of_pair, ~weaker, count)
    # A suffix in the house (JR, SR, II) means two people of one name live there; a request
    # without one cannot say which of them it asks about.
    suffixed = (
        other & same_address & pc.is_valid(table.column("suffix_r")).to_numpy(zero_copy_only=False)
    )
    suffix_asked = pc.is_valid(table.column("suffix_l")).to_numpy(zero_copy_only=False)
    implied = any_per(taxpayers.of_pair, suffixed & ~suffix_asked, count)
    implied &= ~evidence.dob_agrees[deciding[taxpayers.subject_of]]  # the birth date settles it
    return Households(
        shares=shares | implied,
        distinguished=distinguished & ~named_better & ~implied,
        yields=yields & ~named_better & ~implied,
    )
