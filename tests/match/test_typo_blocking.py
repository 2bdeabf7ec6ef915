"""Blocking survives a typo in any one field, and the namesakes blocking cannot show are counted.

Each test takes subjects the world's truth calls confirmable, puts one keying error in one
field of the request, and checks that the true taxpayer is still among the candidates.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from taxgate.match.master import connect
from taxgate.match.predict import candidates

SAMPLE = 40  # confirmable subjects per test: enough to catch a rule that fails, still fast
MIN_CLEAN_FOUND = 0.9  # written as the truth has them, nearly all meet their taxpayer


def _confirmable(subjects_norm: pa.Table, truth: pa.Table) -> tuple[pa.Table, dict[str, str]]:
    tins = {
        r["subject_id"]: r["tin"]
        for r in truth.to_pylist()
        if r["expected_outcome"] == "CONFIRMED" and r["tin"]
    }
    keep = pc.is_in(subjects_norm.column("subject_id"), pa.array(list(tins)))
    chosen = subjects_norm.filter(keep).slice(0, SAMPLE)
    return chosen, tins


def _mistype(value: str | None) -> str | None:
    """One character changed in the middle: a keying error, not another value's shape."""
    if not value or len(value) < 2:
        return value
    at = len(value) // 2
    swap = "X" if not value[at].isdigit() else str((int(value[at]) + 1) % 10)
    return value[:at] + swap + value[at + 1 :]


def _with(table: pa.Table, column: str, values: list) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(
        index, table.schema.field(column), pa.array(values, table.schema.field(column).type)
    )


def _found_share(pairs: pa.Table, chosen: pa.Table, tins: dict[str, str]) -> float:
    found = {(r["subject_id"], r["tin"]) for r in pairs.select(["subject_id", "tin"]).to_pylist()}
    ids = chosen.column("subject_id").to_pylist()
    return sum((sid, tins[sid]) in found for sid in ids) / len(ids)


@pytest.mark.parametrize(
    ("column", "also", "dropped"),
    [
        ("zip5", (), ("tin",)),
        ("family_phonetic", ("family",), ()),
        ("given_phonetic", ("given",), ()),
        ("house_number", (), ()),
        ("street_name", (), ()),
        # A ZIP and a city both off, with nothing else to go on: the house, street and family.
        ("zip5", ("city",), ("tin", "dob")),
    ],
)
def test_the_true_taxpayer_survives_a_typo_in_one_field(
    subjects_norm: pa.Table,
    truth: pa.Table,
    trained_home: Path,
    column: str,
    also: tuple,
    dropped: tuple,
) -> None:
    chosen, tins = _confirmable(subjects_norm, truth)
    clean = _found_share(candidates(chosen, trained_home), chosen, tins)
    assert clean >= MIN_CLEAN_FOUND  # otherwise "as many as before" would say nothing
    mistyped = chosen
    for name in (column, *also):
        mistyped = _with(mistyped, name, [_mistype(v) for v in mistyped.column(name).to_pylist()])
    for name in dropped:  # what would find it anyway, left out as many requests leave it
        mistyped = _with(mistyped, name, [None] * mistyped.num_rows)
    assert _found_share(candidates(mistyped, trained_home), chosen, tins) == clean


AS_FILED = ("house_number", "street_name", "zip5", "city", "given_phonetic", "family_phonetic")


def _as_filed(chosen: pa.Table, tins: dict[str, str], home: Path) -> pa.Table:
    """The chosen subjects whose address and name keys are written as their taxpayer filed them,
    so that the typos a test puts in are the only ones."""
    con = connect(home, read_only=True)
    try:
        filed = set(
            con.execute(f"SELECT tin, {', '.join(AS_FILED)} FROM taxpayer_addresses").fetchall()
        )
    finally:
        con.close()
    keep = [
        (tins[r["subject_id"]], *(r[c] for c in AS_FILED)) in filed
        for r in chosen.select(["subject_id", *AS_FILED]).to_pylist()
    ]
    return chosen.filter(pa.array(keep))


