"""A manifest that cannot be read, or a table that cannot be signed, is one FormatError naming
the file and field: the gaps the mutation run (bench/mutation_bench.py) found in these paths.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from taxgate.errors import FormatError
from taxgate.formats.keys import new_key
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.records import Subject
from taxgate.formats.signing import sign_manifest, verify_manifest
from taxgate.formats.tables import records_to_table, write_table

DAY = date(2025, 8, 1)


def _fields(**changes: object) -> dict:
    data = {
        "batch_id": "B",
        "requesting_agency": "Requesting Agency",
        "submitted_on": DAY.isoformat(),
        "signer": {"name": "Pat Example", "title": "Director"},
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
        "attestation": "personally and directly engaged, solely for",
        "subjects_file": "subjects.csv",
    }
    return data | changes


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_missing_manifest_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError) as caught:
        RequestManifest.load(tmp_path / "absent.json")
    assert caught.value.file == tmp_path / "absent.json"


def test_a_one_character_batch_id_loads_and_an_empty_one_does_not(tmp_path: Path) -> None:
    assert RequestManifest.load(_write(tmp_path, _fields(batch_id="B"))).batch_id == "B"
    with pytest.raises(FormatError) as caught:
        RequestManifest.load(_write(tmp_path, _fields(batch_id="")))
    assert caught.value.field == "batch_id"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"submitted_on": "not a date"}, "submitted_on"),
        ({"subject_count": "many"}, "subject_count"),
        ({"signer": {"name": "Pat Example"}}, "signer.title"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_an_invalid_field_is_named(tmp_path: Path, changes: dict, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        RequestManifest.load(_write(tmp_path, _fields(**changes)))
    assert caught.value.field == field
    assert field in str(caught.value)


def test_of_several_invalid_fields_the_first_in_the_manifest_is_named(tmp_path: Path) -> None:
    data = _fields(batch_id="", submitted_on="not a date")
    with pytest.raises(FormatError) as caught:
        RequestManifest.load(_write(tmp_path, data))
    assert caught.value.field == "batch_id"


def test_signing_a_manifest_whose_table_is_missing_names_the_field(tmp_path: Path) -> None:
    private, record = new_key("Requesting Agency", "Pat", "Director", created_on=DAY, seed=b"m")
    manifest = RequestManifest.model_validate(_fields())
    assert isinstance(manifest.signer, Signer)
    with pytest.raises(FormatError) as caught:
        sign_manifest(manifest, tmp_path / "manifest.json", private, record)
    assert caught.value.field == RequestManifest.file_field


def test_a_table_that_cannot_be_read_is_a_problem_not_a_pass(tmp_path: Path, monkeypatch) -> None:
    """An OSError while hashing the table (permissions, a failing disk) must not verify."""
    private, record = new_key("Requesting Agency", "Pat", "Director", created_on=DAY, seed=b"m")
    table = tmp_path / "subjects.csv"
    write_table(records_to_table([Subject(subject_id="S-1")], "subjects"), table, "subjects")
    path = tmp_path / "manifest.json"
    signed = sign_manifest(RequestManifest.model_validate(_fields()), path, private, record)
    keyring = {record.key_id: record}
    assert verify_manifest(signed, path, keyring) == []

    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if Path(path).name == table.name:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert verify_manifest(signed, path, keyring) != []


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("a", True), ("a" * 251 + ".csv", True), ("a" * 252 + ".csv", False), ("", False)],
)
def test_table_file_names_up_to_the_longest_a_file_system_allows(name: str, accepted: bool) -> None:
    """255 characters (FILE_NAME_MAX_LENGTH) is the bound; one character is a name."""
    try:
        RequestManifest.model_validate(_fields(subjects_file=name))
    except ValidationError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize(
    ("batch_id", "accepted"), [("B", True), ("B" * 100, True), ("B" * 101, False)]
)
def test_batch_ids_up_to_their_bound(batch_id: str, accepted: bool) -> None:
    try:
        RequestManifest.model_validate(_fields(batch_id=batch_id))
    except ValidationError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_manifest_that_is_not_a_regular_file_is_refused_without_waiting(
    tmp_path: Path, kind: str
) -> None:
    """A FIFO would block the read for a writer that never comes; /dev/zero never ends."""
    from taxgate.formats.manifest import ArrivedManifest

    path = {"fifo": tmp_path / "manifest.json", "directory": tmp_path, "device": Path("/dev/zero")}[
        kind
    ]
    if kind == "fifo":
        os.mkfifo(path)
    for read in (RequestManifest.load, ArrivedManifest.read):
        with pytest.raises(FormatError, match="not a regular file"):
            read(path)
