"""One batch through every stage, in order: gate -> normalize -> match -> decide -> disclose.

Each stage's own module owns its rules; this module owns the order, the files of `--out`, and
the ledger records between stages (taxgate.ledger.recorder), which make a run resumable: run
the same manifest again after a crash and it continues where the ledger says it stopped;
run it again after its response was released and it returns that result.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from taxgate.config import get_settings
from taxgate.crashpoints import crash_point
from taxgate.decide.outcomes import Decision
from taxgate.decide.redisclosure import matched_taxpayers, withhold_redisclosures
from taxgate.decide.reviews import Resolution, load_resolutions, pending_reviews
from taxgate.decide.rules import decide
from taxgate.disclose.response import MANIFEST_FILE, RESPONSES_FILE, build_responses, write_response
from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.csvcells import write_arrow_csv
from taxgate.formats.keys import PublicKeyRecord
from taxgate.formats.manifest import ArrivedManifest, RequestManifest
from taxgate.formats.signing import file_sha256, signed_table
from taxgate.gate.history import ReceivedBatch
from taxgate.gate.receipt import Clock, receipt_time
from taxgate.gate.run import run_gate
from taxgate.gate.verdicts import BatchVerdict, GateResult
from taxgate.home import private_out
from taxgate.ledger import recorder
from taxgate.ledger.batch_lock import batch_lock
from taxgate.ledger.disclosed import claimed_taxpayers, refuse_redisclosure, window_start
from taxgate.ledger.gate_history import SqlGateHistory
from taxgate.ledger.log import make_checkpoint
from taxgate.match.master import connect, spill_dir
from taxgate.match.predict import SCHEMA, Backend, Reach, candidates
from taxgate.match.train import model_sha256
from taxgate.normalize.records import normalise
from taxgate.policy.model import Policy

Stage = Callable[[str], None]  # told when a stage starts, for progress display

VERDICTS_FILE = "verdicts.parquet"
DECISIONS_FILE = "decisions.parquet"
REVIEW_FILE = "review-queue.csv"
TIMINGS_FILE = "timings.json"
CHECKPOINT_FILE = "checkpoint.txt"


@dataclass
class ProcessResult:
    """What happened to one batch, and where its files are."""

    gate: GateResult
    decisions: pa.Table | None = None
    responses: pa.Table | None = None
    response_manifest: Path | None = None
    review_queue: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    resumed: bool = False  # the ledger already held part of this batch
    already_released: bool = False  # the same manifest was answered before: its result
    checkpoint: str | None = None  # the signed log checkpoint after this batch


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
    ledger: Engine,
    secret: bytes,
    key_path: Path,
    out: Path,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    keyring_source: str = "the keyring",
    chunk_subjects: int,
    announce: Stage | None = None,
    progress: Callable[[int, int], None] | None = None,
    clock: Clock | None = None,
    lock_wait_seconds: float | None = None,
) -> ProcessResult:
    """Run one batch, or resume it; the response is written only when no decision awaits review.

    The receipt time is read from `clock` (the system clock, UTC, when None) as the batch
    arrives, before waiting for the ledger's batch lock; a batch the ledger already holds keeps
    the receipt time first recorded. The lock (taxgate.ledger.batch_lock) is held from the
    gate's memory check through release, so a concurrent run on the same ledger waits (at most
    `lock_wait_seconds`, default TAXGATE_BATCH_LOCK_WAIT_SECONDS) and then sees this one's
    results: the same manifest is then returned or resumed, never recorded twice.
    """
    arrived = receipt_time(clock)
    private_out(out)  # verdicts, decisions, disclosed addresses: the user's alone (taxgate.home)
    seconds: dict[str, float] = {}
    if announce:
        announce("waiting for the ledger's batch lock")
    with batch_lock(ledger, f"taxgate process {manifest_path}", _lock_wait(lock_wait_seconds)):
        return _process(
            manifest_path, arrived, clock, seconds, home=home, keyring=keyring, policy=policy,
            ledger=ledger, secret=secret, key_path=key_path, out=out, backend=backend,
            spark_master=spark_master, keyring_source=keyring_source,
            chunk_subjects=chunk_subjects, announce=announce, progress=progress,
        )  # fmt: skip


def _lock_wait(seconds: float | None) -> float:
    return get_settings().batch_lock_wait_seconds if seconds is None else seconds


def _process(
    manifest_path: Path,
    arrived: datetime,
    clock: Clock | None,
    seconds: dict[str, float],
    *,
    home: Path,
    keyring: dict[str, PublicKeyRecord],
    policy: Policy,
    ledger: Engine,
    secret: bytes,
    key_path: Path,
    out: Path,
    backend: Backend,
    spark_master: str | None,
    keyring_source: str,
    chunk_subjects: int,
    announce: Stage | None,
    progress: Callable[[int, int], None] | None,
) -> ProcessResult:
    """process_batch, under the batch lock. The manifest is read once, here; every stage
    after reads that reading (`ArrivedManifest`), never the file."""
    try:
        request: ArrivedManifest | None = ArrivedManifest.read(manifest_path)
    except FormatError:
        request = None  # the gate reports an unreadable manifest
    examining = _examining(request, arrived)
    stored = _stored(examining, ledger)
    if stored is None:
        with _timed(seconds, "gate", announce):
            history = SqlGateHistory(ledger, examining=examining)
            gate = run_gate(
                manifest_path, keyring, policy, history, secret,
                keyring_source=keyring_source, remember=False, received_at=arrived,
                arrived=request,
            )  # fmt: skip
        if gate.verdicts is None or gate.subjects is None or request is None:
            recorder.record_refusal(ledger, gate.batch, receipt_time(clock))
            result = ProcessResult(gate, seconds=seconds)
            result.checkpoint = checkpoint(ledger, key_path, out)
            return result
        with _timed(seconds, "record gate", announce):
            _record_gate(ledger, request.manifest, gate, secret, receipt_time(clock), arrived)
        pq.write_table(gate.verdicts, out / VERDICTS_FILE)
        crash_point("gate-recorded")
        result = ProcessResult(gate, seconds=seconds)
    else:
        assert request is not None  # a stored batch matched its digest
        result = _resumed(request, stored, ledger, out, policy)
        if result.already_released:  # a run killed before its checkpoint is signed now
            result.checkpoint = checkpoint(ledger, key_path, out)
            return result
        gate = result.gate
    assert gate.subjects is not None and gate.verdicts is not None
    batch_id = gate.batch.batch_id or ""
    decisions = _decide(gate, batch_id, home, policy, ledger, secret, (backend, spark_master),
                        chunk_subjects, seconds, announce, progress, clock)  # fmt: skip
    pq.write_table(decisions, out / DECISIONS_FILE)
    result.decisions = decisions
    review = decisions.filter(pc.equal(decisions.column("outcome"), Decision.REVIEW.value))
    result.review_queue = review.num_rows
    if review.num_rows:
        write_arrow_csv(review.select(["row", "subject_id", "tin", "match_probability"]),
                        out / REVIEW_FILE)  # fmt: skip
        recorder.set_status(ledger, batch_id, "awaiting_review")
    else:
        with _timed(seconds, "disclose", announce):
            result.responses, result.response_manifest = release(
                request, gate.verdicts, decisions, [], home=home, policy=policy,
                key_path=key_path, out=out, ledger=ledger, secret=secret, clock=clock,
            )  # fmt: skip
    with _timed(seconds, "checkpoint", announce):
        result.checkpoint = checkpoint(ledger, key_path, out)
    (out / TIMINGS_FILE).write_text(json.dumps(seconds, indent=2) + "\n")
    return result


def _record_gate(
    ledger: Engine,
    manifest: RequestManifest,
    gate: GateResult,
    secret: bytes,
    now: datetime,
    arrived: datetime,
) -> None:
    """The gate's record; a batch recorded meanwhile by a run outside the lock is told, not
    raised as a database error."""
    assert gate.subjects is not None and gate.verdicts is not None
    try:
        recorder.record_gate(
            ledger, manifest, gate.batch.manifest_sha256, gate.subjects, gate.verdicts,
            set(gate.asked), secret, now, received_at=arrived,
        )  # fmt: skip
    except IntegrityError as exc:
        raise TaxgateError(
            f"batch {manifest.batch_id} was recorded by another run at the same time",
            "Run the command again: it then returns or resumes the batch as the ledger holds it.",
        ) from exc


def _examining(request: ArrivedManifest | None, arrived: datetime) -> ReceivedBatch | None:
    """This manifest as the gate's memory would hold it, so the gate does not take a record
    `taxgate gate` left of it for an earlier batch."""
    if request is None:
        return None  # the gate reports an unreadable manifest
    return ReceivedBatch(request.manifest.batch_id, request.sha256, arrived.date())


def _stored(examining: ReceivedBatch | None, ledger: Engine) -> recorder.StoredBatch | None:
    """The ledger's record of this very manifest, if it has one (else the gate decides)."""
    if examining is None:
        return None  # the gate reports an unreadable manifest
    stored = recorder.stored_batch(ledger, examining.batch_id)
    if stored is None or stored.manifest_sha256 != examining.manifest_sha256:
        return None  # new, or a reused batch id: the gate refuses the latter
    return stored


