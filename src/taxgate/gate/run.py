"""Run the gate on one batch: batch checks, then every subject, then remember what proceeded.

This is the one entry point the CLI, the pipeline and the service share.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from taxgate.errors import FormatError
from taxgate.formats.codes import ReasonCode, join_codes
from taxgate.formats.keys import PublicKeyRecord
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.signing import file_sha256
from taxgate.formats.tables import columns, read_table
from taxgate.gate.batch_rules import batch_problems
from taxgate.gate.history import GateHistory, ReceivedBatch, person_keys
from taxgate.gate.reasons import SUBJECT_SENTENCES, BatchReason
from taxgate.gate.subject_rules import Finding, SubjectRules
from taxgate.gate.verdicts import VERDICT_SCHEMA, BatchVerdict, GateResult
from taxgate.policy.model import Policy

Progress = Callable[[int, int], None]


# Below this many subjects a second process costs more than it saves.
PARALLEL_MIN_ROWS = 50_000


# What the worker processes read: set before they fork, so rows are never pickled to them.
_SHARED: dict[str, object] = {}


def _examine(start: int, end: int) -> tuple[list[list[Finding]], list[list[bytes]]]:
    """The row-by-row rules for rows [start, end) of the shared batch."""
    names: list[str] = _SHARED["names"]  # type: ignore[assignment]
    data: list[list[str | None]] = _SHARED["data"]  # type: ignore[assignment]
    rules: SubjectRules = _SHARED["rules"]  # type: ignore[assignment]
    secret: bytes = _SHARED["secret"]  # type: ignore[assignment]
    findings, keys = [], []
    for values in zip(*(col[start:end] for col in data), strict=True):
        row = dict(zip(names, values, strict=True))
        findings.append(rules.check(row))
        keys.append(person_keys(row, secret) if secret else [])
    return findings, keys


def _examine_all(
    names: list[str],
    data: list[list[str | None]],
    policy: Policy,
    submitted_on: date,
    secret: bytes,
    progress: Progress | None,
) -> tuple[list[list[Finding]], list[set[str]]]:
    n = len(data[0])
    workers = min(os.cpu_count() or 1, max(1, n // PARALLEL_MIN_ROWS))
    parts = workers * 4 if workers > 1 else max(1, n // PARALLEL_MIN_ROWS)
    bounds = [n * i // parts for i in range(parts + 1)]
    _SHARED.update(names=names, data=data, rules=SubjectRules(policy, submitted_on), secret=secret)
    findings: list[list[Finding]] = []
    keys: list[set[str]] = []
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        if workers > 1
        else None
    )
    try:
        starts, ends = bounds[:-1], bounds[1:]
        results = pool.map(_examine, starts, ends) if pool else map(_examine, starts, ends)
        for part_findings, part_keys in results:
            findings += part_findings
            keys += [{k.hex() for k in row_keys} for row_keys in part_keys]
            if progress:
                progress(len(findings), n)
    finally:
        _SHARED.clear()
        if pool is not None:
            pool.shutdown()
    return findings, keys


def check_subjects(
    subjects: pa.Table,
    policy: Policy,
    submitted_on: date,
    *,
    history: GateHistory | None = None,
    secret: bytes = b"",
    progress: Progress | None = None,
) -> tuple[pa.Table, list[set[str]]]:
    """A verdict row per subject row, and each row's person keys (for remembering later)."""
    names = columns("subjects")
    data = [subjects.column(n).to_pylist() for n in names]
    n = subjects.num_rows
    findings, keys = _examine_all(names, data, policy, submitted_on, secret, progress)
    id_counts = Counter(v.strip() for v in data[0] if v and v.strip())
    for sid, found in zip(data[0], findings, strict=True):
        if sid and id_counts[sid.strip()] > 1:
            found.append(Finding(ReasonCode.DUPLICATE_SUBJECT, "subject_id"))
    if history is not None and secret:
        since = submitted_on - timedelta(days=policy.subject.rerequest_window_days)
        seen = history.asked_since(set().union(*keys), since) if keys else set()
        for found, row_keys in zip(findings, keys, strict=True):
            if row_keys & seen:
                found.append(Finding(ReasonCode.REREQUEST, "subject_id"))
    verdicts = pa.Table.from_pydict(
        {
            "row": list(range(1, n + 1)),
            "subject_id": data[0],
            "proceed": [not f for f in findings],
            "reason_codes": [join_codes(sorted({x.code for x in f})) or None for f in findings],
            "fields": [";".join(dict.fromkeys(x.field for x in f)) or None for f in findings],
            "detail": [_detail(f) for f in findings],
            "policy_version": [policy.version] * n,
            "policy_sha256": [policy.sha256] * n,
        },
        schema=VERDICT_SCHEMA,
    )
    return verdicts, keys


