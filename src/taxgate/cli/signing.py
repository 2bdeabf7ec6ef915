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


def sign_log(engine: Engine, key: Path) -> str:
    """Sign a checkpoint over every event now logged (the stored one if nothing is new)."""
    cp, note = checkpoint_with_warning(engine, key)
    console.print(f"log signed: checkpoint of size {cp.size}", markup=False, highlight=False)
    return note


def checkpoint_with_warning(engine: Engine, key: Path) -> tuple[Checkpoint, str]:
    """make_checkpoint, saying so on stderr when it signs events left unsigned past the grace.

    Signing them is how a run killed before its checkpoint is finished, so it is not refused;
    but the same state follows deleted checkpoints, and whoever signs should know.
    """
    signed, count, oldest = unsigned_events(engine)
    cp, note = make_checkpoint(engine, key)
    grace = timedelta(minutes=load_policy().ledger.unsigned_grace_minutes)
    if count and oldest is not None and datetime.now(UTC) - oldest > grace:
        err_console.print(
            f"warning: signed {count} event(s) after size {signed} that were unsigned since "
            f"{oldest:%Y-%m-%d %H:%M} UTC, longer than the policy's grace: if no run was "
            "killed then, run `taxgate ledger verify --public-key ...` and find out why",
            markup=False,
            highlight=False,
        )
    return cp, note
