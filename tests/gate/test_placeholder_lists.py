"""Every placeholder is refused wherever it stands in for an address, and the policy keeps them.

Two directions: each entry of each placeholder list in the policy is refused (parametrised
from the policy, so an entry added there is tested); and a fixed list of the placeholders the
agreement and the court's findings name, kept here independently of the policy, is refused
too, so dropping one of them from the policy fails a test.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from taxgate.formats.records import Subject
from taxgate.formats.tables import records_to_table
from taxgate.gate.run import check_subjects
from taxgate.policy import Policy, load_policy
from tests.support import BATCH_DATE, valid_row

POLICY = load_policy()

# The fields an address placeholder may stand in: the street line and the city.
FIELDS_OF_LIST: dict[str, tuple[str, ...]] = {
    "address.placeholders": ("street", "city"),
    "placeholders.general": ("investigation_id", "removal_order_case", "city"),
    "placeholders.names": ("given_name", "family_name"),
}
# Lists under a placeholder key that name real values, not placeholders.
NOT_PLACEHOLDERS = ("placeholders.name_exceptions",)
# For a placeholder list this file does not know yet: the text fields it most likely guards.
FALLBACK_FIELDS = ("given_name", "family_name", "street", "city")

# Independent of the policy: what a requester wrote instead of an address in the documented
# failures ("Failed to Provide", "Unknown Address") and the usual refusals to answer. The
# policy must go on refusing every one of them.
KNOWN_PLACEHOLDERS = (
    "UNKNOWN",
    "Unknown Address",
    "Address Unknown",
    "UNK",
    "Failed to Provide",
    "Not Provided",
    "None Provided",
    "REFUSED",
    "Declined",
    "N/A",
    "NA",
    "None",
    "NULL",
    "NIL",
    "TBD",
    "General Delivery",
    "Homeless",
    "Transient",
    "No Address",
    "No Fixed Address",
    "No Known Address",
    "Same",
    "Same as above",
    "XXX",
)


def placeholder_lists(policy: Policy) -> dict[str, list[str]]:
    """Every list in the policy whose key names placeholders, by dotted key."""
    found: dict[str, list[str]] = {}

    def walk(value: object, prefix: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}" if prefix else key)
        elif (
            isinstance(value, list)
            and "placeholder" in prefix.lower()
            and prefix not in NOT_PLACEHOLDERS
        ):
            found[prefix] = [v for v in value if isinstance(v, str)]

    walk(policy.model_dump(mode="python"), "")
    return found


LISTS = placeholder_lists(POLICY)
CASES = [
    pytest.param(key, entry, field, id=f"{key}:{entry}:{field}")
    for key, entries in LISTS.items()
    for entry in entries
    for field in FIELDS_OF_LIST.get(key, ())
]
UNMAPPED = [
    pytest.param(key, entry, id=f"{key}:{entry}")
    for key, entries in LISTS.items()
    if key not in FIELDS_OF_LIST
    for entry in entries
]


def proceeds(rows: list[dict], policy: Policy = POLICY) -> list[bool]:
    table = records_to_table([Subject(**r) for r in rows], "subjects")
    verdicts, _ = check_subjects(table, policy, BATCH_DATE)
    return verdicts.column("proceed").to_pylist()


def reasons(row: dict, policy: Policy = POLICY) -> set[str]:
    table = records_to_table([Subject(**row)], "subjects")
    verdicts, _ = check_subjects(table, policy, BATCH_DATE)
    return set((verdicts.column("reason_codes")[0].as_py() or "").split(";")) - {""}


def test_the_valid_row_proceeds() -> None:
    assert proceeds([valid_row()]) == [True]


def test_the_policy_has_an_address_placeholder_list() -> None:
    assert LISTS.get("address.placeholders"), LISTS


@pytest.mark.parametrize(("key", "entry", "field"), CASES)
def test_every_policy_placeholder_is_refused(key: str, entry: str, field: str) -> None:
    assert proceeds([valid_row(**{field: entry})]) == [False]


def test_every_entry_of_a_new_placeholder_list_is_refused() -> None:
    """A list added to the policy later is checked on the fields it most likely guards."""
    for _key, entry in ((p.values[0], p.values[1]) for p in UNMAPPED):
        assert proceeds([valid_row(**dict.fromkeys(FALLBACK_FIELDS, entry))]) == [False], entry


def test_the_policy_lists_are_all_found() -> None:
    assert set(FIELDS_OF_LIST) <= set(LISTS), LISTS


@pytest.mark.parametrize("field", ["street", "city"])
@pytest.mark.parametrize("word", KNOWN_PLACEHOLDERS)
def test_the_known_placeholders_are_refused(word: str, field: str) -> None:
    row = valid_row(**{field: word})
    assert proceeds([row]) == [False]
    assert "ADDRESS_PLACEHOLDER" in reasons(row)


@pytest.mark.parametrize(
    "spelling", ["refused", " Refused ", "REFUSED.", "Réfused", "n/a", "N.A.", "unknown!", "nUlL"]
)
@pytest.mark.parametrize("field", ["street", "city"])
def test_placeholders_are_refused_whatever_the_case_accents_or_punctuation(
    spelling: str, field: str
) -> None:
    assert proceeds([valid_row(**{field: spelling})]) == [False]


@pytest.mark.parametrize("word", ["REFUSED", "UNKNOWN", "Failed to Provide"])
def test_a_placeholder_with_a_zip_or_a_house_number_is_still_refused(word: str) -> None:
    assert proceeds([valid_row(street=f"{word} 78701"), valid_row(street=f"0 {word}")]) == [
        False,
        False,
    ]


def test_dropping_an_entry_from_the_policy_lets_it_through() -> None:
    """The test above is only worth something if the policy list is what refuses the word."""
    address, lists = POLICY.address, POLICY.placeholders
    lax = POLICY.model_copy(
        update={
            "address": address.model_copy(
                update={"placeholders": [p for p in address.placeholders if p.upper() != "REFUSED"]}
            ),
            "placeholders": lists.model_copy(
                update={"general": [p for p in lists.general if p.upper() != "REFUSED"]}
            ),
        }
    )
    row = valid_row(city="REFUSED")
    assert "ADDRESS_PLACEHOLDER" in reasons(row)
    assert "ADDRESS_PLACEHOLDER" not in reasons(row, lax)


def test_only_the_rows_holding_a_placeholder_are_refused() -> None:
    rows = [valid_row(subject_id=f"S-{i}") for i in range(4)]
    rows[1] = valid_row(subject_id="S-1", city="REFUSED")
    rows[3] = valid_row(subject_id="S-3", street="Unknown Address")
    assert proceeds(rows) == [True, False, True, False]


def test_placeholder_table_column_types_do_not_matter() -> None:
    table = pa.table(
        {name: pa.array([value], pa.string()) for name, value in valid_row(city="REFUSED").items()}
    )
    verdicts, _ = check_subjects(table, POLICY, BATCH_DATE)
    assert verdicts.column("proceed").to_pylist() == [False]
