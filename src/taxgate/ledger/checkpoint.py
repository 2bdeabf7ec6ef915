"""Signed checkpoints of the log: C2SP tlog-checkpoint bodies in C2SP signed notes (Ed25519).

The format is the one Go's sumdb, Sigstore and the transparency-log witnesses read, so an
outside auditor can check our tree heads with existing tools. A note is the body, a blank
line, then lines "— <key name> base64(4-byte key hash || signature)"; the body is origin, tree
size, base64 root hash, and our extension lines: the signing time in UTC and, from the second
checkpoint of a ledger on, "previous <size>", the size of the checkpoint the ledger held last
when this one was signed. The chain lets an auditor see a checkpoint deleted between two kept
ones: the later one still names it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from taxgate.errors import FormatError, SignatureError
from taxgate.formats.keys import PublicKeyRecord
from taxgate.ledger.merkle import HASH_SIZE

SIGNATURE_PREFIX = "\u2014 "  # em dash and space open every signature line
NOTE_SEPARATOR = "\n\n"  # the last blank line splits the body from the signatures
ED25519_TYPE = b"\x01"  # signed-note signature type byte for Ed25519
KEY_HASH_SIZE = 4
ED25519_SIGNATURE_SIZE = 64
MAX_SIGNATURES = 100  # signed-note asks verifiers to cap the count and accept at least 16
MAX_TREE_SIZE = 2**63 - 1  # sizes are stored as SQL BIGINT
TIMESTAMP_KEY = "timestamp"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
CHECKPOINT_LINES = 4  # origin, size, root, timestamp
SIZE_LINE, ROOT_LINE, TIMESTAMP_LINE, PREVIOUS_LINE = 2, 3, 4, 5
PREVIOUS_KEY = "previous"
_SIZE_PATTERN = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal without leading zeros
_NAME_UNSAFE = re.compile(r"[\s+\x00-\x1f]+")  # Unicode spaces, '+', control characters
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # signed-note bans these (all below U+0020 but LF)
_FIX_REISSUE = "Use the checkpoint exactly as the log wrote it, or ask the log for a new one."


@dataclass(frozen=True)
class NoteSignature:
    """One signature line, not yet verified: who claims to have signed, and the bytes."""

    name: str
    key_hash: bytes
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log `origin` had `size` leaves with `root` at `timestamp`.

    `previous` is the size of the checkpoint signed before this one (None for the first, and
    for notes written before the chain existed).
    """

    origin: str
    size: int
    root: bytes
    timestamp: datetime
    previous: int | None = None

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise ValueError("origin must be one non-empty line without control characters")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError(f"tree size must be between 0 and {MAX_TREE_SIZE}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"root must be a {HASH_SIZE}-byte SHA-256 hash")
        if self.timestamp.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware, or it could mean any hour")
        if self.previous is not None and not 0 <= self.previous < self.size:
            raise ValueError("previous size must be between 0 and below the tree size")
        # The body states whole UTC seconds; hold exactly that so a parsed note compares equal.
        whole = self.timestamp.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "timestamp", whole)

    def body(self) -> str:
        """The note text that is signed, byte for byte."""
        root = base64.b64encode(self.root).decode("ascii")
        when = self.timestamp.strftime(TIMESTAMP_FORMAT)
        chain = "" if self.previous is None else f"{PREVIOUS_KEY} {self.previous}\n"
        return f"{self.origin}\n{self.size}\n{root}\n{TIMESTAMP_KEY} {when}\n{chain}"


def note_key_name(record: PublicKeyRecord) -> str:
    """A signed-note key name for our key: agency and key id, without spaces or '+'."""
    agency = _NAME_UNSAFE.sub("-", record.agency).strip("-")
    key_id = _NAME_UNSAFE.sub("-", record.key_id)
    return f"{agency}/{key_id}" if agency else key_id


def _valid_name(name: str) -> bool:
    return bool(name) and not _NAME_UNSAFE.search(name)


