"""`taxgate model`: train the matching model on the master index and freeze it."""

from __future__ import annotations

from pathlib import Path

import typer

from taxgate.cli.console import err_console, show_fields
from taxgate.config import get_settings
from taxgate.match.card import training_rows
from taxgate.match.train import ModelInfo, train

model_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")
DEFAULT_SEED = 1


@model_app.command("train")
def train_command(
    home: Path | None = typer.Option(None, "--home", help="taxgate home (env TAXGATE_HOME)."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Same seed and master, same model."),
) -> None:
    """Estimate u (random pairs) and m (EM on the filings), write HOME/model.json and its card.

    Example: taxgate model train --home ~/.taxgate --seed 1
    """
    home = home or get_settings().home
    with err_console.status("training the matching model"):
        info = train(home, seed)
    show_fields(
        ("model", info.path),
        ("sha256", info.sha256),
        ("card", info.card),
        ("trained on", _trained_on(info)),
        ("prior", f"{info.probability_two_random_records_match:.3g}"),
        *(
            ("EM session", f"{blocking}{f' ({pairs} pairs)' if pairs else ''}: {outcome}")
            for blocking, _, pairs, outcome in training_rows(info.training)
        ),
        ("seconds", f"{info.seconds:.1f}"),
    )


def _trained_on(info: ModelInfo) -> str:
    if info.taxpayers_sampled == info.taxpayers:
        return f"{info.filings:,} filings of {info.taxpayers:,} taxpayers"
    return (
        f"{info.filings:,} filings of {info.taxpayers_sampled:,} taxpayers sampled from "
        f"{info.taxpayers:,} (TAXGATE_TRAIN_MAX_TAXPAYERS)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model", help="Train the matching model.")
