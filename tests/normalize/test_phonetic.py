"""Spanish spelling variants share a phonetic key; different names do not."""

from __future__ import annotations

import pytest

from taxgate.normalize.phonetic import phonetic_key

SAME = [
    ["Hernandez", "Ernandez", "Hernández", "HERNANDES"],
    ["Jimenez", "Gimenez", "Ximenez", "Jiménez"],
    ["Vasquez", "Vazquez", "Basquez", "Vásquez"],
    ["Yanez", "Llanes", "Yáñez"],
    ["Gonzalez", "Gonzales", "González"],
    ["Javier", "Xavier"],
    ["Mejia", "Mexia"],
    ["Guillermo", "Guiyermo"],
    ["Rodriguez", "Rodrigues"],
    ["Zambrano", "Sambrano", "Sanbrano"],
    ["Ibarra", "Ybarra"],
    ["Quintero", "Kintero"],
    ["Cruz", "Kruz", "Crus"],
    ["Muñoz", "Munoz", "Munos"],
    ["Cecilia", "Sesilia"],
    ["Guerrero", "Guerero"],
]
DIFFERENT = [
    ("Garcia", "Garza"),
    ("Ruben", "Rubem"),
    ("Gomez", "Lopez"),
    ("Maria", "Mario"),
    ("Sanchez", "Santos"),
    ("Hernandez", "Fernandez"),
    ("Juan", "Joan"),
]


@pytest.mark.parametrize("names", SAME, ids=lambda names: names[0])
def test_spelling_variants_share_a_key(names: list[str]) -> None:
    keys = {phonetic_key(n) for n in names}
    assert len(keys) == 1 and "" not in keys


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_names_differ(a: str, b: str) -> None:
    assert phonetic_key(a) != phonetic_key(b)


def test_words_are_keyed_one_by_one_and_empty_is_empty() -> None:
    assert phonetic_key("de la Cruz") == " ".join(phonetic_key(w) for w in ("de", "la", "Cruz"))
    assert phonetic_key("") == ""
    assert phonetic_key(None) == ""
    assert phonetic_key("123 !!") == ""
