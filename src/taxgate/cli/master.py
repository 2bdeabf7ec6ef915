"""`taxgate master`: load the filings into the master index the matcher reads."""

from __future__ import annotations

from pathlib import Path

import typer

from taxgate.cli.console import progress_bar, show_fields
from taxgate.config import get_settings
from taxgate.match.export import Manifest
from taxgate.match.master import export_parquet, load_filings

master_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")
MIB = 1 << 20


@master_app.command("load")
def load(
    filings: list[Path] = typer.Argument(..., help="Filings files (.parquet, .csv, .jsonl)."),
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
    rejects: Path | None = typer.Option(
        None,
        "--rejects",
        help="CSV of the rows set aside (default HOME/rejects/<file>-<time>.csv).",
    ),
) -> None:
    """Append new tax years of filings to HOME/master.duckdb; a year already loaded is refused.

    Rows that cannot be loaded (an empty name, a TIN not of nine digits, ...) are set aside in
    a reject file with row, field and reason; a file with more than the policy's
    [master] max_reject_share of its rows set aside is refused as a whole.

    It also writes the master as partitioned Parquet for the Spark backend (HOME/master-parquet,
    or TAXGATE_MASTER_PARQUET_DIR).

    Example: taxgate master load world/filings.parquet --home ~/.taxgate
    """
    home = home or get_settings().home
    with progress_bar() as bar:
        task = bar.add_task("filings", total=None)
        derived = bar.add_task("derived tables", total=None, start=False)

        def rebuilding(step: int, steps: int) -> None:
            bar.start_task(derived)
            bar.update(derived, completed=step, total=steps)

        summary = load_filings(
            filings,
            home,
            lambda done, total: bar.update(task, completed=done, total=total),
            rebuilding,
            rejects=rejects,
        )
    set_aside = [("rejected", f"{summary.rejected:,} rows")]
    if summary.rejects is not None:
        set_aside += [(f"  {f}", f"{r}: {n:,}") for f, r, n in summary.reasons]
        set_aside.append(("reject file", summary.rejects))
    show_fields(
        ("master", summary.master),
        (
            "appended",
            f"{summary.rows:,} filings, tax years {', '.join(map(str, summary.tax_years))}",
        ),
        *set_aside,
        ("filings", f"{summary.filings:,}"),
        ("taxpayers", f"{summary.taxpayers:,}"),
        ("addresses", f"{summary.addresses:,}"),
        ("seconds", f"{summary.seconds:.1f}"),
        ("file size", f"{summary.file_bytes / MIB:,.1f} MiB"),
        *(_parquet_fields(summary.parquet) if summary.parquet else ()),
    )


@master_app.command("export")
def export(
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
) -> None:
    """Write the master's Parquet export for the Spark backend again from HOME/master.duckdb.

    Every load writes it; run this for a master loaded by an older taxgate, or after a load
    was killed between its swap and its export (the Spark backend then refuses the stale
    export and names this command). The master's data does not change.

    Example: taxgate master export --home ~/.taxgate
    """
    home = home or get_settings().home
    show_fields(*_parquet_fields(export_parquet(home)))


def _parquet_fields(parquet: Manifest) -> tuple[tuple[str, object], ...]:
    rows = parquet.rows.get("taxpayer_addresses", 0)
    return (
        ("parquet export", parquet.folder),
        ("  version", parquet.version),
        ("  addresses", f"{rows:,}"),
        ("  size", f"{parquet.bytes / MIB:,.1f} MiB in {len(parquet.files):,} files"),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(
        master_app,
        name="master",
        help="Load filings into the master index (and its Parquet export for Spark).",
    )
