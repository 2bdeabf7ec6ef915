from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from taxgate.decide.rules import decide
from taxgate.errors import TaxgateError
from taxgate.policy import Policy, default_policy_path, load_policy
from tests.decide.pairs import MODEL_SHA, pair, person, table

A, B, C = "111111111", "222222222", "333333333"
STRONG = 30.0  # log2 Bayes factor of a clear match: probability 1 - 1e-9
CLEAR_GAP = 10.0  # further apart than the shipped ambiguity margin (5)


def only(candidates: list[dict], policy: Policy, rows: list[int] | None = None) -> dict:
    decisions = decide(table(candidates), rows or [1], policy, MODEL_SHA)
    assert decisions.num_rows == len(rows or [1])
    return decisions.to_pylist()[0]


def reasons(decision: dict) -> set[str]:
    return set((decision["reasons"] or "").split(";")) - {""}


def with_rules(policy: Policy, **changes: object) -> Policy:
    return policy.model_copy(update={"decision": policy.decision.model_copy(update=changes)})


# ---------------------------------------------------------------- address and TIN


def test_clear_match_is_confirmed_with_its_taxpayer(policy) -> None:
    subject = person()
    decision = only([pair(subject, person(), weight=STRONG, tin=A, address_id=7)], policy)
    assert decision["outcome"] == "CONFIRMED"
    assert decision["tin"] == A and decision["address_id"] == "7"
    assert decision["reasons"] is None


