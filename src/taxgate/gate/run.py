"""Run the gate on one batch: batch checks, then every subject, then remember what proceeded.

This is the one entry point the CLI, the pipeline and the service share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from taxgate.errors import FormatError
from taxgate.formats.codes import ReasonCode, join_codes
from taxgate.formats.keys import PublicKeyRecord
from taxgate.formats.manifest import ArrivedManifest
from taxgate.formats.signing import signed_table
from taxgate.gate.batch_rules import batch_problems
from taxgate.gate.history import GateHistory, ReceivedBatch, person_keys
from taxgate.gate.reasons import SUBJECT_SENTENCES, BatchReason
from taxgate.gate.receipt import days_before, receipt_time
from taxgate.gate.subject_rules import SubjectRules
from taxgate.gate.verdicts import VERDICT_SCHEMA, BatchVerdict, GateResult
from taxgate.policy.model import Policy

Progress = Callable[[int, int], None]


# Rows examined per step: bounds memory and paces the progress bar.
CHUNK_ROWS = 100_000


def check_subjects(
    subjects: pa.Table,
    policy: Policy,
    received_on: date,
    *,
    history: GateHistory | None = None,
    secret: bytes = b"",
    progress: Progress | None = None,
) -> tuple[pa.Table, list[list[str]]]:
    """A verdict row per subject row, and each row's person keys (for remembering later).

    `received_on` is the gateway's UTC receipt day of the batch: every date rule counts from
    it, never from the requester's `submitted_on`.
    """
    n = subjects.num_rows
    rules = SubjectRules(policy, received_on)
    per_row: dict[int, list[tuple[ReasonCode, str]]] = {}
    keys: list[list[str]] = []
    for start in range(0, max(n, 1), CHUNK_ROWS):
        chunk = subjects.slice(start, CHUNK_ROWS)
        for finding in rules.findings(chunk):
            for i in np.flatnonzero(finding.rows):
                per_row.setdefault(start + int(i), []).append((finding.code, finding.field))
        keys += person_keys(chunk, secret) if secret else [[] for _ in range(chunk.num_rows)]
        if progress:
            progress(min(start + CHUNK_ROWS, n), n)
    ids = [v.strip() if v else v for v in subjects.column("subject_id").to_pylist()]
    counts = Counter(v for v in ids if v)
    for i, sid in enumerate(ids):
        if sid and counts[sid] > 1:
            per_row.setdefault(i, []).append((ReasonCode.DUPLICATE_SUBJECT, "subject_id"))
    if history is not None and secret:
        since = days_before(received_on, policy.subject.rerequest_window_days)
        seen = history.asked_since({k for row in keys for k in row}, since)
        for i, row_keys in enumerate(keys):
            if seen.intersection(row_keys):
                per_row.setdefault(i, []).append((ReasonCode.REREQUEST, "subject_id"))
    proceed = np.ones(n, dtype=bool)
    reason_codes: list[str | None] = [None] * n
    fields: list[str | None] = [None] * n
    detail: list[str | None] = [None] * n
    for i, found in per_row.items():
        proceed[i] = False
        reason_codes[i] = join_codes(sorted({code for code, _ in found}))
        fields[i] = ";".join(dict.fromkeys(field for _, field in found))
        detail[i] = _detail(found)
    verdicts = pa.Table.from_pydict(
        {
            "row": np.arange(1, n + 1),
            "subject_id": subjects.column("subject_id"),
            "proceed": proceed,
            "reason_codes": reason_codes,
            "fields": fields,
            "detail": detail,
            "policy_version": pa.repeat(policy.version, n),
            "policy_sha256": pa.repeat(policy.sha256, n),
        },
        schema=VERDICT_SCHEMA,
    )
    return verdicts, keys


def _detail(found: list[tuple[ReasonCode, str]]) -> str:
    by_code: dict[ReasonCode, list[str]] = {}
    for code, field in found:
        by_code.setdefault(code, []).append(field)
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
    received_at: datetime | None = None,
    arrived: ArrivedManifest | None = None,
) -> GateResult:
    """Examine one batch. A refused or re-submitted batch has no subject verdicts.

    `received_at` is when the gateway received the batch (aware; the system clock in UTC when
    None): the manifest's date is checked against it and every date rule counts from its day.
    `arrived` is the manifest at `manifest_path` as the caller already read it (read here
    when None): the gate checks those bytes, not the file again.
    """
    manifest_path = Path(manifest_path)
    at = receipt_time(None if received_at is None else lambda: received_at)
    received_on = at.date()
    ident = {"policy_version": policy.version, "policy_sha256": policy.sha256, "received_at": at}
    if arrived is None:
        try:
            arrived = ArrivedManifest.read(manifest_path)
        except FormatError as exc:
            return GateResult(
                BatchVerdict(
                    None, "", False, reason=BatchReason.MANIFEST_UNREADABLE, message=str(exc),
                    **ident,
                )
            )  # fmt: skip
    manifest, digest = arrived.manifest, arrived.sha256
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
        message = (
            f"Batch id {manifest.batch_id} was used on {previous.received_on.isoformat()} "
            "for a different manifest; send this batch under a new batch_id."
        )
        problems = [(BatchReason.BATCH_ID_REUSED, message)]
    else:
        problems = batch_problems(
            manifest, manifest_path, keyring, policy, keyring_source, received_on
        )
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
    # Only now, with the signature verified, is the subjects file read (and from one read).
    subjects = signed_table(manifest, manifest_path)
    verdicts, keys = check_subjects(
        subjects,
        policy,
        received_on,
        history=history,
        secret=secret,
        progress=progress,
    )
    proceeding = verdicts.column("proceed").to_pylist()
    asked = frozenset(k for row, ok in zip(keys, proceeding, strict=True) if ok for k in row)
    if remember:
        history.remember(
            ReceivedBatch(manifest.batch_id, digest, received_on), set(asked), received_on
        )
    batch = BatchVerdict(manifest.batch_id, digest, True, **ident)
    return GateResult(batch, subjects, verdicts, asked)
