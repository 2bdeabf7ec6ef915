"""`taxgate master load` and `taxgate model train` through typer, registered as main does."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from taxgate.cli import master, model
from taxgate.errors import TaxgateError


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
    for label in ("taxpayers", "addresses", "seconds", "file size"):
        assert label in result.output
    again = runner.invoke(_app(), args)
    assert isinstance(again.exception, TaxgateError)
    assert "already in the master index" in str(again.exception)


def test_model_train_without_master_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["model", "train", "--home", str(tmp_path)])
    assert isinstance(result.exception, TaxgateError)
