"""The population has the stated shape: households, birth dates on file, movers, traditions."""

from __future__ import annotations

from collections import Counter
from datetime import date

import numpy as np
import pytest

from taxgate.world.names import LOCALES, build_pools
from taxgate.world.places import draw_zips
from taxgate.world.population import TinCounters, chunk_traits, make_chunk
from taxgate.world.proportions import (
    DOB_ON_FILE_SHARE,
    HOUSEHOLD_SIZE_SHARES,
    LOCALE_MIX,
    MOVER_RATE_PER_YEAR,
)

YEARS = (2022, 2023, 2024)


@pytest.fixture(scope="module")
def chunk():
    pools = build_pools(3)
    zips = draw_zips(np.random.default_rng(0), 5)
    return make_chunk(pools, 3, 0, 0, 60_000, YEARS, date(2025, 2, 1), zips, TinCounters()), pools


def test_household_sizes_follow_the_stated_shares(chunk) -> None:
    c, _ = chunk
    counts = Counter(c.household_size.tolist())
    total = sum(counts.values())
    for size, share in HOUSEHOLD_SIZE_SHARES.items():
        assert abs(counts[size] / total - share) < 0.015, size
    assert c.household_size.sum() == len(c)


def test_traditions_follow_the_locale_mix(chunk) -> None:
    c, _ = chunk
    counts = Counter(c.locale.tolist())
    for i, loc in enumerate(LOCALES):
        assert abs(counts[i] / len(c) - LOCALE_MIX[loc]) < 0.02, loc


def test_birth_dates_on_file_share(world) -> None:
    rows = world.filings.select(["tin", "date_of_birth"]).to_pylist()
    on_file = {r["tin"]: r["date_of_birth"] is not None for r in rows}
    assert abs(sum(on_file.values()) / len(on_file) - DOB_ON_FILE_SHARE) < 0.03


def test_movers_change_address_at_about_the_stated_rate(chunk) -> None:
    c, _ = chunk
    moved = c.moved().mean()
    expected = 1 - (1 - MOVER_RATE_PER_YEAR) ** (len(YEARS) - 1)
    assert 0.5 * expected < moved < 1.2 * expected


def test_filing_dates_fall_in_the_season_after_the_tax_year(world) -> None:
    for r in world.filings.select(["tax_year", "filed_on"]).to_pylist():
        assert date(r["tax_year"] + 1, 2, 1) <= r["filed_on"] <= date(r["tax_year"] + 1, 10, 15)


def test_spanish_households_keep_two_surnames_and_children_take_both(chunk) -> None:
    c, _ = chunk
    n = c.names
    spanish = np.isin(c.locale, [LOCALES.index("es_MX"), LOCALES.index("es_CO")])
    assert (n.fam_b[spanish] >= 0).mean() > 0.8
    heads = np.nonzero((c.role == 0) & spanish)[0]
    children = [h for h in heads[:3000] if c.household_size[c.household[h]] >= 3]
    same_first = [
        n.fam_a[h + 2] == n.fam_a[h] or n.fam_a[h + 2] == n.fam_a[h + 1] for h in children
    ]
    assert np.mean(same_first) > 0.95


def test_households_hold_twins_jr_sr_and_common_name_clusters(chunk) -> None:
    c, pools = chunk
    traits = chunk_traits(c, pools)
    for name in ("twin", "jr_sr", "namesake", "cluster", "moved", "accents", "nickname"):
        assert traits[name].sum() > 0, name
    sr = np.nonzero(c.suffix == 1)[0]  # JR
    assert len(sr) and all(c.names.given_a[s] == c.names.given_a[c.household == c.household[s]][0]
                           for s in sr[:50])  # fmt: skip


def test_names_keep_accents_and_particles(world) -> None:
    families = set(world.filings.column("family_name").to_pylist())
    givens = set(world.filings.column("given_name").to_pylist())
    assert any(not f.isascii() for f in families)
    assert any(" " in g for g in givens)  # compound given names
    assert any("-" in f for f in families)  # hyphenated surnames
    assert any(f.startswith(("de ", "del ", "da ", "dos ")) or " de " in f for f in families)
