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
import zipcodes
from scourgify.address_constants import DIRECTIONAL_REPLACEMENTS, STREET_TYPE_ABBREVIATIONS

from taxgate.formats.codes import ReasonCode
from taxgate.gate.placeholders import FieldPlaceholders
from taxgate.normalize.address import STATE_CODES, STATE_NAMES, URBANIZATION_PREFIX, state_code
from taxgate.normalize.columns import per_distinct
from taxgate.normalize.text import fold, fold_array, skeleton_array, visible_array
from taxgate.policy.model import AddressRules, load_policy

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
ZIP_TOKEN_LENGTHS = (5, 9)  # a ZIP code written inside a street line, ZIP5 or ZIP+4 run together
ZIP4_LENGTH = 4


def _mask(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False), dtype=bool)


def present(values: pa.Array) -> np.ndarray:
    """Not null and holding a letter or a digit: white space, invisible characters (zero-width
    or non-breaking spaces, a byte-order mark) and punctuation alone ("-", "?") are nothing."""
    found = _mask(pc.match_substring_regex(values, "[A-Za-z0-9]"))
    # Only text beyond ASCII needs Unicode's letter and digit classes, looked at in Python
    # (a Unicode class compiled into an Arrow expression costs milliseconds every call).
    ascii_or_null = np.asarray(pc.fill_null(pc.string_is_ascii(values), True), dtype=bool)
    rest = np.flatnonzero(~found & ~ascii_or_null)
    for i, text in zip(rest, values.take(pa.array(rest)).to_pylist(), strict=True):
        found[i] = any(c.isalnum() for c in text)
    return found


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
    folded = pc.replace_substring_regex(folded, URBANIZATION_PREFIX, "")
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
    unit: pa.Array | None = None

    def field(self, name: str) -> pa.Array | None:
        return getattr(self, name)


@dataclass(frozen=True)
class ZipDirectory:
    """Every ZIP code the Postal Service has issued (offline `zipcodes`), with its state.

    Territories are in it (Puerto Rico, Guam, the Virgin Islands, American Samoa's 96799 and the
    Northern Marianas' 96950-96952), and so are the military ZIPs of AA, AE and AP.
    """

    zip5: pa.Array
    zip_state: pa.Array  # "ZIP5 STATE"
    military: pa.Array
    cities: dict[str, frozenset[str]]  # ZIP5 -> folded words of its city names
    states: dict[str, frozenset[str]]  # ZIP5 -> the state codes it serves


@lru_cache(maxsize=1)
def zip_directory() -> ZipDirectory:
    rows = zipcodes.list_all()
    cities: dict[str, set[str]] = {}
    states: dict[str, set[str]] = {}
    for z in rows:
        words = cities.setdefault(z["zip_code"], set())
        for name in [z["city"], *z.get("acceptable_cities", [])]:
            words.update(fold(name).split())
        states.setdefault(z["zip_code"], set()).add(z["state"])
    return ZipDirectory(
        zip5=pa.array(sorted({z["zip_code"] for z in rows})),
        zip_state=pa.array(sorted({f"{z['zip_code']} {z['state']}" for z in rows})),
        military=pa.array(
            sorted({z["zip_code"] for z in rows if z["zip_code_type"] == "MILITARY"})
        ),
        cities={k: frozenset(v) for k, v in cities.items()},
        states={k: frozenset(v) for k, v in states.items()},
    )


def state_codes(values: pa.Array) -> pa.Array:
    """Per row the two-letter code of a state, territory or military 'state' (name or code,
    any case: 'Puerto Rico', ' pr ', 'Texas'); null when it names none."""
    (codes,) = per_distinct(visible_array(values), lambda s: (state_code(s),), (pa.string(),))
    return codes


_STATE_WORDS = frozenset(STATE_CODES) | {w for name in STATE_NAMES for w in name.split()}


@lru_cache(maxsize=128)
def _state_words(code: str) -> frozenset[str]:
    """The words that can spell state `code` on a street line: its code and its names."""
    return frozenset(
        {code} | {w for name, c in STATE_NAMES.items() if c == code for w in name.split()}
    )


