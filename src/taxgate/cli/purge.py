"""`taxgate purge`: delete the requested personal data of batches past the retention period."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from taxgate.cli.console import console, plain, show_fields
from taxgate.cli.signing import KEY_HELP, sign_log
from taxgate.config import get_settings
from taxgate.ledger.audit import unsigned_events
from taxgate.ledger.database import open_ledger
from taxgate.ledger.purge import purge, purge_preview
from taxgate.policy import load_policy

ISO_DATE = "%Y-%m-%d"
HOME_HELP = "taxgate home (env TAXGATE_HOME); TAXGATE_DATABASE_URL overrides its ledger file."


def purge_command(
    before: datetime = typer.Option(
        ..., "--before", formats=[ISO_DATE], help="Purge batches received before this day (UTC)."
    ),
    key: Path = typer.Option(..., "--key", help=KEY_HELP),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy TOML (default: shipped)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
) -> None:
    """Delete subject_data of batches received before a day and past retention; keep the rest.

    Decisions, disclosures, reviews and the log stay: they are the permanent accounting.
    The purge is logged and the log signed before the command ends.
    Example: taxgate purge --before 2024-09-01 --key keys/ed25519_x.key --yes
    """
    rules = load_policy(policy)
    settings = get_settings()
    engine = open_ledger(settings.ledger_url(home or settings.home))
    try:
        unsigned_at_start = unsigned_events(engine)
        now = datetime.now(UTC)
        preview = purge_preview(engine, before.date(), rules, now)
        if not preview.batches:
            console.print(f"no personal data held for batches received before {before:%Y-%m-%d}")
        for b in preview.batches:
            console.print(
                plain(f"  {b.batch_id}: {b.rows} subject(s), received {b.received_at:%Y-%m-%d}")
            )
        if preview.batches and not yes:
            typer.confirm(
                f"Delete the personal data of {preview.subjects_purged} subject(s) in "
                f"{len(preview.batches)} batch(es)?",
                abort=True,
            )
        done = purge(engine, before.date(), rules, now)
        sign_log(engine, key, unsigned_at_start)
    finally:
        engine.dispose()
    show_fields(
        ("purged", f"{done.subjects_purged} subject(s) in {len(done.batches)} batch(es)"),
        ("before", done.before.isoformat()),
        ("recorded", f"purge {done.purge_id}, logged"),
    )


def register(app: typer.Typer) -> None:
    app.command("purge")(purge_command)
