"""Shared fixtures: databases under test (SQLite always, PostgreSQL when CI provides it)."""

from __future__ import annotations

import os
import warnings

import pytest

from tests.support import keyring, make_batch, policy, signer_key  # noqa: F401 (fixtures)

PG_ENV = "TAXGATE_TEST_DATABASE_URL"
REQUIRE_PG_ENV = "TAXGATE_REQUIRE_POSTGRES"


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


def url_for(backend: str, tmp_path) -> str:
    """A database URL for `backend`: a fresh SQLite file, or the CI PostgreSQL server."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return _postgres_url()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each ledger test runs on a fresh SQLite file and on the CI PostgreSQL server."""
    return url_for(request.param, tmp_path)
