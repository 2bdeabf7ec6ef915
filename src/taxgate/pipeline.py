"""One batch through every stage, in order: gate -> normalize -> match -> decide -> disclose.

The CLI and (later) the service call this; each stage's own module owns its rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from taxgate.decide.rules import decide
from taxgate.disclose.response import build_responses, write_response
from taxgate.formats.keys import PublicKeyRecord
from taxgate.formats.manifest import RequestManifest
from taxgate.gate.history import GateHistory
from taxgate.gate.run import run_gate
from taxgate.gate.verdicts import GateResult
from taxgate.match.master import connect
from taxgate.match.predict import SCHEMA, Backend, candidates
from taxgate.match.train import model_sha256
from taxgate.normalize.records import normalise
from taxgate.policy.model import Policy

Stage = Callable[[str], None]  # told when a stage starts, for progress display

DECISIONS_FILE = "decisions.parquet"
REVIEW_FILE = "review-queue.csv"
TIMINGS_FILE = "timings.json"


@dataclass
class ProcessResult:
    """What happened to one batch, and where its files are."""

    gate: GateResult
    decisions: pa.Table | None = None
    responses: pa.Table | None = None
    response_manifest: Path | None = None
    review_queue: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(seconds: dict[str, float], stage: str, announce: Stage | None) -> Iterator[None]:
    if announce:
        announce(stage)
    started = time.perf_counter()
    yield
    seconds[stage] = round(time.perf_counter() - started, 2)


def last_known_addresses(home: Path) -> pa.Table:
    """The only source of a disclosed address: each taxpayer's latest filing."""
    con = connect(home, read_only=True)
    try:
        return con.execute(
            "SELECT tin, street, unit, city, state, zip, tax_year FROM last_known"
        ).to_arrow_table()
    finally:
        con.close()


def process_batch(
    manifest_path: Path,
    *,
    home: Path,
    keyring: dict[str, PublicKeyRecord],
    policy: Policy,
    history: GateHistory,
    secret: bytes,
    key_path: Path,
    out: Path,
    backend: Backend = "duckdb",
    keyring_source: str = "the keyring",
    chunk_subjects: int,
    announce: Stage | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ProcessResult:
    """Run one batch; the response is written only when no decision awaits review."""
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    with _timed(seconds, "gate", announce):
        gate = run_gate(
            manifest_path, keyring, policy, history, secret, keyring_source=keyring_source
        )
    result = ProcessResult(gate, seconds=seconds)
    if gate.verdicts is None or gate.subjects is None:
        return result
    pq.write_table(gate.verdicts, out / "verdicts.parquet")
    with _timed(seconds, "normalize", announce):
        subjects = normalise(gate.subjects, "subjects").filter(gate.verdicts.column("proceed"))
    model = model_sha256(home)
    parts: list[pa.Table] = []
    seconds["match"] = seconds["decide"] = 0.0
    for start in range(0, subjects.num_rows, chunk_subjects):
        chunk = subjects.slice(start, chunk_subjects)
        with _timed(seconds, "match chunk", announce):
            pairs = candidates(chunk, home, backend)
        with _timed(seconds, "decide chunk", announce):
            parts.append(decide(pairs, chunk, policy, model))
        seconds["match"] = round(seconds["match"] + seconds.pop("match chunk"), 2)
        seconds["decide"] = round(seconds["decide"] + seconds.pop("decide chunk"), 2)
        if progress:
            progress(start + chunk.num_rows, subjects.num_rows)
        del pairs
    decisions = (
        pa.concat_tables(parts) if parts else decide(SCHEMA.empty_table(), subjects, policy, model)
    )
    pq.write_table(decisions, out / DECISIONS_FILE)
    result.decisions = decisions
    review = decisions.filter(pc.equal(decisions.column("outcome"), "REVIEW"))
    result.review_queue = review.num_rows
    if review.num_rows:
        pacsv.write_csv(review.select(["row", "subject_id", "tin", "match_probability"]),
                         out / REVIEW_FILE)  # fmt: skip
        return result
    with _timed(seconds, "disclose", announce):
        responses = build_responses(gate.verdicts, decisions, last_known_addresses(home), policy)
        manifest = RequestManifest.load(manifest_path)
        result.response_manifest = write_response(responses, manifest, manifest_path, out, key_path)
    result.responses = responses
    (out / TIMINGS_FILE).write_text(json.dumps(seconds, indent=2) + "\n")
    return result
