"""The home and --out folders are the user's alone: created 0700, checked, tightened or refused.

Tests run as root in CI, and root ignores permission bits, so every test reads modes with
os.stat rather than trying an access; another user is played by chown to an unused uid.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate.errors import TaxgateError
from taxgate.home import (
    PRIVATE_UMASK,
    private_file,
    private_home,
    private_out,
    private_sqlite,
    private_umask,
)

OTHER_UID = 54_321  # no such user: stands for "someone else"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a user who never heard of Publication 1075, restored after the test."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_missing_home_is_created_private_with_its_parents(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / "home"
    assert private_home(home) == home
    assert mode(home) == 0o700


def test_loose_but_not_writable_things_are_tightened_and_said(
    tmp_path: Path, loose_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    (home / "keyring").mkdir(parents=True)
    (home / "master.duckdb").write_bytes(b"x")
    (home / "keyring" / "a.pub.json").write_text("{}")
    home.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="taxgate.home"):
        private_home(home)
    assert mode(home) == 0o700
    assert mode(home / "keyring") == 0o700
    assert mode(home / "master.duckdb") == 0o600
    assert mode(home / "keyring" / "a.pub.json") == 0o600
    assert f"{home / 'master.duckdb'} was readable by group or others (mode 0644)" in caplog.text


@pytest.mark.parametrize("loose", [0o777, 0o775, 0o757, 0o1777, 0o720])
def test_a_home_others_can_write_is_refused_with_the_chmod(tmp_path: Path, loose: int) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(loose)
    with pytest.raises(TaxgateError) as raised:
        private_home(home)
    assert f"Run: chmod 700 {home}" in str(raised.value)
    assert str(home) in str(raised.value) and "writable by group or others" in str(raised.value)
    assert mode(home) == loose  # refused, not silently "fixed": someone may have planted files


@pytest.mark.parametrize("name", ["master.duckdb", "ledger.sqlite3-wal", "keyring/x.key"])
def test_a_data_file_others_can_write_is_refused(tmp_path: Path, name: str) -> None:
    home = private_home(tmp_path / "home")
    path = home / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"x")
    path.chmod(0o666)
    with pytest.raises(TaxgateError, match=f"Run: chmod 600 {path}"):
        private_home(home)


@as_root
def test_a_home_or_file_of_another_user_is_refused_with_the_chown(tmp_path: Path) -> None:
    home = private_home(tmp_path / "home")
    os.chown(home, OTHER_UID, -1)
    with pytest.raises(
        TaxgateError, match=f"belongs to uid {OTHER_UID}.*Run: chown -R root {home}"
    ):
        private_home(home)
    os.chown(home, 0, -1)
    secret = home / "hmac.secret"
    secret.write_bytes(b"k")
    secret.chmod(0o600)
    os.chown(secret, OTHER_UID, -1)
    with pytest.raises(TaxgateError, match=f"{secret}: the file belongs to uid {OTHER_UID}"):
        private_home(home)


@pytest.mark.parametrize("name", ["ledger.sqlite3", "master.duckdb", "keyring"])
def test_a_symlink_in_the_home_is_refused(tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    home = private_home(tmp_path / "home")
    (home / name).symlink_to(elsewhere)
    with pytest.raises(TaxgateError, match=f"{home / name}: a symlink .*Run: rm {home / name}"):
        private_home(home)


def test_a_home_that_is_a_symlink_to_a_world_writable_folder_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = tmp_path / "home"
    link.symlink_to(shared)
    with pytest.raises(TaxgateError, match="writable by group or others"):
        private_home(link)


def test_a_home_that_is_a_symlink_to_a_private_folder_of_ones_own_is_accepted(
    tmp_path: Path,
) -> None:
    real = private_home(tmp_path / "real")
    link = tmp_path / "home"
    link.symlink_to(real)
    assert private_home(link) == link


@as_root
def test_a_home_symlink_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    real = private_home(tmp_path / "real")
    link = tmp_path / "home"
    link.symlink_to(real)
    os.lchown(link, OTHER_UID, -1)
    with pytest.raises(TaxgateError, match=f"symlink owned by uid {OTHER_UID}"):
        private_home(link)


@pytest.mark.parametrize("kind", ["file", "dangling symlink", "under a file"])
def test_a_home_that_is_no_folder_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    if kind == "file":
        home.write_text("not a folder")
    elif kind == "dangling symlink":
        home.symlink_to(tmp_path / "gone")
    else:
        (tmp_path / "file").write_text("x")
        home = tmp_path / "file" / "home"
    with pytest.raises(TaxgateError, match=f"{home}: the taxgate home is not a folder"):
        private_home(home)


def test_a_home_in_a_sticky_shared_folder_is_created_private(tmp_path: Path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: others cannot rename what is ours
    assert mode(private_home(shared / "home")) == 0o700


def test_a_home_in_a_folder_others_may_write_without_the_sticky_bit_is_refused(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may rename the home and put their own in its place
    with pytest.raises(TaxgateError, match=f"{shared}: .* others may write to .*chmod go-w"):
        private_home(shared / "home")


@as_root
def test_a_home_inside_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, OTHER_UID, -1)
    with pytest.raises(TaxgateError, match=f"{theirs}: .* owned by uid {OTHER_UID}"):
        private_home(theirs / "home")


def test_a_sqlite_ledger_in_a_shared_sticky_folder_is_refused(tmp_path: Path) -> None:
    """Outside the home (TAXGATE_DATABASE_URL), sticky is not enough: a planted -wal replays."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(TaxgateError, match="ledger folder is writable by group or others"):
        private_sqlite(shared / "ledger.sqlite3")


