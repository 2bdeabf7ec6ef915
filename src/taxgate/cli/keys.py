"""`taxgate keys`: create the signing keys each agency signs its manifests with."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from taxgate.cli.console import show_fields
from taxgate.formats.keys import new_key, write_key_pair

ISO_DATE = "%Y-%m-%d"
keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")


@keys_app.command("new")
def new(
    agency: str = typer.Option(..., "--agency", help="Agency the key signs for."),
    signer: str = typer.Option(..., "--signer", help="Name of the person holding the key."),
    title: str = typer.Option(..., "--title", help="The signer's official title."),
    out: Path = typer.Option(..., "--out", help="Directory to write the key pair to."),
    created_on: datetime | None = typer.Option(
        None, "--created-on", formats=[ISO_DATE], help="Creation date; today if not given."
    ),
) -> None:
    """Create an Ed25519 key pair: a private .key and a .pub.json for the other agency's keyring.

    Example: taxgate keys new --agency "Agency A" --signer "Pat Doe" --title Director --out keys
    """
    day = created_on.date() if created_on else date.today()
    private_key, record = new_key(agency, signer, title, created_on=day)
    key_path, record_path = write_key_pair(private_key, record, out)
    show_fields(
        ("key id", record.key_id),
        ("private key", f"{key_path}  (keep secret)"),
        ("public key", f"{record_path}  (share for the keyring)"),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys", help="Create signing keys.")
