"""How a value is written versus whose it is (taxgate.decide.written), field by field."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from taxgate.decide.written import (
    Agreement,
    dob_agreement,
    family_agreement,
    given_agreement,
)

W, P, M, D = Agreement.WRITTEN, Agreement.PARTIAL, Agreement.MISSING, Agreement.DIFFERENT


def _tokens(given: str | None) -> list[str] | None:
    return given.split() if given else None


def given(left: str | None, right: str | None, policy, family: str = "CARTER") -> Agreement:
    out = given_agreement(
        pa.array([left], pa.string()),
        pa.array([right], pa.string()),
        pa.array([_tokens(left)], pa.list_(pa.string())),
        pa.array([_tokens(right)], pa.list_(pa.string())),
        pa.array([family], pa.string()),
        pa.array([family], pa.string()),
        policy.decision,
    )
    return Agreement(int(out[0]))


def family(left: str | None, right: str | None, policy, given_name: str = "ANA") -> Agreement:
    out = family_agreement(
        pa.array([left], pa.string()),
        pa.array([right], pa.string()),
        pa.array([given_name], pa.string()),
        pa.array([given_name], pa.string()),
        policy.decision,
    )
    return Agreement(int(out[0]))


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("MICHAEL", "MICHAEL", W),
        ("MICHEAL", "MICHAEL", W),  # two letters swapped
        ("MICHAL", "MICHAEL", W),  # one letter dropped
        ("MICHELLE", "MICHAEL", D),  # three edits: another name
        ("MARIO", "MARIA", D),  # one edit, but the other form of the name: another person
        ("LUIS", "LUISA", D),
        ("DANIELA", "DANIEL", D),
        ("MARIO", "MRAIO", W),  # a transposition stays a typo
        ("FANG", "YANG", P),  # four letters: one edit may be another name, never WRITTEN
        ("JOSE MIGUEL", "JOSE PEDRO", D),  # compound given names that part: two people
        ("JOSE MIGUEL", "JOSE", W),  # the second name left off: just shorter
        ("QUANG VAN", "HUNG VAN", D),  # only the middle name in common
        ("JENNIFER", "LISA JENNIFER", D),  # only among the other's names
        ("CINDY", "CYNTHIA", W),  # a nickname the package knows
        ("BILL", "WILLIAM", W),
        ("BOB", "ROBE RT", W),  # a nickname read through a stray space
        ("J", "JOHN", P),  # an initial
        ("ALEX", "ALEXANDRA", W),  # a nickname too
        ("CHRISTO", "CHRISTOPHER", P),  # the beginning of the name
        ("YNAN", "YAN", P),  # a short name within one edit: a second identifier must agree
        ("MARY ANN", "MARYANN", W),  # spacing
        ("JOSE LUIS", "LUIS JOSE", W),  # given and middle names swapped
        (None, "JOHN", M),
    ],
)
def test_given_names_written_differently_agree_and_other_names_do_not(
    policy, left, right, expected
) -> None:
    assert given(left, right, policy) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("GARCIA LOPEZ", "GARCIA LOPEZ", W),
        ("GARCIA", "GARCIA LOPEZ", W),  # a second surname dropped
        ("LOPEZ GARCIA", "GARCIA LOPEZ", W),  # surnames moved
        ("DELA CRUZ", "DELACRUZ", W),  # a space
        ("HERNANDES", "HERNANDEZ", W),  # one letter
        ("LFIU", "LIU", P),  # short: a second identifier must agree
        ("RODRIGUEZ VELASQUEZ", "RODRIGUEZ LOPEZ", P),  # one surname of two in common
        ("BARNES", "CARTER", D),
        ("SMITH", None, M),
    ],
)
def test_family_names_written_differently_agree_and_other_families_do_not(
    policy, left, right, expected
) -> None:
    assert family(left, right, policy) == expected


def test_a_name_sent_reversed_agrees_on_both_fields(policy) -> None:
    out = family_agreement(
        pa.array(["JOSE"]), pa.array(["GARCIA"]), pa.array(["GARCIA"]), pa.array(["JOSE"]),
        policy.decision,
    )  # fmt: skip
    assert Agreement(int(out[0])) == W


def test_birth_dates_one_edit_apart_agree_and_other_dates_contradict() -> None:
    levels = np.array([3, 2, 1, 0, -1])
    assert [Agreement(int(v)) for v in dob_agreement(levels)] == [W, W, P, D, M]


def test_edit_limits_come_from_the_policy(policy) -> None:
    strict = policy.model_copy(
        update={"decision": policy.decision.model_copy(update={"name_max_edits": 0})}
    )
    assert given("MICHEAL", "MICHAEL", policy) == W
    assert given("MICHEAL", "MICHAEL", strict) == D
