"""`taxgate ledger`: sign the log's tree head, prove events are in it, and audit it end to end.

Everything but `checkpoint` only reads: the ledger is opened read-only and never migrated, so an
auditor can work on a read-only copy or with a read-only database role; `check-bundle` needs
no ledger and no home at all, only the disclosing agency's public key record.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import typer
from rich.text import Text
from sqlalchemy import Engine

from taxgate.cli.console import console, err_console, plain, progress_bar, show_fields
from taxgate.cli.signing import checkpoint_with_warning
from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.formats.keys import PublicKeyRecord, load_keyring, load_public_key
from taxgate.ledger import merkle
from taxgate.ledger.audit import AuditReport, verify_log
from taxgate.ledger.bundle import check_bundle, export_consistency, export_inclusion
from taxgate.ledger.database import open_ledger, open_ledger_readonly
from taxgate.ledger.log import prove_inclusion
from taxgate.ledger.rows_audit import read_secret, rows_line
from taxgate.policy import load_policy

ledger_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")

HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."
JSON_INDENT = 2
SHOWN_FAILURES = 200  # failures printed one per line; the rest are counted


def _ledger(home: Path | None) -> Engine:
    settings = get_settings()
    return open_ledger(settings.ledger_url(home or settings.home))


def _reader(home: Path | None) -> Engine:
    """The ledger opened to read only: no migration, no write (works on a read-only copy)."""
    settings = get_settings()
    return open_ledger_readonly(settings.ledger_url(home or settings.home))


def _write_json(data: dict, out: Path) -> None:
    try:
        out.write_text(json.dumps(data, indent=JSON_INDENT, ensure_ascii=False) + "\n", "utf-8")
    except OSError as exc:
        raise TaxgateError(
            f"cannot write the bundle ({exc.strerror})", "Give a writable --out path.", file=out
        ) from exc


@ledger_app.command("checkpoint")
def checkpoint_command(
    key: Path = typer.Option(..., "--key", help="The disclosing agency's private signing key."),
    out: Path | None = typer.Option(None, "--out", help="Also write the signed note here."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Audit the log, then sign the tree head over every event logged so far and print it.

    A log that fails the audit is refused, with its first failure; run `taxgate ledger
    verify` to see them all. Keep the note: `taxgate ledger verify --since NOTE` later
    proves the log only grew.

    Example: taxgate ledger checkpoint --key keys/ed25519_x.key --out cp-2025-08-01.txt
    """
    engine = _ledger(home)
    try:
        cp, note = checkpoint_with_warning(engine, key)
    finally:
        engine.dispose()
    typer.echo(note, nl=False)
    if out is not None:
        out.write_text(note, encoding="utf-8")
        err_console.print(plain(f"checkpoint of size {cp.size} written to {out}"), highlight=False)


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
    engine = _reader(home)
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


def print_audit(report: AuditReport, keyring_dir: Path | str) -> None:
    """The auditor's summary: what was rebuilt, every failure and warning, and the verdict."""
    kept = "-" if report.since_size is None else f"your checkpoint (size {report.since_size})"
    show_fields(
        ("events", report.tree_size),
        ("root", report.root.hex()),
        ("checkpoints", report.checkpoints_checked),
        ("signed up to", report.signed_size),
        ("unsigned", report.unsigned_events),
        ("since", kept),
        ("keys trusted", keyring_dir),
        ("tables", rows_line(report.rows)),
    )
    for warning in report.warnings:
        console.print(
            Text.assemble(("WARNING", "bold yellow"), " ", plain(warning)),
            highlight=False,
            soft_wrap=True,
        )
    for failure in report.failures[:SHOWN_FAILURES]:
        console.print(
            Text.assemble(("FAIL", "bold red"), " ", plain(failure.message)),
            highlight=False,
            soft_wrap=True,
        )
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


def _inside(path: Path, home: Path) -> bool:
    return path.resolve().is_relative_to(home.resolve())


def _trusted_keys(
    public_keys: list[Path], keyring: Path | None, home: Path
) -> tuple[dict[str, PublicKeyRecord], str, str | None]:
    """The keys verify trusts, where they came from, and a warning if the home supplied them.

    Keys in the home's own keyring prove little: whoever can write the home can drop a key
    there and re-sign a rewritten log. The auditor should pin the agency's key record.
    """
    if public_keys:
        records = [load_public_key(p) for p in public_keys]
        keys = {r.key_id: r for r in records}
        sources = list(public_keys)
        label = ", ".join(str(p) for p in public_keys)
    else:
        directory = keyring or home / "keyring"
        keys = load_keyring(directory)
        sources = [directory]
        label = str(directory)
    at_home = [p for p in sources if _inside(p, home)]
    if not at_home:
        return keys, label, None
    writable = any(os.access(p, os.W_OK) for p in at_home)
    return (
        keys,
        label,
        (
            f"the trusted keys come from {', '.join(map(str, at_home))}, inside the taxgate home"
            f"{' and writable' if writable else ''}: anyone who can write the home can add a key "
            "there and re-sign a rewritten log. Verify with --public-key naming the disclosing "
            "agency's .pub.json kept outside the home (docs/ledger.md, auditor practice)"
        ),
    )


