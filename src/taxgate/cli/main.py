"""Entry point: builds the typer app from the command modules and turns errors into one line."""

from __future__ import annotations

import sys

import typer
from rich.text import Text

from taxgate.cli import (
    batch,
    db,
    demo,
    gate,
    keys,
    ledger,
    master,
    model,
    process,
    purge,
    recall,
    report,
    review,
    schema,
    world,
)
from taxgate.cli.console import err_console, plain
from taxgate.config import get_settings
from taxgate.faults import describe
from taxgate.home import private_umask

app = typer.Typer(
    name="taxgate",
    help="Disclosure gateway for address-verification requests under 26 U.S.C. 6103(i)(2).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    _state["debug"] = debug or get_settings().debug
    private_umask()  # every file and folder this command creates is the user's alone


for module in (
    demo,
    world,
    keys,
    batch,
    gate,
    db,
    ledger,
    master,
    model,
    process,
    review,
    schema,
    report,
    recall,
    purge,
):
    module.register(app)


def run() -> None:
    """Console-script entry: user errors print as one line (exit 2), bugs as one line (exit 1).

    A foreseeable fault of the machine (disk full, read-only, permission, a held lock, the
    database server down: taxgate.faults) is a user error too, told with its path and fix.
    typer itself handles --help, usage errors and exit codes (it ends with SystemExit).
    """
    try:
        app()
    except Exception as exc:
        if _state["debug"]:
            raise
        error = describe(exc)
        if error is not None:
            err_console.print(
                Text.assemble(("error:", "bold red"), " ", plain(error)),
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
        err_console.print(
            Text.assemble(
                ("internal error:", "bold red"),
                " ",
                plain(f"{type(exc).__name__}: {exc} "),
                "(run again with --debug for the traceback, and report it)",
            ),
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
