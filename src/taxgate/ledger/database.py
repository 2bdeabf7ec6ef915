"""Open the ledger at the newest schema: Alembic migrations run from inside the package.

There is no alembic.ini: the configuration is built here, so an installed wheel migrates its
own ledger. Every migration runs in one transaction that first takes a lock (SQLite: BEGIN
IMMEDIATE; PostgreSQL: an advisory lock), so processes opening a fresh ledger at the same
time wait for each other instead of both trying to create it.

`open_ledger_readonly` is the auditor's way in: it never migrates and cannot write (SQLite
opened with `mode=ro`, PostgreSQL sessions READ ONLY), so it works on a read-only copy or
with a read-only role.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from taxgate.errors import TaxgateError
from taxgate.faults import describe
from taxgate.home import readable_sqlite
from taxgate.ledger.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine

PG_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

MIGRATIONS = Path(__file__).with_name("migrations")

# Key of the PostgreSQL advisory lock serialising migrations: any fixed 64-bit number works;
# one derived from a name cannot collide with another application's by accident.
PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"taxgate ledger migrations").digest()[:8], "big", signed=True
)

MS_PER_S = 1000
LOCKED_RETRY_PAUSE_S = 0.05

UNREACHABLE_FIX = (
    "Check TAXGATE_DATABASE_URL (or --home for the SQLite file), that the database server is "
    "running and that this user may connect."
)


def masked(url: str | URL) -> str:
    """`url` with any password replaced by ***, fit to print or log."""
    return make_url(url).render_as_string(hide_password=True)


def migration_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for the ledger; env.py uses `connection` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
        url = url or connection.engine.url.render_as_string(hide_password=False)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser syntax
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migration_config())


def head_revision() -> str:
    """The newest revision this taxgate knows."""
    head = _scripts().get_current_head()
    assert head is not None, f"no migrations under {MIGRATIONS}"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with _connected(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine_or_url: Engine | str) -> str:
    """Migrate to the newest revision (a no-op when already there); return that revision."""
    owned = isinstance(engine_or_url, str)
    engine = make_engine(engine_or_url) if owned else engine_or_url
    try:
        with _connected(engine) as conn:
            _take_migration_lock(conn)
            _refuse_unknown(MigrationContext.configure(conn).get_current_revision(), engine)
            command.upgrade(migration_config(conn), "head")
            revision = MigrationContext.configure(conn).get_current_revision()
            conn.commit()
    finally:
        if owned:
            engine.dispose()
    assert revision is not None
    return revision


def open_ledger(url: str) -> Engine:
    """An engine on the ledger at `url`, migrated to the newest revision first if needed."""
    engine = make_engine(url)
    try:
        current = current_revision(engine)
        _refuse_unknown(current, engine)
        if current != head_revision():
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_ledger_readonly(url: str) -> Engine:
    """An engine that only reads the ledger at `url`: no migration, no write, no new file.

    Any revision this taxgate knows is read as it is (the log's tables date from the first);
    a database never migrated, or migrated by a newer taxgate, is refused.
    """
    engine = _readonly_engine(url)
    try:
        revision = current_revision(engine)
        if revision is None:
            raise TaxgateError(
                f"the ledger database {masked(url)} holds no taxgate ledger",
                "Point --home or TAXGATE_DATABASE_URL at the ledger to read.",
            )
        _refuse_unknown(revision, engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _readonly_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "connect", _pg_read_only)
        return engine
    database = parsed.database or ""
    path = database.removeprefix("file:").split("?", 1)[0]
    if path and path != ":memory:":
        readable_sqlite(path)
    if not path or path == ":memory:" or not Path(path).is_file():
        raise TaxgateError(
            f"the ledger database {masked(url)} does not exist",
            "Point --home or TAXGATE_DATABASE_URL at the ledger to read.",
            file=path or None,
        )
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )
    event.listen(engine, "connect", _sqlite_read_only)
    return engine


def _sqlite_read_only(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _pg_read_only(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(PG_READ_ONLY)
    cursor.close()
    dbapi_connection.commit()


def _refuse_unknown(revision: str | None, engine: Engine) -> None:
    """A revision this taxgate has no script for was written by a newer taxgate: stop."""
    if revision is None:
        return
    if revision not in {script.revision for script in _scripts().walk_revisions()}:
        raise TaxgateError(
            f"the ledger database {masked(engine.url)} "
            f"is at revision {revision}, which this taxgate does not know "
            f"(its newest is {head_revision()})",
            "A newer taxgate has migrated it: use that version (never an older one) "
            "with this ledger.",
        )


def _take_migration_lock(conn: Connection) -> None:
    """Start the migration's transaction holding a lock another migrator must wait for."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # The sqlite3 module would leave DDL outside any transaction; begin one ourselves,
        # taking the write lock now (busy_timeout makes a second process wait for it).
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})


@contextmanager
def _connected(engine: Engine) -> Iterator[Connection]:
    """A connection, with failure to reach the database told as something the user can fix."""
    try:
        conn = _connect(engine)
    except OperationalError as exc:
        reason = (str(exc.orig) or type(exc.orig).__name__).strip().splitlines()[0]
        fault = describe(exc)  # disk full, read-only, locked, server down: say which
        raise TaxgateError(
            f"cannot open the ledger database {masked(engine.url)}: {reason}",
            fault.fix if fault else UNREACHABLE_FIX,
        ) from exc
    with conn:
        yield conn


def _connect(engine: Engine) -> Connection:
    """engine.connect(), waiting out a fresh SQLite file being switched to WAL by another process.

    The connect-time pragmas switch the journal to WAL before busy_timeout applies, so two
    processes opening one fresh file can see "database is locked" at once rather than waiting.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / MS_PER_S
    while True:
        try:
            return engine.connect()
        except OperationalError as exc:
            locked = engine.dialect.name == "sqlite" and "locked" in str(exc.orig)
            if not locked or time.monotonic() >= deadline:
                raise
            time.sleep(LOCKED_RETRY_PAUSE_S)
