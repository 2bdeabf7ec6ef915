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

    The home is checked first (taxgate.home): a secret others can read keys nothing.
    """
    private_home(home)
    path = home / SECRET_FILE
    if path.exists():
        return path.read_bytes()
    value = secrets.token_bytes(SECRET_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value)
    return value
