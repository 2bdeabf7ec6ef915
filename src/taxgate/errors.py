"""The one error type users see: what was wrong, where, and what to do about it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TaxgateError(Exception):
    """An error the user can act on; the CLI prints it as one line without a traceback."""

    what: str
    fix: str = ""
    file: Path | str | None = None
    row: int | None = None
    field: str | None = None

    def where(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(visible(str(self.file)))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.what}" if where else self.what
        return f"{text}. {self.fix}" if self.fix else text


def visible(text: str) -> str:
    """`text` with control and other invisible characters as \\xNN / \\uNNNN escapes, so
    a file name holding a newline or an escape sequence stays on one line, and shows."""
    return "".join(
        ch if ch.isprintable() and not unicodedata.category(ch).startswith("C")
        else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )  # fmt: skip


class FormatError(TaxgateError):
    """A file does not follow the exchange format (see docs/formats.md)."""


class SignatureError(TaxgateError):
    """A signed manifest does not verify."""
