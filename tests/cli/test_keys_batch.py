from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taxgate.cli.main import app, run
from taxgate.formats.keys import load_private_key
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.records import Subject
from taxgate.formats.tables import records_to_table, write_table

AGENCY = "Requesting Agency A"
runner = CliRunner()


def _batch(directory: Path) -> Path:
    subjects = [Subject(subject_id="S1", given_name="Pat", family_name="Doe", zip="78701")]
    write_table(records_to_table(subjects, "subjects"), directory / "subjects.csv", "subjects")
    path = directory / "manifest.json"
    RequestManifest(
        batch_id="B-CLI-1",
        requesting_agency=AGENCY,
        submitted_on=date(2025, 1, 2),
        signer=Signer(name="Pat Doe", title="Director"),
        statutory_authority="statute 1",
        attestation="The subjects are relevant.",
        subjects_file="subjects.csv",
    ).save(path)
    return path


@pytest.fixture
def signed_batch(tmp_path: Path) -> tuple[Path, Path, str]:
    """Runs `keys new` and `batch sign`; returns manifest path, keyring dir and key id."""
    keys = tmp_path / "keys"
    result = runner.invoke(
        app,
        [
            *("keys", "new", "--agency", AGENCY, "--signer", "Pat Doe", "--title", "Director"),
            *("--out", str(keys), "--created-on", "2025-01-02"),
        ],
    )
    assert result.exit_code == 0, result.output
    (key_path,) = keys.glob("*.key")
    _, record = load_private_key(key_path)
    assert record.key_id in result.output and key_path.name in result.output
    assert record.created_on == date(2025, 1, 2)

    manifest = _batch(tmp_path / "batch")
    result = runner.invoke(app, ["batch", "sign", str(manifest), "--key", str(key_path)])
    assert result.exit_code == 0, result.output
    signed = RequestManifest.load(manifest)
    for shown in ("B-CLI-1", signed.subjects_sha256, record.key_id):
        assert shown in result.output
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    shutil.copy(next(keys.glob("*.pub.json")), keyring)
    return manifest, keyring, record.key_id


def test_verify_valid_batch(signed_batch):
    manifest, keyring, key_id = signed_batch
    result = runner.invoke(app, ["batch", "verify", str(manifest), "--keyring", str(keyring)])
    assert result.exit_code == 0, result.output
    assert "valid:" in result.output and key_id in result.output and "Pat Doe" in result.output


def test_verify_tampered_batch_lists_problem_and_exits_1(signed_batch):
    manifest, keyring, _ = signed_batch
    table = manifest.parent / "subjects.csv"
    table.write_bytes(table.read_bytes().replace(b"Pat", b"Pet", 1))
    result = runner.invoke(app, ["batch", "verify", str(manifest), "--keyring", str(keyring)])
    assert result.exit_code == 1, result.output
    assert "TABLE_CHANGED" in result.output
    assert "valid:" not in result.output


def test_verify_as_response_refuses_a_request_manifest(signed_batch, monkeypatch, capsys):
    manifest, keyring, _ = signed_batch
    argv = ["taxgate", "batch", "verify", str(manifest), "--keyring", str(keyring), "--response"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_missing_keyring_is_one_line_error(signed_batch, monkeypatch, capsys):
    manifest, _, _ = signed_batch
    monkeypatch.setattr(
        sys, "argv", ["taxgate", "batch", "verify", str(manifest), "--keyring", "/nonexistent"]
    )
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "keyring directory not found" in err


def test_console_entry_exits_1_on_invalid_batch(signed_batch, monkeypatch, capsys):
    manifest, keyring, _ = signed_batch
    (manifest.parent / "subjects.csv").write_bytes(b"subject_id\n")
    monkeypatch.setattr(
        sys, "argv", ["taxgate", "batch", "verify", str(manifest), "--keyring", str(keyring)]
    )
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 1
    assert "TABLE_CHANGED" in capsys.readouterr().out
