"""Attacks on where return information lives, and faults of the machine, through the CLI.

Return information (the master index, the ledger, the answer folder) must be the user's alone
(taxgate.home); a full disk, a read-only file, a held lock or a server down must read as one
line saying what failed, where and what to do, with the ledger consistent and a rerun resuming
(taxgate.faults). Modes are read with os.stat: CI runs as root, which ignores them.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pyarrow.parquet as pq
import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import make_url

from taxgate.cli import main
from taxgate.formats.keys import load_keyring
from taxgate.formats.manifest import RequestManifest
from taxgate.ledger import schema as t
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import masked, open_ledger
from taxgate.ledger.events import EventKind
from tests.test_pipeline import counts, disclosing_key
from tests.test_pipeline import process as process_subprocess

CHUNK = "100"


@pytest.fixture(autouse=True)
def restore_umask() -> Iterator[None]:
    """The CLI sets the process umask to 0o077; give the next test the one it had."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def run_cli(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """`taxgate ARGS` in this process through the real entry point and its error funnel."""
    main._state["debug"] = False
    argv = sys.argv
    sys.argv = ["taxgate", *args]
    try:
        with pytest.raises(SystemExit) as ended:
            main.run()
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return ended.value.code or 0, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The one error line (progress bars and notices may come before it)."""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err, err
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def assert_all_private(*roots: Path) -> None:
    for root in roots:
        assert mode(root) & 0o077 == 0, root
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                assert mode(Path(folder) / name) & 0o077 == 0, Path(folder) / name


# ---- faults: one line each, injected where the CLI would meet them -------------------------

FAULTS = [
    (OSError(errno.ENOSPC, "No space left on device", "/h/ledger.sqlite3"), "Free disk space"),
    (OSError(errno.EDQUOT, "Disk quota exceeded", "/h/ledger.sqlite3"), "raise the quota"),
    (OSError(errno.EROFS, "Read-only file system", "/h/ledger.sqlite3"), "Remount it"),
    (OSError(errno.EACCES, "Permission denied", "/h/ledger.sqlite3"), "chown / chmod"),
    (sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(
        "database or disk is full")), "Free disk space"),
    (sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(
        "attempt to write a readonly database")), "writable by the user"),
    (sqlalchemy.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError(
        "database is locked")), "Wait for the other taxgate command"),
    (sqlalchemy.exc.OperationalError("x", {}, sqlite3.OperationalError(
        "unable to open database file")), "folder exists and is writable"),
    (duckdb.IOException('IO Error: Could not set lock on file "/h/master.duckdb": Conflicting '
                        "lock is held in python (PID 7)"), "Wait for the other taxgate command"),
    (duckdb.IOException('IO Error: Could not write "/h/master.duckdb": No space left on device'),
     "Free disk space"),
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError(
        "connection failed: server closed the connection unexpectedly")), "server is running"),
]  # fmt: skip


@pytest.mark.parametrize(("fault", "fix"), FAULTS, ids=lambda f: type(f).__name__)
def test_each_foreseeable_fault_is_one_line_with_its_fix(
    fault: Exception, fix: str, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(url: str) -> str:
        raise fault

    monkeypatch.setattr("taxgate.cli.db.upgrade", failing)
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(tmp_path / "home"))
    assert code == 2
    assert fix in one_error_line(err)


def test_a_bug_still_says_internal_error_and_debug_shows_the_traceback(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def buggy(url: str) -> str:
        raise KeyError("row")

    monkeypatch.setattr("taxgate.cli.db.upgrade", buggy)
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(tmp_path / "home"))
    assert code == 1 and "internal error: KeyError" in err and "report it" in err
    sys.argv, argv = ["taxgate", "--debug", "db", "upgrade"], sys.argv
    try:
        with pytest.raises(KeyError):
            main.run()
    finally:
        sys.argv = argv


