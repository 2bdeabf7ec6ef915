"""Foreseeable faults of the machine (disk full, read-only, no permission, a held lock, a
database server down) told as one line: what failed, where, and what to do.

The CLI's error funnel asks `describe` about every exception that is not a TaxgateError; only
one it cannot name is reported as an internal error (a bug). The ledger writes each stage in
one transaction, so after any of these faults the same command, run again, resumes where the
ledger stopped: every message says so.
"""

from __future__ import annotations

import errno
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from taxgate.errors import TaxgateError

RERUN = (
    "then run the same command again (a step cut short was not recorded; a batch resumes "
    "where the ledger stopped)"
)
# Attribute the ledger's engine sets on a database error: the URL, password hidden.
URL_ATTRIBUTE = "taxgate_database"
# Attribute `place` sets on an error raised inside it: the folder being written.
PLACE_ATTRIBUTE = "taxgate_place"


@dataclass(frozen=True)
class Fault:
    """A kind of fault: what it is and what the user does about it."""

    what: str
    fix: str


DISK_FULL = Fault("no space left on the device", f"Free disk space there, {RERUN}.")
QUOTA = Fault("the disk quota is exhausted", f"Free space or raise the quota, {RERUN}.")
READ_ONLY_FS = Fault(
    "the file system is read-only",
    f"Remount it read-write or use a home / --out on a writable disk, {RERUN}.",
)
READ_ONLY_DB = Fault(
    "the database is read-only for this user (the file, or its folder for the journal)",
    f"Make the file and its folder writable by the user running taxgate, {RERUN}.",
)
DENIED = Fault(
    "permission denied",
    f"Make it readable and writable by the user running taxgate (chown / chmod), {RERUN}.",
)
LOCKED = Fault(
    "another process holds the lock on it",
    "Wait for the other taxgate command to finish (or stop it), then run this one again.",
)
NOT_A_DIR = Fault(
    "a part of the path is a file, not a folder",
    "Fix the path (--home, TAXGATE_HOME, --out, TAXGATE_DATABASE_URL).",
)
IS_A_DIR = Fault("a folder is where a file should be", f"Move that folder away, {RERUN}.")
SYMLINK = Fault(
    "a symlink is where taxgate expects its own file (or a loop of symlinks)",
    "Remove the symlink and put the real file back, then run the command again.",
)
MISSING = Fault("no such file or folder", "Check the path, or create the folder.")
CANNOT_OPEN = Fault(
    "the database file cannot be opened (its folder is missing or not writable)",
    f"Check that the folder exists and is writable by this user, {RERUN}.",
)
IO = Fault(
    "the disk reported an I/O error",
    "Check the disk (dmesg, SMART) and restore from a backup if files are damaged.",
)
CORRUPT = Fault(
    "the file is not a valid database (damaged, or not a taxgate file)",
    "Restore it from a backup; never edit it by hand.",
)
TOO_MANY_FILES = Fault("too many open files", f"Raise the limit (ulimit -n), {RERUN}.")
OUT_OF_MEMORY = Fault(
    "out of memory",
    f"Lower TAXGATE_DUCKDB_MEMORY_LIMIT or TAXGATE_MATCH_CHUNK_SUBJECTS, or free memory, {RERUN}.",
)
SERVER_DOWN = Fault(
    "the database server cannot be reached or closed the connection",
    f"Check that the server is running and reachable and TAXGATE_DATABASE_URL is right, {RERUN}.",
)
SERVER_REFUSED = Fault(
    "the database server refused this user or database",
    "Check the user, password and database name in TAXGATE_DATABASE_URL.",
)
SERVER_READ_ONLY = Fault(
    "the database server accepts only reads (a standby, or read-only mode)",
    f"Point TAXGATE_DATABASE_URL at the primary, {RERUN}.",
)
SERVER_BUSY = Fault(
    "the database server has no room for this connection",
    "Wait for other clients to disconnect or raise max_connections, then run again.",
)

ERRNOS: dict[int, Fault] = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: QUOTA,
    errno.EROFS: READ_ONLY_FS,
    errno.EACCES: DENIED,
    errno.EPERM: DENIED,
    errno.ENOTDIR: NOT_A_DIR,
    errno.EISDIR: IS_A_DIR,
    errno.ENOENT: MISSING,
    errno.ELOOP: SYMLINK,
    errno.EIO: IO,
    errno.EMFILE: TOO_MANY_FILES,
    errno.ENFILE: TOO_MANY_FILES,
    errno.ENOMEM: OUT_OF_MEMORY,
    errno.EAGAIN: LOCKED,
}

# Message fragments of SQLite, DuckDB and libraries that do not set errno (pyarrow), in order.
MESSAGES: tuple[tuple[str, Fault], ...] = (
    ("database or disk is full", DISK_FULL),
    ("no space left on device", DISK_FULL),
    ("disk quota exceeded", QUOTA),
    ("read-only file system", READ_ONLY_FS),
    ("attempt to write a readonly database", READ_ONLY_DB),
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("could not set lock on file", LOCKED),
    ("conflicting lock is held", LOCKED),
    ("unable to open database file", CANNOT_OPEN),
    ("permission denied", DENIED),
    ("disk i/o error", IO),
    ("input/output error", IO),
    ("file is not a database", CORRUPT),
    ("database disk image is malformed", CORRUPT),
    ("not a valid duckdb database file", CORRUPT),
    ("out of memory", OUT_OF_MEMORY),
    ("not a directory", NOT_A_DIR),
    ("is a directory", IS_A_DIR),
    ("too many open files", TOO_MANY_FILES),
)

