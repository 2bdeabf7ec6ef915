"""Is the requester's address an address? Placeholders, ZIP- or city-only and unparseable
streets are not (the failures the court counted); usaddress decides what a street is.

usaddress costs about 0.1 ms a call, too slow for 1.28 million streets, so a street in the
plain USPS form (house number, optional directional, name words, a Publication 28 suffix,
optional directional) is accepted by a regular expression over the whole column first, and
only the rest goes to usaddress. A property test checks that the shortcut never accepts what
usaddress would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import usaddress
from scourgify.address_constants import DIRECTIONAL_REPLACEMENTS, STREET_TYPE_ABBREVIATIONS

from taxgate.formats.codes import ReasonCode
from taxgate.normalize.text import fold, fold_array
from taxgate.policy.model import AddressRules

_DIRECTIONS = sorted(set(DIRECTIONAL_REPLACEMENTS) | set(DIRECTIONAL_REPLACEMENTS.values()))
_SUFFIXES = sorted(set(STREET_TYPE_ABBREVIATIONS) | set(STREET_TYPE_ABBREVIATIONS.values()))
_DIR = "(?:" + "|".join(_DIRECTIONS) + ")"
_WORD = r"(?:[A-Z][A-Z0-9]*|\d+(?:ST|ND|RD|TH))"
PLAIN_STREET = (
    rf"^[1-9]\d{{0,5}}[A-Z]? (?:{_DIR} )?(?:{_WORD} ){{1,4}}"
    rf"(?:{'|'.join(_SUFFIXES)})(?: {_DIR})?$"
)
PO_BOX = r"\b(?:P ?O|POST OFFICE) ?BOX\b|^BOX \d"
ZIP = r"^\d{5}(?:-?\d{4})?$"
_TRAILING_ZIP = r" ?\d{5}(?: ?\d{4})?$"
_LEADING_NUMBER = r"^\d+ "


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def present(values: pa.Array) -> np.ndarray:
    """Not null and holding something other than white space."""
    return _mask(pc.match_substring_regex(values, r"\S"))


def placeholder_mask(folded: pa.Array, placeholders: pa.Array) -> np.ndarray:
    """'Failed to Provide', ' n/a ', 'UNKNOWN ADDRESS 78701', '0 Unknown' are placeholders."""
    variants = (
        folded,
        pc.replace_substring_regex(folded, _TRAILING_ZIP, ""),
        pc.replace_substring_regex(folded, _LEADING_NUMBER, ""),
    )
    hit = np.zeros(len(folded), dtype=bool)
    for variant in variants:
        hit |= _mask(pc.is_in(variant, value_set=placeholders))
    return hit & _mask(pc.not_equal(folded, ""))


def street_kind(street: str) -> str:
    """'street' for a house number plus street name, 'po_box', or 'unparseable'."""
    folded = fold(street)
    kinds = _kinds(pa.array([folded]), np.array([True]))
    return str(kinds[0])


@lru_cache(maxsize=1 << 18)
def _parsed_kind(street: str) -> str:
    try:
        tags, kind = usaddress.tag(street)
    except usaddress.RepeatedLabelError:
        return "unparseable"
    if kind == "PO Box" or "USPSBoxID" in tags:
        return "po_box"
    if "AddressNumber" in tags and "StreetName" in tags:
        number = tags["AddressNumber"]
        if any(ch.isdigit() for ch in number) and not set(number) <= {"0"}:
            return "street"
    return "unparseable"


def _kinds(folded: pa.Array, wanted: np.ndarray) -> np.ndarray:
    kinds = np.full(len(folded), "", dtype=object)
    po_box = _mask(pc.match_substring_regex(folded, PO_BOX)) & wanted
    plain = _mask(pc.match_substring_regex(folded, PLAIN_STREET)) & wanted & ~po_box
    kinds[po_box] = "po_box"
    kinds[plain] = "street"
    rest = np.flatnonzero(wanted & ~po_box & ~plain)
    if len(rest):
        # The house number's value does not change how usaddress reads the rest of the line,
        # so "4521 Calle de la Rosa" and "12 Calle de la Rosa" share one cached parse.
        canonical = pc.replace_substring_regex(
            folded.take(pa.array(rest)), r"^[1-9]\d* ", "1 "
        ).to_pylist()
        kinds[rest] = [_parsed_kind(s) for s in canonical]
    return kinds


@dataclass(frozen=True)
class AddressColumns:
    street: pa.Array
    city: pa.Array
    state: pa.Array
    zip: pa.Array


def address_codes(
    columns: AddressColumns, rules: AddressRules, placeholders: pa.Array
) -> dict[ReasonCode, np.ndarray]:
    """Per address reason code, the rows that earn it; a row earns at most one."""
    street_f, city_f = fold_array(columns.street), fold_array(columns.city)
    placeholder = placeholder_mask(street_f, placeholders) | placeholder_mask(city_f, placeholders)
    has_street = present(columns.street) & ~placeholder
    has_city = _mask(pc.not_equal(city_f, ""))
    has_zip, has_state = present(columns.zip), present(columns.state)
    no_street = ~placeholder & ~has_street
    zip_only = no_street & has_zip & ~has_city
    city_only = no_street & has_city & ~has_zip
    kinds = _kinds(street_f, has_street)
    po_box = (kinds == "po_box") & (not rules.allow_po_box)
    street_ok = (kinds == "street") | ((kinds == "po_box") & rules.allow_po_box)
    return {
        ReasonCode.ADDRESS_PLACEHOLDER: placeholder,
        ReasonCode.ADDRESS_ZIP_ONLY: zip_only,
        ReasonCode.ADDRESS_CITY_ONLY: city_only,
        ReasonCode.ADDRESS_MISSING: no_street & ~zip_only & ~city_only,
        ReasonCode.ADDRESS_PO_BOX: po_box,
        ReasonCode.ADDRESS_UNPARSEABLE: kinds == "unparseable",
        ReasonCode.ADDRESS_NO_LOCALITY: street_ok & ~(has_zip | (has_city & has_state)),
    }


def placeholder_set(rules: AddressRules) -> pa.Array:
    return pa.array(sorted({fold(p) for p in rules.placeholders}), pa.string())


def address_problems(
    street: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    rules: AddressRules,
) -> list[ReasonCode]:
    """The address codes of one request (the column rules applied to a single row)."""
    cols = AddressColumns(*(pa.array([v], pa.string()) for v in (street, city, state, zip_code)))
    return [
        code for code, rows in address_codes(cols, rules, placeholder_set(rules)).items() if rows[0]
    ]
