"""Unsigned history and the auditor without the database, attacked as an insider would.

The log holds 40 events with checkpoints at sizes 20 and 40 (the auditor kept the latter). The
intruder has write access to the database and the taxgate home, not the disclosing agency's
private key: deletes checkpoints, edits notes and rows, forges events and checkpoints, drops
a key of its own into the home's keyring. Every attack must fail `ledger verify`, and a
checkpoint must refuse to sign over what it changed. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from taxgate.cli.main import app
from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_keyring, new_key, write_key_pair
from taxgate.ledger import merkle
from taxgate.ledger.audit import verify_log
from taxgate.ledger.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import Event, EventKind, append_events, leaf_bytes
from taxgate.ledger.log import make_checkpoint
from tests.ledger.seed import seed_batch, subject
from tests.ledger.test_events import AT, sample_events
from tests.ledger.test_log import ORIGIN, unlock_log

HALF, SIZE = 20, 40
SEEDED_SUBJECTS = 6  # a seeded batch of 6 disclosed subjects logs HALF events
NOW = AT + timedelta(days=30)  # the audit's clock: every event is long past the grace
GRACE = timedelta(minutes=60)
runner = CliRunner()


@dataclass
class Scene:
    url: str
    engine: Engine
    home: Path
    key_path: Path
    pub_path: Path  # the agency's public key record, as the auditor holds it (outside home)
    notes: dict[int, str]

    def audit(self, since: int | None = None, keyring: dict | None = None, now=NOW):
        keys = keyring if keyring is not None else load_keyring(self.pub_path.parent)
        kept = None if since is None else self.notes[since]
        # The log and its checkpoints only: the scene's events have no table rows behind them
        # (the row audit is taxgate.ledger.rows_audit's, tests/adversarial/test_rows_audit.py).
        return verify_log(self.engine, keys, kept, unsigned_grace=GRACE, now=now, rows=False)

    def failures(self, since: int | None = None, **kwargs) -> list[str]:
        return [f.message for f in self.audit(since, **kwargs).failures]

    def sql(self, *statements: tuple[str, dict]) -> None:
        with self.engine.begin() as conn:
            unlock_log(conn)
            for statement, params in statements:
                conn.execute(text(statement), params)

    def cli(self, *args: str):
        env = {"TAXGATE_DATABASE_URL": self.url, "TAXGATE_HOME": str(self.home), "COLUMNS": "250"}
        return runner.invoke(app, ["ledger", *args], env=env)


@pytest.fixture
def scene(database_url: str, disclosing_key, tmp_path: Path) -> Iterator[Scene]:
    key_path, keyring_dir = disclosing_key
    home = tmp_path / "home"
    (home / "keyring").mkdir(parents=True)
    [pub] = keyring_dir.glob("*.pub.json")
    (home / "keyring" / pub.name).write_bytes(pub.read_bytes())
    engine = open_ledger(database_url)
    notes = {}
    for batch, size in (("B-1", HALF), ("B-2", SIZE)):
        # A processed batch, its rows and events (HALF of them), so the row audit of the CLI's
        # verify holds too; the attacks are on the log and its checkpoints.
        seed_batch(
            engine, batch, [subject(row) for row in range(1, SEEDED_SUBJECTS + 1)], received_at=AT
        )
        notes[size] = make_checkpoint(engine, key_path, now=AT)[1]
    yield Scene(database_url, engine, home, key_path, pub, notes)
    engine.dispose()


def forged_insert(seq: int, key: str, at: datetime) -> tuple[str, dict]:
    """A well-formed event written with SQL, around taxgate: the triggers allow INSERT."""
    event = Event(EventKind.DISCLOSURE, key, "B-2", {"row": 99})
    body = leaf_bytes(event, at).decode("utf-8")
    return (
        "INSERT INTO log_events (seq, kind, batch_id, event_key, body, leaf_hash, recorded_at) "
        "VALUES (:seq, :kind, :batch, :key, :body, :leaf, :at)",
        {"seq": seq, "kind": event.kind.value, "batch": "B-2", "key": key, "body": body,
         "leaf": merkle.leaf_hash(body.encode("utf-8")).hex(), "at": at},
    )  # fmt: skip


# --- unsigned history ---


def test_the_untouched_log_verifies_fully_signed(scene: Scene) -> None:
    report = scene.audit(SIZE)
    assert report.ok and report.warnings == []
    assert (report.signed_size, report.unsigned_events) == (SIZE, 0)


def test_a_log_whose_checkpoints_were_all_deleted_fails(scene: Scene) -> None:
    scene.sql(("DELETE FROM checkpoints", {}))
    report = scene.audit()
    assert not report.ok and report.unsigned_events == SIZE
    assert report.failures[0].message.startswith(
        "the log holds 40 event(s) but no checkpoint: nothing in it is signed"
    )
    result = scene.cli("verify", "--public-key", str(scene.pub_path))
    assert result.exit_code == 1 and "but no checkpoint" in result.output


def test_a_deleted_latest_checkpoint_leaves_its_events_unsigned(scene: Scene) -> None:
    scene.sql(("DELETE FROM checkpoints WHERE tree_size = 40", {}))
    report = scene.audit()
    assert (report.signed_size, report.unsigned_events) == (HALF, HALF)
    assert report.failures[0].message.startswith(
        "20 event(s) after the newest checkpoint (size 20) are unsigned, the oldest recorded "
        "2025-08-01 12:30 UTC, more than the policy's 60 minute(s) ago"
    )
    assert scene.failures(SIZE)[0] == (
        "your checkpoint (size 40) is no longer in the ledger: its checkpoint was deleted"
    )


def test_a_checkpoint_deleted_between_kept_ones_is_named_by_its_successor(scene: Scene) -> None:
    scene.sql(("DELETE FROM checkpoints WHERE tree_size = 20", {}))
    assert scene.failures() == [
        "checkpoint at size 20 is missing: the checkpoint at size 40 names it as the one "
        "signed before it (checkpoints were deleted)"
    ]


def test_a_forged_event_after_the_last_checkpoint_is_flagged(scene: Scene) -> None:
    recent = NOW - timedelta(minutes=5)
    scene.sql(forged_insert(SIZE, "disclosure:B-2:99", recent))
    young = scene.audit()
    assert young.ok and young.unsigned_events == 1  # inside the grace: a warning, not hidden
    assert young.warnings[0].startswith("1 event(s) after the newest checkpoint (size 40)")
    old = scene.audit(now=NOW + timedelta(hours=2))
    assert not old.ok and "are unsigned" in old.failures[0].message


def test_a_forged_event_dated_in_the_future_fails_at_once(scene: Scene) -> None:
    scene.sql(forged_insert(SIZE, "disclosure:B-2:99", NOW + timedelta(days=365)))
    [failure] = scene.failures()
    assert "claims to be recorded in the future" in failure


def test_verify_in_the_cli_fails_on_old_unsigned_events(scene: Scene) -> None:
    scene.sql(forged_insert(SIZE, "disclosure:B-2:99", AT))
    result = scene.cli("verify", "--public-key", str(scene.pub_path))
    assert result.exit_code == 1, result.output
    assert "1 event(s) after the newest checkpoint (size 40) are unsigned" in result.output


# --- checkpoint rows and notes ---


def test_a_checkpoint_row_whose_size_disagrees_with_its_note_is_caught(scene: Scene) -> None:
    """Mutation finding: `tree_size` moved while the signed note still says 20."""
    scene.sql(("UPDATE checkpoints SET tree_size = 30 WHERE tree_size = 20", {}))
    assert "checkpoint at size 30: its note says size 20" in scene.failures()
    with pytest.raises(TaxgateError, match=r"refusing to sign.*its note says size 20"):
        _append_and_sign(scene)


def _append_and_sign(scene: Scene) -> None:
    with scene.engine.begin() as conn:
        append_events(conn, sample_events(2, "B-3"), AT)
    make_checkpoint(scene.engine, scene.key_path, now=AT)


def test_a_checkpoint_whose_root_column_disagrees_is_refused_for_signing(scene: Scene) -> None:
    scene.sql(("UPDATE checkpoints SET root_hash = :r WHERE tree_size = 40", {"r": "00" * 32}))
    with pytest.raises(TaxgateError, match="root_hash column differs"):
        _append_and_sign(scene)


def test_an_edited_checkpoint_note_is_refused_for_signing(scene: Scene) -> None:
    altered = scene.notes[HALF].replace("timestamp 2025-08-01", "timestamp 2024-08-01")
    scene.sql(("UPDATE checkpoints SET note = :n WHERE tree_size = 20", {"n": altered}))
    assert scene.failures()[0].startswith("checkpoint at size 20: the note does not verify")
    with pytest.raises(TaxgateError, match="does not match the note text"):
        _append_and_sign(scene)


def test_a_signature_spelled_in_non_canonical_base64_is_refused(scene: Scene) -> None:
    note = scene.notes[HALF]
    body, _, line = note.rstrip("\n").rpartition("\n")
    prefix, _, encoded = line.rpartition(" ")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = encoded.rstrip("=")[-1]
    twin = alphabet[alphabet.index(last) ^ 1]  # differs only in bits the padding ignores
    forged = f"{body}\n{prefix} {encoded.rstrip('=')[:-1]}{twin}{'=' * encoded.count('=')}\n"
    scene.sql(("UPDATE checkpoints SET note = :n WHERE tree_size = 20", {"n": forged}))
    assert "not canonical base64" in scene.failures()[0]


# --- signing refuses a failing log ---


def test_checkpoint_refuses_an_edited_event_before_the_last_checkpoint(scene: Scene) -> None:
    with scene.engine.connect() as conn:
        # seq 24: the gate verdict of B-2's second subject (seed_batch logs verdict, decision,
        # disclosure per subject after the batch event at seq 20)
        body = conn.execute(text("SELECT body FROM log_events WHERE seq = 24")).scalar_one()
    edited = body.replace('"proceed":true', '"proceed":false')
    assert edited != body
    leaf = merkle.leaf_hash(edited.encode("utf-8")).hex()
    scene.sql(("UPDATE log_events SET body = :b, leaf_hash = :l WHERE seq = 24",
               {"b": edited, "l": leaf}))  # fmt: skip
    with pytest.raises(TaxgateError) as refused:
        _append_and_sign(scene)
    assert "checkpoint at size 40: root differs from the log's" in refused.value.what
    assert "\n" not in str(refused.value)


def test_checkpoint_refuses_a_malformed_event_after_the_last_checkpoint(scene: Scene) -> None:
    with scene.engine.begin() as conn:
        append_events(conn, sample_events(2, "B-3"), AT)
    scene.sql(("UPDATE log_events SET body = '{}' WHERE seq = 41", {}))
    result = scene.cli("checkpoint", "--key", str(scene.key_path))
    assert isinstance(result.exception, TaxgateError)
    assert "refusing to sign" in str(result.exception)
    assert "event seq 41 (key verdict:B-3:0) body does not hash to its leaf" in str(
        result.exception
    )


def test_checkpoint_refuses_when_signed_events_were_deleted(scene: Scene) -> None:
    scene.sql(("DELETE FROM log_events WHERE seq >= 35", {}))
    with pytest.raises(TaxgateError, match="the log holds only 35 events"):
        make_checkpoint(scene.engine, scene.key_path)


def test_a_new_checkpoint_names_the_previous_one(scene: Scene) -> None:
    assert parse_checkpoint(scene.notes[HALF])[0].previous is None
    assert parse_checkpoint(scene.notes[SIZE])[0].previous == HALF


# --- the home's keyring and a planted key ---


def test_a_checkpoint_signed_with_a_key_dropped_into_the_home_is_caught_by_a_pinned_key(
    scene: Scene, tmp_path: Path
) -> None:
    """Rewrite an event, delete the checkpoints, re-sign with a key planted in HOME/keyring."""
    private, record = new_key("Disclosing Agency", "Mallory", "Intruder",
                              created_on=date(2025, 8, 2), seed=b"mallory")  # fmt: skip
    write_key_pair(private, record, tmp_path / "mallory")
    planted = scene.home / "keyring" / "planted.pub.json"
    planted.write_text(record.model_dump_json(), encoding="utf-8")
    with scene.engine.connect() as conn:
        # seq 25: the decision of B-2's second subject; its row is rewritten to match, so
        # only the checkpoint and the key can tell
        body = conn.execute(text("SELECT body FROM log_events WHERE seq = 25")).scalar_one()
    edited = body.replace('"match_weight":"15.000000000"', '"match_weight":"16.000000000"')
    assert edited != body
    leaf = merkle.leaf_hash(edited.encode("utf-8")).hex()
    head = merkle.root_from_leaf_hashes(
        [bytes.fromhex(h) for h in _leaves(scene.engine)[:25]]
        + [bytes.fromhex(leaf)]
        + [bytes.fromhex(h) for h in _leaves(scene.engine)[26:]]
    )
    forged = sign_checkpoint(Checkpoint(ORIGIN, SIZE, head, AT), private, ORIGIN)
    scene.sql(
        ("UPDATE log_events SET body = :b, leaf_hash = :l WHERE seq = 25",
         {"b": edited, "l": leaf}),
        *_unlock_decisions(scene.engine),
        ("UPDATE decisions SET match_weight = 16.0 WHERE batch_id = 'B-2' AND row = 2", {}),
        ("DELETE FROM checkpoints", {}),
        ("INSERT INTO checkpoints (tree_size, root_hash, signed_at, note) "
         "VALUES (40, :r, :at, :n)", {"r": head.hex(), "at": AT, "n": forged}),
    )  # fmt: skip
    trusting_home = scene.cli("verify")
    assert trusting_home.exit_code == 0, trusting_home.output  # the planted key vouches...
    assert "WARNING the trusted keys come from" in trusting_home.output  # ...and verify says so
    assert "inside the taxgate home" in trusting_home.output
    pinned = scene.cli("verify", "--public-key", str(scene.pub_path))
    assert pinned.exit_code == 1
    assert "checkpoint at size 40: signed by no key in the keyring" in pinned.output
    assert "WARNING the trusted keys" not in pinned.output


def _unlock_decisions(engine: Engine) -> list[tuple[str, dict]]:
    """The intruder switches off the decisions table's append-only trigger first."""
    if engine.dialect.name == "sqlite":
        return [("DROP TRIGGER IF EXISTS decisions_no_update", {})]
    return [("ALTER TABLE decisions DISABLE TRIGGER USER", {})]


