"""How a street and a city are written (taxgate.decide.streets)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.decide.streets import city_written, street_written


def street(left: str | None, right: str | None, policy) -> bool:
    out = street_written(
        pa.array([left], pa.string()), pa.array([right], pa.string()), policy.decision
    )
    return bool(out[0])


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("BENJAMI N WAY", "BENJAMIN WAY", True),  # a stray space
        ("BENJAMNI WAY", "BENJAMIN WAY", True),  # letters swapped
        ("BENJAMIN WAY", "N BENJAMIN WAY", True),  # a directional added
        ("MAIN ST N", "MAIN ST", True),  # a trailing directional dropped
        ("S MAIN ST", "N MAIN ST", False),  # a directional changed: another street
        ("MAIN AVE", "MAIN ST", False),  # another street type
        ("MAIN AVE", "MARTIN AVE", False),  # a neighbouring street, not a typo
        ("OAKS ST", "OAK ST", False),  # too short to tolerate an edit
        ("BENJAMIN WAY", None, False),
    ],
)
def test_a_street_written_differently_is_the_same_street(policy, left, right, same) -> None:
    assert street(left, right, policy) is same


@pytest.mark.parametrize(("left", "right"), [("11TH CIR", "18TH CIR"), ("E 112TH ST", "E 12TH ST")])
def test_a_digit_changed_is_another_numbered_street(policy, left, right) -> None:
    assert street(left, right, policy) is False


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("ROWVIL LE", "ROWVILLE", True),  # a stray space
        ("GEELONG WEST", "GEELONGWEST", True),  # a space lost
        ("STANUMORE", "STANMORE", True),  # one edit in a long name
        ("EUDKO", "EUDLO", False),  # too short to tolerate an edit: another place
        ("ELY", "ELK", False),
        ("SPRINGFIELD", "SPRINGDALE", False),  # another place
        ("ROWVILLE", None, False),
    ],
)
def test_a_city_written_differently_is_the_same_city(policy, left, right, same) -> None:
    out = city_written(
        pa.array([left], pa.string()), pa.array([right], pa.string()), policy.decision
    )
    assert bool(out[0]) is same
