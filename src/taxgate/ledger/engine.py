"""Database engines for the ledger, set up the same way on SQLite and PostgreSQL.

SQLite does not enforce foreign keys or wait for a lock by default; the accounting depends on
both, so every connection turns them on, and uses WAL so readers never block the writer.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url

from taxgate.faults import URL_ATTRIBUTE
from taxgate.home import private_sqlite

SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created private and the file checked
    (taxgate.home), and a database error names the database it came from (taxgate.faults)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed.database)
        if path is not None:
            private_sqlite(path)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _name_the_database)
    return engine


def _sqlite_file(database: str | None) -> Path | None:
    """The file a SQLite URL names, also in URI form (sqlite:///file:PATH?mode=ro&uri=true);
    None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database.removeprefix("file:").split("?", 1)[0])


def _name_the_database(context: ExceptionContext) -> None:
    """Tag the error with the database URL (password hidden), for the one-line message."""
    if context.engine is not None:
        url = context.engine.url.render_as_string(hide_password=True)
        setattr(context.sqlalchemy_exception, URL_ATTRIBUTE, url)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: WAL may wait
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
