"""formats.csvcells: the one CSV neutraliser, its inverse, and both writers."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest

from taxgate.formats.csvcells import (
    needs_quote,
    neutralise,
    neutralise_table,
    restore,
    restore_array,
    write_arrow_csv,
    write_csv_rows,
)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("-1", "'-1"),
        (" +1", "' +1"),
        ("\u200b@x", "'\u200b@x"),
        ("\uff1dx", "'\uff1dx"),
        ("'=x", "''=x"),
        ("Smith", "Smith"),
        ("'t Hooft", "'t Hooft"),
        ("", ""),
    ],
)
def test_neutralise_and_restore(value: str, written: str) -> None:
    assert neutralise(value) == written
    assert restore(written) == value
    assert needs_quote(value) == (written != value)


def test_table_and_array_helpers_touch_only_text() -> None:
    table = pa.table({"n": [-1, 2], "s": ["-1", "ok"]})
    out = neutralise_table(table)
    assert out.column("n").to_pylist() == [-1, 2]
    assert out.column("s").to_pylist() == ["'-1", "ok"]
    assert restore_array(out.column("s").combine_chunks()).to_pylist() == ["-1", "ok"]


def test_writers_quote_text_and_leave_numbers_bare(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_arrow_csv(pa.table({"row": [-5], "id": ["@x"]}), path)
    assert path.read_text().splitlines() == ['"row","id"', '-5,"\'@x"']
    out = io.StringIO()
    write_csv_rows(out, ["row", "id"], [[-5, "@x"]])
    assert out.getvalue() == '"row","id"\r\n-5,"\'@x"\r\n'
