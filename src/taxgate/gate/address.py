"""Is the requester's address an address? Placeholders, ZIP- or city-only and unparseable
streets are not (the failures the court counted); usaddress decides what a street is.

usaddress costs about 0.1 ms a call, too slow for 1.28 million streets on two cores, so a
street in the plain USPS form (house number, optional directional, name words, a Publication 28
suffix, optional directional) is accepted by a regular expression first; everything else goes
to usaddress. A test checks on generated streets that the shortcut never accepts what
usaddress would refuse.
"""

from __future__ import annotations

import re
from functools import lru_cache

import usaddress
from scourgify.address_constants import DIRECTIONAL_REPLACEMENTS, STREET_TYPE_ABBREVIATIONS

from taxgate.formats.codes import ReasonCode
from taxgate.normalize.text import fold
from taxgate.policy.model import AddressRules

_DIRECTIONS = sorted(set(DIRECTIONAL_REPLACEMENTS) | set(DIRECTIONAL_REPLACEMENTS.values()))
_SUFFIXES = sorted(set(STREET_TYPE_ABBREVIATIONS) | set(STREET_TYPE_ABBREVIATIONS.values()))
_DIR = "(?:" + "|".join(_DIRECTIONS) + ")"
_WORD = r"(?:[A-Z][A-Z0-9]*|\d+(?:ST|ND|RD|TH))"
_PLAIN_STREET = re.compile(
    rf"^[1-9]\d{{0,5}}[A-Z]? (?:{_DIR} )?(?:{_WORD} ){{1,4}}"
    rf"(?:{'|'.join(_SUFFIXES)})(?: {_DIR})?$"
)
_ZIP = re.compile(r"^\d{5}(?:-?\d{4})?$")
_LEADING_NUMBER = re.compile(r"^\d+\s+")
_TRAILING_ZIP = re.compile(r"\s*\d{5}(?:\s?\d{4})?$")
_PURE_NUMBER = re.compile(r"^[1-9]\d* ")
_PO_BOX = re.compile(r"\b(?:P\s*O|POST\s+OFFICE)\s*BOX\b|^BOX\s+\d")


def is_placeholder(value: str | None, placeholders: frozenset[str]) -> bool:
    """'Failed to Provide', ' n/a ', 'UNKNOWN ADDRESS 78701', '0 Unknown' are placeholders."""
    folded = fold(value)
    if not folded:
        return False
    if folded in placeholders:
        return True
    without_zip = _TRAILING_ZIP.sub("", folded)
    without_number = _LEADING_NUMBER.sub("", folded)
    return without_zip in placeholders or without_number in placeholders


def street_kind(street: str) -> str:
    """'street' for a house number plus street name, 'po_box', or 'unparseable'."""
    folded = fold(street)
    if _PO_BOX.search(folded):
        return "po_box"
    if _PLAIN_STREET.match(folded):
        return "street"
    # The house number's value does not change what usaddress sees in the rest of the line, so
    # "4521 Calle de la Rosa" and "12 Calle de la Rosa" share one cached parse.
    return _parsed_kind(_PURE_NUMBER.sub("1 ", folded))


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


def address_problems(
    street: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    rules: AddressRules,
    placeholders: frozenset[str],
) -> list[ReasonCode]:
    """The address reason codes of one request; empty when it is a usable street address."""
    if is_placeholder(street, placeholders) or is_placeholder(city, placeholders):
        return [ReasonCode.ADDRESS_PLACEHOLDER]
    has_street, has_city = bool(street and street.strip()), bool(fold(city))
    has_zip = bool(zip_code and zip_code.strip())
    if not has_street:
        if has_zip and not has_city:
            return [ReasonCode.ADDRESS_ZIP_ONLY]
        if has_city and not has_zip:
            return [ReasonCode.ADDRESS_CITY_ONLY]
        return [ReasonCode.ADDRESS_MISSING]
    kind = street_kind(street.strip())
    if kind == "po_box":
        return [] if rules.allow_po_box else [ReasonCode.ADDRESS_PO_BOX]
    if kind == "unparseable":
        return [ReasonCode.ADDRESS_UNPARSEABLE]
    has_state = bool(state and state.strip())
    if not (has_zip or (has_city and has_state)):
        return [ReasonCode.ADDRESS_NO_LOCALITY]
    return []


def zip_is_wellformed(zip_code: str) -> bool:
    return bool(_ZIP.match(zip_code.strip()))
