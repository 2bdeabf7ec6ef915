"""Foreseeable faults become one line saying what failed, where and what to do.

Most faults are injected (root in CI ignores permissions, and a full disk cannot be made
cheaply); the ones that can be made for real are: a SQLite file opened read-only, a path
under a regular file (ENOTDIR even for root), a DuckDB lock held by a second process, and a
PostgreSQL port nobody listens on.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy.exc
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from taxgate import faults
from taxgate.errors import TaxgateError
from taxgate.faults import describe
from taxgate.ledger.database import open_ledger
from taxgate.ledger.engine import make_engine
from taxgate.match import master


def line(exc: BaseException) -> str:
    found = describe(exc)
    assert found is not None, f"{exc!r} was not recognised"
    text = str(found)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("code", "fault"),
    [
        (errno.ENOSPC, faults.DISK_FULL),
        (errno.EDQUOT, faults.QUOTA),
        (errno.EROFS, faults.READ_ONLY_FS),
        (errno.EACCES, faults.DENIED),
        (errno.EPERM, faults.DENIED),
        (errno.ENOTDIR, faults.NOT_A_DIR),
        (errno.EIO, faults.IO),
        (errno.EMFILE, faults.TOO_MANY_FILES),
        (errno.ELOOP, faults.SYMLINK),
    ],
)
def test_os_errors_name_the_fault_the_path_and_the_fix(code: int, fault: faults.Fault) -> None:
    said = line(OSError(code, os.strerror(code), "/srv/home/master.duckdb"))
    assert said.startswith(f"/srv/home/master.duckdb: {fault.what}")
    assert said.endswith(fault.fix)


def test_an_os_error_wrapped_by_other_code_is_still_found() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/h/answer/decisions.parquet")
        except OSError as inner:
            raise RuntimeError("writing failed") from inner
    except RuntimeError as outer:
        assert "/h/answer/decisions.parquet: no space left" in line(outer)


def test_pyarrow_style_errors_without_errno_are_read_from_the_message() -> None:
    exc = OSError(
        "Failed to open local file '/h/out/verdicts.parquet'. Detail: [errno 28] No space"
    )
    assert exc.errno is None
    assert line(exc).startswith("/h/out/verdicts.parquet: no space left on the device")


@pytest.mark.parametrize(
    ("message", "fault"),
    [
        ("database or disk is full", faults.DISK_FULL),
        ("attempt to write a readonly database", faults.READ_ONLY_DB),
        ("database is locked", faults.LOCKED),
        ("unable to open database file", faults.CANNOT_OPEN),
        ("disk I/O error", faults.IO),
        ("file is not a database", faults.CORRUPT),
    ],
)
def test_sqlite_faults_through_sqlalchemy_name_the_database(
    message: str, fault: faults.Fault
) -> None:
    wrapped = sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(message))
    setattr(wrapped, faults.URL_ATTRIBUTE, "sqlite:////h/ledger.sqlite3")
    said = line(wrapped)
    assert said.startswith(f"ledger database sqlite:////h/ledger.sqlite3: {fault.what}")
    assert message in said and said.endswith(fault.fix)


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (
            duckdb.IOException(
                'IO Error: Could not set lock on file "/h/master.duckdb": Conflicting lock is '
                "held in /usr/bin/python3 (PID 42)"
            ),
            faults.LOCKED,
        ),
        (
            duckdb.IOException(
                'IO Error: Could not write file "/h/master.duckdb.wal": No space left on device'
            ),
            faults.DISK_FULL,
        ),
        (
            duckdb.OutOfMemoryException("Out of Memory Error: could not allocate"),
            faults.OUT_OF_MEMORY,
        ),
    ],
)
def test_duckdb_faults_name_the_file(exc: BaseException, fault: faults.Fault) -> None:
    said = line(exc)
    assert fault.what in said and said.endswith(fault.fix)
    if "/h/" in str(exc):
        assert said.startswith("/h/master.duckdb")


def test_postgres_down_is_a_server_fault_with_the_url_without_password() -> None:
    engine = make_engine("postgresql+psycopg://taxgate:hunter2@127.0.0.1:1/ledger")
    with pytest.raises(sqlalchemy.exc.OperationalError) as raised:
        engine.connect()
    said = line(raised.value)
    assert "hunter2" not in said and "taxgate:***@127.0.0.1:1/ledger" in said
    assert faults.SERVER_DOWN.what in said


@pytest.mark.parametrize(
    ("sqlstate", "fault"),
    [("53100", faults.DISK_FULL), ("25006", faults.SERVER_READ_ONLY), ("57P01", faults.SERVER_DOWN),
     ("08006", faults.SERVER_DOWN), ("28P01", faults.SERVER_REFUSED)],
)  # fmt: skip
def test_postgres_faults_by_sqlstate(
    sqlstate: str, fault: faults.Fault, monkeypatch: pytest.MonkeyPatch
) -> None:
    exc = psycopg.OperationalError("the server said no")
    monkeypatch.setattr(type(exc), "sqlstate", sqlstate, raising=False)
    assert fault.what in line(exc)


@pytest.mark.parametrize(
    "bug",
    [KeyError("row"), ValueError("bad"), AssertionError(), TypeError("x"), ZeroDivisionError()],
)
def test_bugs_are_not_dressed_up_as_faults(bug: BaseException) -> None:
    assert describe(bug) is None


def test_a_taxgate_error_in_the_chain_is_returned_as_it_is() -> None:
    error = TaxgateError("bad manifest", "Fix it.")
    assert describe(error) is error


def test_a_sqlite_uri_is_checked_like_a_path(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(TaxgateError, match="ledger folder is writable by group or others"):
        make_engine(f"sqlite:///file:{shared / 'ledger.sqlite3'}?mode=rwc&uri=true")


def test_real_read_only_sqlite_file(tmp_path: Path) -> None:
    open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}").dispose()
    engine = make_engine(f"sqlite:///file:{tmp_path / 'ledger.sqlite3'}?mode=ro&uri=true")
    with pytest.raises(sqlalchemy.exc.OperationalError) as raised, engine.begin() as conn:
        conn.execute(text("CREATE TABLE intruder (x)"))
    engine.dispose()
    said = line(raised.value)
    assert said.startswith("ledger database sqlite:///file") and "read-only" in said


def test_real_path_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as raised:
        (tmp_path / "file" / "answer").mkdir(parents=True)
    assert line(raised.value).startswith(f"{tmp_path / 'file' / 'answer'}: a part of the path")


def test_real_duckdb_lock_held_by_another_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    master.connect(home).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); sys.stdin.read()", str(master.master_path(home))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException) as raised:
            master.connect(home)
    finally:
        holder.communicate("")
    said = line(raised.value)
    assert said.startswith(f"{master.master_path(home)}: another process holds the lock")
    assert "Wait for the other taxgate command" in said


def test_a_file_error_without_a_path_is_placed_in_the_folder_being_written() -> None:
    with pytest.raises(OSError) as raised, faults.place("/h/answer"):
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert line(raised.value).startswith("writing in /h/answer: no space left on the device")
    with pytest.raises(OSError) as named, faults.place("/h/answer"):
        raise OSError(errno.EACCES, "Permission denied", "/h/answer/decisions.parquet")
    assert line(named.value).startswith("/h/answer/decisions.parquet: permission denied")
    with pytest.raises(duckdb.OutOfMemoryException) as memory, faults.place("/h/answer"):
        raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate")
    assert line(memory.value).startswith("out of memory")  # not blamed on the folder


@settings(max_examples=50, deadline=None)
@given(
    code=st.sampled_from(sorted(faults.ERRNOS)),
    path=st.text(min_size=1, max_size=40).map(lambda tail: f"/h/{tail}"),
)
def test_any_errno_and_any_file_name_make_one_line(code: int, path: str) -> None:
    said = line(OSError(code, os.strerror(code), path))
    assert faults.ERRNOS[code].what in said and said.endswith(faults.ERRNOS[code].fix)
    assert said.isprintable()
