"""The one error type users see: what was wrong, where, and what to do about it."""

from __future__ import annotations

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
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.what}" if where else self.what
        return f"{text}. {self.fix}" if self.fix else text


class FormatError(TaxgateError):
    """A file does not follow the exchange format (see docs/formats.md)."""


class SignatureError(TaxgateError):
    """A signed manifest does not verify."""
