"""Alembic environment for the ledger; taxgate.ledger.database runs it, there is no alembic.ini.

The caller normally hands over a connection already inside a transaction that holds the
migration lock (config.attributes["connection"]), so a migration is all-or-nothing and two
processes opening a fresh ledger at once cannot both create it.
"""

from __future__ import annotations

from alembic import context

from taxgate.ledger.engine import make_engine
from taxgate.ledger.schema import metadata


def run_offline() -> None:
    """Print the SQL instead of running it (for a DBA who applies migrations by hand)."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as own:
            context.configure(connection=own, target_metadata=metadata)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
