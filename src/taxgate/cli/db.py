"""`taxgate db`: bring the ledger database to the newest schema, or show where it is."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from taxgate.cli.console import show_fields
from taxgate.config import get_settings
from taxgate.ledger.database import current_revision, head_revision, masked, upgrade
from taxgate.ledger.engine import make_engine

db_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")

HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."


@db_app.command("upgrade")
def upgrade_command(
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Apply every migration the ledger lacks; safe to run again (it then changes nothing).

    Example: taxgate db upgrade --home ~/.taxgate
    """
    settings = get_settings()
    url = settings.ledger_url(home or settings.home)
    show_fields(("revision", upgrade(url)), ("database", masked(url)))


@db_app.command("current")
def current_command(
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Show the ledger's schema revision and the newest this taxgate knows.

    Example: taxgate db current --home ~/.taxgate
    """
    settings = get_settings()
    url = settings.ledger_url(home or settings.home)
    revision = None if _missing_sqlite_file(url) else _revision_of(url)
    show_fields(
        ("revision", revision or "none (run: taxgate db upgrade)"),
        ("newest", head_revision()),
        ("database", masked(url)),
    )


def _missing_sqlite_file(url: str) -> bool:
    """Asking about a SQLite file that is not there must not create it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()


def _revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db", help="Create or migrate the ledger database.")
