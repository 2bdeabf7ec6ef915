from __future__ import annotations

import re

import pyarrow as pa
import pytest
import usaddress
from hypothesis import given
from hypothesis import strategies as st

from taxgate.formats.codes import ReasonCode
from taxgate.gate.address import PLAIN_STREET, address_problems, street_kind
from taxgate.gate.placeholders import matcher
from taxgate.normalize.text import fold, fold_array

R = ReasonCode


@pytest.fixture
def check(policy):
    def run(street=None, city="Austin", state="TX", zip_code="78701"):
        return address_problems(street, city, state, zip_code, policy.address)

    return run


@pytest.mark.parametrize(
    "street",
    [
        "UNKNOWN ADDRESS",
        "Failed to Provide",
        "failed  to   provide",
        "N/A",
        "n/a",
        "none",
        "General Delivery",
        "HOMELESS",
        "Unknown",
        "UNKNOWN ADDRESS 78701",
        "0 Unknown",
        "Unk.",
        "NO FIXED ADDRESS",
    ],
)
def test_placeholders_are_not_addresses(check, street: str) -> None:
    assert check(street) == [R.ADDRESS_PLACEHOLDER]


def test_placeholder_city_is_caught_too(check) -> None:
    assert check("12 Elm St", city="UNKNOWN") == [R.ADDRESS_PLACEHOLDER]


@pytest.mark.parametrize("street", ["#$%", "-", "\u200b\u00a0", "\ufeff"])
def test_a_street_with_no_letter_or_digit_is_missing(check, street: str) -> None:
    assert check(street) == [R.ADDRESS_MISSING]


def test_zip_alone_and_city_alone_are_not_addresses(check) -> None:
    assert check(None, city=None, state=None) == [R.ADDRESS_ZIP_ONLY]
    assert check("", city=" ", state="TX") == [R.ADDRESS_ZIP_ONLY]
    assert check(None, zip_code=None) == [R.ADDRESS_CITY_ONLY]
    assert check(None, city=None, zip_code=None) == [R.ADDRESS_MISSING]
    assert check(None) == [R.ADDRESS_MISSING]  # city and ZIP but no street


@pytest.mark.parametrize("street", ["asdf qwer", "12", "Main Street", "00 Main St"])
def test_unparseable_streets(check, street: str) -> None:
    assert check(street) == [R.ADDRESS_UNPARSEABLE]


@pytest.mark.parametrize("street", ["PO Box 123", "P.O. Box 9", "Post Office Box 77", "Box 12"])
def test_po_boxes_are_refused_by_default(check, street: str) -> None:
    assert check(street) == [R.ADDRESS_PO_BOX]


def test_po_boxes_pass_when_the_policy_allows(policy) -> None:
    rules = policy.address.model_copy(update={"allow_po_box": True})
    assert address_problems("PO Box 5", "Austin", "TX", "78701", rules) == []


@pytest.mark.parametrize(
    "street",
    [
        "123 N Main St",
        "4500 Sunset Boulevard",
        "12 Calle de la Rosa",
        "1600 Pennsylvania Ave NW",
        "77 west 23rd street",
        "9B Old Mill Rd",
    ],
)
def test_street_addresses_pass(check, street: str) -> None:
    assert check(street) == []


def test_street_needs_city_and_state_or_zip(check) -> None:
    assert check("12 Elm St", city="Austin", state="TX", zip_code=None) == []
    assert check("12 Elm St", city=None, state=None, zip_code="78701") == []
    assert check("12 Elm St", city="Austin", state=None, zip_code=None) == [R.ADDRESS_NO_LOCALITY]


def test_placeholder_match_ignores_case_accents_and_punctuation() -> None:
    streets = fold_array(pa.array([" unknówn-address. ", "12 Unknown Address Rd", None]))
    hits = matcher(["UNKNOWN ADDRESS"]).mask(streets)
    assert hits.tolist() == [True, False, False]


_words = st.sampled_from(["MAIN", "OAK", "ELM", "MARTIN LUTHER KING", "LA ROSA", "23RD", "PARK"])
_suffix = st.sampled_from(["ST", "STREET", "AVE", "AVENUE", "RD", "BLVD", "DR", "LN", "WAY", "CT"])
_dir = st.sampled_from(["", "N ", "S ", "NE ", "WEST "])


@given(number=st.integers(1, 99999), pre=_dir, name=_words, suffix=_suffix)
def test_fast_path_never_accepts_what_usaddress_refuses(number, pre, name, suffix) -> None:
    street = f"{number} {pre}{name} {suffix}"
    if re.match(PLAIN_STREET, fold(street)):
        tags, kind = usaddress.tag(street)
        assert kind == "Street Address" and "AddressNumber" in tags and "StreetName" in tags


@given(st.text(max_size=60))
def test_street_kind_never_raises(text: str) -> None:
    assert street_kind(text) in {"street", "po_box", "unparseable"}


@pytest.mark.parametrize(
    ("street", "city", "state", "zip_code", "code"),
    [
        # the request's own ZIP, as ZIP5 or ZIP+4 run together, after city and state
        ("San Antonio TX 78201", "San Antonio", "TX", "78201", R.ADDRESS_ZIP_ONLY),
        ("San Antonio TX 782011234", "San Antonio", "TX", "78201", R.ADDRESS_ZIP_ONLY),
        # no ZIP given: any issued ZIP, with the request's city and state or the ZIP's own
        ("78201 San Antonio", "San Antonio", "TX", None, R.ADDRESS_ZIP_ONLY),
        ("78201 San Antonio", "San Antonio", "CA", None, R.ADDRESS_ZIP_ONLY),
        ("San Antonio Texas 78201", "", "CA", None, R.ADDRESS_ZIP_ONLY),
    ],
)
def test_a_street_line_of_the_requests_own_locality_is_not_a_street(
    check, street, city, state, zip_code, code
) -> None:
    assert code in check(street, city, state, zip_code)


@pytest.mark.parametrize("street", ["0 Main St", "000 Main St"])
def test_a_house_number_of_zeros_is_no_house_number(check, street: str) -> None:
    assert check(street) != []


def test_a_real_house_number_with_zeros_is_a_street(check) -> None:
    assert check("100 Main St") == [] and check("1000 Main St") == []


def test_a_box_after_a_street_address_is_a_box(check) -> None:
    """usaddress reads '123 Main St Box 4' as a street address holding a box: still a box."""
    assert R.ADDRESS_PO_BOX in check("123 Main St Box 4")
    assert R.ADDRESS_PO_BOX in check("RR 2 Box 15")


@pytest.mark.parametrize(
    ("zip_code", "state", "codes"),
    [
        ("00001", "TX", {R.ADDRESS_ZIP_UNKNOWN}),
        ("10001", "TX", {R.ADDRESS_ZIP_STATE_MISMATCH}),
        ("00000", "TX", {R.ADDRESS_PLACEHOLDER}),
        ("78701", "TX", set()),
    ],
)
def test_a_zip_is_issued_and_of_the_state(check, zip_code: str, state: str, codes: set) -> None:
    assert set(check("12 Main St", "Austin", state, zip_code)) == codes
