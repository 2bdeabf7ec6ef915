"""The master index: append new tax years only, one address record per (tin, address),
last_known from the latest filed_on."""

from __future__ import annotations

import os
import stat
import tempfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

from taxgate.errors import TaxgateError
from taxgate.formats.tables import records_to_table, write_table
from taxgate.match import master
from taxgate.match.master import load_filings, master_path

ANA, BEN = "123456789", "223456789"


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
    assert steps[-1] == (25, 25)  # 80 filings / 7 per slice = 12 slices, twice, plus the sort
    for sql in DERIVED_QUERIES:
        assert query(sliced, sql) == query(whole, sql), sql
    rows = query(whole, "SELECT address_id, tin FROM taxpayer_addresses")
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len(rows) == 40 + 14
    tins = [r[0] for r in query(whole, "SELECT tin FROM last_known")]
    assert tins == sorted(tins) and len(tins) == 40


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
    summary = load_filings([two_years[1]], home)
    assert (summary.filings, summary.taxpayers, summary.addresses) == (4, 2, 3)
    assert tables(home) == {"filings_norm", "taxpayer_addresses", "last_known", "tf_given",
                            "tf_family"}  # fmt: skip


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
    assert tables(home) == {"filings_norm", "taxpayer_addresses", "last_known", "tf_given",
                            "tf_family"}  # fmt: skip


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
