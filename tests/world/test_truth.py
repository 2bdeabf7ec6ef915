"""The ground truth is honest: what it calls CONFIRMED is corroborated by the filings.

The checks read the literal strings, so they run on the world without keying errors; the truth
of the noisy world is byte for byte the same (tests/world/test_noise.py)."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from taxgate.formats.codes import Outcome
from taxgate.world.names import normalize_name
from taxgate.world.places import DIRECTIONALS, SUFFIXES

WORDS = {full.upper(): abbr.upper() for full, abbr in DIRECTIONALS}
WORDS |= {full.upper(): abbr.upper() for full, abbr, _ in SUFFIXES}


def street_key(street: str | None, zip_: str | None) -> tuple[str, str]:
    words = re.sub(r"[^A-Z0-9 ]", " ", (street or "").upper()).split()
    return " ".join(WORDS.get(w, w) for w in words), (zip_ or "").strip()[:5]


@pytest.fixture(scope="module")
def filed(clean_world) -> dict[str, list[dict]]:
    by_tin: dict[str, list[dict]] = defaultdict(list)
    for row in clean_world.filings.to_pylist():
        by_tin[row["tin"]].append(row)
    return by_tin


def _name(row: dict) -> tuple[str, str]:
    return normalize_name(row["given_name"]), normalize_name(row["family_name"])


def test_truth_tins_of_filers_are_in_the_filings(clean_world, filed) -> None:
    present = [t for t in clean_world.truth if t["tin"]]
    assert present
    assert all(t["tin"] in filed for t in present)


@pytest.fixture(scope="module")
def namesakes(filed) -> dict[tuple, set[str]]:
    """(normalised given, normalised family, ZIP5) -> TINs that filed from there."""
    out: dict[tuple, set[str]] = defaultdict(set)
    for tin, rows in filed.items():
        for f in rows:
            out[(*_name(f), f["zip"][:5])].add(tin)
    return out


def _judge(s: dict, tin: str, filed, namesakes) -> tuple[bool, bool, bool]:
    """(address filed from, another filer with the name in that ZIP, DOB sent and on file)."""
    keys = {street_key(f["street"], f["zip"]) for f in filed[tin]}
    corroborated = street_key(s["street"], s["zip"]) in keys
    others = namesakes[(*_name(filed[tin][0]), s["zip"].strip()[:5])] - {tin}
    on_file = filed[tin][0]["date_of_birth"]
    dob_ok = bool(s["date_of_birth"]) and on_file is not None
    dob_ok = dob_ok and s["date_of_birth"] == on_file.isoformat()
    return corroborated, bool(others), dob_ok


def test_confirmed_is_corroborated_and_unambiguous(clean_world, filed, namesakes) -> None:
    confirmed = [
        (s, t) for s, t in clean_world.rows() if t["expected_outcome"] == Outcome.CONFIRMED
    ]
    assert confirmed
    for s, t in confirmed:
        corroborated, ambiguous, dob_ok = _judge(s, t["tin"], filed, namesakes)
        assert corroborated, (t["case"], s)
        assert not ambiguous or dob_ok, (t["case"], s)


def test_not_confirmed_filers_are_never_filed_or_ambiguous(clean_world, filed, namesakes) -> None:
    """A valid request about a filer is NOT_CONFIRMED only for a reason the filings show."""
    rows = [
        (s, t)
        for s, t in clean_world.rows()
        if t["tin"] and t["expected_outcome"] == "NOT_CONFIRMED"
    ]
    assert rows
    for s, t in rows:
        corroborated, ambiguous, dob_ok = _judge(s, t["tin"], filed, namesakes)
        assert not corroborated or (ambiguous and not dob_ok), (t["case"], s)


def test_tin_of_someone_else_belongs_to_another_filer(clean_world, filed) -> None:
    rows = [s for s, t in clean_world.rows() if t["case"] == "tin_of_someone_else"]
    assert rows
    for s in rows:
        assert s["tin"] in filed
        assert _name(s) not in {_name(f) for f in filed[s["tin"]]}


def test_never_filed_address_is_not_one_the_filer_used(clean_world, filed) -> None:
    rows = [(s, t) for s, t in clean_world.rows() if t["case"] == "tin_right_address_never_filed"]
    assert rows
    for s, t in rows:
        assert s["tin"] == t["tin"]
        assert street_key(s["street"], s["zip"]) not in {
            street_key(f["street"], f["zip"]) for f in filed[t["tin"]]
        }


def test_stale_address_is_real_but_not_the_last_known(clean_world, filed) -> None:
    rows = [(s, t) for s, t in clean_world.rows() if t["case"] == "stale_address"]
    assert rows
    for s, t in rows:
        history = sorted(filed[t["tin"]], key=lambda f: f["filed_on"])
        last = street_key(history[-1]["street"], history[-1]["zip"])
        mine = street_key(s["street"], s["zip"])
        assert mine != last
        assert mine in {street_key(f["street"], f["zip"]) for f in history}


def test_traps_have_their_nominal_outcome(clean_world) -> None:
    nominal = {
        "household_twin": Outcome.CONFIRMED,
        "relative_same_name_with_dob": Outcome.CONFIRMED,
        "relative_same_name_no_dob": Outcome.NOT_CONFIRMED,
        "namesake_same_zip_with_dob": Outcome.CONFIRMED,
        "namesake_same_zip_no_dob": Outcome.NOT_CONFIRMED,
        "tin_right_address_never_filed": Outcome.NOT_CONFIRMED,
        "absent": Outcome.NOT_CONFIRMED,
        "absent_namesake": Outcome.NOT_CONFIRMED,
    }
    got = defaultdict(list)
    for t in clean_world.truth:
        if t["case"] in nominal:
            got[t["case"]].append(t["expected_outcome"] == nominal[t["case"]])
    assert set(got) == set(nominal)
    for case, ok in got.items():  # twins may share a given name with a parent by chance
        assert sum(ok) / len(ok) >= 0.8, case


def test_relatives_and_namesakes_really_share_name_and_zip(clean_world, filed, namesakes) -> None:
    rows = [(s, t) for s, t in clean_world.rows()
            if t["case"].startswith(("relative_same_name", "namesake_same_zip"))]  # fmt: skip
    assert rows
    for s, t in rows:
        assert len(namesakes[(*_name(filed[t["tin"]][0]), s["zip"][:5])]) >= 2, t
        if t["case"].endswith("with_dob"):
            assert s["date_of_birth"] == filed[t["tin"]][0]["date_of_birth"].isoformat()
        else:
            assert not s["date_of_birth"] and not s["tin"]


def test_twins_share_birth_date_family_and_address(clean_world, filed) -> None:
    rows = [(s, t) for s, t in clean_world.rows() if t["case"] == "household_twin"]
    assert rows
    for _, t in rows:
        me = filed[t["tin"]][-1]
        twins = [
            other for other in clean_world.filings.to_pylist()
            if other["tin"] != t["tin"] and other["street"] == me["street"]
            and other["zip"][:5] == me["zip"][:5]
            and other["family_name"] == me["family_name"]
        ]  # fmt: skip
        assert twins and {o["given_name"] for o in twins} - {me["given_name"]}


def test_absent_people_are_not_in_the_filings(clean_world, filed) -> None:
    for s, t in clean_world.rows():
        if t["case"] in ("absent", "absent_namesake"):
            assert not t["tin"]
            assert not s["tin"] or s["tin"] not in filed


@pytest.mark.parametrize("pair", ["default", "hiding"])
def test_with_noise_namesakes_are_those_the_filings_show(
    pair: str, world, clean_world, hiding_worlds
) -> None:
    """In the noisy world, ambiguity is read off the returns as written: a namesake whose every
    return in the ZIP was mistyped (another given name, a typo, another ZIP) is unknown to
    any reader, and the truth does not hold it against the subject. Addresses and birth
    dates are read from the clean returns (an address typo does not move a filer). The
    "hiding" seed has such a namesake, so the truth there differs from the clean world's."""
    noisy, clean_one = (world, clean_world) if pair == "default" else hiding_worlds
    filed_clean: dict[str, list[dict]] = defaultdict(list)
    for row in clean_one.filings.to_pylist():
        filed_clean[row["tin"]].append(row)
    shown: dict[tuple, set[str]] = defaultdict(set)
    for row in noisy.filings.to_pylist():
        shown[(*_name(row), row["zip"][:5])].add(row["tin"])
    judged = moved = 0
    for (_, t), (c, ct) in zip(noisy.rows(), clean_one.rows(), strict=True):
        if not t["tin"] or t["expected_outcome"] not in ("CONFIRMED", "NOT_CONFIRMED"):
            continue
        corroborated, ambiguous, dob_ok = _judge(c, t["tin"], filed_clean, shown)
        confirmable = corroborated and (not ambiguous or dob_ok)
        assert confirmable == (t["expected_outcome"] == "CONFIRMED"), (t["case"], c)
        judged += 1
        moved += t["expected_outcome"] != ct["expected_outcome"]
    assert judged > 100
    if pair == "hiding":
        assert moved > 0