# PostgreSQL SQLSTATE classes and codes (psycopg's `sqlstate`).
SQLSTATES: tuple[tuple[str, Fault], ...] = (
    ("53100", DISK_FULL),
    ("53200", OUT_OF_MEMORY),
    ("53300", SERVER_BUSY),
    ("25006", SERVER_READ_ONLY),
    ("55P03", LOCKED),
    ("57P", SERVER_DOWN),
    ("08", SERVER_DOWN),
    ("28", SERVER_REFUSED),
    ("3D000", SERVER_REFUSED),
)
SERVER_MESSAGES: tuple[tuple[str, Fault], ...] = (
    ("password authentication failed", SERVER_REFUSED),
    ("does not exist", SERVER_REFUSED),
    ("connection refused", SERVER_DOWN),
    ("could not connect", SERVER_DOWN),
    ("connection failed", SERVER_DOWN),
    ("server closed the connection", SERVER_DOWN),
    ("could not translate host name", SERVER_DOWN),
    ("terminating connection", SERVER_DOWN),
    ("timeout expired", SERVER_DOWN),
    ("the connection is closed", SERVER_DOWN),
    ("read-only transaction", SERVER_READ_ONLY),
)

_ERRNO_IN_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


@contextmanager
def place(folder: Path | str) -> Iterator[None]:
    """Name `folder` as where a fault inside happened, when the fault names no file itself
    (pyarrow's write errors carry no path: "Error writing bytes to file")."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, PLACE_ATTRIBUTE, None) is None:
            setattr(exc, PLACE_ATTRIBUTE, str(folder))
        raise


def describe(exc: BaseException) -> TaxgateError | None:
    """`exc` (or what it wraps) as a one-line TaxgateError, or None when it is not a known fault."""
    for cause in _chain(exc):
        if isinstance(cause, TaxgateError):
            return cause
        found = _classify(cause)
        if found is not None:
            fault, where = found
            where = where or _where(exc, files=isinstance(cause, OSError))
            detail = _first_line(cause)
            return TaxgateError(
                f"{fault.what} ({detail})" if detail else fault.what, fault.fix, file=where
            )
    return None


def _classify(exc: BaseException) -> tuple[Fault, str | None] | None:
    if _is_postgres(exc):
        return _postgres(exc)
    if isinstance(exc, OSError):
        code = exc.errno or _errno_in_text(str(exc))
        path = _os_path(exc)
        if code in ERRNOS:
            return ERRNOS[code], path
        fault = _by_message(str(exc), MESSAGES)
        return (fault, path) if fault else None
    if isinstance(exc, sqlite3.Error) or _is_duckdb(exc):
        fault = _by_message(str(exc), MESSAGES)
        return (fault, _quoted_path(str(exc))) if fault else None
    return None


def _postgres(exc: BaseException) -> tuple[Fault, str | None] | None:
    import psycopg

    if not isinstance(exc, psycopg.OperationalError | psycopg.errors.ReadOnlySqlTransaction):
        return None
    state = getattr(exc, "sqlstate", None) or ""
    for prefix, fault in SQLSTATES:
        if state.startswith(prefix):
            return fault, None
    fault = _by_message(str(exc), SERVER_MESSAGES)
    return (fault or SERVER_DOWN), None  # an OperationalError with no code: the connection


def _is_postgres(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


def _is_duckdb(exc: BaseException) -> bool:
    import duckdb

    return isinstance(exc, duckdb.Error)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, what SQLAlchemy wrapped (`orig`), and its causes, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [getattr(item, "orig", None), item.__cause__, item.__context__]
    return seen


def _where(exc: BaseException, *, files: bool) -> str | None:
    """The database the error came from, else for a file error the folder being written."""
    chain = _chain(exc)
    for item in chain:
        url = getattr(item, URL_ATTRIBUTE, None)
        if url:
            return f"ledger database {url}"
    for item in chain if files else ():
        folder = getattr(item, PLACE_ATTRIBUTE, None)
        if folder:
            return f"writing in {folder}"
    return None


def _os_path(exc: OSError) -> str | None:
    if exc.filename is not None:
        return str(exc.filename)
    return _quoted_path(str(exc))


def _errno_in_text(text: str) -> int | None:
    found = _ERRNO_IN_TEXT.search(text)
    return int(found.group(1)) if found else None


def _quoted_path(text: str) -> str | None:
    found = _QUOTED_PATH.search(text)
    return found.group(1) if found else None


def _by_message(text: str, table: tuple[tuple[str, Fault], ...]) -> Fault | None:
    lowered = text.lower()
    return next((fault for fragment, fault in table if fragment in lowered), None)


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
