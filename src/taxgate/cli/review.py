"""`taxgate review list|resolve|release`: a disclosure officer settles REVIEW decisions."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import typer
from rich.table import Table

from taxgate.cli.console import console, plain
from taxgate.cli.signing import sign_log
from taxgate.config import get_settings
from taxgate.decide.reviews import load_resolutions, pending_reviews, resolve
from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome
from taxgate.ledger.database import open_ledger
from taxgate.ledger.secret import load_or_create_secret
from taxgate.pipeline import DECISIONS_FILE, release_reviewed
from taxgate.policy import load_policy

review_app = typer.Typer(
    help="Settle REVIEW decisions: no response leaves until every one is resolved.",
    no_args_is_help=True,
)

OUT_HELP = "The --out directory of `taxgate process` for the batch."
PROBABILITY_DIGITS = 6


def _decisions(out: Path):
    path = out / DECISIONS_FILE
    if not path.is_file():
        raise TaxgateError(
            "no decisions here", "Name the --out directory of `taxgate process`.", file=path
        )
    return pq.read_table(path)


@review_app.command("list")
def list_reviews(out: Path = typer.Argument(..., help=OUT_HELP)) -> None:
    """Show the REVIEW decisions still open, and the resolutions made so far.

    Example: taxgate review list answer
    """
    decisions = _decisions(out)
    resolutions = load_resolutions(out)
    pending = pending_reviews(decisions, resolutions)
    table = Table(title=plain(f"{pending.num_rows} open review(s)"))
    for column in ("row", "subject", "taxpayer", "probability", "reasons"):
        table.add_column(column)
    for d in pending.to_pylist():
        table.add_row(
            str(d["row"]), plain(d["subject_id"] or ""), plain(d["tin"] or ""),
            f"{d['match_probability']:.{PROBABILITY_DIGITS}f}", plain(d["reasons"] or ""),
        )  # fmt: skip
    console.print(table)
    for r in resolutions.values():
        console.print(
            plain(
                f"resolved: row {r.row} {r.subject_id} -> {r.outcome} by {r.officer} "
                f"at {r.reviewed_at:%Y-%m-%d %H:%M} UTC: {r.note}"
            ),
            highlight=False,
        )
    console.print("explain any of them: taxgate explain OUT SUBJECT_ID [--chart FILE.html]")


@review_app.command("resolve")
def resolve_review(
    out: Path = typer.Argument(..., help=OUT_HELP),
    subject_id: str = typer.Argument(..., help="The subject's reference."),
    outcome: Outcome = typer.Option(..., "--outcome", help="CONFIRMED or NOT_CONFIRMED."),
    officer: str = typer.Option(..., "--officer", help="Your name, as the accounting shows it."),
    note: str = typer.Option(..., "--note", help="What you checked, and why this outcome."),
) -> None:
    """Resolve one REVIEW decision; final once recorded.

    Example: taxgate review resolve answer S-000123 --outcome NOT_CONFIRMED --officer "A. Officer"
    --note "date of birth differs from the filing"
    """
    resolution = resolve(out, _decisions(out), subject_id, outcome, officer, note)
    left = pending_reviews(_decisions(out), load_resolutions(out)).num_rows
    console.print(
        plain(
            f"row {resolution.row} {subject_id}: {resolution.outcome} by {resolution.officer}; "
            f"{left} review(s) still open"
        ),
        highlight=False,
    )


@review_app.command("release")
def release(
    manifest: Path = typer.Argument(..., help="The batch's manifest.json."),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    key: Path = typer.Option(..., "--key", help="The disclosing agency's private signing key."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML (default: shipped)."),
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
) -> None:
    """Write and sign the response once every REVIEW is resolved.

    Example: taxgate review release w/batch/manifest.json --out answer --key w/keys/x.key
    """
    settings = get_settings()
    home = home or settings.home
    ledger = open_ledger(settings.ledger_url(home))
    try:
        _, path = release_reviewed(
            manifest,
            home=home,
            policy=load_policy(policy),
            key_path=key,
            out=out,
            ledger=ledger,
            secret=load_or_create_secret(home),
        )
    except TaxgateError:
        sign_log(ledger, key)  # a release killed before its checkpoint is signed now
        raise
    finally:
        ledger.dispose()
    console.print(plain(f"response written and signed: {path}"))


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
