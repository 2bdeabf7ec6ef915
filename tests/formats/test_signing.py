from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from taxgate.errors import FormatError, SignatureError
from taxgate.formats.codes import Outcome
from taxgate.formats.keys import new_key, write_key_pair
from taxgate.formats.manifest import RequestManifest, ResponseManifest, Signer
from taxgate.formats.records import ResponseRow, Subject
from taxgate.formats.signing import (
    HASH_CHUNK_BYTES,
    canonical_bytes,
    file_sha256,
    sign_manifest,
    sign_manifest_file,
    verify_manifest,
    verify_manifest_file,
)
from taxgate.formats.tables import records_to_table, write_table

REQUESTER = "Requesting Agency A"
DISCLOSER = "Disclosing Agency B"
DAY = date(2025, 1, 2)
SIGNATURE_BYTES = 64

SUBJECTS = [
    Subject(subject_id=f"S{i}", given_name="Pat", family_name=f"Doe{i}", zip="78701")
    for i in range(1, 4)
]


def _key(agency: str = REQUESTER, seed: bytes = b"requester"):
    return new_key(agency, "Pat Doe", "Director", created_on=DAY, seed=seed)


def _request(batch: Path) -> Path:
    write_table(records_to_table(SUBJECTS, "subjects"), batch / "subjects.csv", "subjects")
    manifest = RequestManifest(
        batch_id="B-001",
        requesting_agency=REQUESTER,
        submitted_on=DAY,
        signer=Signer(name="Pat Doe", title="Director"),
        statutory_authority="statute 1",
        attestation="The subjects are relevant.",
        subjects_file="subjects.csv",
    )
    path = batch / "manifest.json"
    manifest.save(path)
    return path


def _codes(problems) -> list[str]:
    return [p.code for p in problems]


@pytest.fixture
def signed(tmp_path: Path):
    """A signed request batch and a keyring holding its key."""
    private_key, record = _key()
    manifest_path = _request(tmp_path / "batch")
    keyring = {record.key_id: record}
    manifest = sign_manifest(
        RequestManifest.load(manifest_path), manifest_path, private_key, record
    )
    manifest.save(manifest_path)
    return manifest, manifest_path, keyring, private_key


