"""How a value is written versus whose it is: per pair, each field's agreement class.

The model's levels rank likeness; the rules need a different question answered: is the
difference one of writing (a typo, a transposition, a stray or missing space, a dropped
directional, a nickname, an initial) or one of identity (another given name, another family,
another birthday)? Writing is tolerated up to the policy's `[decision]` edit limits; identity
never is. Streets are judged in `decide.streets`, edit distances in `decide.edits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide.contract import DOB_ONE_EDIT_OR_SWAPPED, DOB_SAME_YEAR, NULL_LEVEL
from taxgate.decide.edits import (
    bools,
    both_present,
    distinct_rows,
    judged_once,
    spaceless,
    strings,
    within_edits,
)
from taxgate.decide.streets import city_written, street_written
from taxgate.decide.tokens import Tokens, contained_either_way, overlap, same_sets
from taxgate.normalize.nicknames import related
from taxgate.policy.model import DecisionRules


class Agreement(IntEnum):
    """One field of one pair, from worst to best."""

    DIFFERENT = 0  # another value: another person's (or another place)
    MISSING = 1  # empty on either side: says nothing
    PARTIAL = 2  # compatible but not the same: an initial, a birth date in the same year only
    WRITTEN = 3  # the same value written differently (typo, spacing, nickname, order)


def shortened(left: pa.Array, right: pa.Array, min_length: int, where: np.ndarray) -> np.ndarray:
    """Where `where` holds: one value begins the other and is at least `min_length` long
    ("ALEX" for "ALEXANDRA", "NIC" for "NICOLAS")."""
    result = np.zeros(len(left), dtype=bool)
    first_l = pc.utf8_slice_codeunits(left, 0, 1)
    candidate = where & both_present(left, right)
    candidate &= bools(pc.equal(first_l, pc.utf8_slice_codeunits(right, 0, 1)))
    at = np.flatnonzero(candidate)
    if at.size:
        index = pa.array(at, pa.int64())
        a = np.array(left.take(index).to_pylist(), dtype=object).astype(str)
        b = np.array(right.take(index).to_pylist(), dtype=object).astype(str)
        shorter = np.minimum(np.char.str_len(a), np.char.str_len(b))
        begins = np.char.startswith(a, b) | np.char.startswith(b, a)
        result[at] = begins & (shorter >= min_length)
    return result


def nicknamed(left: pa.Array, right: pa.Array, where: np.ndarray) -> np.ndarray:
    """Where `where` holds: one token is a reading of the other (`normalize.nicknames`), judged
    once per distinct pair of tokens."""
    result = np.zeros(len(left), dtype=bool)
    at = np.flatnonzero(where & both_present(left, right))
    if at.size:
        index = pa.array(at, pa.int64())
        pairs = list(zip(left.take(index).to_pylist(), right.take(index).to_pylist(), strict=True))
        verdict = {pair: related(*pair) for pair in set(pairs)}
        result[at] = np.fromiter((verdict[p] for p in pairs), dtype=bool, count=len(pairs))
    return result


def _second_token(values: pa.Array) -> pa.Array:
    """The second word of each value; null where there is none."""
    second = pc.replace_substring_regex(strings(values), r"^\S+ ?(\S*).*$", r"\1")
    return pc.if_else(pc.equal(second, ""), pa.scalar(None, pa.string()), second)


def _first_token(values: pa.Array) -> pa.Array:
    return pc.list_element(pc.split_pattern(values, " "), 0)


def given_agreement(
    given_l: pa.Array,
    given_r: pa.Array,
    tokens_l: pa.Array,
    tokens_r: pa.Array,
    family_l: pa.Array,
    family_r: pa.Array,
    rules: DecisionRules,
) -> np.ndarray:
    """Per pair: the subject's given name against the taxpayer's, as an `Agreement`.

    WRITTEN: the same first given name as written, canonically or as a nickname, with the given and
    middle names swapped, the whole name reversed, or within the policy's name edits. PARTIAL:
    one side is the other's initial or its beginning ("CHRISTO", "CHRISTOPHER"), or a short name
    within the edits ("YNAN", "YAN"): what a second identifier must confirm. A name that is only
    among the other's middle names is DIFFERENT: "Jennifer Barnes" is not "Lisa Jennifer
    Barnes" without a person's judgement.
    """
    n = len(given_l)
    present = both_present(given_l, given_r)
    first_l, first_r = _first_token(strings(given_l)), _first_token(strings(given_r))
    canonical_l = pc.list_element(tokens_l, 0) if len(tokens_l) else first_l
    canonical_r = pc.list_element(tokens_r, 0) if len(tokens_r) else first_r
    same = (
        bools(pc.equal(first_l, first_r))
        | bools(pc.equal(canonical_l, canonical_r))
        | bools(pc.equal(spaceless(given_l), spaceless(given_r)))
    )
    swapped = same_sets(Tokens.of(tokens_l), Tokens.of(tokens_r), n) & present
    reversed_ = same_sets(Tokens.of(given_l, family_l), Tokens.of(given_r, family_r), n) & present
    first_l, first_r = strings(first_l), strings(first_r)
    written = same | swapped | reversed_
    # Compound given names that part after the first ("JOSE MIGUEL", "JOSE PEDRO") are two
    # people's (DIFFERENT) unless the second names agree too; one side without a second name
    # is just shorter.
    second_l, second_r = _second_token(given_l), _second_token(given_r)
    compound = both_present(second_l, second_r) & ~bools(pc.equal(second_l, second_r))
    compound &= ~within_edits(
        second_l, second_r, rules.name_max_edits, rules.name_min_length, compound
    )
    compound &= ~nicknamed(second_l, second_r, compound)
    written |= nicknamed(first_l, first_r, present & ~written)
    # A stray space on either side ("ROBE RT"): the nickname read through it.
    written |= nicknamed(spaceless(given_l), spaceless(given_r), present & ~written)
    other_form = gendered(first_l, first_r, present & ~written)
    typo = present & ~written & ~other_form
    written |= within_edits(first_l, first_r, rules.name_max_edits, rules.name_min_length, typo)
    partial = shortened(first_l, first_r, 1, present & ~written & ~other_form)
    partial |= within_edits(first_l, first_r, rules.name_max_edits, 1, typo & ~written)
    written &= ~compound | swapped
    partial &= ~compound | swapped
    return _classify(present, written, partial)


GENDERED_ENDINGS = frozenset({"A", "O", "E"})
"""Final letters that make the feminine and masculine forms of one name (MARIO / MARIA,
JULIE / JULIA): one edit apart, two people."""


def gendered(left: pa.Array, right: pa.Array, where: np.ndarray) -> np.ndarray:
    """Where `where` holds: the two are the feminine and masculine forms of one name, differing
    only in a final A, O or E, or by a final A added (LUIS / LUISA, DANIEL / DANIELA)."""
    result = np.zeros(len(left), dtype=bool)
    at = np.flatnonzero(where & both_present(left, right))
    if at.size:
        index = pa.array(at, pa.int64())
        pairs = zip(left.take(index).to_pylist(), right.take(index).to_pylist(), strict=True)
        result[at] = [_gendered(a, b) for a, b in pairs]
    return result


def _gendered(a: str, b: str) -> bool:
    if a + "A" == b or b + "A" == a:
        return True
    return (
        len(a) == len(b) > 1
        and a[:-1] == b[:-1]
        and a[-1] != b[-1]
        and {a[-1], b[-1]} <= GENDERED_ENDINGS
    )


def family_agreement(
    family_l: pa.Array,
    family_r: pa.Array,
    given_l: pa.Array,
    given_r: pa.Array,
    rules: DecisionRules,
) -> np.ndarray:
    """Per pair: the family names as an `Agreement`. WRITTEN: equal, one surname dropped or
    moved, joined or split by a space, within the policy's name edits, or the whole name sent
    in another order. PARTIAL: a short surname within the edits ("LFIU", "LIU"), the first of
    two surnames in common ("RODRIGUEZ LOPEZ", "RODRIGUEZ VELASQUEZ"), or the whole name's words
    within the other's in another order."""
    n = len(family_l)
    present = both_present(family_l, family_r)
    same = bools(pc.equal(spaceless(family_l), spaceless(family_r)))
    moved = contained_either_way(Tokens.of(family_l), Tokens.of(family_r), n) & present
    reversed_ = same_sets(Tokens.of(given_l, family_l), Tokens.of(given_r, family_r), n) & present
    joined_l, joined_r = spaceless(family_l), spaceless(family_r)
    written = same | moved | reversed_
    written |= within_edits(
        joined_l, joined_r, rules.name_max_edits, rules.name_min_length, present & ~written
    )
    partial = within_edits(joined_l, joined_r, rules.name_max_edits, 1, present & ~written)
    # One surname of two in common counts only as the first: "SEGURA GARCIA" and "MENDEZ
    # SEGURA" are a mother's and a child's, not one name written two ways.
    first_same = bools(pc.equal(_first_token(strings(family_l)), _first_token(strings(family_r))))
    partial |= overlap(Tokens.of(family_l), Tokens.of(family_r), n) & present & first_same
    partial |= (
        contained_either_way(Tokens.of(given_l, family_l), Tokens.of(given_r, family_r), n)
        & present
    )
    return _classify(present, written, partial)


