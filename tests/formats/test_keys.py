from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.keys import (
    PublicKeyRecord,
    key_id_for,
    load_keyring,
    load_private_key,
    new_key,
    write_key_pair,
)

DAY = date(2025, 1, 2)


def _key(seed: bytes | None = b"seed-1", agency: str = "Requesting Agency A"):
    return new_key(agency, "Pat Doe", "Director", created_on=DAY, seed=seed)


def _raw_private(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def test_same_seed_gives_same_key_and_record():
    first_key, first_record = _key(b"seed-1")
    second_key, second_record = _key(b"seed-1")
    assert _raw_private(first_key) == _raw_private(second_key)
    assert first_record == second_record


def test_seed_derivation_is_the_documented_one():
    private_key, _ = _key(b"world-42")
    assert _raw_private(private_key) == hashlib.sha256(b"taxgate-key" + b"world-42").digest()


def test_different_or_no_seed_gives_different_keys():
    ids = {_key(b"seed-1")[1].key_id, _key(b"seed-2")[1].key_id, _key(None)[1].key_id}
    ids.add(_key(None)[1].key_id)
    assert len(ids) == 4


def test_key_id_is_prefix_and_16_hex_of_public_key_sha256():
    private_key, record = _key()
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert re.fullmatch(r"ed25519:[0-9a-f]{16}", record.key_id)
    assert record.key_id == "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]
    assert key_id_for(private_key.public_key()) == record.key_id
    assert base64.b64decode(record.public_key) == raw
    assert record.algorithm == "Ed25519"
    assert (record.agency, record.signer, record.title) == (
        "Requesting Agency A",
        "Pat Doe",
        "Director",
    )


def test_record_refuses_key_id_that_does_not_match_its_key():
    _, record = _key(b"seed-1")
    _, other = _key(b"seed-2")
    with pytest.raises(ValidationError, match="does not match"):
        PublicKeyRecord.model_validate({**record.model_dump(), "key_id": other.key_id})
    with pytest.raises(ValidationError, match="32 bytes"):
        PublicKeyRecord.model_validate({**record.model_dump(), "public_key": "AAAA"})


def test_write_and_load_round_trip(tmp_path: Path):
    private_key, record = _key()
    key_path, record_path = write_key_pair(private_key, record, tmp_path / "new" / "keys")
    safe = record.key_id.replace(":", "_")
    assert key_path.name == f"{safe}.key"
    assert record_path.name == f"{safe}.pub.json"
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    text = record_path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text)["key_id"] == record.key_id
    loaded_key, loaded_record = load_private_key(key_path)
    assert _raw_private(loaded_key) == _raw_private(private_key)
    assert loaded_record == record


def test_private_key_is_owner_only_even_when_overwriting(tmp_path: Path):
    private_key, record = _key()
    key_path = tmp_path / (record.key_id.replace(":", "_") + ".key")
    key_path.write_text("old")
    key_path.chmod(0o644)
    written, _ = write_key_pair(private_key, record, tmp_path)
    assert written == key_path
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_load_private_key_refuses_a_record_of_another_key(tmp_path: Path):
    key_a, record_a = _key(b"a")
    key_b, record_b = _key(b"b")
    path_a, record_path_a = write_key_pair(key_a, record_a, tmp_path)
    _, record_path_b = write_key_pair(key_b, record_b, tmp_path)
    record_path_a.write_bytes(record_path_b.read_bytes())
    with pytest.raises(TaxgateError, match=re.escape(record_b.key_id)) as info:
        load_private_key(path_a)
    assert record_a.key_id in str(info.value)


def test_load_private_key_needs_its_record(tmp_path: Path):
    key_path, record_path = write_key_pair(*_key(), tmp_path)
    record_path.unlink()
    with pytest.raises(TaxgateError, match="missing"):
        load_private_key(key_path)


def test_load_private_key_refuses_corrupt_record(tmp_path: Path):
    key_path, record_path = write_key_pair(*_key(), tmp_path)
    record_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(FormatError) as info:
        load_private_key(key_path)
    assert info.value.file == record_path


def test_load_private_key_refuses_garbage_and_other_algorithms(tmp_path: Path):
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a pem")
    with pytest.raises(FormatError, match="PEM"):
        load_private_key(garbage)
    ec_path = tmp_path / "ec.key"
    ec_path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(FormatError, match="not an Ed25519 key"):
        load_private_key(ec_path)
    with pytest.raises(TaxgateError, match="not found"):
        load_private_key(tmp_path / "absent.key")


def test_keyring_holds_every_record_by_key_id(tmp_path: Path):
    _, record_a = _key(b"a")
    _, record_b = _key(b"b", agency="Disclosing Agency B")
    write_key_pair(*_key(b"a"), tmp_path)
    _, record_path_b = write_key_pair(*_key(b"b", agency="Disclosing Agency B"), tmp_path)
    (tmp_path / "notes.txt").write_text("ignored")
    keyring = load_keyring(tmp_path)
    assert keyring == {record_a.key_id: record_a, record_b.key_id: record_b}
    record_path_b.write_text('{"key_id": "ed25519:0"}', encoding="utf-8")
    with pytest.raises(FormatError) as info:
        load_keyring(tmp_path)
    assert info.value.file == record_path_b


def test_keyring_directory_must_exist(tmp_path: Path):
    with pytest.raises(TaxgateError, match="keyring directory not found") as info:
        load_keyring(tmp_path / "absent")
    assert info.value.fix
