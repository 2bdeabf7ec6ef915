"""`taxgate gate`: check a batch against the statute and the agreement before any matching."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.table import Table
from sqlalchemy import Engine

from taxgate.cli.console import console, plain, progress_bar
from taxgate.cli.signing import KEY_HELP, sign_log
from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.faults import place
from taxgate.formats.codes import split_codes
from taxgate.formats.csvcells import write_arrow_csv
from taxgate.formats.keys import load_keyring, load_private_key
from taxgate.gate.history import GateHistory, MemoryHistory
from taxgate.gate.receipt import receipt_time
from taxgate.gate.run import run_gate
from taxgate.gate.verdicts import GateResult
from taxgate.home import private_out
from taxgate.ledger.audit import unsigned_events
from taxgate.ledger.batch_lock import batch_lock
from taxgate.ledger.database import open_ledger
from taxgate.ledger.gate_history import SqlGateHistory
from taxgate.ledger.secret import load_or_create_secret
from taxgate.policy import load_policy


class VerdictFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def gate(
    manifest: Path = typer.Argument(..., help="The batch's manifest.json."),
    keyring: Path | None = typer.Option(
        None, "--keyring", help="Directory of trusted *.pub.json keys (default: HOME/keyring)."
    ),
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy TOML (default: the shipped agreement)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Directory for the verdict files."),
    fmt: VerdictFormat = typer.Option(VerdictFormat.csv, "--format", help="Verdict file format."),
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Do not remember the batch (no re-submission or re-request record, no log event).",
    ),
    key: Path | None = typer.Option(
        None, "--key", help=f"{KEY_HELP} Required unless --dry-run (the gate's memory is logged)."
    ),
) -> None:
    """Check every request of a batch before matching; write per-subject verdicts.

    Unless --dry-run, the gate's memory of the batch is written to the ledger with a
    gate_memory log event, and the command ends by signing the log with --key.

    Example: taxgate gate world/batch/manifest.json --key keys/ed25519_x.key --out verdicts/
    """
    settings = get_settings()
    received_at = receipt_time()  # the gateway's clock as the batch arrives, before any wait
    home = home or settings.home
    rules = load_policy(policy)
    if not dry_run:
        if key is None:
            raise TaxgateError(
                "taxgate gate remembers the batch in the ledger, which logs an event, and every "
                "command that logs an event signs the log",
                "Add --key with the disclosing agency's private signing key, or --dry-run to "
                "check the batch without remembering it.",
                field="key",
            )
        load_private_key(key)  # a key that cannot sign is refused before anything is written
    keyring_dir = keyring or home / "keyring"
    history: GateHistory
    with ExitStack() as held:
        if dry_run:
            history = MemoryHistory()
        else:
            # Writing the gate's memory: under the batch lock, like `taxgate process`.
            ledger = open_ledger(settings.ledger_url(home))
            held.callback(ledger.dispose)
            wait = settings.batch_lock_wait_seconds
            held.enter_context(batch_lock(ledger, f"taxgate gate {manifest}", wait))
            history = SqlGateHistory(ledger)
            unsigned_at_start = unsigned_events(ledger)
        with progress_bar() as bar:
            task = bar.add_task("gate", total=None)
            result = run_gate(
                manifest,
                load_keyring(keyring_dir),
                rules,
                history,
                load_or_create_secret(home),
                keyring_source=str(keyring_dir),
                remember=not dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                received_at=received_at,
            )
        if not dry_run and key is not None and _logged_size(ledger) > sum(unsigned_at_start[:2]):
            sign_log(ledger, key, unsigned_at_start)  # the gate_memory event, signed
    if out is not None:
        with place(out):
            write_verdicts(result, out, fmt)
    print_summary(result)
    if not result.batch.accepted:
        raise typer.Exit(1)


def _logged_size(engine: Engine) -> int:
    """Events now in the log: signed ones plus those past the newest checkpoint."""
    signed, unsigned, _ = unsigned_events(engine)
    return signed + unsigned


def write_verdicts(result: GateResult, out: Path, fmt: VerdictFormat) -> None:
    private_out(out)
    batch = result.batch
    summary = {
        "batch_id": batch.batch_id,
        "manifest_sha256": batch.manifest_sha256,
        "accepted": batch.accepted,
        "resubmission": batch.resubmission,
        "reason": batch.reason,
        "message": batch.message,
        "problems": [{"reason": r, "message": m} for r, m in batch.problems],
        "policy_version": batch.policy_version,
        "policy_sha256": batch.policy_sha256,
        "received_at": batch.received_at.isoformat() if batch.received_at else None,
    }
    (out / "batch-verdict.json").write_text(json.dumps(summary, indent=2) + "\n")
    if result.verdicts is not None:
        if fmt is VerdictFormat.parquet:
            pq.write_table(result.verdicts, out / "verdicts.parquet", compression="zstd")
        else:
            write_arrow_csv(result.verdicts, out / "verdicts.csv")


def print_summary(result: GateResult) -> None:
    batch = result.batch
    if result.verdicts is None:
        label = "RE-SUBMISSION" if batch.resubmission else f"REFUSED ({batch.reason})"
        console.print(plain(f"batch {batch.batch_id or '?'}: {label}", style="bold"))
        console.print(plain(batch.message), highlight=False)
        for reason, message in batch.problems[1:]:
            console.print(plain(f"  also {reason}: {message}"), highlight=False)
        return
    codes = Counter(
        code
        for text in result.verdicts.column("reason_codes").to_pylist()
        for code in split_codes(text)
    )
    proceed = sum(result.verdicts.column("proceed").to_pylist())
    total = result.verdicts.num_rows
    table = Table(title=plain(f"gate: batch {batch.batch_id} (policy {batch.policy_version})"))
    table.add_column("reason code")
    table.add_column("subjects", justify="right")
    for code, count in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(plain(code), f"{count:,}")
    table.add_section()
    table.add_row("[bold]rejected[/]", f"{total - proceed:,}")
    table.add_row("[bold]proceed to matching[/]", f"{proceed:,}")
    table.add_row("[bold]total[/]", f"{total:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("gate")(gate)
