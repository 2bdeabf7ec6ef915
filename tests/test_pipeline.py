"""A batch survives a SIGKILL at every crash point, and the same manifest twice is one batch.

Each run is a real `taxgate process` subprocess; `TAXGATE_CRASH_AT` makes it kill itself at
the named point (taxgate.crashpoints). The restarted run must finish the batch with the same
decisions as an uninterrupted run, no row or event twice, none lost, and a log that verifies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from taxgate.crashpoints import POINTS
from taxgate.formats.keys import load_keyring
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.tables import read_table
from taxgate.ledger import schema as t
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import EventKind
from taxgate.ledger.rows_audit import read_secret

CHUNK = "100"  # subjects per match chunk: the small world's batch takes several chunks
pytestmark = pytest.mark.slow


def disclosing_key(world_dir: Path) -> Path:
    return next(
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in (world_dir / "keys").glob("*.pub.json")
        if '"Disclosing Agency"' in p.read_text()
    )


def process(
    world_dir: Path, home: Path, out: Path, url: str, manifest: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "taxgate", "process",
            str(manifest or world_dir / "batch" / "manifest.json"), "--home", str(home),
            "--keyring", str(world_dir / "keys"), "--key", str(disclosing_key(world_dir)),
            "--out", str(out)]  # fmt: skip
    environment = os.environ | {
        "TAXGATE_DATABASE_URL": url,
        "TAXGATE_MATCH_CHUNK_SUBJECTS": CHUNK,
        "COLUMNS": "200",
    }
    environment.pop("TAXGATE_CRASH_AT", None)
    return subprocess.run(args, env=environment | env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def home(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained home: the runs add a secret to it, and nothing else."""
    copy = tmp_path_factory.mktemp("home")
    for name in ("master.duckdb", "model.json"):
        shutil.copy(trained_home / name, copy / name)
    return copy


