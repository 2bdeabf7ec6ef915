"""`taxgate demo`: a small synthetic world in a temporary home, run through every built stage."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from taxgate.cli.console import console, progress_bar
from taxgate.cli.gate import print_summary
from taxgate.cli.world import summary_table
from taxgate.formats.keys import load_keyring
from taxgate.formats.signing import verify_manifest_file
from taxgate.formats.tables import read_table
from taxgate.gate.run import run_gate
from taxgate.ledger.engine import make_engine
from taxgate.ledger.gate_history import SqlGateHistory
from taxgate.ledger.secret import load_or_create_secret
from taxgate.policy import load_policy
from taxgate.world import WorldConfig, build_world
from taxgate.world.evaluate import GateScore, score_gate

DEMO_PEOPLE = 20_000
DEMO_SUBJECTS = 2_000
DEMO_PRESENT_FRACTION = 0.3
DEMO_SEED = 2025


def demo(
    people: int = typer.Option(DEMO_PEOPLE, "--people", help="Filers in the demo world."),
    subjects: int = typer.Option(DEMO_SUBJECTS, "--subjects", help="Requests in the batch."),
    present_fraction: float = typer.Option(
        DEMO_PRESENT_FRACTION, "--present-fraction", help="Share of requests about filers."
    ),
    seed: int = typer.Option(DEMO_SEED, "--seed", help="World seed."),
    home: Path | None = typer.Option(
        None, "--home", help="Keep everything here instead of a temporary directory."
    ),
) -> None:
    """Build a synthetic world, verify its signed batch, run the gate, score it against truth.

    Example: taxgate demo --people 20000 --subjects 2000
    """
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix="taxgate-demo-")) if home is None else home
    try:
        _run(people, subjects, present_fraction, seed, home)
    finally:
        if temporary:
            shutil.rmtree(home, ignore_errors=True)


def _run(people: int, subjects: int, present_fraction: float, seed: int, home: Path) -> None:
    console.rule("[bold]1. The synthetic world")
    config = WorldConfig(
        people=people, subjects=subjects, present_fraction=present_fraction, seed=seed
    )
    with progress_bar() as bar:
        task = bar.add_task("people", total=people)
        summary = build_world(
            config, home / "world", lambda done, total: bar.update(task, completed=done)
        )
    console.print(
        f"{summary.people:,} people filed {summary.filings:,} returns; "
        f"the requesting agency asks about {summary.subjects:,} subjects."
    )
    console.print(summary_table(summary))

    console.rule("[bold]2. The signed batch")
    keyring = home / "keyring"
    keyring.mkdir(parents=True, exist_ok=True)
    for record in summary.paths.keys.glob("*.pub.json"):  # the agencies exchange public keys
        shutil.copy(record, keyring / record.name)
    problems = verify_manifest_file(summary.paths.manifest, keyring)
    if problems:
        for p in problems:
            console.print(f"[red]{p.code}[/] {p.message}")
        raise typer.Exit(1)
    console.print(
        f"{summary.paths.manifest.name}: signature valid (key {summary.requesting_key_id}), "
        "subjects file digest and count match."
    )

    console.rule("[bold]3. The statutory gate")
    history = SqlGateHistory(make_engine(f"sqlite:///{home / 'ledger.sqlite3'}"))
    with progress_bar() as bar:
        task = bar.add_task("gate", total=summary.subjects)
        result = run_gate(
            summary.paths.manifest,
            load_keyring(keyring),
            load_policy(),
            history,
            load_or_create_secret(home),
            keyring_source=str(keyring),
            progress=lambda done, total: bar.update(task, completed=done),
        )
    print_summary(result)
    if result.verdicts is not None:
        score = score_gate(read_table(summary.paths.truth, "truth"), result.verdicts)
        console.print(score_table(score))
    console.print(
        "Matching, decision, disclosure and the ledger are not built yet; "
        "the demo ends after the gate."
    )


def score_table(score: GateScore) -> Table:
    """The gate against the truth: per case, right answers and every kind of error."""
    table = Table(title="gate against the ground truth (expected: the code, or proceed)")
    table.add_column("case", no_wrap=True)
    table.add_column("expected", no_wrap=True)
    for name in ("subjects", "right", "wrongly rejected", "missed", "other codes"):
        table.add_column(name, justify="right")
    for c in score.cases:
        expected = c.expected_codes or "proceed"
        table.add_row(
            c.case,
            expected,
            f"{c.subjects:,}",
            f"{c.exact:,}",
            _flag(c.wrongly_rejected),
            _flag(c.missed),
            _flag(c.wrong_codes),
        )
    table.add_section()
    table.add_row(
        "all",
        "",
        f"{score.subjects:,}",
        f"{score.total('exact'):,}",
        _flag(score.total("wrongly_rejected")),
        _flag(score.total("missed")),
        _flag(score.total("wrong_codes")),
    )
    return table


def _flag(count: int) -> str:
    return f"[bold red]{count:,}[/]" if count else "0"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