def _locality_only(street: str, city: str, state: str | None, zip5: str | None) -> str:
    """'zip' or 'city' when a street line holds nothing but a ZIP code, a city and a state
    ('78201 SAN ANTONIO', 'SAN ANTONIO TX 78201'); '' when it holds anything else.

    A word counts as locality only if it is the request's own: its ZIP (any issued ZIP when the
    request gives none), the request's city and state, and the city and state of that ZIP. A
    five-digit house number that is some other ZIP, before a street named like that ZIP's city
    with a suffix that spells another state ('15554 WASHINGTON CT': CT is also Connecticut), is
    a street.
    """
    tokens = street.split()
    directory = zip_directory()

    def is_zip(token: str) -> bool:
        if len(token) not in ZIP_TOKEN_LENGTHS or not token.isdigit():
            return False
        return token[:5] == zip5 if zip5 else token[:5] in directory.states

    zips = [t for t in tokens if is_zip(t)]
    if zips and tokens.index(zips[-1]) + 1 < len(tokens):
        after = tokens[tokens.index(zips[-1]) + 1]
        if len(after) == ZIP4_LENGTH and after.isdigit():
            zips.append(after)  # "78201-1234" folds to "78201 1234"
    words = set(city.split()) | (_state_words(state) if state else _STATE_WORDS)
    for z in zips:
        words |= directory.cities.get(z[:5], frozenset())
        for served in directory.states.get(z[:5], frozenset()):
            words |= _state_words(served)
    rest = [t for t in tokens if t not in zips and t not in words]
    if rest:
        return ""
    if zips:
        return "zip"
    return "city" if set(tokens) & set(city.split()) else ""


def _locality_streets(
    street_f: pa.Array, city_f: pa.Array, states: pa.Array, zip5: pa.Array, wanted: np.ndarray
) -> np.ndarray:
    """Per row '', 'zip' or 'city' (see `_locality_only`); only street lines that could be one
    (a five-digit word, or no house number in front) are looked at in Python."""
    out = np.full(len(street_f), "", dtype=object)
    could = _mask(pc.match_substring_regex(street_f, r"(?:^|\s)\d{5}(?:\d{4})?(?:\s|$)"))
    could |= ~_mask(pc.match_substring_regex(street_f, r"^\d"))
    rows = np.flatnonzero(could & wanted)
    if not len(rows):
        return out
    take = pa.array(rows)
    for i, s, c, st, z in zip(
        rows,
        street_f.take(take).to_pylist(),
        city_f.take(take).to_pylist(),
        states.take(take).to_pylist(),
        zip5.take(take).to_pylist(),
        strict=True,
    ):
        out[i] = _locality_only(s, c or "", st, z)
    return out


