"""Attacks on the re-request rule: the same people asked again under a new batch id.

The gate's own check keys on what the requester sends (name with date of birth or TIN), so
dropping those or dressing up a name slips past it. What must hold is that a taxpayer whose
address went out is not disclosed again within the re-request window, whatever the request
looked like: the pipeline keys that check on the taxpayer the decision matched
(taxgate.decide.redisclosure), and responses, ledger disclosures and decisions agree.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from sqlalchemy import select

from taxgate.decide.outcomes import DecisionReason
from taxgate.formats.codes import split_codes
from taxgate.formats.keys import load_keyring, load_private_key
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import read_table, write_table
from taxgate.ledger import schema as t
from taxgate.ledger.database import open_ledger
from taxgate.ledger.secret import load_or_create_secret
from taxgate.pipeline import ProcessResult, process_batch
from taxgate.policy import load_policy
from tests.ledger.test_batch_lock import start_holder, wait_for

pytestmark = pytest.mark.slow
SECRET = b"rerequest-secret"
CHUNK = 100  # several match chunks per batch: a taxpayer can recur across chunks
NICKNAMES = {
    "WILLIAM": "Bill", "ROBERT": "Bob", "JOSE": "Pepe", "FRANCISCO": "Paco", "ELIZABETH": "Liz",
    "RICHARD": "Dick", "MICHAEL": "Mike", "JAMES": "Jim", "MARGARET": "Peggy", "JOHN": "Jack",
    "ALEJANDRO": "Alex", "GUADALUPE": "Lupe",
}  # fmt: skip


def key_of(world_dir: Path, agency: str) -> Path:
    return next(
        p.with_name(p.name.replace(".pub.json", ".key"))
        for p in (world_dir / "keys").glob("*.pub.json")
        if f'"{agency}"' in p.read_text()
    )


def at(day: date) -> datetime:
    return datetime.combine(day, time(14), tzinfo=UTC)


class Gateway:
    """One home and one ledger; batches processed with an injected receipt clock."""

    def __init__(self, world_dir: Path, trained_home: Path, folder: Path, url: str) -> None:
        self.world_dir = world_dir
        self.folder = folder
        self.home = folder / "home"
        self.home.mkdir()
        for name in ("master.duckdb", "model.json"):
            shutil.copy(trained_home / name, self.home / name)
        self.ledger = open_ledger(url)
        self.policy = load_policy()

    def process(self, manifest: Path, day: date, name: str) -> ProcessResult:
        return process_batch(
            manifest, home=self.home, keyring=load_keyring(self.world_dir / "keys"),
            policy=self.policy, ledger=self.ledger, secret=SECRET,
            key_path=key_of(self.world_dir, "Disclosing Agency"), out=self.folder / name,
            chunk_subjects=CHUNK, clock=lambda: at(day), lock_wait_seconds=60,
        )  # fmt: skip

    def disclosed(self, batch_id: str) -> dict[int, str]:
        """row -> taxpayer (tin) of every disclosure the ledger holds for the batch."""
        d, x = t.decisions, t.disclosures
        with self.ledger.connect() as conn:
            rows = conn.execute(
                select(x.c.row, d.c.tin)
                .join(d, (d.c.batch_id == x.c.batch_id) & (d.c.row == x.c.row))
                .where(x.c.batch_id == batch_id)
            ).all()
        return {row: tin for row, tin in rows}


def variants(row: dict) -> list[tuple[str, dict]]:
    """The same person as an evader would send them again."""
    given, family = row["given_name"] or "", row["family_name"] or ""
    accented = unicodedata.normalize("NFD", given.upper())
    out = [
        ("no-dob-no-tin", row | {"date_of_birth": None, "tin": None}),
        ("junk-name", row | {"family_name": f"{family} xq", "date_of_birth": None}),
        ("case-accents-spacing", row | {"given_name": f"  {accented.lower()}  ",
                                       "family_name": "  ".join(family.upper().split())}),
    ]  # fmt: skip
    first = given.split()[0].upper() if given.split() else ""
    if first in NICKNAMES:
        out.append(("nickname", row | {"given_name": NICKNAMES[first], "date_of_birth": None}))
    return out


def sign_batch(world_dir: Path, folder: Path, rows: list[dict], batch_id: str, day: date) -> Path:
    folder.mkdir(parents=True)
    schema = read_table(world_dir / "batch" / "subjects.csv", "subjects").schema
    write_table(pa.Table.from_pylist(rows, schema=schema), folder / "subjects.csv", "subjects")
    original = RequestManifest.load(world_dir / "batch" / "manifest.json")
    manifest = original.model_copy(
        update={"batch_id": batch_id, "submitted_on": day, "signature": None,
                "subjects_file": "subjects.csv"}
    )  # fmt: skip
    private, record = load_private_key(key_of(world_dir, "Requesting Agency"))
    path = folder / "manifest.json"
    sign_manifest(manifest, path, private, record).save(path)
    return path


@pytest.fixture(scope="module")
def first(world_dir: Path, trained_home: Path, tmp_path_factory) -> tuple[Gateway, dict, date]:
    """The world's batch processed on its own date: its disclosures, by row."""
    folder = tmp_path_factory.mktemp("rerequest")
    gateway = Gateway(world_dir, trained_home, folder, f"sqlite:///{folder / 'ledger.sqlite3'}")
    manifest = RequestManifest.load(world_dir / "batch" / "manifest.json")
    result = gateway.process(world_dir / "batch" / "manifest.json", manifest.submitted_on, "one")
    assert result.response_manifest is not None, "the world's batch must be released"
    disclosed = gateway.disclosed(manifest.batch_id)
    assert len(disclosed) > 20
    return gateway, disclosed, manifest.submitted_on