@pytest.fixture(scope="module")
def reference(world_dir: Path, home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Outcomes of an uninterrupted run, by row."""
    folder = tmp_path_factory.mktemp("reference")
    done = process(world_dir, home, folder / "out", f"sqlite:///{folder / 'ledger.sqlite3'}")
    assert done.returncode == 0, done.stderr
    decisions = pq.read_table(folder / "out" / "decisions.parquet").to_pylist()
    return {d["row"]: (d["outcome"], d["tin"]) for d in decisions}


def counts(url: str, batch_id: str) -> dict[str, int]:
    engine = open_ledger(url)
    with engine.connect() as conn:

        def rows(table: t.Table) -> int:
            return conn.execute(
                select(func.count()).select_from(table).where(table.c.batch_id == batch_id)
            ).scalar_one()

        events = dict(
            conn.execute(
                select(t.log_events.c.kind, func.count())
                .where(t.log_events.c.batch_id == batch_id)
                .group_by(t.log_events.c.kind)
            ).all()
        )
        found = {
            "subjects": rows(t.subjects),
            "decisions": rows(t.decisions),
            "disclosures": rows(t.disclosures),
            "responses": rows(t.responses),
        }
    engine.dispose()
    return found | {f"events:{k}": v for k, v in events.items()}


@pytest.mark.parametrize("point", POINTS)
def test_a_batch_killed_at_any_point_finishes_once_and_verifies(
    point: str, world_dir: Path, home: Path, reference: dict, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    killed = process(world_dir, home, out, database_url, TAXGATE_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    resumed = process(world_dir, home, out, database_url)
    assert resumed.returncode == 0, resumed.stderr

    decisions = pq.read_table(out / "decisions.parquet").to_pylist()
    assert {d["row"]: (d["outcome"], d["tin"]) for d in decisions} == reference
    batch_id = RequestManifest.load(world_dir / "batch" / "manifest.json").batch_id
    found = counts(database_url, batch_id)
    proceeding = sum(1 for d in decisions)
    confirmed = sum(1 for d in decisions if d["outcome"] == "CONFIRMED")
    responses = read_table(out / "responses.csv", "responses")
    assert found["subjects"] == responses.num_rows == found[f"events:{EventKind.GATE_VERDICT}"]
    assert found["decisions"] == proceeding == found[f"events:{EventKind.DECISION}"]
    assert found["disclosures"] == confirmed == found[f"events:{EventKind.DISCLOSURE}"]
    assert found["responses"] == 1 == found[f"events:{EventKind.RESPONSE_RELEASED}"]
    assert found[f"events:{EventKind.BATCH_RECEIVED}"] == 1
    assert sum(r["outcome"] == "CONFIRMED" for r in responses.to_pylist()) == confirmed

    engine = open_ledger(database_url)
    report = verify_log(engine, load_keyring(world_dir / "keys"), secret=read_secret(home))
    engine.dispose()
    assert report.ok, report
    # the resumed run signed what the killed one left unsigned (even after its release)
    assert (report.unsigned_events, report.signed_size) == (0, report.tree_size), report
    assert report.rows is not None and report.rows.keyed_checked  # every table row, keyed too


def test_the_same_manifest_again_returns_the_recorded_result(
    world_dir: Path, home: Path, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = process(world_dir, home, out, database_url)
    assert first.returncode == 0, first.stderr
    batch_id = RequestManifest.load(world_dir / "batch" / "manifest.json").batch_id
    before = counts(database_url, batch_id)
    response = (out / "response.json").read_bytes()

    again = process(world_dir, home, out, database_url)
    assert again.returncode == 0, again.stderr
    assert "already answered" in again.stdout
    assert counts(database_url, batch_id) == before
    assert (out / "response.json").read_bytes() == response


def test_another_manifest_under_the_same_batch_id_is_refused(
    world_dir: Path, home: Path, database_url: str, tmp_path: Path
) -> None:
    first = process(world_dir, home, tmp_path / "out", database_url)
    assert first.returncode == 0, first.stderr
    copy = tmp_path / "batch"
    shutil.copytree(world_dir / "batch", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["attestation"] += " "  # any change: another manifest under the same batch id
    (copy / "manifest.json").write_text(json.dumps(manifest))
    refused = process(
        world_dir, home, tmp_path / "out2", database_url, manifest=copy / "manifest.json"
    )
    assert refused.returncode != 0
    assert "for a different manifest" in refused.stdout + refused.stderr
    assert not (tmp_path / "out2" / "response.json").exists()
    assert "refusal logged" in refused.stdout
    assert (tmp_path / "out2" / "checkpoint.txt").is_file()

    again = process(
        world_dir, home, tmp_path / "out3", database_url, manifest=copy / "manifest.json"
    )
    assert again.returncode != 0
    engine = open_ledger(database_url)
    with engine.connect() as conn:
        refusals = conn.execute(select(t.refused_batches)).all()
        logged = conn.execute(
            select(t.log_events.c.body).where(t.log_events.c.kind == EventKind.BATCH_REFUSED)
        ).scalars().all()  # fmt: skip
    report = verify_log(engine, load_keyring(world_dir / "keys"))
    engine.dispose()
    assert [(r.claimed_batch_id, r.reason) for r in refusals] == [
        (manifest["batch_id"], "BATCH_ID_REUSED")
    ]
    assert len(logged) == 1 and json.loads(logged[0])["reason"] == "BATCH_ID_REUSED"
    assert report.ok, report


def test_a_batch_checked_with_taxgate_gate_first_is_processed_as_the_same_batch(
    world_dir: Path, home: Path, database_url: str, reference: dict, tmp_path: Path
) -> None:
    """`taxgate gate` remembers the batch and its people; that is no re-submission, and the
    people are not re-requests of themselves."""
    gate = subprocess.run(
        [sys.executable, "-m", "taxgate", "gate", str(world_dir / "batch" / "manifest.json"),
         "--keyring", str(world_dir / "keys"), "--home", str(home), "--out", str(tmp_path / "g"),
         "--key", str(disclosing_key(world_dir))],
        env=os.environ | {"TAXGATE_DATABASE_URL": database_url}, capture_output=True, text=True,
    )  # fmt: skip
    assert gate.returncode == 0, gate.stdout + gate.stderr
    done = process(world_dir, home, tmp_path / "out", database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    decisions = pq.read_table(tmp_path / "out" / "decisions.parquet").to_pylist()
    assert {d["row"]: (d["outcome"], d["tin"]) for d in decisions} == reference
    engine = open_ledger(database_url)
    with engine.connect() as conn:
        remembered = conn.execute(select(func.count()).select_from(t.gate_batches)).scalar_one()
    report = verify_log(engine, load_keyring(world_dir / "keys"), secret=read_secret(home))
    engine.dispose()
    assert remembered == 1
    # the gate's logged memory accounts for the rows, and both commands signed what they logged
    assert report.ok and report.unsigned_events == 0, report


def test_the_manifest_is_read_once_and_a_swap_mid_batch_changes_nothing(
    world_dir: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read of the request manifest serves the gate, the ledger and the response; a file
    replaced on disk after the gate cannot redirect the signed response."""
    from taxgate.formats import manifest as manifest_module
    from taxgate.formats.signing import file_sha256
    from taxgate.ledger import recorder
    from taxgate.ledger.secret import load_or_create_secret
    from taxgate.pipeline import process_batch
    from taxgate.policy import load_policy

    batch = tmp_path / "batch"
    shutil.copytree(world_dir / "batch", batch)
    manifest = batch / "manifest.json"
    original = RequestManifest.load(manifest)
    original_sha = file_sha256(manifest)
    reads: list[Path] = []
    read = manifest_module._read

    def counted(path: Path) -> bytes:
        reads.append(Path(path))
        return read(path)

    record_gate = recorder.record_gate

    def gate_then_swap(*args, **kwargs):
        record_gate(*args, **kwargs)
        original.model_copy(update={"requesting_agency": "Someone Else"}).save(manifest)

    monkeypatch.setattr(manifest_module, "_read", counted)
    monkeypatch.setattr(recorder, "record_gate", gate_then_swap)
    result = process_batch(
        manifest, home=home, keyring=load_keyring(world_dir / "keys"), policy=load_policy(),
        ledger=open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}"),
        secret=load_or_create_secret(home), key_path=disclosing_key(world_dir),
        out=tmp_path / "out", chunk_subjects=int(CHUNK),
    )  # fmt: skip
    assert reads.count(manifest) == 1
    assert result.response_manifest is not None
    response = json.loads(result.response_manifest.read_text())
    assert response["recipient_agency"] == original.requesting_agency
    assert response["request_sha256"] == original_sha