def key_hash(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of signed-note: which key a signature line claims, cheaply."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + raw).digest()
    return digest[:KEY_HASH_SIZE]


def sign_note(body: str, private_key: Ed25519PrivateKey, name: str) -> str:
    """A signed note carrying one Ed25519 signature by `name` over `body`."""
    if not _valid_name(name):
        raise ValueError(f"key name {name!r} must be non-empty, without spaces or '+'")
    if not body.endswith("\n") or _CONTROL.search(body):
        raise ValueError("a note body must end in a newline and hold no control characters")
    key_id = key_hash(name, private_key.public_key())
    signature = private_key.sign(body.encode("utf-8"))
    encoded = base64.b64encode(key_id + signature).decode("ascii")
    return f"{body}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def sign_checkpoint(cp: Checkpoint, private_key: Ed25519PrivateKey, name: str) -> str:
    """The checkpoint as a signed note, ready to publish or hand to an auditor."""
    return sign_note(cp.body(), private_key, name)


def _malformed(line: int, what: str, fix: str = _FIX_REISSUE) -> FormatError:
    return FormatError(f"line {line}: {what}", fix)


def parse_note(text: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its body and signature lines, checking only the syntax."""
    for number, line in enumerate(text.split("\n"), start=1):
        if _CONTROL.search(line):
            raise _malformed(
                number,
                "holds a control character (a carriage return?)",
                "Keep the note as written, with bare newlines (LF) only.",
            )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError("the note is not valid UTF-8 text", _FIX_REISSUE) from exc
    split = text.rfind(NOTE_SEPARATOR)
    if split < 0:
        raise FormatError(
            "no blank line between the note text and its signatures",
            "A signed note is its text, one empty line, then '— name signature' lines.",
        )
    body, block = text[: split + 1], text[split + len(NOTE_SEPARATOR) :]
    first_line = body.count("\n") + 2  # the line after the blank one
    if not block:
        raise _malformed(first_line, "the note has no signature lines")
    if not block.endswith("\n"):
        last = first_line + block.count("\n")
        raise _malformed(last, "the last signature line does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError(f"more than {MAX_SIGNATURES} signature lines", _FIX_REISSUE)
    return body, [_parse_signature(line, first_line + i) for i, line in enumerate(lines)]


def _parse_signature(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise _malformed(number, f"a signature line must start with '{SIGNATURE_PREFIX}'")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not _valid_name(name):
        raise _malformed(number, f"key name {name!r} is empty or holds spaces or '+'")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(number, "the signature is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != encoded:  # one spelling per signature
        raise _malformed(number, "the signature is not canonical base64")
    if len(raw) <= KEY_HASH_SIZE:
        raise _malformed(number, "the signature is shorter than its key hash")
    return NoteSignature(name, raw[:KEY_HASH_SIZE], raw[KEY_HASH_SIZE:])


def _parse_size(text: str) -> int:
    if not _SIZE_PATTERN.fullmatch(text) or int(text) > MAX_TREE_SIZE:
        raise _malformed(SIZE_LINE, f"tree size {text!r} is not ASCII decimal without leading 0s")
    return int(text)


def _parse_root(text: str) -> bytes:
    try:
        root = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != text:
        raise _malformed(ROOT_LINE, f"root hash {text!r} is not the base64 of {HASH_SIZE} bytes")
    return root


def _parse_timestamp(text: str) -> datetime:
    keyword, _, when = text.partition(" ")
    try:
        timestamp = datetime.strptime(when, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        timestamp = None
    # strptime also takes unpadded fields; only the canonical spelling is what was signed.
    if (
        keyword != TIMESTAMP_KEY
        or timestamp is None
        or timestamp.strftime(TIMESTAMP_FORMAT) != when
    ):
        raise _malformed(
            TIMESTAMP_LINE, f"{text!r} is not '{TIMESTAMP_KEY} YYYY-MM-DDTHH:MM:SSZ' (UTC)"
        )
    return timestamp


def _parse_body(body: str) -> Checkpoint:
    lines = body[:-1].split("\n")
    for number, line in enumerate(lines, start=1):
        if not line:
            raise _malformed(number, "empty line inside the checkpoint")
    if len(lines) < CHECKPOINT_LINES:
        raise FormatError(
            f"a checkpoint has {CHECKPOINT_LINES} lines (origin, tree size, root hash, "
            f"timestamp), this one {len(lines)}",
            _FIX_REISSUE,
        )
    if len(lines) > PREVIOUS_LINE:
        raise _malformed(PREVIOUS_LINE + 1, "unexpected extension line after 'previous'")
    origin, size, root, timestamp = lines[:CHECKPOINT_LINES]
    tree_size = _parse_size(size)
    extended = len(lines) == PREVIOUS_LINE
    previous = _parse_previous(lines[PREVIOUS_LINE - 1], tree_size) if extended else None
    return Checkpoint(origin, tree_size, _parse_root(root), _parse_timestamp(timestamp), previous)


def _parse_previous(text: str, size: int) -> int:
    keyword, _, value = text.partition(" ")
    if keyword != PREVIOUS_KEY or not _SIZE_PATTERN.fullmatch(value) or not int(value) < size:
        raise _malformed(
            PREVIOUS_LINE, f"{text!r} is not '{PREVIOUS_KEY} N' with N below the tree size"
        )
    return int(value)


def parse_checkpoint(text: str) -> tuple[Checkpoint, list[NoteSignature]]:
    """Read a signed checkpoint without trusting it: the caller must still verify it."""
    body, signatures = parse_note(text)
    return _parse_body(body), signatures


def _check_signatures(
    body: str, signatures: list[NoteSignature], public_key: Ed25519PublicKey, name: str
) -> None:
    if not _valid_name(name):
        raise ValueError(f"key name {name!r} must be non-empty, without spaces or '+'")
    key_id = key_hash(name, public_key)
    ours = [s for s in signatures if s.name == name and s.key_hash == key_id]
    label = f"{name}+{key_id.hex()}"
    if not ours:
        raise SignatureError(
            f"the note carries no signature by key {label}",
            "Check that you trust the right key, and ask the log for a note it signed.",
        )
    message = body.encode("utf-8")
    for signature in ours:  # signed-note: a failing signature from a known key rejects all
        try:
            if len(signature.signature) != ED25519_SIGNATURE_SIZE:
                raise InvalidSignature
            public_key.verify(signature.signature, message)
        except InvalidSignature as exc:
            raise SignatureError(
                f"the signature by key {label} does not match the note text",
                "The note was altered after signing; do not trust it.",
            ) from exc


def verify_note(text: str, public_key: Ed25519PublicKey, name: str) -> str:
    """The body of a note signed by `name` with `public_key`; other signers are ignored."""
    body, signatures = parse_note(text)
    _check_signatures(body, signatures, public_key, name)
    return body


def verify_checkpoint(text: str, public_key: Ed25519PublicKey, name: str) -> Checkpoint:
    """The checkpoint, once its signature by `name` with `public_key` verifies."""
    body, signatures = parse_note(text)
    checkpoint = _parse_body(body)
    _check_signatures(body, signatures, public_key, name)
    return checkpoint
