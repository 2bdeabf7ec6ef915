"""Sign and verify manifests, so the disclosing agency can trust who sent a batch and its bytes.

The signature covers the RFC 8785 canonical JSON of the manifest without its `signature`; the
manifest in turn pins the table file by SHA-256 and row count. Verification reports every
problem it finds, each with what to do, rather than stopping at the first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from taxgate.errors import FormatError, SignatureError
from taxgate.formats.keys import PublicKeyRecord, load_keyring, load_private_key
from taxgate.formats.manifest import RequestManifest, ResponseManifest, SignedManifest
from taxgate.formats.tablefile import read_beside
from taxgate.formats.tables import read_table

HASH_CHUNK_BYTES = 1 << 20  # 1 MiB: steady memory for multi-gigabyte tables
_AGENCY_FIELDS: dict[type[SignedManifest], str] = {
    RequestManifest: "requesting_agency",
    ResponseManifest: "disclosing_agency",
}


def canonical_bytes(payload: dict) -> bytes:
    """RFC 8785 JSON: one byte string per payload, whatever the key order or whitespace."""
    return rfc8785.dumps(payload)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _agency_field(manifest: SignedManifest) -> str | None:
    for manifest_type, field in _AGENCY_FIELDS.items():
        if isinstance(manifest, manifest_type):
            return field
    return None


def sign_manifest(
    manifest: SignedManifest,
    manifest_path: Path,
    private_key: Ed25519PrivateKey,
    record: PublicKeyRecord,
) -> SignedManifest:
    """A signed copy: pins the table's digest and row count, names the key, then signs."""
    manifest_path = Path(manifest_path)
    named = manifest.signer.key_id
    if named and named != record.key_id:
        raise SignatureError(
            f"the manifest names signing key {named}, but the key given is {record.key_id}",
            f"Sign with key {named}, or clear signer.key_id to sign with this key.",
            file=manifest_path,
            field="signer.key_id",
        )
    table = read_beside(manifest_path, manifest.table_name(), field=manifest.file_field)
    count = read_table(table.path, manifest.table_kind, table.data).num_rows
    data = manifest.model_dump(mode="json")
    data[manifest.digest_field] = table.sha256
    data[manifest.count_field] = count
    data["signer"]["key_id"] = record.key_id
    data["signature"] = ""
    unsigned = type(manifest).model_validate(data)
    signature = private_key.sign(canonical_bytes(unsigned.unsigned_payload()))
    return unsigned.model_copy(update={"signature": base64.b64encode(signature).decode("ascii")})


def sign_manifest_file(
    manifest_path: Path,
    key_path: Path,
    manifest_type: type[SignedManifest] = RequestManifest,
) -> SignedManifest:
    """Sign a manifest file in place with the key at `key_path`; return what was written."""
    manifest_path = Path(manifest_path)
    private_key, record = load_private_key(key_path)
    manifest = manifest_type.load(manifest_path)
    signed = sign_manifest(manifest, manifest_path, private_key, record)
    signed.save(manifest_path)
    return signed


@dataclass(frozen=True)
class Problem:
    """One reason a manifest is not valid; `message` is a full sentence that says what to do."""

    code: str
    message: str


def _signature_problems(
    manifest: SignedManifest, keyring: dict[str, PublicKeyRecord], keyring_source: str
) -> list[Problem]:
    problems: list[Problem] = []
    key_id = manifest.signer.key_id
    if not manifest.signature:
        problems.append(
            Problem(
                "SIGNATURE_MISSING",
                "The manifest is not signed; sign it with `taxgate batch sign`.",
            )
        )
    record = keyring.get(key_id)
    if record is None:
        if key_id:
            problems.append(
                Problem(
                    "KEY_UNKNOWN",
                    f"Signing key {key_id} is not in keyring {keyring_source}; add the "
                    "signer's .pub.json to the keyring if the key is genuine.",
                )
            )
        elif manifest.signature:
            problems.append(
                Problem(
                    "KEY_UNKNOWN",
                    "The manifest names no signing key (signer.key_id is empty); sign it "
                    "again with `taxgate batch sign`.",
                )
            )
        return problems
    field = _agency_field(manifest)
    agency = getattr(manifest, field) if field else None
    if agency is not None and agency != record.agency:
        problems.append(
            Problem(
                "KEY_AGENCY_MISMATCH",
                f"Key {key_id} belongs to {record.agency!r}, but the manifest's {field} is "
                f"{agency!r}; have {agency!r} sign it with one of its own keys.",
            )
        )
    if manifest.signature:
        try:
            signature = base64.b64decode(manifest.signature, validate=True)
            record.ed25519_public_key().verify(
                signature, canonical_bytes(manifest.unsigned_payload())
            )
        except (binascii.Error, ValueError, InvalidSignature):
            problems.append(
                Problem(
                    "SIGNATURE_INVALID",
                    f"The signature does not verify with key {key_id}: the manifest was "
                    "changed after signing or signed with another key; ask the sender to "
                    "sign it again.",
                )
            )
    return problems


