from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from taxgate.formats.keys import write_key_pair
from taxgate.gate.receipt import receipt_time
from taxgate.ledger.database import open_ledger
from taxgate.ledger.schema import gate_people
from tests.support import valid_row

# `taxgate gate` reads the gateway's own clock: a batch it should accept is dated today (UTC).
TODAY = receipt_time().date()


def _run(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {"TAXGATE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    if "PYTHONPATH" in os.environ:  # the tree under test, when it is not the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "taxgate", *args], capture_output=True, text=True, env=env
    )


def test_gate_command_writes_verdicts_and_summary(tmp_path, make_batch, signer_key) -> None:
    rows = [
        valid_row(subject_id="S-1"),
        valid_row(subject_id="S-2", street="Failed to Provide"),
        valid_row(subject_id="S-3", zip="7870", street=None, city=None),
    ]
    manifest = make_batch(rows, submitted_on=TODAY)
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    result = _run(
        "gate",
        str(manifest),
        "--keyring",
        str(keyring),
        "--out",
        str(tmp_path / "v"),
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    assert "ADDRESS_PLACEHOLDER" in result.stdout and "proceed to matching" in result.stdout
    with (tmp_path / "v" / "verdicts.csv").open() as fh:
        verdicts = {r["subject_id"]: r for r in csv.DictReader(fh)}
    assert verdicts["S-1"]["proceed"] == "true"
    assert verdicts["S-2"]["reason_codes"] == "ADDRESS_PLACEHOLDER"
    assert set(verdicts["S-3"]["reason_codes"].split(";")) == {
        "ADDRESS_ZIP_ONLY",
        "FIELD_MALFORMED",
    }
    batch = json.loads((tmp_path / "v" / "batch-verdict.json").read_text())
    assert batch["accepted"] is True and len(batch["policy_sha256"]) == 64

    again = _run("gate", str(manifest), "--keyring", str(keyring), home=tmp_path / "home")
    assert again.returncode == 1 and "RE-SUBMISSION" in again.stdout


def test_gate_refuses_unknown_signer_in_one_clear_line(tmp_path, make_batch) -> None:
    manifest = make_batch([valid_row()], submitted_on=TODAY)
    (tmp_path / "empty").mkdir()
    result = _run(
        "gate",
        str(manifest),
        "--keyring",
        str(tmp_path / "empty"),
        "--dry-run",
        home=tmp_path / "home",
    )
    assert result.returncode == 1
    assert "REFUSED (KEY_UNKNOWN)" in result.stdout
    assert "Traceback" not in result.stderr


def test_missing_policy_file_is_one_line_error(tmp_path, make_batch) -> None:
    result = _run(
        "gate",
        str(make_batch([valid_row()], submitted_on=TODAY)),
        "--policy",
        str(tmp_path / "nope.toml"),
        home=tmp_path / "home",
    )
    assert result.returncode == 2
    assert "nope.toml: policy file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path, make_batch) -> None:
    manifest = str(make_batch([valid_row()], submitted_on=TODAY))
    result = _run(
        "--debug", "gate", manifest, "--policy", str(tmp_path / "nope.toml"), home=tmp_path / "h"
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "TaxgateError" in result.stderr


def test_gate_memory_is_dated_by_the_gateway_clock(tmp_path, make_batch, signer_key) -> None:
    """`taxgate gate` remembers people under the day it received them, not the manifest's."""
    dated = TODAY - timedelta(days=3)
    manifest = make_batch([valid_row()], submitted_on=dated)
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    home = tmp_path / "home"
    result = _run("gate", str(manifest), "--keyring", str(keyring), "--out", str(tmp_path / "v"),
                  home=home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    engine = open_ledger(f"sqlite:///{home / 'ledger.sqlite3'}")
    with engine.connect() as conn:
        asked = conn.execute(select(gate_people.c.asked_on)).scalars().all()
    assert len(asked) == 1 and asked[0] >= TODAY
    received = json.loads((tmp_path / "v" / "batch-verdict.json").read_text())["received_at"]
    assert datetime.fromisoformat(received).date() == asked[0]
    assert not list(home.glob("*.batch-lock.json")), "the lock's holder note is left behind"


def test_gate_refuses_a_batch_dated_ahead_of_its_receipt(tmp_path, make_batch, signer_key):
    manifest = make_batch([valid_row()], submitted_on=TODAY + timedelta(days=100))
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    result = _run("gate", str(manifest), "--keyring", str(keyring), home=tmp_path / "home")
    assert result.returncode == 1 and "BATCH_DATE_AFTER_RECEIPT" in result.stdout
