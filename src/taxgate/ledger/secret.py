"""The disclosing agency's HMAC secret: it keys every hash of personal data that is kept."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from taxgate.home import private_home

SECRET_BYTES = 32
SECRET_FILE = "hmac.secret"


def load_or_create_secret(home: Path) -> bytes:
    """Read the secret under `home`, creating it (mode 0600) on first use.

    The home is checked first (taxgate.home): a secret others can read keys nothing. The secret
    is written whole to a private temporary file, then linked into place: two processes starting
    at once on a fresh home both end with the one secret that won, never a half-written one.
    """
    private_home(home)
    path = home / SECRET_FILE
    if path.exists():
        return path.read_bytes()
    value = secrets.token_bytes(SECRET_BYTES)
    draft = home / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return path.read_bytes()  # another process created it first: use that one
    finally:
        draft.unlink(missing_ok=True)
    return value