@ledger_app.command("verify")
def verify_command(
    since: Path | None = typer.Option(
        None, "--since", help="A checkpoint note you kept: the log must have only grown since."
    ),
    public_key: list[Path] = typer.Option(
        [], "--public-key", help="Pin the disclosing agency's .pub.json (repeatable)."
    ),
    keyring: Path | None = typer.Option(
        None, "--keyring", help="Trusted *.pub.json keys (default: HOME/keyring)."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML (default: shipped)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Rebuild the log from its stored events and check it, its checkpoints and --since.

    Reads only (a read-only copy or role will do). Events past the newest checkpoint are
    reported as unsigned, and fail once older than the policy's [ledger]
    unsigned_grace_minutes. Trusting keys from the home's own keyring prints a warning: pin
    the agency's key with --public-key. Exit code 0 if everything verifies, 1 otherwise.

    Example: taxgate ledger verify --since cp-2025-08-01.txt --public-key agency.pub.json
    """
    home_dir = home or get_settings().home
    keys, source, warning = _trusted_keys(public_key, keyring, home_dir)
    grace = timedelta(minutes=load_policy(policy).ledger.unsigned_grace_minutes)
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
    engine = _reader(home)
    try:
        with progress_bar() as bar:
            task = bar.add_task("rebuilding the log", total=None)
            report = verify_log(
                engine,
                keys,
                kept,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                unsigned_grace=grace,
                secret=read_secret(home_dir),
            )
    finally:
        engine.dispose()
    report.pinned_keys = warning is None
    if warning is not None:
        report.warnings.insert(0, warning)
    print_audit(report, source)
    if not report.ok:
        raise typer.Exit(code=1)


@ledger_app.command("export-proof")
def export_proof_command(
    event: str = typer.Argument(..., help="Event key (e.g. decision:B-1:17) or seq number."),
    out: Path = typer.Option(..., "--out", help="Where to write the bundle (JSON)."),
    size: int | None = typer.Option(
        None, "--size", help="Size of the kept checkpoint to prove against (default: newest)."
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Write an offline proof bundle: the event, its inclusion proof and the signed checkpoint.

    An auditor checks it with `taxgate ledger check-bundle`, without the database.

    Example: taxgate ledger export-proof decision:B-1:17 --out decision-B-1-17.json
    """
    engine = _reader(home)
    try:
        with engine.connect() as conn:
            bundle = export_inclusion(conn, _event_ref(event), size)
    finally:
        engine.dispose()
    _write_json(bundle, out)
    console.print(
        f"event seq {bundle['seq']} proven in the signed tree of size {bundle['tree_size']}: {out}",
        markup=False,
        highlight=False,
    )


@ledger_app.command("export-consistency")
def export_consistency_command(
    old_size: int = typer.Argument(..., help="Size of the older kept checkpoint."),
    new_size: int | None = typer.Argument(None, help="Size of the newer one (default: newest)."),
    out: Path = typer.Option(..., "--out", help="Where to write the bundle (JSON)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Write an offline bundle proving the log only grew between two kept checkpoints.

    Example: taxgate ledger export-consistency 4096 --out grew-since-4096.json
    """
    engine = _reader(home)
    try:
        with engine.connect() as conn:
            bundle = export_consistency(conn, old_size, new_size)
    finally:
        engine.dispose()
    _write_json(bundle, out)
    console.print(f"consistency of the kept checkpoints proven: {out}", markup=False)


@ledger_app.command("check-bundle")
def check_bundle_command(
    bundle: Path = typer.Argument(..., help="A bundle from export-proof or export-consistency."),
    public_key: Path = typer.Option(
        ..., "--public-key", help="The disclosing agency's .pub.json that you hold."
    ),
) -> None:
    """Verify a proof bundle offline, against the pinned public key alone (no database, no home).

    Exit code 0 if it verifies, 1 (with what failed) otherwise.

    Example: taxgate ledger check-bundle decision-B-1-17.json --public-key agency.pub.json
    """
    record = load_public_key(public_key)
    try:
        text = bundle.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxgateError(
            f"cannot read the bundle ({exc})", "Give the file export-* wrote.", file=bundle
        ) from exc
    try:
        checked = check_bundle(text, record)
    except TaxgateError as exc:
        console.print(
            Text.assemble(("FAIL", "bold red"), " ", plain(exc)), highlight=False, soft_wrap=True
        )
        raise typer.Exit(code=1) from exc
    cp = checked.checkpoint
    signed = f"{cp.origin}, tree size {cp.size}, signed {cp.timestamp:%Y-%m-%d %H:%M:%S} UTC"
    if checked.kind == "inclusion":
        what = f"event seq {checked.seq} (key {checked.event_key}) is in the log {signed}"
    else:
        assert checked.old_checkpoint is not None
        what = f"the log of size {checked.old_checkpoint.size} is a prefix of {signed}"
    console.print(
        Text.assemble(("verified", "bold green"), " ", plain(f"by key {record.key_id}: {what}")),
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(
        ledger_app, name="ledger", help="Checkpoint, prove and audit the transparency log."
    )
