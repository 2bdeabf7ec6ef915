"""build_world: stream the population to Parquet, then write the signed batch, keys and truth."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome
from taxgate.formats.keys import new_key, write_key_pair
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import arrow_schema, write_table
from taxgate.world.names import build_pools
from taxgate.world.noise import NameIndex, NoiseLevel, NoiseSettings
from taxgate.world.places import draw_zips
from taxgate.world.population import (
    FIRST_FILING_DAY,
    LAST_FILING_DAY,
    TinCounters,
    chunk_traits,
    draw_absent,
    make_chunk,
)
from taxgate.world.proportions import ABSENT_LOCALE_MIX, CLUSTER_ZIP_COUNT
from taxgate.world.subjects import (
    RequestNoise,
    ShownNamesakes,
    build_rows,
    plan_subjects,
    select_in_chunk,
    truth_row,
)

REQUESTING_AGENCY = "Requesting Agency"
REQUESTING_SIGNER = ("Alex Example", "Director")  # synthetic official; title per agreement.toml
DISCLOSING_AGENCY = "Disclosing Agency"
DISCLOSING_SIGNER = ("Robin Example", "Disclosure Officer")
STATUTE = "8 U.S.C. 1253(a)(1)"
ATTESTATION = (
    "The information disclosed will be used only by officers and employees personally and "
    "directly engaged in, and solely for their use in, the criminal investigation named for "
    "each subject, and will be safeguarded as 26 U.S.C. 6103(p)(4) requires."
)
DEFAULT_TAX_YEARS = (2022, 2023, 2024)
DEFAULT_CHUNK_SIZE = 200_000
BATCH_MONTH_DAY = (11, 1)  # default batch date: 1 November after the last filing season


class WorldConfig(BaseModel):
    """What to generate. Same config (seed included) gives byte-identical files."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: int = Field(gt=0, description="Filers in the world.")
    subjects: int = Field(ge=1, description="Rows in the request batch.")
    present_fraction: float = Field(
        ge=0.0, le=1.0, description="Share of valid requests that are about a filer."
    )
    seed: int = Field(ge=0)
    batch_date: date | None = Field(None, description="Default: 1 Nov after the last season.")
    tax_years: tuple[int, ...] = DEFAULT_TAX_YEARS
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, ge=100, description="People per Parquet row group.")
    noise: NoiseLevel = Field(
        "default",
        description="Keying errors in filings and requests ('none': both sides clean, as before).",
    )

    @model_validator(mode="after")
    def _check(self) -> WorldConfig:
        years = self.tax_years
        if not years or list(years) != list(range(years[0], years[0] + len(years))):
            raise ValueError("tax_years must be consecutive years in increasing order")
        last_filing = date(years[-1] + 1, *LAST_FILING_DAY)
        if self.batch_date is not None and self.batch_date <= last_filing:
            raise ValueError(
                f"batch_date must come after the last filing season (after {last_filing})"
            )
        if self.subjects > self.people:
            raise ValueError("subjects may not exceed people: the world would run out of filers")
        return self

    @property
    def batch(self) -> date:
        return self.batch_date or date(self.tax_years[-1] + 1, *BATCH_MONTH_DAY)


class WorldPaths(BaseModel):
    filings: Path
    manifest: Path
    subjects: Path
    truth: Path
    keys: Path
    parameters: Path


class WorldSummary(BaseModel):
    """What was written: counts by case and expected outcome, and where."""

    people: int
    filings: int
    subjects: int
    by_case: dict[str, dict[str, int]]
    by_outcome: dict[str, int]
    fallbacks: int = Field(description="Trait cases turned into plain ones for lack of filers.")
    noise: dict[str, Any] = Field(description="Noise settings, and the rows that carry errors.")
    requesting_key_id: str
    disclosing_key_id: str
    paths: WorldPaths


