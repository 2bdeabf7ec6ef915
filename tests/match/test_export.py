"""The master's Parquet export for Spark: written by every load from the tables it swaps in,
equal to the DuckDB master, and refused, with what to run, when missing, stale or damaged."""

from __future__ import annotations

import json
import shutil
import stat
from datetime import date
from pathlib import Path

import duckdb
import pytest

from taxgate.errors import TaxgateError
from taxgate.match import export, master, model
from taxgate.match.export import ADDRESSES, MANIFEST, export_dir
from taxgate.match.master import current_export, export_parquet, load_filings, master_path
from tests.match.test_master import ANA, BEN, filing, write

COLUMNS = ", ".join((model.UNIQUE_ID, *model.MODEL_COLUMNS))
MASTER_COLUMNS = ", ".join((f"address_id AS {model.UNIQUE_ID}", *model.MODEL_COLUMNS))
FIX = "taxgate master export --home"


@pytest.fixture
def years(tmp_path: Path) -> tuple[Path, Path]:
    """Two tax years; in the second Ben moves to another ZIP region, so a partition is added."""
    y2022 = write(tmp_path, "f2022.parquet", [
        filing(ANA, 2022, date(2023, 4, 1), "12 Oak Street"),
        filing(BEN, 2022, date(2023, 3, 1), "5 Elm Avenue"),
    ])  # fmt: skip
    y2023 = write(tmp_path, "f2023.parquet", [
        filing(ANA, 2023, date(2024, 4, 1), "12 Oak St"),
        filing(BEN, 2023, date(2024, 3, 1), "9 Pine Road", city="Boston", state="MA",
               zip="02108"),
    ])  # fmt: skip
    return y2022, y2023


def master_rows(home: Path) -> dict[str, list[tuple]]:
    """The master's right-hand side and TF tables as DuckDB reads them for matching."""
    with duckdb.connect(str(master_path(home)), read_only=True) as con:
        return {
            ADDRESSES: con.execute(
                f"SELECT {MASTER_COLUMNS} FROM taxpayer_addresses ORDER BY 1"
            ).fetchall(),
            **{
                f"tf_{c}": con.execute(f"SELECT * FROM tf_{c} ORDER BY 1").fetchall()
                for c in master.TF_COLUMNS
            },
        }


def exported_rows(parquet: export.Manifest) -> dict[str, list[tuple]]:
    """The export as a reader of its files (not of the manifest) finds it."""
    with duckdb.connect() as con:
        glob = parquet.table(ADDRESSES) / "**" / "*.parquet"
        return {
            ADDRESSES: con.execute(
                f"SELECT {COLUMNS} FROM read_parquet('{glob}', hive_partitioning = false) "
                "ORDER BY 1"
            ).fetchall(),
            **{
                f"tf_{c}": con.execute(
                    f"SELECT * FROM read_parquet('{parquet.table(f'tf_{c}')}/*.parquet') ORDER BY 1"
                ).fetchall()
                for c in master.TF_COLUMNS
            },
        }


def version_in_master(home: Path) -> str | None:
    with duckdb.connect(str(master_path(home)), read_only=True) as con:
        return master.master_version(con)


def years_in_master(home: Path) -> set[int]:
    with duckdb.connect(str(master_path(home)), read_only=True) as con:
        return master.loaded_years(con)


