"""How a street and a city are written: directionals added or dropped, spaces, typos, misspelt
or joined street types.

"N BENJAMI N WAY" is "BENJAMIN WAY"; "S MAIN ST" is not "N MAIN ST", nor "MAIN AVE" "MAIN ST";
"ROWVIL LE" is "ROWVILLE".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz.distance import DamerauLevenshtein

from taxgate.decide.edits import bools, both_present, spaceless, strings, within_edits
from taxgate.normalize.address import DIRECTIONS, STREET_TYPE_ABBREVIATIONS, STREET_TYPES
from taxgate.policy.model import DecisionRules

_DIRECTIONS = "|".join(sorted(DIRECTIONS, key=len, reverse=True))
# USPS street type -> every spelling Publication 28 lists for it ("PL" -> PL, PLACE).
_SPELLINGS: dict[str, tuple[str, ...]] = {}
for _spelling, _kind in STREET_TYPE_ABBREVIATIONS.items():
    _SPELLINGS[_kind] = (*_SPELLINGS.get(_kind, (_kind,)), _spelling)
_LEADING_DIRECTION = rf"^(?:{_DIRECTIONS}) "
_TRAILING_DIRECTION = rf" (?:{_DIRECTIONS})$"


def _without_directionals(street: pa.Array | pa.ChunkedArray) -> pa.Array:
    text = pc.replace_substring_regex(strings(street), _LEADING_DIRECTION, "")
    return pc.replace_substring_regex(text, _TRAILING_DIRECTION, "")


def street_core(street: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The standardised street without a leading or trailing directional and without spaces:
    "N BENJAMI N WAY" and "BENJAMIN WAY" differ by one edit, "MAIN AVE" and "MAIN ST" by more."""
    return pc.replace_substring(_without_directionals(street), " ", "")


def _directionals(street: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The leading and the trailing directional of each street ("" where there is none)."""
    parts = pc.extract_regex(
        pc.fill_null(strings(street), ""),
        rf"^(?P<lead>(?:{_DIRECTIONS}) )?.*?(?P<trail> (?:{_DIRECTIONS}))?$",
    )
    return pc.struct_field(parts, "lead"), pc.struct_field(parts, "trail")


def _compatible(left: pa.Array, right: pa.Array) -> np.ndarray:
    """Equal, or one of them empty: a directional dropped, never changed."""
    return bools(pc.or_(pc.equal(left, right), pc.or_(pc.equal(left, ""), pc.equal(right, ""))))


def _typed(core_words: str) -> tuple[str, str | None]:
    """A street without directionals, as (spaceless name, its USPS type or None)."""
    words = core_words.split()
    if len(words) > 1 and words[-1] in STREET_TYPES:
        return "".join(words[:-1]), words[-1]
    return "".join(words), None


def _mistyped(typed: str, untyped: str, min_length: int, max_edits: int) -> bool:
    """`untyped` is the typed street's name followed by its type misspelt or joined to it:
    "LEA PLCE", "HIBISCUS RESCENT", "GLOVERASTREET" for "LEA PL", "HIBISCUS CRES",
    "GLOVER ST". Another type ("MAIN AVE" for "MAIN ST") is never a misspelling."""
    body, kind = _typed(typed)
    rest_body, rest_kind = _typed(untyped)
    if kind is None or rest_kind is not None or len(body) < min_length:
        return False
    if not rest_body.startswith(body):
        return False
    rest = rest_body[len(body) :]
    return any(
        DamerauLevenshtein.distance(rest, spelling, score_cutoff=max_edits) <= max_edits
        for spelling in _SPELLINGS.get(kind, (kind,))
    )


def _types_mistyped(
    left: pa.Array, right: pa.Array, min_length: int, max_edits: int, where: np.ndarray
) -> np.ndarray:
    result = np.zeros(len(left), dtype=bool)
    at = np.flatnonzero(where & both_present(left, right))
    if at.size:
        index = pa.array(at, pa.int64())
        pairs = zip(left.take(index).to_pylist(), right.take(index).to_pylist(), strict=True)
        result[at] = [
            _mistyped(a, b, min_length, max_edits) or _mistyped(b, a, min_length, max_edits)
            for a, b in pairs
        ]
    return result


def street_written(left: pa.Array, right: pa.Array, rules: DecisionRules) -> np.ndarray:
    """The same street written differently (or identically), per the policy's tolerance. A
    directional may be added or dropped, not changed: "S MAIN ST" is another street than
    "N MAIN ST". A street type may be misspelt or joined to the name ("JUKES STCREET",
    "TRISTANIASTREET"), never replaced by another type: "MAIN AVE" is not "MAIN ST"."""
    core_l, core_r = street_core(left), street_core(right)
    (lead_l, trail_l), (lead_r, trail_r) = _directionals(left), _directionals(right)
    same = bools(pc.equal(core_l, core_r))
    same &= _compatible(lead_l, lead_r) & _compatible(trail_l, trail_r)
    # An edit among the letters is a typo; among the digits it is another street (11TH, 18TH).
    digits = bools(
        pc.equal(
            pc.replace_substring_regex(core_l, r"\D", ""),
            pc.replace_substring_regex(core_r, r"\D", ""),
        )
    )
    near = within_edits(
        core_l,
        core_r,
        rules.street_max_edits,
        rules.street_min_length,
        ~same & both_present(left, right) & digits,
    )
    words_l, words_r = _without_directionals(left), _without_directionals(right)
    # One name begins the other: checked column-wise on the first letters before any Python.
    prefix = rules.street_type_min_name
    begins = bools(
        pc.equal(
            pc.utf8_slice_codeunits(core_l, 0, prefix), pc.utf8_slice_codeunits(core_r, 0, prefix)
        )
    )
    mistyped = _types_mistyped(
        words_l, words_r, rules.street_type_min_name, rules.street_max_edits, ~same & ~near & begins
    )
    return same | near | mistyped


def city_written(city_l: pa.Array, city_r: pa.Array, rules: DecisionRules) -> np.ndarray:
    """Per pair: the same city written differently. Spaces never count ("ROWVIL LE"); an edit
    counts only in a name as long as a street core that may carry one (`street_min_length`),
    so that short names of different places ("ELY", "EL") stay apart."""
    joined_l, joined_r = spaceless(city_l), spaceless(city_r)
    same = bools(pc.equal(joined_l, joined_r))
    return same | within_edits(
        joined_l, joined_r, rules.street_max_edits, rules.street_min_length, ~same
    )