def _detail(found: list[Finding]) -> str | None:
    if not found:
        return None
    by_code: dict[ReasonCode, list[str]] = {}
    for f in found:
        by_code.setdefault(f.code, []).append(f.field)
    return " ".join(
        f"[{code}: {', '.join(dict.fromkeys(fields))}] {SUBJECT_SENTENCES[code]}"
        for code, fields in sorted(by_code.items())
    )


def run_gate(
    manifest_path: Path,
    keyring: dict[str, PublicKeyRecord],
    policy: Policy,
    history: GateHistory,
    secret: bytes,
    *,
    keyring_source: str = "the keyring",
    remember: bool = True,
    progress: Progress | None = None,
) -> GateResult:
    """Examine one batch. A refused or re-submitted batch has no subject verdicts."""
    manifest_path = Path(manifest_path)
    ident = {"policy_version": policy.version, "policy_sha256": policy.sha256}
    try:
        manifest = RequestManifest.load(manifest_path)
        digest = file_sha256(manifest_path)
    except FormatError as exc:
        return GateResult(
            BatchVerdict(
                None, "", False, reason=BatchReason.MANIFEST_UNREADABLE, message=str(exc), **ident
            )
        )
    previous = history.received(manifest.batch_id)
    if previous is not None:
        if previous.manifest_sha256 == digest:
            return GateResult(
                BatchVerdict(
                    manifest.batch_id,
                    digest,
                    False,
                    resubmission=True,
                    message=f"Batch {manifest.batch_id} was already received on "
                    f"{previous.received_on.isoformat()}; it is not examined again.",
                    **ident,
                )
            )
        reason = BatchReason.BATCH_ID_REUSED
        message = (
            f"Batch id {manifest.batch_id} was used on {previous.received_on.isoformat()} "
            "for a different manifest; send this batch under a new batch_id."
        )
        return GateResult(
            BatchVerdict(
                manifest.batch_id,
                digest,
                False,
                reason=reason,
                message=message,
                problems=[(reason, message)],
                **ident,
            )
        )
    problems = batch_problems(manifest, manifest_path, keyring, policy, keyring_source)
    if problems:
        reason, message = problems[0]
        return GateResult(
            BatchVerdict(
                manifest.batch_id,
                digest,
                False,
                reason=reason,
                message=message,
                problems=problems,
                **ident,
            )
        )
    subjects = read_table(manifest.table_path(manifest_path), "subjects")
    verdicts, keys = check_subjects(
        subjects,
        policy,
        manifest.submitted_on,
        history=history,
        secret=secret,
        progress=progress,
    )
    if remember:
        proceeding = verdicts.column("proceed").to_pylist()
        history.remember(
            ReceivedBatch(manifest.batch_id, digest, date.today()),
            set().union(*(k for k, ok in zip(keys, proceeding, strict=True) if ok)),
            manifest.submitted_on,
        )
    batch = BatchVerdict(manifest.batch_id, digest, True, **ident)
    return GateResult(batch, subjects, verdicts)
