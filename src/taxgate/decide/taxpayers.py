"""Pairs grouped into taxpayers per subject and ranked, with one numpy sort instead of loops.

A taxpayer (one tin) may have several address records paired with one subject. It ranks by
its best pair; it is decided on its best pair that corroborates the address, so a stale
address the taxpayer really filed from counts, and an uncorroborated pair never confirms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide.evidence import PairEvidence


def tin_codes(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """TINs (9 digits, checked by the contract) as integers that sort like them."""
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(), dtype=np.int64)


def any_per(groups: np.ndarray, flags: np.ndarray, count: int) -> np.ndarray:
    """For each of `count` groups: whether any member's flag is set."""
    return np.bincount(groups, weights=flags.astype(np.float64), minlength=count) > 0


@dataclass(frozen=True)
class Taxpayers:
    """One entry per (subject row, tin), ordered by row, then best weight descending, then tin.

    `top[k]` and `runner[k]` (-1 if none) index the best and second taxpayer of the k-th
    subject row that has candidates (`rows[k]`); `subject_of[g]` is k for taxpayer g.
    """

    row: np.ndarray
    best: np.ndarray
    decisive: np.ndarray
    weight: np.ndarray
    corroborated: np.ndarray
    tin_exact: np.ndarray
    of_pair: np.ndarray
    rows: np.ndarray
    top: np.ndarray
    runner: np.ndarray
    subject_of: np.ndarray

    @property
    def count(self) -> int:
        return len(self.row)

    @property
    def rank(self) -> np.ndarray:
        """0 for each subject's best taxpayer, 1 for the runner-up, and so on (computed anew)."""
        return np.arange(self.count) - self.top[self.subject_of]

    @classmethod
    def of(cls, table: pa.Table, evidence: PairEvidence) -> Taxpayers:
        n = table.num_rows
        row = table.column("row").to_numpy()
        weight = np.asarray(table.column("match_weight").to_numpy(), dtype=np.float64)
        tin = tin_codes(table.column("tin"))
        # One sort of the pairs by subject, best weight first, then tin, so equal weights rank
        # the same whatever the table's order. A taxpayer's first pair in this order is its
        # best, and the order in which taxpayers first appear is their rank in the subject.
        order = np.lexsort((tin, -weight, row))
        _, group = np.unique(row * (int(tin.max()) + 1) + tin, return_inverse=True)
        group = group.reshape(-1)
        groups = int(group.max()) + 1
        in_order = group[order]
        backwards = np.arange(n - 1, -1, -1)
        first = np.empty(groups, dtype=np.int64)
        first[in_order[backwards]] = backwards  # the last write, the earliest position, wins
        corroborated_at = backwards[evidence.corroborated[order][backwards]]
        first_corroborated = np.full(groups, n, dtype=np.int64)
        first_corroborated[in_order[corroborated_at]] = corroborated_at

        ranked = np.argsort(first, kind="stable")
        renumber = np.empty(groups, dtype=np.int64)
        renumber[ranked] = np.arange(groups)
        best = order[first[ranked]]
        corroborated = first_corroborated[ranked] < n
        decisive = np.where(
            corroborated, order[np.minimum(first_corroborated[ranked], n - 1)], best
        )
        of_pair = renumber[group]
        g_row = row[best]
        new_subject = np.ones(groups, dtype=bool)
        new_subject[1:] = g_row[1:] != g_row[:-1]
        top = np.flatnonzero(new_subject)
        after = top + 1
        has_runner = after < groups
        has_runner[has_runner] = ~new_subject[after[has_runner]]
        return cls(
            row=g_row,
            best=best,
            decisive=decisive,
            weight=weight[best],
            corroborated=corroborated,
            tin_exact=any_per(of_pair, evidence.tin_exact, groups),
            of_pair=of_pair,
            rows=g_row[top],
            top=top,
            runner=np.where(has_runner, after, -1),
            subject_of=np.cumsum(new_subject) - 1,
        )