def test_right_tin_at_an_address_never_filed_from_is_not_confirmed(policy) -> None:
    subject = person(tin=A, house_number="9", street_name="ELM ST", zip5="78702")
    decision = only([pair(subject, person(), weight=STRONG, tin=A)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert decision["tin"] is None
    assert {"TIN_ONLY", "ADDRESS_NOT_CORROBORATED"} <= reasons(decision)


def test_a_zip_code_is_not_an_address(policy) -> None:
    subject = person(tin=A, house_number="9", street_name="ELM ST")  # same ZIP and city only
    decision = only([pair(subject, person(), weight=STRONG, tin=A)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert "TIN_ONLY" in reasons(decision)


def test_someone_elses_tin_is_not_confirmed(policy) -> None:
    subject = person(
        given="PEDRO", family="RUIZ", tin=A, house_number="9", street_name="ELM ST", dob=None
    )
    owner = person(given="MEI", family="CHEN", house_number="55", street_name="OAK AVE")
    decision = only([pair(subject, owner, weight=STRONG, tin=A)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert {"TIN_ONLY", "ADDRESS_NOT_CORROBORATED", "NAME_NOT_CORROBORATED"} <= reasons(decision)


def test_a_housemates_tin_under_another_name_is_not_confirmed(policy) -> None:
    subject = person(given="PEDRO", family="RUIZ", tin=A, dob=None)
    housemate = person(given="MEI", family="CHEN")  # same address, the TIN is hers
    decision = only([pair(subject, housemate, weight=STRONG, tin=A)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"NAME_NOT_CORROBORATED"}


def test_a_tin_held_by_another_taxpayer_blocks_confirmation(policy) -> None:
    subject = person(tin=B)
    decision = only(
        [
            pair(subject, person(), weight=STRONG, tin=A),
            pair(subject, person(given="ANA", family="RUIZ", zip5="10001"), weight=5.0, tin=B),
        ],
        policy,
    )
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"TIN_CONFLICT"}


@pytest.mark.parametrize(
    ("changes", "corroborated"),
    [
        ({"house_number": "9"}, False),
        ({"street_name": "S MAIN ST"}, False),
        ({"zip5": "78702"}, True),  # city still agrees
        ({"zip5": "78702", "city": "ROUND ROCK"}, False),
    ],
)
def test_address_corroboration_needs_house_street_and_zip_or_city(
    policy, changes, corroborated
) -> None:
    decision = only([pair(person(**changes), person(), weight=STRONG, tin=A)], policy)
    assert (decision["outcome"] == "CONFIRMED") is corroborated
    assert ("ADDRESS_NOT_CORROBORATED" in reasons(decision)) is not corroborated


def test_fuzzy_street_corroborates_only_when_the_policy_says_fuzzy(policy) -> None:
    subject = person(street_name="N MAIN STR")
    pairs = [pair(subject, person(), weight=STRONG, tin=A, street_name=1)]
    assert only(pairs, with_rules(policy, address_level="fuzzy"))["outcome"] == "CONFIRMED"
    for level in ("exact", "tolerant"):  # "MAINSTR" is one edit from "MAINST", but short
        decided = only(pairs, with_rules(policy, address_level=level))
        assert decided["outcome"] == "REVIEW"  # house number, ZIP and city agree: a person can tell
        assert reasons(decided) == {"ADDRESS_NOT_CORROBORATED"}


# ---------------------------------------------------------------- stale addresses


def test_stale_address_confirms_on_the_older_record(policy) -> None:
    subject = person()  # asks about the address the taxpayer filed from years ago
    moved = person(house_number="2", street_name="OAK ST", zip5="73301", city="DALLAS")
    decision = only(
        [
            pair(subject, person(), weight=STRONG, tin=A, address_id=1),
            pair(subject, moved, weight=STRONG - CLEAR_GAP, tin=A, address_id=2),
        ],
        policy,
    )
    assert decision["outcome"] == "CONFIRMED"
    assert decision["address_id"] == "1" and decision["runner_up_tin"] is None


def test_a_corroborated_record_of_the_taxpayer_counts_even_if_another_scores_higher(
    policy,
) -> None:
    subject = person()
    neighbour_number = person(house_number="125")  # same street, ZIP, unit: not corroborated
    decision = only(
        [
            pair(subject, neighbour_number, weight=STRONG + 1, tin=A, address_id=2),
            pair(subject, person(), weight=STRONG, tin=A, address_id=1),
        ],
        policy,
    )
    assert decision["outcome"] == "CONFIRMED"
    assert decision["address_id"] == "1" and decision["match_weight"] == STRONG


# ---------------------------------------------------------------- relatives and namesakes


def twins(subject: dict) -> list[dict]:
    jose, juan = person(given="JOSE"), person(given="JUAN")  # same dob, family, address
    return [
        pair(subject, jose, weight=STRONG, tin=A, address_id=1, given=1),
        pair(subject, juan, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, given=0),
    ]


def test_twin_is_confirmed_when_the_given_name_tells_them_apart(policy) -> None:
    decision = only(twins(person(given="JOSE")), policy)
    assert decision["outcome"] == "CONFIRMED" and decision["tin"] == A
    assert decision["runner_up_tin"] == B


def test_twin_is_confirmed_through_a_typo_that_only_one_twins_name_is_near(policy) -> None:
    decision = only(twins(person(given="JSOE")), policy)  # how José is written, not Juan
    assert decision["outcome"] == "CONFIRMED" and decision["tin"] == A


def test_twin_is_not_confirmed_when_the_typo_is_near_both_names(policy) -> None:
    subject = person(given="JOSS")  # one edit from José and from Josh
    pairs = [
        pair(subject, person(given="JOSE"), weight=STRONG, tin=A, given=5),
        pair(subject, person(given="JOSH"), weight=STRONG - CLEAR_GAP, tin=B, address_id=2,
             given=5),
    ]  # fmt: skip
    decision = only(pairs, policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED"}


# Gamma levels of the shipped model (docs/matching.md) used by the relatives rules below.
GIVEN_CLOSE, GIVEN_ONE_TOKEN, GIVEN_LOOSE, ELSE = 5, 3, 1, 0
DOB_ONE_EDIT = 2
SURNAME_DROPPED = 6


def test_a_typo_still_tells_the_subject_from_a_housemate_with_another_name(policy) -> None:
    subject = person(given="DMINIQUE", family="ROWE", dob=None)
    best = person(given="DOMINIQUE", family="ROWE")
    other = person(given="EMILY", family="ROWE", dob=date(1970, 1, 20))
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, given=GIVEN_CLOSE),
        pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, given=ELSE),
    ]
    assert only(pairs, policy)["outcome"] == "CONFIRMED"
    exact = only(pairs, with_rules(policy, relatives_level="exact"))
    assert reasons(exact) == {"RELATIVE_NOT_DISTINGUISHED"}


def test_a_typo_does_not_tell_apart_a_housemate_whose_name_is_close_too(policy) -> None:
    subject = person(given="DMINIQUE", family="ROWE", dob=None)
    pairs = [
        pair(subject, person(given="DOMINIQUE", family="ROWE"), weight=STRONG, tin=A,
             given=GIVEN_CLOSE),
        pair(subject, person(given="DAMINIQUE", family="ROWE"), weight=STRONG - CLEAR_GAP, tin=B,
             address_id=2, given=GIVEN_CLOSE),
    ]  # fmt: skip
    assert reasons(only(pairs, policy)) == {"RELATIVE_NOT_DISTINGUISHED"}


@pytest.mark.parametrize(
    ("other_dob", "other_level", "confirmed"),
    [
        (date(1955, 3, 3), ELSE, True),  # born another time: the near-miss date tells apart
        (None, -1, False),  # birth date not on file: could be the subject's
        (date(1980, 5, 2), DOB_ONE_EDIT, False),  # as close as the best's
    ],
)
def test_a_date_of_birth_one_edit_off_tells_apart_only_a_clearly_different_one(
    policy, other_dob, other_level, confirmed
) -> None:
    subject = person(given="JOSE", dob=date(1980, 5, 10))
    best = person(given="JOSE", dob=date(1980, 5, 1))
    father = person(given="JOSE", dob=other_dob)
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, dob=DOB_ONE_EDIT),
        pair(subject, father, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, dob=other_level),
    ]
    assert (only(pairs, policy)["outcome"] == "CONFIRMED") is confirmed


def test_the_housemate_bearing_the_subjects_given_name_outweighs_a_shared_birthday(
    policy,
) -> None:
    twin_day = date(1995, 7, 14)
    subject = person(given="MARIA GUADALUPE", family="OCAMPO", dob=twin_day)
    sister = person(given="MARIA EUGENIA", family="OCAMPO GUERRERO", dob=twin_day)
    named = person(given="MARIA GUADALUPE", family="OCAMPO GUERRERO", dob=None)
    pairs = [
        pair(subject, sister, weight=STRONG, tin=A, given=7, family=SURNAME_DROPPED),
        pair(
            subject, named, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, family=SURNAME_DROPPED
        ),
    ]
    decision = only(pairs, policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    # "MARIA EUGENIA" is not "MARIA GUADALUPE": compound given names that part.
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED", "NAME_NOT_CORROBORATED"}


def test_a_housemate_named_as_the_subjects_middle_name_is_not_told_apart(policy) -> None:
    subject = person(given="HUU", given_tokens=["HUU", "MINH"], family="LE", dob=None)
    best = person(given="MINH", given_tokens=["MINH", "HUU"], family="LE")
    other = person(given="MINH", given_tokens=["MINH", "SULLIVAN"], family="LE")
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, given=6),
        pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2,
             given=GIVEN_ONE_TOKEN),
    ]  # fmt: skip
    assert reasons(only(pairs, policy)) == {"RELATIVE_NOT_DISTINGUISHED"}


