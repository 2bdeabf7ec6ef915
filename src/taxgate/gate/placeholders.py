"""Values that are not values: placeholders ("N/A", "FNU", "UNKNOWN UNKNOWN", "XXXX", "0").

Every comparison is on the `skeleton` of a value (normalize.text): case, accents, punctuation,
invisible characters and look-alike letters of other scripts are gone before a list is
consulted, so "n.a.", "N\\u200bA", "UN\\u00adKNOWN", a full-width "NONE" and a Cyrillic
"N/A" all meet their entry. A value is a placeholder when it is made only of list entries
(one, or several separated by spaces: "UNKNOWN UNKNOWN", "N A N A", "FNU LNU"), or of
entries run together without spaces ("U N K N O W N", "UNKNOWNUNKNOWN"), or of one
character repeated, or only of zeros. The lists are the policy's ([placeholders] and [address]
placeholders); the patterns run as Arrow regular expressions over a whole column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.normalize.text import fold, skeleton_array
from taxgate.policy.model import Policy

NAME_FIELDS = ("given_name", "middle_name", "family_name")
ADDRESS_FIELDS = ("street", "unit", "city", "state", "zip")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALPHABET = _LETTERS + "0123456789"
_ZEROS = r"^0+$"


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def _alternation(entries: Iterable[str]) -> str:
    # Folded entries hold only A-Z, 0-9 and single spaces: nothing to escape. Longest first
    # so a short entry never shadows a longer one that starts the same way.
    return "|".join(sorted(set(entries), key=lambda e: (-len(e), e)))


@dataclass(frozen=True)
class PlaceholderMatcher:
    """The placeholder test for one kind of field, compiled from folded list entries."""

    spaced: str  # entries separated by single spaces
    compact: str | None  # entries run together, on the value with its spaces removed
    repeated: str | None  # one character repeated, on the compact value
    # A value with a Latin letter and a digit that no entry holds can be made of no entries,
    # is not one character repeated and not only zeros: it needs no closer look.
    foreign_digits: str | None

    def mask(self, skeletons: pa.Array) -> np.ndarray:
        """Per row of already-`skeleton`ed text: is it a placeholder? '' never is."""
        encoded = pc.dictionary_encode(skeletons)
        hits = self._distinct_mask(encoded.dictionary)
        return hits[np.asarray(pc.fill_null(encoded.indices, 0))] & _mask(pc.is_valid(skeletons))

    def _distinct_mask(self, skeletons: pa.Array) -> np.ndarray:
        if not len(skeletons):
            return np.zeros(1, dtype=bool)
        compact = pc.replace_substring(skeletons, " ", "")
        hit = _mask(pc.match_substring_regex(skeletons, self.spaced))
        hit |= _mask(pc.match_substring_regex(compact, _ZEROS))
        if self.compact:
            hit |= _mask(pc.match_substring_regex(compact, self.compact))
        if self.repeated:
            hit |= _mask(pc.match_substring_regex(compact, self.repeated))
        return hit & _mask(pc.not_equal(skeletons, ""))


def matcher(
    entries: Iterable[str],
    exceptions: Iterable[str] = (),
    min_repeated: int | None = None,
    *,
    repeated_digits: bool = True,
) -> PlaceholderMatcher:
    """A matcher for `entries` (as written in the policy). An exception is a real value that an
    entry's compact form would otherwise swallow ("NA", the surname, against "N/A"): it is taken
    out of both forms, so only the spaced form of such an entry ("N A") remains a placeholder."""
    spared = {fold(e) for e in exceptions} - {""}
    folded = {fold(e) for e in entries} - {""} - spared
    compact = {e.replace(" ", "") for e in folded} - spared
    spaced = _alternation(folded)
    repeated = None
    if min_repeated:
        alphabet = _ALPHABET if repeated_digits else _LETTERS
        repeated = "^(?:" + "|".join(f"{c}{{{min_repeated},}}" for c in alphabet) + ")$"
    entry_digits = {c for e in folded for c in e if c.isdigit()} | {"0"}
    foreign = "".join(sorted(set("0123456789") - entry_digits))
    return PlaceholderMatcher(
        spaced=f"^(?:{spaced})(?: (?:{spaced}))*$",
        compact=f"^(?:{_alternation(compact)})+$" if compact else None,
        repeated=repeated,
        foreign_digits=f"[{foreign}]" if foreign else None,
    )


@dataclass(frozen=True)
class FieldPlaceholders:
    """One matcher per kind of field: names, address fields, and every other field."""

    names: PlaceholderMatcher
    address: PlaceholderMatcher
    zip: PlaceholderMatcher
    other: PlaceholderMatcher

    @classmethod
    def from_policy(cls, policy: Policy) -> FieldPlaceholders:
        rules, general = policy.placeholders, policy.placeholders.general
        repeat = rules.min_repeated_characters
        address = [*general, *policy.address.placeholders]
        return cls(
            names=matcher([*general, *rules.names], rules.name_exceptions, repeat),
            # Units and house numbers repeat one digit for real (apartment 111, 2222 Main St):
            # only letters repeated ("XXX") make an address field a placeholder.
            address=matcher(address, (), repeat, repeated_digits=False),
            # Real ZIP codes repeat one digit (22222, 44444, 55555, 88888): the ZIP directory,
            # not the repetition rule, decides whether a ZIP exists.
            zip=matcher(address, (), None),
            other=matcher(general, (), repeat),
        )

    def for_field(self, name: str) -> PlaceholderMatcher:
        if name in NAME_FIELDS:
            return self.names
        if name == "zip":
            return self.zip
        if name in ADDRESS_FIELDS:
            return self.address
        return self.other

    def mask(self, name: str, values: pa.Array) -> np.ndarray:
        """Rows of the raw column `values` of field `name` that hold a placeholder.

        Only rows that could be one are folded, and each distinct value once (names, cities
        and states repeat across a batch)."""
        test = self.for_field(name)
        out = np.zeros(len(values), dtype=bool)
        maybe = _mask(pc.is_valid(values))
        if test.foreign_digits:
            letter = _mask(pc.match_substring_regex(values, "[A-Za-z]"))
            maybe &= ~(letter & _mask(pc.match_substring_regex(values, test.foreign_digits)))
        rows = np.flatnonzero(maybe)
        if not len(rows):
            return out
        encoded = pc.dictionary_encode(values.take(pa.array(rows)))
        hits = test.mask(skeleton_array(encoded.dictionary))
        out[rows] = hits[np.asarray(encoded.indices)]
        return out