def address_findings(
    columns: AddressColumns, rules: AddressRules, placeholders: FieldPlaceholders
) -> list[tuple[ReasonCode, str, np.ndarray]]:
    """(code, field, rows) of every address rule. A row earns at most one code about its street
    (placeholder, ZIP- or city-only, missing, PO box, military, unparseable, no locality), and
    besides that the ZIP codes of its ZIP (unknown, or of another state)."""
    street_f, city_f = fold_array(columns.street), fold_array(columns.city)
    n = len(street_f)
    out: list[tuple[ReasonCode, str, np.ndarray]] = []
    placeholder = np.zeros(n, dtype=bool)
    for name in ("street", "unit", "city", "state", "zip"):
        values = columns.field(name)
        if values is None:
            continue
        rows = placeholders.mask(name, values)
        if name == "street":
            rows |= _street_placeholder(skeleton_array(values), placeholders)
        out.append((ReasonCode.ADDRESS_PLACEHOLDER, name, rows))
        placeholder |= rows

    states = state_codes(columns.state)
    zip_text = pc.utf8_trim_whitespace(visible_array(columns.zip))
    zip_shaped = _mask(pc.match_substring_regex(zip_text, ZIP))
    zip5 = pc.if_else(pa.array(zip_shaped), pc.utf8_slice_codeunits(zip_text, 0, 5), None)
    directory = zip_directory()
    zip_known = _mask(pc.is_in(zip5, value_set=directory.zip5))
    has_state = _mask(pc.is_valid(states))
    keys = pc.binary_join_element_wise(zip5, states, " ")
    agrees = _mask(pc.is_in(keys, value_set=directory.zip_state))
    zip_given = zip_shaped & ~placeholder
    out.append((ReasonCode.ADDRESS_ZIP_UNKNOWN, "zip", zip_given & ~zip_known))
    out.append(
        (ReasonCode.ADDRESS_ZIP_STATE_MISMATCH, "zip", zip_given & zip_known & has_state & ~agrees)
    )

    military = _mask(pc.is_in(states, value_set=pa.array(rules.military_states, pa.string())))
    military |= _mask(pc.is_in(city_f, value_set=pa.array(rules.military_cities, pa.string())))
    military |= _mask(pc.is_in(zip5, value_set=directory.military))
    military &= ~placeholder

    has_street = present(columns.street) & ~placeholder
    has_city = _mask(pc.not_equal(city_f, "")) & ~placeholder
    has_zip = present(columns.zip) & ~placeholder
    locality = _locality_streets(street_f, city_f, states, zip5, has_street)
    has_street &= locality == ""
    no_street = ~placeholder & ~has_street
    zip_only = no_street & ((locality == "zip") | ((locality == "") & has_zip & ~has_city))
    city_only = no_street & ((locality == "city") | ((locality == "") & has_city & ~has_zip))
    kinds = _kinds(street_f, has_street & ~military)
    po_box = (kinds == "po_box") & (not rules.allow_po_box)
    street_ok = (kinds == "street") | ((kinds == "po_box") & rules.allow_po_box)
    street_ok |= military & has_street & rules.allow_military
    out += [
        (ReasonCode.ADDRESS_ZIP_ONLY, "street", zip_only),
        (ReasonCode.ADDRESS_CITY_ONLY, "street", city_only),
        (ReasonCode.ADDRESS_MISSING, "street", no_street & ~zip_only & ~city_only),
        (ReasonCode.ADDRESS_PO_BOX, "street", po_box),
        (ReasonCode.ADDRESS_MILITARY, "state", military & has_street & (not rules.allow_military)),
        (ReasonCode.ADDRESS_UNPARSEABLE, "street", kinds == "unparseable"),
        (
            ReasonCode.ADDRESS_NO_LOCALITY,
            "street",
            street_ok & ~(has_zip | (has_city & has_state)),
        ),
    ]
    return out


def _street_placeholder(street_s: pa.Array, placeholders: FieldPlaceholders) -> np.ndarray:
    """'UNKNOWN ADDRESS 78701' and '0 Unknown' are placeholders too: the street without a
    trailing ZIP code or a leading number is looked up as well."""
    hit = np.zeros(len(street_s), dtype=bool)
    for pattern in (_TRAILING_ZIP, _LEADING_NUMBER):
        variant = pc.replace_substring_regex(street_s, pattern, "")
        hit |= placeholders.address.mask(variant)
    return hit


def address_codes(
    columns: AddressColumns, rules: AddressRules, placeholders: FieldPlaceholders
) -> dict[ReasonCode, np.ndarray]:
    """Per address reason code, the rows that earn it (whatever field they concern)."""
    codes: dict[ReasonCode, np.ndarray] = {}
    for code, _, rows in address_findings(columns, rules, placeholders):
        codes[code] = codes.get(code, np.zeros(len(rows), dtype=bool)) | rows
    return codes


def address_problems(
    street: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    rules: AddressRules,
    placeholders: FieldPlaceholders | None = None,
    unit: str | None = None,
) -> list[ReasonCode]:
    """The address codes of one request (the column rules applied to a single row); the
    placeholder lists are the shipped policy's unless given."""
    if placeholders is None:
        placeholders = FieldPlaceholders.from_policy(load_policy())
    cols = AddressColumns(
        *(visible_array(pa.array([v], pa.string())) for v in (street, city, state, zip_code, unit))
    )
    return [code for code, rows in address_codes(cols, rules, placeholders).items() if rows[0]]
