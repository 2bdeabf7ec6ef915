"""`taxgate world`: generate a synthetic world (filings, a signed request batch, keys, truth)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from taxgate.cli.console import console, plain, progress_bar
from taxgate.errors import TaxgateError
from taxgate.gate.receipt import receipt_time
from taxgate.world import WorldConfig, WorldSummary, build_world
from taxgate.world.build import DEFAULT_CHUNK_SIZE, check_out_dir
from taxgate.world.cases import CASES


def parse_tax_years(text: str) -> tuple[int, ...]:
    """'2022-2024' or '2022,2023,2024' -> (2022, 2023, 2024)."""
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-", 1))
            return tuple(range(first, last + 1))
        return tuple(int(x) for x in text.split(","))
    except ValueError as exc:
        raise TaxgateError(
            f"--tax-years {text!r} is not a range of years", "Write e.g. 2022-2024."
        ) from exc


def summary_table(summary: WorldSummary) -> Table:
    """Subjects by case (catalogue order) and expected outcome."""
    outcomes = list(summary.by_outcome)
    table = Table(title=f"{summary.subjects:,} subjects by case and expected outcome")
    table.add_column("case", no_wrap=True, min_width=max(len(c.name) for c in CASES))
    for o in outcomes:
        table.add_column(o, justify="right")
    table.add_column("total", justify="right")
    for case in [c.name for c in CASES if c.name in summary.by_case]:
        cell = summary.by_case[case]
        table.add_row(
            case,
            *[f"{cell.get(o, 0):,}" if cell.get(o) else "" for o in outcomes],
            f"{sum(cell.values()):,}",
        )
    table.add_section()
    table.add_row("all", *[f"{summary.by_outcome[o]:,}" for o in outcomes], f"{summary.subjects:,}")
    return table


def world(
    people: int = typer.Option(..., "--people", help="Filers in the world."),
    subjects: int = typer.Option(..., "--subjects", help="Rows in the request batch."),
    present_fraction: float = typer.Option(
        ..., "--present-fraction", help="Share of valid requests about real filers (0-1)."
    ),
    seed: int = typer.Option(..., "--seed", help="Same seed and arguments, same bytes."),
    out: Path = typer.Option(..., "--out", help="Directory to write the world into."),
    batch_date: str = typer.Option(
        None,
        "--batch-date",
        help="Batch date YYYY-MM-DD, or 'today' (the gateway's UTC day). Default: 1 Nov after "
        "the last season, a fixed date for the same bytes; `taxgate process` judges a batch by "
        "the day it receives it and refuses one dated [batch] max_manifest_age_days before.",
    ),
    tax_years: str = typer.Option("2022-2024", "--tax-years", help="e.g. 2022-2024."),
    chunk_size: int = typer.Option(
        DEFAULT_CHUNK_SIZE, "--chunk-size", help="People per chunk (Parquet row group)."
    ),
    noise: str = typer.Option(
        "default",
        "--noise",
        help="Keying errors (typos, spaces, ZIP slips, initials, other given names) in a share "
        "of filings and valid requests: 'default', or 'none' for the clean world of before.",
    ),
) -> None:
    """Generate filings, a signed request batch about some people, keys and the ground truth.

    Example: taxgate world --people 20000 --subjects 2000 --present-fraction 0.3 --seed 7 --out w
    """
    check_out_dir(out)
    try:
        if batch_date == "today":
            day: date | None = receipt_time().date()
        else:
            day = date.fromisoformat(batch_date) if batch_date else None
    except ValueError as exc:
        raise TaxgateError(
            f"--batch-date {batch_date!r} is not YYYY-MM-DD or 'today'", "Fix it."
        ) from exc
    try:
        config = WorldConfig(
            people=people,
            subjects=subjects,
            present_fraction=present_fraction,
            seed=seed,
            batch_date=day,
            tax_years=parse_tax_years(tax_years),
            chunk_size=chunk_size,
            noise=noise,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise TaxgateError(f"{where}: {first['msg']}", "See `taxgate world --help`.") from exc
    with progress_bar() as bar:
        task = bar.add_task("people", total=people)
        summary = build_world(config, out, lambda done, _total: bar.update(task, completed=done))
    console.print(summary_table(summary))
    lines = [
        f"{summary.people:,} people, {summary.filings:,} returns -> {summary.paths.filings}",
        f"batch -> {summary.paths.manifest} (signed by {summary.requesting_key_id})",
        f"truth -> {summary.paths.truth}; keys -> {summary.paths.keys}",
    ]
    n = summary.noise
    lines.append(
        f"noise {n['level']}: {n['noised_filings']:,} returns and {n['noised_requests']:,} "
        f"requests carry keying errors -> {summary.paths.parameters}"
    )
    if summary.fallbacks:
        lines.append(f"{summary.fallbacks} trait cases fell back to plain ones")
    for line in lines:
        console.print(plain(line))


def register(app: typer.Typer) -> None:
    app.command("world")(world)
