"""`taxgate schema`: export the JSON Schemas of the exchange formats."""

from __future__ import annotations

from pathlib import Path

import typer

from taxgate.cli.console import console, plain
from taxgate.formats.schema import write_schemas


def schema(
    out: Path = typer.Option(Path("schemas"), "--out", help="Directory to write the schemas to."),
) -> None:
    """Write one JSON Schema per record and manifest of the exchange formats.

    Example: taxgate schema --out docs/schemas
    """
    for path in write_schemas(out):
        console.print(plain(f"wrote {path}"))


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
