"""`normalise`: one person as filed and as requested normalises to the same fields."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate.formats.tables import arrow_schema, columns
from taxgate.normalize.records import NORMALISED, normalise, schema
from taxgate.world.distort import drop_accents, unformatted

FILING: dict[str, Any] = {
    "tin": "123456789",
    "tax_year": 2024,
    "filed_on": date(2025, 3, 1),
    "given_name": "José Luis",
    "middle_name": None,
    "family_name": "Hernández-López",
    "suffix": None,
    "date_of_birth": date(1985, 3, 2),
    "street": "123 North Main Street",
    "unit": "Apt 4B",
    "city": "San José",
    "state": "CA",
    "zip": "951101234",
}
SUBJECT: dict[str, str | None] = {
    "subject_id": "S-1",
    "given_name": "José Luis",
    "middle_name": None,
    "family_name": "Hernández López",
    "date_of_birth": "1985-03-02",
    "tin": "123-45-6789",
    "street": "123 N Main St",
    "unit": "#4B",
    "city": "San José",
    "state": "CA",
    "zip": "95110",
}
COMPARED = (
    "given", "given_first", "given_canonical", "given_phonetic", "family_first",
    "family_phonetic", "dob", "tin", "house_number", "street_name", "unit", "city", "state",
    "zip5",
)  # fmt: skip
SEED = 7


def _one(row: dict[str, Any], kind: str) -> dict[str, Any]:
    full = {name: row.get(name) for name in columns(kind)}
    return normalise(pa.Table.from_pylist([full], arrow_schema(kind)), kind).to_pylist()[0]


def _subject(**changes: str | None) -> dict[str, Any]:
    return _one({**SUBJECT, **changes}, "subjects")


def _assert_same_person(subject: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    filing = _one(FILING, "filings")
    for name in COMPARED:
        if name not in skip:
            assert subject[name] == filing[name], name
    assert set(subject["family_tokens"]) <= set(filing["family_tokens"])


def test_the_undistorted_subject_matches_its_filing() -> None:
    _assert_same_person(_subject())
    assert _one(FILING, "filings")["family_tokens"] == ["HERNANDEZ", "LOPEZ"]


def test_accents_dropped() -> None:
    _assert_same_person(_subject(given_name=drop_accents("José Luis"), city="San Jose"))


def test_second_surname_dropped() -> None:
    subject = _subject(family_name="Hernández")
    _assert_same_person(subject)
    assert subject["family_tokens"] == ["HERNANDEZ"]


def test_nickname() -> None:
    _assert_same_person(_subject(given_name="Pepe"), skip=("given", "given_first"))


def test_street_suffix_spelled_out_unit_dropped_and_zip_plus4() -> None:
    _assert_same_person(_subject(street="123 North Main Street", zip="95110-1234"))
    subject = _subject(unit=None)
    _assert_same_person(subject, skip=("unit",))
    assert subject["unit"] is None


def test_unit_in_the_street_line() -> None:
    _assert_same_person(_subject(street="123 N Main St Apt 4B", unit=None))


def test_unformatted_upper_case_extra_spaces_and_punctuation() -> None:
    rng = np.random.default_rng(SEED)
    for _ in range(20):
        messy = unformatted(dict(SUBJECT), rng)
        _assert_same_person(_one(messy, "subjects"))


def test_all_distortions_at_once() -> None:
    messy = unformatted(
        {**SUBJECT, "given_name": "Pepe", "family_name": "HERNANDEZ", "street":
         "123 north main street", "unit": None, "zip": "951101234"},
        np.random.default_rng(SEED),
    )  # fmt: skip
    _assert_same_person(_one(messy, "subjects"), skip=("given", "given_first", "unit"))


def test_suffix_from_any_field_and_middle_names_in_tokens() -> None:
    filing = _one({**FILING, "suffix": "Jr.", "middle_name": "Antonio"}, "filings")
    subject = _subject(family_name="Hernández López, Jr.", middle_name="Antonio")
    assert filing["suffix"] == subject["suffix"] == "JR"
    assert filing["given_tokens"] == subject["given_tokens"] == ["JOSE", "LUIS", "ANTONIO"]
    assert subject["name_tokens"] == ["JOSE", "LUIS", "ANTONIO", "HERNANDEZ", "LOPEZ"]


def test_reversed_order_keeps_every_token() -> None:
    reversed_ = _subject(given_name="Hernández López", family_name="José Luis")
    assert set(reversed_["name_tokens"]) == set(_subject()["name_tokens"])


def test_given_tokens_are_canonical() -> None:
    assert _subject(given_name="Lupe", middle_name="Maru")["given_tokens"] == [
        "GUADALUPE",
        "MARIA",
    ]


def test_bad_dates_and_tins_are_null() -> None:
    for dob in ("1985-02-30", "31/12/1985", "19xx-01-01"):
        assert _subject(date_of_birth=dob)["dob"] is None
    assert _subject(tin="12345678")["tin"] is None


@pytest.mark.parametrize("kind", ["filings", "subjects"])
def test_output_schema_is_exactly_the_documented_one(kind: str) -> None:
    row = FILING if kind == "filings" else SUBJECT
    out = normalise(pa.Table.from_pylist([row], arrow_schema(kind)), kind)
    kept = ["tin", "tax_year", "filed_on"] if kind == "filings" else ["row", "subject_id"]
    assert out.schema == schema(kind)
    assert out.column_names == kept + [f.name for f in NORMALISED if f.name not in kept]
    documented = {f.name: f.type for f in NORMALISED}
    assert documented["given_tokens"] == pa.list_(pa.string())
    assert documented["dob"] == pa.date32()
    assert all(out.schema.field(n).type == t for n, t in documented.items())


def test_subject_rows_are_numbered_from_one_and_empty_is_null() -> None:
    empty = {name: None for name in columns("subjects")}
    rows = [{**empty, **SUBJECT}, empty, {**empty, "given_name": "  "}]
    table = pa.Table.from_pylist(rows, arrow_schema("subjects"))
    out = normalise(table, "subjects").to_pylist()
    assert [r["row"] for r in out] == [1, 2, 3]
    for row in out[1:]:
        assert all(row[f.name] is None for f in NORMALISED), row


TEXT = st.one_of(st.none(), st.text(max_size=30))


@pytest.mark.parametrize("kind", ["filings", "subjects"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_arbitrary_text_never_raises(kind: str, data: st.DataObject) -> None:
    names = columns(kind)
    rows = data.draw(st.lists(st.fixed_dictionaries({n: TEXT for n in names}), max_size=4))
    table = pa.Table.from_pylist(rows, pa.schema([(n, pa.string()) for n in names]))
    out = normalise(table, kind)
    assert out.schema == schema(kind)
    assert out.num_rows == len(rows)


def test_invisible_characters_do_not_change_the_normalised_subject() -> None:
    """The gate passes a value with zero-width or non-breaking spaces around or inside it; the
    normaliser must read it as the same value, or matching would lose the field."""
    noisy = {
        k: f"\ufeff{v}\u200b\u00a0" if isinstance(v, str) and k != "subject_id" else v
        for k, v in SUBJECT.items()
    }
    noisy["date_of_birth"] = "1985\u2060-03-02\u200b"
    noisy["family_name"] = "Hern\u00e1n\u00addez L\u00f3pez"
    _assert_same_person(_subject(**noisy))
