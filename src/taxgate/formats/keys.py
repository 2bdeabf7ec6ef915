"""Signing keys: Ed25519 via `cryptography`, because its keys and signatures are small and fixed.

A key pair lives on disk as `<id>.key` (PKCS8 PEM, owner-only) next to `<id>.pub.json`, the
public record that the other agency puts into its keyring to check our signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from datetime import date
from pathlib import Path
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from taxgate.errors import FormatError, TaxgateError

KEY_ID_PREFIX = "ed25519:"
KEY_ID_HEX_CHARS = 16  # 64 bits of the fingerprint: short to read aloud, long enough to be unique
RAW_KEY_BYTES = 32  # Ed25519 public keys and private seeds are both 32 bytes
SEED_DOMAIN = b"taxgate-key"  # keeps a seed used elsewhere from yielding the same key
PRIVATE_KEY_SUFFIX = ".key"
RECORD_SUFFIX = ".pub.json"
PRIVATE_KEY_MODE = 0o600  # owner read/write only
_FIX_NEW_KEY = "Create a new pair with `taxgate keys new`."


class PublicKeyRecord(BaseModel):
    """What a keyring knows about one signing key: whose it is and its public half."""

    model_config = ConfigDict(extra="forbid")

    key_id: str
    agency: str
    signer: str
    title: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str
    created_on: date

    @field_validator("public_key")
    @classmethod
    def _raw_ed25519(cls, value: str) -> str:
        _decode_public_key(value)
        return value

    @model_validator(mode="after")
    def _id_matches_key(self) -> PublicKeyRecord:
        expected = key_id_for(self.ed25519_public_key())
        if self.key_id != expected:
            raise ValueError(f"key_id {self.key_id!r} does not match public_key ({expected})")
        return self

    def ed25519_public_key(self) -> Ed25519PublicKey:
        """The key itself, for verifying signatures."""
        return Ed25519PublicKey.from_public_bytes(_decode_public_key(self.public_key))


def _decode_public_key(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public_key is not valid base64") from exc
    if len(raw) != RAW_KEY_BYTES:
        raise ValueError(f"public_key must be {RAW_KEY_BYTES} bytes, not {len(raw)}")
    return raw


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint, so manifests name their key without carrying it."""
    digest = hashlib.sha256(_raw_public(public_key)).hexdigest()
    return KEY_ID_PREFIX + digest[:KEY_ID_HEX_CHARS]


def new_key(
    agency: str, signer: str, title: str, *, created_on: date, seed: bytes | None = None
) -> tuple[Ed25519PrivateKey, PublicKeyRecord]:
    """A fresh key pair; a seed makes it reproducible so generated worlds are byte-identical."""
    if seed is None:
        private_key = Ed25519PrivateKey.generate()
    else:
        private_key = Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(SEED_DOMAIN + seed).digest()
        )
    public_key = private_key.public_key()
    record = PublicKeyRecord(
        key_id=key_id_for(public_key),
        agency=agency,
        signer=signer,
        title=title,
        public_key=base64.b64encode(_raw_public(public_key)).decode("ascii"),
        created_on=created_on,
    )
    return private_key, record


def _safe_id(key_id: str) -> str:
    """File-name form of a key id: ':' is not allowed in Windows file names."""
    return key_id.replace(":", "_")


def write_key_pair(
    private_key: Ed25519PrivateKey, record: PublicKeyRecord, out_dir: Path
) -> tuple[Path, Path]:
    """Write `<id>.key` (readable by the owner only) and `<id>.pub.json`; return both paths."""
    if key_id_for(private_key.public_key()) != record.key_id:
        raise TaxgateError(
            f"the private key does not belong to record {record.key_id}",
            "Write the record that new_key() returned with this key.",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path = out_dir / (_safe_id(record.key_id) + PRIVATE_KEY_SUFFIX)
    record_path = out_dir / (_safe_id(record.key_id) + RECORD_SUFFIX)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Create with the narrow mode so the key is never readable by others, even briefly.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_KEY_MODE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), PRIVATE_KEY_MODE)  # an existing file keeps its mode otherwise
        fh.write(pem)
    record_path.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return key_path, record_path


def _read_record(path: Path) -> PublicKeyRecord:
    try:
        return PublicKeyRecord.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or None
        raise FormatError(
            f"not a valid public key record ({first.get('msg', exc)})",
            "Replace it with the .pub.json written by `taxgate keys new`.",
            file=path,
            field=loc,
        ) from exc


def load_private_key(path: Path) -> tuple[Ed25519PrivateKey, PublicKeyRecord]:
    """Load a private key and its sibling record, refusing any pair that does not match."""
    path = Path(path)
    record_path = path.with_name(path.name.removesuffix(PRIVATE_KEY_SUFFIX) + RECORD_SUFFIX)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise TaxgateError("private key file not found", _FIX_NEW_KEY, file=path) from exc
    except OSError as exc:
        raise TaxgateError(
            f"cannot read the private key ({exc.strerror})", "Check the path.", file=path
        ) from exc
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise FormatError(
            "not an unencrypted PKCS8 PEM private key", _FIX_NEW_KEY, file=path
        ) from exc
    if not isinstance(private_key, Ed25519PrivateKey):
        raise FormatError(
            f"holds a {type(private_key).__name__}, not an Ed25519 key", _FIX_NEW_KEY, file=path
        )
    if not record_path.is_file():
        raise TaxgateError(
            f"the public key record {record_path.name} is missing next to the private key",
            "Keep the .key and .pub.json written by `taxgate keys new` in one directory.",
            file=path,
        )
    record = _read_record(record_path)
    if record.key_id != key_id_for(private_key.public_key()):
        raise TaxgateError(
            f"the record holds key {record.key_id}, but the private key is "
            f"{key_id_for(private_key.public_key())}",
            "Put the matching .pub.json next to the key.",
            file=record_path,
        )
    return private_key, record


def load_public_key(path: Path) -> PublicKeyRecord:
    """One `.pub.json` record: the key an auditor pins instead of trusting a keyring directory."""
    path = Path(path)
    if not path.is_file():
        raise TaxgateError(
            "public key record not found",
            "Give the disclosing agency's .pub.json that you hold (not one from its home).",
            file=path,
        )
    return _read_record(path)


def load_keyring(directory: Path) -> dict[str, PublicKeyRecord]:
    """Every `*.pub.json` in a directory, by key id: the keys whose signatures we trust."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TaxgateError(
            "keyring directory not found",
            "Name the directory holding the other agency's .pub.json files.",
            file=directory,
        )
    keyring: dict[str, PublicKeyRecord] = {}
    for path in sorted(directory.glob("*" + RECORD_SUFFIX)):
        record = _read_record(path)
        known = keyring.get(record.key_id)
        if known is not None and known != record:
            raise FormatError(
                f"key {record.key_id} is also in another record that says something else",
                "Keep one record per key in the keyring.",
                file=path,
            )
        keyring[record.key_id] = record
    return keyring
