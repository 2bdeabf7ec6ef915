from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from taxgate.formats.keys import load_keyring, write_key_pair
from taxgate.gate.receipt import receipt_time
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.schema import checkpoints, gate_people, log_events
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


def test_gate_command_writes_verdicts_and_summary(
    tmp_path, make_batch, signer_key, disclosing_key
) -> None:
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
        "--key",
        str(disclosing_key[0]),
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

    again = _run("gate", str(manifest), "--keyring", str(keyring), "--key",
                 str(disclosing_key[0]), home=tmp_path / "home")  # fmt: skip
    assert again.returncode == 1 and "RE-SUBMISSION" in again.stdout


def test_gate_logs_its_memory_and_signs_the_log(
    tmp_path, make_batch, signer_key, disclosing_key
) -> None:
    """The gate's memory is a gate_memory event, and the command ends with a checkpoint over
    it: nothing `taxgate gate` writes is left unsigned, and the ledger verifies."""
    manifest = make_batch([valid_row(subject_id="S-1")], submitted_on=TODAY)
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    home = tmp_path / "home"
    result = _run("gate", str(manifest), "--keyring", str(keyring), "--key",
                  str(disclosing_key[0]), home=home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "log signed: checkpoint of size 1" in result.stdout
    engine = open_ledger(f"sqlite:///{home / 'ledger.sqlite3'}")
    try:
        with engine.connect() as conn:
            kinds = conn.execute(select(log_events.c.kind)).scalars().all()
            signed = conn.execute(select(checkpoints.c.tree_size)).scalars().all()
        report = verify_log(engine, load_keyring(disclosing_key[1]))
    finally:
        engine.dispose()
    assert kinds == ["gate_memory"] and signed == [1]
    assert report.ok and report.unsigned_events == 0, report.failures
    # Nothing new to log (the same batch again is a re-submission): nothing new to sign.
    again = _run("gate", str(manifest), "--keyring", str(keyring), "--key",
                 str(disclosing_key[0]), home=home)  # fmt: skip
    assert again.returncode == 1 and "log signed" not in again.stdout


def test_gate_without_key_is_refused_before_anything_is_written(
    tmp_path, make_batch, signer_key
) -> None:
    manifest = make_batch([valid_row()], submitted_on=TODAY)
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    home = tmp_path / "home"
    result = _run("gate", str(manifest), "--keyring", str(keyring), home=home)
    assert result.returncode == 2
    assert "--key" in result.stderr and "--dry-run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "ledger.sqlite3").exists()
    missing = _run("gate", str(manifest), "--keyring", str(keyring), "--key",
                   str(tmp_path / "no.key"), home=home)  # fmt: skip
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert not (home / "ledger.sqlite3").exists()
    dry = _run("gate", str(manifest), "--keyring", str(keyring), "--dry-run", home=home)
    assert dry.returncode == 0, dry.stderr
    assert not (home / "ledger.sqlite3").exists()


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


def test_gate_memory_is_dated_by_the_gateway_clock(
    tmp_path, make_batch, signer_key, disclosing_key
) -> None:
    """`taxgate gate` remembers people under the day it received them, not the manifest's."""
    dated = TODAY - timedelta(days=3)
    manifest = make_batch([valid_row()], submitted_on=dated)
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    home = tmp_path / "home"
    result = _run("gate", str(manifest), "--keyring", str(keyring), "--out", str(tmp_path / "v"),
                  "--key", str(disclosing_key[0]), home=home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    engine = open_ledger(f"sqlite:///{home / 'ledger.sqlite3'}")
    with engine.connect() as conn:
        asked = conn.execute(select(gate_people.c.asked_on)).scalars().all()
    assert len(asked) == 1 and asked[0] >= TODAY
    received = json.loads((tmp_path / "v" / "batch-verdict.json").read_text())["received_at"]
    assert datetime.fromisoformat(received).date() == asked[0]
    assert not list(home.glob("*.batch-lock.json")), "the lock's holder note is left behind"


def test_gate_refuses_a_batch_dated_ahead_of_its_receipt(
    tmp_path, make_batch, signer_key, disclosing_key
):
    manifest = make_batch([valid_row()], submitted_on=TODAY + timedelta(days=100))
    keyring = tmp_path / "keyring"
    write_key_pair(*signer_key, keyring)
    result = _run("gate", str(manifest), "--keyring", str(keyring), "--key",
                  str(disclosing_key[0]), home=tmp_path / "home")  # fmt: skip
    assert result.returncode == 1 and "BATCH_DATE_AFTER_RECEIPT" in result.stdout