@pytest.mark.parametrize(
    "fields",
    [
        ("street_name", "family", "family_phonetic"),
        ("street_name", "given", "given_phonetic"),
        ("house_number", "family", "family_phonetic"),
        ("house_number", "given", "given_phonetic"),
        ("given", "given_phonetic", "family", "family_phonetic"),
        ("zip5", "street_name"),
        ("zip5", "city"),
        # Three off: only the house number and ZIP with the street's type or an initial remain.
        ("street_name", "city", "family", "family_phonetic"),
        ("street_name", "city", "given", "given_phonetic"),
    ],
)
def test_the_true_taxpayer_survives_several_fields_mistyped(
    subjects_norm: pa.Table, truth: pa.Table, trained_home: Path, fields: tuple[str, ...]
) -> None:
    """Two fields off at once (a name with its phonetic key), or three, with no TIN or birth
    date: a rule over the remaining fields still meets the taxpayer."""
    chosen, tins = _confirmable(subjects_norm, truth)
    chosen = _as_filed(chosen, tins, trained_home)
    assert chosen.num_rows >= SAMPLE // 2
    mistyped = chosen
    for name in fields:
        mistyped = _with(mistyped, name, [_mistype(v) for v in mistyped.column(name).to_pylist()])
    for name in ("tin", "dob"):
        mistyped = _with(mistyped, name, [None] * mistyped.num_rows)
    assert _found_share(candidates(mistyped, trained_home), chosen, tins) == 1.0


def test_the_true_taxpayer_survives_a_zip_a_street_and_a_family_name_all_mistyped(
    subjects_norm: pa.Table, truth: pa.Table, trained_home: Path
) -> None:
    """Three fields off at once: the house number, city and given key still meet, for the
    subjects whose given name is written as their taxpayer filed it."""
    chosen, tins = _confirmable(subjects_norm, truth)
    con = connect(trained_home, read_only=True)
    try:
        filed = {
            (tin, key)
            for tin, key in con.execute(
                "SELECT tin, given_phonetic FROM taxpayer_addresses"
            ).fetchall()
        }
    finally:
        con.close()
    keep = [
        (tins[r["subject_id"]], r["given_phonetic"]) in filed
        for r in chosen.select(["subject_id", "given_phonetic"]).to_pylist()
    ]
    chosen = chosen.filter(pa.array(keep))
    assert chosen.num_rows >= SAMPLE // 2
    mistyped = chosen
    for name in ("zip5", "street_name", "family", "family_phonetic"):
        mistyped = _with(mistyped, name, [_mistype(v) for v in mistyped.column(name).to_pylist()])
    for name in ("tin", "dob"):
        mistyped = _with(mistyped, name, [None] * mistyped.num_rows)
    assert _found_share(candidates(mistyped, trained_home), chosen, tins) == 1.0


def test_namesakes_are_counted_in_the_whole_master(
    subjects_norm: pa.Table, trained_home: Path
) -> None:
    """Other taxpayers who filed from the record's ZIP under its name or under the request's."""
    pairs = candidates(subjects_norm, trained_home)
    con = connect(trained_home, read_only=True)
    try:
        filed: dict[tuple, set[str]] = {}
        for g, f, z, tin in con.execute(
            "SELECT DISTINCT given, family, zip5, tin FROM filings_norm"
        ).fetchall():
            filed.setdefault((g, f, z), set()).add(tin)
    finally:
        con.close()
    rows = pairs.select(
        ["tin", "given_l", "family_l", "zip5_l", "given_r", "family_r", "zip5_r", "namesakes_r"]
    ).to_pylist()

    def expected(r: dict) -> int:
        by_record = filed.get((r["given_r"], r["family_r"], r["zip5_r"]), set())
        by_request = filed.get((r["given_l"], r["family_l"], r["zip5_r"]), set())
        asked = filed.get((r["given_l"], r["family_l"], r["zip5_l"]), set())
        return max(len((by_record | by_request) - {r["tin"]}), len(asked - {r["tin"]}))

    assert rows and all(r["namesakes_r"] == expected(r) for r in rows)
    assert any(r["namesakes_r"] > 0 for r in rows)  # the world has namesakes in a ZIP
    # some namesakes are there only under the request's spelling
    assert any(
        r["namesakes_r"]
        > len(filed.get((r["given_r"], r["family_r"], r["zip5_r"]), set()) - {r["tin"]})
        for r in rows
    )