def test_a_home_under_a_regular_file_is_one_line(world_dir: Path, tmp_path: Path, capsys) -> None:
    """--home under a regular file: ENOTDIR for real, even as root."""
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, "master", "load", str(world_dir / "filings.parquet"),
                           "--home", str(tmp_path / "file" / "home"))  # fmt: skip
    assert code == 2
    assert str(tmp_path / "file" / "home") in one_error_line(err)


# ---- attacks on the home, the ledger file and --out ---------------------------------------


def test_a_home_that_is_a_symlink_to_a_world_writable_folder_is_refused(
    tmp_path: Path, capsys
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (tmp_path / "home").symlink_to(shared)
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(tmp_path / "home"))
    assert code == 2
    assert f"Run: chmod 700 {tmp_path / 'home'}" in one_error_line(err)
    assert not (shared / "ledger.sqlite3").exists()


def test_a_home_in_a_shared_sticky_folder_is_created_private(tmp_path: Path, capsys) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    home = shared / "taxgate"
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(home))
    assert code == 0, err
    assert_all_private(home)
    assert (home / "ledger.sqlite3").is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="playing another user needs root")
def test_a_home_planted_in_a_shared_folder_by_another_user_is_refused(
    tmp_path: Path, capsys
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    planted = shared / "taxgate"
    planted.mkdir(mode=0o700)
    os.chown(planted, 54_321, -1)
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(planted))
    assert code == 2 and "belongs to uid 54321" in one_error_line(err)


def test_taxgate_home_pointing_at_a_file_is_one_line(
    world_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "home").write_text("not a folder")
    monkeypatch.setenv("TAXGATE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TAXGATE_DATABASE_URL", raising=False)
    for args in (["db", "upgrade"], ["master", "load", str(world_dir / "filings.parquet")]):
        code, _, err = run_cli(capsys, *args)
        assert code == 2
        assert "is not a folder" in one_error_line(err) and str(tmp_path / "home") in err


