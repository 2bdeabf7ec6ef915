"""The gate's answers: one verdict for the batch, one row per subject, both naming the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from taxgate.gate.reasons import BatchReason

VERDICT_SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64(), nullable=False),
        pa.field("subject_id", pa.string()),
        pa.field("proceed", pa.bool_(), nullable=False),
        pa.field("reason_codes", pa.string()),
        pa.field("fields", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("policy_version", pa.string(), nullable=False),
        pa.field("policy_sha256", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class BatchVerdict:
    """Whether a batch may be examined at all; `resubmission` marks a manifest seen before.

    `received_at` is the gateway's receipt time every date rule was counted from.
    """

    batch_id: str | None
    manifest_sha256: str
    accepted: bool
    policy_version: str
    policy_sha256: str
    reason: BatchReason | None = None
    message: str = ""
    resubmission: bool = False
    problems: list[tuple[BatchReason, str]] = field(default_factory=list)
    received_at: datetime | None = None  # the gateway's receipt time (UTC) the gate applied


@dataclass(frozen=True)
class GateResult:
    batch: BatchVerdict
    subjects: pa.Table | None = None  # exactly as read, for the matching stage
    verdicts: pa.Table | None = None  # VERDICT_SCHEMA, one row per subject row
    asked: frozenset[str] = frozenset()  # keyed hashes of the people who proceeded

    def proceeding(self) -> pa.Table:
        """The subjects that may go on to matching."""
        if self.subjects is None or self.verdicts is None:
            return pa.table({})
        return self.subjects.filter(self.verdicts.column("proceed"))
