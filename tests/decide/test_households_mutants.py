"""Who counts as sharing the best taxpayer's household: the gaps bench/mutation_bench.py found.

A taxpayer shares the household when it has the best one's house number, street and ZIP, or
its family name in its ZIP. Only those must be told apart from the best; a taxpayer that
matches on one of the three address parts alone is not a housemate.
"""

from __future__ import annotations

from taxgate.decide.rules import decide
from tests.decide.pairs import MODEL_SHA, pair, person, table

A, B = "111111111", "222222222"
STRONG, CLEAR_GAP = 30.0, 10.0


def outcome(subject: dict, other: dict, policy) -> str:
    pairs = [
        pair(subject, person(), weight=STRONG, tin=A),
        pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2),
    ]
    return decide(table(pairs), [1], policy, MODEL_SHA).to_pylist()[0]["outcome"]


SUBJECT = person(dob=None)  # nothing but the name to tell anyone apart with
NAMESAKE = {"given": "JOSE", "family": "GARCIA", "dob": None}  # could be the subject


def test_a_namesake_at_the_same_address_must_be_told_apart(policy) -> None:
    assert outcome(SUBJECT, person(**NAMESAKE), policy) == "NOT_CONFIRMED"


def test_a_namesake_in_the_same_zip_on_another_street_is_no_housemate(policy) -> None:
    other = person(**NAMESAKE, house_number="77", street_name="PECAN ST")
    assert outcome(SUBJECT, other, policy) == "CONFIRMED"


def test_a_namesake_on_the_same_street_at_another_number_is_no_housemate(policy) -> None:
    other = person(**NAMESAKE, house_number="77")
    assert outcome(SUBJECT, other, policy) == "CONFIRMED"


def test_a_namesake_at_the_same_number_on_another_street_is_no_housemate(policy) -> None:
    other = person(**NAMESAKE, street_name="PECAN ST")
    assert outcome(SUBJECT, other, policy) == "CONFIRMED"


def test_the_same_house_and_street_in_another_zip_is_no_housemate(policy) -> None:
    other = person(**NAMESAKE, zip5="10001", city="NEW YORK")
    assert outcome(SUBJECT, other, policy) == "CONFIRMED"


GIVEN_SHARES_A_TOKEN, GIVEN_CLOSE, ELSE = 3, 5, 0  # gamma levels of the shipped model


def test_a_given_name_sharing_only_a_middle_token_neither_corroborates_nor_tells_apart(
    policy,
) -> None:
    """'Quang Van Nguyen' is not 'Hung Van Nguyen': a middle name in common is not the name."""
    subject = person(given="LUISA ANA", dob=None)
    best = person(given="ANA")
    other = person(given="EMILY", dob=None)
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, given=GIVEN_SHARES_A_TOKEN),
        pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, given=ELSE),
    ]
    decided = decide(table(pairs), [1], policy, MODEL_SHA).to_pylist()[0]
    assert decided["outcome"] == "NOT_CONFIRMED"
    assert set(decided["reasons"].split(";")) == {
        "NAME_NOT_CORROBORATED",
        "RELATIVE_NOT_DISTINGUISHED",
    }


def test_a_housemate_whose_given_name_is_closer_outweighs_the_date_of_birth(policy) -> None:
    subject = person(given="DOMINIK")
    best = person(given="DOMINGO")
    other = person(given="DOMINIC", dob=None)
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, given=GIVEN_SHARES_A_TOKEN),
        pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, given=GIVEN_CLOSE),
    ]
    decision = decide(table(pairs), [1], policy, MODEL_SHA).to_pylist()[0]
    assert decision["outcome"] == "NOT_CONFIRMED"