def test_the_same_people_under_a_new_batch_id_are_not_disclosed_again(first, world_dir) -> None:
    gateway, disclosed, day = first
    subjects = read_table(world_dir / "batch" / "subjects.csv", "subjects").to_pylist()
    rows, sent_for = [], []
    for row_number in sorted(disclosed):
        for label, changed in variants(subjects[row_number - 1]):
            rows.append(changed | {"subject_id": f"{label}-{row_number}"})
            sent_for.append(disclosed[row_number])
    later = day + timedelta(days=30)
    path = sign_batch(world_dir, gateway.folder / "two-in", rows, "AGAIN-30", later)
    result = gateway.process(path, later, "two")
    assert result.response_manifest is not None

    again = gateway.disclosed("AGAIN-30")
    assert set(again.values()).isdisjoint(disclosed.values()), "a taxpayer disclosed twice"
    responses = pacsv.read_csv(result.response_manifest.with_name("responses.csv")).to_pylist()
    confirmed = {i for i, r in enumerate(responses, start=1) if r["outcome"] == "CONFIRMED"}
    assert confirmed == set(again), "responses and ledger disclosures disagree"
    reasons = Counter(
        code
        for d in result.decisions.to_pylist()
        for code in split_codes(d["reasons"])
        if d["outcome"] == "NOT_CONFIRMED"
    )
    # The check is what stopped them: without it these would have been CONFIRMED.
    assert reasons[DecisionReason.ALREADY_DISCLOSED] >= len(disclosed) // 2
    withheld = [d for d in result.decisions.to_pylist()
                if DecisionReason.ALREADY_DISCLOSED in split_codes(d["reasons"])]  # fmt: skip
    assert all(d["tin"] in set(sent_for) for d in withheld)
    with gateway.ledger.connect() as conn:
        stored = dict(conn.execute(
            select(t.decisions.c.row, t.decisions.c.outcome).where(
                t.decisions.c.batch_id == "AGAIN-30")
        ).all())  # fmt: skip
    assert all(stored[d["row"]] == "NOT_CONFIRMED" for d in withheld)


def test_one_taxpayer_is_disclosed_once_within_a_batch(first, world_dir) -> None:
    """Two rows of one new batch for the same person, spelled differently: one disclosure."""
    gateway, disclosed, day = first
    subjects = read_table(world_dir / "batch" / "subjects.csv", "subjects").to_pylist()
    window = gateway.policy.subject.rerequest_window_days
    later = day + timedelta(days=window + 1)  # the first batch's disclosures are out of window
    rows = []
    for row_number in sorted(disclosed)[:20]:
        person = subjects[row_number - 1]
        rows.append(person | {"subject_id": f"A-{row_number}"})
        rows.append(person | {"subject_id": f"B-{row_number}", "date_of_birth": None})
    path = sign_batch(world_dir, gateway.folder / "three-in", rows, "TWICE", later)
    assert gateway.process(path, later, "three").response_manifest is not None
    again = gateway.disclosed("TWICE")
    assert again, "outside the window the people may be disclosed again"
    assert max(Counter(again.values()).values()) == 1


# --- batches at the same time ----------------------------------------------------------------


