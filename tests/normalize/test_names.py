"""Name tokens: particles, hyphens, accents, compound given names, suffixes in any field."""

from __future__ import annotations

import pytest

from taxgate.normalize.names import NameParts, family_parts, given_parts, middle_parts, suffix_of


@pytest.mark.parametrize(
    ("family", "tokens"),
    [
        ("Hernández-López", ("HERNANDEZ", "LOPEZ")),
        ("Hernandez Lopez", ("HERNANDEZ", "LOPEZ")),
        ("  HERNANDEZ   LOPEZ, ", ("HERNANDEZ", "LOPEZ")),
        ("de la Cruz", ("CRUZ",)),
        ("Da Silva", ("SILVA",)),
        ("dos Santos", ("SANTOS",)),
        ("Barrera del Río", ("BARRERA", "RIO")),
        ("Ortega y Gasset", ("ORTEGA", "GASSET")),
        ("van der Berg", ("BERG",)),
        ("de los Santos", ("SANTOS",)),
    ],
)
def test_family_particles_hyphens_and_accents(family: str, tokens: tuple[str, ...]) -> None:
    assert family_parts(family).tokens == tokens


@pytest.mark.parametrize("alone", ["Le", "Lê", "De", "La", "Di"])
def test_a_particle_alone_is_a_name(alone: str) -> None:
    assert family_parts(alone).tokens != ()


def test_compound_given_names_are_kept_as_tokens() -> None:
    assert given_parts("María Guadalupe").tokens == ("MARIA", "GUADALUPE")
    assert given_parts("José-Luis").tokens == ("JOSE", "LUIS")
    assert given_parts("María del Carmen").tokens == ("MARIA", "CARMEN")


@pytest.mark.parametrize(
    ("text", "suffix"),
    [("Jr", "JR"), ("jr.", "JR"), ("Junior", "JR"), ("SR.", "SR"), ("Senior", "SR"),
     ("II", "II"), ("iii", "III"), ("IV", "IV"), ("3rd", "III"), ("MD", None), ("", None)],
)  # fmt: skip
def test_suffix_field_is_normalised(text: str, suffix: str | None) -> None:
    assert suffix_of(text) == suffix


def test_suffix_at_the_end_of_a_name_is_taken_out() -> None:
    assert family_parts("Smith, Jr.") == NameParts(("SMITH",), "JR")
    assert given_parts("John III").tokens == ("JOHN",)
    assert given_parts("John III").suffix == "III"
    assert middle_parts("Jr").suffix == "JR"
    assert middle_parts("Jr").tokens == ()


def test_a_name_that_is_only_a_suffix_word_stays_a_name() -> None:
    assert given_parts("Junior").tokens == ("JUNIOR",)
    assert given_parts("Junior").suffix is None


def test_middle_initials_are_dropped() -> None:
    assert middle_parts("M.").tokens == ()
    assert middle_parts("Elena").tokens == ("ELENA",)
