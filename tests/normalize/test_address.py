"""USPS Pub 28 street lines, units in either place, states, ZIP5; junk gives nulls."""

from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.normalize.address import (
    Street,
    city_name,
    standardise_street,
    state_code,
    street_columns,
    unit_id,
    zip5,
    zip5_array,
)

STREETS = [
    ("123 North Main Street", Street("123", "N MAIN ST", None)),
    ("123 N Main St", Street("123", "N MAIN ST", None)),
    ("4500 Sunset Boulevard", Street("4500", "SUNSET BLVD", None)),
    ("4500 sunset blvd.", Street("4500", "SUNSET BLVD", None)),
    ("77 Southwest Oak Avenue", Street("77", "SW OAK AVE", None)),
    ("12 Main St N", Street("12", "MAIN ST N", None)),
    ("12 Sierra Vista Drive", Street("12", "SIERRA VISTA DR", None)),
    ("100 1st Ave", Street("100", "1ST AVE", None)),
    ("123 North Main Street Apt 4B", Street("123", "N MAIN ST", "4B")),
    ("123 Main St #4B", Street("123", "MAIN ST", "4B")),
    ("123 Main St Unit 4B", Street("123", "MAIN ST", "4B")),
    ("1 El Camino Real", Street("1", "EL CAMINO REAL", None)),
    ("742 Avenue B", Street("742", "AVE B", None)),
    ("12 Calle de la Rosa", Street("12", "CALLE DE LA ROSA", None)),
    ("0123 Main St", Street("123", "MAIN ST", None)),
    # the space after the house number lost in keying; an ordinal street name stays whole
    ("18363Buena Vista Blvd", Street("18363", "BUENA VISTA BLVD", None)),
    ("65BUENA VISTA ST APT 2", Street("65", "BUENA VISTA ST", "2")),
    ("1st Ave", Street(None, "1ST AVE", None)),
    ("42nd Street", Street(None, "42ND ST", None)),
    ("3RD", Street()),
]


@pytest.mark.parametrize(("line", "expected"), STREETS, ids=[s[0] for s in STREETS])
def test_pub28_street_lines(line: str, expected: Street) -> None:
    assert standardise_street(line) == expected


@pytest.mark.parametrize(
    "junk",
    ["Homeless", "UNKNOWN ADDRESS", "n/a", "0 Unknown", "0Unknown", "", "   ", "123", "###", None],
)
def test_placeholders_and_unparseable_lines_give_nulls(junk: str | None) -> None:
    assert standardise_street(junk) == Street()


def test_the_column_form_agrees_with_the_scalar_form() -> None:
    lines = [s[0] for s in STREETS] + ["Homeless", "0 Unknown", None, "PO Box 12", "Main Street"]
    number, name, unit = street_columns(pa.array(lines, pa.string()))
    got = list(zip(number.to_pylist(), name.to_pylist(), unit.to_pylist(), strict=True))
    want = [tuple(vars(standardise_street(s)).values()) for s in lines]
    assert got == want


@pytest.mark.parametrize("unit", ["Apt 4B", "#4B", "# 4B", "Unit 4B", "apt. 4-b", "4B", "Suite 4B"])
def test_unit_designators_are_dropped(unit: str) -> None:
    assert unit_id(unit) == "4B"


def test_a_designator_alone_is_no_unit() -> None:
    assert unit_id("Apt") is None
    assert unit_id(None) is None


@pytest.mark.parametrize(
    ("state", "code"),
    [("TX", "TX"), (" tx ", "TX"), ("Texas", "TX"), ("new mexico", "NM"),
     ("District of Columbia", "DC"), ("Puerto Rico", "PR"), ("XX", None), ("", None)],
)  # fmt: skip
def test_states_become_two_letter_codes(state: str, code: str | None) -> None:
    assert state_code(state) == code


@pytest.mark.parametrize(
    ("code", "expected"),
    [("78701", "78701"), ("78701-1234", "78701"), ("787011234", "78701"),
     ("78701 1234", "78701"), ("7870", None), ("78701-12", None), ("", None), (None, None)],
)  # fmt: skip
def test_zip5(code: str | None, expected: str | None) -> None:
    assert zip5(code) == expected
    assert zip5_array(pa.array([code], pa.string())).to_pylist() == [expected]


def test_cities_are_folded_with_saint_spelled_out() -> None:
    assert city_name("St. Louis") == city_name("SAINT  LOUIS") == "SAINT LOUIS"
    assert city_name("San José") == "SAN JOSE"
    assert city_name(" ") is None


def test_a_puerto_rican_urbanization_before_the_number_is_not_the_street() -> None:
    from taxgate.normalize.address import street_columns

    lines = pa.array(["URB Las Gladiolas 150 Calle A", "150 Calle A", "Urban Ave 12"])
    number, name, _ = street_columns(lines)
    assert number.to_pylist()[:2] == ["150", "150"]
    assert name.to_pylist() == ["CALLE", "CALLE", "URBAN AVE"]
