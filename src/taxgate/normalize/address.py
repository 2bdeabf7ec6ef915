"""Addresses in USPS Publication 28 form: house number, street name, unit, city, state, ZIP5.

Abbreviations come from scourgify's Pub 28 tables. A street line is split into its house number
and the rest; the rest is parsed once per distinct text (cached), because a street name recurs
with thousands of house numbers across tens of millions of filings. The plain form (optional
directional, name words, a Pub 28 suffix, optional directional, optional unit) is read by a
regular expression; only what it does not fit goes to usaddress (about 0.1 ms a call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
import usaddress
from scourgify.address_constants import (
    CITY_ABBRS,
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STATE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from taxgate.normalize.columns import as_array, per_distinct
from taxgate.normalize.text import fold, fold_array

ZIP5_LENGTH = 5
ZIP_LENGTHS = (ZIP5_LENGTH, 9)  # ZIP5 and ZIP+4 as digits
CACHE_SIZE = 1 << 18
MAX_NAME_WORDS = 6  # street name words the fast path accepts; longer lines go to usaddress
DUMMY_NUMBER = "1"  # usaddress reads a line better with a house number in front
OTHER_STATES: dict[str, str] = {
    "PUERTO RICO": "PR", "GUAM": "GU", "VIRGIN ISLANDS": "VI", "US VIRGIN ISLANDS": "VI",
    "AMERICAN SAMOA": "AS", "NORTHERN MARIANA ISLANDS": "MP",
    "ARMED FORCES AMERICAS": "AA", "ARMED FORCES EUROPE": "AE", "ARMED FORCES PACIFIC": "AP",
}  # fmt: skip
STATE_NAMES: dict[str, str] = {**STATE_ABBREVIATIONS, **OTHER_STATES}
STATE_CODES = frozenset(STATE_NAMES.values())
UNIT_DESIGNATORS = (
    frozenset(OCCUPANCY_TYPE_ABBREVIATIONS) | frozenset(OCCUPANCY_TYPE_ABBREVIATIONS.values())
) - {"#"} | {"NO", "NUM", "NUMBER"}
DIRECTIONS = frozenset(DIRECTIONAL_REPLACEMENTS) | frozenset(DIRECTIONAL_REPLACEMENTS.values())
STREET_TYPES = frozenset(t for t in STREET_TYPE_ABBREVIATIONS if " " not in t)

_DIR = "(?:" + "|".join(sorted(DIRECTIONS)) + ")"
_TYPE = "(?:" + "|".join(sorted(STREET_TYPES)) + ")"
_DESIG = "(?:" + "|".join(sorted(UNIT_DESIGNATORS)) + ")"
_WORD = "[A-Z0-9]+"
_BARE_UNIT = "(?:[0-9]+[A-Z]?|[A-Z][0-9]*)"  # without a designator: needs a digit or one letter
PLAIN_REST = re.compile(
    rf"^(?:(?P<pre>{_DIR}) )?"
    rf"(?P<name>(?:{_WORD} ){{0,{MAX_NAME_WORDS - 1}}}{_WORD}) (?P<type>{_TYPE})"
    rf"(?: (?P<post>{_DIR}))?"
    rf"(?: (?:{_DESIG} (?P<unit>{_WORD}(?: {_WORD})?)|(?P<bare>{_BARE_UNIT})))?$"
)
# A Puerto Rican urbanization written before the house number ("URB LAS GLADIOLAS 150 CALLE A")
# names the development, as a city names a town: the street is what follows it. On folded text.
URBANIZATION_PREFIX = r"^(?:URB|URBANIZACION|URBANIZATION)(?: [A-Z][A-Z0-9]*)+ "
HOUSE_NUMBER = re.compile(r"^(?P<number>[0-9]+[A-Z]?) (?P<rest>.+)$")
_NUMBER_PATTERN = r"^[0-9]+[A-Z]? "
# A house number keyed without its space ("18363BUENA VISTA BLVD") is split from the word it
# touches; an ordinal street name ("1ST AVE", "42ND ST") is left whole. On folded text.
GLUED_NUMBER = r"^([0-9]+)([A-Z]{2,})"
ORDINAL_START = r"^[0-9]+(?:ST|ND|RD|TH)(?: |$)"


@dataclass(frozen=True)
class Street:
    """A standardised street line; every field None when the line is not a street."""

    house_number: str | None = None
    street_name: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class _Rest:
    street_name: str | None
    unit: str | None
    typed: bool  # a street type or a box was found, so it is a street even without a number


def _direction(word: str) -> str:
    return DIRECTIONAL_REPLACEMENTS.get(word, word)


def _street_type(word: str) -> str:
    return STREET_TYPE_ABBREVIATIONS.get(word, word)


def _join(*parts: str | None) -> str | None:
    text = " ".join(p for p in parts if p)
    return text or None


def _plain(rest: str) -> _Rest | None:
    m = PLAIN_REST.match(rest)
    if m is None:
        return None
    pre, post = m["pre"], m["post"]
    name = _join(
        pre and _direction(pre), m["name"], _street_type(m["type"]), post and _direction(post)
    )
    return _Rest(name, unit_id(m["unit"] or m["bare"]), typed=True)


def _parsed(rest: str) -> _Rest:
    try:
        tags, _ = usaddress.tag(f"{DUMMY_NUMBER} {rest}")
    except usaddress.RepeatedLabelError:
        return _Rest(None, None, typed=False)
    unit = unit_id(tags.get("OccupancyIdentifier") or tags.get("SubaddressIdentifier"))
    if "USPSBoxID" in tags:
        return _Rest(_join("PO BOX", tags["USPSBoxID"]), unit, typed=True)
    if "StreetName" not in tags:
        return _Rest(None, None, typed=False)
    pre_type, post_type = tags.get("StreetNamePreType"), tags.get("StreetNamePostType")
    name = _join(
        tags.get("StreetNamePreDirectional") and _direction(tags["StreetNamePreDirectional"]),
        tags.get("StreetNamePreModifier"),
        pre_type and _street_type(pre_type),
        tags["StreetName"],
        post_type and _street_type(post_type),
        tags.get("StreetNamePostDirectional") and _direction(tags["StreetNamePostDirectional"]),
        tags.get("StreetNamePostModifier"),
    )
    return _Rest(name, unit, typed=bool(pre_type or post_type))


@lru_cache(maxsize=CACHE_SIZE)
def _rest(rest: str) -> _Rest:
    """The street line after its house number (folded), parsed once per distinct text."""
    return _plain(rest) or _parsed(rest)


def _street(number: str | None, rest: str | None) -> Street:
    number = (number or "").lstrip("0") or None
    if not rest:
        return Street()
    parsed = _rest(rest)
    if parsed.street_name is None or not (number or parsed.typed):
        return Street()  # "HOMELESS", "UNKNOWN ADDRESS", "0 UNKNOWN": not a street
    return Street(number, parsed.street_name, parsed.unit)


def unglued(folded: str) -> str:
    """'18363BUENA VISTA BLVD' -> '18363 BUENA VISTA BLVD'; '1ST AVE' unchanged."""
    if re.match(ORDINAL_START, folded):
        return folded
    return re.sub(GLUED_NUMBER, r"\1 \2", folded, count=1)


def unglued_array(folded: pa.Array) -> pa.Array:
    """`unglued` over a column with Arrow kernels."""
    split = pc.replace_substring_regex(folded, GLUED_NUMBER, r"\1 \2", max_replacements=1)
    return pc.if_else(pc.match_substring_regex(folded, ORDINAL_START), folded, split)


def standardise_street(street: str | None) -> Street:
    """'123 North Main Street Apt 4B' -> Street('123', 'N MAIN ST', '4B')."""
    folded = unglued(fold(street))
    m = HOUSE_NUMBER.match(folded)
    return _street(m["number"], m["rest"]) if m else _street(None, folded)


@lru_cache(maxsize=CACHE_SIZE)
def unit_id(unit: str | None) -> str | None:
    """'Apt 4B', '#4B', 'Unit 4-B' -> '4B'; a designator alone -> None."""
    tokens = fold(unit).split()
    while tokens and tokens[0] in UNIT_DESIGNATORS:
        tokens.pop(0)
    return "".join(tokens) or None


@lru_cache(maxsize=CACHE_SIZE)
def city_name(city: str | None) -> str | None:
    """Folded city, Pub 28 city abbreviations spelled out: 'St. Louis' -> 'SAINT LOUIS'."""
    return " ".join(CITY_ABBRS.get(t, t) for t in fold(city).split()) or None


@lru_cache(maxsize=CACHE_SIZE)
def state_code(state: str | None) -> str | None:
    """' tx ' -> 'TX', 'Texas' -> 'TX'; None when it names no state."""
    folded = fold(state)
    if folded in STATE_CODES:
        return folded
    return STATE_NAMES.get(folded)


def zip5(code: str | None) -> str | None:
    """'78701', '78701-1234', '787011234' -> '78701'; anything else -> None."""
    digits = re.sub(r"[^0-9]", "", code or "")
    return digits[:ZIP5_LENGTH] if len(digits) in ZIP_LENGTHS else None


def zip5_array(values: pa.Array) -> pa.Array:
    """`zip5` over a column with Arrow kernels."""
    digits = pc.replace_substring_regex(values.cast(pa.string()), r"[^0-9]", "")
    length = pc.utf8_length(digits)
    valid = pc.is_in(length, value_set=pa.array(ZIP_LENGTHS, length.type))
    return pc.if_else(valid, pc.utf8_slice_codeunits(digits, 0, ZIP5_LENGTH), None)


def street_columns(street: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """`standardise_street` over a column: house number, street name, unit (from the line).

    Works on the distinct lines, then on the distinct lines without their house numbers.
    """
    encoded = pc.dictionary_encode(as_array(street).cast(pa.string()))
    folded = unglued_array(
        pc.replace_substring_regex(fold_array(encoded.dictionary), URBANIZATION_PREFIX, "")
    )
    has_number = pc.match_substring_regex(folded, _NUMBER_PATTERN)
    number = pc.replace_substring_regex(
        pc.replace_substring_regex(folded, r" .*$", ""), r"^0+", "", max_replacements=1
    )
    number = pc.if_else(pc.and_(has_number, pc.not_equal(number, "")), number, None)
    rest = pc.if_else(
        has_number,
        pc.replace_substring_regex(folded, _NUMBER_PATTERN, "", max_replacements=1),
        folded,
    )
    name, unit, typed = per_distinct(rest, _rest_fields, (pa.string(), pa.string(), pa.bool_()))
    valid = pc.fill_null(pc.and_(pc.is_valid(name), pc.or_(pc.is_valid(number), typed)), False)
    return tuple(
        pc.if_else(valid, column, None).take(encoded.indices) for column in (number, name, unit)
    )


def _rest_fields(rest: str | None) -> tuple[str | None, str | None, bool]:
    if not rest:
        return None, None, False
    parsed = _rest(rest)
    return parsed.street_name, parsed.unit, parsed.typed
