"""The master as partitioned Parquet beside HOME/master.duckdb, read by Spark's executors
themselves: nothing of the master passes through the driver, so no one machine's memory bounds
the Spark backend (issue 11).

The export folder (TAXGATE_MASTER_PARQUET_DIR, default HOME/master-parquet) holds:
- `<version>/taxpayer_addresses/zip1=N/*.parquet`: the right-hand side of matching, `unique_id`
  (the address_id) and `model.MODEL_COLUMNS` only, partitioned by the ZIP's first digit;
- `<version>/tf_given/`, `<version>/tf_family/`: the term-frequency tables;
- `manifest.json`: the current version, its tax years, columns, rows and files.

A load writes a new version from the tables it is about to swap in (an export that fails leaves
the master as it was), the master records that version in the swap's own transaction
(`master_version`), and only then does manifest.json name it (one atomic rename) and older
versions go. A load killed between the two leaves a manifest naming another version than the
master's: `current` refuses it, as it refuses a missing export, a missing or changed file and
other columns, and says what to run. Spark never matches against anything but the master
DuckDB would read.

On a cluster of several machines every worker opens these files by the same path: the folder
must be on a shared mount, at the same path everywhere, readable by the user the workers run
as (TAXGATE_MASTER_PARQUET_DIR). It holds every filer's names and addresses: it is kept private
like the home (0700, files 0600).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from taxgate.config import get_settings
from taxgate.errors import TaxgateError
from taxgate.home import DIR_MODE, FILE_MODE, private_home
from taxgate.match import model

FORMAT = 1  # bumped when the layout changes: an export of another format is refused, not read
MANIFEST = "manifest.json"
DEFAULT_DIR = "master-parquet"
ADDRESSES = "taxpayer_addresses"
COLUMNS = (model.UNIQUE_ID, *model.MODEL_COLUMNS)
# Partitions by the ZIP's first digit (its national area): ten and a null one, however large
# the master. Few enough that Spark lists them without a job of its own (over 32 paths it runs
# one, on every chunk) and DuckDB keeps one file open per partition and thread; Spark splits a
# large file by row group, so few files do not limit its parallelism.
PARTITION, PARTITION_DIGITS = "zip1", 1
VERSION = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: a version folder, nothing else is removed
ROLE = "folder of the master's Parquet export"


@dataclass(frozen=True)
class Manifest:
    """One version of the export: what manifest.json says, and the folder it lies in."""

    folder: Path
    version: str
    tax_years: tuple[int, ...]
    columns: tuple[str, ...] = COLUMNS
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # path under the version -> bytes

    def table(self, name: str) -> Path:
        """The folder of one exported table, absolute: executors have working folders of
        their own."""
        return self.folder / self.version / name

    @property
    def bytes(self) -> int:
        return sum(self.files.values())

    def as_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "tax_years": list(self.tax_years),
                "partition_by": PARTITION,
                "columns": list(self.columns),
                "rows": self.rows,
                "files": self.files,
            },
            indent=1,
            sort_keys=True,
        )


def export_dir(home: Path) -> Path:
    """TAXGATE_MASTER_PARQUET_DIR, or HOME/master-parquet; absolute, as Spark needs it."""
    configured = get_settings().master_parquet_dir
    return (configured or Path(home) / DEFAULT_DIR).expanduser().absolute()


def _private(folder: Path, home: Path) -> None:
    """Outside the home (a shared mount) the folder is checked as the home is; inside it, the
    home's own check covers it."""
    if not folder.is_relative_to(Path(home).absolute()):
        private_home(folder, ROLE)


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def stage(
    con: duckdb.DuckDBPyConnection,
    home: Path,
    version: str,
    tax_years: set[int],
    sources: Mapping[str, str],
) -> Manifest:
    """Write `version` from the tables `sources` names on `con` (exported name -> table:
    `taxpayer_addresses` projected and partitioned, the others whole) into a folder of its own,
    which no reader looks at until `publish` names it. DuckDB writes it within the connection's
    memory limit."""
    folder = export_dir(home)
    _private(folder, home)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    target = folder / version
    target.mkdir(mode=DIR_MODE)
    projected = ", ".join(model.MODEL_COLUMNS)
    rows = {
        ADDRESSES: _copy(
            con,
            f"SELECT address_id AS {model.UNIQUE_ID}, {projected}, "
            f"left(zip5, {PARTITION_DIGITS}) AS {PARTITION} FROM {sources[ADDRESSES]}",
            f"{_sql_path(target / ADDRESSES)} (FORMAT parquet, PARTITION_BY ({PARTITION}))",
        )
    }
    for name, table in sources.items():
        if name != ADDRESSES:
            (target / name).mkdir(mode=DIR_MODE)
            to = _sql_path(target / name / "data_0.parquet")
            rows[name] = _copy(con, f"SELECT * FROM {table}", f"{to} (FORMAT parquet)")
    return Manifest(folder, version, tuple(sorted(tax_years)), rows=rows, files=_seal(target))