def _table_problems(manifest: SignedManifest, manifest_path: Path) -> list[Problem]:
    """Digest and row count of the table; only called once the signature has verified."""
    try:
        table = read_beside(manifest_path, manifest.table_name(), field=manifest.file_field)
    except FormatError as exc:
        missing = isinstance(exc.__cause__, FileNotFoundError)
        return [Problem("TABLE_FILE_MISSING" if missing else "TABLE_UNREADABLE", f"{exc}")]
    problems: list[Problem] = []
    expected = getattr(manifest, manifest.digest_field)
    if table.sha256 != expected:
        problems.append(
            Problem(
                "TABLE_CHANGED",
                f"The SHA-256 of {table.path.name} is {table.sha256}, not "
                f"{expected or '(empty)'} as {manifest.digest_field} says: the "
                f"{manifest.table_kind} file changed after signing; ask the sender for the "
                "file it signed.",
            )
        )
    try:
        count = read_table(table.path, manifest.table_kind, table.data).num_rows
    except FormatError as exc:
        problems.append(
            Problem(
                "TABLE_UNREADABLE",
                f"The table file cannot be read as {manifest.table_kind}: {exc}",
            )
        )
        return problems
    expected_count = getattr(manifest, manifest.count_field)
    if count != expected_count:
        problems.append(
            Problem(
                "COUNT_MISMATCH",
                f"{table.path.name} holds {count} rows, but {manifest.count_field} says "
                f"{expected_count}; ask the sender to sign the batch again.",
            )
        )
    return problems


def verify_manifest(
    manifest: SignedManifest,
    manifest_path: Path,
    keyring: dict[str, PublicKeyRecord],
    *,
    keyring_source: str = "the keyring",
) -> list[Problem]:
    """Every problem with a signed manifest and its table; an empty list means valid.

    The table file is not opened, read, hashed or named by its content until the signature
    verifies against a trusted key of the manifest's agency: an unsigned or forged manifest
    learns nothing about any file. `keyring_source` names the keyring (e.g. its directory) in
    messages.
    """
    manifest_path = Path(manifest_path)
    problems = _signature_problems(manifest, keyring, keyring_source)
    if problems:
        return problems
    return _table_problems(manifest, manifest_path)


def signed_table(manifest: SignedManifest, manifest_path: Path) -> pa.Table:
    """The table of a manifest whose signature has verified, read and hashed from one read.

    The digest and row count are checked again on the very bytes that are parsed, so a file
    swapped after `verify_manifest` is refused rather than processed.
    """
    table = read_beside(manifest_path, manifest.table_name(), field=manifest.file_field)
    expected = getattr(manifest, manifest.digest_field)
    if table.sha256 != expected:
        raise SignatureError(
            f"the {manifest.table_kind} file {table.path.name} changed after it was verified",
            "Leave the batch directory unchanged while it is processed, and submit it again.",
            file=manifest_path,
            field=manifest.digest_field,
        )
    rows = read_table(table.path, manifest.table_kind, table.data)
    if rows.num_rows != getattr(manifest, manifest.count_field):
        raise SignatureError(
            f"the {manifest.table_kind} file holds {rows.num_rows} rows, not the "
            f"{getattr(manifest, manifest.count_field)} signed",
            "Ask the sender to sign the batch again.",
            file=manifest_path,
            field=manifest.count_field,
        )
    return rows


def verify_manifest_file(
    manifest_path: Path,
    keyring_dir: Path,
    manifest_type: type[SignedManifest] = RequestManifest,
) -> list[Problem]:
    """Load a manifest and a keyring directory and verify; unreadable files raise."""
    manifest_path = Path(manifest_path)
    manifest = manifest_type.load(manifest_path)
    keyring = load_keyring(keyring_dir)
    return verify_manifest(manifest, manifest_path, keyring, keyring_source=str(keyring_dir))
