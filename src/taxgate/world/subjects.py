"""The request batch and its ground truth: who is asked about, how the request reads, what the
right answer is.

Filers are chosen per chunk while the population streams past (each chunk gets its share of
every case's quota, fixed before streaming), so only the chosen few are ever held in memory.
The expected outcome of every valid request about a filer is then computed honestly from the
whole world: CONFIRMED only if the address sent is one the filer filed from, and no other filer
with the same normalised given and family name filed from that ZIP code, unless the request
carries a birth date that is on file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome, join_codes
from taxgate.world import distort
from taxgate.world.cases import ABSENT, BY_NAME, CASES, FALLBACK, INVALID, PRESENT, case_counts
from taxgate.world.names import LOCALES, NamePools
from taxgate.world.noise import ATTEMPTS, Fields, NameIndex, NoiseSettings, noisy_fields
from taxgate.world.people import PersonRecord, name_zip_key_one
from taxgate.world.places import Address, zip_table
from taxgate.world.population import given_replacement
from taxgate.world.proportions import (
    ORDER_AGE_DAYS,
    SUBJECT_DOB_SUPPLIED_SHARE,
    SUBJECT_SELECTION_WEIGHT,
    SUBJECT_TIN_SUPPLIED_SHARE,
)

SUBJECT_COLUMNS = (
    "subject_id", "given_name", "middle_name", "family_name", "date_of_birth", "tin", "street",
    "unit", "city", "state", "zip", "removal_order_date", "removal_order_case",
    "investigation_id", "taxable_periods", "relevance",
)  # fmt: skip
RELEVANCE = (  # under the 200 characters the agreement allows a field
    "Address needed to locate the subject in criminal investigation {inv} (8 U.S.C. "
    "1253(a)(1)): not departed 90 days after final order of removal {case} of {date}."
)
# Rarest traits first, so common ones do not use up the people the rare ones need.
TRAIT_ORDER = (
    "namesake_dob", "namesake", "jr_sr_dob", "jr_sr", "twin", "cluster", "unit", "moved",
    "two_surnames", "given_parts", "accents", "nickname", "any",
)  # fmt: skip
NO_DOB_NO_TIN = {"relative_same_name_no_dob", "namesake_same_zip_no_dob"}
DOB_NO_TIN = {"relative_same_name_with_dob", "namesake_same_zip_with_dob"}
MAX_ORDER_FUTURE_DAYS = 365


@dataclass
class Item:
    """One request row to produce, before it is written."""

    case: str
    filer: PersonRecord | None = None  # the filer it is about (or whose TIN/name it borrows)
    stranger: PersonRecord | None = None  # the person who never filed, for absent requests
    needs_filer: str = ""  # trait the filer must have; "" if none


@dataclass
class SubjectPlan:
    """What every chunk must contribute, decided before any chunk exists."""

    items: list[Item]
    pending: dict[str, list[int]]  # trait -> indices of items still waiting for a filer
    quotas: list[dict[str, int]]  # per chunk: trait -> how many to pick there
    carry: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fallbacks: int = 0

    def strangers_needed(self) -> int:
        return sum(
            1 for it in self.items if it.needs_filer == "" or BY_NAME[it.case].group == ABSENT
        )


def plan_subjects(
    subjects: int, present_fraction: float, chunk_sizes: list[int], seed: int
) -> SubjectPlan:
    rng = np.random.default_rng([seed, 0, 3])
    counts = case_counts(subjects, present_fraction)
    items: list[Item] = []
    for case in CASES:
        for _ in range(counts[case.name]):
            if case.group == INVALID:
                about_filer = (
                    case.name == "placeholder_address_right_tin" or rng.random() < present_fraction
                )
                items.append(Item(case.name, needs_filer="any" if about_filer else ""))
            else:
                items.append(Item(case.name, needs_filer=case.needs))
    pending: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        if it.needs_filer:
            pending[it.needs_filer].append(i)
    total = sum(chunk_sizes)
    quotas: list[dict[str, int]] = [dict() for _ in chunk_sizes]
    for trait, idx in pending.items():
        split = _allocate(len(idx), chunk_sizes, total)
        for q, k in zip(quotas, split, strict=True):
            q[trait] = k
    return SubjectPlan(items, dict(pending), quotas)


def _allocate(n: int, sizes: list[int], total: int) -> list[int]:
    raw = [n * s / total for s in sizes]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: n - sum(out)]:
        out[i] += 1
    return out


def _pick(
    rng: np.random.Generator, candidates: np.ndarray, weights: np.ndarray, k: int
) -> np.ndarray:
    """k of the candidates without replacement, weighted (exponential-race method, O(n))."""
    if k <= 0 or len(candidates) == 0:
        return candidates[:0]
    race = rng.exponential(size=len(candidates)) / weights
    return np.sort(candidates[np.argpartition(race, k - 1)[:k]]) if k < len(race) else candidates


def select_in_chunk(
    plan: SubjectPlan,
    chunk_no: int,
    traits: dict[str, np.ndarray],
    locale: np.ndarray,
    record: Callable[[int], PersonRecord],
    seed: int,
    last: bool,
) -> None:
    """Pick this chunk's share of filers for every trait; fill the waiting items' filers.

    `record(i)` turns local person i into a PersonRecord. A shortfall is carried to the next
    chunk; in the last chunk, what is still short falls back to the group's plain case.
    """
    rng = np.random.default_rng([seed, chunk_no, 4])
    weight_of = np.array([SUBJECT_SELECTION_WEIGHT[loc] for loc in LOCALES])[locale]
    used = np.zeros(len(locale), bool)
    quota = plan.quotas[chunk_no]
    for trait in TRAIT_ORDER:
        waiting = plan.pending.get(trait)
        if not waiting:
            continue
        want = quota.get(trait, 0) + plan.carry[trait]
        if last:
            want = len(waiting)
        candidates = np.nonzero(traits[trait] & ~used)[0]
        chosen = _pick(rng, candidates, weight_of[candidates], min(want, len(candidates)))
        used[chosen] = True
        for i in chosen:
            plan.items[waiting.pop(0)].filer = record(int(i))
        plan.carry[trait] = want - len(chosen)
    if last:
        _fall_back(plan, used, weight_of, rng, record)


def _fall_back(
    plan: SubjectPlan,
    used: np.ndarray,
    weight_of: np.ndarray,
    rng: np.random.Generator,
    record: Callable[[int], PersonRecord],
) -> None:
    short = [i for trait in TRAIT_ORDER for i in plan.pending.get(trait, [])]
    if not short:
        return
    candidates = np.nonzero(~used)[0]
    chosen = _pick(rng, candidates, weight_of[candidates], min(len(short), len(candidates)))
    if len(chosen) < len(short):
        raise TaxgateError(
            f"the world has too few filers for {len(short)} of the requests planned",
            "Ask for fewer --subjects, a lower --present-fraction, or more --people.",
        )
    for item_no, i in zip(short, chosen, strict=True):
        item = plan.items[item_no]
        group = BY_NAME[item.case].group
        if group == PRESENT and item.needs_filer != "any":
            item.case = FALLBACK[group]
            plan.fallbacks += 1
        item.filer = record(int(i))
    for trait in plan.pending:
        plan.pending[trait] = []


# ---------------------------------------------------------------- rows


@dataclass
class Context:
    batch_date: date
    tax_years: tuple[int, ...]
    rng: np.random.Generator


def _order_fields(ctx: Context, age_days: int | None = None) -> dict[str, str]:
    rng = ctx.rng
    days = (
        int(rng.integers(ORDER_AGE_DAYS[0], ORDER_AGE_DAYS[1] + 1))
        if age_days is None
        else age_days
    )
    order_date = ctx.batch_date - timedelta(days=days)
    a_number = f"A{rng.integers(100, 1000)}-{rng.integers(0, 1000):03d}-{rng.integers(0, 1000):03d}"
    inv = f"INV-{ctx.batch_date.year}-{rng.integers(0, 1_000_000):06d}"
    k = int(rng.integers(1, len(ctx.tax_years) + 1))
    periods = ";".join(str(y) for y in ctx.tax_years[-k:])
    return {
        "removal_order_date": order_date.isoformat(),
        "removal_order_case": a_number,
        "investigation_id": inv,
        "taxable_periods": periods,
        "relevance": RELEVANCE.format(inv=inv, case=a_number, date=order_date.isoformat()),
    }


def _base_row(
    person: PersonRecord, address: Address, ctx: Context, *, dob: bool, tin: bool
) -> distort.Row:
    row: distort.Row = {
        "subject_id": None,
        "given_name": person.given,
        "middle_name": person.middle,
        "family_name": person.family,
        "date_of_birth": person.date_of_birth.isoformat() if dob else None,
        "tin": person.tin if tin else None,
    }
    row = distort.with_address(row, address)
    row.update(_order_fields(ctx))
    return row


@dataclass
class Built:
    """One request row with what is needed to judge it."""

    row: distort.Row
    case: str
    truth_tin: str | None
    outcome: Outcome
    codes: str | None
    filer: PersonRecord | None = None
    address: Address | None = None  # the true address the request describes (filers only)
    dob_supplied: bool = False
    pair: int = -1  # duplicate_subject_id: both rows share this number
    named: PersonRecord | None = None  # whose name the row carries (for a replaced given name)
    noise: list[str] = field(default_factory=list)  # the keying errors added to the row


def _supply(ctx: Context, share: float) -> bool:
    return bool(ctx.rng.random() < share)


def build_row(item: Item, ctx: Context, k: int) -> Built:
    """The request row for one item, with its nominal expected outcome (k: index in its case)."""
    case = BY_NAME[item.case]
    rng = ctx.rng
    dob = _supply(ctx, SUBJECT_DOB_SUPPLIED_SHARE)
    tin = _supply(ctx, SUBJECT_TIN_SUPPLIED_SHARE)
    if case.group == ABSENT:
        return _absent_row(item, ctx, dob, tin)
    person = item.filer or item.stranger
    assert person is not None
    if case.name in NO_DOB_NO_TIN:
        dob, tin = False, False
    elif case.name in DOB_NO_TIN:
        dob, tin = True, False
    elif case.name in ("tin_right_address_never_filed", "placeholder_address_right_tin"):
        tin = True
    address = person.last_known
    if case.name == "stale_address":
        address = person.addresses[int(rng.integers(len(person.addresses) - 1))].address
    if case.name == "tin_right_address_never_filed":
        filed = {f.address.key() for f in person.addresses}
        address = person.last_known.moved_to(rng)
        while address.key() in filed:
            address = person.last_known.moved_to(rng)
    row = _base_row(person, address, ctx, dob=dob, tin=tin)
    row = _apply(case.name, row, person, address, ctx, k)
    truth = person.tin if person.present else None
    outcome = case.outcome
    return Built(
        row, case.name, truth, outcome, join_codes(list(case.codes)) or None,
        filer=person if person.present else None, address=address, dob_supplied=dob,
        named=person,
    )  # fmt: skip


def _absent_row(item: Item, ctx: Context, dob: bool, tin: bool) -> Built:
    stranger = item.stranger
    assert stranger is not None
    rng = ctx.rng
    address = stranger.last_known
    row = _base_row(stranger, address, ctx, dob=dob, tin=tin)
    named = stranger
    if item.case == "tin_of_someone_else":
        assert item.filer is not None
        row["tin"] = item.filer.tin
    elif item.case == "absent_namesake":
        assert item.filer is not None
        template = item.filer
        named = template
        near = template.last_known.moved_to(rng)
        filed = {f.address.key() for f in template.addresses}
        while near.key() in filed:
            near = template.last_known.moved_to(rng)
        row.update(given_name=template.given, middle_name=None, family_name=template.family)
        row = distort.with_address(row, near)
    return Built(row, item.case, None, Outcome.NOT_CONFIRMED, None, named=named)


def _apply(
    name: str, row: distort.Row, person: PersonRecord, address: Address, ctx: Context, k: int
) -> distort.Row:
    rng = ctx.rng
    d = distort
    simple = {
        "name_typo": lambda: d.name_typo(row, rng),
        "name_transposition": lambda: d.name_transposition(row, rng),
        "accents_dropped": lambda: d.accents_dropped(row, rng),
        "second_surname_dropped": lambda: d.second_surname_dropped(row, person),
        "surnames_moved": lambda: d.surnames_moved(row, person, rng),
        "given_names_swapped": lambda: d.given_names_swapped(row, rng),
        "nickname": lambda: d.nickname(row, person),
        "name_order_reversed": lambda: d.name_order_reversed(row),
        "unformatted": lambda: d.unformatted(row, rng),
        "street_format": lambda: d.street_format(row, address),
        "unit_dropped": lambda: d.unit_dropped(row),
        "zip_plus4": lambda: d.zip_plus4(row, address),
        "order_boundary_day_90": lambda: d.order_days_before(row, ctx.batch_date, 90),
        # one defect each
        "placeholder_address": lambda: d.placeholder(row, rng),
        "placeholder_address_right_tin": lambda: d.placeholder(row, rng, "Failed to Provide"),
        "zip_only": lambda: d.zip_only(row),
        "city_only": lambda: d.city_only(row),
        "name_incomplete": lambda: d.name_incomplete(row, rng),
        "order_too_recent": lambda: d.order_days_before(
            row, ctx.batch_date, (0, 89)[k] if k < 2 else int(rng.integers(0, 90))
        ),
        "order_date_future": lambda: d.order_days_before(
            row, ctx.batch_date, -int(rng.integers(1, MAX_ORDER_FUTURE_DAYS + 1))
        ),
        "order_date_malformed": lambda: d.order_malformed(row, rng),
        "investigation_missing": lambda: d.emptied(row, "investigation_id"),
        "taxable_periods_missing": lambda: d.emptied(row, "taxable_periods"),
        "relevance_missing": lambda: d.emptied(row, "relevance"),
        "tin_invalid": lambda: d.tin_invalid(row, k, rng),
        "dob_malformed": lambda: d.dob_malformed(row, rng),
    }
    return simple[name]() if name in simple else row


# ---------------------------------------------------------------- honesty


@dataclass(frozen=True)
class ShownNamesakes:
    """The namesakes the filings show: keys of (normalised name, ZIP) of every (person, ZIP)
    filed from, except those whose every return there the filing noise made read as another
    name or ZIP (`noise.hides_name`), and those pairs (tin * ZIPs + ZIP index). A namesake
    no return shows cannot be known by any reader of the filings: the truth must not hold a
    disclosure wrongful for it (bench/README.md, round six)."""

    keys: np.ndarray  # sorted uint64
    unshown: np.ndarray  # sorted int64

    def _has(self, array: np.ndarray, key: object) -> int:
        k = np.asarray([key], array.dtype)
        return int(np.searchsorted(array, k, "right")[0] - np.searchsorted(array, k)[0])

    def others(self, person: PersonRecord, zip_idx: int) -> int:
        """How many other filers the filings show under the person's name in this ZIP."""
        count = self._has(self.keys, name_zip_key_one(*person.name_key, zip_idx))
        files_there = any(f.address.zip_idx == zip_idx for f in person.addresses)
        shown = files_there and not (
            person.tin is not None
            and self._has(self.unshown, int(person.tin) * len(zip_table()) + zip_idx)
        )
        return count - int(shown)