@as_root
def test_a_sqlite_side_file_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir(mode=0o700)
    planted = folder / "ledger.sqlite3-wal"
    planted.write_bytes(b"frames")
    os.chown(planted, OTHER_UID, -1)
    with pytest.raises(TaxgateError, match=f"{planted}: the file belongs to uid {OTHER_UID}"):
        private_sqlite(folder / "ledger.sqlite3")


def test_a_sqlite_ledger_replaced_by_a_symlink_is_refused(tmp_path: Path) -> None:
    folder = private_home(tmp_path / "db")
    (tmp_path / "elsewhere.sqlite3").write_bytes(b"")
    (folder / "ledger.sqlite3").symlink_to(tmp_path / "elsewhere.sqlite3")
    with pytest.raises(TaxgateError, match="a symlink"):
        private_sqlite(folder / "ledger.sqlite3")


def test_a_shared_ledger_folder_is_checked_but_not_tightened(
    tmp_path: Path, loose_umask: None
) -> None:
    """A folder such as /srv/taxgate may be listable; the ledger's files in it may not."""
    folder = tmp_path / "srv"
    folder.mkdir(mode=0o755)
    (folder / "ledger.sqlite3").write_bytes(b"")
    private_sqlite(folder / "ledger.sqlite3")
    assert mode(folder) == 0o755
    assert mode(folder / "ledger.sqlite3") == 0o600


def test_an_existing_world_readable_out_folder_is_made_private(
    tmp_path: Path, loose_umask: None
) -> None:
    out = tmp_path / "answer"
    out.mkdir()
    (out / "response.manifest.json").write_text("{}")
    (out / "old").mkdir()
    private_out(out)
    assert mode(out) == 0o700
    assert mode(out / "response.manifest.json") == 0o600
    assert mode(out / "old") == 0o700


def test_an_out_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "answer"
    out.mkdir()
    out.chmod(0o777)
    with pytest.raises(TaxgateError, match=f"Run: chmod 700 {out}"):
        private_out(out)


def test_an_old_report_file_is_made_private_before_it_is_overwritten(
    tmp_path: Path, loose_umask: None
) -> None:
    report = tmp_path / "reports" / "accounting.csv"
    private_file(report)
    assert report.parent.is_dir() and not report.exists()
    report.write_text("old")
    private_file(report)
    assert mode(report) == 0o600


def test_private_umask_makes_new_files_and_folders_private(tmp_path: Path) -> None:
    old = private_umask()
    try:
        (tmp_path / "f").write_text("x")
        (tmp_path / "d").mkdir()
        assert os.umask(PRIVATE_UMASK) == PRIVATE_UMASK
    finally:
        os.umask(old)
    assert mode(tmp_path / "f") == 0o600 and mode(tmp_path / "d") == 0o700


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file_mode=st.integers(min_value=0o400, max_value=0o777))
def test_every_file_mode_ends_private_or_refused(tmp_path: Path, file_mode: int) -> None:
    home = private_home(tmp_path / f"home-{file_mode:o}")
    path = home / "model.json"
    path.write_text("{}")
    path.chmod(file_mode)
    if file_mode & 0o022:
        with pytest.raises(TaxgateError):
            private_home(home)
        assert mode(path) == file_mode
    else:
        private_home(home)
        assert mode(path) == (file_mode if not file_mode & 0o077 else file_mode & 0o600)


def test_the_fix_quotes_a_path_with_spaces_for_the_shell(tmp_path: Path) -> None:
    home = tmp_path / "my home; rm -rf x"
    home.mkdir()
    home.chmod(0o777)
    with pytest.raises(TaxgateError) as raised:
        private_home(home)
    assert f"Run: chmod 700 '{home}'" in str(raised.value)


def test_a_fifo_in_the_home_is_refused(tmp_path: Path) -> None:
    home = private_home(tmp_path / "home")
    os.mkfifo(home / "ledger.sqlite3-wal")
    with pytest.raises(TaxgateError, match="neither a regular file nor a folder"):
        private_home(home)


def test_a_symlink_with_a_newline_in_its_target_is_told_on_one_line(tmp_path: Path) -> None:
    home = private_home(tmp_path / "home")
    (home / "model.json").symlink_to("/elsewhere\nerror: forged second line")
    with pytest.raises(TaxgateError) as raised:
        private_home(home)
    assert "\n" not in str(raised.value) and "\\nerror: forged" in str(raised.value)
