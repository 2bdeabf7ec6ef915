"""Attacks on the files a manifest names: paths outside the batch, links, FIFOs, races, and
anything of the subjects file leaking before the signature verifies."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import taxgate.gate.run as gate_run
from taxgate.errors import FormatError, SignatureError
from taxgate.formats.keys import write_key_pair
from taxgate.formats.manifest import (
    FILE_NAME_PATTERN,
    RequestManifest,
    ResponseManifest,
)
from taxgate.formats.schema import write_schemas
from taxgate.formats.signing import sign_manifest, signed_table, verify_manifest
from taxgate.formats.tablefile import read_beside
from taxgate.gate.history import MemoryHistory
from taxgate.gate.run import run_gate
from tests.support import valid_row

SECRET_LINE = "root:x:0:0:root:/root:/bin/bash"
SECRET = (SECRET_LINE + "\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n").encode()
SECRET_SHA = hashlib.sha256(SECRET).hexdigest()

BAD_NAMES = [
    "../x.csv",
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a/b.csv",
    "a\\b.csv",
    "..\\x.csv",
    "C:x.csv",
    "C:\\x.csv",
    "\\\\server\\share\\x.csv",
    "subjects.csv\x00.txt",
    "subjects\x1b[2J.csv",
    "subjects.csv\n",
    "a..csv",
    ".hidden.csv",
    "x\u2215y.csv",  # division slash, looks like "/"
    "x\uff0fy.csv",  # full-width solidus
    "%2e%2e%2fx.csv",
    "~/x.csv",
    "x" * 256,
]


def _manifest_fields(**changes) -> dict:
    fields = {
        "batch_id": "B-1",
        "requesting_agency": "Requesting Agency",
        "submitted_on": "2025-08-01",
        "signer": {"name": "Pat Example", "title": "Director"},
        "statutory_authority": "8 U.S.C. 1253(a)(1)",
        "attestation": "x",
        "subjects_file": "subjects.csv",
    }
    return fields | changes


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_table_file_name_that_is_not_bare_is_refused_by_model_and_schema(name: str) -> None:
    with pytest.raises(ValidationError):
        RequestManifest.model_validate(_manifest_fields(subjects_file=name))
    response = {
        "batch_id": "B-1",
        "disclosing_agency": "D",
        "recipient_agency": "R",
        "responded_on": "2025-08-01",
        "request_sha256": "0" * 64,
        "signer": {"name": "a", "title": "b"},
        "responses_file": name,
    }
    with pytest.raises(ValidationError):
        ResponseManifest.model_validate(response)
    assert not re.fullmatch(FILE_NAME_PATTERN, name) or len(name) > 255


@pytest.mark.parametrize("name", ["subjects.csv", "batch_2025-08.parquet", "Subjects 1.jsonl"])
def test_bare_names_are_accepted(name: str) -> None:
    assert (
        RequestManifest.model_validate(_manifest_fields(subjects_file=name)).subjects_file == name
    )


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_no_accepted_name_leaves_the_directory(name: str) -> None:
    try:
        RequestManifest.model_validate(_manifest_fields(subjects_file=name))
    except ValidationError:
        return
    assert "/" not in name and "\\" not in name and ".." not in name and ":" not in name
    assert name.isprintable() and not name.startswith(".")
    assert Path(name).name == name and not Path(name).is_absolute()


def test_exported_schemas_carry_the_rules(tmp_path: Path) -> None:
    schemas = {p.name: json.loads(p.read_text()) for p in write_schemas(tmp_path)}
    request = schemas["request-manifest.schema.json"]["properties"]
    response = schemas["response-manifest.schema.json"]["properties"]
    assert request["subjects_file"]["pattern"] == FILE_NAME_PATTERN
    assert response["responses_file"]["pattern"] == FILE_NAME_PATTERN
    assert request["batch_id"]["pattern"] == response["batch_id"]["pattern"]
    for name in BAD_NAMES:
        # ECMA-262 "$" (JSON Schema) matches only at the very end, like fullmatch
        assert not re.fullmatch(request["subjects_file"]["pattern"], name) or len(name) > 255


def _keyring_dir(tmp_path: Path, signer_key) -> Path:
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    return keyring


def _unsigned(folder: Path, name: str = "secret.csv", **changes) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "manifest.json"
    path.write_text(json.dumps(_manifest_fields(subjects_file=name, **changes)))
    return path


def _gate(manifest: Path, keyring) -> gate_run.GateResult:
    from taxgate.policy import load_policy
    from tests.support import RECEIVED_AT

    # received as make_batch's batches are dated (the gate's date rules count from receipt)
    return run_gate(manifest, keyring, load_policy(), MemoryHistory(), b"k", remember=False,
                    received_at=RECEIVED_AT)  # fmt: skip


def _verdict_text(result) -> str:
    batch = result.batch
    return " ".join([batch.message, *(m for _, m in batch.problems), batch.manifest_sha256])


def test_unsigned_manifest_naming_etc_passwd_learns_nothing(tmp_path: Path, keyring) -> None:
    manifest = _unsigned(tmp_path / "b", name="/etc/passwd")
    result = _gate(manifest, keyring)
    assert not result.batch.accepted and result.batch.reason == "MANIFEST_UNREADABLE"
    assert "subjects_file" in result.batch.message
    text = _verdict_text(result)
    assert "root:x" not in text and "/etc/passwd" not in text


@pytest.mark.parametrize("tamper", ["unsigned", "unknown key", "bad signature", "other agency"])
def test_the_subjects_file_of_an_unverified_manifest_is_not_echoed(
    tmp_path: Path, make_batch, signer_key, keyring, tamper: str
) -> None:
    manifest = make_batch([valid_row()])
    (manifest.parent / "secret.csv").write_bytes(SECRET)
    data = json.loads(manifest.read_text())
    data["subjects_file"] = "secret.csv"  # breaks the signature
    if tamper == "unsigned":
        data["signature"] = ""
    elif tamper == "unknown key":
        data["signer"]["key_id"] = "ed25519:0000000000000000"
    elif tamper == "other agency":
        data["requesting_agency"] = "Another Agency"
    manifest.write_text(json.dumps(data))
    result = _gate(manifest, keyring)
    assert not result.batch.accepted
    text = _verdict_text(result)
    assert "root:x" not in text and "daemon" not in text
    assert SECRET_SHA not in text and "rows" not in text
    assert result.subjects is None


def test_nothing_of_the_subjects_file_is_opened_before_the_signature(
    tmp_path: Path, make_batch, keyring
) -> None:
    control = make_batch([valid_row()], name="control")
    manifest = make_batch([valid_row()])
    data = json.loads(manifest.read_text())
    data["attestation"] += " edited"
    manifest.write_text(json.dumps(data))
    opened: list[str] = []
    listening = [True]

    def hook(event: str, args: tuple) -> None:  # audit hooks cannot be removed: switch it off
        if listening[0] and event == "open" and "subjects.csv" in str(args[0]):
            opened.append(str(args[0]))

    sys.addaudithook(hook)
    try:
        loaded = RequestManifest.load(manifest)
        problems = verify_manifest(loaded, manifest, keyring)
        result = _gate(manifest, keyring)
        before_signature = opened.copy()
        assert verify_manifest(RequestManifest.load(control), control, keyring) == []
    finally:
        listening[0] = False
    assert [p.code for p in problems] == ["SIGNATURE_INVALID"]
    assert result.batch.reason == "SIGNATURE_INVALID"
    assert before_signature == []
    assert opened, "the hook sees the file opened once the signature verifies"


def test_batch_verify_of_an_unsigned_manifest_shows_nothing_of_its_file(
    tmp_path: Path, signer_key
) -> None:
    keyring = _keyring_dir(tmp_path, signer_key)
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "secret.csv").write_bytes(SECRET)
    manifest = _unsigned(folder)
    result = subprocess.run(
        [sys.executable, "-m", "taxgate", "batch", "verify", str(manifest),
         "--keyring", str(keyring)],
        capture_output=True, text=True, env=os.environ | {"COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "SIGNATURE_MISSING" in result.stdout
    for leak in ("root:x", "daemon", SECRET_SHA, "TABLE_CHANGED", "COUNT_MISMATCH"):
        assert leak not in result.stdout + result.stderr


def _replace_with_link(manifest: Path, target: Path) -> None:
    table = manifest.parent / "subjects.csv"
    table.unlink()
    table.symlink_to(target)


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_a_symlinked_subjects_file_is_refused(
    tmp_path: Path, make_batch, keyring, where: str
) -> None:
    manifest = make_batch([valid_row()])
    target = tmp_path / "passwd" if where == "outside" else manifest.parent / "real.csv"
    target.write_bytes((manifest.parent / "subjects.csv").read_bytes())
    _replace_with_link(manifest, target)
    problems = verify_manifest(RequestManifest.load(manifest), manifest, keyring)
    assert [p.code for p in problems] == ["TABLE_UNREADABLE"]
    assert "symbolic link" in problems[0].message
    with pytest.raises(FormatError, match="symbolic link"):
        read_beside(manifest, "subjects.csv")
    assert _gate(manifest, keyring).subjects is None


def test_signing_refuses_a_symlinked_table(tmp_path: Path, make_batch, signer_key) -> None:
    manifest = make_batch([valid_row()])
    secret = tmp_path / "passwd.csv"
    secret.write_bytes(SECRET)
    _replace_with_link(manifest, secret)
    with pytest.raises(FormatError, match="symbolic link"):
        sign_manifest(RequestManifest.load(manifest), manifest, *signer_key)


@pytest.mark.parametrize("kind", ["directory", "fifo", "dangling link"])
def test_a_subjects_file_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, make_batch, keyring, kind: str
) -> None:
    manifest = make_batch([valid_row()])
    table = manifest.parent / "subjects.csv"
    table.unlink()
    if kind == "directory":
        table.mkdir()
    elif kind == "fifo":
        os.mkfifo(table)
    else:
        table.symlink_to(tmp_path / "nowhere.csv")
    problems = verify_manifest(RequestManifest.load(manifest), manifest, keyring)
    assert [p.code for p in problems] == ["TABLE_UNREADABLE"]
    assert "regular file" in problems[0].message or "symbolic link" in problems[0].message


def test_a_subjects_file_swapped_after_verification_is_not_processed(
    make_batch, keyring, monkeypatch
) -> None:
    """The rows examined are the bytes whose digest was checked, not a later file."""
    manifest = make_batch([valid_row(subject_id="S-1")])
    table = manifest.parent / "subjects.csv"
    swapped = table.read_bytes().replace(b"S-1", b"S-9")
    verified = gate_run.batch_problems

    def verify_then_swap(*args, **kwargs):
        found = verified(*args, **kwargs)
        table.write_bytes(swapped)
        return found

    monkeypatch.setattr(gate_run, "batch_problems", verify_then_swap)
    with pytest.raises(SignatureError, match="changed after it was verified"):
        _gate(manifest, keyring)


def test_signed_table_reads_the_verified_bytes(make_batch, keyring) -> None:
    manifest = make_batch([valid_row(subject_id="S-1"), valid_row(subject_id="S-2")])
    loaded = RequestManifest.load(manifest)
    assert verify_manifest(loaded, manifest, keyring) == []
    assert signed_table(loaded, manifest).column("subject_id").to_pylist() == ["S-1", "S-2"]
