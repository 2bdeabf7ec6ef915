"""`taxgate demo`: a small synthetic world in a temporary home, run through every built stage."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from taxgate.cli.console import console, plain, progress_bar
from taxgate.cli.gate import print_summary
from taxgate.cli.ledger import print_audit
from taxgate.cli.process import outcome_table
from taxgate.cli.world import summary_table
from taxgate.config import get_settings
from taxgate.decide.reviews import load_resolutions, pending_reviews, resolve
from taxgate.formats.codes import Outcome
from taxgate.formats.keys import load_keyring
from taxgate.formats.signing import verify_manifest_file
from taxgate.formats.tables import read_table
from taxgate.gate.receipt import receipt_time
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.rows_audit import read_secret
from taxgate.ledger.secret import load_or_create_secret
from taxgate.match.master import load_filings
from taxgate.match.train import train
from taxgate.pipeline import process_batch, release_reviewed
from taxgate.policy import load_policy
from taxgate.world import WorldConfig, build_world
from taxgate.world.evaluate import GateScore, OutcomeScore, score_gate, score_outcomes

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
    """Build a synthetic world and run every stage on it, scored against the ground truth.

    Example: taxgate demo --people 20000 --subjects 2000
    """
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix="taxgate-demo-")) if home is None else home
    try:
        _run(people, subjects, present_fraction, seed, home, keep=not temporary)
    finally:
        if temporary:
            shutil.rmtree(home, ignore_errors=True)


def _run(
    people: int, subjects: int, present_fraction: float, seed: int, home: Path, *, keep: bool
) -> None:
    console.rule("[bold]1. The synthetic world")
    # The batch is dated the day the gateway receives it (its UTC clock), as a real one is.
    config = WorldConfig(
        people=people, subjects=subjects, present_fraction=present_fraction, seed=seed,
        batch_date=receipt_time().date(),
    )  # fmt: skip
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
            console.print(Text.assemble((p.code, "red"), " ", plain(p.message)))
        raise typer.Exit(1)
    console.print(
        plain(
            f"{summary.paths.manifest.name}: signature valid (key {summary.requesting_key_id}), "
            "subjects file digest and count match."
        )
    )

    console.rule("[bold]3. The master index and the model")
    with progress_bar() as bar:
        task = bar.add_task("filings", total=None)
        loaded = load_filings(
            [summary.paths.filings],
            home,
            lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(f"{loaded.filings:,} filings of {loaded.taxpayers:,} taxpayers loaded.")
    with console.status("training the model (u by random sampling, m by EM)"):
        model = train(home, seed)
    console.print(plain(f"model {model.sha256[:16]}... trained; card: {model.card}"))

    console.rule("[bold]4. Gate, match, decide, disclose")
    disclosing_key = next(
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in summary.paths.keys.glob("*.pub.json")
        if p.name.startswith(summary.disclosing_key_id.replace(":", "_"))
    )
    ledger = open_ledger(f"sqlite:///{home / 'ledger.sqlite3'}")
    with console.status("processing the batch") as status:
        result = process_batch(
            summary.paths.manifest,
            home=home,
            keyring=load_keyring(keyring),
            policy=load_policy(),
            ledger=ledger,
            secret=load_or_create_secret(home),
            key_path=disclosing_key,
            out=home / "answer",
            keyring_source=str(keyring),
            chunk_subjects=get_settings().match_chunk_subjects,
            announce=lambda stage: status.update(f"{stage}..."),
        )
    print_summary(result.gate)
    truth = read_table(summary.paths.truth, "truth")
    if result.gate.verdicts is not None:
        console.print(score_table(score_gate(truth, result.gate.verdicts)))
    if result.decisions is None:
        raise typer.Exit(1)
    console.print(outcome_table(result))
    responses, response_path = result.responses, result.response_manifest
    if response_path is None:
        responses, response_path = _decline_reviews_and_release(
            summary.paths.manifest, home, disclosing_key, ledger, result.decisions
        )
    kept = "" if keep else " (in a temporary home, removed at exit; --home DIR keeps it)"
    console.print(plain(f"signed response: {response_path}{kept}"))
    console.print(accuracy_table(score_outcomes(truth, outcomes(result.decisions, responses))))

    console.rule("[bold]5. The transparency log")
    console.print("checkpoint signed after the batch:")
    console.print(result.checkpoint or "", markup=False, highlight=False)
    report = verify_log(ledger, load_keyring(keyring), secret=read_secret(home))
    print_audit(report, keyring)
    if not report.ok:
        raise typer.Exit(1)


DEMO_OFFICER = "taxgate demo (no officer present)"
DEMO_NOTE = "the demo declines what only a person could confirm"


def _decline_reviews_and_release(
    manifest: Path, home: Path, key: Path, ledger: Engine, decisions: pa.Table
) -> tuple[pa.Table, Path]:
    """The review desk, run by nobody: every REVIEW resolved NOT_CONFIRMED, then released,
    as `taxgate review resolve` and `taxgate review release` would."""
    out = home / "answer"
    pending = pending_reviews(decisions, load_resolutions(out))
    console.print(
        f"{pending.num_rows} decision(s) await a disclosure officer (taxgate review list). "
        "With no officer present the demo resolves each NOT_CONFIRMED and releases the batch; "
        "`taxgate review resolve` takes an officer's decision instead."
    )
    for subject_id in pending.column("subject_id").to_pylist():
        resolve(out, decisions, subject_id, Outcome.NOT_CONFIRMED, DEMO_OFFICER, DEMO_NOTE)
    return release_reviewed(
        manifest,
        home=home,
        policy=load_policy(),
        key_path=key,
        out=out,
        ledger=ledger,
        secret=load_or_create_secret(home),
    )


def outcomes(decisions: pa.Table, responses: pa.Table) -> pa.Table:
    """Each subject's released outcome with the taxpayer it was confirmed to (for scoring)."""
    tin_by_row = dict(
        zip(decisions.column("row").to_pylist(), decisions.column("tin").to_pylist(), strict=True)
    )
    return pa.table(
        {
            "subject_id": responses.column("subject_id"),
            "outcome": responses.column("outcome"),
            "tin": [tin_by_row.get(i) for i in range(1, responses.num_rows + 1)],
        }
    )


def accuracy_table(score: OutcomeScore) -> Table:
    table = Table(title="disclosures against the ground truth")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("confirmable subjects (truth)", f"{score.total('confirmable'):,}")
    table.add_row("confirmed to the right taxpayer", f"{score.total('confirmed_right'):,}")
    table.add_row("recall", f"{score.recall:.3f}")
    table.add_row("wrongful: wrong taxpayer", _flag(score.total("wrong_taxpayer")))
    table.add_row("wrongful: not confirmable", _flag(score.total("not_confirmable")))
    return table


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
