"""The disclosing agency's HMAC secret: it keys every hash of personal data that is kept."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_BYTES = 32
SECRET_FILE = "hmac.secret"


def load_or_create_secret(home: Path) -> bytes:
    """Read the secret under `home`, creating it (mode 0600) on first use."""
    path = home / SECRET_FILE
    if path.exists():
        return path.read_bytes()
    home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(SECRET_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return value
