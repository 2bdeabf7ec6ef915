"""The taxgate home and every folder of return information kept private to the user running it.

The home holds the master index (every filer's names and addresses), the ledger (requested
personal data), the HMAC secret and keys; an --out folder holds verdicts, decisions and the
response with disclosed addresses. IRS Publication 1075 asks that return information be
open only to those who need it, so (docs/home.md):

- the CLI sets the process umask to 0o077 (`private_umask`), so every file and folder taxgate,
  DuckDB or SQLite creates (side files, spill folders, models, responses) is 0600 / 0700;
- a home or --out folder is created 0700; one that exists is checked on every command that
  uses it: owned by this user, not a symlink owned by someone else, not writable by group or
  others, and no parent folder lets someone else rename it (a sticky folder such as /tmp
  does not). The same holds for each file and folder in it, none of which may be a symlink;
- something merely readable by group or others (a home made by an older taxgate, a copied
  file) is tightened and said so on stderr: that only closes a leak. Something writable by
  others, owned by someone else or a symlink is refused with the exact command to fix it,
  since someone may already have changed it: tightening would hide that.
"""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import stat
from collections.abc import Iterable
from pathlib import Path

from taxgate.errors import TaxgateError, visible

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
OTHERS_READ = 0o044 | 0o011  # read or enter/execute by group or others
OTHERS_WRITE = 0o022
ROOT_UID = 0
# SQLite's files beside a database: write-ahead log, shared memory, rollback journal.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

notices = logging.getLogger("taxgate.home")


def private_umask() -> int:
    """Make every file this process creates from now on private; return the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_home(home: Path | str, role: str = "taxgate home") -> Path:
    """The home, created 0700 if missing, checked with everything in it (see module doc).

    Also a folder of the home's kept elsewhere (`role` names it in a refusal): the master's
    Parquet export on a shared mount holds every filer's names and addresses too."""
    home = Path(home)
    _private_dir(home, role, tighten=True)
    _check_tree(home)
    return home


def private_out(out: Path | str) -> Path:
    """An output folder of return information (--out), created 0700, it and its files checked.

    Only the folder's own entries are checked, not sub-folders: taxgate writes none there.
    """
    out = Path(out)
    _private_dir(out, "output folder", tighten=True)
    for entry in _entries(out):
        _private_entry(entry, recurse=False)
    return out


def private_file(path: Path | str) -> Path:
    """A file of return information about to be written (a report): an old copy is checked
    (an overwritten file would keep its old mode); a new one is private by the umask."""
    path = Path(path)
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _private_entry(path, recurse=False)
    return path


def private_sqlite(database: Path | str) -> Path:
    """A SQLite ledger file: its folder made (0700) and checked, the file and its side files too.

    The folder may be shared (TAXGATE_DATABASE_URL outside the home) but nobody else may write
    to it, sticky or not: they could plant a -wal or -journal file SQLite would replay.
    """
    database = Path(database)
    _private_dir(database.parent, "ledger folder", tighten=False)
    for path in (database, *(Path(f"{database}{side}") for side in SQLITE_SIDE_FILES)):
        _private_entry(path, recurse=False)
    return database


def readable_sqlite(database: Path | str) -> Path:
    """A SQLite ledger opened only to read (`ledger verify`, maybe on an auditor's copy).

    Nothing is created or tightened (the copy may sit on read-only media, or belong to whoever
    handed it over), but a symlink or a special file in place of the ledger or of a side file
    SQLite would read is refused, as for a ledger taxgate writes.
    """
    database = Path(database)
    for path in (database, *(Path(f"{database}{side}") for side in SQLITE_SIDE_FILES)):
        info = _lstat(path)
        if info is None:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise _refusal(
                path,
                f"a symlink (to {visible(os.readlink(path))}) where the ledger file should be",
                f"rm {_q(path)}",
                "and put the real file back, or restore it from a backup",
            )
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(path, "neither a regular file nor a folder", f"rm {_q(path)}", "")
    return database


def _private_dir(path: Path, role: str, *, tighten: bool) -> None:
    """Create `path` 0700 if missing; otherwise refuse or tighten it (see the module doc)."""
    link = _lstat(path)
    if link is not None and stat.S_ISLNK(link.st_mode) and not _trusted_owner(link.st_uid):
        raise _refusal(
            path,
            f"the {role} is a symlink owned by {_user(link.st_uid)}",
            f"rm {_q(path)}",
            "and name a folder of your own",
        )
    if link is None:
        try:
            path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:  # a dangling symlink, a file
            raise _not_a_dir(path, role) from exc
    info = _stat(path)
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise _not_a_dir(path, role)
    _check_owner(path, info, role)
    if info.st_mode & OTHERS_WRITE:  # sticky or not: others could plant files in it
        raise _refusal(
            path,
            f"the {role} is writable by group or others (mode {_mode(info)})",
            f"chmod 700 {_q(path)}",
            _CHECK_CONTENTS,
        )
    if tighten and info.st_mode & OTHERS_READ:
        _tighten(path, info, DIR_MODE)
    _check_parents(path.resolve().parent, path)


