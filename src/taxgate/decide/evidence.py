"""Per-pair evidence, vectorised: did the address corroborate, and which fields agree exactly.

Equality here is on the normalised values the model compared; an empty value agrees with
nothing, so missing data never distinguishes one taxpayer from another by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.decide.contract import (
    CITY_EXACT,
    HOUSE_NUMBER_EXACT,
    NULL_LEVEL,
    STREET_LEVEL_FOR,
    STREET_NAME_EXACT,
    STREET_NAME_FUZZY,
    TIN_EXACT,
    ZIP5_EXACT,
)
from taxgate.decide.edits import within_edits
from taxgate.decide.tokens import Tokens, contained_either_way, same_sets
from taxgate.decide.written import Names, Written
from taxgate.policy.model import DecisionRules


def level(table: pa.Table, comparison: str) -> np.ndarray:
    """The gamma level of `comparison` per pair, null read as the null level."""
    column = pc.fill_null(table.column(f"gamma_{comparison}"), NULL_LEVEL)
    return np.asarray(column.to_numpy(), dtype=np.int64)


def equal(left: pa.Array | pa.ChunkedArray, right: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Element-wise equality where a null on either side is False."""
    return np.asarray(pc.fill_null(pc.equal(left, right), False).to_numpy(), dtype=bool)


def address_corroborated(table: pa.Table, rules: DecisionRules, written: Written) -> np.ndarray:
    """House number exact, the street at the policy's level, and the ZIP or the city.

    At `address_level = "tolerant"` the street may be written differently (a typo, a space, a
    directional: `written.street`); the household guard, not string equality, keeps a
    neighbour's or a relative's record from confirming.
    """
    house = level(table, "house_number") == HOUSE_NUMBER_EXACT
    if rules.address_level == "tolerant":
        street = _street(table, written)
    else:
        street = level(table, "street_name") >= STREET_LEVEL_FOR[rules.address_level]
    return house & street & _place(table, written)


def _street(table: pa.Table, written: Written) -> np.ndarray:
    """The same street, exactly or written differently."""
    return written.street | (level(table, "street_name") == STREET_NAME_EXACT)


def _place(table: pa.Table, written: Written) -> np.ndarray:
    """The same ZIP, or the same city as written or written differently (`written.city`)."""
    return (
        (level(table, "zip5") == ZIP5_EXACT) | (level(table, "city") == CITY_EXACT) | written.city
    )


def _near(table: pa.Table, column: str, max_edits: int, where: np.ndarray) -> np.ndarray:
    left = table.column(f"{column}_l").combine_chunks()
    right = table.column(f"{column}_r").combine_chunks()
    return within_edits(left, right, max_edits, 1, where)


def address_reviewable(table: pa.Table, rules: DecisionRules, written: Written) -> np.ndarray:
    """Two of house number, street and place (ZIP or city) agree, or one does and the other two
    are close: an address a disclosure officer could recognise (a digit typed wrong, a street
    garbled, a ZIP and a city both mistyped)."""
    house = level(table, "house_number") == HOUSE_NUMBER_EXACT
    street, place = _street(table, written), _place(table, written)
    agree = house.astype(int) + street.astype(int) + place.astype(int)
    # Edit distances only where they can decide: one component agrees and this one does not.
    some = agree >= 1
    edits = rules.review_max_edits
    house_close = house | _near(table, "house_number", edits, some & ~house)
    street_close = street | (level(table, "street_name") >= STREET_NAME_FUZZY)
    place_close = place | _near(table, "zip5", edits, some & ~place)
    place_close |= _near(table, "city", edits, some & ~place_close)
    close = house_close.astype(int) + street_close.astype(int) + place_close.astype(int)
    return (agree >= 2) | ((agree >= 1) & (close == 3))


def tin_exact(table: pa.Table) -> np.ndarray:
    return level(table, "tin") == TIN_EXACT


def _columns(table: pa.Table, pairs: np.ndarray) -> Callable[[str], pa.ChunkedArray]:
    index = pa.array(pairs, pa.int64())
    return lambda name: table.column(name).take(index)


