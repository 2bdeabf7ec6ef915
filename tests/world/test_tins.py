"""Every TIN follows SSA or IRS rules and belongs to one person only."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from taxgate.world.tins import (
    ITIN_GROUPS,
    MALFORMED_TIN_KINDS,
    as_text,
    is_valid_itin,
    is_valid_ssn,
    is_valid_tin,
    itin_numbers,
    malformed_tin,
    ssn_numbers,
)


def _check(tins: list[str]) -> tuple[int, int]:
    ssn = itin = 0
    for tin in tins:
        area, group, serial = int(tin[:3]), int(tin[3:5]), int(tin[5:])
        if area >= 900:
            assert group in ITIN_GROUPS, tin
            itin += 1
        else:
            assert area not in (0, 666), tin
            ssn += 1
        assert group != 0 and serial != 0, tin
    return ssn, itin


def test_every_filed_tin_is_valid_and_each_person_has_one(clean_world) -> None:
    """One name per TIN in the clean world (keying errors give some returns another spelling)."""
    filings = clean_world.filings
    tins = pc.unique(filings.column("tin")).to_pylist()
    assert len(tins) == clean_world.config.people
    ssn, itin = _check(tins)
    assert ssn and itin  # both kinds occur
    per_tin = {(r["tin"], r["given_name"], r["family_name"]) for r in filings.select(
        ["tin", "given_name", "family_name"]).to_pylist()}  # fmt: skip
    assert len(per_tin) == len(tins)  # one name per TIN


def test_itins_are_more_common_outside_en_us(world) -> None:
    rows = world.filings.select(["tin", "family_name"]).to_pylist()
    spanish = {r["tin"] for r in rows if " " in r["family_name"] or "-" in r["family_name"]}
    everyone = {r["tin"] for r in rows}

    def share(tins: set[str]) -> float:
        return sum(t.startswith("9") for t in tins) / len(tins)

    assert share(spanish) > 3 * share(everyone - spanish)


def test_counter_bijection_is_unique_and_valid_at_scale() -> None:
    counters = np.arange(0, 2_000_000, dtype=np.int64)
    for numbers, valid in ((ssn_numbers(counters, 3), is_valid_ssn),
                           (itin_numbers(counters, 3), is_valid_itin)):  # fmt: skip
        assert len(np.unique(numbers)) == len(numbers)
        text = as_text(numbers[::997]).to_pylist()
        assert all(valid(t) for t in text)
        _check(as_text(numbers).to_pylist()[:50_000])


def test_malformed_tins_are_invalid() -> None:
    rng = np.random.default_rng(1)
    for kind in MALFORMED_TIN_KINDS:
        for _ in range(50):
            assert not is_valid_tin(malformed_tin(kind, rng)), kind