def dob_agreement(dob_level: np.ndarray) -> np.ndarray:
    """Per pair, from the model's date-of-birth level: one edit or day and month swapped is
    WRITTEN, the same year only is PARTIAL, anything further is another birthday."""
    out = np.full(dob_level.shape, Agreement.DIFFERENT, dtype=np.int8)
    out[dob_level == NULL_LEVEL] = Agreement.MISSING
    out[dob_level == DOB_SAME_YEAR] = Agreement.PARTIAL
    out[dob_level >= DOB_ONE_EDIT_OR_SWAPPED] = Agreement.WRITTEN
    return out


def _classify(present: np.ndarray, written: np.ndarray, partial: np.ndarray) -> np.ndarray:
    out = np.full(present.shape, Agreement.DIFFERENT, dtype=np.int8)
    out[partial] = Agreement.PARTIAL
    out[written] = Agreement.WRITTEN
    out[~present] = Agreement.MISSING
    return out


@dataclass(frozen=True)
class Names:
    """Per candidate pair: the agreement class of given name, family name and date of birth,
    and whether a DIFFERENT name is near enough for a person to judge.

    Judged only at the pairs the rules read (`Names.at`, given
    `taxgate.decide.households.Sharing.names_read`). Elsewhere every class is DIFFERENT and
    nothing is near; no rule reads them there.
    """

    given: np.ndarray
    family: np.ndarray
    dob: np.ndarray
    given_near: np.ndarray  # DIFFERENT, but within review_name_max_edits: for a person to judge
    family_near: np.ndarray

    @classmethod
    def at(
        cls, table: pa.Table, dob_level: np.ndarray, rules: DecisionRules, pairs: np.ndarray
    ) -> Names:
        """The classes at the pair indices `pairs` (every pair: `np.arange(table.num_rows)`)."""
        n = table.num_rows
        out = cls(
            given=np.full(n, Agreement.DIFFERENT, dtype=np.int8),
            family=np.full(n, Agreement.DIFFERENT, dtype=np.int8),
            dob=dob_agreement(dob_level),
            given_near=np.zeros(n, dtype=bool),
            family_near=np.zeros(n, dtype=bool),
        )
        if pairs.size:
            chosen = table.take(pa.array(pairs, pa.int64()))
            first, inverse = distinct_rows([chosen.column(c) for c in NAME_COLUMNS])
            part = _names(chosen.take(pa.array(first, pa.int64())), rules)
            for field, values in part.items():
                getattr(out, field)[pairs] = values[inverse]
        return out


