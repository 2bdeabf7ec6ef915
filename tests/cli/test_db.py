from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from taxgate.ledger.database import current_revision, head_revision
from taxgate.ledger.engine import make_engine
from tests.conftest import create_postgres_database, drop_postgres_database

PASSWORD = "hunter2"


def _run(*args: str, home: Path, database_url: str | None = None) -> subprocess.CompletedProcess:
    env = {"TAXGATE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    if database_url:
        env["TAXGATE_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "taxgate", *args], capture_output=True, text=True, env=env
    )


def test_upgrade_creates_the_ledger_and_current_reports_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    before = _run("db", "current", home=home)
    assert before.returncode == 0, before.stderr
    assert "none" in before.stdout and not (home / "ledger.sqlite3").exists()

    result = _run("db", "upgrade", "--home", str(home), home=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    ledger = home / "ledger.sqlite3"
    assert head_revision() in result.stdout and str(ledger) in result.stdout
    engine = make_engine(f"sqlite:///{ledger}")
    assert current_revision(engine) == head_revision()
    engine.dispose()

    again = _run("db", "upgrade", home=home)
    assert again.returncode == 0 and head_revision() in again.stdout
    current = _run("db", "current", home=home)
    assert current.returncode == 0 and f"revision     {head_revision()}" in current.stdout


@pytest.mark.postgres
def test_upgrade_on_postgresql_masks_the_password(tmp_path: Path) -> None:
    url, name = create_postgres_database()
    try:
        with_password = make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
        result = _run("db", "upgrade", home=tmp_path, database_url=with_password)  # trust auth
        assert result.returncode == 0, result.stderr
        assert head_revision() in result.stdout and name in result.stdout
        assert PASSWORD not in result.stdout and "***" in result.stdout
    finally:
        drop_postgres_database(name)


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://taxgate:{PASSWORD}@127.0.0.1:1/ledger"  # nothing on port 1
    result = _run("db", "upgrade", home=tmp_path, database_url=url)
    assert result.returncode == 2
    assert "cannot open the ledger database" in result.stderr and "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