def _copy(con: duckdb.DuckDBPyConnection, query: str, to: str) -> int:
    return int(con.execute(f"COPY ({query}) TO {to}").fetchone()[0])


def _seal(target: Path) -> dict[str, int]:
    """Every file of the version, made private whatever the umask, with its size."""
    files = {}
    for parent, folders, names in os.walk(target):
        for name in folders:
            os.chmod(Path(parent) / name, DIR_MODE)
        for name in names:
            path = Path(parent) / name
            os.chmod(path, FILE_MODE)
            files[path.relative_to(target).as_posix()] = path.stat().st_size
    return dict(sorted(files.items()))


def publish(manifest: Manifest) -> None:
    """Make `manifest`'s version the current one (an atomic rename of manifest.json), then
    remove every other version, the leftovers of failed or killed loads included."""
    folder = manifest.folder
    pending = folder / f"{MANIFEST}.next"
    pending.unlink(missing_ok=True)
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(manifest.as_json())
        out.flush()
        os.fsync(out.fileno())
    os.replace(pending, folder / MANIFEST)
    for entry in folder.iterdir():
        if entry.is_dir() and VERSION.fullmatch(entry.name) and entry.name != manifest.version:
            shutil.rmtree(entry, ignore_errors=True)


def discard(manifest: Manifest) -> None:
    """Remove a staged version that will not be published (its load failed)."""
    shutil.rmtree(manifest.folder / manifest.version, ignore_errors=True)


def current(home: Path, version: str | None) -> Manifest:
    """The export of the master whose version is `version` (None: a master loaded before
    exports existed), checked file by file; refused, with what to run, when it is missing,
    stale, incomplete or of other columns."""
    folder = export_dir(home)
    path = folder / MANIFEST
    fix = (
        f"Write it from the master: taxgate master export --home {shlex.quote(str(home))} "
        "(taxgate master load writes it after every load), or run with --backend duckdb."
    )
    if not path.is_file():
        raise TaxgateError("no Parquet export of the master index for Spark", fix, file=folder)
    _private(folder, home)
    try:
        manifest = _read(folder, json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise TaxgateError(
            "the manifest of the master's Parquet export is unreadable", fix, file=path
        ) from exc
    if manifest.columns != COLUMNS:
        raise TaxgateError(
            "the master's Parquet export has other columns than this taxgate matches on "
            "(written by another version)",
            fix,
            file=path,
        )
    if manifest.version != version:
        years = ", ".join(map(str, manifest.tax_years))
        raise TaxgateError(
            f"the master's Parquet export is stale: it was written for another load of the "
            f"master index (tax years {years}) than the one in master.duckdb",
            fix,
            file=path,
        )
    for name, size in manifest.files.items():
        part = folder / manifest.version / name
        if not part.is_file() or part.stat().st_size != size:
            raise TaxgateError(
                "the master's Parquet export is incomplete: a file is missing or changed",
                fix,
                file=part,
            )
    return manifest


def _read(folder: Path, data: dict[str, Any]) -> Manifest:
    if data["format"] != FORMAT or not VERSION.fullmatch(data["version"]):
        raise ValueError(f"format {data['format']!r}, version {data['version']!r}")
    return Manifest(
        folder=folder,
        version=data["version"],
        tax_years=tuple(int(y) for y in data["tax_years"]),
        columns=tuple(data["columns"]),
        rows={str(k): int(v) for k, v in data["rows"].items()},
        files={str(k): int(v) for k, v in data["files"].items()},
    )
