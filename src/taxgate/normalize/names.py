"""Person names into comparable tokens: particles, hyphens, suffixes (JR, SR, II...) handled.

One folded name field becomes a `NameParts`: its tokens with particles ("de la", "da", "van")
removed and a trailing generational suffix taken out. Hyphens and other punctuation already
separate tokens after folding, so "Hernández-López" and "Hernandez Lopez" give the same tokens.
A particle is removed only when another token follows it, so a lone "Le" (the Vietnamese
surname Lê) or "De" stays a name. The same rules serve given, middle and family names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from taxgate.normalize.text import fold

PARTICLES = frozenset(
    {"DE", "DEL", "LA", "LAS", "LOS", "Y", "DA", "DAS", "DO", "DOS", "VAN", "VON", "DER",
     "DI", "LE"}
)  # fmt: skip
SUFFIXES: dict[str, str] = {
    "JR": "JR", "JNR": "JR", "JUNIOR": "JR",
    "SR": "SR", "SNR": "SR", "SENIOR": "SR",
    "II": "II", "2ND": "II", "III": "III", "3RD": "III", "IV": "IV", "4TH": "IV",
}  # fmt: skip
INITIAL_LENGTH = 1  # a token this short in a middle name is an initial, not a name
CACHE_SIZE = 1 << 18


@dataclass(frozen=True)
class NameParts:
    """One name field: tokens (particles and suffix removed) and the suffix it carried."""

    tokens: tuple[str, ...]
    suffix: str | None


def suffix_of(text: str | None) -> str | None:
    """'Jr.' -> 'JR', 'junior' -> 'JR', '3rd' -> 'III'; None for anything else."""
    return SUFFIXES.get(fold(text))


def _drop_particles(tokens: list[str]) -> list[str]:
    return [t for i, t in enumerate(tokens) if t not in PARTICLES or i == len(tokens) - 1]


@lru_cache(maxsize=CACHE_SIZE)
def split_name(text: str | None, *, keep_last: bool = True) -> NameParts:
    """'de la Cruz Jr.' -> ((CRUZ,), JR); 'Da Silva' -> ((SILVA,), None).

    A trailing suffix is taken only while another token remains, unless `keep_last` is
    False (a middle name of just "Jr" is a misplaced suffix, a surname "Junior" is a name).
    """
    tokens = fold(text).split()
    suffix: str | None = None
    while tokens and tokens[-1] in SUFFIXES and (len(tokens) > 1 or not keep_last):
        suffix = suffix or SUFFIXES[tokens[-1]]
        tokens.pop()
    return NameParts(tuple(_drop_particles(tokens)), suffix)


@lru_cache(maxsize=CACHE_SIZE)
def family_parts(text: str | None) -> NameParts:
    """Surname tokens: 'Hernández-López' -> (HERNANDEZ, LOPEZ), 'de los Santos' -> (SANTOS,)."""
    return split_name(text)


@lru_cache(maxsize=CACHE_SIZE)
def given_parts(text: str | None) -> NameParts:
    """Given-name tokens, compound names kept: 'María del Carmen' -> (MARIA, CARMEN)."""
    return split_name(text)


@lru_cache(maxsize=CACHE_SIZE)
def middle_parts(text: str | None) -> NameParts:
    """Middle-name tokens without initials ('M.' says too little to compare); may be a suffix."""
    parts = split_name(text, keep_last=False)
    tokens = tuple(t for t in parts.tokens if len(t) > INITIAL_LENGTH)
    return NameParts(tokens, parts.suffix)