def _resumed(
    request: ArrivedManifest,
    stored: recorder.StoredBatch,
    ledger: Engine,
    out: Path,
    policy: Policy,
) -> ProcessResult:
    """Pick up a batch the ledger holds: its verdicts as recorded, its subjects from the file."""
    verdicts = recorder.stored_verdicts(ledger, stored.batch_id)
    released = stored.status == "released"
    message = (
        f"Batch {stored.batch_id} was answered before; this is its recorded result."
        if released
        else f"Batch {stored.batch_id} was interrupted; resuming where the ledger stopped."
    )
    batch = BatchVerdict(
        stored.batch_id, stored.manifest_sha256, True, policy.version, policy.sha256,
        message=message, resubmission=True, received_at=stored.received_at,
    )  # fmt: skip
    if released:
        path = out / MANIFEST_FILE
        return ProcessResult(
            GateResult(batch, None, verdicts),
            decisions=recorder.stored_decisions(ledger, stored.batch_id),
            response_manifest=path if path.is_file() else None,
            already_released=True,
        )
    subjects = signed_table(request.manifest, request.path)
    return ProcessResult(GateResult(batch, subjects, verdicts), resumed=True)


def _decide(
    gate: GateResult,
    batch_id: str,
    home: Path,
    policy: Policy,
    ledger: Engine,
    secret: bytes,
    engine: tuple[Backend, str | None],
    chunk_subjects: int,
    seconds: dict[str, float],
    announce: Stage | None,
    progress: Callable[[int, int], None] | None,
    clock: Clock | None,
) -> pa.Table:
    """Match and decide the subjects not yet decided in the ledger, recording chunk by chunk.

    Before a chunk is recorded, a decision whose taxpayer was already disclosed or confirmed
    within the re-request window (taxgate.decide.redisclosure) is turned NOT_CONFIRMED.
    """
    assert gate.subjects is not None and gate.verdicts is not None
    since = window_start(gate.batch.received_at, policy)
    done = recorder.stored_decisions(ledger, batch_id)
    with _timed(seconds, "normalize", announce):
        subjects = normalise(gate.subjects, "subjects").filter(gate.verdicts.column("proceed"))
        decided = pa.array(done.column("row").to_pylist(), pa.int64())
        subjects = subjects.filter(pc.invert(pc.is_in(subjects.column("row"), value_set=decided)))
    model = model_sha256(home)
    spool = _DecisionSpool(done)
    seconds["match"] = seconds["decide"] = 0.0
    with _timed(seconds, "reach", announce):
        reach = _batch_reach(subjects, home, engine[0], chunk_subjects)
    with reach or nullcontext(), spool:
        if announce:
            announce("match and decide")
        chunks = _matched_chunks(subjects, home, engine, chunk_subjects, reach)
        for chunk, pairs, matching in chunks:
            seconds["match"] = round(seconds["match"] + matching, 2)
            with _timed(seconds, "decide chunk", None):
                part = decide(pairs, chunk, policy, model)
                del pairs
                claimed = claimed_taxpayers(ledger, matched_taxpayers(part), since)
                part = withhold_redisclosures(part, claimed)
                recorder.record_decisions(ledger, batch_id, part, secret, receipt_time(clock))
                spool.write(part)
            crash_point("decisions-chunk-recorded")
            seconds["decide"] = round(seconds["decide"] + seconds.pop("decide chunk"), 2)
            if progress:
                progress(spool.rows - done.num_rows, subjects.num_rows)
        if done.num_rows == 0 and subjects.num_rows == 0:
            return decide(SCHEMA.empty_table(), subjects, policy, model)
        return spool.read().sort_by("row")


