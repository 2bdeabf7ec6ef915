"""The master index: every filing normalised once, so matching reads addresses, not raw returns.

HOME/master.duckdb holds (docs/matching.md, section 2):
- `filings_norm`: every filing, normalised, plus the address exactly as filed (`filed_*`) and
  its `address_id`; appended one tax year at a time, a year already present is refused.
- `taxpayer_addresses`: one row per (tin, distinct normalised address), the right-hand side
  of matching, named by a stable `address_id`.
- `last_known`: one row per tin, the address of its latest filing; only this feeds disclosure.
- `tf_given`, `tf_family`: term frequencies of the name columns, for the model.
- `taxpayer_names`: every (tin, given, family) filed, and `name_filers`: every (zip5, given,
  family, tin) filed; what the decision asks of every name a taxpayer used (namesakes in a ZIP,
  a given name filed in another year) without scanning every filing for each chunk of a batch.
- `master_version`: the id of the last load, the same as the Parquet export's
  (`taxgate.match.export`) when that export is current.

Every load also writes the right-hand side and the term frequencies as partitioned Parquet
(HOME/master-parquet), which the Spark backend's executors read themselves.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from taxgate.config import get_settings
from taxgate.crashpoints import crash_point
from taxgate.errors import TaxgateError
from taxgate.home import private_home
from taxgate.match import export
from taxgate.match.rejects import RejectFile, default_path
from taxgate.match.sources import FilingsSource
from taxgate.policy import load_policy

MASTER_FILE = "master.duckdb"
# Columns that make one address (normalised); a taxpayer has one address record per value.
ADDRESS_KEY = ("house_number", "street_name", "unit", "city", "state", "zip5")
# The name and birth columns a taxpayer_addresses row carries: from the filing there whose
# spelling of them the taxpayer filed most often, the latest among equals. One year's keying
# error ("ROBE RT") does not become the name every request is matched against.
PERSON_COLUMNS = (
    "given", "given_first", "given_canonical", "given_tokens", "given_phonetic",
    "family", "family_first", "family_tokens", "family_phonetic", "name_tokens",
    "suffix", "dob",
)  # fmt: skip
# The address as filed, kept beside the normalised one: a disclosure quotes the filing.
FILED_ADDRESS = ("street", "unit", "city", "state", "zip")
TF_COLUMNS = ("given", "family")
# Tables derived from filings_norm; a load builds each as `<name>_next`, then swaps it in.
DERIVED = (
    "taxpayer_addresses",
    "last_known",
    "tf_given",
    "tf_family",
    "taxpayer_names",
    "name_filers",
)
# One row: the version of the master's last load, which its Parquet export must carry.
VERSION_TABLE = "master_version"
NEXT = "_next"
STAGING = "filings_staging"
STAGING_FOLDER = ".staging-"  # in the home: a load's normalised chunks, as Parquet
# Slices are ranges of the first two hex digits of address_id, so at most 16 * 16.
MAX_PASSES = 256

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LoadSummary:
    """What one `load_filings` call appended and what the master now holds."""

    master: Path
    files: int
    rows: int
    tax_years: tuple[int, ...]
    filings: int
    taxpayers: int
    addresses: int
    seconds: float
    file_bytes: int
    rejected: int = 0
    # (field, reason) -> rows set aside for it; a row may fail on several fields.
    reasons: tuple[tuple[str, str, int], ...] = ()
    rejects: Path | None = None  # the reject file, when any row was set aside
    parquet: export.Manifest | None = None  # the Parquet export written for Spark


def master_path(home: Path) -> Path:
    return Path(home) / MASTER_FILE


def connect(home: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open HOME/master.duckdb; reading a master that was never loaded is a user error."""
    path = master_path(home)
    if read_only and not path.is_file():
        raise TaxgateError(
            "no master index in this home",
            "Load the filings first: taxgate master load FILINGS --home DIR.",
            file=path,
        )
    private_home(home)  # every filer's names and addresses: the home must be the user's alone
    return duckdb.connect(str(path), read_only=read_only, config=_bounded())


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for training and matching, bounded like the master's.

    It spills to a directory of this process's own under the system's temporary directory
    (DuckDB's default would be `.tmp` in whatever directory the user runs taxgate from).
    """
    return duckdb.connect(":memory:", config={**_bounded(), "temp_directory": str(spill_dir())})


@cache
def spill_dir() -> Path:
    """This process's spill folder: made by mkdtemp (0700, a name nobody could guess or plant
    beforehand in the shared temporary directory), removed when the process ends."""
    path = Path(tempfile.mkdtemp(prefix="taxgate-duckdb-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _bounded() -> dict[str, str]:
    # DuckDB would take 80% of the machine's memory; bounded, it spills to disk instead.
    return {"memory_limit": get_settings().duckdb_memory_limit}


def normalise_filings(chunk: pa.Table) -> pa.Table:
    """The shared normaliser (taxgate.normalize.records) applied to one chunk of filings."""
    from taxgate.normalize.records import normalise

    return normalise(chunk, "filings")


def _with_filed_address(raw: pa.Table, normalised: pa.Table, path: Path) -> pa.Table:
    if normalised.num_rows != raw.num_rows:
        raise TaxgateError(
            f"the normaliser returned {normalised.num_rows} rows for {raw.num_rows}",
            "Report this: normalising must keep one row per filing.",
            file=path,
        )
    for name in FILED_ADDRESS:
        normalised = normalised.append_column(f"filed_{name}", raw.column(name))
    return normalised


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    return con.execute(sql, [name]).fetchone()[0] > 0


def loaded_years(con: duckdb.DuckDBPyConnection) -> set[int]:
    if not _table_exists(con, "filings_norm"):
        return set()
    return {y for (y,) in con.execute("SELECT DISTINCT tax_year FROM filings_norm").fetchall()}


def _refuse_loaded_years(sources: list[FilingsSource], present: set[int]) -> None:
    for source in sources:
        again = sorted(source.tax_years() & present)
        if again:
            raise TaxgateError(
                f"tax year(s) {', '.join(map(str, again))} already in the master index",
                "Load only new tax years; years already loaded are never loaded again.",
                file=source.path,
                field="tax_year",
            )


def _address_id_sql(prefix: str = "") -> str:
    """A stable id of (tin, normalised address): the same record keeps its id across loads."""
    parts = ", ".join(f"coalesce({prefix}{c}, '')" for c in ("tin", *ADDRESS_KEY))
    return f"md5(concat_ws('|', {parts}))"


def _passes(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """How many slices the derived tables are built in, so each slice's window fits in memory."""
    rows = _count(con, f"SELECT count(*) FROM {source}")
    per_pass = get_settings().master_rebuild_rows
    return max(1, min(MAX_PASSES, -(-rows // per_pass)))


def _address_slice(index: int, passes: int) -> str:
    """Slice `index` of `passes` by the first two hex digits of address_id, in id order."""
    low = f"address_id >= '{MAX_PASSES * index // passes:02x}'"
    if index == passes - 1:
        return low
    return f"{low} AND address_id < '{MAX_PASSES * (index + 1) // passes:02x}'"


def _tin_bounds(con: duckdb.DuckDBPyConnection, source: str, passes: int) -> list[str]:
    """The tins that cut `source` into `passes` slices of about equal size, in order (nine
    digits each, as the normaliser leaves them, so they are safe to write into SQL)."""
    if passes == 1:
        return []
    cuts = [index / passes for index in range(1, passes)]
    row = con.execute(f"SELECT quantile_disc(tin, {cuts}) FROM {source}").fetchone()
    return sorted(set(row[0]))


def _tin_slice(bounds: list[str], index: int) -> str:
    """Slice `index`: tins from bound `index - 1` up to, not including, bound `index`."""
    low = f"tin >= '{bounds[index - 1]}'" if 0 < index <= len(bounds) else "true"
    high = f"tin < '{bounds[index]}'" if index < len(bounds) else "true"
    return f"{low} AND {high}" if index <= len(bounds) else "false"


def _create_or_insert(con: duckdb.DuckDBPyConnection, table: str, first: bool, query: str) -> None:
    con.execute(f"CREATE TABLE {table} AS {query}" if first else f"INSERT INTO {table} {query}")


def rebuild_derived(
    con: duckdb.DuckDBPyConnection, source: str = "filings_norm", progress: Progress | None = None
) -> None:
    """Build taxpayer_addresses, last_known, the name tables and the term-frequency tables from
    `source`.

    They are written as `<name>_next` (see `_swap_in`). Each runs over one slice of the
    filings at a time: over 54M filings in one piece DuckDB's window operator held 21 GB.
    Slices are ranges (of address_id; of tin, cut at its quantiles), each sorted, so the
    tables come out in key order written once. Aggregates (GROUP BY with arg_max), not windows:
    the same rows, and at 1M people 8.5 s against 12.7 s for taxpayer_addresses.
    """
    key = ", ".join(ADDRESS_KEY)
    person = ", ".join(PERSON_COLUMNS)
    spelling = ", ".join(f"'{c}': {c}" for c in PERSON_COLUMNS)
    filed = ", ".join(f"'{c}': filed_{c}" for c in FILED_ADDRESS)
    passes = _passes(con, source)
    steps = 3 * passes + 1
    for index in range(passes):
        # Per spelling, then per address: the spelling filed most often, the latest filing's
        # among equals (filed_on, then tax_year). Aggregates, not windows: the same rows, in a
        # fraction of the time (bench/README.md).
        _create_or_insert(con, f"taxpayer_addresses{NEXT}", index == 0, f"""
            WITH spellings AS (
                SELECT address_id, tin, {key}, {person}, count(*) AS spelling_filed,
                    max({{'day': filed_on, 'year': tax_year}}) AS latest,
                    min(tax_year) AS first_year, max(tax_year) AS last_year,
                    max(filed_on) AS last_filed_on
                FROM {source} WHERE {_address_slice(index, passes)}
                GROUP BY ALL
            ),
            chosen AS (
                SELECT address_id, tin, {key},
                    arg_max({{{spelling}}}, {{'filed': spelling_filed, 'latest': latest}})
                        AS spelling,
                    min(first_year) AS first_year, max(last_year) AS last_year,
                    max(last_filed_on) AS last_filed_on
                FROM spellings GROUP BY ALL
            )
            SELECT address_id, tin, unnest(spelling), {key}, first_year, last_year, last_filed_on
            FROM chosen ORDER BY address_id
        """)  # fmt: skip
        if progress:
            progress(index + 1, steps)
    bounds = _tin_bounds(con, source, passes)
    for index in range(passes):
        # Per taxpayer, the latest filing (filed_on, then tax_year), the least address_id
        # among equals: arg_min of the three with the dates negated. Slices are ranges of tin,
        # so sorting each slice sorts the table, written once.
        _create_or_insert(con, f"last_known{NEXT}", index == 0, f"""
            SELECT tin, unnest(arg_min(
                {{{filed}, 'tax_year': tax_year, 'filed_on': filed_on, 'address_id': address_id}},
                {{'day': -(filed_on - DATE '1970-01-01'), 'year': -tax_year, 'id': address_id}}
            ))
            FROM {source} WHERE {_tin_slice(bounds, index)}
            GROUP BY tin ORDER BY tin
        """)  # fmt: skip
        if progress:
            progress(passes + index + 1, steps)
    for index in range(passes):
        # Distinct per taxpayer, so slices of tin never overlap; sorted by tin, the way the
        # per-chunk lookups (taxgate.match.predict) filter them.
        where = f"{_tin_slice(bounds, index)} AND given IS NOT NULL"
        _create_or_insert(con, f"taxpayer_names{NEXT}", index == 0, f"""
            SELECT DISTINCT tin, given, family FROM {source} WHERE {where} ORDER BY ALL
        """)  # fmt: skip
        _create_or_insert(con, f"name_filers{NEXT}", index == 0, f"""
            SELECT DISTINCT zip5, given, family, tin FROM {source}
            WHERE {where} AND family IS NOT NULL AND zip5 IS NOT NULL
        """)  # fmt: skip
        if progress:
            progress(2 * passes + index + 1, steps)
    for column in TF_COLUMNS:
        con.execute(f"""
            CREATE TABLE tf_{column}{NEXT} AS
            SELECT {column}, count(*) / sum(count(*)) OVER () AS tf_{column}
            FROM taxpayer_addresses{NEXT} WHERE {column} IS NOT NULL
            GROUP BY {column} ORDER BY {column}
        """)
    if progress:
        progress(steps, steps)


def _drop_staging_folders(home: Path) -> None:
    """Normalised chunks a killed load left in the home (its `finally` never ran)."""
    for folder in Path(home).glob(f"{STAGING_FOLDER}*"):
        shutil.rmtree(folder, ignore_errors=True)


def _drop_leftovers(con: duckdb.DuckDBPyConnection) -> None:
    """Tables a load that did not finish (refused, failed, killed) may have left behind."""
    for name in (STAGING, *(f"{d}{NEXT}" for d in DERIVED)):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _normalise_to(raw: pa.Table, path: Path, out: str) -> None:
    """One chunk normalised and written to `out`: the work a load's worker processes share."""
    crash_point("load-chunk-normalising")
    pq.write_table(_with_filed_address(raw, normalise_filings(raw), path), out)


class _Inline(Executor):
    """Runs each call at once in this process: a file of one chunk, or one worker."""

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller by result(), as a pool would
            done.set_exception(exc)
        return done


@contextmanager
def _normalisers(sources: list[FilingsSource]) -> Iterator[tuple[Executor, int]]:
    """Processes to normalise chunks in: the normaliser is Python per distinct name and
    street, so one process keeps one core busy (at 20M people the chunks' phase, reading and
    normalising, took 6 of a load's 15 minutes).
    Spawned, not forked: the loading process holds DuckDB's threads and locks."""
    workers = get_settings().load_workers or os.cpu_count() or 1
    if workers == 1 or sum(s.chunk_count for s in sources) <= 1:
        yield _Inline(), 1
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool, workers


def _result(future: Future) -> None:
    """A worker's error is raised here as it was raised; a worker that died (killed by the
    kernel when memory ran out, most often) says what to do instead of "internal error"."""
    try:
        future.result()
    except BrokenProcessPool as exc:
        raise TaxgateError(
            "a process normalising the filings died before it finished (most often the "
            "system ran out of memory and killed it); nothing was loaded",
            "Run the load again with fewer worker processes (TAXGATE_LOAD_WORKERS=1 uses "
            "none) or with more memory free.",
        ) from exc


def _stage(
    con: duckdb.DuckDBPyConnection,
    sources: list[FilingsSource],
    rejects: RejectFile,
    max_share: float,
    progress: Progress | None,
    home: Path,
) -> int:
    """Normalise every chunk's loadable rows into the staging table; the others go to
    `rejects`. Returns the rows staged.

    Each normalised chunk is written to a Parquet file of its own (in a private folder of the
    home, removed after), by a pool of processes (`_normalisers`; this one reads the files and
    sets rows aside meanwhile), and the staging table is filled from all of them in one
    statement: an insert per chunk into the master file cost more than normalising (at 20M
    people, 46% of the first phase's samples against 19%; bench/README.md). Readers never see
    the staging table, so the load stays all or nothing (see `_swap_in`).
    """
    total = sum(s.rows for s in sources)
    done = staged = 0
    folder = Path(tempfile.mkdtemp(prefix=STAGING_FOLDER, dir=home))
    try:
        files: list[str] = []
        with _normalisers(sources) as (pool, workers):
            pending: deque[tuple[Future | None, int]] = deque()

            def settle(keep: int) -> None:
                nonlocal done
                while len(pending) > keep:
                    future, rows = pending.popleft()
                    if future is not None:
                        _result(future)
                    done += rows
                    if progress:
                        progress(done, total)

            for source in sources:
                read = set_aside = 0
                for part in source.chunks():
                    rejects.add(part)
                    raw = part.good
                    job = None
                    if raw.num_rows:
                        files.append(str(folder / f"{len(files):06d}.parquet"))
                        job = pool.submit(_normalise_to, raw, source.path, files[-1])
                    rows = raw.num_rows + part.rejected_rows
                    pending.append((job, rows))
                    read += rows
                    set_aside += part.rejected_rows
                    staged += raw.num_rows
                    settle(2 * workers)  # a bounded queue: chunks in memory stay few
                _refuse_mostly_rejected(source.path, read, set_aside, max_share, rejects)
            settle(0)
        if files:
            con.execute(
                f"CREATE TABLE {STAGING} AS SELECT *, {_address_id_sql()} AS address_id "
                "FROM read_parquet(?)",
                [files],
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return staged


def _refuse_mostly_rejected(
    path: Path, read: int, set_aside: int, max_share: float, rejects: RejectFile
) -> None:
    """A file with no loadable row, or more rows set aside than the policy allows, is broken
    as a whole: the wrong file, layout or export rather than a file with gaps."""
    if read == 0 or (set_aside < read and set_aside <= max_share * read):
        return
    rejects.close()
    top = ", ".join(f"{f} {r} ({n:,})" for (f, r), n in rejects.reasons.most_common(3))
    raise TaxgateError(
        f"{set_aside:,} of {read:,} rows cannot be loaded (most often: {top}); more than the "
        f"policy's [master] max_reject_share of {max_share:g} allows, so nothing was loaded",
        f"Check that this is a filings file of the expected layout; every refused row, field "
        f"and reason is listed in {rejects.path}.",
        file=path,
    )


def _swap_in(con: duckdb.DuckDBPyConnection, version: str) -> None:
    """In one transaction: the staged filings join filings_norm, the new derived tables replace
    the old, `version` names the result. Before this commits, readers see the master exactly
    as it was."""
    con.begin()
    try:
        if _table_exists(con, "filings_norm"):
            con.execute(f"INSERT INTO filings_norm BY NAME SELECT * FROM {STAGING}")
            con.execute(f"DROP TABLE {STAGING}")
        else:
            con.execute(f"ALTER TABLE {STAGING} RENAME TO filings_norm")
        for name in DERIVED:
            con.execute(f"DROP TABLE IF EXISTS {name}")
            con.execute(f"ALTER TABLE {name}{NEXT} RENAME TO {name}")
        _set_version(con, version)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _set_version(con: duckdb.DuckDBPyConnection, version: str) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {VERSION_TABLE} AS SELECT ?::VARCHAR AS version", [version]
    )


def master_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The version of the master's last load; None for a master loaded before versions."""
    if not _table_exists(con, VERSION_TABLE):
        return None
    row = con.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return None if row is None else str(row[0])


def _stage_export(
    con: duckdb.DuckDBPyConnection, home: Path, tax_years: set[int], suffix: str
) -> export.Manifest:
    """A new version of the Parquet export from the derived tables named `<name><suffix>`."""
    names = ("taxpayer_addresses", *(f"tf_{c}" for c in TF_COLUMNS))
    sources = {name: f"{name}{suffix}" for name in names}
    return export.stage(con, home, uuid.uuid4().hex, tax_years, sources)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0])


def load_filings(
    paths: list[Path],
    home: Path,
    progress: Progress | None = None,
    rebuilding: Progress | None = None,
    *,
    rejects: Path | None = None,
    max_reject_share: float | None = None,
) -> LoadSummary:
    """Append the filings in `paths` (new tax years only) and rebuild the derived tables.

    Rows that cannot be loaded (an empty required field, a TIN not of nine digits, ...) are
    set aside in the reject file `rejects` (default HOME/rejects/<stem>-<time>.csv, written
    only if a row is set aside). All or nothing otherwise: a refused year, a broken file or
    one with more than `max_reject_share` (default: the policy's) of its rows set aside leaves
    the master as it was. The Parquet export for Spark (`taxgate.match.export`) is written
    from the new tables before the swap and named current after it, so it follows every load.
    `progress(rows_done, rows_total)` is called after each chunk, `rebuilding(step, steps)`
    after each slice of the derived tables.
    """
    started = time.perf_counter()
    if not paths:
        raise TaxgateError("no filings files given", "Name at least one file.")
    if max_reject_share is None:
        max_reject_share = load_policy().master.max_reject_share
    sources = [FilingsSource(Path(p)) for p in paths]
    reject_file = RejectFile(Path(rejects) if rejects else default_path(home, sources[0].path))
    con = connect(home)
    staged: export.Manifest | None = None
    try:
        present = loaded_years(con)
        _refuse_loaded_years(sources, present)
        _drop_leftovers(con)
        _drop_staging_folders(home)  # the master's write lock is ours: no other load uses them
        try:
            try:
                done = _stage(con, sources, reject_file, max_reject_share, progress, home)
            finally:
                reject_file.close()
            if not done:
                raise TaxgateError("the files hold no filings", "Name a file with filings.")
            years = {
                y for (y,) in con.execute(f"SELECT DISTINCT tax_year FROM {STAGING}").fetchall()
            }
            source = STAGING
            if _table_exists(con, "filings_norm"):
                source = "all_filings"
                con.execute(f"""
                    CREATE OR REPLACE TEMP VIEW all_filings AS
                    SELECT * FROM filings_norm UNION ALL BY NAME SELECT * FROM {STAGING}
                """)
            rebuild_derived(con, source, rebuilding)
            staged = _stage_export(con, home, present | years, NEXT)
            _swap_in(con, staged.version)
            export.publish(staged)
        except BaseException:
            if staged is not None:
                export.discard(staged)
            raise
        finally:
            _drop_leftovers(con)
        summary = LoadSummary(
            master=master_path(home),
            files=len(sources),
            rows=done,
            tax_years=tuple(sorted(years)),
            filings=_count(con, "SELECT count(*) FROM filings_norm"),
            taxpayers=_count(con, "SELECT count(*) FROM last_known"),
            addresses=_count(con, "SELECT count(*) FROM taxpayer_addresses"),
            seconds=0.0,
            file_bytes=0,
            rejected=reject_file.rows,
            reasons=tuple((f, r, n) for (f, r), n in sorted(reject_file.reasons.items())),
            rejects=reject_file.path if reject_file.written else None,
            parquet=staged,
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return LoadSummary(
        **{
            **summary.__dict__,
            "seconds": time.perf_counter() - started,
            "file_bytes": master_path(home).stat().st_size,
        }
    )


def export_parquet(home: Path) -> export.Manifest:
    """Write the master's Parquet export again, as a new version of the master as it is: for
    a master loaded by a taxgate before exports, or a load killed between its swap and its
    export. The data of the master does not change."""
    if not master_path(home).is_file():
        connect(home, read_only=True)  # raises: no master index in this home, load one first
    con = connect(home)
    try:
        if not _table_exists(con, "taxpayer_addresses"):
            raise TaxgateError(
                "the master index holds no filings",
                "Load the filings first: taxgate master load FILINGS --home DIR.",
                file=master_path(home),
            )
        staged = _stage_export(con, home, loaded_years(con), "")
        try:
            _set_version(con, staged.version)  # one statement: atomic on its own
            export.publish(staged)
        except BaseException:
            export.discard(staged)
            raise
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return staged


def current_export(home: Path) -> export.Manifest:
    """The master's Parquet export, refused (with what to run) unless it is the master's own
    version, whole: what the Spark backend reads instead of master.duckdb."""
    con = connect(home, read_only=True)
    try:
        version = master_version(con)
    finally:
        con.close()
    return export.current(home, version)
