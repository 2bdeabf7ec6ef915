"""One person as the subject builder sees them: names, birth date, TIN and the addresses filed from.

Chunks of the population are numpy columns; only the few people a request is about become a
PersonRecord, so memory stays bounded however large the world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from taxgate.world.places import Address

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class FiledAddress:
    """An address a person filed from, with the tax years and the latest filing date there."""

    address: Address
    years: tuple[int, ...]
    last_filed_on: date


@dataclass
class PersonRecord:
    """A filer (tin set, addresses filed from) or a person who never filed (one address)."""

    locale: str
    given: str
    middle: str | None
    family: str
    suffix: str | None
    date_of_birth: date
    dob_on_file: bool
    tin: str | None
    name_key: tuple[int, int, int, int]  # normalised ids: given, second given, family, second
    addresses: list[FiledAddress] = field(default_factory=list)
    present: bool = True
    surnames: tuple[str, str | None] = ("", None)  # (first surname, second surname) as written
    sex: int = 0  # names.MALE or names.FEMALE: which pool another given name comes from

    @property
    def last_known(self) -> Address:
        return self.addresses[-1].address


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of 64-bit integers."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x & _MASK64


def name_zip_key(
    g_a: np.ndarray, g_b: np.ndarray, f_a: np.ndarray, f_b: np.ndarray, zip_idx: np.ndarray
) -> np.ndarray:
    """64-bit key of (normalised given names, normalised family names, ZIP): equal for namesakes
    filing from one ZIP code. Ids are below 2^20 and -1 means "none"."""
    bits = np.uint64(20)
    first = (
        (np.asarray(g_a, np.int64) + 1).astype(np.uint64)
        | ((np.asarray(g_b, np.int64) + 1).astype(np.uint64) << bits)
        | ((np.asarray(f_a, np.int64) + 1).astype(np.uint64) << (bits * np.uint64(2)))
    )
    second = (np.asarray(f_b, np.int64) + 1).astype(np.uint64) | (
        np.asarray(zip_idx, np.int64).astype(np.uint64) << bits
    )
    return _mix(_mix(first) ^ second)


_M64 = 0xFFFFFFFFFFFFFFFF


def _mix_one(x: int) -> int:
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def name_zip_key_one(g_a: int, g_b: int, f_a: int, f_b: int, zip_idx: int) -> int:
    """`name_zip_key` of one name in plain integers (a hundred times faster than numpy for one)."""
    first = (g_a + 1) | ((g_b + 1) << 20) | ((f_a + 1) << 40)
    second = (f_b + 1) | (zip_idx << 20)
    return _mix_one(_mix_one(first & _M64) ^ second)