def test_a_load_exports_what_the_master_holds(years: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    summary = load_filings(list(years), home)
    parquet = current_export(home)
    assert summary.parquet == parquet and parquet.folder == home.absolute() / "master-parquet"
    assert parquet.version == version_in_master(home) and parquet.tax_years == (2022, 2023)
    expected = master_rows(home)
    assert exported_rows(parquet) == expected
    assert parquet.rows == {name: len(rows) for name, rows in expected.items()}
    assert parquet.rows[ADDRESSES] == summary.addresses == 3
    # Only the model's columns, partitioned by the ZIP's area: Austin 7, Boston 0.
    partitions = sorted(p.name for p in parquet.table(ADDRESSES).iterdir())
    assert partitions == ["zip1=0", "zip1=7"]
    for path in parquet.folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_a_second_load_rewrites_the_export(years: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = load_filings([years[0]], home).parquet
    assert first is not None and first.tax_years == (2022,) and first.rows[ADDRESSES] == 2
    second = load_filings([years[1]], home).parquet
    assert second is not None and second.version != first.version
    assert current_export(home) == second and second.tax_years == (2022, 2023)
    assert exported_rows(second) == master_rows(home) and second.rows[ADDRESSES] == 3
    # The first version is gone: one version folder and the manifest, nothing else.
    assert {p.name for p in export_dir(home).iterdir()} == {MANIFEST, second.version}


def test_a_missing_export_is_refused_with_what_to_run(
    years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings([years[0]], home)
    shutil.rmtree(export_dir(home))
    with pytest.raises(TaxgateError, match="no Parquet export of the master index") as caught:
        current_export(home)
    assert f"{FIX} {home}" in caught.value.fix
    rewritten = export_parquet(home)
    assert current_export(home) == rewritten and exported_rows(rewritten) == master_rows(home)


def test_a_master_loaded_before_exports_is_refused_until_exported(
    years: tuple[Path, Path], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    load_filings([years[0]], home)
    with duckdb.connect(str(master_path(home))) as con:  # what an older taxgate left
        con.execute(f"DROP TABLE {master.VERSION_TABLE}")
    with pytest.raises(TaxgateError, match="export is stale") as caught:
        current_export(home)
    assert FIX in caught.value.fix
    written = export_parquet(home)
    assert version_in_master(home) == written.version == current_export(home).version


def test_an_export_left_behind_by_a_killed_load_is_refused(
    years: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the master's swap committed, before the manifest named the new export."""
    home = tmp_path / "home"
    before = load_filings([years[0]], home).parquet
    assert before is not None

    def killed(manifest: export.Manifest) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        load_filings([years[1]], home)
    monkeypatch.undo()
    assert years_in_master(home) == {2022, 2023}  # the master has the new year
    with pytest.raises(TaxgateError, match=r"export is stale.*tax years 2022\)") as caught:
        current_export(home)
    assert FIX in caught.value.fix
    # The staged version was discarded; only the published one (now stale) is left.
    assert {p.name for p in export_dir(home).iterdir()} == {MANIFEST, before.version}
    assert exported_rows(export_parquet(home)) == master_rows(home)


def test_a_load_that_fails_leaves_the_export_as_it_was(
    years: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    before = load_filings([years[0]], home).parquet

    def swap_fails(con: duckdb.DuckDBPyConnection, version: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(master, "_swap_in", swap_fails)
    with pytest.raises(OSError, match="disk full"):
        load_filings([years[1]], home)
    assert years_in_master(home) == {2022}
    assert current_export(home) == before
    assert {p.name for p in export_dir(home).iterdir()} == {MANIFEST, before.version}


def damage_a_file(parquet: export.Manifest) -> None:
    next(parquet.table(ADDRESSES).rglob("*.parquet")).unlink()


def other_columns(parquet: export.Manifest) -> None:
    path = parquet.folder / MANIFEST
    data = json.loads(path.read_text())
    data["columns"] = data["columns"][:-1]
    path.write_text(json.dumps(data))


def unreadable(parquet: export.Manifest) -> None:
    (parquet.folder / MANIFEST).write_text("{")


@pytest.mark.parametrize(
    ("damage", "said"),
    [(damage_a_file, "incomplete: a file is missing"), (other_columns, "other columns"),
     (unreadable, "manifest of the master's Parquet export is unreadable")],
)  # fmt: skip
def test_a_damaged_export_is_refused(
    years: tuple[Path, Path], tmp_path: Path, damage, said: str
) -> None:
    home = tmp_path / "home"
    parquet = load_filings([years[0]], home).parquet
    assert parquet is not None
    damage(parquet)
    with pytest.raises(TaxgateError, match=said) as caught:
        current_export(home)
    assert FIX in caught.value.fix
    export_parquet(home)
    assert exported_rows(current_export(home)) == master_rows(home)


def test_the_export_goes_where_taxgate_master_parquet_dir_says(
    years: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a cluster of several machines: a folder on a shared mount, kept private too."""
    shared = tmp_path / "shared" / "taxgate-master"
    monkeypatch.setenv("TAXGATE_MASTER_PARQUET_DIR", str(shared))
    home = tmp_path / "home"
    parquet = load_filings([years[0]], home).parquet
    assert parquet is not None and parquet.folder == shared and current_export(home) == parquet
    assert not (home / "master-parquet").exists()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    shared.chmod(0o777)
    with pytest.raises(TaxgateError, match="writable by group or others"):
        current_export(home)