def honest_outcome(built: Built, namesakes: ShownNamesakes) -> Outcome:
    """CONFIRMED only for an address the filer filed from, without an unresolved namesake
    the filings show."""
    if BY_NAME[built.case].group == INVALID or built.filer is None or built.address is None:
        return built.outcome
    person = built.filer
    filed = {f.address.key() for f in person.addresses}
    if built.address.key() not in filed:
        return Outcome.NOT_CONFIRMED
    others = namesakes.others(person, built.address.zip_idx)
    if others and not (built.dob_supplied and person.dob_on_file):
        return Outcome.NOT_CONFIRMED
    return Outcome.CONFIRMED


# ---------------------------------------------------------------- the batch


def build_rows(
    plan: SubjectPlan,
    strangers: list[PersonRecord],
    namesakes: ShownNamesakes,
    batch_date: date,
    tax_years: tuple[int, ...],
    seed: int,
    noise: RequestNoise | None = None,
) -> list[Built]:
    """Every request row, shuffled, with ids, honest outcomes and duplicate pairs; with
    `noise`, a share of the valid rows carry keying errors (outcomes are decided on identity
    and clean names first, so the truth is the same with or without noise)."""
    ctx = Context(batch_date, tax_years, np.random.default_rng([seed, 0, 5]))
    pool = iter(strangers)
    seen: dict[str, int] = defaultdict(int)
    built: list[Built] = []
    for item in plan.items:
        if item.filer is None or BY_NAME[item.case].group == ABSENT:
            item.stranger = next(pool)
        k = seen[item.case]
        seen[item.case] += 1
        b = build_row(item, ctx, k)
        b.outcome = honest_outcome(b, namesakes)
        if item.case == "duplicate_subject_id":
            b.pair = k // 2
        built.append(b)
    if noise is not None and noise.settings.request_share > 0:
        add_request_noise(built, noise, np.random.default_rng([seed, 0, 9]), batch_date)
    order = ctx.rng.permutation(len(built))
    built = [built[i] for i in order]
    width = max(6, len(str(len(built))))
    first_of_pair: dict[int, str] = {}
    for n, b in enumerate(built, start=1):
        sid = f"S-{n:0{width}d}"
        if b.pair >= 0:
            sid = first_of_pair.setdefault(b.pair, sid)
        b.row["subject_id"] = sid
    return built