def test_canonical_bytes_ignore_key_order_and_follow_rfc8785():
    assert canonical_bytes({"b": "é", "a": 1}) == canonical_bytes({"a": 1, "b": "é"})
    assert canonical_bytes({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'.encode()


def test_file_sha256_spans_chunks(tmp_path: Path):
    data = bytes(range(256)) * ((2 * HASH_CHUNK_BYTES) // 256) + b"tail"
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_signing_pins_table_and_key(signed):
    manifest, manifest_path, keyring, _ = signed
    table = manifest_path.parent / "subjects.csv"
    assert manifest.subjects_sha256 == hashlib.sha256(table.read_bytes()).hexdigest()
    assert manifest.subject_count == len(SUBJECTS)
    assert manifest.signer.key_id in keyring
    assert len(base64.b64decode(manifest.signature, validate=True)) == SIGNATURE_BYTES
    assert verify_manifest(manifest, manifest_path, keyring) == []


def test_signing_does_not_change_the_input(tmp_path: Path):
    private_key, record = _key()
    manifest_path = _request(tmp_path)
    original = RequestManifest.load(manifest_path)
    sign_manifest(original, manifest_path, private_key, record)
    assert original.signature == "" and original.signer.key_id == ""


def test_sign_and_verify_files_in_place(tmp_path: Path):
    key_path, _ = write_key_pair(*_key(), tmp_path / "keys")
    manifest_path = _request(tmp_path / "batch")
    returned = sign_manifest_file(manifest_path, key_path)
    assert RequestManifest.load(manifest_path) == returned
    assert verify_manifest_file(manifest_path, tmp_path / "keys") == []


def test_one_changed_byte_in_subjects_is_table_changed(signed):
    manifest, manifest_path, keyring, _ = signed
    table = manifest_path.parent / "subjects.csv"
    data = bytearray(table.read_bytes())
    data[data.index(b"Doe2") + 2] = ord("x")
    table.write_bytes(bytes(data))
    problems = verify_manifest(manifest, manifest_path, keyring)
    assert _codes(problems) == ["TABLE_CHANGED"]
    assert "changed after signing" in problems[0].message


def test_manifest_edited_after_signing_is_signature_invalid(signed, tmp_path: Path):
    _, manifest_path, keyring, _ = signed
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    data["attestation"] += " Edited."
    manifest_path.write_text(json.dumps(data), encoding="utf-8")
    problems = verify_manifest(RequestManifest.load(manifest_path), manifest_path, keyring)
    assert _codes(problems) == ["SIGNATURE_INVALID"]
    assert "changed after signing or signed with another key" in problems[0].message


def test_signature_that_is_not_base64_is_invalid(signed):
    manifest, manifest_path, keyring, _ = signed
    broken = manifest.model_copy(update={"signature": "not base64!"})
    assert _codes(verify_manifest(broken, manifest_path, keyring)) == ["SIGNATURE_INVALID"]


def test_unknown_key_names_the_key_and_keyring(signed, tmp_path: Path):
    manifest, manifest_path, _, _ = signed
    keyring_dir = tmp_path / "empty-keyring"
    keyring_dir.mkdir()
    problems = verify_manifest_file(manifest_path, keyring_dir)
    assert _codes(problems) == ["KEY_UNKNOWN"]
    assert manifest.signer.key_id in problems[0].message
    assert str(keyring_dir) in problems[0].message


def test_key_of_another_agency_is_agency_mismatch(tmp_path: Path):
    private_key, record = _key(agency="Some Other Agency", seed=b"other")
    manifest_path = _request(tmp_path)
    manifest = sign_manifest(
        RequestManifest.load(manifest_path), manifest_path, private_key, record
    )
    problems = verify_manifest(manifest, manifest_path, {record.key_id: record})
    assert _codes(problems) == ["KEY_AGENCY_MISMATCH"]
    assert "Some Other Agency" in problems[0].message and REQUESTER in problems[0].message


def test_unsigned_manifest_reports_only_its_signature(tmp_path: Path):
    """The subjects file of an unsigned manifest is not examined, so its digest is not told."""
    _, record = _key()
    manifest_path = _request(tmp_path)
    problems = verify_manifest(
        RequestManifest.load(manifest_path), manifest_path, {record.key_id: record}
    )
    assert _codes(problems) == ["SIGNATURE_MISSING"]


def test_removed_signature_is_signature_missing(signed):
    manifest, manifest_path, keyring, _ = signed
    unsigned = manifest.model_copy(update={"signature": ""})
    assert _codes(verify_manifest(unsigned, manifest_path, keyring)) == ["SIGNATURE_MISSING"]


def test_signed_wrong_count_is_count_mismatch(signed):
    manifest, manifest_path, keyring, private_key = signed
    wrong = manifest.model_copy(update={"subject_count": len(SUBJECTS) + 1})
    signature = private_key.sign(canonical_bytes(wrong.unsigned_payload()))
    wrong = wrong.model_copy(update={"signature": base64.b64encode(signature).decode()})
    assert _codes(verify_manifest(wrong, manifest_path, keyring)) == ["COUNT_MISMATCH"]


def test_missing_and_unreadable_table(signed):
    manifest, manifest_path, keyring, _ = signed
    table = manifest_path.parent / "subjects.csv"
    table.write_text("no_such_column\nx\n", encoding="utf-8")
    problems = verify_manifest(manifest, manifest_path, keyring)
    assert _codes(problems) == ["TABLE_CHANGED", "TABLE_UNREADABLE"]
    assert "no_such_column" in problems[1].message
    table.unlink()
    assert _codes(verify_manifest(manifest, manifest_path, keyring)) == ["TABLE_FILE_MISSING"]


def test_several_table_problems_are_reported_together(signed):
    manifest, manifest_path, keyring, _ = signed
    (manifest_path.parent / "subjects.csv").write_bytes(b"")
    assert _codes(verify_manifest(manifest, manifest_path, keyring)) == [
        "TABLE_CHANGED",
        "TABLE_UNREADABLE",
    ]


def test_table_of_a_forged_manifest_is_not_examined(signed):
    manifest, manifest_path, keyring, _ = signed
    (manifest_path.parent / "subjects.csv").write_bytes(b"")
    edited = manifest.model_copy(update={"batch_id": "B-002"})
    assert _codes(verify_manifest(edited, manifest_path, keyring)) == ["SIGNATURE_INVALID"]


def test_manifest_naming_another_key_is_not_signed(tmp_path: Path):
    private_key, record = _key()
    manifest_path = _request(tmp_path)
    manifest = RequestManifest.load(manifest_path)
    manifest.signer.key_id = "ed25519:0000000000000000"
    with pytest.raises(SignatureError, match="ed25519:0000000000000000"):
        sign_manifest(manifest, manifest_path, private_key, record)


def test_unreadable_manifest_raises_format_error(tmp_path: Path):
    path = tmp_path / "manifest.json"
    path.write_text("{", encoding="utf-8")
    (tmp_path / "keyring").mkdir()
    with pytest.raises(FormatError):
        verify_manifest_file(path, tmp_path / "keyring")


def test_response_manifest_round_trip(tmp_path: Path):
    key_path, _ = write_key_pair(*_key(DISCLOSER, b"discloser"), tmp_path / "keys")
    rows = [
        ResponseRow(subject_id="S1", outcome=Outcome.NOT_CONFIRMED),
        ResponseRow(subject_id="S2", outcome=Outcome.REJECTED, reason_codes="TIN_INVALID"),
    ]
    batch = tmp_path / "batch"
    write_table(records_to_table(rows, "responses"), batch / "responses.csv", "responses")
    path = batch / "response.json"
    ResponseManifest(
        batch_id="B-001",
        disclosing_agency=DISCLOSER,
        recipient_agency=REQUESTER,
        responded_on=DAY,
        request_sha256="0" * 64,
        signer=Signer(name="Pat Doe", title="Director"),
        responses_file="responses.csv",
    ).save(path)
    signed = sign_manifest_file(path, key_path, ResponseManifest)
    assert isinstance(signed, ResponseManifest)
    assert signed.response_count == len(rows)
    assert verify_manifest_file(path, tmp_path / "keys", ResponseManifest) == []
    data = json.loads(path.read_text(encoding="utf-8"))
    data["recipient_agency"] = "Someone Else"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _codes(verify_manifest_file(path, tmp_path / "keys", ResponseManifest)) == [
        "SIGNATURE_INVALID"
    ]


def test_response_signed_by_requester_key_is_agency_mismatch(tmp_path: Path):
    private_key, record = _key()
    rows = [ResponseRow(subject_id="S1", outcome=Outcome.NOT_CONFIRMED)]
    write_table(records_to_table(rows, "responses"), tmp_path / "responses.csv", "responses")
    path = tmp_path / "response.json"
    manifest = ResponseManifest(
        batch_id="B-001",
        disclosing_agency=DISCLOSER,
        recipient_agency=REQUESTER,
        responded_on=DAY,
        request_sha256="0" * 64,
        signer=Signer(name="Pat Doe", title="Director"),
        responses_file="responses.csv",
    )
    signed = sign_manifest(manifest, path, private_key, record)
    problems = verify_manifest(signed, path, {record.key_id: record})
    assert _codes(problems) == ["KEY_AGENCY_MISMATCH"]
    assert "disclosing_agency" in problems[0].message
