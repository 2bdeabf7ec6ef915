"""The signed checkpoint that every command appending to the log ends with.

One helper, so no command forgets it: an event left unsigned is one an intruder could have
written, and `taxgate ledger verify` fails on it once it is older than the policy's grace.
`make_checkpoint` audits the log first and refuses to sign over one that fails.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from taxgate.cli.console import console
from taxgate.ledger.log import make_checkpoint

KEY_HELP = "The disclosing agency's private signing key: the command ends by signing the log."


def sign_log(engine: Engine, key: Path) -> str:
    """Sign a checkpoint over every event now logged (the stored one if nothing is new)."""
    cp, note = make_checkpoint(engine, key)
    console.print(f"log signed: checkpoint of size {cp.size}", markup=False, highlight=False)
    return note
