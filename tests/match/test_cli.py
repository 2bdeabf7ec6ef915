"""`taxgate master load / export` and `taxgate model train` through typer, registered as main
does."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from typer.testing import CliRunner

from taxgate.cli import master, model
from taxgate.errors import TaxgateError
from taxgate.formats.tables import columns
from taxgate.match.master import current_export


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """taxgate"""

    master.register(app)
    model.register(app)
    return app


def test_master_load_reports_a_summary_and_refuses_a_second_load(
    world_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    args = ["master", "load", str(world_dir / "filings.parquet"), "--home", str(tmp_path)]
    result = runner.invoke(_app(), args)
    assert result.exit_code == 0, result.output
    for label in ("taxpayers", "addresses", "seconds", "file size", "parquet export"):
        assert label in result.output
    again = runner.invoke(_app(), args)
    assert isinstance(again.exception, TaxgateError)
    assert "already in the master index" in str(again.exception)


def test_model_train_without_master_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["model", "train", "--home", str(tmp_path)])
    assert isinstance(result.exception, TaxgateError)


def test_master_load_names_the_reject_file_and_counts_by_reason(tmp_path: Path) -> None:
    header = ",".join(columns("filings"))
    good = "100000001,2023,2024-04-01,Ana,,Stone,,1980-05-17,12 Oak St,,Austin,TX,78701"
    filings = tmp_path / "f.csv"
    filings.write_text("\n".join([header, good, good.replace("Ana", ""), ""]), encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    args = [
        "master",
        "load",
        str(filings),
        "--home",
        str(tmp_path / "h"),
        "--rejects",
        str(rejects),
    ]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert "1 filings" in result.output and "rejected" in result.output
    assert "given_name" in result.output and "empty: 1" in result.output
    assert str(rejects) in result.output.replace("\n", "") and rejects.is_file()


def test_master_export_writes_the_parquet_export_again(tmp_path: Path) -> None:
    header = ",".join(columns("filings"))
    good = "100000001,2023,2024-04-01,Ana,,Stone,,1980-05-17,12 Oak St,,Austin,TX,78701"
    filings = tmp_path / "f.csv"
    filings.write_text("\n".join([header, good, ""]), encoding="utf-8")
    home = tmp_path / "h"
    runner = CliRunner()
    loaded = runner.invoke(_app(), ["master", "load", str(filings), "--home", str(home)])
    assert loaded.exit_code == 0, loaded.output
    shutil.rmtree(current_export(home).folder)
    with_export = runner.invoke(_app(), ["master", "export", "--home", str(home)])
    assert with_export.exit_code == 0, with_export.output
    assert current_export(home).version in with_export.output and "addresses" in with_export.output
    nothing = runner.invoke(_app(), ["master", "export", "--home", str(tmp_path / "empty")])
    assert isinstance(nothing.exception, TaxgateError)
    assert "no master index" in str(nothing.exception)
