"""Fold free text to a comparable form: upper case, no accents, punctuation as spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


@lru_cache(maxsize=1 << 16)
def fold(text: str | None) -> str:
    """'  José  Hernández-López ' -> 'JOSE HERNANDEZ LOPEZ'; None -> ''."""
    if not text:
        return ""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.upper()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", ascii_only.upper()).strip()
