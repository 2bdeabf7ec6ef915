"""Signed manifests: the request batch and the response, each pointing at one table file.

The signature covers the RFC 8785 canonical JSON of every field except `signature`, so any
change to the manifest, or (through the digest) to a byte of its table file, breaks it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from taxgate.errors import FormatError
from taxgate.formats.records import IDENTIFIER_DESCRIPTION, IDENTIFIER_PATTERN

# The ledger keys every event by batch id and row in 200 characters; this leaves room.
BATCH_ID_MAX_LENGTH = 100
# A table file a manifest names is a bare file name in the manifest's own directory: letters,
# digits, "_", "-", " " and single dots, starting with a letter, digit or "_". No separator
# ("/", "\\"), no "..", no drive letter (":"), no control character, so it cannot name a file
# anywhere else. Written without look-arounds so pydantic and JSON Schema enforce the same rule.
FILE_NAME_PATTERN = r"^[A-Za-z0-9_](?:[A-Za-z0-9_ -]|\.[A-Za-z0-9_ -])*\.?$"
FILE_NAME_MAX_LENGTH = 255  # the longest file name common file systems allow
FILE_NAME_DESCRIPTION = (
    "Bare name of the table file in the manifest's own directory: letters, digits, '_', '-', "
    "spaces and single dots, starting with a letter, digit or '_'; no path, no '..'."
)


def table_file_field(description: str) -> object:
    """A manifest field naming its table file, with the bare-name rule in model and schema."""
    return Field(
        min_length=1,
        max_length=FILE_NAME_MAX_LENGTH,
        pattern=FILE_NAME_PATTERN,
        description=f"{description} {FILE_NAME_DESCRIPTION}",
    )


def batch_id_field() -> object:
    """The batch id: a safe identifier, so it is never a formula, markup or a path."""
    return Field(
        min_length=1,
        max_length=BATCH_ID_MAX_LENGTH,
        pattern=IDENTIFIER_PATTERN,
        description="The requester's identifier of the batch; never reused. "
        + IDENTIFIER_DESCRIPTION,
    )


class Signer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    key_id: str = Field("", description="Fingerprint of the signing key; filled when signing.")


class SignedManifest(BaseModel):
    """Shared shape of both manifests; subclasses name their table-file fields."""

    model_config = ConfigDict(extra="forbid")

    file_field: ClassVar[str]
    digest_field: ClassVar[str]
    count_field: ClassVar[str]
    table_kind: ClassVar[str]

    signer: Signer
    signature: str = Field("", description="Base64 Ed25519 over the canonical JSON of the rest.")

    def unsigned_payload(self) -> dict:
        return self.model_dump(mode="json", exclude={"signature"})

    def table_name(self) -> str:
        """The bare file name of the table, as the manifest names it."""
        return getattr(self, self.file_field)

    def table_path(self, manifest_path: Path) -> Path:
        """Where the table is expected, for messages; open it with `tablefile.read_beside`."""
        return Path(manifest_path).parent / self.table_name()

    @classmethod
    def load(cls, path: Path):
        return cls.parse(_read(path), path)

    @classmethod
    def parse(cls, raw: bytes, path: Path):
        """The manifest in `raw`, the bytes read from `path` (named in errors)."""
        try:
            return cls.model_validate(json.loads(raw))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(
                f"not valid UTF-8 JSON ({exc})", "Fix the JSON syntax.", file=path
            ) from exc
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            first = exc.errors()[0] if hasattr(exc, "errors") else {}
            loc = ".".join(str(p) for p in first.get("loc", ()))
            # pydantic's message names the rule, never the value: nothing the sender wrote
            # (a path, markup, a formula) is echoed back before the signature is checked.
            what, fix = {
                cls.file_field: (
                    "is not a bare file name in the manifest's own directory",
                    FILE_NAME_DESCRIPTION,
                ),
                "batch_id": (
                    "is not a batch id of the allowed characters",
                    f"Use {IDENTIFIER_DESCRIPTION}",
                ),
            }.get(loc, (first.get("msg", str(exc)), "See docs/formats.md for the manifest fields."))
            raise FormatError(what, fix, file=path, field=loc or None) from exc

    def save(self, path: Path) -> None:
        text = json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")


class RequestManifest(SignedManifest):
    """`manifest.json` of one request batch from the requesting agency."""

    file_field: ClassVar[str] = "subjects_file"
    digest_field: ClassVar[str] = "subjects_sha256"
    count_field: ClassVar[str] = "subject_count"
    table_kind: ClassVar[str] = "subjects"

    batch_id: str = batch_id_field()
    requesting_agency: str
    submitted_on: date
    signer: Signer
    statutory_authority: str = Field(description='e.g. "8 U.S.C. 1253(a)(1)".')
    attestation: str
    subjects_file: str = table_file_field("The subjects table.")
    subjects_sha256: str = ""
    subject_count: int = 0
    signature: str = ""


class ResponseManifest(SignedManifest):
    """`response.json`: the disclosing agency's signed answer to one batch."""

    file_field: ClassVar[str] = "responses_file"
    digest_field: ClassVar[str] = "responses_sha256"
    count_field: ClassVar[str] = "response_count"
    table_kind: ClassVar[str] = "responses"

    batch_id: str = batch_id_field()
    disclosing_agency: str
    recipient_agency: str
    responded_on: date
    request_sha256: str = Field(description="SHA-256 of the request manifest answered.")
    signer: Signer
    responses_file: str = table_file_field("The responses table.")
    responses_sha256: str = ""
    response_count: int = 0
    signature: str = ""


@dataclass(frozen=True)
class ArrivedManifest:
    """A request manifest as read once on arrival: its content and the SHA-256 of those very
    bytes. Every stage of one batch reads this object, never the file again: a manifest
    swapped on disk mid-batch cannot change what the gate checked, what the ledger recorded
    or to whom the response is signed."""

    path: Path
    manifest: RequestManifest
    sha256: str

    @classmethod
    def read(cls, path: Path) -> ArrivedManifest:
        path = Path(path)
        raw = _read(path)
        return cls(path, RequestManifest.parse(raw, path), hashlib.sha256(raw).hexdigest())


def _read(path: Path) -> bytes:
    """The bytes of the regular file at `path`. Opened without blocking and checked before
    reading: a FIFO named as a manifest would otherwise wait for a writer forever, a device
    such as /dev/zero fill memory."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise FormatError("file not found", "Check the path.", file=path) from exc
    except OSError as exc:
        raise FormatError(
            f"cannot be read ({exc.strerror or exc})", "Name a readable manifest file.", file=path
        ) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FormatError(
            "is not a regular file (a directory, FIFO, socket or device)",
            "Name the manifest file itself.",
            file=path,
        )
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise FormatError(
                f"cannot be read ({exc.strerror or exc})", "Name a readable manifest file.",
                file=path,
            ) from exc  # fmt: skip
