"""US addresses: real city/state/ZIP combinations (offline `zipcodes`), synthetic streets and units.

ZIP codes are the active STANDARD ones (no PO Box, military or single-organisation ZIPs) of the
50 states and DC, each weighted by its state's population shared evenly among the state's ZIPs,
so big states and big cities (which have many ZIPs) are drawn more often. Streets are a house
number, an optional directional, a street name and a suffix; some addresses carry a unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zipcodes

from taxgate.world.proportions import (
    DIRECTIONAL_SHARE,
    SPELLED_OUT_SHARE,
    STATE_POPULATION_MILLIONS,
    UNIT_SHARE,
)

DIRECTIONALS: list[tuple[str, str]] = [
    ("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"),
    ("Northeast", "NE"), ("Northwest", "NW"), ("Southeast", "SE"), ("Southwest", "SW"),
]  # fmt: skip

# (spelled out, USPS abbreviation, share). Shares are an assumption.
SUFFIXES: list[tuple[str, str, float]] = [
    ("Street", "St", 0.27), ("Avenue", "Ave", 0.16), ("Road", "Rd", 0.12),
    ("Drive", "Dr", 0.14), ("Lane", "Ln", 0.07), ("Boulevard", "Blvd", 0.04),
    ("Court", "Ct", 0.06), ("Place", "Pl", 0.04), ("Way", "Way", 0.04),
    ("Circle", "Cir", 0.03), ("Parkway", "Pkwy", 0.02), ("Terrace", "Ter", 0.01),
]  # fmt: skip

STREET_NAMES: list[str] = [
    "Main", "Oak", "Maple", "Park", "Pine", "Washington", "Cedar", "Elm", "Lake", "Hill",
    "Lincoln", "Church", "Walnut", "Sunset", "Ridge", "Jefferson", "Highland", "Mill",
    "Franklin", "Madison", "Jackson", "Willow", "Forest", "River", "Spring", "Meadow",
    "Center", "Market", "Adams", "Union", "Broad", "Cherry", "Birch", "Magnolia", "Dogwood",
    "Hickory", "Chestnut", "Sycamore", "Laurel", "Valley", "Lakeview", "Fairview",
    "Johnson", "Wilson", "Taylor", "Martin", "King", "Grant", "Monroe", "Cleveland",
    "College", "School", "Railroad", "Water", "Bridge", "Prospect", "Pleasant", "Liberty",
    "Rio Grande", "Las Palmas", "San Pedro", "Santa Fe", "El Camino", "Alameda",
    "Sierra Vista", "Del Mar", "Las Flores", "Buena Vista", "Palm", "Ocean", "Bay",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th",
    "14th", "16th", "18th", "21st", "23rd", "27th", "34th", "42nd",
]  # fmt: skip

UNIT_KINDS: list[tuple[str, float]] = [("Apt", 0.65), ("Unit", 0.25), ("#", 0.10)]
UNIT_LETTER_SHARE = 0.3  # Assumption: units written with a letter ("4B").
UNIT_LETTERS = list("ABCDEFGH")
HOUSE_NUMBER_LOG10 = (0.5, 4.3)  # house numbers spread evenly in log scale: 3 to ~20000


@dataclass(frozen=True)
class ZipTable:
    """Every ZIP code the world may use, with its city, state and draw probability."""

    zip5: list[str]
    city: list[str]
    state: list[str]
    probabilities: np.ndarray

    def __len__(self) -> int:
        return len(self.zip5)


@lru_cache(maxsize=1)
def zip_table() -> ZipTable:
    rows = sorted(
        (z["zip_code"], z["city"], z["state"])
        for z in zipcodes.list_all()
        if z["zip_code_type"] == "STANDARD"
        and z["active"]
        and z["state"] in STATE_POPULATION_MILLIONS
    )
    per_state: dict[str, int] = {}
    for _, _, state in rows:
        per_state[state] = per_state.get(state, 0) + 1
    weights = np.array([STATE_POPULATION_MILLIONS[s] / per_state[s] for _, _, s in rows])
    return ZipTable(
        zip5=[r[0] for r in rows],
        city=[r[1] for r in rows],
        state=[r[2] for r in rows],
        probabilities=weights / weights.sum(),
    )


@lru_cache(maxsize=1)
def zip_arrow() -> tuple[pa.Array, pa.Array, pa.Array]:
    """ZIP5, city and state of every ZIP code as Arrow arrays, for vectorised takes."""
    table = zip_table()
    return pa.array(table.zip5), pa.array(table.city), pa.array(table.state)


@dataclass
class AddressArrays:
    """n addresses as parallel numpy columns (-1 means absent)."""

    zip_idx: np.ndarray
    number: np.ndarray
    directional: np.ndarray
    street_name: np.ndarray
    suffix: np.ndarray
    unit_kind: np.ndarray
    unit_number: np.ndarray
    unit_letter: np.ndarray
    zip4: np.ndarray
    spelled: np.ndarray

    def take(self, idx: np.ndarray) -> AddressArrays:
        return AddressArrays(**{k: v[idx] for k, v in self.__dict__.items()})


def draw_addresses(rng: np.random.Generator, zip_idx: np.ndarray) -> AddressArrays:
    """Random street addresses in the given ZIP codes (one per entry)."""
    n = len(zip_idx)
    suffix_p = np.array([s[2] for s in SUFFIXES])
    name_p = 1.0 / np.arange(1, len(STREET_NAMES) + 1) ** 0.5
    has_unit = rng.random(n) < UNIT_SHARE
    kind_p = np.array([k[1] for k in UNIT_KINDS])
    return AddressArrays(
        zip_idx=zip_idx.astype(np.int32),
        number=(10 ** rng.uniform(*HOUSE_NUMBER_LOG10, n)).astype(np.int32),
        directional=np.where(
            rng.random(n) < DIRECTIONAL_SHARE, rng.integers(0, len(DIRECTIONALS), n), -1
        ).astype(np.int8),
        street_name=rng.choice(len(STREET_NAMES), n, p=name_p / name_p.sum()).astype(np.int16),
        suffix=rng.choice(len(SUFFIXES), n, p=suffix_p / suffix_p.sum()).astype(np.int8),
        unit_kind=np.where(has_unit, rng.choice(len(UNIT_KINDS), n, p=kind_p), -1).astype(np.int8),
        unit_number=rng.integers(1, 400, n).astype(np.int16),
        unit_letter=np.where(
            rng.random(n) < UNIT_LETTER_SHARE, rng.integers(0, len(UNIT_LETTERS), n), -1
        ).astype(np.int8),
        zip4=rng.integers(1, 10000, n).astype(np.int16),
        spelled=rng.random(n) < SPELLED_OUT_SHARE,
    )


def draw_zips(rng: np.random.Generator, n: int) -> np.ndarray:
    table = zip_table()
    return rng.choice(len(table), size=n, p=table.probabilities).astype(np.int32)


def _take(values: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(idx, mask=idx < 0))


def render_streets(a: AddressArrays) -> pa.Array:
    """Street lines ("123 N Main St", or spelled out where the filer wrote it so)."""
    spelled = pa.array(a.spelled)
    dir_idx = a.directional.astype(np.int64)
    suf_idx = a.suffix.astype(np.int64)
    directional = pc.if_else(
        spelled,
        _take([d[0] for d in DIRECTIONALS], dir_idx),
        _take([d[1] for d in DIRECTIONALS], dir_idx),
    )
    suffix = pc.if_else(
        spelled,
        _take([s[0] for s in SUFFIXES], suf_idx),
        _take([s[1] for s in SUFFIXES], suf_idx),
    )
    number = pc.cast(pa.array(a.number), pa.string())
    name = _take(STREET_NAMES, a.street_name.astype(np.int64))
    return pc.binary_join_element_wise(number, directional, name, suffix, " ", null_handling="skip")


def render_units(a: AddressArrays) -> pa.Array:
    """Unit lines ("Apt 4B", "Unit 12", "# 7"); null where the address has none."""
    kind = _take([k[0] for k in UNIT_KINDS], a.unit_kind.astype(np.int64))
    letter = _take(UNIT_LETTERS, a.unit_letter.astype(np.int64))
    number = pc.binary_join_element_wise(
        pc.cast(pa.array(a.unit_number), pa.string()), letter, "", null_handling="skip"
    )
    return pc.binary_join_element_wise(kind, number, " ")


def render_zips(a: AddressArrays, with_plus4: np.ndarray) -> pa.Array:
    """ZIP5, or ZIP+4 as nine digits where `with_plus4`, as filings carry them."""
    zip5 = zip_arrow()[0].take(pa.array(a.zip_idx))
    plus4 = pc.utf8_lpad(pc.cast(pa.array(a.zip4), pa.string()), 4, "0")
    return pc.if_else(pa.array(with_plus4), pc.binary_join_element_wise(zip5, plus4, ""), zip5)


@dataclass(frozen=True)
class Address:
    """One address as components, so a request can write it differently from the filing."""

    number: int
    directional: int
    street_name: int
    suffix: int
    unit: str | None
    zip_idx: int
    zip4: int
    spelled: bool

    @property
    def city(self) -> str:
        return zip_table().city[self.zip_idx]

    @property
    def state(self) -> str:
        return zip_table().state[self.zip_idx]

    @property
    def zip5(self) -> str:
        return zip_table().zip5[self.zip_idx]

    @property
    def zip_plus4(self) -> str:
        return f"{self.zip5}-{self.zip4:04d}"

    def street(self, spelled: bool | None = None) -> str:
        spelled = self.spelled if spelled is None else spelled
        parts = [str(self.number)]
        if self.directional >= 0:
            parts.append(DIRECTIONALS[self.directional][0 if spelled else 1])
        parts.append(STREET_NAMES[self.street_name])
        parts.append(SUFFIXES[self.suffix][0 if spelled else 1])
        return " ".join(parts)

    def key(self) -> tuple[int, int, int, int, str | None, int]:
        """What makes two addresses the same place, however written."""
        return (self.number, self.directional, self.street_name, self.suffix, self.unit,
                self.zip_idx)  # fmt: skip

    def moved_to(self, rng: np.random.Generator) -> Address:
        """Another street address in the same ZIP code (a place this person never filed from)."""
        return replace(
            self,
            number=int(10 ** rng.uniform(*HOUSE_NUMBER_LOG10)),
            street_name=int(rng.integers(len(STREET_NAMES))),
            unit=None,
        )


def address_at(a: AddressArrays, i: int, unit: str | None) -> Address:
    return Address(
        number=int(a.number[i]),
        directional=int(a.directional[i]),
        street_name=int(a.street_name[i]),
        suffix=int(a.suffix[i]),
        unit=unit,
        zip_idx=int(a.zip_idx[i]),
        zip4=int(a.zip4[i]),
        spelled=bool(a.spelled[i]),
    )