def _leaves(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT leaf_hash FROM log_events ORDER BY seq")).scalars())


def test_the_report_object_says_whether_keys_were_pinned(scene: Scene) -> None:
    from taxgate.cli.ledger import _trusted_keys

    _, _, warning = _trusted_keys([], None, scene.home)
    assert warning is not None and "inside the taxgate home" in warning
    _, _, none = _trusted_keys([scene.pub_path], None, scene.home)
    assert none is None
    _, _, inside = _trusted_keys([], scene.home / "keyring", scene.home)
    assert inside is not None  # --keyring pointing into the home is no better


# --- read-only verify ---


def test_verify_works_on_a_read_only_database(scene: Scene, tmp_path: Path) -> None:
    if scene.url.startswith("sqlite"):
        source = Path(scene.url.removeprefix("sqlite:///"))
        copy = tmp_path / "auditor" / "ledger.sqlite3"
        copy.parent.mkdir()
        with scene.engine.connect() as conn:  # a plain (rollback-journal) copy, as shipped
            conn.exec_driver_sql(f"VACUUM INTO '{copy}'")
        assert source.exists()
        before = sorted(p.name for p in copy.parent.iterdir())
        copy.chmod(0o444)
        url = f"sqlite:///{copy}"
    else:
        url = scene.url + "?options=-c%20default_transaction_read_only%3Don"
    env = {"TAXGATE_DATABASE_URL": url, "TAXGATE_HOME": str(scene.home), "COLUMNS": "250"}
    result = runner.invoke(app, ["ledger", "verify", "--public-key", str(scene.pub_path)], env=env)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    proved = runner.invoke(app, ["ledger", "prove", "3"], env=env)
    assert proved.exit_code == 0, proved.output
    if scene.url.startswith("sqlite"):
        assert sorted(p.name for p in copy.parent.iterdir()) == before  # no -wal, no -shm


def test_the_read_only_engine_cannot_write(scene: Scene) -> None:
    from taxgate.ledger.database import open_ledger_readonly

    engine = open_ledger_readonly(scene.url)
    try:
        with pytest.raises(Exception, match=r"(?i)read.?only"), engine.begin() as conn:
            conn.execute(text("INSERT INTO purges (before_date, purged_at, subjects_purged) "
                              "VALUES ('2020-01-01', '2020-01-01', 0)"))  # fmt: skip
    finally:
        engine.dispose()


def test_read_only_open_refuses_a_missing_or_empty_ledger(tmp_path: Path) -> None:
    from taxgate.ledger.database import open_ledger_readonly

    missing = tmp_path / "nothing.sqlite3"
    with pytest.raises(TaxgateError, match="does not exist"):
        open_ledger_readonly(f"sqlite:///{missing}")
    assert not missing.exists()  # and it was not created
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    with pytest.raises(TaxgateError, match="holds no taxgate ledger"):
        open_ledger_readonly(f"sqlite:///{empty}")


# --- offline bundles ---


def test_an_exported_event_bundle_verifies_offline(scene: Scene, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    exported = scene.cli("export-proof", "decision:B-1:6", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    scene.engine.dispose()  # nothing below needs the database or the home
    checked = runner.invoke(
        app, ["ledger", "check-bundle", str(out), "--public-key", str(scene.pub_path)],
        env={"TAXGATE_HOME": str(tmp_path / "no-home"), "TAXGATE_DATABASE_URL": "sqlite:///x"},
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    assert "verified" in checked.output and "key decision:B-1:6" in checked.output
    assert json.loads(out.read_text())["tree_size"] == SIZE


def test_an_unsigned_event_cannot_be_exported(scene: Scene, tmp_path: Path) -> None:
    with scene.engine.begin() as conn:
        append_events(conn, sample_events(1, "B-3"), AT)
    result = scene.cli("export-proof", "40", "--out", str(tmp_path / "b.json"))
    assert isinstance(result.exception, TaxgateError)
    assert "not signed yet" in str(result.exception)


def test_a_consistency_bundle_verifies_offline(scene: Scene, tmp_path: Path) -> None:
    out = tmp_path / "grew.json"
    exported = scene.cli("export-consistency", str(HALF), "--out", str(out))
    assert exported.exit_code == 0, exported.output
    checked = runner.invoke(
        app, ["ledger", "check-bundle", str(out), "--public-key", str(scene.pub_path)]
    )
    assert checked.exit_code == 0, checked.output
    assert "the log of size 20 is a prefix of" in checked.output
    not_kept = scene.cli("export-consistency", "7", "--out", str(out))
    assert "no checkpoint of size 7" in str(not_kept.exception)


def test_a_planted_checkpoint_at_the_current_size_is_not_handed_back_as_ours(
    scene: Scene,
) -> None:
    """The intruder appends a well-formed event and signs the new size with its own key first."""
    private, _ = new_key("Disclosing Agency", "Mallory", "Intruder", created_on=date(2025, 8, 2),
                         seed=b"mallory")  # fmt: skip
    scene.sql(forged_insert(SIZE, "disclosure:B-2:99", AT))
    leaves = [bytes.fromhex(h) for h in _leaves(scene.engine)]
    planted = Checkpoint(ORIGIN, SIZE + 1, merkle.root_from_leaf_hashes(leaves), AT, SIZE)
    note = sign_checkpoint(planted, private, ORIGIN)
    values = {"r": planted.root.hex(), "at": AT, "n": note}
    scene.sql(("INSERT INTO checkpoints (tree_size, root_hash, signed_at, note) "
               "VALUES (41, :r, :at, :n)", values))  # fmt: skip
    with pytest.raises(TaxgateError, match="signed by no key in the keyring"):
        make_checkpoint(scene.engine, scene.key_path)


def test_verify_works_with_a_read_only_postgresql_role(scene: Scene) -> None:
    if not scene.url.startswith("postgresql"):
        pytest.skip("a database role is PostgreSQL's")
    role = f"taxgate_auditor_{uuid.uuid4().hex[:12]}"
    with scene.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        url = make_url(scene.url).set(username=role, password=None)
        env = {"TAXGATE_DATABASE_URL": url.render_as_string(hide_password=False),
               "TAXGATE_HOME": str(scene.home), "COLUMNS": "250"}  # fmt: skip
        verify = ["ledger", "verify", "--public-key", str(scene.pub_path)]
        result = runner.invoke(app, verify, env=env)
        assert result.exit_code == 0, result.output
        auditor = create_engine(url)
        try:  # the role truly cannot write: verify works without writing
            with pytest.raises(ProgrammingError, match="permission denied"):  # noqa: SIM117
                with auditor.begin() as conn:
                    conn.execute(text("DELETE FROM purges"))
        finally:
            auditor.dispose()
    finally:
        with scene.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_verify_accepts_a_read_only_sqlite_uri(scene: Scene) -> None:
    if not scene.url.startswith("sqlite"):
        pytest.skip("a file URI is SQLite's")
    path = scene.url.removeprefix("sqlite:///")
    env = {"TAXGATE_DATABASE_URL": f"sqlite:///file:{path}?mode=ro&uri=true",
           "TAXGATE_HOME": str(scene.home), "COLUMNS": "250"}  # fmt: skip
    result = runner.invoke(app, ["ledger", "verify", "--public-key", str(scene.pub_path)], env=env)
    assert result.exit_code == 0, result.output


def test_signing_a_recently_forged_event_is_said_on_stderr(scene: Scene) -> None:
    """Inside the grace a forged event is only a warning in verify; whoever signs it is told."""
    scene.sql(forged_insert(SIZE, "disclosure:B-2:99", datetime.now(UTC)))
    result = scene.cli("checkpoint", "--key", str(scene.key_path))
    assert result.exit_code == 0, result.output
    assert "warning: signed 1 event(s) after size 40 that no command signed" in result.stderr
    assert "longer than the policy grace" not in result.stderr