def run_at_once(
    world_dir: Path, home: Path, url: str, jobs: list[tuple[Path, Path]], **env: str
) -> list:
    """`taxgate process` for each (manifest, out) as real processes, all started together."""
    environment = os.environ | {"TAXGATE_DATABASE_URL": url, "COLUMNS": "200",
                                "TAXGATE_MATCH_CHUNK_SUBJECTS": str(CHUNK)}  # fmt: skip
    environment.pop("TAXGATE_CRASH_AT", None)
    environment |= env
    key = key_of(world_dir, "Disclosing Agency")
    command = [sys.executable, "-m", "taxgate", "process"]
    options = ["--home", str(home), "--keyring", str(world_dir / "keys"), "--key", str(key)]
    started = [
        subprocess.Popen(
            [*command, str(manifest), *options, "--out", str(out)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for manifest, out in jobs
    ]
    finished = [p.communicate() for p in started]
    return [(p.returncode, out, err) for p, (out, err) in zip(started, finished, strict=True)]


def disclosed_taxpayers(url: str) -> list[str]:
    engine = open_ledger(url)
    d, x = t.decisions, t.disclosures
    try:
        with engine.connect() as conn:
            return list(conn.execute(
                select(d.c.tin).join(x, (d.c.batch_id == x.c.batch_id) & (d.c.row == x.c.row))
            ).scalars())  # fmt: skip
    finally:
        engine.dispose()


def fresh_home(trained_home: Path, folder: Path) -> Path:
    home = folder / "home"
    home.mkdir()
    for name in ("master.duckdb", "model.json"):
        shutil.copy(trained_home / name, home / name)
    return home


def test_the_same_batch_started_twice_at_once_is_processed_once(
    first, world_dir, trained_home, tmp_path, database_url
) -> None:
    _, disclosed, _ = first
    manifest = world_dir / "batch" / "manifest.json"
    home = fresh_home(trained_home, tmp_path)
    runs = run_at_once(world_dir, home, database_url,
                       [(manifest, tmp_path / "a"), (manifest, tmp_path / "b")])  # fmt: skip
    for code, out, err in runs:
        assert code == 0, out + err
        assert "IntegrityError" not in out + err and "internal error" not in out + err
    assert sum("already answered" in out for _, out, _ in runs) == 1
    taxpayers = disclosed_taxpayers(database_url)
    assert sorted(taxpayers) == sorted(disclosed.values())


def test_two_batches_about_the_same_people_at_once_disclose_as_one_after_the_other(
    first, world_dir, trained_home, tmp_path, database_url
) -> None:
    _, disclosed, day = first
    subjects = read_table(world_dir / "batch" / "subjects.csv", "subjects").to_pylist()
    copy = sign_batch(world_dir, tmp_path / "copy", subjects, "COPY", day)
    home = fresh_home(trained_home, tmp_path)
    jobs = [(world_dir / "batch" / "manifest.json", tmp_path / "a"), (copy, tmp_path / "b")]
    runs = run_at_once(world_dir, home, database_url, jobs)
    for code, out, err in runs:
        assert code == 0, out + err
    taxpayers = disclosed_taxpayers(database_url)
    assert sorted(taxpayers) == sorted(disclosed.values()), "one after the other: each once"


def test_a_resumed_batch_keeps_the_receipt_time_first_recorded(
    world_dir, trained_home, tmp_path
) -> None:
    """Resumed long after it arrived, a batch is neither refused as stale nor re-dated."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    home = fresh_home(trained_home, tmp_path)
    manifest = world_dir / "batch" / "manifest.json"
    ((code, out, err),) = run_at_once(
        world_dir, home, url, [(manifest, tmp_path / "out")], TAXGATE_CRASH_AT="gate-recorded"
    )
    assert code == -signal.SIGKILL, out + err
    engine = open_ledger(url)
    with engine.connect() as conn:
        received = conn.execute(select(t.batches.c.received_at)).scalar_one()
    much_later = at(received.date() + timedelta(days=400))
    result = process_batch(
        manifest, home=home, keyring=load_keyring(world_dir / "keys"), policy=load_policy(),
        ledger=engine, secret=load_or_create_secret(home),
        key_path=key_of(world_dir, "Disclosing Agency"), out=tmp_path / "out",
        chunk_subjects=CHUNK, clock=lambda: much_later, lock_wait_seconds=60,
    )  # fmt: skip
    assert result.resumed and result.response_manifest is not None
    assert result.gate.batch.received_at is not None
    assert result.gate.batch.received_at.date() == received.date()
    with engine.connect() as conn:
        assert conn.execute(select(t.batches.c.received_at)).scalar_one() == received
        assert conn.execute(select(t.refused_batches)).first() is None


def test_a_run_that_cannot_get_the_lock_records_nothing_and_names_the_holder(
    world_dir, trained_home, tmp_path, database_url
) -> None:
    """The gate's check comes after the lock: a run that gives up has read and written nothing."""
    home = fresh_home(trained_home, tmp_path)
    holder = start_holder(database_url, "taxgate process other-batch.json")
    try:
        wait_for(holder, "held")
        ((code, out, err),) = run_at_once(
            world_dir, home, database_url,
            [(world_dir / "batch" / "manifest.json", tmp_path / "out")],
            TAXGATE_BATCH_LOCK_WAIT_SECONDS="1",
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    text = " ".join((out + err).split())
    assert code != 0 and "other-batch.json" in text and "busy" in text, text
    assert "Traceback" not in text and "IntegrityError" not in text
    engine = open_ledger(database_url)
    try:
        with engine.connect() as conn:
            for table in (t.batches, t.refused_batches, t.gate_batches, t.log_events):
                assert conn.execute(select(table)).first() is None, table.name
    finally:
        engine.dispose()
