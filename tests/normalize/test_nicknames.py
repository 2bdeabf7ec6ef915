"""Nicknames resolve to one deterministic canonical; every reading stays available."""

from __future__ import annotations

import pytest

from taxgate.normalize.nicknames import canonical, canonicals


@pytest.mark.parametrize(
    ("nickname", "name"),
    [("Lupe", "GUADALUPE"), ("Chuy", "JESUS"), ("Pepe", "JOSE"), ("Paco", "FRANCISCO"),
     ("Pancho", "FRANCISCO"), ("Nacho", "IGNACIO"), ("Lalo", "EDUARDO"), ("Memo", "GUILLERMO"),
     ("Quique", "ENRIQUE"), ("Kike", "ENRIQUE"), ("Toño", "ANTONIO"), ("TONO", "ANTONIO"),
     ("Chela", "GRACIELA"), ("Conchita", "CONCEPCION"), ("Maru", "MARIA"), ("Mari", "MARIA")],
)  # fmt: skip
def test_spanish_nicknames(nickname: str, name: str) -> None:
    assert canonical(nickname) == name


@pytest.mark.parametrize(
    ("nickname", "name"),
    [("Bill", "WILLIAM"), ("bob", "ROBERT"), ("Jack", "JOHN"), ("Liz", "ELIZABETH"),
     ("Mike", "MICHAEL"), ("Chris", "CHRISTOPHER"), ("Peggy", "MARGARET"), ("Trish", "PATRICIA")],
)  # fmt: skip
def test_english_nicknames(nickname: str, name: str) -> None:
    assert canonical(nickname) == name


@pytest.mark.parametrize("name", ["MARIA", "WILLIAM", "HANNAH", "LAURA", "GUADALUPE", "JOSE"])
def test_a_full_name_is_its_own_canonical(name: str) -> None:
    assert canonical(name) == name
    assert canonical(name.title()) == name


def test_an_ambiguous_nickname_keeps_every_reading_with_a_fixed_first() -> None:
    assert canonicals("Beto")[0] == "ROBERTO"
    assert "ALBERTO" in canonicals("Beto")
    assert set(canonicals("Lalo")) >= {"EDUARDO", "GERARDO"}


def test_package_only_nicknames_pick_the_same_canonical_every_time() -> None:
    readings = canonicals("Gus")
    assert len(readings) > 1
    assert canonical("Gus") == canonical("GUS") == readings[0]


def test_unknown_and_empty() -> None:
    assert canonical("Xochitl") == "XOCHITL"
    assert canonical("") == ""
    assert canonicals("  ") == ()
