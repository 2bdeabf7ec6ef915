"""formats.tablefile: the table a manifest names, read once from its own directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from taxgate.errors import FormatError
from taxgate.formats.tablefile import is_bare_name, read_beside


def test_reads_the_bytes_once_and_hashes_them(tmp_path: Path) -> None:
    (tmp_path / "subjects.csv").write_bytes(b"a,b\n1,2\n")
    table = read_beside(tmp_path / "manifest.json", "subjects.csv")
    assert table.data == b"a,b\n1,2\n"
    assert table.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert table.path == tmp_path / "subjects.csv"


@pytest.mark.parametrize("name", ["../subjects.csv", "/etc/passwd", "a/b", "", "..", "C:x"])
def test_refuses_names_that_are_not_bare(tmp_path: Path, name: str) -> None:
    assert not is_bare_name(name)
    with pytest.raises(FormatError, match="outside the manifest's directory"):
        read_beside(tmp_path / "manifest.json", name)


def test_missing_file_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="missing") as caught:
        read_beside(tmp_path / "manifest.json", "subjects.csv", field="responses_file")
    assert caught.value.field == "responses_file"
