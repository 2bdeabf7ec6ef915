"""`taxgate ledger`: checkpoint, prove and verify from the command line, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from taxgate.cli.main import app
from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_keyring
from taxgate.ledger import merkle
from taxgate.ledger.checkpoint import verify_checkpoint
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events
from taxgate.ledger.secret import SECRET_FILE
from tests.ledger.seed import SECRET, seed_batch, subject
from tests.ledger.test_events import AT, sample_events
from tests.ledger.test_log import ORIGIN, unlock_log

EVENTS = 12


@pytest.fixture
def home(database_url: str, tmp_path: Path, monkeypatch) -> Path:
    """A home whose ledger (SQLite file or PostgreSQL via TAXGATE_DATABASE_URL) holds events."""
    home = tmp_path / "home"
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
        url = database_url
    else:
        monkeypatch.delenv("TAXGATE_DATABASE_URL", raising=False)
        url = f"sqlite:///{home / 'ledger.sqlite3'}"
    engine = open_ledger(url)
    with engine.begin() as conn:
        append_events(conn, sample_events(EVENTS), AT)
    engine.dispose()
    return home


def invoke(*args: str):
    return CliRunner().invoke(app, ["ledger", *args], env={"COLUMNS": "200"})


def test_checkpoint_prints_the_signed_note_and_writes_it(home: Path, disclosing_key) -> None:
    key, keyring = disclosing_key
    out = home.parent / "kept.txt"
    result = invoke("checkpoint", "--home", str(home), "--key", str(key), "--out", str(out))
    assert result.exit_code == 0, result.output
    note = out.read_text(encoding="utf-8")
    assert result.stdout == note
    [record] = load_keyring(keyring).values()
    cp = verify_checkpoint(note, record.ed25519_public_key(), ORIGIN)
    assert cp.size == EVENTS


def test_prove_json_checks_with_the_merkle_module_alone(home: Path, disclosing_key) -> None:
    invoke("checkpoint", "--home", str(home), "--key", str(disclosing_key[0]))
    result = invoke("prove", "decision:B-1:2", "--home", str(home), "--json")
    assert result.exit_code == 0, result.output
    proof = json.loads(result.stdout)
    leaf = merkle.leaf_hash(proof["body"].encode("utf-8"))
    assert proof["tree_size"] == EVENTS and proof["checkpoint"].startswith(ORIGIN)
    assert merkle.verify_inclusion(
        proof["seq"],
        proof["tree_size"],
        leaf,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )


def test_prove_by_seq_at_a_smaller_size_reads_as_text(home: Path) -> None:
    result = invoke("prove", "3", "--size", "5", "--home", str(home))
    assert result.exit_code == 0, result.output
    assert "seq 3 (key verdict:B-1:2)" in result.output
    assert "tree size    5" in result.output and "verified     yes" in result.output
    assert "none at this size" in result.output


def test_prove_an_unknown_event_is_a_user_error(home: Path) -> None:
    result = invoke("prove", "decision:B-9:1", "--home", str(home))
    assert isinstance(result.exception, TaxgateError)
    assert "no event with key" in str(result.exception)


@pytest.fixture
def seeded_home(database_url: str, tmp_path: Path, monkeypatch) -> Path:
    """A home whose ledger holds a released batch: its table rows and its events."""
    home = tmp_path / "seeded"
    home.mkdir()
    if database_url.startswith("postgresql"):
        monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
        url = database_url
    else:
        monkeypatch.delenv("TAXGATE_DATABASE_URL", raising=False)
        url = f"sqlite:///{home / 'ledger.sqlite3'}"
    engine = open_ledger(url)
    seed_batch(engine, "B-1", [subject(1), subject(2, outcome="NOT_CONFIRMED")])
    engine.dispose()
    return home


SEEDED_EVENTS = 7  # batch, 2 verdicts, 2 decisions, 1 disclosure, the response


def test_verify_passes_an_untouched_ledger(seeded_home: Path, disclosing_key) -> None:
    key, keyring = disclosing_key
    kept = seeded_home.parent / "kept.txt"
    invoke("checkpoint", "--home", str(seeded_home), "--key", str(key), "--out", str(kept))
    args = ("verify", "--home", str(seeded_home), "--keyring", str(keyring), "--since", str(kept))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output and f"events       {SEEDED_EVENTS}" in result.output
    assert f"your checkpoint (size {SEEDED_EVENTS})" in result.output
    assert "keyed fields NOT checked (no agency secret in this home)" in result.output
    (seeded_home / SECRET_FILE).write_bytes(SECRET)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "keyed fields checked with the agency secret" in result.output


def test_verify_names_a_table_row_that_disagrees_with_the_log(
    seeded_home: Path, disclosing_key, database_url: str
) -> None:
    url = database_url if database_url.startswith("postgresql") else None
    engine = open_ledger(url or f"sqlite:///{seeded_home / 'ledger.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET outcome = 'CONFIRMED' WHERE row = 2"))
    engine.dispose()
    result = invoke("verify", "--home", str(seeded_home), "--keyring", str(disclosing_key[1]))
    assert result.exit_code == 1, result.output
    assert (
        "FAIL decisions batch B-1 row 2: outcome stored 'CONFIRMED' but the log says "
        "'NOT_CONFIRMED' (event decision:B-1:2, seq 5)"
    ) in result.output


def test_verify_lists_each_failure_and_exits_1(
    home: Path, disclosing_key, database_url: str
) -> None:
    key, keyring = disclosing_key
    kept = home.parent / "kept.txt"
    invoke("checkpoint", "--home", str(home), "--key", str(key), "--out", str(kept))
    url = database_url if database_url.startswith("postgresql") else None
    engine = open_ledger(url or f"sqlite:///{home / 'ledger.sqlite3'}")
    with engine.begin() as conn:
        unlock_log(conn)
        conn.execute(text("DELETE FROM log_events WHERE seq = 4"))
        conn.execute(text("UPDATE log_events SET body = '{}' WHERE seq = 7"))
    engine.dispose()
    result = invoke("verify", "--home", str(home), "--keyring", str(keyring), "--since", str(kept))
    assert result.exit_code == 1, result.output
    assert "FAIL event seq 4 missing (log jumps from 3 to 5)" in result.output
    assert "FAIL event seq 7 (key decision:B-1:0) body does not hash to its leaf" in result.output
    assert "FAIL checkpoint at size 12: the log holds only 11 events" in result.output
    assert "failure(s)" in result.output


def test_verify_uses_the_home_keyring_by_default(home: Path) -> None:
    result = invoke("verify", "--home", str(home))
    assert isinstance(result.exception, TaxgateError)
    assert "keyring directory not found" in str(result.exception)


def test_verify_with_an_unreadable_since_file_is_a_user_error(home: Path, disclosing_key) -> None:
    missing = home.parent / "nowhere.txt"
    result = invoke("verify", "--home", str(home), "--keyring", str(disclosing_key[1]),
                    "--since", str(missing))  # fmt: skip
    assert isinstance(result.exception, TaxgateError)
    assert "cannot read your checkpoint" in str(result.exception)


def test_checkpoint_warns_when_it_signs_events_long_unsigned(home: Path, disclosing_key) -> None:
    """Signing finishes a killed run, so it is not refused; but deleted checkpoints look alike."""
    result = invoke("checkpoint", "--home", str(home), "--key", str(disclosing_key[0]))
    assert result.exit_code == 0, result.output
    assert "warning: signed 12 event(s) after size 0 that no command signed, unsigned since " in (
        result.stderr
    )
    assert "2025-08-01 12:30 UTC, longer than the policy grace" in result.stderr
    again = invoke("checkpoint", "--home", str(home), "--key", str(disclosing_key[0]))
    assert "warning" not in again.stderr  # nothing new to sign