def _check_parents(folder: Path, child: Path) -> None:
    """No folder above may let another user rename or replace what is below it."""
    for parent in (folder, *folder.parents):
        info = _stat(parent)
        if info is None:
            continue
        if not _trusted_owner(info.st_uid):
            raise _refusal(
                parent,
                f"{visible(str(child))} lies in a folder owned by {_user(info.st_uid)}",
                f"chown {_me()} {_q(parent)}",
                "or choose a folder of your own",
            )
        if info.st_mode & OTHERS_WRITE and not info.st_mode & stat.S_ISVTX:
            raise _refusal(
                parent,
                f"{visible(str(child))} lies in a folder others may write to "
                f"(mode {_mode(info)}), so they could replace it",
                f"chmod go-w {_q(parent)}",
                "or choose another folder",
            )


def _check_tree(home: Path) -> None:
    for entry in _entries(home):
        _private_entry(entry, recurse=True)


def _private_entry(path: Path, *, recurse: bool) -> None:
    """One file or folder taxgate keeps: refuse or tighten it; missing is fine."""
    info = _lstat(path)
    if info is None:
        return
    if stat.S_ISLNK(info.st_mode):
        raise _refusal(
            path,
            f"a symlink (to {visible(os.readlink(path))}) where taxgate keeps its own file",
            f"rm {_q(path)}",
            "and put the real file back, or restore it from a backup",
        )
    is_dir = stat.S_ISDIR(info.st_mode)
    if not is_dir and not stat.S_ISREG(info.st_mode):
        raise _refusal(path, "neither a regular file nor a folder", f"rm {_q(path)}", "")
    role = "folder" if is_dir else "file"
    _check_owner(path, info, role)
    if info.st_mode & OTHERS_WRITE:
        mode = "700" if is_dir else "600"
        raise _refusal(
            path,
            f"the {role} is writable by group or others (mode {_mode(info)})",
            f"chmod {mode} {_q(path)}",
            _CHECK_CONTENTS,
        )
    if info.st_mode & OTHERS_READ:
        _tighten(path, info, DIR_MODE if is_dir else FILE_MODE)
    if is_dir and recurse:
        for entry in _entries(path):
            _private_entry(entry, recurse=True)


_CHECK_CONTENTS = (
    "after making sure nobody else changed what it holds (taxgate ledger verify checks the log)"
)


def _check_owner(path: Path, info: os.stat_result, role: str) -> None:
    if info.st_uid != os.geteuid():
        raise _refusal(
            path,
            f"the {role} belongs to {_user(info.st_uid)}, not to {_me()} who runs taxgate",
            f"chown -R {_me()} {_q(path)}",
            "or run taxgate as its owner",
        )


def _tighten(path: Path, info: os.stat_result, private: int) -> None:
    mode = stat.S_IMODE(info.st_mode) & private
    try:  # through a descriptor opened without following a symlink swapped in meanwhile
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return  # removed meanwhile (a SQLite journal): nothing left to protect
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    notices.warning(
        "note: %s was readable by group or others (mode %s); taxgate made it private (%s)",
        visible(str(path)),
        _mode(info),
        f"{mode:04o}",
    )


def _refusal(path: Path, what: str, command: str, rest: str) -> TaxgateError:
    fix = f"Run: {command}" + (f" {rest}" if rest else "") + "; then run taxgate again."
    return TaxgateError(f"{what}; taxgate keeps return information private", fix, file=path)


def _not_a_dir(path: Path, role: str) -> TaxgateError:
    return TaxgateError(
        f"the {role} is not a folder (a file or a broken symlink is in its place or its path)",
        "Point --home / TAXGATE_HOME / --out at a folder (taxgate creates a missing one), "
        "or move that file away.",
        file=path,
    )


def _entries(folder: Path) -> Iterable[Path]:
    try:
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return ()


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _trusted_owner(uid: int) -> bool:
    return uid in (ROOT_UID, os.geteuid())


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _me() -> str:
    return _user(os.geteuid())


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _q(path: Path) -> str:
    """The path for a shell command; a control character in it shown escaped, not acted on."""
    return visible(shlex.quote(str(path)))
