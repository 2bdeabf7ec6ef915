"""TINs that are unique without a set: a per-kind counter scrambled by a bijection, then decoded.

SSNs follow SSA rules (area 001-899 except 666, group 01-99, serial 0001-9999); ITINs follow IRS
rules (area 900-999, group 50-65, 70-88, 90-92 or 94-99, serial 0001-9999). Counter k maps to
code (k * MULTIPLIER + offset) mod space, a bijection on [0, space) because MULTIPLIER is a prime
that divides neither space; the code is then split into area, group and serial. Filers take
counters from 0 upward; people who never filed take them from the top of the space downward, so
the two can never collide.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SSN_AREAS = np.array([a for a in range(1, 900) if a != 666], dtype=np.int64)
ITIN_GROUPS = np.array(
    [*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)], dtype=np.int64
)
SERIALS = 9999  # 0001-9999
SSN_GROUPS = 99  # 01-99
SSN_SPACE = len(SSN_AREAS) * SSN_GROUPS * SERIALS
ITIN_SPACE = 100 * len(ITIN_GROUPS) * SERIALS
MULTIPLIER = 2_147_483_647  # prime (2^31 - 1), coprime with both spaces

_SSN_RE = re.compile(r"^(\d{3})(\d{2})(\d{4})$")


def _scramble(counter: np.ndarray, space: int, seed: int) -> np.ndarray:
    offset = (seed * 0x9E3779B1) % space
    return (counter.astype(np.int64) % space * MULTIPLIER + offset) % space


def ssn_numbers(counter: np.ndarray, seed: int) -> np.ndarray:
    """Valid SSNs as integers (area*10^6 + group*10^4 + serial), one per distinct counter."""
    code = _scramble(counter, SSN_SPACE, seed)
    area = SSN_AREAS[code // (SSN_GROUPS * SERIALS)]
    rest = code % (SSN_GROUPS * SERIALS)
    return area * 1_000_000 + (rest // SERIALS + 1) * 10_000 + rest % SERIALS + 1


def itin_numbers(counter: np.ndarray, seed: int) -> np.ndarray:
    """Valid ITINs as integers, one per distinct counter."""
    code = _scramble(counter, ITIN_SPACE, seed)
    per_area = len(ITIN_GROUPS) * SERIALS
    area = 900 + code // per_area
    rest = code % per_area
    return area * 1_000_000 + ITIN_GROUPS[rest // SERIALS] * 10_000 + rest % SERIALS + 1


def as_text(numbers: np.ndarray) -> pa.Array:
    """Nine-digit strings, zero-padded."""
    return pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), 9, "0")


def is_valid_ssn(tin: str) -> bool:
    m = _SSN_RE.match(tin)
    if not m:
        return False
    area, group, serial = (int(x) for x in m.groups())
    return 1 <= area <= 899 and area != 666 and group >= 1 and serial >= 1


def is_valid_itin(tin: str) -> bool:
    m = _SSN_RE.match(tin)
    if not m:
        return False
    area, group, serial = (int(x) for x in m.groups())
    return area >= 900 and group in set(ITIN_GROUPS.tolist()) and serial >= 1


def is_valid_tin(tin: str) -> bool:
    return is_valid_ssn(tin) or is_valid_itin(tin)


MALFORMED_TIN_KINDS = ("eight_digits", "letters", "area_000", "area_666", "group_00", "serial_0000")


def malformed_tin(kind: str, rng: np.random.Generator) -> str:
    """A TIN with exactly one defect of the given kind, otherwise SSN-shaped."""
    area = int(rng.integers(1, 666))
    group = int(rng.integers(1, 100))
    serial = int(rng.integers(1, 10000))
    if kind == "eight_digits":
        return f"{area:03d}{group:02d}{serial:04d}"[:8]
    if kind == "letters":
        text = f"{area:03d}{group:02d}{serial:04d}"
        pos = int(rng.integers(0, 9))
        return text[:pos] + "ABCDEFGHJKXYZ"[int(rng.integers(13))] + text[pos + 1 :]
    if kind == "area_000":
        area = 0
    elif kind == "area_666":
        area = 666
    elif kind == "group_00":
        group = 0
    elif kind == "serial_0000":
        serial = 0
    else:
        raise ValueError(kind)
    return f"{area:03d}{group:02d}{serial:04d}"
