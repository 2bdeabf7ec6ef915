"""`taxgate report accounting|batch`: the accounting of disclosures, and one batch's story."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from taxgate.cli.console import console, err_console, plain, show_fields
from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.formats.csvcells import write_csv_rows
from taxgate.home import private_file
from taxgate.ledger.accounting import (
    CSV_COLUMNS,
    Totals,
    accounting_html,
    accounting_rows,
    batch_report,
    totals_table,
    write_csv,
)
from taxgate.ledger.database import open_ledger
from taxgate.ledger.rows_audit import disagreements, read_secret

ISO_DATE = "%Y-%m-%d"
SHOWN_DISAGREEMENTS = 5  # the first few are named; `taxgate ledger verify` lists them all
HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."

report_app = typer.Typer(
    help="Report from the ledger: the accounting of disclosures, or one batch.",
    no_args_is_help=True,
)


class ReportFormat(StrEnum):
    csv = "csv"
    html = "html"


def _warn_if_tampered(problems: list[str]) -> None:
    """After a report: if its rows disagree with the log, say so on stderr and exit 1."""
    if not problems:
        return
    err_console.print(
        f"[bold red]WARNING[/]: {len(problems)} stored row(s) of this report disagree with the "
        "signed log, so its figures cannot be trusted. Run `taxgate ledger verify` for all.",
        highlight=False,
    )
    for message in problems[:SHOWN_DISAGREEMENTS]:
        err_console.print(plain(f"  {message}"), highlight=False, soft_wrap=True)
    raise typer.Exit(code=1)


def _totals(totals: Totals, *, to_stderr: bool = False) -> None:
    table = Table(title="totals", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, n in totals_table(totals):
        table.add_row(plain(label), str(n))
    (err_console if to_stderr else console).print(table)


@report_app.command("accounting")
def accounting(
    start: datetime = typer.Option(..., "--from", formats=[ISO_DATE], help="First day (UTC)."),
    end: datetime = typer.Option(..., "--to", formats=[ISO_DATE], help="Last day (UTC), kept."),
    fmt: ReportFormat = typer.Option(ReportFormat.csv, "--format", help="csv or html."),
    out: Path | None = typer.Option(
        None, "--out", help="File to write; CSV goes to standard output without it."
    ),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Every disclosure of the period (one CSV row each, or an HTML page with a chart), and totals.

    Example: taxgate report accounting --from 2025-08-01 --to 2025-08-31 --format html --out a.html
    """
    if fmt is ReportFormat.html and out is None:
        raise TaxgateError("the HTML report needs a file", "Add --out FILE.html.")
    settings = get_settings()
    engine = open_ledger(settings.ledger_url(home or settings.home))
    try:
        report = accounting_rows(engine, start.date(), end.date())
        secret = read_secret(home or settings.home)
        problems = disagreements(engine, secret)  # every batch: totals count them all
    finally:
        engine.dispose()
    if out is None:
        write_csv_rows(sys.stdout, CSV_COLUMNS, (r.csv_values() for r in report.rows),
                       lineterminator="\n")  # fmt: skip
        _totals(report.totals, to_stderr=True)
        _warn_if_tampered(problems)
        return
    private_file(out)  # the accounting names every disclosure: the user's alone
    if fmt is ReportFormat.html:
        out.write_text(accounting_html(report), encoding="utf-8")
    else:
        write_csv(report, out)
    _totals(report.totals)
    console.print(plain(f"{len(report.rows)} disclosure(s) written to {out}"))
    _warn_if_tampered(problems)


@report_app.command("batch")
def batch(
    batch_id: str = typer.Argument(..., help="The batch id of the request manifest."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """What happened to one batch: gate reasons, outcomes, reviews, release, recalls, purge.

    Example: taxgate report batch B-2025-08-01
    """
    settings = get_settings()
    engine = open_ledger(settings.ledger_url(home or settings.home))
    try:
        r = batch_report(engine, batch_id)
        problems = disagreements(engine, read_secret(home or settings.home), [batch_id])
    finally:
        engine.dispose()
    show_fields(
        ("batch", r.batch_id),
        ("from", r.requesting_agency),
        ("statute", r.statute),
        ("batch date", r.batch_date.isoformat()),
        ("received", f"{r.received_at:%Y-%m-%d %H:%M} UTC"),
        ("status", r.status),
        ("subjects", r.subject_count),
        ("proceeded", r.proceeded),
        ("rejected", r.rejected),
        *((f"  {code}", n) for code, n in r.gate_reasons.items()),
        *((f"decided {outcome}", n) for outcome, n in r.outcomes.items()),
        *((f"reviewed {resolution}", n) for resolution, n in r.reviews.items()),
        ("disclosures", r.disclosures),
        ("released", f"{r.released_at:%Y-%m-%d %H:%M} UTC" if r.released_at else "no"),
        ("personal data", f"{r.personal_data_rows} row(s) held" if r.personal_data_rows
         else "purged (or never held)"),
        ("recalled", r.recalled_disclosures),
    )  # fmt: skip
    for notice in r.recalls:
        state = (
            f"acknowledged by {notice.acknowledged_by} {notice.acknowledged_at:%Y-%m-%d}"
            if notice.acknowledged_at
            else "OUTSTANDING"
        )
        show_fields(("recall", f"{notice.notice_id} issued {notice.issued_at:%Y-%m-%d}: {state}"))
    _warn_if_tampered(problems)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