@dataclass
class RequestNoise:
    """What request noise needs: how much, who a name could be taken for, the name pools."""

    settings: NoiseSettings
    index: NameIndex
    pools: NamePools


def _request_fields(row: distort.Row) -> Fields:
    return {k: row[k] for k in ("given_name", "family_name", "street", "city", "state", "zip")}


def add_request_noise(
    built: list[Built], noise: RequestNoise, rng: np.random.Generator, batch_date: date
) -> None:
    """Keying errors on a share of the valid rows (never an invalid one: its single defect is
    the point). An error that would make the row read as another filer, or that the gate would
    refuse, is drawn again, then dropped: a valid request stays valid."""
    from taxgate.formats.tables import arrow_schema
    from taxgate.gate.run import check_subjects
    from taxgate.policy.model import load_policy

    valid = [b for b in built if BY_NAME[b.case].group != INVALID]
    waiting = [b for b in valid if rng.random() < noise.settings.request_share]
    policy = load_policy()
    for _ in range(ATTEMPTS):
        tried: list[tuple[Built, distort.Row, list[str]]] = []
        for b in waiting:
            named = b.named
            assert named is not None
            replacement = given_replacement(noise.pools, named.locale, named.sex)
            fields = _request_fields(b.row)
            got = noisy_fields(fields, rng, noise.settings, replacement, noise.index)
            if got is not None:
                tried.append((b, {**b.row, **got[0]}, got[1]))
        if not tried:
            return
        rows = [{**row, "subject_id": f"N-{i}"} for i, (_, row, _) in enumerate(tried)]
        table = pa.Table.from_pylist(rows, schema=arrow_schema("subjects"))
        verdicts, _ = check_subjects(table, policy, batch_date)
        proceed = verdicts.column("proceed").to_pylist()
        waiting = []
        for (b, row, labels), ok in zip(tried, proceed, strict=True):
            if ok:
                b.row, b.noise = row, labels
            else:
                waiting.append(b)
        if not waiting:
            return


def truth_row(b: Built) -> dict[str, str | None]:
    return {
        "subject_id": b.row["subject_id"],
        "tin": b.truth_tin,
        "case": b.case,
        "expected_outcome": str(b.outcome),
        "expected_reason_codes": b.codes,
    }
