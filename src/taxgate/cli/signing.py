"""The signed checkpoint that every command appending to the log ends with.

One helper, so no command forgets it: an event left unsigned is one an intruder could have
written, and `taxgate ledger verify` fails on it once it is older than the policy's grace.
`make_checkpoint` audits the log first and refuses to sign over one that fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from taxgate.cli.console import console, err_console
from taxgate.ledger.audit import unsigned_events
from taxgate.ledger.checkpoint import Checkpoint
from taxgate.ledger.log import make_checkpoint
from taxgate.policy import load_policy

KEY_HELP = "The disclosing agency's private signing key: the command ends by signing the log."


Unsigned = tuple[int, int, datetime | None]  # newest checkpoint size, events past it, oldest


def sign_log(engine: Engine, key: Path, before: Unsigned | None = None) -> str:
    """Sign a checkpoint over every event now logged (the stored one if nothing is new).

    `before` is `unsigned_events(engine)` taken when the command started: events already
    unsigned then were not written by this command, and signing them is said on stderr.
    """
    cp, note = checkpoint_with_warning(engine, key, before)
    console.print(f"log signed: checkpoint of size {cp.size}", markup=False, highlight=False)
    return note


def checkpoint_with_warning(
    engine: Engine, key: Path, before: Unsigned | None = None
) -> tuple[Checkpoint, str]:
    """make_checkpoint, saying on stderr when it signs events no command signed.

    Signing them is how a run killed before its checkpoint is finished, so it is not refused;
    but a forged event, or deleted checkpoints, leave the same state, and whoever signs should
    know. With `before`, only the events unsigned when the command started count.
    """
    signed, count, oldest = before if before is not None else unsigned_events(engine)
    cp, note = make_checkpoint(engine, key)
    if count and oldest is not None:
        grace = timedelta(minutes=load_policy().ledger.unsigned_grace_minutes)
        late = datetime.now(UTC) - oldest > grace
        err_console.print(
            f"warning: signed {count} event(s) after size {signed} that no command signed, "
            f"unsigned since {oldest:%Y-%m-%d %H:%M} UTC"
            f"{', longer than the policy grace' if late else ''}: a killed run's, or written "
            "around taxgate; if no run was killed, run `taxgate ledger verify --public-key ...`",
            markup=False,
            highlight=False,
        )
    return cp, note
