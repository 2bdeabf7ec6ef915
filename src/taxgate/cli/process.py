"""`taxgate process` and `taxgate explain`: run a batch through every stage; show why."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import typer
from rich.table import Table

from taxgate.cli.console import console, plain
from taxgate.cli.gate import print_summary
from taxgate.config import get_settings
from taxgate.decide.explain import explanation_table
from taxgate.errors import TaxgateError
from taxgate.faults import place
from taxgate.formats.keys import load_keyring
from taxgate.home import private_file
from taxgate.ledger.database import open_ledger
from taxgate.ledger.secret import load_or_create_secret
from taxgate.match.train import load_model, model_path, model_sha256
from taxgate.match.waterfall import waterfall_html
from taxgate.pipeline import DECISIONS_FILE, REVIEW_FILE, ProcessResult, process_batch
from taxgate.policy import load_policy


class BackendChoice(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def process(
    manifest: Path = typer.Argument(..., help="The batch's manifest.json."),
    out: Path = typer.Option(..., "--out", help="Directory for verdicts, decisions, response."),
    key: Path = typer.Option(..., "--key", help="The disclosing agency's private signing key."),
    keyring: Path | None = typer.Option(
        None, "--keyring", help="Trusted *.pub.json keys (default: HOME/keyring)."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML (default: shipped)."),
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
    backend: BackendChoice = typer.Option(BackendChoice.duckdb, "--backend", help="Engine."),
    spark_master: str | None = typer.Option(
        None,
        "--spark-master",
        help="Spark master for --backend spark: local[N] or spark://HOST:PORT "
        "(env TAXGATE_SPARK_MASTER, default local[2]).",
    ),
) -> None:
    """Gate, match, decide and answer one batch; write the signed response.

    Example: taxgate process w/batch/manifest.json --home h --key w/keys/ed25519_x.key --out a
    """
    settings = get_settings()
    home = home or settings.home
    keyring_dir = keyring or home / "keyring"
    with console.status("processing") as status, place(out):
        result = process_batch(
            manifest,
            home=home,
            keyring=load_keyring(keyring_dir),
            policy=load_policy(policy),
            ledger=open_ledger(settings.ledger_url(home)),
            secret=load_or_create_secret(home),
            key_path=key,
            out=out,
            backend=backend.value,
            spark_master=spark_master,
            keyring_source=str(keyring_dir),
            chunk_subjects=settings.match_chunk_subjects,
            announce=lambda stage: status.update(f"{stage}..."),
            progress=lambda done, total: status.update(f"matched {done:,} of {total:,}"),
            lock_wait_seconds=settings.batch_lock_wait_seconds,
        )
    print_summary(result.gate)
    if result.decisions is None:
        console.print("refusal logged; log checkpoint:", highlight=False)
        console.print(result.checkpoint or "", markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(outcome_table(result))
    if result.already_released:
        console.print(
            plain(f"already answered; its response: {result.response_manifest or '(not in --out)'}")
        )
        return
    if result.review_queue:
        console.print(
            plain(
                f"{result.review_queue} decision(s) await review ({out / REVIEW_FILE}); "
                "no response is released until they are resolved (taxgate review list OUT)."
            )
        )
    else:
        console.print(plain(f"response written and signed: {result.response_manifest}"))
    console.print("log checkpoint after this batch:", highlight=False)
    console.print(result.checkpoint or "", markup=False, highlight=False)


def outcome_table(result: ProcessResult) -> Table:
    counts = Counter(result.decisions.column("outcome").to_pylist()) if result.decisions else {}
    rejected = result.gate.verdicts.num_rows - sum(counts.values()) if result.gate.verdicts else 0
    table = Table(title="outcomes")
    table.add_column("outcome")
    table.add_column("subjects", justify="right")
    for name in ("CONFIRMED", "REVIEW", "NOT_CONFIRMED"):
        table.add_row(name, f"{counts.get(name, 0):,}")
    table.add_row("REJECTED (gate)", f"{rejected:,}")
    table.add_section()
    for stage, seconds in result.seconds.items():
        table.add_row(f"[dim]{stage} seconds[/]", f"[dim]{seconds}[/]")
    return table


def explain(
    out: Path = typer.Argument(..., help="The --out directory of `taxgate process`."),
    subject_id: str = typer.Argument(..., help="The subject's reference."),
    chart: Path | None = typer.Option(
        None, "--chart", help="Also write Splink's waterfall chart here (self-contained HTML)."
    ),
    home: Path | None = typer.Option(
        None, "--home", help="taxgate home holding the model (env TAXGATE_HOME)."
    ),
) -> None:
    """Show why a subject was decided as it was: its top candidates, field by field.

    Example: taxgate explain answer S-000123 --chart S-000123.html
    """
    path = out / DECISIONS_FILE
    if not path.is_file():
        raise TaxgateError("no decisions here", "Run taxgate process --out DIR first.", file=path)
    decisions = pq.read_table(path)
    found = decisions.filter(pc.equal(decisions.column("subject_id"), subject_id)).to_pylist()
    if not found:
        raise TaxgateError(
            f"subject {subject_id!r} has no decision (rejected by the gate, or not in the batch)",
            "Check the verdicts file for gate rejections.",
            file=path,
        )
    for row in found:
        console.print(explanation_table(row))
    if chart:
        write_chart(found[0], home or get_settings().home, chart)


def write_chart(decision: dict, home: Path, chart: Path) -> None:
    """The waterfall needs the very model that decided: its SHA-256 is on the decision."""
    if not model_path(home).is_file():
        raise TaxgateError(
            "no model in this home", "Pass --home with the home that processed the batch.",
            file=model_path(home),
        )  # fmt: skip
    if model_sha256(home) != decision["model_sha256"]:
        raise TaxgateError(
            f"the model in this home (SHA-256 {model_sha256(home)[:12]}) is not the one that "
            f"made the decision ({decision['model_sha256'][:12]})",
            "Pass --home with the home whose model.json made the decision.",
            file=model_path(home),
        )
    private_file(chart)  # the subject's names and candidate addresses
    chart.write_text(waterfall_html(load_model(home), decision), encoding="utf-8")
    console.print(plain(f"waterfall chart written: {chart}"))


def register(app: typer.Typer) -> None:
    app.command("process")(process)
    app.command("explain")(explain)
