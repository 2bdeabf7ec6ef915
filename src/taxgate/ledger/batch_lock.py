"""One batch at a time per ledger: a lock held from the gate's memory check through release.

Two runs about the same people must end as if one ran after the other: the second has to
see the first's gate memory, decisions and disclosures before its own checks, and the same
manifest started twice must be processed once. SQLite: an OS file lock beside the database
(`filelock`), released by the kernel if its holder dies. PostgreSQL: a session advisory lock
on a dedicated autocommit connection, released when that session ends. A waiting run gives up
after `wait_seconds` with a message naming the holder and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text

from taxgate.errors import TaxgateError
from taxgate.ledger.database import masked

# Key of the PostgreSQL advisory lock serialising batches; derived from a name so it cannot
# collide with the migration or log-append locks (taxgate.ledger.database, .events).
PG_BATCH_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"taxgate ledger batch processing").digest()[:8], "big", signed=True
)
PG_POLL_SECONDS = 0.2  # how often a waiting PostgreSQL session asks for the lock again
PG_APPLICATION_NAME_CHARS = 63  # PostgreSQL truncates application_name beyond this
LOCK_SUFFIX = ".batch-lock"
HOLDER_SUFFIX = ".batch-lock.json"
PRIVATE_FILE = 0o600  # the lock and holder files say what is processed: owner only

_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


def _holder(purpose: str) -> dict[str, str | int]:
    return {
        "purpose": purpose,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _fit(text_: str, limit: int) -> str:
    """`text_` within `limit` characters, keeping its start and its end (a path's file name)."""
    if len(text_) <= limit:
        return text_
    head = limit // 3
    return f"{text_[:head]}...{text_[-(limit - head - 3) :]}"


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another taxgate run (it left no description)"
    return (
        f"{holder.get('purpose', 'another taxgate run')} (process {holder.get('pid', '?')} "
        f"on {holder.get('host', '?')}, since {holder.get('since', '?')})"
    )


def _busy(engine: Engine, holder: dict | None, wait_seconds: float) -> TaxgateError:
    return TaxgateError(
        f"the ledger {masked(engine.url)} is busy with {_describe(holder)}; gave up after "
        f"waiting {wait_seconds:g} s for its batch lock",
        "Run this command again once that run has finished: a batch it was processing is then "
        "answered from the ledger. Allow a longer wait with TAXGATE_BATCH_LOCK_WAIT_SECONDS; "
        "if that process is stuck, stop it (the lock is released when its holder ends).",
    )


@contextmanager
def batch_lock(engine: Engine, purpose: str, wait_seconds: float) -> Iterator[None]:
    """Hold the ledger's batch lock for the `with` block, waiting at most `wait_seconds`."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with _postgres_lock(engine, purpose, wait_seconds):
            yield
    elif dialect == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            with _memory_lock(str(engine.url), engine, wait_seconds):
                yield
        else:
            # One file however it is named (relative path, symlink): one lock file beside it.
            with _file_lock(Path(database).resolve(), engine, purpose, wait_seconds):
                yield
    else:
        raise TaxgateError(
            f"the ledger database {masked(engine.url)} is {dialect}, which taxgate cannot lock",
            "Use SQLite (the default) or PostgreSQL for the ledger.",
        )


@contextmanager
def _memory_lock(name: str, engine: Engine, wait_seconds: float) -> Iterator[None]:
    """An in-memory database lives in one process: a process-wide lock is enough."""
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=wait_seconds):
        raise _busy(engine, None, wait_seconds)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _file_lock(database: Path, engine: Engine, purpose: str, wait_seconds: float) -> Iterator[None]:
    lock_path = database.with_name(database.name + LOCK_SUFFIX)
    holder_path = database.with_name(database.name + HOLDER_SUFFIX)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path, timeout=wait_seconds, mode=PRIVATE_FILE, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise _busy(engine, _read_holder(holder_path), wait_seconds) from None
    try:
        _write_holder(holder_path, _holder(purpose))
        yield
    finally:
        holder_path.unlink(missing_ok=True)
        lock.release()


def _write_holder(path: Path, holder: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(holder, handle)


def _read_holder(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


@contextmanager
def _postgres_lock(engine: Engine, purpose: str, wait_seconds: float) -> Iterator[None]:
    """A session advisory lock on a connection of its own, closed (and so released) after."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holder = _holder(purpose)
        name = _fit(f"taxgate pid {holder['pid']}: {purpose}", PG_APPLICATION_NAME_CHARS)
        conn.execute(text("SELECT set_config('application_name', :name, false)"), {"name": name})
        deadline = time.monotonic() + wait_seconds
        while not conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": PG_BATCH_LOCK_KEY}
        ).scalar_one():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _busy(engine, _postgres_holder(conn), wait_seconds)
            time.sleep(min(PG_POLL_SECONDS, remaining))
        yield
    finally:
        conn.invalidate()  # closes the session: the advisory lock goes with it
        conn.close()


def _postgres_holder(conn: Connection) -> dict | None:
    """Who holds the advisory lock: pid, application name and start of its session."""
    unsigned = PG_BATCH_LOCK_KEY & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        text(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid = :high AND l.objid = :low "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF},
    ).first()
    if row is None:
        return None
    return {
        "purpose": row.application_name or "another session",
        "pid": f"{row.pid} (PostgreSQL backend)",
        "host": str(row.client_addr or "local socket"),
        "since": row.backend_start.isoformat(timespec="seconds") if row.backend_start else "?",
    }