# What `_names` reads: the classes are a function of these values alone, judged once per
# distinct combination (`edits.distinct_rows`).
NAME_COLUMNS = ("given_l", "given_r", "given_tokens_l", "given_tokens_r", "family_l", "family_r")


def _names(table: pa.Table, rules: DecisionRules) -> dict[str, np.ndarray]:
    def col(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    given_l, family_l = col("given_l"), col("family_l")
    given_r, family_r = col("given_r"), col("family_r")
    tokens_l, tokens_r = col("given_tokens_l"), col("given_tokens_r")
    given = given_agreement(given_l, given_r, tokens_l, tokens_r, family_l, family_r, rules)
    family = family_agreement(family_l, family_r, given_l, given_r, rules)
    # The name sent reversed AND written differently ("Hernandez Blanco, Maria" against
    # "M Hernandez Blanco"): each crossed field judged as its own kind, where the names as
    # sent are not both already the same.
    todo = np.flatnonzero(np.minimum(given, family) < Agreement.WRITTEN)
    if todo.size:
        at = pa.array(todo, pa.int64())
        g_l, f_l, g_r, f_r = (
            given_l.take(at),
            family_l.take(at),
            given_r.take(at),
            family_r.take(at),
        )
        crossed_given = given_agreement(
            f_l, g_r, pc.split_pattern(f_l, " "), tokens_r.take(at), g_l, f_r, rules
        )
        crossed_family = family_agreement(g_l, f_r, f_l, g_r, rules)
        cross = np.minimum(crossed_given, crossed_family) > np.minimum(given[todo], family[todo])
        given[todo] = np.where(cross, crossed_given, given[todo])
        family[todo] = np.where(cross, crossed_family, family[todo])
    near, min_length = rules.review_name_max_edits, rules.name_min_length
    first_l, first_r = _first_token(strings(given_l)), _first_token(strings(given_r))
    joined_l, joined_r = spaceless(family_l), spaceless(family_r)
    return {
        "given": given,
        "family": family,
        "given_near": within_edits(
            first_l, first_r, near, min_length, given == Agreement.DIFFERENT
        ),
        "family_near": within_edits(
            joined_l, joined_r, near, min_length, family == Agreement.DIFFERENT
        ),
    }


@dataclass(frozen=True)
class Written:
    """Per candidate pair, for every pair: whether the street and the city are the same as
    written differently, and the family name the same but for spacing or the name edits (what
    corroboration and the household guard's "who shares the house" read)."""

    street: np.ndarray
    city: np.ndarray  # the same city but for spacing, or an edit in a long name
    family_typo: np.ndarray

    @classmethod
    def of(cls, table: pa.Table, rules: DecisionRules) -> Written:
        def col(name: str) -> pa.Array:
            return table.column(name).combine_chunks()

        def family_typo(family_l: pa.Array, family_r: pa.Array) -> np.ndarray:
            joined_l, joined_r = spaceless(family_l), spaceless(family_r)
            typo = bools(pc.equal(joined_l, joined_r))
            return typo | within_edits(
                joined_l, joined_r, rules.name_max_edits, rules.name_min_length, ~typo
            )

        # Each judged once per distinct pair of values (`edits.judged_once`).
        return cls(
            family_typo=judged_once(family_typo, col("family_l"), col("family_r")),
            street=judged_once(
                lambda left, right: street_written(left, right, rules),
                col("street_name_l"),
                col("street_name_r"),
            ),
            city=judged_once(
                lambda left, right: city_written(left, right, rules), col("city_l"), col("city_r")
            ),
        )