def _name_tokens(column: Callable[[str], pa.ChunkedArray], side: str) -> Tokens:
    """Given and family name tokens as written (middle names are not in `given`)."""
    return Tokens.of(column(f"given_{side}"), column(f"family_{side}"))


def given_agrees(table: pa.Table, pairs: np.ndarray) -> np.ndarray:
    """For the pairs at `pairs`: the full given name is the same, as written or canonically.

    Canonically means the same set of nickname-resolved given (and middle) tokens, so "PEPE"
    agrees with "JOSE" and "LUIS JOSE" with "JOSE LUIS"; or the same given and family tokens
    in another order, so a name sent reversed still agrees. Never a mere overlap.
    """
    column = _columns(table, pairs)
    exact = equal(column("given_l"), column("given_r"))
    canonical = same_sets(
        Tokens.of(column("given_tokens_l")), Tokens.of(column("given_tokens_r")), pairs.size
    )
    reordered = same_sets(_name_tokens(column, "l"), _name_tokens(column, "r"), pairs.size)
    return exact | canonical | reordered


def given_compatible(table: pa.Table, pairs: np.ndarray) -> np.ndarray:
    """For the pairs at `pairs`: the taxpayer's name could be the subject's (lenient).

    True when `given_agrees` would be, or when one side's tokens all lie among the other's,
    as written or canonically: a middle name, or a second surname, more or less (or different)
    does not tell two people apart. Middle names are weak evidence (often left off a filing or
    a request), so a taxpayer whose own given name lies among the subject's given and middle
    names could be the subject whatever its middle name says.
    """
    column = _columns(table, pairs)
    written = contained_either_way(_name_tokens(column, "l"), _name_tokens(column, "r"), pairs.size)
    subject = Tokens.of(column("given_tokens_l"))
    canonical = contained_either_way(subject, Tokens.of(column("given_tokens_r")), pairs.size)
    words = pc.list_value_length(pc.split_pattern(pc.fill_null(column("given_r"), ""), " "))
    own = Tokens.leading(column("given_tokens_r"), np.asarray(words.to_numpy(), dtype=np.int64))
    own_within = contained_either_way(own, subject, pairs.size)
    return given_agrees(table, pairs) | written | canonical | own_within


def house_number_near(table: pa.Table, rules: DecisionRules, written: Written) -> np.ndarray:
    """The street and ZIP or city corroborate and the house number is within the policy's
    `house_number_max_edits` ("20" for "22"): the same address if, and only if, who it is
    is not in doubt (the rules ask for the name and a second identifier)."""
    other = level(table, "house_number") != HOUSE_NUMBER_EXACT
    where = _street(table, written) & _place(table, written) & other
    return _near(table, "house_number", rules.house_number_max_edits, where)


@dataclass(frozen=True)
class PairEvidence:
    """Vectorised flags, one entry per candidate pair. `names` is judged only at the pairs
    `with_names` is given (taxgate.decide.written.Names)."""

    corroborated: np.ndarray
    reviewable: np.ndarray
    house_near: np.ndarray
    written: Written
    names: Names
    tin_exact: np.ndarray
    dob_agrees: np.ndarray
    suffix_agrees: np.ndarray
    given_exact: np.ndarray

    @classmethod
    def of(cls, table: pa.Table, rules: DecisionRules) -> PairEvidence:
        """Every flag but the names, which wait for `with_names`."""
        written = Written.of(table, rules)
        return cls(
            corroborated=address_corroborated(table, rules, written),
            reviewable=address_reviewable(table, rules, written),
            house_near=house_number_near(table, rules, written),
            written=written,
            names=Names.at(table, level(table, "dob"), rules, np.empty(0, dtype=np.int64)),
            tin_exact=tin_exact(table),
            dob_agrees=equal(table.column("dob_l"), table.column("dob_r")),
            suffix_agrees=equal(table.column("suffix_l"), table.column("suffix_r")),
            given_exact=equal(table.column("given_l"), table.column("given_r")),
        )

    def with_names(self, table: pa.Table, rules: DecisionRules, pairs: np.ndarray) -> PairEvidence:
        """The same evidence with the names judged at the pair indices `pairs`."""
        return replace(self, names=Names.at(table, level(table, "dob"), rules, pairs))
