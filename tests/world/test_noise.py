"""Keying errors on both sides: their share, their kinds, and that they leave the truth alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from taxgate.gate.address import zip_directory
from taxgate.world.cases import BY_NAME, INVALID
from taxgate.world.names import normalize_name
from taxgate.world.noise import (
    NOISE_LEVELS,
    NameIndex,
    NoiseSettings,
    char_edit,
    directional,
    draw_errors,
    hides_name,
    initial,
    name_readings,
    spacing,
    world_zip_index,
    zip_typo,
)
from taxgate.world.people import name_zip_key
from taxgate.world.places import zip_table
from taxgate.world.proportions import FILING_NOISE_SHARE, NOISE_KIND_WEIGHTS, REQUEST_NOISE_SHARE

ROW = {
    "given_name": "Guadalupe",
    "family_name": "Hernandez Lopez",
    "street": "4521 N Las Palmas Ave",
    "city": "San Antonio",
    "state": "TX",
    "zip": "78201",
}


def _replacement(rng: np.random.Generator) -> str:
    return ["Rosa", "Juana", "Ana"][int(rng.integers(3))]


# ---------------------------------------------------------------- one error each


@pytest.mark.parametrize("op", ["substitution", "deletion", "insertion", "transposition"])
def test_a_character_edit_changes_one_letter_or_swaps_two(op: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        out = char_edit("Guadalupe", op, rng)
        assert out and out != "Guadalupe"
        assert len(out) - len("Guadalupe") == {"deletion": -1, "insertion": 1}.get(op, 0)
        if op == "transposition":
            assert sorted(out) == sorted("Guadalupe")


def test_a_deletion_never_empties_a_short_name() -> None:
    rng = np.random.default_rng(2)
    assert char_edit("Li", "deletion", rng) is None
    assert char_edit("A", "deletion", rng) is None


def test_spacing_inserts_a_stray_space_or_removes_one() -> None:
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(60):
        out, how = spacing("Las Palmas Ave", rng)
        seen.add(how)
        delta = out.count(" ") - 2
        assert delta == (1 if how == "inserted" else -1)
        assert out.replace(" ", "") == "LasPalmasAve"
    assert seen == {"inserted", "removed"}


def test_a_zip_typo_gives_an_issued_zip_of_the_same_state() -> None:
    rng = np.random.default_rng(4)
    states = zip_directory().states
    kinds = set()
    for _ in range(60):
        out, op = zip_typo("78201-1234", " tx ", rng)
        kinds.add(op)
        assert out.endswith("-1234") and out[:5] != "78201"
        assert "TX" in states[out[:5]]
        differs = [i for i in range(5) if out[i] != "78201"[i]]
        assert len(differs) == (1 if op == "substitution" else 2)
    assert kinds == {"substitution", "transposition"}


def test_a_zip_typo_is_skipped_when_the_state_is_unknown() -> None:
    assert zip_typo("78201", "Atlantis", np.random.default_rng(5)) is None


def test_a_directional_is_dropped_or_added_after_the_house_number() -> None:
    rng = np.random.default_rng(6)
    assert directional("4521 N Las Palmas Ave", rng) == ("4521 Las Palmas Ave", "dropped")
    out, how = directional("4521 Las Palmas Ave", rng)
    assert how == "added" and out.split()[1] in {"N", "S", "E", "W"}
    assert out.split()[2:] == ["Las", "Palmas", "Ave"]


def test_an_initial_is_the_first_letter_and_never_empty() -> None:
    assert initial("guadalupe") == "G"
    assert initial("José Luis") == "J"
    assert initial("J") is None


def test_every_kind_of_error_occurs() -> None:
    rng = np.random.default_rng(7)
    settings = NoiseSettings.of("default")
    labels: Counter[str] = Counter()
    for _ in range(800):
        out, got = draw_errors(dict(ROW), rng, settings, _replacement)
        labels.update(got)
        assert out["given_name"] and out["family_name"] and out["street"]
    kinds = {label.split(":")[0] for label in labels}
    assert kinds == set(NOISE_KIND_WEIGHTS)
    edits = {tuple(label.split(":")[1:]) for label in labels if label.startswith("char_edit")}
    assert {op for op, _ in edits} == {"substitution", "deletion", "insertion", "transposition"}
    assert {field for _, field in edits} == {"given_name", "family_name", "street", "city"}
    assert {label for label in labels if label.startswith("directional")} == {
        "directional:dropped",
        "directional:added",
    }


def test_no_noise_level_noises_nothing() -> None:
    assert NOISE_LEVELS == ("none", "default")
    none = NoiseSettings.of("none")
    assert none.filing_share == 0 and none.request_share == 0


# ---------------------------------------------------------------- in a world


def _differs(a: dict, b: dict) -> bool:
    return any(a[k] != b[k] for k in a)


@pytest.mark.parametrize("pair", ["default", "hiding"])
def test_noise_changes_the_truth_only_where_it_hid_a_namesake(
    pair: str, world, clean_world, hiding_worlds
) -> None:
    """The same subjects and cases; an outcome moves only from NOT_CONFIRMED to CONFIRMED,
    where every return of the namesake in the ZIP reads as another name or ZIP
    (tests/world/test_truth.py checks which). The "hiding" seed has such a move."""
    noisy_world, clean_one = (world, clean_world) if pair == "default" else hiding_worlds

    def sizes(by_case: dict) -> dict:
        return {case: sum(outcomes.values()) for case, outcomes in by_case.items()}

    assert sizes(noisy_world.summary.by_case) == sizes(clean_one.summary.by_case)
    moved = []
    for (_, noisy), (_, clean) in zip(noisy_world.rows(), clean_one.rows(), strict=True):
        assert {**noisy, "expected_outcome": None} == {**clean, "expected_outcome": None}
        if noisy["expected_outcome"] != clean["expected_outcome"]:
            moved.append((clean["expected_outcome"], noisy["expected_outcome"]))
    assert set(moved) <= {("NOT_CONFIRMED", "CONFIRMED")}
    if pair == "hiding":
        assert moved
    if not moved:
        assert noisy_world.summary.by_case == clean_one.summary.by_case


def test_a_share_of_filings_carry_errors(world, clean_world) -> None:
    noisy, clean = world.filings.to_pylist(), clean_world.filings.to_pylist()
    assert len(noisy) == len(clean)
    changed = sum(_differs(a, b) for a, b in zip(noisy, clean, strict=True))
    assert changed == world.summary.noise["noised_filings"]
    assert abs(changed / len(clean) - FILING_NOISE_SHARE) < 0.01
    assert clean_world.summary.noise["noised_filings"] == 0
    assert all(  # errors touch names and address, never who filed or when
        (a["tin"], a["tax_year"], a["date_of_birth"])
        == (b["tin"], b["tax_year"], b["date_of_birth"])
        for a, b in zip(noisy, clean, strict=True)
    )


def test_a_share_of_valid_requests_carry_errors_and_no_invalid_one(world, clean_world) -> None:
    valid = changed = 0
    for (noisy, truth), (clean, _) in zip(world.rows(), clean_world.rows(), strict=True):
        if BY_NAME[truth["case"]].group == INVALID:
            assert noisy == clean, truth["case"]
            continue
        valid += 1
        changed += _differs(noisy, clean)
    assert changed == world.summary.noise["noised_requests"]
    assert abs(changed / valid - REQUEST_NOISE_SHARE) < 0.05


def test_every_kind_of_error_occurs_on_both_sides(world) -> None:
    noise = world.summary.noise
    assert set(noise["filing_errors"]) == set(NOISE_KIND_WEIGHTS)
    assert set(noise["request_errors"]) == set(NOISE_KIND_WEIGHTS)


def test_world_parameters_record_the_noise(world, clean_world) -> None:
    import json

    params = json.loads(world.summary.paths.parameters.read_text())
    assert params["config"]["noise"] == "default"
    assert params["noise"]["filing_share"] == FILING_NOISE_SHARE
    assert params["noise"]["request_share"] == REQUEST_NOISE_SHARE
    clean = json.loads(clean_world.summary.paths.parameters.read_text())
    assert clean["noise"]["level"] == "none" and clean["noise"]["noised_requests"] == 0


def test_noised_zips_exist_in_the_requests_state(world, clean_world) -> None:
    states = zip_directory().states
    slipped = 0
    for (noisy, _), (clean, _) in zip(world.rows(), clean_world.rows(), strict=True):
        if noisy["zip"] != clean["zip"]:
            slipped += 1
            assert noisy["state"].strip().upper() in states[noisy["zip"].strip()[:5]]
    assert slipped


def test_noise_never_makes_a_request_read_as_another_filer(world, clean_world) -> None:
    """A noised request's name in its ZIP is no other filer's name there, clean or as a
    mistyped return shows it (a twin's return filed as "MARIA": 1M people, seed 67)."""
    by_name_zip: dict[tuple[str, str, str], set[str]] = {}
    for f in [*clean_world.filings.to_pylist(), *world.filings.to_pylist()]:
        key = (normalize_name(f["given_name"]), normalize_name(f["family_name"]), f["zip"][:5])
        by_name_zip.setdefault(key, set()).add(f["tin"])
    checked = 0
    for (noisy, truth), (clean, _) in zip(world.rows(), clean_world.rows(), strict=True):
        if noisy == clean or BY_NAME[truth["case"]].group == INVALID:
            continue

        def key(row: dict) -> tuple[str, str, str]:
            zip5 = row["zip"].strip()[:5]
            return normalize_name(row["given_name"]), normalize_name(row["family_name"]), zip5

        if key(noisy) != key(clean):
            checked += 1
            others = by_name_zip.get(key(noisy), set()) - {truth["tin"]}
            assert not others, (truth["case"], noisy, clean)
    assert checked


# ---------------------------------------------------------------- who a noised name reads as

HOUSE_ZIP = "78201"


def _name_index(filers: list[tuple[str, str]]) -> NameIndex:
    """A NameIndex of filers (given, family) in HOUSE_ZIP; every word is a vocabulary name."""
    words = sorted(
        {w for g, f in filers for w in f"{g} {f}".split()} | {"PAOLA", "FRANCIA", "PEREZ"}
    )
    vocab = {w: i for i, w in enumerate(words)}

    def ids(text: str) -> tuple[int, int]:
        parts = [vocab[w] for w in text.split()]
        return parts[0], parts[1] if len(parts) > 1 else -1

    columns = np.array([[*ids(g), *ids(f)] for g, f in filers]).T
    zips = np.full(len(filers), world_zip_index(HOUSE_ZIP))
    return NameIndex(
        np.sort(name_zip_key(*columns, zips)),
        np.zeros(0, np.uint64),
        vocab,
        np.sort(name_readings(*columns, zips)),
    )


def _row(given: str, family: str) -> dict:
    return {**ROW, "given_name": given, "family_name": family, "zip": HOUSE_ZIP}


@pytest.mark.parametrize(
    ("before", "after", "misleads"),
    [
        # Seed 53: "PAOLA" replaced by her twin's name; the twin filed the surnames in the
        # other order.
        (("PAOLA", "JIMENEZ TORRES"), ("CARMEN", "JIMENEZ TORRES"), True),
        # The request's "JUAN LOZANO" is within a housemate's "JUAN LUIS LOZANO HURTADO".
        (("ALFONSO", "LOZANO"), ("JUAN", "LOZANO"), True),
        # A filer's whole name within the row's: "CARMEN TORRES" filed, "CARMEN TORRES
        # JIMENEZ" requested.
        (("PAOLA", "TORRES JIMENEZ"), ("ELENA", "TORRES JIMENEZ"), True),
        # Another given name nobody there files under misleads nobody.
        (("PAOLA", "JIMENEZ TORRES"), ("FRANCIA", "JIMENEZ TORRES"), False),
        # One surname in common is not a reading of another's name.
        (("PAOLA", "JIMENEZ TORRES"), ("CARMEN", "JIMENEZ PEREZ"), False),
    ],
)
def test_noise_must_not_make_a_name_read_as_another_filers(before, after, misleads) -> None:
    index = _name_index(
        [
            ("PAOLA", "TORRES JIMENEZ"),
            ("CARMEN", "TORRES JIMENEZ"),
            ("JUAN LUIS", "LOZANO HURTADO"),
            ("ALFONSO", "LOZANO MARTINEZ"),
            ("ELENA", "TORRES"),
        ]
    )
    assert index.misleads(_row(*before), _row(*after)) is misleads


@pytest.mark.parametrize(
    ("after", "hidden"),
    [
        ({"given_name": "PAOLO"}, True),  # a typo: no vocabulary name reads so
        ({"given_name": "FRANCIA"}, True),  # another given name
        ({"family_name": "TORRES"}, True),  # one surname dropped
        ({"zip": "78202"}, True),  # another ZIP
        ({"street": "9 ELM ST"}, False),  # the name still reads as it did, in its ZIP
        ({"given_name": "paola"}, False),  # as normalised, the same name
    ],
)
def test_a_row_hides_its_name_when_it_reads_as_none_it_read_as(after: dict, hidden: bool) -> None:
    index = _name_index([("PAOLA", "TORRES JIMENEZ")])
    before = _row("PAOLA", "TORRES JIMENEZ")
    assert hides_name(index, before, {**before, **after}) is hidden


def _other_zip() -> str:
    return next(z for z in zip_table().zip5 if z != HOUSE_ZIP)


@pytest.mark.parametrize(
    ("filer", "before", "after"),
    [
        # 20M people, seed 29: each a request confirmed as the housemate it came to read as.
        (("JUAN", "LEI"), ("YONG", "LEI"), ("JUN", "LEI")),  # one edit from the twin's
        (("FATIMA", "AL SAYED"), ("LEILA", "AL SAYED"), ("FATMA", "AL SAYED")),
        (("JUAN LUIS", "CORONA JAQUEZ"), ("CRISTOBAL", "CORONA JAQUEZ"), ("JAUN", "CORONA JAQUEZ")),
        (("JOSE FRANCISCO", "DELGADO"), ("JAVIER", "DELGADO ESCOBEDO"), ("JOSE", "DELGADLO")),
        (("JOSE", "MAYORGA GARCIA"), ("MAURO", "MAYORGA GARCIA"), ("JOSE", "MAYORGAGARCIA")),
        (("MARIA JULIA", "MOURA"), ("BIANCA", "MOURA"), ("MARIAH", "MOURA")),
    ],
)
def test_the_requests_guard_reads_a_name_one_edit_off(filer, before, after) -> None:
    """The filings' guard reads exact names only (their noise is unchanged); the requests'
    guard also refuses a changed name one edit (a space too) from one that reads as a
    filer's in the ZIP."""
    index = _name_index([filer, before])
    assert index.misleads(_row(*before), _row(*after)) is False
    assert replace(index, near=True).misleads(_row(*before), _row(*after)) is True


def test_the_requests_guard_reads_the_name_in_the_zip_it_was_filed_from() -> None:
    """The given name replaced by a housemate's while the ZIP was mistyped: in the new ZIP
    nobody has the name, at the address everybody reads it as the housemate."""
    index = _name_index([("MARIA", "GARCIA MELENDEZ"), ("YENI", "GARCIA MELENDEZ")])
    before = _row("YENI", "GARCIA MELENDEZ")
    after = {**_row("MARIA", "GARCIA MELENDEZ"), "zip": _other_zip()}
    assert index.misleads(before, after) is False
    assert replace(index, near=True).misleads(before, after) is True


def test_the_requests_guard_lets_a_name_far_from_every_filers_pass() -> None:
    index = replace(_name_index([("PAOLA", "JIMENEZ TORRES"), ("JUAN", "LEI")]), near=True)
    before = _row("PAOLA", "JIMENEZ TORRES")
    assert not index.misleads(before, _row("FRANCIA", "JIMENEZ TORRES"))
    assert not index.misleads(before, _row("PAULA", "JIMENEZ TORRES"))  # her own, one edit off
    assert not index.misleads(before, {**before, "zip": _other_zip()})