def jr_sr(subject: dict, father_suffix: str | None = "SR") -> list[dict]:
    son = person(given="JOHN", family="SMITH", suffix="JR", dob=date(1990, 6, 1))
    father = person(given="JOHN", family="SMITH", suffix=father_suffix, dob=date(1962, 2, 3))
    return [
        pair(subject, son, weight=STRONG, tin=A, address_id=1),
        pair(subject, father, weight=STRONG - CLEAR_GAP, tin=B, address_id=2),
    ]


@pytest.mark.parametrize(
    ("suffix", "dob", "father_suffix", "confirmed"),
    [
        ("JR", None, "SR", True),
        ("JR", None, None, True),  # father filed without a suffix: JR still tells them apart
        (None, date(1990, 6, 1), "SR", True),
        (None, None, "SR", False),
        ("SR", None, "SR", False),  # the son's record does not agree on SR
        (None, date(1970, 1, 1), "SR", False),  # a dob that neither has
    ],
)
def test_parent_and_child_need_suffix_or_dob(policy, suffix, dob, father_suffix, confirmed):
    subject = person(given="JOHN", family="SMITH", suffix=suffix, dob=dob)
    decision = only(jr_sr(subject, father_suffix), policy)
    assert (decision["outcome"] == "CONFIRMED") is confirmed
    if not confirmed:
        assert "RELATIVE_NOT_DISTINGUISHED" in reasons(decision)


