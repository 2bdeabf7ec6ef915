"""Output that executes: spreadsheet formulas in the CSVs we write, terminal markup and control
sequences in what we print, and the identifiers that carry them."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy import Engine
from typer.testing import CliRunner

from taxgate.cli.console import SafeConsole, plain, printable
from taxgate.cli.main import app
from taxgate.formats.csvcells import (
    neutralise,
    restore,
    write_arrow_csv,
    write_csv_rows,
)
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.records import Subject
from taxgate.formats.tables import read_table, records_to_table, write_table
from taxgate.gate.run import check_subjects
from taxgate.ledger.database import open_ledger
from taxgate.pipeline import DECISIONS_FILE
from tests.decide.test_reviews import BETWEEN_THRESHOLDS
from tests.disclose.test_response import batch_of_four
from tests.ledger.seed import seed_batch, subject
from tests.support import BATCH_DATE, valid_row

SRC = Path(__file__).resolve().parents[2] / "src" / "taxgate"
FORMULAS = [
    "=1+2",
    "+1",
    "-1+2",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "\n=1",
    " =1",
    "   @x",
    "\u200b=1",  # zero-width space
    "\u00a0=1",  # no-break space
    "\u202e=1",  # right-to-left override
    "\ufeff=1",  # byte-order mark
    "\uff1d1+2",  # full-width =
    "\uff0b1",
    "\uff0d1",
    "\uff20x",
    "\u22121",  # minus sign
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x/?"&A1,"click")',
    "'=1",  # a value that already starts with the quote
    "''-1",
]
HARMLESS = ["Smith", "O'Brien", "'t Hooft", "'", "1-2", "S-1", "", "a=b", "'quoted'"]
MARKUP = ["[red]x[/red]", "MK-[/]", "\x1b[2J", "[link=file:///etc/passwd]x[/link]", "[/]"]


# ---------------------------------------------------------------- CSV cells


def _effective_start(text: str) -> str:
    """The first character a spreadsheet acts on: leading space and invisibles skipped."""
    stripped = re.sub(r"^[\s\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00a0]*", "", text)
    return stripped[:1]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_cells_get_a_quote_and_come_back_unchanged(value: str) -> None:
    written = neutralise(value)
    assert written == "'" + value
    assert restore(written) == value


@pytest.mark.parametrize("value", HARMLESS)
def test_harmless_cells_are_written_as_they_are(value: str) -> None:
    assert neutralise(value) == value and restore(value) == value


def test_numbers_and_empties_are_not_text() -> None:
    assert neutralise(-5) == -5 and neutralise(None) is None and neutralise(-1.5) == -1.5


_CELL_TEXT = st.text(
    alphabet=st.sampled_from(
        list("=+-@'\t\r\n aZ1\u200b\u00a0\u202e\ufeff\uff1d\uff0b\uff0d\uff20\u2212,\"")
    ),
    max_size=8,
) | st.text(max_size=8)


@settings(max_examples=400, deadline=None)
@given(_CELL_TEXT)
def test_no_written_cell_starts_a_formula_and_every_cell_round_trips(value: str) -> None:
    written = neutralise(value)
    assert restore(written) == value
    assert _effective_start(written) not in set("=+-@\uff1d\uff0b\uff0d\uff20\u2212")
    assert written[:1] not in ("\t", "\r", "\n")


def test_arrow_csv_quotes_text_and_keeps_numbers(tmp_path: Path) -> None:
    table = pa.table({"row": [-5, 2], "id": ["=1+2", "S-1"], "p": [-0.5, 0.25]})
    path = tmp_path / "t.csv"
    write_arrow_csv(table, path)
    lines = path.read_text().splitlines()
    assert lines[1] == '-5,"\'=1+2",-0.5'
    assert lines[2] == '2,"S-1",0.25'


def test_csv_module_rows_quote_text_and_keep_numbers() -> None:
    out = io.StringIO()
    write_csv_rows(out, ["a", "b"], [["-5", -5], ["@x", None]], lineterminator="\n")
    assert out.getvalue().splitlines() == ['"a","b"', '"\'-5",-5', '"\'@x",""']


@settings(max_examples=60, deadline=None)
@given(st.lists(_CELL_TEXT, min_size=1, max_size=5))
def test_exchange_tables_survive_a_csv_round_trip(tmp_path_factory, values: list[str]) -> None:
    path = tmp_path_factory.mktemp("rt") / "subjects.csv"
    rows = [Subject(subject_id=v or None, relevance=v or None) for v in values]
    write_table(records_to_table(rows, "subjects"), path, "subjects")
    back = read_table(path, "subjects")
    expected = [v or None for v in values]
    assert back.column("subject_id").to_pylist() == expected
    assert back.column("relevance").to_pylist() == expected
    for record in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")):
        assert all(_effective_start(cell) not in set("=+-@") for cell in record)


def test_a_requesters_quoted_cell_is_read_as_the_value_it_stands_for(tmp_path: Path) -> None:
    """Their spreadsheet export wrote "'=x": we read =x, and the gate then judges it."""
    header = ",".join(Subject.model_fields)
    path = tmp_path / "subjects.csv"
    path.write_text(header + "\n'=x,,,'t Hooft" + "," * 12 + "\n", encoding="utf-8")
    back = read_table(path, "subjects").to_pylist()[0]
    assert back["subject_id"] == "=x" and back["family_name"] == "'t Hooft"


_WRITERS = re.compile(r"csv\.writer\(|csv\.DictWriter\(|pacsv\.write_csv\(|\.to_csv\(|CSVWriter\(")


def test_every_csv_writer_goes_through_the_neutraliser() -> None:
    """A new CSV writer that bypasses formats/csvcells.py fails here."""
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "csvcells.py" and _WRITERS.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# ---------------------------------------------------------------- identifiers


HOSTILE_IDS = [*FORMULAS[:4], *MARKUP, "S 1", " S-1", "S-1 ", "S-1\u200b", "\uff33-1", "a/b", ""]


@pytest.mark.parametrize("batch_id", [*HOSTILE_IDS, "x" * 101, ".x", "_x"])
def test_an_unsafe_batch_id_is_refused_by_the_manifest(batch_id: str) -> None:
    fields = {
        "batch_id": batch_id,
        "requesting_agency": "A",
        "submitted_on": "2025-08-01",
        "signer": {"name": "a", "title": "b"},
        "statutory_authority": "s",
        "attestation": "t",
        "subjects_file": "subjects.csv",
    }
    with pytest.raises(ValidationError):
        RequestManifest.model_validate(fields)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z") | st.text(max_size=12))
def test_an_accepted_batch_id_is_inert_in_csv_and_on_the_terminal(batch_id: str) -> None:
    fields = {
        "batch_id": batch_id,
        "requesting_agency": "A",
        "submitted_on": "2025-08-01",
        "signer": {"name": "a", "title": "b"},
        "statutory_authority": "s",
        "attestation": "t",
        "subjects_file": "subjects.csv",
    }
    try:
        RequestManifest.model_validate(fields)
    except ValidationError:
        return
    assert neutralise(batch_id) == batch_id
    assert escape(batch_id) == batch_id and printable(batch_id) == batch_id


def test_an_unsafe_subject_id_refuses_that_subject_not_the_batch(policy) -> None:
    rows = [valid_row(subject_id="S-OK")] + [
        valid_row(subject_id=v, family_name=f"Doe{i}") for i, v in enumerate(HOSTILE_IDS[:-1])
    ]
    subjects = records_to_table([Subject(**r) for r in rows], "subjects")
    verdicts, _ = check_subjects(subjects, policy, BATCH_DATE)
    by_row = verdicts.to_pylist()
    assert by_row[0]["proceed"] is True
    for verdict in by_row[1:]:
        assert verdict["proceed"] is False, verdict["subject_id"]
        assert "FIELD_MALFORMED" in verdict["reason_codes"]
        assert "subject_id" in verdict["fields"]


# ---------------------------------------------------------------- terminal


@pytest.mark.parametrize("text", [*MARKUP, "\u202eevil", "a\x07b", "\x9b31m", "d\udcff"])
def test_plain_text_is_literal_and_carries_no_control_character(text: str) -> None:
    shown = plain(text).plain
    assert all(c.isprintable() for c in shown)
    assert printable(text) == shown
    if text.isprintable():
        assert shown == text


def test_the_consoles_escape_control_characters_whatever_printed_them() -> None:
    """The safety net under `plain`: a str printed with markup off is still escaped."""
    out = io.StringIO()
    console = SafeConsole(file=out, force_terminal=False, width=200)
    console.print("raw \x1b[2J \u202eevil \x9b2J", markup=False)
    console.print(plain("[red]x[/red]"))
    assert out.getvalue() == "raw \\x1b[2J \\u202eevil \\x9b2J\n[red]x[/red]\n"


def _taxgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = os.environ | {"COLUMNS": "300"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "taxgate", *args], capture_output=True, text=True, env=environment
    )


def _shown(text: str) -> str:
    return printable(text)


def _assert_literal(result: subprocess.CompletedProcess, *texts: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, output
    assert "\x1b" not in output and "\u202e" not in output
    for text in texts:
        assert _shown(text) in output, (text, output)


@pytest.fixture
def hostile_ledger(database_url: str, tmp_path: Path, monkeypatch) -> Iterator[Engine]:
    """A ledger holding text written before the id rules (or by a direct database edit)."""
    monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TAXGATE_HOME", str(tmp_path / "home"))
    engine = open_ledger(database_url)
    seed_batch(
        engine,
        "MK-[/]",
        [subject(1, subject_id="-2+3"), subject(2, subject_id="[red]x[/red]")],
        recipient="=cmd|' /C calc'!A0",
        statute="@SUM(1)",
    )
    yield engine
    engine.dispose()


def test_report_accounting_neutralises_every_cell(hostile_ledger, tmp_path: Path) -> None:
    period = ["--from", "2025-08-01", "--to", "2025-08-31"]
    out = tmp_path / "[red]x[/red].csv"
    result = CliRunner().invoke(app, ["report", "accounting", *period, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"written to {out}" in result.output.replace("\n", "")
    to_stdout = CliRunner().invoke(app, ["report", "accounting", *period])
    for text in (out.read_text(encoding="utf-8"), to_stdout.stdout):
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells and "'-2+3" in cells
        assert not any(_effective_start(c) in set("=+-@") for c in cells)


def test_report_batch_shows_a_markup_batch_id_literally(hostile_ledger) -> None:
    result = CliRunner().invoke(app, ["report", "batch", "MK-[/]"])
    assert result.exit_code == 0, result.output
    assert "MK-[/]" in result.output and "=cmd|' /C calc'!A0" in result.output


@pytest.mark.parametrize("batch_id", MARKUP)
def test_report_batch_error_shows_the_id_literally(
    database_url: str, tmp_path: Path, batch_id: str
) -> None:
    result = _taxgate(
        "report", "batch", batch_id,
        env={"TAXGATE_DATABASE_URL": database_url, "TAXGATE_HOME": str(tmp_path / "h")},
    )  # fmt: skip
    assert result.returncode == 2
    _assert_literal(result, batch_id)


def _review_out(policy, tmp_path: Path, ids: list[str]) -> Path:
    _, decisions = batch_of_four(policy, probability=BETWEEN_THRESHOLDS)
    column = decisions.schema.get_field_index("subject_id")
    hostile = pa.array(ids[: decisions.num_rows], decisions.schema.field("subject_id").type)
    out = tmp_path / "answer"
    out.mkdir()
    pq.write_table(decisions.set_column(column, "subject_id", hostile), out / DECISIONS_FILE)
    return out


def test_review_list_and_explain_show_ids_literally(policy, tmp_path: Path) -> None:
    ids = ["[red]x[/red]", "MK-[/]", "\x1b[2J", "[link=file:///etc/passwd]x[/link]"]
    out = _review_out(policy, tmp_path, ids)
    listed = _taxgate("review", "list", str(out))
    assert listed.returncode == 0, listed.stderr
    _assert_literal(listed)
    reviewed = pq.read_table(out / DECISIONS_FILE).to_pylist()
    shown = [r["subject_id"] for r in reviewed if r["outcome"] == "REVIEW"]
    _assert_literal(listed, *shown)
    for subject_id in ids:
        explained = _taxgate("explain", str(out), subject_id)
        _assert_literal(explained, subject_id)
    missing = _taxgate("explain", str(out), "[bold]nobody[/bold]\x1b[2J")
    assert missing.returncode == 2
    _assert_literal(missing, "[bold]nobody[/bold]\x1b[2J")


def test_gate_and_process_show_hostile_names_literally(
    tmp_path: Path, make_batch, signer_key, disclosing_key
) -> None:
    from taxgate.formats.keys import write_key_pair

    keyring = tmp_path / "trusted"
    write_key_pair(*signer_key, keyring)
    folder = tmp_path / "[red]d[" / "]\x1b[2J"  # the path reads ...[red]d[/]\x1b[2J...
    folder.mkdir(parents=True)
    manifest = folder / "manifest.json"
    manifest.write_text('{"batch_id": "MK-[/]", "subjects_file": "x.csv"}', encoding="utf-8")
    gated = _taxgate("gate", str(manifest), "--keyring", str(keyring), "--dry-run",
                     env={"TAXGATE_HOME": str(tmp_path / "h")})  # fmt: skip
    assert gated.returncode == 1
    _assert_literal(gated, str(manifest))
    key, _ = disclosing_key
    processed = _taxgate("process", str(manifest), "--keyring", str(keyring), "--key", str(key),
                         "--out", str(tmp_path / "out"), "--home", str(tmp_path / "h"),
                         env={"TAXGATE_HOME": str(tmp_path / "h")})  # fmt: skip
    assert processed.returncode == 1
    _assert_literal(processed, str(manifest))
    verified = _taxgate("batch", "verify", str(manifest), "--keyring", str(keyring))
    assert verified.returncode == 2
    _assert_literal(verified, str(manifest))


def test_gate_verdicts_csv_neutralises_ids(tmp_path: Path, make_batch, signer_key) -> None:
    from taxgate.formats.keys import write_key_pair

    keyring = tmp_path / "trusted"
    write_key_pair(*signer_key, keyring)
    from taxgate.gate.receipt import receipt_time

    # `taxgate gate` dates the batch by the gateway's clock: an acceptable batch is dated today
    manifest = make_batch([valid_row(subject_id="=1+2"), valid_row(subject_id="S-2",
                                                                  family_name="Doe")],
                          submitted_on=receipt_time().date())  # fmt: skip
    result = _taxgate("gate", str(manifest), "--keyring", str(keyring), "--dry-run", "--out",
                      str(tmp_path / "v"), env={"TAXGATE_HOME": str(tmp_path / "h")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "v" / "verdicts.csv").open(encoding="utf-8")))
    assert rows[0]["subject_id"] == "'=1+2" and rows[0]["proceed"] == "false"
    assert rows[1]["subject_id"] == "S-2" and rows[1]["proceed"] == "true"
