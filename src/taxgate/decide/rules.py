"""The decision rules of docs/matching.md section 4: confirm only what is certain.

CONFIRMED needs all of: the best taxpayer's deciding pair reaches `decision.confirm_threshold`;
it corroborates the requested address; the names are the subject's as written
(taxgate.decide.written) and no birth date contradicts them; no other taxpayer comes within
`decision.ambiguity_margin` match-weight points of it (a gap exactly at the margin is within
it); every housemate or namesake is told apart (taxgate.decide.households); no other taxpayer
holds the TIN the requester gave. What fails only in ways a person could settle (a name or an
address off in one part, a twin of another name within the margin) is REVIEW from
`decision.review_threshold` up. Everything else is NOT_CONFIRMED, with every reason that
applied. A TIN match never stands in for an address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide.contract import (
    DOB_EXACT,
    RELATIVE_LEVELS_FOR,
    checked_candidates,
    subject_rows,
)
from taxgate.decide.edits import both_present
from taxgate.decide.evidence import PairEvidence, equal, level
from taxgate.decide.explanation import Checks, empty_explanation, explanations
from taxgate.decide.households import Households, Sharing, households
from taxgate.decide.outcomes import DECISION_SCHEMA, Decision, DecisionReason
from taxgate.decide.taxpayers import Taxpayers, any_per
from taxgate.decide.tokens import Tokens, contained_either_way, same_sets
from taxgate.decide.written import Agreement
from taxgate.errors import TaxgateError
from taxgate.formats.codes import REASON_SEPARATOR
from taxgate.policy.model import Policy

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Rows = Sequence[int] | pa.Array | pa.ChunkedArray | pa.Table


def decide(
    candidates: pa.Table, subjects_norm_rows: Rows, policy: Policy, model_sha256: str
) -> pa.Table:
    """One decision per subject row that passed the gate (DECISION_SCHEMA), ordered by row.

    `subjects_norm_rows` are the 1-based batch rows that passed the gate, or the normalised
    subjects table itself (its `row` and `subject_id` columns are used). A subject with no
    candidate pair is NOT_CONFIRMED (NO_CANDIDATES).
    """
    if not _SHA256.match(model_sha256 or ""):
        raise TaxgateError(
            "the model SHA-256 is not 64 lower-case hex digits",
            "Pass the SHA-256 of the model file that scored the candidate pairs.",
        )
    rows, ids = subject_rows(subjects_norm_rows)
    table = checked_candidates(candidates, rows)
    n = len(rows)
    if table.num_rows:
        found = _decide_found(table, policy)
        at = np.searchsorted(rows, found.column("row").to_numpy())
    else:
        found, at = _nothing_found(), np.zeros(0, dtype=np.int64)
    # Scatter the subjects with candidates into all rows; the others take the null index.
    index = np.full(n, -1, dtype=np.int64)
    index[at] = np.arange(len(at))
    pick = pa.array(index, mask=index < 0)
    missing = index < 0
    columns = {name: found.column(name).take(pick) for name in found.column_names}
    columns["outcome"] = _fill(columns["outcome"], missing, Decision.NOT_CONFIRMED.value)
    columns["reasons"] = _fill(columns["reasons"], missing, DecisionReason.NO_CANDIDATES.value)
    columns["explanation"] = _fill(columns["explanation"], missing, empty_explanation())
    if ids is not None:
        columns["subject_id"] = pa.array(ids, pa.string())
    columns["row"] = pa.array(rows, pa.int64())
    identity = {
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
        "model_sha256": model_sha256,
    }
    for name, value in identity.items():
        columns[name] = pa.array([value] * n, pa.string())
    return pa.Table.from_arrays(
        [columns[f.name].cast(f.type) for f in DECISION_SCHEMA], schema=DECISION_SCHEMA
    )


def _fill(values: pa.Array, where: np.ndarray, value: str) -> pa.Array:
    return pc.if_else(pa.array(where), pa.scalar(value, values.type), values)


def _nothing_found() -> pa.Table:
    return pa.Table.from_pylist([], schema=DECISION_SCHEMA)


def _decide_found(table: pa.Table, policy: Policy) -> pa.Table:
    """The decision columns for the subjects that have candidates, in `Taxpayers.rows` order."""
    evidence = PairEvidence.of(table, policy.decision)
    taxpayers = Taxpayers.of(table, evidence)
    sharing = Sharing.of(table, evidence, taxpayers)
    read = sharing.names_read(taxpayers, policy.decision.ambiguity_margin)
    evidence = evidence.with_names(table, policy.decision, read)
    house = households(
        table,
        evidence,
        taxpayers,
        sharing,
        policy.decision,
        RELATIVE_LEVELS_FOR[policy.decision.relatives_level],
    )
    outcome, reasons, checks = _judge(table, evidence, taxpayers, house, policy)
    decided = np.isin(outcome, [Decision.CONFIRMED.value, Decision.REVIEW.value])
    pair_at = taxpayers.decisive[taxpayers.top]
    pair = pa.array(pair_at, pa.int64())
    runner = taxpayers.runner
    has_runner = runner >= 0
    runner_pair = pa.array(taxpayers.best[np.maximum(runner, 0)], mask=~has_runner)
    first_pair = pa.array(taxpayers.best[taxpayers.top], pa.int64())
    return pa.table(
        {
            "row": pa.array(taxpayers.rows, pa.int64()),
            "subject_id": table.column("subject_id").take(first_pair),
            "outcome": pa.array(outcome, pa.string()),
            "tin": table.column("tin").take(pa.array(pair_at, mask=~decided)),
            "address_id": pc.cast(
                table.column("address_id").take(pa.array(pair_at, mask=~decided)), pa.string()
            ),
            "match_probability": table.column("match_probability").take(pair),
            "match_weight": table.column("match_weight").take(pair),
            "runner_up_tin": table.column("tin").take(runner_pair),
            "runner_up_weight": pa.array(taxpayers.weight[np.maximum(runner, 0)], mask=~has_runner),
            "reasons": reasons,
            "explanation": explanations(table, taxpayers, house, checks),
        }
    )


def _completed(classes: np.ndarray, taxpayers: Taxpayers, pair: np.ndarray) -> np.ndarray:
    """Each subject's class at its deciding pair, raised to the best the same taxpayer's other
    address records give when the deciding one is at least PARTIAL: an initial or a shortened
    name on the corroborating filing ("C" for "CORNELIO") is completed by another of the
    taxpayer's filings. Never from DIFFERENT: another name there is not made good elsewhere."""
    best = np.zeros(taxpayers.count, dtype=classes.dtype)
    np.maximum.at(best, taxpayers.of_pair, classes)
    at = classes[pair]
    return np.where(at >= Agreement.PARTIAL, np.maximum(at, best[taxpayers.top]), at)


