"""The per-ledger batch lock, held by real processes, on SQLite and PostgreSQL.

A second holder waits (bounded) and gives up with a message naming the holder and what to
do; the lock goes with its holder when that process ends, even by SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from taxgate.errors import TaxgateError
from taxgate.ledger.batch_lock import batch_lock
from taxgate.ledger.database import open_ledger

HOLDER = textwrap.dedent(
    """
    import sys
    from taxgate.ledger.batch_lock import batch_lock
    from taxgate.ledger.engine import make_engine
    engine = make_engine(sys.argv[1])
    with batch_lock(engine, sys.argv[2], float(sys.argv[3])):
        print("held", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)
SHORT_WAIT_S = 0.5  # the wait that must give up: the holder never lets go during it
LONG_WAIT_S = 120.0  # the wait that must succeed once the holder has gone


def start_holder(url: str, purpose: str, wait: float = LONG_WAIT_S) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, purpose, str(wait)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    return holder


def wait_for(process: subprocess.Popen, line: str) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == line


@pytest.fixture
def ledger(database_url: str):
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def test_a_second_holder_gives_up_naming_the_first(ledger, database_url: str) -> None:
    holder = start_holder(database_url, "taxgate process first.json")
    try:
        wait_for(holder, "held")
        with pytest.raises(TaxgateError) as raised, batch_lock(ledger, "second", SHORT_WAIT_S):
            pass
        message = str(raised.value)
        assert "taxgate process first.json" in message and "busy" in message
        assert "again" in message.lower()
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        wait_for(holder, "released")
        with batch_lock(ledger, "third", LONG_WAIT_S):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_waiter_proceeds_once_the_holder_is_done(database_url: str) -> None:
    holder = start_holder(database_url, "first")
    try:
        wait_for(holder, "held")
        waiter = start_holder(database_url, "second")
        try:
            assert holder.stdin is not None and waiter.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            wait_for(holder, "released")
            wait_for(waiter, "held")
            waiter.stdin.write("\n")
            waiter.stdin.flush()
            wait_for(waiter, "released")
        finally:
            waiter.kill()
            waiter.wait()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_dies_with_a_killed_holder(ledger, database_url: str) -> None:
    holder = start_holder(database_url, "doomed")
    try:
        wait_for(holder, "held")
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with batch_lock(ledger, "survivor", LONG_WAIT_S):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_not_taken_twice_in_one_process(ledger) -> None:
    with (
        batch_lock(ledger, "outer", LONG_WAIT_S),
        pytest.raises(TaxgateError, match="outer"),
        batch_lock(ledger, "inner", SHORT_WAIT_S),
    ):
        pass


def test_an_in_memory_ledger_is_locked_within_the_process() -> None:
    engine = open_ledger("sqlite://")
    with (
        batch_lock(engine, "outer", LONG_WAIT_S),
        pytest.raises(TaxgateError),
        batch_lock(engine, "inner", SHORT_WAIT_S),
    ):
        pass
    with batch_lock(engine, "again", SHORT_WAIT_S):
        pass


def test_one_sqlite_file_named_two_ways_has_one_lock(tmp_path) -> None:
    """A symlinked folder (or a relative path) to the ledger must not be a way around its lock.

    (A symlink in place of the ledger file itself is refused outright: taxgate.home.)
    """
    real = tmp_path / "real" / "ledger.sqlite3"
    engine = open_ledger(f"sqlite:///{real}")
    (tmp_path / "elsewhere").symlink_to(tmp_path / "real", target_is_directory=True)
    alias = tmp_path / "elsewhere" / "ledger.sqlite3"
    holder = start_holder(f"sqlite:///{alias}", "through the alias")
    try:
        wait_for(holder, "held")
        with (
            pytest.raises(TaxgateError, match="through the alias"),
            batch_lock(engine, "direct", SHORT_WAIT_S),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
        engine.dispose()
