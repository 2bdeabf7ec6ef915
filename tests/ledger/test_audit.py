"""The audit catches every way an intruder with database access can rewrite the log.

Each test builds the same log (40 events, checkpoints signed at sizes 20 and 40, the auditor
keeping the note of size 40), switches the append-only triggers off as the intruder would,
tampers, and checks the report names exactly the seq or size at fault, on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, text

from taxgate.formats.keys import load_keyring, new_key
from taxgate.ledger import merkle
from taxgate.ledger.audit import verify_log
from taxgate.ledger.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import Event, EventKind, append_events, leaf_bytes
from taxgate.ledger.log import make_checkpoint
from tests.ledger.test_events import AT, sample_events
from tests.ledger.test_log import ORIGIN, unlock_log

HALF, SIZE = 20, 40
OUTSIDER = new_key("Requesting Agency", "Pat Example", "Director", created_on=date(2025, 8, 1),
                   seed=b"t")  # fmt: skip


@dataclass
class Log:
    engine: Engine
    keyring: dict
    key_path: object
    notes: dict[int, str]  # the checkpoints signed before any tampering, by size

    def audit(self, since: int | str | None = None, keyring: dict | None = None):
        kept = self.notes[since] if isinstance(since, int) else since
        # These events are the log alone, with no table rows: tests/ledger/test_rows_audit.py
        # checks the tables against the log.
        keys = self.keyring if keyring is None else keyring
        return verify_log(self.engine, keys, kept, rows=False)

    def failures(self, since: int | str | None = None) -> list[str]:
        return [f.message for f in self.audit(since).failures]

    def tamper(self, *statements: tuple[str, dict]) -> None:
        with self.engine.begin() as conn:
            unlock_log(conn)
            for sql, params in statements:
                conn.execute(text(sql), params)

    def body(self, seq: int) -> str:
        with self.engine.connect() as conn:
            query = text("SELECT body FROM log_events WHERE seq = :seq")
            return conn.execute(query, {"seq": seq}).scalar_one()

    def set_body(self, seq: int, body: str, *, rehash: bool) -> tuple[str, dict]:
        """An UPDATE of one body; `rehash` also recomputes its stored leaf hash, as a careful
        intruder would."""
        if rehash:
            leaf = merkle.leaf_hash(body.encode("utf-8")).hex()
            return (
                "UPDATE log_events SET body = :body, leaf_hash = :leaf WHERE seq = :seq",
                {"body": body, "leaf": leaf, "seq": seq},
            )
        return ("UPDATE log_events SET body = :body WHERE seq = :seq", {"body": body, "seq": seq})


@pytest.fixture
def log(database_url: str, disclosing_key) -> Iterator[Log]:
    key_path, keyring_dir = disclosing_key
    engine = open_ledger(database_url)
    notes = {}
    for batch, size in (("B-1", HALF), ("B-2", SIZE)):
        with engine.begin() as conn:
            append_events(conn, sample_events(HALF, batch), AT)
        notes[size] = make_checkpoint(engine, key_path, now=AT)[1]
    yield Log(engine, load_keyring(keyring_dir), key_path, notes)
    engine.dispose()


def renumber(first: int, shift: int) -> list[tuple[str, dict]]:
    """Move seqs >= first by `shift`, in two steps so the primary key never collides."""
    far = 1_000_000
    return [
        ("UPDATE log_events SET seq = seq + :far WHERE seq >= :at", {"far": far, "at": first}),
        ("UPDATE log_events SET seq = seq - :back WHERE seq >= :far",
         {"back": far - shift, "far": far}),
    ]  # fmt: skip


def insert_event(seq: int, event: Event) -> tuple[str, dict]:
    body = leaf_bytes(event, AT).decode("utf-8")
    return (
        "INSERT INTO log_events (seq, kind, batch_id, event_key, body, leaf_hash, recorded_at) "
        "VALUES (:seq, :kind, :batch, :key, :body, :leaf, :at)",
        {"seq": seq, "kind": event.kind.value, "batch": event.batch_id, "key": event.key,
         "body": body, "leaf": merkle.leaf_hash(body.encode("utf-8")).hex(), "at": AT},
    )  # fmt: skip


ROOT_20 = "checkpoint at size 20: root differs from the log's"
ROOT_40 = "checkpoint at size 40: root differs from the log's"
ROOT_40_AFTER_20 = (
    "checkpoint at size 40: root differs from the log's (the change lies in seq 20 to 39: "
    "the checkpoint at size 20 still matches)"
)
REWRITTEN = "your checkpoint (size 40) is not consistent with the log now: history was rewritten"
UNSIGNED_ONE = (
    "1 event(s) after the newest checkpoint (size 40) are unsigned, the oldest recorded "
    "2025-08-01 12:30 UTC, more than the policy's 60 minute(s) ago: no command signed them "
    "(a crashed run, or events written around taxgate)"
)


def test_an_untouched_log_verifies(log: Log) -> None:
    report = log.audit(SIZE)
    assert report.ok and report.failures == []
    assert (report.tree_size, report.checkpoints_checked, report.since_size) == (SIZE, 2, SIZE)
    assert report.root == parse_checkpoint(log.notes[SIZE])[0].root
    assert log.audit(HALF).ok and log.audit().ok


def test_an_edited_event_is_named_by_seq_and_key(log: Log) -> None:
    edited = log.body(17).replace('"outcome":"CONFIRMED"', '"outcome":"NOT_CONFIRMED"')
    assert edited != log.body(17)
    log.tamper(log.set_body(17, edited, rehash=False))
    assert log.failures(SIZE) == [
        "event seq 17 (key decision:B-1:6) body does not hash to its leaf",
        ROOT_20,
        ROOT_40,
        REWRITTEN,
    ]
    report = log.audit()
    assert [(f.seq, f.size) for f in report.failures] == [(17, None), (None, 20), (None, 40)]


def test_an_edited_event_with_a_recomputed_leaf_hash_is_caught_by_the_checkpoints(
    log: Log,
) -> None:
    log.tamper(log.set_body(25, log.body(25).replace('"proceed":true', '"proceed":false'),
                            rehash=True))  # fmt: skip
    assert log.failures(SIZE) == [ROOT_40_AFTER_20, REWRITTEN]
    assert log.audit(HALF).failures[0].size == SIZE  # the kept size-20 note still agrees


def test_a_deleted_event_is_named_as_the_gap_it_leaves(log: Log) -> None:
    log.tamper(("DELETE FROM log_events WHERE seq = 17", {}))
    assert log.failures(SIZE) == [
        "event seq 17 missing (log jumps from 16 to 18)",
        ROOT_20,
        "checkpoint at size 40: the log holds only 39 events (events were deleted)",
        "your checkpoint (size 40) is not consistent with the log now: the log holds only 39 "
        "events (events were deleted)",
    ]


def test_deleted_runs_at_the_start_and_the_end_are_named(log: Log) -> None:
    log.tamper(("DELETE FROM log_events WHERE seq = 0 OR seq BETWEEN 30 AND 32", {}))
    failures = log.failures()
    assert failures[:2] == [
        "event seq 0 missing (log starts at 1)",
        "events seq 30 to 32 missing (log jumps from 29 to 33)",
    ]


def test_a_deleted_event_renumbered_away_is_caught_by_the_checkpoints(log: Log) -> None:
    log.tamper(("DELETE FROM log_events WHERE seq = 30", {}), *renumber(31, -1))
    assert log.failures(SIZE) == [
        "checkpoint at size 40: the log holds only 39 events (events were deleted)",
        "your checkpoint (size 40) is not consistent with the log now: the log holds only 39 "
        "events (events were deleted)",
    ]


def test_two_swapped_bodies_are_named_at_both_seqs(log: Log) -> None:
    fifth, sixth = log.body(5), log.body(6)
    log.tamper(log.set_body(5, sixth, rehash=False), log.set_body(6, fifth, rehash=False))
    assert log.failures() == [
        "event seq 5 (key verdict:B-1:4) body does not hash to its leaf",
        "event seq 5 (key verdict:B-1:4): column event_key is 'verdict:B-1:4' but the body says "
        "'verdict:B-1:5'",
        "event seq 6 (key verdict:B-1:5) body does not hash to its leaf",
        "event seq 6 (key verdict:B-1:5): column event_key is 'verdict:B-1:5' but the body says "
        "'verdict:B-1:4'",
        ROOT_20,
        ROOT_40,
    ]


def test_two_swapped_whole_events_are_caught_by_the_checkpoints(log: Log) -> None:
    log.tamper(
        ("UPDATE log_events SET seq = -1 WHERE seq = 25", {}),
        ("UPDATE log_events SET seq = 25 WHERE seq = 26", {}),
        ("UPDATE log_events SET seq = 26 WHERE seq = -1", {}),
    )
    assert log.failures(SIZE) == [ROOT_40_AFTER_20, REWRITTEN]


def test_an_inserted_event_is_caught_by_the_checkpoints(log: Log) -> None:
    forged = Event(EventKind.DISCLOSURE, "disclosure:B-1:99", "B-1", {"row": 99})
    log.tamper(*renumber(10, 1), insert_event(10, forged))
    report = log.audit(SIZE)
    assert report.tree_size == SIZE + 1
    assert [f.message for f in report.failures] == [ROOT_20, ROOT_40, REWRITTEN, UNSIGNED_ONE]


def test_an_event_inserted_after_the_first_checkpoint_is_placed_after_it(log: Log) -> None:
    forged = Event(EventKind.DISCLOSURE, "disclosure:B-2:99", "B-2", {"row": 99})
    log.tamper(*renumber(33, 1), insert_event(33, forged))
    assert log.failures(SIZE) == [ROOT_40_AFTER_20, REWRITTEN, UNSIGNED_ONE]


def test_a_rewritten_history_with_fresh_checkpoints_is_caught_only_by_the_kept_one(
    log: Log,
) -> None:
    log.tamper(
        log.set_body(25, log.body(25).replace('"proceed":true', '"proceed":false'), rehash=True),
        ("DELETE FROM checkpoints", {}),
    )
    make_checkpoint(log.engine, log.key_path, now=datetime(2025, 8, 3, tzinfo=UTC))
    assert log.audit().ok  # every checkpoint the ledger holds now was signed after the rewrite
    assert log.failures(SIZE) == [REWRITTEN]
    # the rewrite came after the size-20 note, but its deletion shows
    assert log.failures(HALF) == [
        "your checkpoint (size 20) is no longer in the ledger: its checkpoint was deleted"
    ]


def test_a_non_canonical_body_is_named(log: Log) -> None:
    loose = json.dumps(json.loads(log.body(3)))  # same content, with spaces
    log.tamper(log.set_body(3, loose, rehash=True))
    assert log.failures() == [
        "event seq 3 (key verdict:B-1:2) body is not canonical JSON (RFC 8785)",
        ROOT_20,
        ROOT_40,
    ]


def test_a_column_that_disagrees_with_its_body_is_named(log: Log) -> None:
    log.tamper(("UPDATE log_events SET kind = 'review' WHERE seq = 3", {}))
    assert log.failures() == [
        "event seq 3 (key verdict:B-1:2): column kind is 'review' but the body says 'gate_verdict'"
    ]


def test_a_checkpoint_signed_by_a_stranger_is_named(log: Log) -> None:
    private, _ = OUTSIDER
    cp = parse_checkpoint(log.notes[HALF])[0]
    forged = sign_checkpoint(cp, private, ORIGIN)
    log.tamper(("UPDATE checkpoints SET note = :note WHERE tree_size = 20", {"note": forged}))
    [failure] = log.audit().failures
    assert failure.size == HALF
    assert failure.message.startswith(
        "checkpoint at size 20: signed by no key in the keyring (origin taxgate/Disclosing-Agency)"
    )


def test_an_altered_checkpoint_note_is_named(log: Log) -> None:
    altered = log.notes[HALF].replace("timestamp 2025-08-01", "timestamp 2024-08-01")
    assert altered != log.notes[HALF]
    log.tamper(("UPDATE checkpoints SET note = :note WHERE tree_size = 20", {"note": altered}))
    [failure] = log.audit().failures
    assert failure.message.startswith("checkpoint at size 20: the note does not verify")
    assert "does not match the note text" in failure.message


def test_a_checkpoint_whose_columns_disagree_with_its_note_is_named(log: Log) -> None:
    log.tamper(
        ("UPDATE checkpoints SET root_hash = :root WHERE tree_size = 40", {"root": "00" * 32}),
    )
    assert log.failures() == [
        "checkpoint at size 40: the root_hash column differs from the note's root"
    ]


def test_a_checkpoint_row_whose_size_disagrees_with_its_note_is_named(log: Log) -> None:
    log.tamper(("UPDATE checkpoints SET tree_size = 30 WHERE tree_size = 20", {}))
    report = log.audit()
    assert [(f.message, f.size) for f in report.failures] == [
        ("checkpoint at size 30: its note says size 20", 30),
        ("checkpoint at size 20 is missing: the checkpoint at size 40 names it as the one "
         "signed before it (checkpoints were deleted)", 20),
    ]  # fmt: skip


def test_checkpoints_signed_by_keys_outside_the_keyring_are_named(log: Log) -> None:
    report = log.audit(keyring={OUTSIDER[1].key_id: OUTSIDER[1]})
    assert [f.size for f in report.failures] == [HALF, SIZE]
    assert all("signed by no key in the keyring" in f.message for f in report.failures)


def test_a_kept_checkpoint_that_is_unreadable_forged_or_foreign_is_named(log: Log) -> None:
    assert log.failures("not a checkpoint\n")[0].startswith("your checkpoint cannot be read")
    cp = parse_checkpoint(log.notes[SIZE])[0]
    forged = sign_checkpoint(cp, OUTSIDER[0], ORIGIN)
    assert log.failures(forged)[0].startswith(
        "your checkpoint (size 40): signed by no key in the keyring"
    )
    private = new_key("Disclosing Agency", "Dana Officer", "Disclosure Officer",
                      created_on=date(2025, 8, 1), seed=b"d")[0]  # fmt: skip
    other_log = Checkpoint("taxgate/Another-Log", cp.size, cp.root, cp.timestamp)
    foreign = sign_checkpoint(other_log, private, "taxgate/Another-Log")
    assert log.failures(foreign) == [
        "your checkpoint (size 40) is for the log taxgate/Another-Log, not this ledger's "
        "taxgate/Disclosing-Agency"
    ]


def test_progress_reports_every_event_read(log: Log) -> None:
    seen: list[tuple[int, int]] = []
    verify_log(log.engine, log.keyring, progress=lambda d, n: seen.append((d, n)), rows=False)
    assert seen[-1] == (SIZE, SIZE)


def test_failures_beyond_the_cap_are_counted(log: Log, monkeypatch) -> None:
    monkeypatch.setattr("taxgate.ledger.audit.MAX_LISTED_FAILURES", 3)
    log.tamper(("UPDATE log_events SET body = '{}'", {}))
    report = log.audit()
    assert len(report.failures) == 3 and report.unlisted_failures > SIZE
    assert not report.ok


def test_an_empty_log_verifies(database_url: str, disclosing_key) -> None:
    engine = open_ledger(database_url)
    try:
        report = verify_log(engine, load_keyring(disclosing_key[1]))
    finally:
        engine.dispose()
    assert report.ok and report.tree_size == 0 and report.root == merkle.EMPTY_ROOT