def _abridged(table: pa.Table, pair: np.ndarray) -> np.ndarray:
    """Per deciding pair: both the given and the family names lack a part the other side has
    (either way, straight or with given and family swapped): "JOSE LUIS MARTINEZ ALMONTE"
    asked, "JOSE MARTINEZ" filed. Each alone is a name written short; both at once is as much
    another person of the household ("JOSE EMILIO LOPEZ" for "JOSE LOPEZ CABALLERO";
    20M people, seed 29, and 1M, seed 53): for a person to judge unless an identifier settles it."""
    take = pa.array(pair, pa.int64())
    g_l, g_r, f_l, f_r = (
        table.column(c).take(take) for c in ("given_l", "given_r", "family_l", "family_r")
    )
    n = len(pair)

    def short(left: pa.Array, right: pa.Array) -> np.ndarray:
        a, b = Tokens.of(left), Tokens.of(right)
        shorter = contained_either_way(a, b, n) & ~same_sets(a, b, n)
        return shorter & both_present(left, right)

    return (short(g_l, g_r) & short(f_l, f_r)) | (short(g_l, f_r) & short(f_l, g_r))


def _names(
    table: pa.Table, evidence: PairEvidence, taxpayers: Taxpayers, pair: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each subject's deciding pair: (name corroborated, reviewable, identified beyond
    doubt, birth date contradicts).

    Corroborated: given and family names the same as written (typos, spacing, nicknames and
    order aside) and no birth date that says otherwise; or a name only partly the same (an
    initial, a shortened or short mistyped name) with a second identifier exact (the birth
    date, or the TIN the requester gave). Reviewable, for a person to settle: one name replaced
    (a married name, a name used on one return only) with such an identifier, one name a few
    edits off (`review_name_max_edits`) with the other as written, a partial name without an
    identifier, or a birth date in the same year only. A birth date that contradicts the
    filing's is evidence against that no other field outweighs. Identified beyond doubt: both
    names the same as written and the birth date or the TIN exact.
    """
    written = evidence.names
    g, f = _completed(written.given, taxpayers, pair), _completed(written.family, taxpayers, pair)
    d = written.dob[pair]
    identified = (level(table, "dob")[pair] == DOB_EXACT) | evidence.tin_exact[pair]
    agrees, partial = Agreement.WRITTEN, Agreement.PARTIAL
    missing, different = Agreement.MISSING, Agreement.DIFFERENT
    contradicts = d == different
    given_close, family_close = (g == agrees) | (g == partial), (f == agrees) | (f == partial)
    named = (
        (g == agrees) & (f == agrees) & ((d == agrees) | (d == missing)) & ~_abridged(table, pair)
    ) | (given_close & family_close & identified)
    # A name a few edits further off than a typo, the other as written: for a person to judge.
    near = ((g == agrees) & written.family_near[pair]) | (written.given_near[pair] & (f == agrees))
    reviewable = (
        named
        | near
        | (
            ((g == agrees) & (f == different) & identified)
            | ((g == different) & (f == agrees) & identified)
            | (given_close & family_close & (d == missing))
            | (given_close & family_close & (d == partial))
        )
    )
    strong = (g == agrees) & (f == agrees) & identified
    return named & ~contradicts, reviewable & ~contradicts, strong & ~contradicts, contradicts


def _namesakes_known(
    table: pa.Table, pair: np.ndarray, evidence: PairEvidence, taxpayers: Taxpayers
) -> np.ndarray:
    """For each subject's deciding pair: no namesake could be the subject, or the birth date
    settles it. A namesake is another taxpayer of the record's given and family name in its
    ZIP anywhere in the master (`namesakes_r`), counted at every record of the best taxpayer
    that corroborates the requested address (those in the requested ZIP, if any are), not only
    the deciding one: one return with a mistyped ZIP ("32902" for "32901") makes a record of
    its own, whose ZIP has no namesake while the other's has several (20M people, seed 29). Or
    the one a suffix on the record implies when the request has none ("MICHAEL GARCIA SR"
    implies a junior of the same name)."""
    per_pair = np.asarray(pc.fill_null(table.column("namesakes_r"), 0).to_numpy(), dtype=np.int64)
    subject = taxpayers.subject_of[taxpayers.of_pair]
    at_address = evidence.corroborated & (taxpayers.of_pair == taxpayers.top[subject])
    # Where a record carries the ZIP the requester wrote, that ZIP is the one asked about: a
    # mistyped ZIP on another return may be a real ZIP nearby, with namesakes of its own.
    asked = at_address & equal(table.column("zip5_r"), table.column("zip5_l"))
    subjects = len(taxpayers.top)
    counted = at_address & (asked | ~any_per(subject, asked, subjects)[subject])
    most = np.full(subjects, -1, dtype=np.int64)  # -1: no record counted (never confirmable)
    np.maximum.at(most, subject[counted], per_pair[counted])
    namesakes = np.where(most >= 0, most, per_pair[pair])
    suffix_l = table.column("suffix_l").take(pa.array(pair, pa.int64()))
    suffix_r = table.column("suffix_r").take(pa.array(pair, pa.int64()))
    implied = np.asarray(
        pc.and_(pc.is_null(suffix_l), pc.is_valid(suffix_r)).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    dob_exact = level(table, "dob")[pair] == DOB_EXACT
    return ((namesakes == 0) & ~implied) | dob_exact


def _judge(
    table: pa.Table,
    evidence: PairEvidence,
    taxpayers: Taxpayers,
    house: Households,
    policy: Policy,
) -> tuple[np.ndarray, pa.Array, Checks]:
    rules = policy.decision
    top = taxpayers.top
    pair = taxpayers.decisive[top]
    probability = np.asarray(table.column("match_probability").to_numpy(), dtype=np.float64)[pair]
    weight = np.asarray(table.column("match_weight").to_numpy(), dtype=np.float64)[pair]
    has_runner = taxpayers.runner >= 0
    runner_weight = np.where(has_runner, taxpayers.weight[np.maximum(taxpayers.runner, 0)], 0.0)
    gap = np.where(has_runner, weight - runner_weight, np.inf)

    named, name_reviewable, identified, dob_contradicts = _names(table, evidence, taxpayers, pair)
    # A house number within the tolerance is the same address only for a subject identified
    # beyond doubt by name and birth date; the household guard below still applies. Never on
    # the strength of a TIN: a TIN never stands in for any part of an address.
    dob_exact = level(table, "dob")[pair] == DOB_EXACT
    corroborated = taxpayers.corroborated[top] | (
        evidence.house_near[pair] & identified & dob_exact
    )
    near = evidence.reviewable[pair]
    unambiguous = gap > rules.ambiguity_margin
    namesakes_known = _namesakes_known(table, pair, evidence, taxpayers)
    distinguished = house.subjects_ok(taxpayers) & namesakes_known
    reviewable_house = house.subjects_reviewable(taxpayers) & namesakes_known
    not_top = np.ones(taxpayers.count, dtype=bool)
    not_top[top] = False
    conflict = any_per(taxpayers.subject_of, taxpayers.tin_exact & not_top, len(top))
    # Within the margin but bearing another given name (a twin of the same birthday, say),
    # while the best bears the subject's: a person can settle that, the weights cannot.
    given = evidence.names.given[taxpayers.decisive]
    close = taxpayers.weight >= taxpayers.weight[top][taxpayers.subject_of] - rules.ambiguity_margin
    close[top] = False
    named_apart = ~any_per(taxpayers.subject_of, close & (given != Agreement.DIFFERENT), len(top))
    named_apart &= given[top] == Agreement.WRITTEN
    settled = (unambiguous | named_apart) & ~conflict & ~dob_contradicts
    # A twin within the margin settles only for REVIEW; confirming needs the margin itself.
    confirmable = settled & unambiguous & distinguished & corroborated & named
    confirm = confirmable & (probability >= rules.confirm_threshold)
    review = (
        ~confirm
        & settled
        & (distinguished | reviewable_house)
        & (corroborated | near)
        & name_reviewable
        & (probability >= rules.review_threshold)
    )

    outcome = np.full(len(top), Decision.NOT_CONFIRMED.value, dtype=object)
    outcome[confirm] = Decision.CONFIRMED.value
    outcome[review] = Decision.REVIEW.value

    below_review = probability < rules.review_threshold
    failed = {
        DecisionReason.BELOW_REVIEW: below_review,
        DecisionReason.BELOW_CONFIRM: (probability < rules.confirm_threshold) & ~below_review,
        DecisionReason.ADDRESS_NOT_CORROBORATED: ~corroborated,
        DecisionReason.TIN_ONLY: taxpayers.tin_exact[top] & ~corroborated,
        DecisionReason.TIN_CONFLICT: conflict,
        DecisionReason.NAME_NOT_CORROBORATED: ~named,
        DecisionReason.DOB_CONTRADICTS: dob_contradicts,
        DecisionReason.AMBIGUOUS_RUNNER_UP: ~unambiguous,
        DecisionReason.RELATIVE_NOT_DISTINGUISHED: ~distinguished,
    }
    checks = Checks(
        weight_gap=gap,
        corroborated=corroborated,
        unambiguous=unambiguous,
        relatives_distinguished=distinguished,
        name_corroborated=named,
        tin_conflict=conflict,
        address_reviewable=corroborated | near,
        name_reviewable=name_reviewable,
        dob_contradicts=dob_contradicts,
    )
    return outcome, _joined(failed, len(top)), checks


def _joined(failed: dict[DecisionReason, np.ndarray], count: int) -> pa.Array:
    """Reason codes joined per subject, built per distinct combination rather than per row."""
    bits = np.zeros(count, dtype=np.int64)
    for bit, mask in enumerate(failed.values()):
        bits |= mask.astype(np.int64) << bit
    combinations, inverse = np.unique(bits, return_inverse=True)
    codes = [code.value for code in failed]
    text = [
        REASON_SEPARATOR.join(c for bit, c in enumerate(codes) if combination >> bit & 1) or None
        for combination in combinations.tolist()
    ]
    return pa.array(text, pa.string()).take(pa.array(inverse.reshape(-1), pa.int64()))
