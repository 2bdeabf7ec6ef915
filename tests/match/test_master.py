"""The master index: append new tax years only, one address record per (tin, address),
last_known from the latest filed_on."""

from __future__ import annotations

import csv
import os
import stat
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.csvcells import restore
from taxgate.formats.tables import columns, records_to_table, write_table
from taxgate.match import master
from taxgate.match.master import load_filings, master_path
from taxgate.policy import load_policy

ANA, BEN = "123456789", "223456789"
FILING_COLUMNS = columns("filings")


def filing(tin: str, year: int, filed_on: date, street: str, **extra: str) -> dict:
    row = {
        "tin": tin,
        "tax_year": year,
        "filed_on": filed_on,
        "given_name": "Ana María" if tin == ANA else "Ben",
        "middle_name": None,
        "family_name": "García López" if tin == ANA else "Stone",
        "suffix": None,
        "date_of_birth": date(1980, 5, 17),
        "street": street,
        "unit": None,
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
    }
    row.update(extra)
    return row


def write(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    return write_table(records_to_table(rows, "filings"), tmp_path / name, "filings")


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(master_path(home)), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def two_years(tmp_path: Path) -> tuple[Path, Path]:
    y2022 = write(tmp_path, "f2022.parquet", [
        filing(ANA, 2022, date(2023, 4, 1), "12 Oak Street"),
        filing(BEN, 2022, date(2023, 3, 1), "5 Elm Avenue"),
    ])  # fmt: skip
    y2023 = write(tmp_path, "f2023.csv", [
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St"),
        filing(BEN, 2023, date(2024, 3, 1), "9 Pine Road", unit="Apt 2"),
    ])  # fmt: skip
    return y2022, y2023


def test_load_then_append_a_new_year(two_years: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_filings([two_years[0]], home)
    assert (first.rows, first.filings, first.taxpayers, first.tax_years) == (2, 2, 2, (2022,))
    second = load_filings([two_years[1]], home)
    assert (second.rows, second.filings, second.taxpayers) == (2, 4, 2)
    assert second.file_bytes == master_path(home).stat().st_size > 0
    assert query(home, "SELECT tax_year, count(*) FROM filings_norm GROUP BY 1 ORDER BY 1") == [
        (2022, 2),
        (2023, 2),
    ]


def test_a_year_already_loaded_is_refused_and_nothing_changes(
    two_years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings([two_years[0]], home)
    again = write(tmp_path, "again.parquet", [filing(BEN, 2022, date(2023, 5, 1), "1 New St")])
    with pytest.raises(TaxgateError, match="2022 already in the master index") as caught:
        load_filings([two_years[1], again], home)
    assert caught.value.file == again
    assert query(home, "SELECT count(*) FROM filings_norm") == [(2,)]  # 2023 not half-loaded


def test_one_address_record_per_taxpayer_and_address(
    two_years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings(list(two_years), home)
    rows = query(
        home,
        """
        SELECT tin, house_number, street_name, unit, first_year, last_year
        FROM taxpayer_addresses ORDER BY tin, first_year
    """,
    )
    # "12 Oak Street" and "12 Oak St" are one normalised address: one record for both years.
    assert [r[0] for r in rows] == [ANA, BEN, BEN]
    assert rows[0][1] == "12" and rows[0][4:] == (2022, 2023)
    assert rows[1][4:] == (2022, 2022) and rows[2][3] == "2"
    ids = query(home, "SELECT count(DISTINCT address_id), count(*) FROM taxpayer_addresses")
    assert ids == [(3, 3)]


def test_last_known_is_the_latest_filed_on_not_the_latest_year(tmp_path: Path) -> None:
    late = write(tmp_path, "f.jsonl", [
        filing(ANA, 2022, date(2024, 9, 30), "40 Late Lane"),  # 2022 return filed last
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St"),
        filing(BEN, 2023, date(2024, 3, 1), "9 Pine Road", unit="Apt 2"),
    ])  # fmt: skip
    home = tmp_path / "home"
    load_filings([late], home)
    rows = query(home, "SELECT tin, street, unit, zip, tax_year FROM last_known ORDER BY tin")
    assert rows == [
        (ANA, "40 Late Lane", None, "78701", 2022),
        (BEN, "9 Pine Road", "Apt 2", "78701", 2023),
    ]


def test_an_address_record_carries_the_spelling_filed_most_often(tmp_path: Path) -> None:
    """One year's keying error ("Robe rt") is not the name requests are matched against; a
    spelling filed as often as another gives way to the later one."""
    rows = write(tmp_path, "f.jsonl", [
        filing(BEN, 2021, date(2022, 4, 1), "9 Pine Road", given_name="Robert"),
        filing(BEN, 2022, date(2023, 4, 1), "9 Pine Road", given_name="Robert"),
        filing(BEN, 2023, date(2024, 4, 1), "9 Pine Road", given_name="Robe rt"),
        filing(ANA, 2022, date(2023, 4, 1), "12 Oak St", given_name="Ana"),
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St", given_name="Anna"),
    ])  # fmt: skip
    home = tmp_path / "home"
    load_filings([rows], home)
    names = query(home, "SELECT tin, given, first_year, last_year FROM taxpayer_addresses")
    assert sorted(names) == [(ANA, "ANNA", 2022, 2023), (BEN, "ROBERT", 2021, 2023)]


def test_name_tables_hold_every_name_each_taxpayer_filed(
    two_years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings([two_years[0]], home)
    load_filings([two_years[1]], home)  # appended: the tables are built over both years
    filed = "FROM filings_norm WHERE given IS NOT NULL"
    assert query(home, "SELECT * FROM taxpayer_names") == query(
        home, f"SELECT DISTINCT tin, given, family {filed} ORDER BY ALL"
    )
    assert query(home, "SELECT * FROM name_filers ORDER BY ALL") == query(
        home, f"SELECT DISTINCT zip5, given, family, tin {filed} ORDER BY ALL"
    )
    assert len(query(home, "SELECT * FROM taxpayer_names")) == 2


def test_term_frequency_tables_for_names(two_years: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    load_filings(list(two_years), home)
    given = dict(query(home, "SELECT given, tf_given FROM tf_given"))
    assert given["BEN"] == pytest.approx(2 / 3)
    assert sum(given.values()) == pytest.approx(1.0)
    assert query(home, "SELECT count(*) FROM tf_family") == [(2,)]


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(TaxgateError, match="file not found"):
        load_filings([tmp_path / "nope.parquet"], tmp_path / "home")


def many_filings(tmp_path: Path) -> Path:
    """Forty taxpayers over two years, some moving, so the derived tables have many slices."""
    rows = []
    for n in range(40):
        tin = f"{300000000 + n}"
        rows.append(filing(tin, 2022, date(2023, 4, 1 + n % 20), f"{n} Oak Street"))
        street = f"{n} Oak St" if n % 3 else f"{n + 100} Elm Road"
        rows.append(filing(tin, 2023, date(2024, 3, 1 + n % 20), street))
    return write(tmp_path, "many.parquet", rows)


DERIVED_QUERIES = (
    "SELECT * FROM taxpayer_addresses",
    "SELECT * FROM last_known",
    "SELECT * FROM tf_given",
    "SELECT * FROM tf_family",
    "SELECT * FROM taxpayer_names",
    "SELECT * FROM name_filers ORDER BY ALL",
)


def test_derived_tables_built_in_slices_equal_those_built_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filings = many_filings(tmp_path)
    whole, sliced = tmp_path / "whole", tmp_path / "sliced"
    load_filings([filings], whole)
    monkeypatch.setenv("TAXGATE_MASTER_REBUILD_ROWS", "7")
    steps: list[tuple[int, int]] = []
    load_filings([filings], sliced, rebuilding=lambda step, total: steps.append((step, total)))
    assert steps[-1] == (37, 37)  # 80 filings / 7 per slice = 12 slices, thrice, plus the sort
    for sql in DERIVED_QUERIES:
        assert query(sliced, sql) == query(whole, sql), sql
    rows = query(whole, "SELECT address_id, tin FROM taxpayer_addresses")
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == 40 + 14
    tins = [r[0] for r in query(whole, "SELECT tin FROM last_known")]
    assert tins == sorted(tins) and len(tins) == 40


def test_chunks_normalised_by_worker_processes_load_as_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four row groups, normalised by two spawned processes: the same master, row for row
    and in order, as one process makes; an empty chunk and set-aside rows among them."""
    table = pq.read_table(many_filings(tmp_path))
    bad = table.slice(0, 20).set_column(0, table.schema.field(0), pa.array(["12"] * 20))
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.concat_tables([table.slice(0, 30), bad, table.slice(30)]), path,
                   row_group_size=20)  # fmt: skip
    assert pq.ParquetFile(path).num_row_groups == 5
    monkeypatch.setenv("TAXGATE_LOAD_WORKERS", "1")
    one = load_filings([path], tmp_path / "one")
    monkeypatch.setenv("TAXGATE_LOAD_WORKERS", "2")
    seen: list[tuple[int, int]] = []
    two = load_filings([path], tmp_path / "two", lambda done, total: seen.append((done, total)))
    assert (two.rows, two.rejected) == (one.rows, one.rejected) == (80, 20)
    assert seen[-1] == (100, 100) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    for sql in ("SELECT * FROM filings_norm", *DERIVED_QUERIES):
        assert query(tmp_path / "two", sql) == query(tmp_path / "one", sql), sql


def test_a_worker_killed_mid_load_is_reported_and_nothing_loads(
    two_years: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker the kernel kills (out of memory) breaks the pool: the user is told what to
    do, not "internal error", and the master stays as it was."""
    home = tmp_path / "home"
    load_filings([two_years[0]], home)
    before = [query(home, sql) for sql in ("SELECT * FROM filings_norm", *DERIVED_QUERIES)]
    table = pq.read_table(many_filings(tmp_path))
    path = tmp_path / "groups.parquet"
    pq.write_table(table.set_column(1, "tax_year", pa.array([2024] * 80)), path,
                   row_group_size=20)  # fmt: skip
    monkeypatch.setenv("TAXGATE_LOAD_WORKERS", "2")
    monkeypatch.setenv("TAXGATE_CRASH_AT", "load-chunk-normalising")
    with pytest.raises(TaxgateError, match="died") as raised:
        load_filings([path], home)
    assert "TAXGATE_LOAD_WORKERS" in raised.value.fix
    after = [query(home, sql) for sql in ("SELECT * FROM filings_norm", *DERIVED_QUERIES)]
    assert after == before
    assert not list(home.glob(".staging-*"))


def tables(home: Path) -> set[str]:
    return {r[0] for r in query(home, "SELECT table_name FROM information_schema.tables")}


def test_leftovers_of_a_killed_load_are_discarded(
    two_years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings([two_years[0]], home)
    with duckdb.connect(str(master_path(home))) as con:  # what a SIGKILL mid-load leaves
        con.execute("CREATE TABLE filings_staging AS SELECT * FROM filings_norm")
        con.execute("CREATE TABLE taxpayer_addresses_next AS SELECT * FROM taxpayer_addresses")
    (home / ".staging-killed").mkdir()
    (home / ".staging-killed" / "000000.parquet").write_bytes(b"normalised filings")
    summary = load_filings([two_years[1]], home)
    assert not list(home.glob(".staging-*"))
    assert (summary.filings, summary.taxpayers, summary.addresses) == (4, 2, 3)
    assert tables(home) == {"filings_norm", *master.DERIVED, "master_version"}


def test_a_load_that_fails_before_its_swap_leaves_the_master_as_it_was(
    two_years: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    load_filings([two_years[0]], home)
    before = [query(home, sql) for sql in DERIVED_QUERIES]
    real = master.rebuild_derived

    def rebuild_then_fail(*args, **kwargs) -> None:
        real(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(master, "rebuild_derived", rebuild_then_fail)
    with pytest.raises(OSError, match="disk full"):
        load_filings([two_years[1]], home)
    assert query(home, "SELECT count(*) FROM filings_norm") == [(2,)]
    assert [query(home, sql) for sql in DERIVED_QUERIES] == before
    assert tables(home) == {"filings_norm", *master.DERIVED, "master_version"}


def test_scratch_databases_are_bounded_and_spill_outside_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAXGATE_DUCKDB_MEMORY_LIMIT", "1GB")
    con = master.scratch()
    limit, spill = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    con.close()
    assert limit == "953.6 MiB"  # DuckDB shows 1GB (10^9 bytes) in binary units
    assert Path(spill).parent == Path(tempfile.gettempdir())
    # Made by mkdtemp: private, and not a name another user could guess and plant beforehand.
    assert Path(spill).name.startswith("taxgate-duckdb-")
    assert Path(spill).name != f"taxgate-duckdb-{os.getpid()}"
    assert stat.S_IMODE(Path(spill).stat().st_mode) == 0o700


# ------------------------------------------------------------------ quarantine of bad rows

HEADER = ",".join(FILING_COLUMNS)
INJECTION = '=HYPERLINK("http://x","y")'


def line(tin: str, **changes: str) -> str:
    """One CSV data line of a good filing, with some fields replaced (quoted as CSV does)."""
    row = {
        "tin": tin, "tax_year": "2023", "filed_on": "2024-04-01", "given_name": "Ana",
        "middle_name": "", "family_name": "Stone", "suffix": "", "date_of_birth": "1980-05-17",
        "street": "12 Oak St", "unit": "", "city": "Austin", "state": "TX", "zip": "78701",
    }  # fmt: skip
    row.update(changes)
    return ",".join('"' + row[c].replace('"', '""') + '"' if row[c] else "" for c in row)


def csv_file(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def reject_lines(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def gappy(tmp_path: Path) -> Path:
    """Eight rows: rows 1, 4, 7 and 8 load; the others break one rule each (row 6 two)."""
    return csv_file(tmp_path, "gappy.csv", [
        line("100000001"),
        line("100000002", given_name=""),
        line("12345"),
        line("100000004"),
        line("100000005", filed_on="2024-02-30"),
        line("100000006", zip=INJECTION, tax_year="20x3"),
        line("100000007", unit="Apt 2"),
        line("100000008", date_of_birth=""),  # optional: empty is fine
    ])  # fmt: skip


def test_bad_rows_are_set_aside_and_the_good_ones_load(gappy: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    summary = load_filings([gappy], home)
    assert (summary.rows, summary.rejected, summary.filings) == (4, 4, 4)
    assert query(home, "SELECT tin FROM filings_norm ORDER BY tin") == [
        ("100000001",), ("100000004",), ("100000007",), ("100000008",),
    ]  # fmt: skip
    assert summary.reasons == (
        ("filed_on", "not a date YYYY-MM-DD", 1),
        ("given_name", "empty", 1),
        ("tax_year", "not a whole number", 1),
        ("tin", "not 9 digits", 1),
        ("zip", "not a ZIP5 or ZIP+4 of digits only", 1),
    )
    assert summary.tax_years == (2023,)
    assert summary.rejects is not None and summary.rejects.parent == home / "rejects"
    assert summary.rejects.name.startswith("gappy-") and summary.rejects.suffix == ".csv"
    assert stat.S_IMODE(summary.rejects.stat().st_mode) == 0o600
    lines = reject_lines(summary.rejects)
    assert [(r["row"], r["field"], r["reason"]) for r in lines] == [
        ("2", "given_name", "empty"),
        ("3", "tin", "not 9 digits"),
        ("5", "filed_on", "not a date YYYY-MM-DD"),
        ("6", "tax_year", "not a whole number"),
        ("6", "zip", "not a ZIP5 or ZIP+4 of digits only"),
    ]
    assert {r["file"] for r in lines} == {str(gappy)}
    assert lines[1]["tin"] == "12345" and lines[2]["filed_on"] == "2024-02-30"
    assert list(lines[0]) == ["file", "row", "field", "reason", *FILING_COLUMNS]


def test_the_reject_file_is_csv_injection_safe(gappy: Path, tmp_path: Path) -> None:
    summary = load_filings([gappy], tmp_path / "home", rejects=tmp_path / "out" / "r.csv")
    assert summary.rejects == tmp_path / "out" / "r.csv"
    zips = [r["zip"] for r in reject_lines(summary.rejects) if r["row"] == "6"]
    assert zips == ["'" + INJECTION] * 2  # a spreadsheet shows it as text, never runs it
    assert restore(zips[0]) == INJECTION


def test_rejected_rows_of_a_later_row_group_are_numbered_in_the_file(tmp_path: Path) -> None:
    rows = [dict(zip(FILING_COLUMNS, next(csv.reader([line(f"20000000{n}")])), strict=True))
            for n in range(5)]  # fmt: skip
    rows[3]["family_name"] = None
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=2)
    summary = load_filings([path], tmp_path / "home")
    assert (summary.rows, summary.rejected) == (4, 1)
    assert [(r["row"], r["field"]) for r in reject_lines(summary.rejects)] == [("4", "family_name")]


def test_a_file_of_only_bad_rows_is_refused_and_nothing_loads(tmp_path: Path) -> None:
    bad = csv_file(tmp_path, "bad.csv", [line("1", state="tx"), line("2", street="")])
    home = tmp_path / "home"
    with pytest.raises(TaxgateError, match="2 of 2 rows cannot be loaded") as caught:
        load_filings([bad], home)
    assert caught.value.file == bad and "max_reject_share" in caught.value.what
    rejects = next((home / "rejects").iterdir())
    assert str(rejects) in caught.value.fix  # the user is told where every reason is listed
    assert len(reject_lines(rejects)) == 4
    assert "filings_norm" not in tables(home)


def test_more_rejects_than_the_policy_allows_refuse_the_file(tmp_path: Path) -> None:
    mostly = csv_file(tmp_path, "mostly.csv", [
        line("100000001"), line("100000002", given_name=""), line("100000003", zip="7870"),
    ])  # fmt: skip
    with pytest.raises(TaxgateError, match=r"max_reject_share of 0\.5"):
        load_filings([mostly], tmp_path / "home")
    assert "filings_norm" not in tables(tmp_path / "home")
    summary = load_filings([mostly], tmp_path / "home", max_reject_share=1.0)
    assert (summary.rows, summary.rejected) == (1, 2)


def test_policy_sets_the_largest_share_of_rows_set_aside() -> None:
    assert load_policy().master.max_reject_share == 0.5


def test_a_file_with_the_wrong_columns_is_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(HEADER.replace("given_name", "first_name") + "\n" + line("1") + "\n")
    with pytest.raises(FormatError, match="unknown column 'first_name'") as caught:
        load_filings([wrong], tmp_path / "home")
    assert "given_name" in caught.value.fix
    short = tmp_path / "short.parquet"
    pq.write_table(pa.table({"tin": ["100000001"]}), short)
    with pytest.raises(FormatError, match="lacks column"):
        load_filings([short], tmp_path / "home")


def test_a_file_with_no_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TaxgateError, match="hold no filings"):
        load_filings([csv_file(tmp_path, "empty.csv", [])], tmp_path / "home")


@pytest.fixture(params=["name tables", "loaded before them"])
def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[list[dict]], Path]:
    """Makes a home whose master holds the filings given; in the second form without the name
    tables (a master loaded before they existed), which must count alike from its filings."""

    def make(filings: list[dict]) -> Path:
        home = tmp_path / "home"
        load_filings([write(tmp_path, "f.jsonl", filings)], home)
        if request.param == "loaded before them":
            with duckdb.connect(str(master_path(home))) as con:
                con.execute("DROP TABLE taxpayer_names")
                con.execute("DROP TABLE name_filers")
        return home

    return make


def pairs_of(values: list[dict]) -> pa.Table:
    """Candidate pairs holding `values`, every other column null."""
    from taxgate.match.predict import SCHEMA

    return pa.Table.from_pylist(
        [{name: None for name in SCHEMA.names} | v for v in values], schema=SCHEMA
    )


def test_a_namesake_counts_under_any_spelling_it_filed(loaded: Callable) -> None:
    """Its latest return at its address was mistyped ("Noël" for "Jean-Pierre"); the address
    record carries the latest spelling, but it filed under the name before: still a namesake."""
    from taxgate.match.predict import with_namesakes

    home = loaded([
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St", given_name="Jean-Pierre",
               family_name="Baptiste"),
        filing(BEN, 2022, date(2023, 4, 1), "9 Pine Road", given_name="Jean-Pierre",
               family_name="Baptiste"),
        filing(BEN, 2023, date(2024, 4, 1), "9 Pine Road", given_name="Noël",
               family_name="Baptiste"),
    ])  # fmt: skip
    assert query(home, f"SELECT given FROM taxpayer_addresses WHERE tin = '{BEN}'") == [("NOEL",)]
    (given,) = query(home, f"SELECT DISTINCT given FROM taxpayer_addresses WHERE tin = '{ANA}'")[0]
    pairs = pairs_of([
        {"tin": ANA, "given_r": given, "family_r": "BAPTISTE", "zip5_r": "78701"},
        # Ben's record says NOEL; the request's name is the one Ana filed under.
        {"tin": BEN, "given_r": "NOEL", "family_r": "BAPTISTE", "zip5_r": "78701",
         "given_l": given, "family_l": "BAPTISTE"},
        # No name asked: Ben filed as Jean-Pierre too, and Ana filed under that name here.
        {"tin": BEN, "given_r": "NOEL", "family_r": "BAPTISTE", "zip5_r": "78701"},
        # Asked elsewhere: nobody else filed under either name in that ZIP.
        {"tin": BEN, "given_r": "NOEL", "family_r": "BAPTISTE", "zip5_r": "10001"},
    ])  # fmt: skip
    assert with_namesakes(pairs, home).column("namesakes_r").to_pylist() == [1, 1, 1, 0]


def test_a_namesake_of_a_name_the_record_no_longer_carries_counts(loaded: Callable) -> None:
    """Cal filed as 'Daniel Smith', then as 'D Smith' (the record's spelling: the latest of two
    filed once each); another Daniel Smith filed in the ZIP. The request names Daniel, with a
    stray space in the surname, so neither the record's name nor the request's has a namesake
    as written: the count must see the name Cal filed under (5M people, seed 9, S-064214)."""
    from taxgate.match.predict import with_namesakes

    cal, dan, eve = "323456789", "423456789", "523456789"
    home = loaded([
        filing(cal, 2022, date(2023, 4, 1), "14 Martin Ave", given_name="Daniel",
               family_name="Smith"),
        filing(cal, 2023, date(2024, 4, 1), "14 Martin Ave", given_name="D",
               family_name="Smith"),
        filing(dan, 2023, date(2024, 4, 1), "23 8th Ave", given_name="Daniel",
               family_name="Smith"),
        # Filed under the request's spelling and under one of Cal's: counted once.
        filing(eve, 2022, date(2023, 4, 1), "5 Oak St", given_name="Daniel",
               family_name="Smi th"),
        filing(eve, 2023, date(2024, 4, 1), "5 Oak St", given_name="D",
               family_name="Smith"),
    ])  # fmt: skip
    assert query(home, f"SELECT given FROM taxpayer_addresses WHERE tin = '{cal}'") == [("D",)]
    asked = {"tin": cal, "given_r": "D", "family_r": "SMITH", "zip5_r": "78701"}
    pairs = pairs_of([
        asked | {"given_l": "DANIEL", "family_l": "SMI TH"},  # Dan and Eve
        asked,  # no name asked: Dan (Daniel Smith) and Eve (D Smith)
        {"tin": dan, "given_r": "DANIEL", "family_r": "SMITH", "zip5_r": "78701",
         "given_l": "DANIEL", "family_l": "SMITH"},  # Cal
        {"tin": eve, "given_r": "D", "family_r": "SMITH", "zip5_r": "78701",
         "given_l": "DANIEL", "family_l": "SMI TH"},  # Cal (D Smith); the request is Eve's name
    ])  # fmt: skip
    assert with_namesakes(pairs, home).column("namesakes_r").to_pylist() == [2, 2, 1, 1]


def test_a_namesake_in_the_zip_asked_about_counts_whatever_zip_the_record_has(
    loaded: Callable,
) -> None:
    """Ana's one return mistyped her ZIP (78702 for 78701), so her record's ZIP has no
    namesake; Ben filed under the requested name in the ZIP the request names (20M people,
    seed 29, S-0713142)."""
    from taxgate.match.predict import with_namesakes

    home = loaded([
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St", given_name="Jose",
               family_name="Garcia", zip="78702"),
        filing(BEN, 2023, date(2024, 4, 1), "9 Pine Road", given_name="Jose",
               family_name="Garcia"),
    ])  # fmt: skip
    record = {"tin": ANA, "given_r": "JOSE", "family_r": "GARCIA", "zip5_r": "78702"}
    pairs = pairs_of([
        record | {"given_l": "JOSE", "family_l": "GARCIA", "zip5_l": "78701"},  # Ben
        record | {"given_l": "JOSE", "family_l": "GARCIA", "zip5_l": "78702"},  # nobody else
        record | {"given_l": "JOSE", "family_l": "GARCIA"},  # no ZIP asked
        {"tin": BEN, "given_r": "JOSE", "family_r": "GARCIA", "zip5_r": "78701",
         "given_l": "JOSE", "family_l": "GARCIA", "zip5_l": "78701"},  # not Ben himself
    ])  # fmt: skip
    assert with_namesakes(pairs, home).column("namesakes_r").to_pylist() == [1, 0, 0, 0]


def test_a_taxpayer_filed_under_a_given_name_it_no_longer_carries(loaded: Callable) -> None:
    """The record carries 'DANNA' (filed last); the taxpayer filed as 'María' the year before."""
    from taxgate.match.predict import with_given_filed

    home = loaded([
        filing(ANA, 2022, date(2023, 4, 1), "12 Oak St", given_name="María",
               family_name="Rodríguez"),
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St", given_name="Danna",
               family_name="Rodríguez"),
        filing(BEN, 2023, date(2024, 4, 1), "12 Oak St", given_name="Lucía",
               family_name="Rodríguez"),
    ])  # fmt: skip
    assert query(home, f"SELECT given FROM taxpayer_addresses WHERE tin = '{ANA}'") == [("DANNA",)]
    asked = ((ANA, "MARIA"), (BEN, "MARIA"), (ANA, "LUCIA"), (ANA, None))
    pairs = pairs_of([{"tin": tin, "given_l": given} for tin, given in asked])
    assert with_given_filed(pairs, home).column("given_filed_r").to_pylist() == [
        True, False, False, False,
    ]  # fmt: skip