@pytest.mark.parametrize(
    ("name", "command"),
    [("ledger.sqlite3", "verify"), ("ledger.sqlite3-wal", "verify"),
     ("hmac.secret", "gate"), ("master.duckdb", "gate"), ("keyring", "gate")],
)  # fmt: skip
def test_a_file_in_the_home_replaced_by_a_symlink_is_refused(
    world_dir: Path, tmp_path: Path, capsys, name: str, command: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("TAXGATE_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    assert run_cli(capsys, "db", "upgrade", "--home", str(home))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"")
    (home / name).unlink(missing_ok=True)
    (home / name).symlink_to(elsewhere)
    args = (
        ["ledger", "verify", "--home", str(home), "--keyring", str(world_dir / "keys")]
        if command == "verify"
        else ["gate", str(world_dir / "batch" / "manifest.json"), "--keyring",
              str(world_dir / "keys"), "--home", str(home), "--dry-run"]
    )  # fmt: skip
    code, _, err = run_cli(capsys, *args)
    assert code == 2
    assert f"{home / name}: a symlink (to {elsewhere})" in one_error_line(err)


def test_a_sqlite_ledger_outside_the_home_in_a_shared_folder_is_refused(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setenv("TAXGATE_DATABASE_URL", f"sqlite:///{shared / 'ledger.sqlite3'}")
    code, _, err = run_cli(capsys, "db", "upgrade", "--home", str(tmp_path / "home"))
    assert code == 2 and "ledger folder is writable by group or others" in one_error_line(err)
    assert not (shared / "ledger.sqlite3").exists()


# ---- a batch through `taxgate process`: faults mid-run, modes of everything written -------


@pytest.fixture
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A copy of the trained home as an older taxgate left it: readable by everyone."""
    copy = tmp_path / "home"
    copy.mkdir(mode=0o755)
    for name in ("master.duckdb", "model.json"):
        shutil.copy(trained_home / name, copy / name)
        (copy / name).chmod(0o644)
    return copy


def process_args(world_dir: Path, home: Path, out: Path) -> list[str]:
    return ["process", str(world_dir / "batch" / "manifest.json"), "--home", str(home),
            "--keyring", str(world_dir / "keys"), "--key", str(disclosing_key(world_dir)),
            "--out", str(out)]  # fmt: skip


MID_RUN_FAULTS = {
    "sqlite": (sqlite3.OperationalError("database or disk is full"), "no space left"),
    "postgresql": (
        psycopg.OperationalError("server closed the connection unexpectedly"),
        "the database server cannot be reached",
    ),
}


@pytest.mark.slow
def test_a_ledger_fault_mid_run_is_one_line_and_the_rerun_resumes(
    world_dir: Path, home: Path, tmp_path: Path, database_url: str, capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The gate is recorded, the first chunk of decisions too; the second chunk's INSERT meets
    a full disk (SQLite) or a server gone (PostgreSQL): the driver's own error, raised where
    the driver would raise it, inside the chunk's transaction."""
    monkeypatch.setenv("TAXGATE_MATCH_CHUNK_SUBJECTS", CHUNK)
    monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
    fault, what = MID_RUN_FAULTS[make_url(database_url).get_backend_name()]
    inserts = []

    def failing(conn, cursor, statement: str, *args) -> None:
        if statement.startswith("INSERT INTO decisions"):
            inserts.append(statement)
            if len(inserts) == 2:
                raise fault

    out = tmp_path / "out"
    event.listen(Engine, "before_cursor_execute", failing)
    try:
        code, _, err = run_cli(capsys, *process_args(world_dir, home, out))
    finally:
        event.remove(Engine, "before_cursor_execute", failing)
    assert code == 2
    said = one_error_line(err)
    assert f"ledger database {masked(database_url)}: {what}" in said
    assert "run the same command again" in said
    batch_id = RequestManifest.load(world_dir / "batch" / "manifest.json").batch_id
    partial = counts(database_url, batch_id)
    assert partial["decisions"] == int(CHUNK) == partial[f"events:{EventKind.DECISION}"]

    code, _, err = run_cli(capsys, *process_args(world_dir, home, out))
    assert code == 0, err
    decisions = pq.read_table(out / "decisions.parquet")
    found = counts(database_url, batch_id)
    assert found["decisions"] == decisions.num_rows == found[f"events:{EventKind.DECISION}"]
    assert decisions.num_rows > int(CHUNK) and found[f"events:{EventKind.BATCH_RECEIVED}"] == 1
    assert found["subjects"] == partial["subjects"] == found[f"events:{EventKind.GATE_VERDICT}"]
    assert found["responses"] == 1
    engine = open_ledger(database_url)
    report = verify_log(engine, load_keyring(world_dir / "keys"))
    engine.dispose()
    assert report.ok, report
    assert_all_private(home, out)


@pytest.mark.slow
def test_a_real_fault_mid_run_through_the_installed_cli(
    world_dir: Path, home: Path, tmp_path: Path
) -> None:
    """decisions.parquet is a folder: writing it fails for real (EISDIR) after the gate and
    every decision were recorded. One line; with the folder moved away, the rerun resumes.
    The old answer folder was readable by everyone: it is made private, and said so."""
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    (out / "response.json").write_text("{}")
    (out / "response.json").chmod(0o644)
    (out / "decisions.parquet").mkdir()
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    failed = process_subprocess(world_dir, home, out, url)
    assert failed.returncode == 2, failed.stderr
    said = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(said) == 1 and "internal error" not in failed.stderr
    assert f"{out / 'decisions.parquet'}: a folder is where a file should be" in said[0]
    assert "taxgate made it private" in failed.stderr and str(home / "master.duckdb") in (
        failed.stderr
    )
    batch_id = RequestManifest.load(world_dir / "batch" / "manifest.json").batch_id
    recorded = counts(url, batch_id)
    assert recorded["decisions"] > 0 and recorded["responses"] == 0

    (out / "decisions.parquet").rmdir()
    resumed = process_subprocess(world_dir, home, out, url)
    assert resumed.returncode == 0, resumed.stderr
    found = counts(url, batch_id)
    assert found["decisions"] == recorded["decisions"] == found[f"events:{EventKind.DECISION}"]
    assert found["responses"] == 1
    assert_all_private(home, out)


def test_an_out_folder_others_can_write_is_refused_before_anything_is_recorded(
    world_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAXGATE_DATABASE_URL", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    home = tmp_path / "home"
    code, _, err = run_cli(capsys, *process_args(world_dir, home, out))
    assert code == 2 and f"Run: chmod 700 {out}" in one_error_line(err)
    engine = open_ledger(f"sqlite:///{home / 'ledger.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.batches)).scalar_one() == 0
    engine.dispose()


def test_the_duckdb_spill_folder_is_private_and_unguessable() -> None:
    from taxgate.match.master import spill_dir

    assert mode(spill_dir()) == 0o700
    assert spill_dir().name != f"taxgate-duckdb-{os.getpid()}"


def test_subprocess_cli_creates_a_private_home(tmp_path: Path) -> None:
    """The installed entry point, not only the in-process one, sets the private umask."""
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "taxgate", "db", "upgrade", "--home", str(home)],
        capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "TAXGATE_DATABASE_URL"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_all_private(home)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, where the machine allows mounting one (root, no seccomp ban)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(disk)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write until the disk is full, for real; return the file that filled it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


@pytest.mark.slow
def test_a_really_full_then_read_only_disk_under_out(
    world_dir: Path, home: Path, tmp_path: Path, small_disk: Path
) -> None:
    """--out on a disk that is full for real: the gate is recorded, writing its verdicts
    fails; one line; space freed, the rerun resumes. The disk remounted read-only: one line."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    out = small_disk / "out"
    out.mkdir(mode=0o700)
    filler = fill(small_disk)
    full = process_subprocess(world_dir, home, out, url)
    assert full.returncode == 2, full.stderr
    said = one_error_line(full.stderr)
    assert f"error: writing in {out}: no space left on the device" in said, said
    batch_id = RequestManifest.load(world_dir / "batch" / "manifest.json").batch_id
    assert counts(url, batch_id)["subjects"] > 0  # the gate was recorded before the fault

    filler.unlink()
    resumed = process_subprocess(world_dir, home, out, url)
    assert resumed.returncode == 0, resumed.stderr
    found = counts(url, batch_id)
    assert found["responses"] == 1 == found[f"events:{EventKind.RESPONSE_RELEASED}"]
    assert found["decisions"] == found[f"events:{EventKind.DECISION}"]
    assert_all_private(out)

    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    read_only = process_subprocess(world_dir, home, small_disk / "again", url)
    assert read_only.returncode == 2, read_only.stderr
    said = one_error_line(read_only.stderr)
    assert f"{small_disk / 'again'}: the file system is read-only" in said, said


@pytest.mark.slow
def test_master_load_and_gate_through_the_installed_cli_write_only_private_files(
    world_dir: Path, tmp_path: Path
) -> None:
    """DuckDB's own files (the database, its WAL and .tmp spill folder), SQLite's side files,
    the secret and the gate's verdict files: all made under the CLI's umask."""
    home, out = tmp_path / "home", tmp_path / "verdicts"
    env = {k: v for k, v in os.environ.items() if k != "TAXGATE_DATABASE_URL"}
    for args in (
        ["master", "load", str(world_dir / "filings.parquet"), "--home", str(home)],
        ["gate", str(world_dir / "batch" / "manifest.json"), "--keyring",
         str(world_dir / "keys"), "--home", str(home), "--out", str(out),
         "--key", str(disclosing_key(world_dir))],
    ):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "taxgate", *args], capture_output=True, text=True, env=env
        )
        assert done.returncode in (0, 1), done.stderr  # 1: the gate refused some requests
        assert "error" not in done.stderr, done.stderr
    assert (home / "master.duckdb").is_file() and (home / "ledger.sqlite3").is_file()
    assert (home / "hmac.secret").is_file() and any(out.iterdir())
    assert_all_private(home, out)
