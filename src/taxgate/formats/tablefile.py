"""Open the table file a manifest names, and nothing else: a regular file beside the manifest.

The manifest's model already holds the name to a bare file name (no path, no ".."); this module
refuses what a name alone cannot rule out: a symbolic link (to /etc/passwd, say), a directory,
a FIFO that would block the reader, a device. The file is opened once, without following
links, relative to the directory's own descriptor; the opened descriptor is checked with fstat
and its bytes are read once, so what is hashed is exactly what is parsed (no time-of-check to
time-of-use gap between verifying the digest and reading the rows).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from taxgate.errors import FormatError
from taxgate.formats.manifest import FILE_NAME_MAX_LENGTH, FILE_NAME_PATTERN

_BARE_NAME = re.compile(FILE_NAME_PATTERN)
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK: opening a FIFO for reading must not wait for a writer; fstat then refuses it.
_OPEN_FLAGS = (
    os.O_RDONLY
    | _NO_FOLLOW
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_PUT_IT_THERE = "Put the table file itself (not a link to it) next to the manifest."


@dataclass(frozen=True)
class TableFile:
    """The bytes of one table file, read once; `path` names it in messages."""

    path: Path
    data: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def is_bare_name(name: str) -> bool:
    """True for a file name the exchange format allows (see FILE_NAME_PATTERN)."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= FILE_NAME_MAX_LENGTH
        and _BARE_NAME.fullmatch(name) is not None
    )


def read_beside(manifest_path: Path, name: str, *, field: str = "subjects_file") -> TableFile:
    """The bytes of the regular file `name` in the directory of `manifest_path`.

    Raises FormatError (naming the manifest and the field) for a name that is not a bare file
    name, a missing file, a symbolic link, or anything that is not a regular file.
    """
    manifest_path = Path(manifest_path)
    directory = manifest_path.parent
    if not is_bare_name(name):
        raise FormatError(
            "names a table file outside the manifest's directory or with a disallowed name",
            "Name a file in the manifest's own directory: a bare file name without '/', '\\', "
            "'..' or a drive letter (docs/formats.md).",
            file=manifest_path,
            field=field,
        )
    path = directory / name
    try:
        fd = _open_in(directory, name)
    except FileNotFoundError as exc:
        raise FormatError(
            f"the table file {name} is missing",
            "Put it next to the manifest, or correct the file name.",
            file=manifest_path,
            field=field,
        ) from exc
    except OSError as exc:
        if _is_link(directory, name):
            raise FormatError(
                f"the table file {name} is a symbolic link; links are not followed",
                _PUT_IT_THERE,
                file=manifest_path,
                field=field,
            ) from exc
        raise FormatError(
            f"the table file {name} cannot be opened ({exc.strerror})",
            "Check that it exists and is readable.",
            file=manifest_path,
            field=field,
        ) from exc
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        raise FormatError(
            f"the table file {name} is not a regular file (a directory, FIFO, socket or device)",
            _PUT_IT_THERE,
            file=manifest_path,
            field=field,
        )
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    return TableFile(path, data)


def _open_in(directory: Path, name: str) -> int:
    """A descriptor of `name` opened relative to `directory`'s own descriptor, links refused."""
    if os.open in os.supports_dir_fd:
        dir_fd = os.open(directory, _DIR_FLAGS)
        try:
            return os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    if _is_link(directory, name):  # no O_NOFOLLOW on this platform: check first
        raise OSError(0, "symbolic link")
    return os.open(directory / name, _OPEN_FLAGS)


def _is_link(directory: Path, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(directory / name).st_mode)
    except OSError:
        return False