def _matched_chunks(
    subjects: pa.Table,
    home: Path,
    engine: tuple[Backend, str | None],
    chunk_subjects: int,
    reach: Reach | None,
) -> Iterator[tuple[pa.Table, pa.Table, float]]:
    """Each chunk of `subjects`, its candidate pairs and the seconds matching it took.

    One chunk at a time. Matching the next chunk in a thread while this one was decided was
    tried: on two cores it was slower, not faster, since DuckDB already keeps both cores busy
    while it matches (bench/README.md).
    """
    for start in range(0, subjects.num_rows, chunk_subjects):
        began = time.perf_counter()
        chunk = subjects.slice(start, chunk_subjects)
        at = (reach, start // chunk_subjects) if reach else None
        yield chunk, candidates(chunk, home, *engine, reach=at), time.perf_counter() - began


class _DecisionSpool:
    """The batch's decisions, chunk by chunk, in a Parquet file of this process's spill folder
    rather than in memory: a 1.28M-subject batch's decisions are gigabytes, held beside every
    later chunk's pairs. `read` gives them back, after the ones the ledger already held."""

    def __init__(self, done: pa.Table) -> None:
        self.done = done
        self.rows = done.num_rows
        self.path = spill_dir() / f"decisions-{uuid.uuid4().hex}.parquet"
        self.writer: pq.ParquetWriter | None = None

    def write(self, part: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, part.schema)
        self.writer.write_table(part)
        self.rows += part.num_rows

    def read(self) -> pa.Table:
        if self.writer is None:
            return self.done
        self.writer.close()
        self.writer = None
        return pa.concat_tables([self.done, pq.read_table(self.path).cast(self.done.schema)])

    def __enter__(self) -> _DecisionSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
        self.path.unlink(missing_ok=True)


def _batch_reach(
    subjects: pa.Table, home: Path, backend: Backend, chunk_subjects: int
) -> Reach | None:
    """The addresses each chunk can meet, found once for the batch (DuckDB; the Spark backend
    blocks on its executors)."""
    if backend != "duckdb" or subjects.num_rows == 0:
        return None
    return Reach(subjects, home, chunk_subjects)


def release(
    request: ArrivedManifest,
    verdicts: pa.Table,
    decisions: pa.Table,
    resolutions: list[Resolution],
    *,
    home: Path,
    policy: Policy,
    key_path: Path,
    out: Path,
    ledger: Engine,
    secret: bytes,
    clock: Clock | None = None,
) -> tuple[pa.Table, Path]:
    """Sign the response, then record it as released: reviews, disclosures and their events.

    The caller holds the batch lock. A response file left by a run that crashed before
    recording it was never released; it is written again (the same content: signing is
    deterministic for the same day). A response that would disclose a taxpayer already
    disclosed within the re-request window is refused before anything is written.
    """
    manifest = request.manifest
    reviews = {r.row: r.outcome.value for r in resolutions}
    responses = build_responses(verdicts, decisions, last_known_addresses(home), policy, reviews)
    refuse_redisclosure(ledger, manifest.batch_id, responses, decisions, policy)
    for stale in (out / MANIFEST_FILE, out / RESPONSES_FILE):
        stale.unlink(missing_ok=True)
    now = receipt_time(clock)
    path = write_response(responses, request, out, key_path, responded_on=now.date())
    crash_point("response-written")
    recorder.record_release(
        ledger, manifest.batch_id, responses, decisions,
        [{"row": r.row, "resolution": r.outcome.value, "officer": r.officer, "note": r.note,
          "reviewed_at": r.reviewed_at} for r in resolutions],
        recorder.Release(
            manifest_sha256=file_sha256(path), path=str(path),
            recipient_agency=manifest.requesting_agency, statute=manifest.statutory_authority,
            fields=tuple(policy.disclosure.fields),
        ),
        secret, now,
    )  # fmt: skip
    crash_point("release-recorded")
    return responses, path


def checkpoint(ledger: Engine, key_path: Path, out: Path) -> str:
    """Sign a checkpoint of the whole log after the batch, and keep a copy beside its files."""
    _, note = make_checkpoint(ledger, key_path)
    (out / CHECKPOINT_FILE).write_text(note, encoding="utf-8")
    return note


def release_reviewed(
    manifest_path: Path,
    *,
    home: Path,
    policy: Policy,
    key_path: Path,
    out: Path,
    ledger: Engine,
    secret: bytes,
    clock: Clock | None = None,
    lock_wait_seconds: float | None = None,
) -> tuple[pa.Table, Path]:
    """Release a batch that waited for review, once officers have resolved every REVIEW.

    Under the ledger's batch lock, as `process_batch`, so no other batch discloses meanwhile.
    The manifest must be the one the ledger recorded, and the verdicts and decisions answered
    are the ledger's; only the officers' resolutions come from `out`.
    """
    wait = _lock_wait(lock_wait_seconds)
    with batch_lock(ledger, f"taxgate review release {manifest_path}", wait):
        return _release_reviewed(
            manifest_path, home=home, policy=policy, key_path=key_path, out=out, ledger=ledger,
            secret=secret, clock=clock,
        )  # fmt: skip


def _release_reviewed(
    manifest_path: Path,
    *,
    home: Path,
    policy: Policy,
    key_path: Path,
    out: Path,
    ledger: Engine,
    secret: bytes,
    clock: Clock | None,
) -> tuple[pa.Table, Path]:
    for name in (VERDICTS_FILE, DECISIONS_FILE):
        if not (out / name).is_file():
            raise TaxgateError(
                f"no {name} in {out}",
                "Name the --out directory `taxgate process` wrote for this batch.",
                file=out / name,
            )
    private_out(out)
    request = ArrivedManifest.read(manifest_path)
    batch_id = request.manifest.batch_id
    stored = recorder.stored_batch(ledger, batch_id)
    if stored is None or stored.status != "awaiting_review":
        state = "holds no record of it" if stored is None else f"has it as {stored.status!r}"
        raise TaxgateError(
            f"batch {batch_id!r} is not awaiting review: the ledger {state}",
            "Release only a batch that `taxgate process` left waiting for review, with the same"
            " --home (or TAXGATE_DATABASE_URL) it was processed with.",
            file=manifest_path,
        )
    if stored.manifest_sha256 != request.sha256:
        raise TaxgateError(
            f"this manifest is not the one batch {batch_id!r} was processed with (its SHA-256 "
            f"differs from the ledger's {stored.manifest_sha256[:12]})",
            "Name the manifest file the batch arrived with; a changed manifest is a new batch.",
            file=manifest_path,
        )
    # The ledger's verdicts and decisions, not the copies in --out: an edit there (a row turned
    # CONFIRMED, a refused row let through) must not reach the response.
    decisions = recorder.stored_decisions(ledger, batch_id)
    resolutions = load_resolutions(out)
    pending = pending_reviews(decisions, resolutions)
    if pending.num_rows:
        raise TaxgateError(
            f"{pending.num_rows} REVIEW decision(s) are not resolved yet",
            "Resolve each with `taxgate review resolve` (see `taxgate review list`).",
            row=pending.column("row")[0].as_py(),
        )
    released = release(
        request, recorder.stored_verdicts(ledger, batch_id), decisions, list(resolutions.values()),
        home=home, policy=policy, key_path=key_path, out=out, ledger=ledger, secret=secret,
        clock=clock,
    )  # fmt: skip
    checkpoint(ledger, key_path, out)
    return released
