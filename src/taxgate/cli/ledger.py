"""`taxgate ledger`: sign the log's tree head, prove events are in it, and audit it end to end."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import Engine

from taxgate.cli.console import console, err_console, progress_bar, show_fields
from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_keyring
from taxgate.ledger import merkle
from taxgate.ledger.audit import AuditReport, verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.log import make_checkpoint, prove_inclusion
from taxgate.ledger.rows_audit import read_secret, rows_line

ledger_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")

HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."
JSON_INDENT = 2
SHOWN_FAILURES = 200  # failures printed one per line; the rest are counted


def _ledger(home: Path | None) -> Engine:
    settings = get_settings()
    return open_ledger(settings.ledger_url(home or settings.home))


@ledger_app.command("checkpoint")
def checkpoint_command(
    key: Path = typer.Option(..., "--key", help="The disclosing agency's private signing key."),
    out: Path | None = typer.Option(None, "--out", help="Also write the signed note here."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Sign the tree head over every event logged so far and print it as a signed note.

    Keep the note: `taxgate ledger verify --since NOTE` later proves the log only grew.

    Example: taxgate ledger checkpoint --key keys/ed25519_x.key --out cp-2025-08-01.txt
    """
    engine = _ledger(home)
    try:
        cp, note = make_checkpoint(engine, key)
    finally:
        engine.dispose()
    typer.echo(note, nl=False)
    if out is not None:
        out.write_text(note, encoding="utf-8")
        err_console.print(f"checkpoint of size {cp.size} written to {out}", highlight=False)


def _event_ref(text: str) -> int | str:
    """A bare number is a seq; anything else an event key (keys always hold a ':')."""
    return int(text) if text.isdigit() else text


@ledger_app.command("prove")
def prove_command(
    event: str = typer.Argument(..., help="Event key (e.g. decision:B-1:17) or seq number."),
    size: int | None = typer.Option(None, "--size", help="Tree size (default: the whole log)."),
    as_json: bool = typer.Option(False, "--json", help="Print the proof as JSON."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Prove that one event is in the log's tree (RFC 9162 inclusion proof).

    The JSON checks with merkle.verify_inclusion(seq, tree_size, leaf_hash, proof, root);
    `checkpoint` holds the signed note for that size when one was made.

    Example: taxgate ledger prove decision:B-1:17 --size 4096 --json
    """
    engine = _ledger(home)
    try:
        with engine.connect() as conn:
            proof = prove_inclusion(conn, _event_ref(event), size)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(proof, indent=JSON_INDENT, ensure_ascii=False))
        return
    verified = merkle.verify_inclusion(
        proof["seq"],
        proof["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    show_fields(
        ("event", f"seq {proof['seq']} (key {proof['event_key']})"),
        ("tree size", proof["tree_size"]),
        ("leaf hash", proof["leaf_hash"]),
        ("root", proof["root"]),
        *((f"proof[{i}]", h) for i, h in enumerate(proof["proof"])),
        ("checkpoint", "signed note held" if proof["checkpoint"] else "none at this size"),
        ("verified", "yes" if verified else "NO"),
        ("body", proof["body"]),
    )


def print_audit(report: AuditReport, keyring_dir: Path) -> None:
    """The auditor's summary: what was rebuilt, every failure, and the verdict."""
    kept = "-" if report.since_size is None else f"your checkpoint (size {report.since_size})"
    show_fields(
        ("events", report.tree_size),
        ("root", report.root.hex()),
        ("checkpoints", report.checkpoints_checked),
        ("since", kept),
        ("keyring", keyring_dir),
        ("tables", rows_line(report.rows)),
    )
    for failure in report.failures[:SHOWN_FAILURES]:
        console.print(f"[bold red]FAIL[/] {failure.message}", highlight=False, soft_wrap=True)
    hidden = len(report.failures) - SHOWN_FAILURES
    if hidden > 0 or report.unlisted_failures:
        console.print(f"... and {max(hidden, 0) + report.unlisted_failures} more failures")
    if report.ok:
        console.print(
            "[bold green]verified[/]: every event, checkpoint, proof and table row checks out"
        )
    else:
        total = len(report.failures) + report.unlisted_failures
        console.print(
            f"[bold red]{total} failure(s)[/]: the ledger is not as it was logged and signed"
        )


@ledger_app.command("verify")
def verify_command(
    since: Path | None = typer.Option(
        None, "--since", help="A checkpoint note you kept: the log must have only grown since."
    ),
    keyring: Path | None = typer.Option(
        None, "--keyring", help="Trusted *.pub.json keys (default: HOME/keyring)."
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Rebuild the log from its stored events and check it, its checkpoints and --since.

    Exit code 0 if everything verifies, 1 with each failure listed otherwise.

    Example: taxgate ledger verify --since cp-2025-08-01.txt --keyring auditor-keys
    """
    keyring_dir = keyring or (home or get_settings().home) / "keyring"
    keys = load_keyring(keyring_dir)
    kept = None
    if since is not None:
        try:
            kept = since.read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxgateError(
                f"cannot read your checkpoint ({exc.strerror})",
                "Give the file `taxgate ledger checkpoint --out` wrote.",
                file=since,
            ) from exc
    engine = _ledger(home)
    try:
        with progress_bar() as bar:
            task = bar.add_task("rebuilding the log", total=None)
            report = verify_log(
                engine,
                keys,
                kept,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                secret=read_secret(home or get_settings().home),
            )
    finally:
        engine.dispose()
    print_audit(report, keyring_dir)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(
        ledger_app, name="ledger", help="Checkpoint, prove and audit the transparency log."
    )
