"""An officer's resolution of a REVIEW decision: who decided, what, and why, kept append-only.

A REVIEW decision is never released as such; the response waits until a disclosure officer
has resolved every one as CONFIRMED or NOT_CONFIRMED, with a name and a written reason (the
court that reads the accounting will ask both). Resolutions are appended to a JSON Lines file
beside the batch's decisions and are never rewritten: a second resolution of the same subject
is refused.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from taxgate.decide.outcomes import Decision
from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome

REVIEWS_FILE = "reviews.jsonl"


class Resolution(BaseModel):
    """One officer's resolution of one REVIEW decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: int = Field(ge=1, description="Batch row of the subject.")
    subject_id: str | None
    outcome: Outcome = Field(description="CONFIRMED or NOT_CONFIRMED.")
    officer: str = Field(min_length=1, description="The disclosure officer who resolved it.")
    note: str = Field(min_length=1, description="Why: what the officer checked.")
    reviewed_at: datetime


RESOLVABLE = (Outcome.CONFIRMED, Outcome.NOT_CONFIRMED)


def load_resolutions(out: Path) -> dict[int, Resolution]:
    """Row -> resolution, from `out`/reviews.jsonl (empty when nobody has reviewed yet)."""
    path = out / REVIEWS_FILE
    if not path.exists():
        return {}
    found: dict[int, Resolution] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            resolution = Resolution.model_validate_json(line)
        except ValidationError as exc:
            raise TaxgateError(
                f"a review resolution is unreadable: {exc.errors()[0]['msg']}",
                "Restore the file from the batch's backup; resolutions are never edited.",
                file=path,
                row=number,
            ) from exc
        if resolution.row in found:
            raise TaxgateError(
                f"subject row {resolution.row} is resolved twice",
                "Restore the file from the batch's backup; resolutions are never edited.",
                file=path,
                row=number,
            )
        found[resolution.row] = resolution
    return found


def pending_reviews(decisions: pa.Table, resolutions: dict[int, Resolution]) -> pa.Table:
    """The REVIEW decisions no officer has resolved yet."""
    review = decisions.filter(pc.equal(decisions.column("outcome"), Decision.REVIEW.value))
    done = pa.array(sorted(resolutions), pa.int64())
    return review.filter(pc.invert(pc.is_in(review.column("row"), value_set=done)))


def resolve(
    out: Path,
    decisions: pa.Table,
    subject_id: str,
    outcome: Outcome,
    officer: str,
    note: str,
    *,
    now: datetime | None = None,
) -> Resolution:
    """Record one resolution; refuse anything but an open REVIEW decision of this batch."""
    if outcome not in RESOLVABLE:
        raise TaxgateError(
            f"a review cannot be resolved as {outcome}",
            "Resolve it as CONFIRMED or NOT_CONFIRMED.",
            field="outcome",
        )
    matches = decisions.filter(pc.equal(decisions.column("subject_id"), subject_id)).to_pylist()
    if not matches:
        raise TaxgateError(
            f"subject {subject_id!r} has no decision in this batch",
            "Check the subject reference (`taxgate review list` shows the open reviews).",
            field="subject_id",
        )
    decision = matches[0]
    if decision["outcome"] != Decision.REVIEW:
        raise TaxgateError(
            f"subject {subject_id!r} was decided {decision['outcome']}, not REVIEW",
            "Only a REVIEW decision is resolved by an officer.",
            row=decision["row"],
        )
    if decision["row"] in load_resolutions(out):
        raise TaxgateError(
            f"subject {subject_id!r} is already resolved",
            "A resolution is final; ask the disclosure office to record a recall instead.",
            row=decision["row"],
        )
    try:
        resolution = Resolution(
            row=decision["row"],
            subject_id=subject_id,
            outcome=outcome,
            officer=officer.strip(),
            note=note.strip(),
            reviewed_at=now or datetime.now(UTC),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise TaxgateError(
            f"the resolution is incomplete: {first['msg']}",
            "Give the officer's name (--officer) and why (--note).",
            field=".".join(str(p) for p in first["loc"]),
        ) from exc
    _append(out / REVIEWS_FILE, resolution.model_dump_json() + "\n")
    return resolution


def _append(path: Path, line: str) -> None:
    """Append and flush to disk: a resolution the officer was told is saved must be saved."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
