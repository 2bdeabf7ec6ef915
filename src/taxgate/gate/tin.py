"""SSN and ITIN structure: a TIN that can never have been issued is refused before matching."""

from __future__ import annotations

import re

from taxgate.policy.model import TinRules

_SEPARATORS = re.compile(r"[\s-]")
_NINE_DIGITS = re.compile(r"^\d{9}$")


def tin_digits(tin: str) -> str:
    """'123-45-6789' and '123 45 6789' -> '123456789'; other text is returned unchanged."""
    return _SEPARATORS.sub("", tin.strip())


def tin_is_valid(tin: str, rules: TinRules) -> bool:
    """True for an SSN or ITIN the issuing rules allow (SSA for SSNs, IRS for ITINs)."""
    digits = tin_digits(tin)
    if not _NINE_DIGITS.match(digits):
        return False
    area, group, serial = digits[:3], int(digits[3:5]), digits[5:]
    if area.startswith("9"):
        return any(low <= group <= high for low, high in rules.itin_group_ranges)
    return area not in rules.ssn_invalid_areas and group != 0 and serial != "0000"