def chunk_sizes(people: int, chunk_size: int) -> list[int]:
    full, rest = divmod(people, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def _as_requests_see(
    index: NameIndex, names: list[np.ndarray], readings: list[np.ndarray]
) -> NameIndex:
    """The requests' guard: every filer's clean name and every name a mistyped return shows
    (a housemate's return filed under "MARIA" makes "MARIA" hers to a reader: seed 67), read
    near as well as exact (`NameIndex.near`)."""
    return replace(
        index,
        exact=_sorted([index.exact, *names], np.uint64),
        readings=_sorted([index.readings, *readings], np.uint64),
        near=True,
    )


def _sorted(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype)


def _seed_bytes(seed: int, role: str) -> bytes:
    return hashlib.sha256(f"taxgate-world:{seed}:{role}".encode()).digest()


def build_world(
    config: WorldConfig, out: Path, progress: Callable[[int, int], None] | None = None
) -> WorldSummary:
    """Generate the world into `out`; `progress(done, total)` is called as people are made."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = WorldPaths(
        filings=out / "filings.parquet",
        manifest=out / "batch" / "manifest.json",
        subjects=out / "batch" / "subjects.csv",
        truth=out / "truth.csv",
        keys=out / "keys",
        parameters=out / "world.json",
    )
    noise = NoiseSettings.of(config.noise)
    seed = config.seed
    batch_date = config.batch
    pools = build_pools(seed)
    cluster_zips = draw_zips(np.random.default_rng([seed, 0, 6]), CLUSTER_ZIP_COUNT)
    sizes = chunk_sizes(config.people, config.chunk_size)
    plan = plan_subjects(config.subjects, config.present_fraction, sizes, seed)
    tins = TinCounters()
    keys: list[np.ndarray] = []
    initials: list[np.ndarray] = []
    readings: list[np.ndarray] = []
    recorded: list[np.ndarray] = []
    noised_names: list[np.ndarray] = []
    noised_readings: list[np.ndarray] = []
    unshown: list[np.ndarray] = []
    filings = 0
    noised_filings = 0
    filing_kinds: Counter[str] = Counter()
    start = 0
    reference = date(config.tax_years[-1] + 1, *FIRST_FILING_DAY)
    with pq.ParquetWriter(paths.filings, arrow_schema("filings"), compression="zstd") as writer:
        for chunk_no, n in enumerate(sizes):
            chunk = make_chunk(
                pools,
                seed,
                chunk_no,
                start,
                n,
                config.tax_years,
                reference,
                cluster_zips,
                tins,
                noise,
            )
            writer.write_table(chunk.filings)
            filings += chunk.filings.num_rows
            noised_filings += chunk.noised_filings
            filing_kinds.update(chunk.noise_kinds)
            keys.append(chunk.name_zip_keys)
            initials.append(chunk.initial_zip_keys)
            readings.append(chunk.name_reading_keys)
            recorded.append(chunk.recorded_name_keys)
            unshown.append(chunk.unshown_pairs)
            noised_names.append(chunk.noised_name_keys)
            noised_readings.append(chunk.noised_reading_keys)
            select_in_chunk(
                plan,
                chunk_no,
                chunk_traits(chunk, pools),
                chunk.locale,
                lambda i, c=chunk: c.record(pools, i),
                seed,
                last=chunk_no == len(sizes) - 1,
            )
            start += n
            del chunk
            if progress:
                progress(start, config.people)
    sorted_keys = np.sort(np.concatenate(keys)) if keys else np.zeros(0, np.uint64)
    del keys
    sorted_initials = np.sort(np.concatenate(initials)) if initials else np.zeros(0, np.uint64)
    del initials
    strangers = draw_absent(pools, seed, plan.strangers_needed(), ABSENT_LOCALE_MIX, reference)
    sorted_readings = np.sort(np.concatenate(readings)) if readings else np.zeros(0, np.uint64)
    del readings
    index = NameIndex(sorted_keys, sorted_initials, pools.norm_vocab, sorted_readings)
    shown = ShownNamesakes(_sorted(recorded, np.uint64), _sorted(unshown, np.int64))
    del recorded, unshown
    built = build_rows(
        plan, strangers, shown, batch_date, config.tax_years, seed,
        RequestNoise(noise, _as_requests_see(index, noised_names, noised_readings), pools),
    )  # fmt: skip

    subjects_table = pa.Table.from_pylist([b.row for b in built], schema=arrow_schema("subjects"))
    write_table(subjects_table, paths.subjects, "subjects")
    truth = pa.Table.from_pylist([truth_row(b) for b in built], schema=arrow_schema("truth"))
    write_table(truth, paths.truth, "truth")

    req_key, req_record = new_key(
        REQUESTING_AGENCY, *REQUESTING_SIGNER, created_on=batch_date,
        seed=_seed_bytes(seed, "requesting"),
    )  # fmt: skip
    dis_key, dis_record = new_key(
        DISCLOSING_AGENCY, *DISCLOSING_SIGNER, created_on=batch_date,
        seed=_seed_bytes(seed, "disclosing"),
    )  # fmt: skip
    write_key_pair(req_key, req_record, paths.keys)
    write_key_pair(dis_key, dis_record, paths.keys)
    manifest = request_manifest(f"REQ-{batch_date:%Y%m%d}-{seed}", batch_date, paths.subjects.name)
    signed = sign_manifest(manifest, paths.manifest, req_key, req_record)
    signed.save(paths.manifest)

    noise_record: dict[str, Any] = {
        **noise.as_dict(),
        "noised_filings": noised_filings,
        "noised_requests": sum(bool(b.noise) for b in built),
        "filing_errors": dict(sorted(filing_kinds.items())),
        "request_errors": dict(
            sorted(Counter(label.split(":")[0] for b in built for label in b.noise).items())
        ),
    }
    parameters = {"config": config.model_dump(mode="json"), "noise": noise_record}
    paths.parameters.write_text(json.dumps(parameters, indent=2, sort_keys=True) + "\n")

    by_case: dict[str, dict[str, int]] = {}
    by_outcome: dict[str, int] = {str(o): 0 for o in Outcome}
    for b in built:
        cell = by_case.setdefault(b.case, {})
        cell[str(b.outcome)] = cell.get(str(b.outcome), 0) + 1
        by_outcome[str(b.outcome)] += 1
    return WorldSummary(
        people=config.people,
        filings=filings,
        subjects=len(built),
        by_case=dict(sorted(by_case.items())),
        by_outcome=by_outcome,
        fallbacks=plan.fallbacks,
        noise=noise_record,
        requesting_key_id=req_record.key_id,
        disclosing_key_id=dis_record.key_id,
        paths=paths,
    )


def request_manifest(batch_id: str, batch_date: date, subjects_file: str) -> RequestManifest:
    """The unsigned manifest of a synthetic batch: the requesting agency's signer, statute and
    attestation as the agreement has them (also used by bench/febrl.py)."""
    return RequestManifest(
        batch_id=batch_id,
        requesting_agency=REQUESTING_AGENCY,
        submitted_on=batch_date,
        signer=Signer(name=REQUESTING_SIGNER[0], title=REQUESTING_SIGNER[1]),
        statutory_authority=STATUTE,
        attestation=ATTESTATION,
        subjects_file=subjects_file,
    )


def check_out_dir(out: Path) -> None:
    """Refuse an output path that is a file."""
    if out.exists() and not out.is_dir():
        raise TaxgateError("the output path is a file", "Name a directory.", file=out)
