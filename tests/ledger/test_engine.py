from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from taxgate.ledger.engine import make_engine


@pytest.fixture
def tables(database_url: str):
    engine = make_engine(database_url)
    meta = MetaData()
    suffix = uuid.uuid4().hex[:8]  # PostgreSQL is shared between runs
    parent = Table(
        f"parent_{suffix}",
        meta,
        Column("id", Integer, primary_key=True),
        Column("name", String(200)),
    )
    child = Table(
        f"child_{suffix}",
        meta,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey(parent.c.id), nullable=False),
    )
    meta.create_all(engine)
    yield engine, parent, child
    meta.drop_all(engine)
    engine.dispose()


def test_foreign_keys_are_enforced(tables) -> None:
    engine, parent, child = tables
    with engine.begin() as conn:
        conn.execute(insert(parent).values(id=1, name="x"))
        conn.execute(insert(child).values(id=1, parent_id=1))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(child).values(id=2, parent_id=99))


def test_unicode_names_survive(tables) -> None:
    engine, parent, _ = tables
    name = "Nguyễn Thị Ánh / José Hernández-López"
    with engine.begin() as conn:
        conn.execute(insert(parent).values(id=7, name=name))
        assert conn.execute(select(parent.c.name).where(parent.c.id == 7)).scalar_one() == name


def test_sqlite_file_directory_is_created(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'l.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    assert (tmp_path / "deep" / "dir" / "l.sqlite3").exists()
