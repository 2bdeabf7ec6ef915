"""`taxgate batch`: sign a manifest before sending it, verify one on arrival."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from taxgate.cli.console import console, plain, show_fields
from taxgate.formats.keys import load_keyring
from taxgate.formats.manifest import RequestManifest, ResponseManifest, SignedManifest
from taxgate.formats.signing import sign_manifest_file, verify_manifest

EXIT_INVALID = 1
batch_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")


def _manifest_type(response: bool) -> type[SignedManifest]:
    return ResponseManifest if response else RequestManifest


@batch_app.command("sign")
def sign(
    manifest: Path = typer.Argument(..., help="The manifest JSON to sign in place."),
    key: Path = typer.Option(..., "--key", help="Private .key file (its .pub.json beside it)."),
    response: bool = typer.Option(
        False, "--response", help="The manifest is a response, not a request."
    ),
) -> None:
    """Sign a manifest in place: pin its table's SHA-256 and row count, then sign.

    Example: taxgate batch sign batch-001/manifest.json --key keys/ed25519_0123456789abcdef.key
    """
    signed = sign_manifest_file(manifest, key, _manifest_type(response))
    show_fields(
        ("signed", manifest),
        ("batch id", getattr(signed, "batch_id", "")),
        ("rows", getattr(signed, signed.count_field)),
        ("sha256", getattr(signed, signed.digest_field)),
        ("key id", signed.signer.key_id),
    )


@batch_app.command("verify")
def verify(
    manifest: Path = typer.Argument(..., help="The manifest JSON to verify."),
    keyring: Path = typer.Option(..., "--keyring", help="Directory of trusted .pub.json records."),
    response: bool = typer.Option(
        False, "--response", help="The manifest is a response, not a request."
    ),
) -> None:
    """Verify a manifest's signature, key and table file; exit 1 listing every problem found.

    Example: taxgate batch verify batch-001/manifest.json --keyring keyring
    """
    loaded = _manifest_type(response).load(manifest)
    records = load_keyring(keyring)
    problems = verify_manifest(loaded, manifest, records, keyring_source=str(keyring))
    if not problems:
        record = records[loaded.signer.key_id]
        console.print(
            Text.assemble(
                ("valid", "bold green"),
                plain(
                    f": signed with {record.key_id} by {record.signer}, {record.title}, "
                    f"{record.agency}"
                ),
            ),
            soft_wrap=True,
        )
        return
    table = Table(title=plain(f"{manifest}: {len(problems)} problem(s)"), show_lines=True)
    table.add_column("code", style="bold red", no_wrap=True)
    table.add_column("message", overflow="fold")  # fold, not cut, long digests
    for problem in problems:
        table.add_row(plain(problem.code), plain(problem.message))
    console.print(table)
    # SystemExit, not typer.Exit: run() calls the app with standalone_mode=False, where click
    # turns typer.Exit into a return value that run() does not pass on as the exit code.
    sys.exit(EXIT_INVALID)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch", help="Sign and verify batch manifests.")
