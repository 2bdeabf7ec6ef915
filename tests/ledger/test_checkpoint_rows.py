"""A stored checkpoint row must agree with its own signed note, or the audit fails.

An intruder with database access can move a genuine signed note to another tree_size, swap
two rows' sizes, or copy a note to a size it was never signed for. Each is written here
through the database directly and checked with the audit's public entry point, verify_log,
without pinning its wording: the report must not be ok, and must name the size at fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from taxgate.formats.keys import load_keyring
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events
from taxgate.ledger.log import make_checkpoint
from tests.ledger.test_events import AT, sample_events
from tests.ledger.test_log import unlock_log

HALF, SIZE = 20, 40


@dataclass
class Ledger:
    engine: Engine
    keyring: dict
    notes: dict[int, str]

    def tamper(self, *statements: tuple[str, dict]) -> None:
        with self.engine.begin() as conn:
            unlock_log(conn)
            for sql, params in statements:
                conn.execute(text(sql), params)

    def failing_sizes(self) -> set[int | None]:
        report = verify_log(self.engine, self.keyring, rows=False)  # events without rows
        assert not report.ok
        return {f.size for f in report.failures}


@pytest.fixture
def ledger(database_url: str, disclosing_key) -> Iterator[Ledger]:
    key_path, keyring_dir = disclosing_key
    engine = open_ledger(database_url)
    notes = {}
    for batch, size in (("B-1", HALF), ("B-2", SIZE)):
        with engine.begin() as conn:
            append_events(conn, sample_events(HALF, batch), AT)
        notes[size] = make_checkpoint(engine, key_path, now=AT)[1]
    yield Ledger(engine, load_keyring(keyring_dir), notes)
    engine.dispose()


def test_the_untouched_ledger_verifies(ledger: Ledger) -> None:
    report = verify_log(ledger.engine, ledger.keyring, rows=False)
    assert report.ok and report.checkpoints_checked == 2


@pytest.mark.parametrize(("old", "new"), [(HALF, 30), (HALF, 1), (SIZE, 39), (SIZE, 41)])
def test_a_checkpoint_row_moved_to_another_size_fails(ledger: Ledger, old: int, new: int) -> None:
    ledger.tamper(
        ("UPDATE checkpoints SET tree_size = :new WHERE tree_size = :old", {"new": new, "old": old})
    )
    assert new in ledger.failing_sizes()


def test_two_checkpoint_rows_with_swapped_sizes_fail(ledger: Ledger) -> None:
    far = 1_000_000
    ledger.tamper(
        ("UPDATE checkpoints SET tree_size = :far WHERE tree_size = :s", {"far": far, "s": HALF}),
        ("UPDATE checkpoints SET tree_size = :h WHERE tree_size = :s", {"h": HALF, "s": SIZE}),
        ("UPDATE checkpoints SET tree_size = :s WHERE tree_size = :far", {"s": SIZE, "far": far}),
    )
    assert {HALF, SIZE} <= ledger.failing_sizes()


def test_a_genuine_note_copied_to_a_size_it_was_not_signed_for_fails(ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        row = conn.execute(
            text("SELECT root_hash, signed_at FROM checkpoints WHERE tree_size = :s"), {"s": HALF}
        ).one()
    ledger.tamper(
        (
            "INSERT INTO checkpoints (tree_size, root_hash, signed_at, note) "
            "VALUES (:size, :root, :at, :note)",
            {"size": 30, "root": row.root_hash, "at": row.signed_at, "note": ledger.notes[HALF]},
        )
    )
    assert 30 in ledger.failing_sizes()


def test_a_moved_row_with_the_root_column_of_its_new_size_still_fails(ledger: Ledger) -> None:
    """The careful intruder also rewrites root_hash: the note's own size still gives it away."""
    with ledger.engine.connect() as conn:
        root_40 = conn.execute(
            text("SELECT root_hash FROM checkpoints WHERE tree_size = :s"), {"s": SIZE}
        ).scalar_one()
    ledger.tamper(
        ("DELETE FROM checkpoints WHERE tree_size = :s", {"s": SIZE}),
        (
            "UPDATE checkpoints SET tree_size = :s, root_hash = :root WHERE tree_size = :h",
            {"s": SIZE, "root": root_40, "h": HALF},
        ),
    )
    assert SIZE in ledger.failing_sizes()
