"""Shared rich console and progress bar, so every command reports the same way."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Output to a file or pipe (logs, CI) is not limited to a terminal's 80 columns.
PIPED_WIDTH = 120

console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else PIPED_WIDTH)
err_console = Console(stderr=True)


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """A progress bar on stderr; it stays quiet when stderr is not a terminal."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        yield progress


LABEL_WIDTH = 12  # aligns the values of show_fields


def show_fields(*fields: tuple[str, object]) -> None:
    """One "label  value" line each, unwrapped so paths and digests stay copyable."""
    for label, value in fields:
        console.print(
            f"{label:<{LABEL_WIDTH}} {value}", markup=False, highlight=False, soft_wrap=True
        )
