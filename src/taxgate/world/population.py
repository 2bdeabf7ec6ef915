"""The filing population, one chunk at a time: households, their people, addresses and returns.

Everything is numpy/pyarrow columns; a chunk of ~200k people is built and written without any
per-person Python. Households never straddle chunks. Each chunk has its own random stream
(seed, chunk number), so a chunk is the same whatever else is generated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.formats.tables import arrow_schema
from taxgate.world.names import LOCALES, MALE, NamePools, has_nickname
from taxgate.world.noise import (
    NameIndex,
    NoiseSettings,
    Replacement,
    initial_keys,
    name_readings,
    noise_filings,
)
from taxgate.world.people import FiledAddress, PersonRecord, name_zip_key
from taxgate.world.places import (
    AddressArrays,
    address_at,
    draw_addresses,
    draw_zips,
    render_streets,
    render_units,
    render_zips,
    zip_arrow,
    zip_table,
)
from taxgate.world.proportions import (
    ADULT_MAX_AGE,
    ADULT_MIN_AGE,
    CLUSTER_HOUSEHOLD_SHARE,
    DOB_ON_FILE_SHARE,
    FEMALE_SHARE,
    FILES_IN_YEAR_SHARE,
    HOUSEHOLD_SIZE_SHARES,
    ITIN_SHARE,
    JR_SR_SHARE,
    JR_SUFFIX_II_SHARE,
    LOCALE_MIX,
    MIDDLE_NAME_SHARE,
    MOVER_RATE_PER_YEAR,
    NAMESAKE_PAIR_SHARE,
    PARENT_GAP_YEARS,
    SPANISH_COMPOUND_GIVEN_SHARE,
    SPANISH_HYPHENATED_SURNAMES_SHARE,
    SPANISH_LOCALES,
    SPANISH_SINGLE_SURNAME_ON_FILING_SHARE,
    SPOUSE_AGE_SPREAD_YEARS,
    SPOUSE_SHARE,
    SPOUSE_TAKES_SURNAME_SHARE,
    SR_SUFFIX_SHARE,
    TWIN_SHARE,
    ZIP4_ON_FILING_SHARE,
)
from taxgate.world.tins import ITIN_SPACE, SSN_SPACE, as_text, itin_numbers, ssn_numbers

SUFFIX_TEXT = [None, "JR", "SR", "II"]
NO_SUFFIX, JR, SR, II = 0, 1, 2, 3
HEAD, SPOUSE, CHILD = 0, 1, 2
EPOCH = date(1970, 1, 1)
LAST_FILING_DAY = (10, 15)  # returns are filed from 1 February to 15 October (extension)
FIRST_FILING_DAY = (2, 1)
_SPANISH = np.array([loc in SPANISH_LOCALES for loc in LOCALES])


def _days(d: date) -> int:
    return (d - EPOCH).days


def to_date(days: int) -> date:
    return EPOCH + timedelta(days=int(days))


@dataclass
class Names:
    """Name columns of n people, as vocabulary ids (-1 = none)."""

    given_a: np.ndarray
    given_b: np.ndarray
    middle: np.ndarray
    fam_a: np.ndarray
    fam_b: np.ndarray


def _by_group(
    pools_draw: Callable[[int, np.random.Generator, int], np.ndarray],
    keys: np.ndarray,
    rng: np.random.Generator,
    out: np.ndarray,
) -> None:
    """Fill out[i] from the pool of keys[i], one vectorised draw per distinct key."""
    for key in np.unique(keys):
        mask = keys == key
        out[mask] = pools_draw(int(key), rng, int(mask.sum()))


def draw_names(
    pools: NamePools, rng: np.random.Generator, locale: np.ndarray, sex: np.ndarray
) -> Names:
    """Independent names for people of the given traditions and sexes (no family ties)."""
    n = len(locale)
    given_a = np.empty(n, np.int32)
    fam_a = np.empty(n, np.int32)
    fam_b = np.full(n, -1, np.int32)
    middle = np.full(n, -1, np.int32)
    given_b = np.full(n, -1, np.int32)
    key = locale.astype(np.int32) * 2 + sex

    def given(k: int, r: np.random.Generator, m: int) -> np.ndarray:
        return pools.given[(LOCALES[k // 2], k % 2)].draw(r, m)

    _by_group(given, key, rng, given_a)
    _by_group(lambda k, r, m: pools.family[LOCALES[k]].draw(r, m), locale, rng, fam_a)
    spanish = _SPANISH[locale]
    second = pools_family_draw(pools, rng, locale)
    fam_b[spanish] = second[spanish]
    compound = spanish & (rng.random(n) < SPANISH_COMPOUND_GIVEN_SHARE)
    for s in (MALE, 1 - MALE):
        m = compound & (sex == s)
        given_a[m] = pools.compound_first[s].draw(rng, int(m.sum()))
        given_b[m] = pools.compound_second[s].draw(rng, int(m.sum()))
    for (loc, s), pool in pools.middle.items():
        share = MIDDLE_NAME_SHARE.get(loc, 0.0)
        m = (locale == LOCALES.index(loc)) & (sex == s) & (rng.random(n) < share)
        middle[m] = pool.draw(rng, int(m.sum()))
    return Names(given_a, given_b, middle, fam_a, fam_b)


def pools_family_draw(pools: NamePools, rng: np.random.Generator, locale: np.ndarray) -> np.ndarray:
    out = np.empty(len(locale), np.int32)
    _by_group(lambda k, r, m: pools.family[LOCALES[k]].draw(r, m), locale, rng, out)
    return out


@dataclass
class Chunk:
    """One chunk of the population: people, households, addresses, and the returns they filed."""

    start: int  # global index of the first person
    locale: np.ndarray
    sex: np.ndarray
    names: Names
    hyphen: np.ndarray
    suffix: np.ndarray
    dob: np.ndarray
    dob_on_file: np.ndarray
    tin: pa.Array
    household: np.ndarray
    household_size: np.ndarray  # per household
    role: np.ndarray
    twin: np.ndarray
    jr_sr: np.ndarray
    namesake: np.ndarray
    cluster: np.ndarray
    addresses: AddressArrays  # per (household, slot): row = household * years + slot
    units: pa.Array
    filing_person: np.ndarray  # per filing row: local person index
    filing_year: np.ndarray  # per filing row: year index
    filing_slot: np.ndarray  # per filing row: address row
    filed_on: np.ndarray  # per filing row: days since epoch
    filings: pa.Table
    name_zip_keys: np.ndarray  # one per distinct (person, ZIP) filed from
    name_reading_keys: np.ndarray  # every reading of those names (noise.name_readings)
    initial_zip_keys: np.ndarray  # the same, of (initial of the given name, family names, ZIP)
    # name_zip_keys less those of (person, ZIP) whose every return there the filing noise
    # made read as another name or ZIP: the namesakes the filings show, for the truth
    recorded_name_keys: np.ndarray
    unshown_pairs: np.ndarray  # those (person, ZIP) pairs, as tin * ZIPs + ZIP index
    # Keys of names (and their readings) only mistyped returns show: the requests' guard
    # reads them too
    noised_name_keys: np.ndarray
    noised_reading_keys: np.ndarray
    noise_kinds: Counter[str]  # keying errors in this chunk's returns, by kind
    noised_filings: int  # filing rows that carry keying errors
    tax_years: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.locale)

    # ------------------------------------------------------------ selection traits

    def moved(self) -> np.ndarray:
        """People who filed from more than one address (so one is stale)."""
        first = np.full(len(self), np.iinfo(np.int64).max)
        last = np.full(len(self), -1)
        np.minimum.at(first, self.filing_person, self.filing_slot)
        np.maximum.at(last, self.filing_person, self.filing_slot)
        return first != last

    def display(self, pools: NamePools, i: int) -> tuple[str, str | None, str]:
        v = pools.vocab
        n = self.names
        given = v[n.given_a[i]] + (" " + v[n.given_b[i]] if n.given_b[i] >= 0 else "")
        middle = v[n.middle[i]] if n.middle[i] >= 0 else None
        sep = "-" if self.hyphen[i] else " "
        family = v[n.fam_a[i]] + (sep + v[n.fam_b[i]] if n.fam_b[i] >= 0 else "")
        return given, middle, family

    def record(self, pools: NamePools, i: int) -> PersonRecord:
        """The filer at local index i as a PersonRecord (their filed addresses, oldest first)."""
        given, middle, family = self.display(pools, i)
        lo, hi = np.searchsorted(self.filing_person, [i, i + 1])  # rows are ordered by person
        rows = range(int(lo), int(hi))
        by_slot: dict[int, list[int]] = {}
        for r in rows:
            by_slot.setdefault(int(self.filing_slot[r]), []).append(int(r))
        filed = []
        for slot, rs in by_slot.items():
            years = tuple(self.tax_years[int(self.filing_year[r])] for r in rs)
            last = max(int(self.filed_on[r]) for r in rs)
            unit = self.units[slot].as_py()
            filed.append(FiledAddress(address_at(self.addresses, slot, unit), years, to_date(last)))
        filed.sort(key=lambda f: f.last_filed_on)
        n = self.names
        norm = pools.norm_array()
        key = tuple(
            int(norm[x]) if x >= 0 else -1
            for x in (n.given_a[i], n.given_b[i], n.fam_a[i], n.fam_b[i])
        )
        return PersonRecord(
            locale=LOCALES[int(self.locale[i])],
            given=given,
            middle=middle,
            family=family,
            suffix=SUFFIX_TEXT[int(self.suffix[i])],
            date_of_birth=to_date(int(self.dob[i])),
            dob_on_file=bool(self.dob_on_file[i]),
            tin=self.tin[i].as_py(),
            sex=int(self.sex[i]),
            name_key=key,  # type: ignore[arg-type]
            addresses=filed,
            surnames=(
                pools.vocab[n.fam_a[i]],
                pools.vocab[n.fam_b[i]] if n.fam_b[i] >= 0 else None,
            ),
        )


@dataclass
class TinCounters:
    """Next SSN and ITIN counters; carried from chunk to chunk so every TIN is unique."""

    ssn: int = 0
    itin: int = 0


def _household_sizes(rng: np.random.Generator, n_people: int) -> np.ndarray:
    sizes = np.array(list(HOUSEHOLD_SIZE_SHARES))
    p = np.array(list(HOUSEHOLD_SIZE_SHARES.values()))
    mean = float((sizes * p).sum())
    drawn = rng.choice(sizes, size=int(n_people / mean * 1.2) + 10, p=p / p.sum())
    total = np.cumsum(drawn)
    h = int(np.searchsorted(total, n_people)) + 1
    drawn = drawn[:h].copy()
    drawn[-1] -= int(total[h - 1] - n_people)  # the last household is cut to fit the chunk
    return drawn.astype(np.int32)


def make_chunk(
    pools: NamePools,
    seed: int,
    chunk_no: int,
    start: int,
    n_people: int,
    tax_years: tuple[int, ...],
    reference: date,
    cluster_zips: np.ndarray,
    tins: TinCounters,
    noise: NoiseSettings | None = None,
) -> Chunk:
    """Generate `n_people` filers in households, their addresses and every return they filed;
    with `noise`, a share of the returns carry keying errors (their own random stream, so the
    clean world is the same with or without)."""
    rng = np.random.default_rng([seed, chunk_no, 1])
    sizes = _household_sizes(rng, n_people)
    h = len(sizes)
    years = len(tax_years)
    first_of = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    household = np.repeat(np.arange(h, dtype=np.int32), sizes)
    position = np.arange(n_people) - first_of[household]

    # --- household traits
    loc_p = np.array([LOCALE_MIX[loc] for loc in LOCALES])
    h_locale = rng.choice(len(LOCALES), size=h, p=loc_p / loc_p.sum()).astype(np.uint8)
    has_spouse = (sizes >= 2) & (rng.random(h) < SPOUSE_SHARE)
    n_children = sizes - 1 - has_spouse
    head_sex = (rng.random(h) < FEMALE_SHARE).astype(np.uint8)

    # namesake pairs: household 2k+1 copies household 2k's tradition and head's name and ZIP
    n_pairs = round(h * NAMESAKE_PAIR_SHARE)
    pair_a = rng.choice(h // 2, size=min(n_pairs, h // 2), replace=False) * 2 if h > 1 else []
    pair_a = np.asarray(pair_a, np.int64)
    pair_b = pair_a + 1
    h_locale[pair_b] = h_locale[pair_a]
    head_sex[pair_b] = head_sex[pair_a]
    cluster = rng.random(h) < CLUSTER_HOUSEHOLD_SHARE
    cluster[pair_a] = True
    cluster[pair_b] = True

    role = np.where(
        position == 0, HEAD, np.where((position == 1) & has_spouse[household], SPOUSE, CHILD)
    )
    locale = h_locale[household]
    sex = np.where(
        role == HEAD,
        head_sex[household],
        np.where(role == SPOUSE, 1 - head_sex[household], rng.random(n_people) < FEMALE_SHARE),
    ).astype(np.uint8)

    names = draw_names(pools, rng, locale, sex)
    heads = first_of
    # cluster heads take a very common name of their tradition
    for idx in np.nonzero(cluster)[0]:
        p = heads[idx]
        loc = LOCALES[h_locale[idx]]
        names.given_a[p] = pools.given[(loc, int(sex[p]))].common()[rng.integers(0, 3)]
        names.given_b[p] = -1
        names.fam_a[p] = pools.family[loc].common()[rng.integers(0, 5)]
        if names.fam_b[p] >= 0:
            names.fam_b[p] = pools.family[loc].common()[rng.integers(0, 5)]
    pa_heads, pb_heads = heads[pair_a], heads[pair_b]
    for col in (names.given_a, names.given_b, names.fam_a, names.fam_b):
        col[pb_heads] = col[pa_heads]

    # --- family ties: spouses, children, Jr/Sr, twins
    head_of = heads[household]
    spanish = _SPANISH[locale]
    spouse_of = np.where(has_spouse[household], head_of + 1, -1)
    is_spouse = role == SPOUSE
    takes = is_spouse & ~spanish & (rng.random(n_people) < SPOUSE_TAKES_SURNAME_SHARE)
    names.fam_a[takes] = names.fam_a[head_of[takes]]
    is_child = role == CHILD
    # Spanish children: father's first surname, then mother's first surname
    head_male = sex[head_of] == MALE
    father = np.where(head_male | (spouse_of < 0), head_of, spouse_of)
    mother = np.where(head_male & (spouse_of >= 0), spouse_of, head_of)
    sp_child = is_child & spanish
    names.fam_a[sp_child] = names.fam_a[father[sp_child]]
    names.fam_b[sp_child] = np.where(
        spouse_of[sp_child] >= 0, names.fam_a[mother[sp_child]], names.fam_b[head_of[sp_child]]
    )
    other_child = is_child & ~spanish
    names.fam_a[other_child] = names.fam_a[head_of[other_child]]
    names.fam_b[other_child] = names.fam_b[head_of[other_child]]

    suffix = np.zeros(n_people, np.int8)
    first_child = head_of + 1 + has_spouse[household]
    jr_house = (
        (h_locale == LOCALES.index("en_US"))
        & has_spouse
        & (n_children >= 1)
        & (head_sex == MALE)
        & (rng.random(h) < JR_SR_SHARE)
    )
    jr_house[pair_a] = False
    jr_house[pair_b] = False
    jr = np.asarray(first_child[heads[jr_house]] if jr_house.any() else [], np.int64)
    jr_heads = heads[jr_house]
    sex[jr] = MALE
    for col in (names.given_a, names.given_b, names.middle, names.fam_a, names.fam_b):
        col[jr] = col[jr_heads]
    suffix[jr] = np.where(rng.random(len(jr)) < JR_SUFFIX_II_SHARE, II, JR)
    suffix[jr_heads] = np.where(rng.random(len(jr_heads)) < SR_SUFFIX_SHARE, SR, NO_SUFFIX)
    jr_sr = np.zeros(n_people, bool)
    jr_sr[jr] = True
    jr_sr[jr_heads] = True

    # --- ages and birth dates
    ref = _days(reference)
    has_children = n_children >= 1
    oldest = rng.integers(ADULT_MIN_AGE, 41, h)
    head_age = np.where(
        has_children,
        np.clip(oldest + rng.integers(*PARENT_GAP_YEARS, h), 38, ADULT_MAX_AGE),
        rng.integers(20, ADULT_MAX_AGE + 1, h),
    )
    oldest = np.minimum(oldest, head_age - PARENT_GAP_YEARS[0])
    age = head_age[household].astype(np.int64)
    spread = rng.integers(-SPOUSE_AGE_SPREAD_YEARS, SPOUSE_AGE_SPREAD_YEARS + 1, n_people)
    age = np.where(is_spouse, np.clip(age + spread, ADULT_MIN_AGE, 90), age)
    child_age = rng.integers(ADULT_MIN_AGE, np.maximum(oldest[household], ADULT_MIN_AGE) + 1)
    age = np.where(is_child, child_age, age)
    dob = (ref - age * 365.25 - rng.integers(0, 365, n_people)).astype(np.int32)

    twin_house = (n_children >= 2) & (rng.random(h) < TWIN_SHARE)
    twin_a = first_child[heads[twin_house]].astype(np.int64)
    twin_b = twin_a + 1
    dob[twin_b] = dob[twin_a]
    for col in (names.fam_a, names.fam_b):
        col[twin_b] = col[twin_a]
    suffix[twin_b] = NO_SUFFIX
    same = names.given_a[twin_b] == names.given_a[twin_a]
    while same.any():  # twins never share a given name
        k = twin_b[same]
        names.given_a[k] = pools_given_redraw(pools, rng, locale[k], sex[k])
        same = names.given_a[twin_b] == names.given_a[twin_a]
    twin = np.zeros(n_people, bool)
    twin[twin_a] = True
    twin[twin_b] = True

    # Spanish filers: some file with one surname; some hyphenate the two
    single = spanish & (rng.random(n_people) < SPANISH_SINGLE_SURNAME_ON_FILING_SHARE) & ~jr_sr
    single &= ~twin
    single[np.concatenate([pa_heads, pb_heads])] = False
    names.fam_b[single] = -1
    hyphen = (names.fam_b >= 0) & (rng.random(n_people) < SPANISH_HYPHENATED_SURNAMES_SHARE)

    dob_on_file = rng.random(n_people) < DOB_ON_FILE_SHARE

    # --- TINs
    itin = rng.random(n_people) < np.array([ITIN_SHARE[loc] for loc in LOCALES])[locale]
    ssn_counter = tins.ssn + np.cumsum(~itin) - 1
    itin_counter = tins.itin + np.cumsum(itin) - 1
    tins.ssn += int((~itin).sum())
    tins.itin += int(itin.sum())
    numbers = np.where(itin, itin_numbers(itin_counter, seed), ssn_numbers(ssn_counter, seed))
    tin = as_text(numbers)

    # --- addresses: one per (household, slot); a move starts a new slot
    slots = h * years
    zips = draw_zips(rng, slots).reshape(h, years)
    cz = cluster_zips[rng.integers(0, len(cluster_zips), h)]
    zips[cluster, 0] = cz[cluster]
    zips[pair_b, 0] = zips[pair_a, 0]
    addresses = draw_addresses(rng, zips.reshape(-1))
    moves = np.zeros((h, years), np.int64)
    moves[:, 1:] = rng.random((h, years - 1)) < MOVER_RATE_PER_YEAR
    # namesake pairs, Jr/Sr and twin households stay put, so their traps stay traps
    moves[pair_a] = 0
    moves[pair_b] = 0
    moves[jr_house | twin_house] = 0
    slot_of_year = np.cumsum(moves, axis=1) + (np.arange(h)[:, None] * years)

    # --- returns
    files = rng.random((n_people, years)) < FILES_IN_YEAR_SHARE
    none = ~files.any(axis=1)
    files[none, rng.integers(0, years, int(none.sum()))] = True
    person, year = np.nonzero(files)
    slot = slot_of_year[household[person], year]
    year_arr = np.asarray(tax_years, np.int64)[year]
    window_start = np.array([_days(date(y + 1, *FIRST_FILING_DAY)) for y in tax_years])
    window_len = np.array(
        [
            _days(date(y + 1, *LAST_FILING_DAY)) - _days(date(y + 1, *FIRST_FILING_DAY))
            for y in tax_years
        ]
    )
    filed_on = (window_start[year] + (rng.random(len(year)) * (window_len[year] + 1))).astype(
        np.int32
    )

    units = render_units(addresses)
    filings = _filings_table(
        pools, names, hyphen, suffix, dob, dob_on_file, tin, addresses, units,
        person, year_arr, slot, filed_on, rng,
    )  # fmt: skip

    # --- namesake keys: one per distinct (person, ZIP filed from)
    nz = len(zip_table())
    row_pair = person.astype(np.int64) * nz + addresses.zip_idx[slot]
    pair = np.unique(row_pair)
    kp, kz = pair // nz, pair % nz
    norm = pools.norm_array()

    def nid(col: np.ndarray) -> np.ndarray:
        return np.where(col[kp] >= 0, norm[np.maximum(col[kp], 0)], -1)

    name_ids = nid(names.given_a), nid(names.given_b), nid(names.fam_a), nid(names.fam_b)
    keys = name_zip_key(*name_ids, kz)
    readings = name_readings(*name_ids, kz)
    initials = pools.initial_array()[np.maximum(nid(names.given_a), 0)]
    ikeys = initial_keys(initials, nid(names.fam_a), nid(names.fam_b), kz)
    noised = np.zeros(0, np.int64)
    labels: list[list[str]] = []
    shown = np.ones(len(pair), bool)
    written_exact = written_readings = np.zeros(0, np.uint64)
    if noise is not None and noise.filing_share > 0:
        index = NameIndex(np.sort(keys), np.sort(ikeys), pools.norm_vocab, np.sort(readings))
        after = noise_filings(
            filings, np.random.default_rng([seed, chunk_no, 8]), noise,
            _replacements(pools, locale, sex, person), index,
        )  # fmt: skip
        filings, noised, labels = after.table, after.rows, after.labels
        written_exact, written_readings = after.written_exact, after.written_readings
        # A (person, ZIP) whose every return there lost the name to errors is no namesake
        # the filings show (`recorded_name_keys`).
        visible = np.ones(len(row_pair), bool)
        visible[noised[after.hidden]] = False
        shown = np.isin(pair, row_pair[visible])

    namesake = np.zeros(n_people, bool)
    namesake[pa_heads] = True
    namesake[pb_heads] = True
    cluster_person = np.zeros(n_people, bool)
    cluster_person[heads[cluster]] = True
    return Chunk(
        start=start, locale=locale, sex=sex, names=names, hyphen=hyphen, suffix=suffix, dob=dob,
        dob_on_file=dob_on_file, tin=tin, household=household, household_size=sizes, role=role,
        twin=twin, jr_sr=jr_sr, namesake=namesake, cluster=cluster_person, addresses=addresses,
        units=units, filing_person=person, filing_year=year, filing_slot=slot, filed_on=filed_on,
        filings=filings, name_zip_keys=keys, name_reading_keys=readings, initial_zip_keys=ikeys,
        recorded_name_keys=keys[shown],
        noised_name_keys=written_exact,
        noised_reading_keys=written_readings,
        unshown_pairs=numbers[kp[~shown]].astype(np.int64) * nz + kz[~shown],
        noised_filings=len(noised),
        noise_kinds=Counter(label.split(":")[0] for row in labels for label in row),
        tax_years=tax_years,
    )  # fmt: skip


def given_replacement(pools: NamePools, locale: str, sex: int) -> Replacement:
    """Draws another given name of the person's tradition and sex (a name used on one return
    or request but not another)."""
    pool = pools.given[(locale, sex)]
    return lambda rng: pools.vocab[int(pool.draw(rng, 1)[0])]


def _replacements(
    pools: NamePools, locale: np.ndarray, sex: np.ndarray, person: np.ndarray
) -> Callable[[int], Replacement]:
    def for_row(row: int) -> Replacement:
        p = int(person[row])
        return given_replacement(pools, LOCALES[int(locale[p])], int(sex[p]))

    return for_row


def pools_given_redraw(
    pools: NamePools, rng: np.random.Generator, locale: np.ndarray, sex: np.ndarray
) -> np.ndarray:
    out = np.empty(len(locale), np.int32)
    for i, (loc, s) in enumerate(zip(locale, sex, strict=True)):
        out[i] = pools.given[(LOCALES[int(loc)], int(s))].draw(rng, 1)[0]
    return out


def _vocab_take(vocab: pa.Array, ids: np.ndarray) -> pa.Array:
    return vocab.take(pa.array(ids, mask=ids < 0))


def _filings_table(
    pools: NamePools,
    names: Names,
    hyphen: np.ndarray,
    suffix: np.ndarray,
    dob: np.ndarray,
    dob_on_file: np.ndarray,
    tin: pa.Array,
    addresses: AddressArrays,
    units: pa.Array,
    person: np.ndarray,
    year: np.ndarray,
    slot: np.ndarray,
    filed_on: np.ndarray,
    rng: np.random.Generator,
) -> pa.Table:
    vocab = pools.arrow_vocab()
    given = pc.binary_join_element_wise(
        _vocab_take(vocab, names.given_a), _vocab_take(vocab, names.given_b), " ",
        null_handling="skip",
    )  # fmt: skip
    sep = pc.if_else(pa.array(hyphen), "-", " ")
    family = pc.binary_join_element_wise(
        _vocab_take(vocab, names.fam_a), _vocab_take(vocab, names.fam_b), sep,
        null_handling="skip",
    )  # fmt: skip
    middle = _vocab_take(vocab, names.middle)
    suffix_text = pa.array(SUFFIX_TEXT, pa.string()).take(pa.array(suffix.astype(np.int64)))
    dob_col = pa.array(dob, pa.int32(), mask=~dob_on_file).cast(pa.date32())
    p = pa.array(person.astype(np.int64))
    per_address = addresses.take(slot)
    street = render_streets(per_address)
    _zip5, city, state = zip_arrow()
    zip_idx = pa.array(per_address.zip_idx.astype(np.int64))
    plus4 = rng.random(len(slot)) < ZIP4_ON_FILING_SHARE
    columns = {
        "tin": tin.take(p),
        "tax_year": pa.array(year, pa.int64()),
        "filed_on": pa.array(filed_on, pa.int32()).cast(pa.date32()),
        "given_name": given.take(p),
        "middle_name": middle.take(p),
        "family_name": family.take(p),
        "suffix": suffix_text.take(p),
        "date_of_birth": dob_col.take(p),
        "street": street,
        "unit": units.take(pa.array(slot.astype(np.int64))),
        "city": city.take(zip_idx),
        "state": state.take(zip_idx),
        "zip": render_zips(per_address, plus4),
    }
    schema = arrow_schema("filings")
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def chunk_traits(chunk: Chunk, pools: NamePools) -> dict[str, np.ndarray]:
    """Boolean columns the subject builder selects on (see cases.py for who needs which)."""
    vocab = pools.vocab
    nonascii = np.array([not v.isascii() for v in vocab])
    nick = np.array([has_nickname(v) for v in vocab])
    n = chunk.names

    def flag(table: np.ndarray, col: np.ndarray) -> np.ndarray:
        return np.where(col >= 0, table[np.maximum(col, 0)], False)

    last_slot = np.full(len(chunk), -1)
    np.maximum.at(last_slot, chunk.filing_person, chunk.filing_slot)
    has_unit = ~np.asarray(chunk.units.is_null())[last_slot]
    return {
        "any": np.ones(len(chunk), bool),
        "unit": has_unit,
        "moved": chunk.moved(),
        "nickname": flag(nick, n.given_a),
        "two_surnames": n.fam_b >= 0,
        "given_parts": (n.given_b >= 0) | (n.middle >= 0),
        "accents": flag(nonascii, n.given_a)
        | flag(nonascii, n.given_b)
        | flag(nonascii, n.fam_a)
        | flag(nonascii, n.fam_b),
        "twin": chunk.twin,
        "jr_sr_dob": chunk.jr_sr & chunk.dob_on_file,
        "jr_sr": chunk.jr_sr,
        "namesake_dob": chunk.namesake & chunk.dob_on_file,
        "namesake": chunk.namesake,
        "cluster": chunk.cluster,
    }


def draw_absent(
    pools: NamePools, seed: int, n: int, locale_mix: dict[str, float], reference: date
) -> list[PersonRecord]:
    """People who never filed: same naming and addresses, one address each, TINs from the top
    of the counter space (never a filer's). Only a few per request, so built one by one."""
    rng = np.random.default_rng([seed, 0, 2])
    p = np.array([locale_mix[loc] for loc in LOCALES])
    locale = rng.choice(len(LOCALES), size=n, p=p / p.sum()).astype(np.uint8)
    sex = (rng.random(n) < FEMALE_SHARE).astype(np.uint8)
    names = draw_names(pools, rng, locale, sex)
    hyphen = (names.fam_b >= 0) & (rng.random(n) < SPANISH_HYPHENATED_SURNAMES_SHARE)
    age = rng.integers(ADULT_MIN_AGE, 70, n)
    dob = _days(reference) - age * 365.25 - rng.integers(0, 365, n)
    addresses = draw_addresses(rng, draw_zips(rng, n))
    units = render_units(addresses)
    itin = rng.random(n) < np.array([ITIN_SHARE[loc] for loc in LOCALES])[locale]
    top = np.arange(n, dtype=np.int64)
    numbers = np.where(
        itin, itin_numbers(ITIN_SPACE - 1 - top, seed), ssn_numbers(SSN_SPACE - 1 - top, seed)
    )
    tins = as_text(numbers).to_pylist()
    norm = pools.norm_array()
    out = []
    v = pools.vocab
    for i in range(n):
        given = v[names.given_a[i]] + (" " + v[names.given_b[i]] if names.given_b[i] >= 0 else "")
        sep = "-" if hyphen[i] else " "
        second = v[names.fam_b[i]] if names.fam_b[i] >= 0 else None
        family = v[names.fam_a[i]] + (sep + second if second else "")
        key = tuple(
            int(norm[x]) if x >= 0 else -1
            for x in (names.given_a[i], names.given_b[i], names.fam_a[i], names.fam_b[i])
        )
        address = address_at(addresses, i, units[i].as_py())
        out.append(
            PersonRecord(
                locale=LOCALES[int(locale[i])],
                given=given,
                middle=v[names.middle[i]] if names.middle[i] >= 0 else None,
                family=family,
                suffix=None,
                date_of_birth=to_date(int(dob[i])),
                dob_on_file=False,
                tin=tins[i],
                sex=int(sex[i]),
                name_key=key,  # type: ignore[arg-type]
                addresses=[FiledAddress(address, (), reference)],
                present=False,
                surnames=(v[names.fam_a[i]], second),
            )
        )
    return out
