"""Reading the log: sizes, roots, signed checkpoints and proofs an auditor checks on their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_private_key, new_key, write_key_pair
from taxgate.ledger import merkle
from taxgate.ledger.checkpoint import parse_checkpoint, verify_checkpoint
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events, leaf_bytes
from taxgate.ledger.log import (
    leaf_hashes,
    ledger_origin,
    make_checkpoint,
    prove_consistency,
    prove_inclusion,
    root,
    tree_size,
)
from taxgate.ledger.schema import checkpoints
from tests.ledger.test_events import AT, decision, sample_events

ORIGIN = "taxgate/Disclosing-Agency"
SIGNED = datetime(2025, 8, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def append(engine: Engine, events) -> None:
    with engine.begin() as conn:
        append_events(conn, events, AT)


def expected_root(events) -> bytes:
    return merkle.root_from_leaf_hashes([merkle.leaf_hash(leaf_bytes(e, AT)) for e in events])


def stored_checkpoints(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(checkpoints)).scalar()


def test_an_empty_log(ledger: Engine) -> None:
    with ledger.connect() as conn:
        assert tree_size(conn) == 0
        assert leaf_hashes(conn) == []
        assert root(conn) == merkle.EMPTY_ROOT


def test_size_leaves_and_roots_follow_the_events(ledger: Engine, monkeypatch) -> None:
    monkeypatch.setattr("taxgate.ledger.log.FETCH_CHUNK", 4)  # stream in several chunks
    events = sample_events(11)
    append(ledger, events)
    with ledger.connect() as conn:
        assert tree_size(conn) == 11
        assert leaf_hashes(conn) == [merkle.leaf_hash(leaf_bytes(e, AT)) for e in events]
        assert leaf_hashes(conn, 5) == [merkle.leaf_hash(leaf_bytes(e, AT)) for e in events[:5]]
        assert root(conn) == expected_root(events)
        assert root(conn, 6) == expected_root(events[:6])
        with pytest.raises(TaxgateError, match="outside the log"):
            leaf_hashes(conn, 12)


def test_checkpoint_signs_the_root_over_every_event(ledger: Engine, disclosing_key) -> None:
    key_path, _ = disclosing_key
    events = sample_events(9)
    append(ledger, events)
    cp, note = make_checkpoint(ledger, key_path, now=SIGNED)
    assert (cp.origin, cp.size, cp.root, cp.timestamp) == (ORIGIN, 9, expected_root(events), SIGNED)
    _, record = load_private_key(key_path)
    assert ledger_origin(record) == ORIGIN
    assert verify_checkpoint(note, record.ed25519_public_key(), ORIGIN) == cp
    with ledger.connect() as conn:
        row = conn.execute(select(checkpoints)).one()
    assert (row.tree_size, row.root_hash, row.note) == (9, cp.root.hex(), note)


def test_checkpoint_of_a_size_already_signed_is_returned_not_duplicated(
    ledger: Engine, disclosing_key
) -> None:
    key_path, _ = disclosing_key
    append(ledger, sample_events(4))
    first = make_checkpoint(ledger, key_path, now=SIGNED)
    again = make_checkpoint(ledger, key_path, now=datetime(2025, 9, 1, tzinfo=UTC))
    assert again == first and stored_checkpoints(ledger) == 1
    append(ledger, [decision(50)])
    grown, _ = make_checkpoint(ledger, key_path)
    assert grown.size == 5 and stored_checkpoints(ledger) == 2


def test_checkpoint_of_the_empty_log(ledger: Engine, disclosing_key) -> None:
    cp, _ = make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    assert (cp.size, cp.root) == (0, merkle.EMPTY_ROOT)


def test_the_origin_survives_a_new_signing_key(
    ledger: Engine, disclosing_key, tmp_path: Path
) -> None:
    append(ledger, sample_events(3))
    make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    private, record = new_key(
        "Disclosing Agency", "Sam Successor", "Disclosure Officer", created_on=date(2026, 1, 5),
        seed=b"rotated",
    )  # fmt: skip
    new_key_path, _ = write_key_pair(private, record, tmp_path / "new-keys")
    append(ledger, [decision(70)])
    cp, note = make_checkpoint(ledger, new_key_path, now=SIGNED)
    assert cp.origin == ORIGIN
    assert verify_checkpoint(note, record.ed25519_public_key(), ORIGIN).size == 4


def test_a_different_origin_for_the_same_ledger_is_refused(ledger: Engine, disclosing_key) -> None:
    append(ledger, sample_events(3))
    make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    append(ledger, [decision(70)])
    with pytest.raises(TaxgateError, match="origin") as caught:
        make_checkpoint(ledger, disclosing_key[0], "example.org/another-log")
    assert caught.value.field == "origin"
    explicit, _ = make_checkpoint(ledger, disclosing_key[0], ORIGIN)
    assert explicit.size == 4


def check_inclusion(proof: dict) -> bool:
    """What an auditor does with the JSON alone."""
    proof = json.loads(json.dumps(proof))  # it must survive JSON
    leaf = merkle.leaf_hash(proof["body"].encode("utf-8"))
    return leaf.hex() == proof["leaf_hash"] and merkle.verify_inclusion(
        proof["seq"],
        proof["tree_size"],
        leaf,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )


def test_inclusion_proofs_verify_for_every_event_and_size(ledger: Engine) -> None:
    events = sample_events(13)
    append(ledger, events)
    with ledger.connect() as conn:
        for size in range(1, 14):
            for seq in range(size):
                proof = prove_inclusion(conn, seq, size)
                assert proof["root"] == expected_root(events[:size]).hex()
                assert check_inclusion(proof), (seq, size)
        by_key = prove_inclusion(conn, events[6].key)
    assert (by_key["seq"], by_key["tree_size"], by_key["event_key"]) == (6, 13, events[6].key)
    assert by_key["body"].encode("utf-8") == leaf_bytes(events[6], AT)
    assert check_inclusion(by_key)


def test_inclusion_proof_carries_the_signed_checkpoint_of_its_size(
    ledger: Engine, disclosing_key
) -> None:
    append(ledger, sample_events(6))
    _, note = make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    with ledger.connect() as conn:
        proof = prove_inclusion(conn, "verdict:B-1:1")
        smaller = prove_inclusion(conn, "verdict:B-1:1", 4)
    assert proof["checkpoint"] == note
    assert parse_checkpoint(note)[0].root.hex() == proof["root"]
    assert smaller["checkpoint"] is None and check_inclusion(smaller)


@pytest.mark.parametrize(
    ("event", "size", "message"),
    [
        ("decision:B-1:404", None, "no event with key"),
        (99, None, "no event with seq 99"),
        (5, 3, "logged after the tree of size 3"),
        (1, 9, "outside the log"),
    ],
)
def test_inclusion_proof_refuses_what_the_log_cannot_prove(
    ledger: Engine, event, size, message
) -> None:
    append(ledger, sample_events(8))
    with ledger.connect() as conn, pytest.raises(TaxgateError, match=message):
        prove_inclusion(conn, event, size)


def test_consistency_proofs_verify_for_every_pair_of_sizes(ledger: Engine) -> None:
    events = sample_events(12)
    append(ledger, events)
    with ledger.connect() as conn:
        for new in range(13):
            for old in range(new + 1):
                proof = json.loads(json.dumps(prove_consistency(conn, old, new)))
                assert proof["old_root"] == expected_root(events[:old]).hex()
                assert proof["new_root"] == expected_root(events[:new]).hex()
                assert merkle.verify_consistency(
                    old,
                    new,
                    bytes.fromhex(proof["old_root"]),
                    bytes.fromhex(proof["new_root"]),
                    [bytes.fromhex(h) for h in proof["proof"]],
                ), (old, new)
        whole = prove_consistency(conn, 5)
        assert whole["new_size"] == 12
        with pytest.raises(TaxgateError, match="old size"):
            prove_consistency(conn, 7, 6)


def test_consistency_proof_names_the_checkpoints_it_joins(ledger: Engine, disclosing_key) -> None:
    append(ledger, sample_events(5))
    _, old_note = make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    append(ledger, [decision(80), decision(81)])
    _, new_note = make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    with ledger.connect() as conn:
        proof = prove_consistency(conn, 5, 7)
    assert (proof["old_checkpoint"], proof["new_checkpoint"]) == (old_note, new_note)


def unlock_log(conn) -> None:
    """What an intruder with database access does first: switch the append-only triggers off."""
    if conn.dialect.name == "sqlite":
        for table in ("log_events", "checkpoints"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE log_events DISABLE TRIGGER USER")
        conn.exec_driver_sql("ALTER TABLE checkpoints DISABLE TRIGGER USER")


def test_reading_a_log_with_a_deleted_event_is_refused(ledger: Engine, disclosing_key) -> None:
    append(ledger, sample_events(6))
    with ledger.begin() as conn:
        unlock_log(conn)
        conn.execute(text("DELETE FROM log_events WHERE seq = 2"))
    with ledger.connect() as conn, pytest.raises(TaxgateError, match="lacks 1"):
        leaf_hashes(conn)
    with pytest.raises(TaxgateError, match="taxgate ledger verify"):
        make_checkpoint(ledger, disclosing_key[0])


def test_proofs_refuse_a_log_that_no_longer_matches_its_checkpoint(
    ledger: Engine, disclosing_key
) -> None:
    events = sample_events(6)
    append(ledger, events)
    make_checkpoint(ledger, disclosing_key[0], now=SIGNED)
    with ledger.begin() as conn:
        unlock_log(conn)
        forged = decision(0, outcome="NOT_CONFIRMED")
        body = (
            leaf_bytes(forged, AT).decode("utf-8").replace('"decision:B-1:0"', '"decision:B-1:x"')
        )
        conn.execute(
            text("UPDATE log_events SET body = :body, leaf_hash = :leaf WHERE seq = 4"),
            {"body": body, "leaf": merkle.leaf_hash(body.encode("utf-8")).hex()},
        )
    with ledger.connect() as conn:
        with pytest.raises(TaxgateError, match="no longer matches its own checkpoint at size 6"):
            prove_inclusion(conn, 1)
        with pytest.raises(TaxgateError, match="no longer matches"):
            prove_consistency(conn, 3)
    with ledger.begin() as conn:  # an edited body whose leaf hash was left alone
        conn.execute(text("UPDATE log_events SET body = '{}' WHERE seq = 5"))
    with ledger.connect() as conn, pytest.raises(TaxgateError, match="does not hash to its leaf"):
        prove_inclusion(conn, 5, 6)


@pytest.mark.parametrize("origin", ["has space", "plus+sign", "two\nlines"])
def test_an_origin_that_cannot_name_a_log_is_refused(
    ledger: Engine, disclosing_key, origin: str
) -> None:
    with pytest.raises(TaxgateError) as caught:
        make_checkpoint(ledger, disclosing_key[0], origin)
    assert caught.value.field == "origin"
    assert stored_checkpoints(ledger) == 0
