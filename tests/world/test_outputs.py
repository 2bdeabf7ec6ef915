"""The written files: signed batch verifies, chunked Parquet has the right rows, CLI works."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from taxgate.cli.main import app
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.signing import verify_manifest_file
from taxgate.gate.receipt import receipt_time
from tests.world.conftest import make_world


def test_manifest_verifies_with_the_written_keys(world) -> None:
    assert verify_manifest_file(world.summary.paths.manifest, world.summary.paths.keys) == []


def test_small_chunks_give_the_right_counts(tmp_path: Path) -> None:
    w = make_world(tmp_path, people=3500, subjects=300, chunk_size=1000)
    meta = pq.ParquetFile(w.summary.paths.filings).metadata
    assert meta.num_row_groups == math.ceil(3500 / 1000)
    assert meta.num_rows == w.summary.filings
    assert len(set(w.filings.column("tin").to_pylist())) == 3500
    assert len(w.subjects) == 300 == len(w.truth)


def test_cli_writes_the_world_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "w"
    args = ["world", "--people", "2000", "--subjects", "200", "--present-fraction", "0.3",
            "--seed", "4", "--out", str(out), "--tax-years", "2021-2023"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "placeholder_address" in result.output and "NOT_CONFIRMED" in result.output
    for name in ("filings.parquet", "batch/manifest.json", "batch/subjects.csv", "truth.csv"):
        assert (out / name).is_file()
    years = set(pq.read_table(out / "filings.parquet").column("tax_year").to_pylist())
    assert years == {2021, 2022, 2023}


def test_cli_dates_the_batch_today_when_asked(tmp_path: Path) -> None:
    """A world to process now: `taxgate process` judges a batch by the day it receives it."""
    out = tmp_path / "w"
    args = ["world", "--people", "500", "--subjects", "50", "--present-fraction", "0.3",
            "--seed", "4", "--out", str(out), "--batch-date", "today"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = RequestManifest.load(out / "batch" / "manifest.json")
    assert manifest.submitted_on == receipt_time().date()


def test_cli_refuses_more_subjects_than_people(tmp_path: Path) -> None:
    args = ["world", "--people", "100", "--subjects", "200", "--present-fraction", "0.3",
            "--seed", "4", "--out", str(tmp_path / "w")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert not (tmp_path / "w" / "filings.parquet").exists()


def test_cli_noise_none_writes_a_clean_world_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "w"
    args = ["world", "--people", "500", "--subjects", "50", "--present-fraction", "0.3",
            "--seed", "4", "--out", str(out), "--noise", "none"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "noise none: 0 returns and 0 requests" in " ".join(result.output.split())
    params = json.loads((out / "world.json").read_text())
    assert params["config"]["noise"] == "none" and params["noise"]["filing_share"] == 0


def test_cli_refuses_an_unknown_noise_level(tmp_path: Path) -> None:
    args = ["world", "--people", "100", "--subjects", "10", "--present-fraction", "0.3",
            "--seed", "4", "--out", str(tmp_path / "w"), "--noise", "loud"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert not (tmp_path / "w" / "filings.parquet").exists()
