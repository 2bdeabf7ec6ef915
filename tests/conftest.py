"""Shared fixtures: databases under test (SQLite always, PostgreSQL when CI provides it).

Every PostgreSQL test gets a database of its own, created for it and dropped after it: the
ledger's migrations and append-only triggers make a shared one impossible to reset.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support import (  # noqa: F401 (fixtures)
    disclosing_key,
    keyring,
    make_batch,
    policy,
    signer_key,
)
from tests.worlds import subjects_norm, trained_home, truth, world_dir  # noqa: F401 (fixtures)

PG_ENV = "TAXGATE_TEST_DATABASE_URL"
REQUIRE_PG_ENV = "TAXGATE_REQUIRE_POSTGRES"
PG_PREFIX = "taxgate_t_"

_made_by_url_for: list[str] = []  # databases url_for created; dropped when the session ends


def _postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    message = f"PostgreSQL tests SKIPPED: set {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
    if os.environ.get(REQUIRE_PG_ENV):
        pytest.fail(f"{message}; {REQUIRE_PG_ENV} is set, so this is an error")
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)
    return None


def _admin(server_url: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE, which PostgreSQL refuses inside a transaction."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def create_postgres_database() -> tuple[str, str]:
    """A new empty database on the CI server: (its URL, its name)."""
    server_url = _postgres_url()
    name = f"{PG_PREFIX}{uuid.uuid4().hex[:16]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_postgres_database(name: str) -> None:
    _admin(os.environ[PG_ENV], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url_for(backend: str, tmp_path) -> str:
    """A database URL for `backend`: a fresh SQLite file, or a fresh PostgreSQL database.

    Prefer the `database_url` fixture, which drops its database as soon as the test ends.
    """
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    url, name = create_postgres_database()
    _made_by_url_for.append(name)
    return url


@pytest.fixture(scope="session", autouse=True)
def _drop_databases_made_by_url_for() -> Iterator[None]:
    yield
    while _made_by_url_for:
        drop_postgres_database(_made_by_url_for.pop())


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """Each ledger test runs on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield url_for("sqlite", tmp_path)
        return
    url, name = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)
