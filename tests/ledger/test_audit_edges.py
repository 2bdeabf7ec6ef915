"""Edges of the log audit and of signed notes that the mutation run found untested: an empty
log's checkpoint, progress reported in steps, note bodies without a final newline, too many
signature lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine

from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.keys import load_keyring, new_key
from taxgate.ledger import audit
from taxgate.ledger.audit import verify_log
from taxgate.ledger.checkpoint import MAX_SIGNATURES, parse_note, sign_note
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import append_events
from taxgate.ledger.log import ledger_origin, make_checkpoint, prove_consistency, prove_inclusion
from tests.ledger.test_events import AT, sample_events

SIZE, STEP = 40, 10
KEY = new_key("Disclosing Agency", "Dana", "Officer", created_on=date(2025, 8, 1), seed=b"n")[0]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def test_a_checkpoint_of_the_empty_log_verifies(engine: Engine, disclosing_key) -> None:
    key_path, keyring_dir = disclosing_key
    make_checkpoint(engine, key_path, now=AT)
    seen: list[tuple[int, int]] = []
    report = verify_log(engine, load_keyring(keyring_dir), progress=lambda *a: seen.append(a))
    assert report.ok and report.checkpoints_checked == 1
    assert seen and all(done == 0 and total == 0 for done, total in seen)


def test_progress_is_reported_in_steps_not_for_every_event(
    engine: Engine, disclosing_key, monkeypatch
) -> None:
    monkeypatch.setattr(audit, "PROGRESS_EVERY", STEP)
    with engine.begin() as conn:
        append_events(conn, sample_events(SIZE // 2, "B-1"), AT)
        append_events(conn, sample_events(SIZE // 2, "B-2"), AT)
    seen: list[tuple[int, int]] = []
    verify_log(engine, load_keyring(disclosing_key[1]), progress=lambda *a: seen.append(a))
    assert all(total == SIZE for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (SIZE, SIZE)
    assert SIZE // STEP <= len(seen) <= SIZE // STEP + 2


@pytest.mark.parametrize("body", ["no final newline", "tab\there\n", "bell\x07\n", ""])
def test_a_note_body_without_a_final_newline_or_with_control_characters_is_refused(
    body: str,
) -> None:
    with pytest.raises(ValueError):
        sign_note(body, KEY, "example.org/log")


def test_a_note_with_too_many_signature_lines_is_refused() -> None:
    note = sign_note("example.org/log\n1\nAAAA\n", KEY, "example.org/log")
    body, signatures = parse_note(note)
    line = note[len(body) + 1 :]
    assert len(signatures) == 1 and line.endswith("\n")
    assert len(parse_note(body + "\n" + line * MAX_SIGNATURES)[1]) == MAX_SIGNATURES
    with pytest.raises(FormatError):
        parse_note(body + "\n" + line * (MAX_SIGNATURES + 1))


def test_a_key_naming_no_agency_cannot_name_a_log() -> None:
    record = new_key("", "Dana", "Officer", created_on=date(2025, 8, 1), seed=b"no-agency")[1]
    with pytest.raises(TaxgateError):
        ledger_origin(record)


def test_a_second_checkpoint_of_the_same_size_returns_the_first(
    engine: Engine, disclosing_key
) -> None:
    key_path, _ = disclosing_key
    with engine.begin() as conn:
        append_events(conn, sample_events(3, "B-1"), AT)
    first = make_checkpoint(engine, key_path, now=AT)
    again = make_checkpoint(engine, key_path, now=AT.replace(year=AT.year + 1))
    assert again[1] == first[1]


def test_proofs_outside_the_tree_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        append_events(conn, sample_events(5, "B-1"), AT)
    with engine.connect() as conn:
        assert prove_inclusion(conn, 4, 5) is not None
        for seq, size in ((5, 5), (4, 4), (0, 0)):
            with pytest.raises(TaxgateError):
                prove_inclusion(conn, seq, size)
        assert prove_consistency(conn, 0, 5) is not None
        for old, new in ((-1, 5), (6, 5), (3, 2)):
            with pytest.raises(TaxgateError):
                prove_consistency(conn, old, new)