def test_namesake_in_the_same_zip_needs_a_distinguishing_field(policy) -> None:
    elsewhere = {"house_number": "77", "street_name": "PECAN ST"}  # same name, same ZIP
    for subject_dob, namesake_dob, confirmed in [
        (None, None, False),
        (date(1980, 5, 1), None, True),  # the namesake's dob is not on file: not his
        (date(1980, 5, 1), date(1980, 5, 1), False),
    ]:
        subject = person(dob=subject_dob)
        pairs = [
            pair(subject, person(), weight=STRONG, tin=A),
            pair(
                subject,
                person(dob=namesake_dob, **elsewhere),
                weight=STRONG - CLEAR_GAP,
                tin=B,
                address_id=2,
            ),
        ]
        assert (only(pairs, policy)["outcome"] == "CONFIRMED") is confirmed


@pytest.mark.parametrize(
    "keyed",
    [
        {"zip5": "78711"},  # the namesake's filing: ZIP mistyped, city as filed
        {"street_name": "CHESTNTU PL", "zip5": "78711"},  # street and ZIP both mistyped
        {"city": "AUSTN"},  # city mistyped, ZIP as filed
    ],
)
def test_a_namesake_at_the_address_is_one_whatever_its_filing_mistyped(policy, keyed) -> None:
    # Seed 53 at 1M people: "MICHAEL SMITH" filed at the subject's street and city in ZIP 60640
    # for 60647, no birth date on either, and the subject was confirmed.
    home = {"street_name": "CHESTNUT PL", "dob": None}
    subject, namesake = person(**home), person(**{**home, **keyed})
    levels = {c: 0 for c in ("zip5", "city") if c in keyed}
    if "street_name" in keyed:
        levels["street_name"] = 1  # the model's fuzzy level: the rules read it as written
    best = pair(subject, person(**home), weight=STRONG, tin=A)
    assert only([best], policy)["outcome"] == "CONFIRMED"
    other = pair(subject, namesake, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, **levels)
    decision = only([best, other], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED"}
    # A birth date on the subject's filing alone tells them apart, as at one address.
    born = {**home, "dob": date(1980, 5, 1)}
    told = [
        pair(person(**born), person(**born), weight=STRONG, tin=A),
        pair(person(**born), namesake, weight=STRONG - CLEAR_GAP, tin=B, address_id=2, **levels),
    ]
    assert only(told, policy)["outcome"] == "CONFIRMED"


def test_namesakes_count_at_every_record_of_the_taxpayer_at_the_address(policy) -> None:
    # Seed 29 at 20M people: one return with a mistyped ZIP made a record of its own, and the
    # subject was decided on it; its ZIP had no namesake, the ZIP filed twice had several.
    subject = person(dob=None, zip5="78703")  # the requester's ZIP mistyped too: the city holds
    filed, mistyped = person(dob=None), person(dob=None, zip5="78702")
    pairs = [
        pair(subject, mistyped, weight=STRONG, tin=A, address_id=2, zip5=0, namesakes=0),
        pair(subject, filed, weight=STRONG - 1, tin=A, address_id=1, zip5=0, namesakes=2),
    ]
    decision = only(pairs, policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert decision["address_id"] is None and "RELATIVE_NOT_DISTINGUISHED" in reasons(decision)
    alone = [pairs[0], pair(subject, filed, weight=STRONG - 1, tin=A, zip5=0, namesakes=0)]
    assert only(alone, policy)["outcome"] == "CONFIRMED"
    # The requester wrote the ZIP of the record without namesakes: the other record's ZIP (a
    # mistyped one, perhaps a real ZIP nearby) is not the one asked about.
    asked = person(dob=None, zip5="78702")
    pairs = [
        pair(asked, mistyped, weight=STRONG, tin=A, address_id=2, namesakes=0),
        pair(asked, filed, weight=STRONG - 1, tin=A, address_id=1, zip5=0, namesakes=2),
    ]
    assert only(pairs, policy)["outcome"] == "CONFIRMED"
    asked = person(dob=None)  # and the ZIP with namesakes, though decided on the other record
    pairs = [
        pair(asked, mistyped, weight=STRONG, tin=A, address_id=2, zip5=0, namesakes=0),
        pair(asked, filed, weight=STRONG - 1, tin=A, address_id=1, namesakes=2),
    ]
    assert only(pairs, policy)["outcome"] == "NOT_CONFIRMED"


def test_every_housemate_must_be_told_apart_not_only_the_runner_up(policy) -> None:
    subject = person(given="JOSE")
    cousin = person(given="JOSE")  # same name and dob at the address, ranked third
    told_apart = twins(subject)
    assert only(told_apart, policy)["outcome"] == "CONFIRMED"
    third = pair(subject, cousin, weight=STRONG - 2 * CLEAR_GAP, tin=C, address_id=3)
    decision = only([*told_apart, third], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED"}


def test_unrelated_taxpayer_elsewhere_needs_no_distinguishing_field(policy) -> None:
    subject = person(given="ANTNOIO", dob=None)  # nothing exact to tell anyone apart with
    other = person(given="ANA", family="RUIZ", house_number="5", zip5="10001", city="NEW YORK")
    decision = only(
        [
            pair(subject, person(given="ANTONIO"), weight=STRONG, tin=A, given=5),
            pair(subject, other, weight=STRONG - CLEAR_GAP, tin=B, address_id=2),
        ],
        policy,
    )
    assert decision["outcome"] == "CONFIRMED"


# ---------------------------------------------------------------- name variants


def test_dropped_second_surname_and_nickname_confirm(policy) -> None:
    subject = person(given="PEPE", given_tokens=["JOSE"], family="GARCIA", dob=None)
    spouse = person(given="MARIA", family="LOPEZ", dob=date(1982, 1, 9))  # same address
    # Only the canonical given name (PEPE -> JOSE) tells the taxpayer from the spouse.
    decision = only(
        [
            pair(subject, person(), weight=STRONG, tin=A, given=2, family=3),
            pair(subject, spouse, weight=STRONG - 2 * CLEAR_GAP, tin=B, address_id=2),
        ],
        policy,
    )
    assert decision["outcome"] == "CONFIRMED" and decision["tin"] == A


def test_another_family_name_at_the_address_is_not_the_subject(policy) -> None:
    subject = person(given="JOSE ANTONIO", given_tokens=["JOSE", "ANTONIO"], family="PAEZ RIVERA")
    lodger = person(given="JOSE MANUEL", given_tokens=["JOSE", "MANUEL"], family="GARCIA ROJAS")
    decision = only([pair(subject, lodger, weight=STRONG, tin=A, given=7)], policy)
    # Another compound given name and another family: not the subject, even born the same day.
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"NAME_NOT_CORROBORATED"}
    lodger = {**lodger, "given": "JOSE ANTONIO", "given_tokens": ["JOSE", "ANTONIO"]}
    decision = only([pair(subject, lodger, weight=STRONG, tin=A, given=8)], policy)
    # The same given name, born the same day: a married name a person can recognise, never an
    # automatic answer.
    assert decision["outcome"] == "REVIEW"
    assert reasons(decision) == {"NAME_NOT_CORROBORATED"}
    born_apart = {**lodger, "dob": date(1981, 7, 9)}
    decision = only([pair(subject, born_apart, weight=STRONG, tin=A, given=7, dob=0)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"NAME_NOT_CORROBORATED", "DOB_CONTRADICTS"}


def test_a_shared_surname_at_the_address_is_not_enough(policy) -> None:
    """The 20M-people run's wrongful disclosure: only a surname and the address agreed."""
    subject = person(given="JOSE ANTONIO", family="RODRIGUEZ VELASQUEZ", dob=date(1973, 11, 13))
    relative = person(given="MARIA", family="RODRIGUEZ LOPEZ", dob=date(1969, 2, 3))
    decision = only([pair(subject, relative, weight=STRONG, tin=A, family=4, dob=0)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"NAME_NOT_CORROBORATED", "DOB_CONTRADICTS"}
    # Another given name (one the nickname table lacks) with the very date of birth speaks.
    same_birth = person(given="PEPITO", family="RODRIGUEZ LOPEZ", dob=date(1973, 11, 13))
    decision = only([pair(subject, same_birth, weight=STRONG, tin=A, family=4)], policy)
    assert decision["outcome"] == "CONFIRMED"


def test_a_reversed_name_corroborates_even_where_the_family_field_disagrees(policy) -> None:
    subject = person(given="GARCIA LOPEZ", family="JOSE", dob=None)
    decision = only([pair(subject, person(), weight=STRONG, tin=A, given=0, family=0)], policy)
    assert decision["outcome"] == "CONFIRMED"


def test_reversed_name_still_tells_the_taxpayer_from_the_spouse(policy) -> None:
    subject = person(given="GARCIA LOPEZ", family="JOSE", dob=None)  # given and family swapped
    spouse = person(given="MARIA", family="GARCIA LOPEZ", dob=date(1982, 1, 9))
    pairs = [
        pair(subject, person(), weight=STRONG, tin=A, given=1, family=1),
        pair(subject, spouse, weight=STRONG - 2 * CLEAR_GAP, tin=B, address_id=2),
    ]
    assert only(pairs, policy)["outcome"] == "CONFIRMED"
    namesake_twin = person(given="JOSE", family="GARCIA LOPEZ")  # same full name: no help
    pairs[1] = pair(subject, namesake_twin, weight=STRONG - 2 * CLEAR_GAP, tin=B, address_id=2)
    assert only(pairs, policy)["outcome"] == "NOT_CONFIRMED"


@pytest.mark.parametrize(
    ("subject_middle", "namesake_middle"),
    [(None, "THI"), ("THI", "THU"), ("THI", None)],
)
def test_a_middle_name_does_not_tell_namesakes_apart(
    policy, subject_middle, namesake_middle
) -> None:
    def with_middle(middle: str | None, **values: object) -> dict:
        return person(given_tokens=["LINH", middle] if middle else ["LINH"], **values)

    subject = with_middle(subject_middle, given="LINH", family="NGUYEN", dob=None)
    best = with_middle(subject_middle, given="LINH", family="NGUYEN")
    namesake = with_middle(namesake_middle, given="LINH", family="NGUYEN")
    pairs = [
        pair(subject, best, weight=STRONG, tin=A),
        pair(subject, namesake, weight=STRONG - 2 * CLEAR_GAP, tin=B, address_id=2),
    ]
    for p in pairs:  # sent in reversed order, as a requester might
        p["given_l"], p["family_l"] = "NGUYEN", "LINH"
    decision = only(pairs, policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED"}


@pytest.mark.parametrize(
    ("subject", "best", "relative"),
    [
        (  # reversed, second surname dropped: written tokens lie within the relative's
            person(given="GARCIA", given_tokens=["GARCIA"], family="JOSE", dob=None),
            person(given="JOSE", family="GARCIA"),
            person(given="JOSE", family="GARCIA LOPEZ"),
        ),
        (  # nickname: canonical tokens lie within the relative's compound given name
            person(given="PEPE", given_tokens=["JOSE"], family="GARCIA", dob=None),
            person(given="JOSE", family="GARCIA"),
            person(given="JOSE LUIS", family="GARCIA"),
        ),
    ],
)
def test_a_relative_whose_name_contains_the_subjects_is_not_told_apart(
    policy, subject, best, relative
) -> None:
    pairs = [
        pair(subject, best, weight=STRONG, tin=A, given=2),
        pair(subject, relative, weight=STRONG - 2 * CLEAR_GAP, tin=B, address_id=2),
    ]
    decision = only(pairs, policy)
    assert reasons(decision) == {"RELATIVE_NOT_DISTINGUISHED"}


# ---------------------------------------------------------------- ambiguity margin


def two_strangers(gap: float) -> list[dict]:
    subject = person()
    stranger = person(house_number="8", street_name="ELM ST", family="PEREZ")
    return [
        pair(subject, person(), weight=STRONG, tin=A),
        pair(subject, stranger, weight=STRONG - gap, tin=B, address_id=2),
    ]


def test_runner_up_exactly_at_the_margin_is_ambiguous(policy) -> None:
    decision = only(two_strangers(policy.decision.ambiguity_margin), policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert reasons(decision) == {"AMBIGUOUS_RUNNER_UP"}
    assert decision["runner_up_tin"] == B


def test_runner_up_just_inside_the_margin_is_ambiguous(policy) -> None:
    decision = only(two_strangers(policy.decision.ambiguity_margin - 0.01), policy)
    assert reasons(decision) == {"AMBIGUOUS_RUNNER_UP"}


def test_runner_up_just_outside_the_margin_is_not(policy) -> None:
    decision = only(two_strangers(policy.decision.ambiguity_margin + 0.01), policy)
    assert decision["outcome"] == "CONFIRMED"


def test_equal_best_taxpayers_are_ambiguous(policy) -> None:
    decision = only(two_strangers(0.0), policy)
    assert decision["outcome"] == "NOT_CONFIRMED" and decision["tin"] is None


def test_several_records_of_one_taxpayer_are_not_a_runner_up(policy) -> None:
    subject = person()
    decision = only(
        [
            pair(subject, person(), weight=STRONG, tin=A, address_id=1),
            pair(subject, person(unit="4B"), weight=STRONG - 0.5, tin=A, address_id=2),
        ],
        policy,
    )
    assert decision["outcome"] == "CONFIRMED" and decision["runner_up_tin"] is None


# ---------------------------------------------------------------- thresholds


def at_probability(probability: float) -> list[dict]:
    return [pair(person(), person(), weight=STRONG, tin=A, probability=probability)]


def test_thresholds_are_inclusive_and_bands_are_right(policy) -> None:
    confirm, review = policy.decision.confirm_threshold, policy.decision.review_threshold
    step = 1e-9
    assert only(at_probability(confirm), policy)["outcome"] == "CONFIRMED"
    below = only(at_probability(confirm - step), policy)
    assert below["outcome"] == "REVIEW" and below["tin"] == A
    assert reasons(below) == {"BELOW_CONFIRM"}
    assert only(at_probability(review), policy)["outcome"] == "REVIEW"
    low = only(at_probability(review - step), policy)
    assert low["outcome"] == "NOT_CONFIRMED" and low["tin"] is None
    assert reasons(low) == {"BELOW_REVIEW"}


def test_review_band_without_address_is_not_confirmed(policy) -> None:
    middle = (policy.decision.confirm_threshold + policy.decision.review_threshold) / 2
    subject = person(house_number="9", zip5="10001", city="NEW YORK")  # only the street agrees
    decision = only([pair(subject, person(), weight=STRONG, tin=A, probability=middle)], policy)
    assert decision["outcome"] == "NOT_CONFIRMED"
    assert {"BELOW_CONFIRM", "ADDRESS_NOT_CORROBORATED"} <= reasons(decision)


def test_thresholds_come_from_the_policy_file(tmp_path: Path) -> None:
    text = default_policy_path().read_text(encoding="utf-8")
    stricter = tmp_path / "policy.toml"
    stricter.write_text(
        text.replace("confirm_threshold = 0.99", "confirm_threshold = 0.9999"), encoding="utf-8"
    )
    pairs = at_probability(0.999)
    assert only(pairs, load_policy())["outcome"] == "CONFIRMED"
    assert only(pairs, load_policy(stricter))["outcome"] == "REVIEW"


# ---------------------------------------------------------------- the decision record


def test_decisions_carry_policy_and_model_identity(policy) -> None:
    decisions = decide(
        table([pair(person(), person(), weight=STRONG, tin=A)]), [1, 2], policy, MODEL_SHA
    )
    assert decisions.column("policy_sha256").to_pylist() == [policy.sha256] * 2
    assert decisions.column("policy_version").to_pylist() == [policy.version] * 2
    assert decisions.column("model_sha256").to_pylist() == [MODEL_SHA] * 2


def test_a_decision_without_a_model_hash_is_refused(policy) -> None:
    with pytest.raises(TaxgateError, match="model SHA-256"):
        decide(table([]), [1], policy, "")


def test_one_decision_per_gated_subject_in_row_order(policy) -> None:
    subject = person()
    pairs = [
        pair(subject, person(), weight=STRONG, tin=A, row=5, subject_id="S-5"),
        pair(subject, person(), weight=STRONG, tin=A, row=2, subject_id="S-2"),
    ]
    gated = pa.table({"row": [5, 3, 2], "subject_id": ["S-5", "S-3", "S-2"]})
    decisions = decide(table(pairs), gated, policy, MODEL_SHA).to_pylist()
    assert [(d["row"], d["subject_id"], d["outcome"]) for d in decisions] == [
        (2, "S-2", "CONFIRMED"),
        (3, "S-3", "NOT_CONFIRMED"),
        (5, "S-5", "CONFIRMED"),
    ]
    assert decisions[1]["reasons"] == "NO_CANDIDATES"


def test_pairs_for_a_subject_the_gate_rejected_are_refused(policy) -> None:
    pairs = [pair(person(), person(), weight=STRONG, tin=A, row=4)]
    with pytest.raises(TaxgateError, match="not among the subjects that passed the gate"):
        decide(table(pairs), [1, 2], policy, MODEL_SHA)


def test_candidates_missing_a_contract_column_are_refused(policy) -> None:
    pairs = table([pair(person(), person(), weight=STRONG, tin=A)]).drop_columns(["gamma_zip5"])
    with pytest.raises(TaxgateError, match="gamma_zip5"):
        decide(pairs, [1], policy, MODEL_SHA)


def test_explanation_lists_top_candidates_with_field_levels_and_weights(policy) -> None:
    decision = only(twins(person(given="JOSE")), policy)
    document = json.loads(decision["explanation"])
    assert [c["tin"] for c in document["candidates"]] == [A, B]
    runner_up = document["candidates"][1]
    assert runner_up["levels"]["given"] == 0
    assert runner_up["weights"]["given"] == pytest.approx(-3.0)
    assert runner_up["weights"]["dob"] == pytest.approx(5.0)
    assert document["candidates"][1]["household"] is True
    assert document["checks"]["weight_gap"] == pytest.approx(CLEAR_GAP)
    assert "JOSE" not in decision["explanation"]  # no compared values in the record


@pytest.mark.parametrize(
    ("asked", "filed", "confirmed"),
    [
        # Both names short of the other: another person of the household as much as the subject.
        (("JOSE LUIS", "MARTINEZ ALMONTE"), ("JOSE", "MARTINEZ"), False),
        (("JOSE", "LOPEZ CABALLERO"), ("JOSE EMILIO", "LOPEZ"), False),
        (("LOPEZ GARCIA", "JOSE ANGEL"), ("JOSE", "LOPEZ"), False),  # given and family swapped
        # One name written short, the other whole: the subject, as before.
        (("JOSE", "GARCIA LOPEZ"), ("JOSE", "GARCIA"), True),
        (("JOSE", "GARCIA LOPEZ"), ("JOSE LUIS", "GARCIA LOPEZ"), True),
    ],
)
def test_a_name_short_on_both_sides_is_for_a_person_to_judge(
    policy, asked: tuple, filed: tuple, confirmed: bool
) -> None:
    """Without a birth date or a TIN that settles it; with the birth date exact it confirms."""
    given_l, family_l = asked
    given_r, family_r = filed
    subject = person(given=given_l, family=family_l, dob=None)
    record = person(given=given_r, family=family_r)
    decision = only([pair(subject, record, weight=STRONG, tin=A)], policy)
    assert (decision["outcome"] == "CONFIRMED") is confirmed
    if not confirmed:
        assert decision["outcome"] == "REVIEW"
        dated = person(given=given_l, family=family_l)
        assert only([pair(dated, record, weight=STRONG, tin=A)], policy)["outcome"] == "CONFIRMED"
