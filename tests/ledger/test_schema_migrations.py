"""The migrations build exactly the schema schema.py declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, insert, inspect, select, text

from taxgate.errors import TaxgateError
from taxgate.ledger.database import (
    current_revision,
    head_revision,
    migration_config,
    open_ledger,
    upgrade,
)
from taxgate.ledger.schema import APPEND_ONLY_TABLES, gate_batches, metadata
from tests.support import BATCH_DATE

LEDGER_TABLES = {
    "batches",
    "gate_batches",
    "gate_people",
    "subjects",
    "subject_data",
    "decisions",
    "reviews",
    "disclosures",
    "responses",
    "recalls",
    "recall_items",
    "acknowledgements",
    "log_events",
    "checkpoints",
    "purges",
    "refused_batches",
}
VERSION_TABLE = "alembic_version"
CONCURRENT_OPENERS = 4
READY_TIMEOUT_S = 60
POLL_S = 0.01


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return set(conn.exec_driver_sql(query).scalars())


def _differences(engine: Engine, target: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_fresh_database_is_migrated_to_head(ledger: Engine) -> None:
    assert current_revision(ledger) == head_revision()
    assert _tables(ledger) == LEDGER_TABLES | {VERSION_TABLE}
    assert set(metadata.tables) == LEDGER_TABLES


def test_schema_py_matches_the_migrated_database(ledger: Engine) -> None:
    assert _differences(ledger, metadata) == []


def test_the_comparison_would_notice_a_drift(ledger: Engine) -> None:
    """Guards the test above against passing because it compares nothing."""
    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["purges"].append_column(Column("extra", Integer))
    assert [d[0] for d in _differences(ledger, drifted)] == ["add_column"]


def test_every_append_only_table_has_its_triggers(ledger: Engine) -> None:
    if ledger.dialect.name == "sqlite":
        expected = {f"{t}_no_{a}" for t in APPEND_ONLY_TABLES for a in ("update", "delete")}
    else:
        expected = {f"{t}_no_{a}" for t in APPEND_ONLY_TABLES for a in ("change", "truncate")}
    assert _triggers(ledger) == expected


def test_upgrade_twice_is_a_no_op(ledger: Engine, database_url: str) -> None:
    with ledger.begin() as conn:
        conn.execute(
            insert(gate_batches).values(
                batch_id="B-1", manifest_sha256="0" * 64, received_on=BATCH_DATE
            )
        )
    assert upgrade(database_url) == head_revision()
    assert upgrade(ledger) == head_revision()
    assert _tables(ledger) == LEDGER_TABLES | {VERSION_TABLE}
    with ledger.connect() as conn:
        assert conn.execute(select(gate_batches.c.batch_id)).scalars().all() == ["B-1"]
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {VERSION_TABLE}").scalar_one() == 1


def test_downgrade_to_base_and_upgrade_again(ledger: Engine) -> None:
    with ledger.begin() as conn:
        command.downgrade(migration_config(conn), "base")
    assert current_revision(ledger) is None
    assert _tables(ledger) <= {VERSION_TABLE}
    assert _triggers(ledger) == set()
    if ledger.dialect.name == "postgresql":
        with ledger.connect() as conn:
            functions = "SELECT count(*) FROM pg_proc WHERE proname = 'taxgate_append_only'"
            assert conn.exec_driver_sql(functions).scalar_one() == 0

    assert upgrade(ledger) == head_revision()
    assert _tables(ledger) == LEDGER_TABLES | {VERSION_TABLE}
    assert len(_triggers(ledger)) == 2 * len(APPEND_ONLY_TABLES)
    assert _differences(ledger, metadata) == []


def test_a_newer_unknown_revision_is_refused(ledger: Engine, database_url: str) -> None:
    with ledger.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(TaxgateError, match="revision 9999") as raised:
        open_ledger(database_url)
    assert "newer taxgate" in raised.value.fix
    with pytest.raises(TaxgateError, match="revision 9999"):
        upgrade(ledger)


def test_an_unreachable_database_is_one_clear_error_without_the_password() -> None:
    url = "postgresql+psycopg://taxgate:hunter2@127.0.0.1:1/ledger"  # nothing listens on port 1
    with pytest.raises(TaxgateError, match="cannot open the ledger database") as raised:
        open_ledger(url)
    assert "hunter2" not in str(raised.value) and "***" in str(raised.value)
    assert "TAXGATE_DATABASE_URL" in raised.value.fix


OPENER = """
import sys, time
from pathlib import Path
from taxgate.ledger.database import current_revision, open_ledger
Path(sys.argv[2]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.01)
print(current_revision(open_ledger(sys.argv[1])))
"""


def test_processes_opening_a_fresh_ledger_at_once_all_succeed(
    database_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(CONCURRENT_OPENERS)]
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, database_url, str(flag), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    go.touch()  # all imported: they now race to migrate
    results = [opener.communicate(timeout=READY_TIMEOUT_S) for opener in openers]
    for (out, err), opener in zip(results, openers, strict=True):
        assert opener.returncode == 0, err
        assert out.strip() == head_revision()
