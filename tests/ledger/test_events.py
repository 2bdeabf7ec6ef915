"""Log events: canonical leaves (equal to RFC 8785), gapless seqs, idempotent keys, one writer."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select

from taxgate.errors import TaxgateError
from taxgate.ledger import events as events_module
from taxgate.ledger import merkle
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import (
    MAX_SAFE_INTEGER,
    RESERVED_NAMES,
    Event,
    EventKind,
    append_events,
    leaf_bytes,
    time_text,
)
from taxgate.ledger.schema import gate_batches, log_events

AT = datetime(2025, 8, 1, 12, 30, tzinfo=UTC)
STAMP = "2025-08-01T12:30:00.000000Z"  # AT as a leaf's recorded_at
HASH = "ab" * 32


def decision(row: int, batch: str = "B-1", **body: object) -> Event:
    fields = {"row": row, "outcome": "CONFIRMED", "taxpayer_key": HASH, "reasons": None} | body
    return Event(EventKind.DECISION, f"decision:{batch}:{row}", batch, fields)


def sample_events(count: int, batch: str = "B-1") -> list[Event]:
    """A batch as the pipeline logs it: received, one verdict per row, then decisions."""
    events = [
        Event(
            EventKind.BATCH_RECEIVED,
            f"batch:{batch}",
            batch,
            {"manifest_sha256": HASH, "requesting_agency": "Requesting Agency", "subject_count": 3},
        )
    ]
    rows = max(count - 1, 0)
    verdicts = (rows + 1) // 2
    for row in range(rows):
        if row < verdicts:
            events.append(
                Event(
                    EventKind.GATE_VERDICT,
                    f"verdict:{batch}:{row}",
                    batch,
                    {
                        "row": row,
                        "subject_key": HASH,
                        "proceed": row % 3 != 0,
                        "reason_codes": None,
                    },
                )
            )
        else:
            events.append(decision(row - verdicts, batch))
    return events[:count]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    yield engine
    engine.dispose()


def logged(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(log_events).order_by(log_events.c.seq)).all()


# --- the leaf: canonical JSON, equal to RFC 8785 ---


def test_leaf_is_kind_key_batch_and_body_as_rfc8785() -> None:
    event = decision(17)
    expected = {"kind": "decision", "key": "decision:B-1:17", "batch_id": "B-1",
                "recorded_at": STAMP, **event.body}  # fmt: skip
    assert leaf_bytes(event, AT) == rfc8785.dumps(expected)
    assert leaf_bytes(event, AT).startswith(b'{"batch_id":"B-1","key":"decision:B-1:17","kind"')
    assert b',"recorded_at":"2025-08-01T12:30:00.000000Z",' in leaf_bytes(event, AT)


def test_the_leaf_holds_recorded_at_so_another_time_is_another_leaf() -> None:
    event = decision(17)
    later = AT.replace(microsecond=1)
    assert leaf_bytes(event, later) != leaf_bytes(event, AT)
    assert b'"recorded_at":"2025-08-01T12:30:00.000001Z"' in leaf_bytes(event, later)


def test_recorded_at_is_written_in_utc_whatever_the_zone_given() -> None:
    eastern = AT.astimezone(timezone(timedelta(hours=-4)))
    assert time_text(eastern) == STAMP
    with pytest.raises(TaxgateError, match="no time zone"):
        time_text(AT.replace(tzinfo=None))


TRICKY_TEXT = [
    "Hern\u00e1ndez L\u00f3pez",  # non-ASCII letters stay UTF-8, unescaped
    "\u00e5\u0301 \u4e2d\u6587 \U0001f600",  # combining mark, CJK, outside the BMP
    "tab\there, newline\n, cr\r, bell\x07, nul\x00, esc\x1b, unit sep\x1f, del\x7f",
    'quote " and backslash \\ and slash /',
    "line sep \u2028 para sep \u2029 bom \ufeff",
    "\b\f",
    "",
]


@pytest.mark.parametrize("value", TRICKY_TEXT)
def test_fast_json_equals_rfc8785_for_tricky_text(value: str) -> None:
    event = Event(EventKind.REVIEW, f"review:{value}", value, {"note": value, "n": -1})
    expected = {"kind": "review", "key": f"review:{value}", "batch_id": value, "note": value,
                "recorded_at": STAMP}  # fmt: skip
    assert leaf_bytes(event, AT) == rfc8785.dumps(expected | {"n": -1})


@pytest.mark.parametrize("number", [0, -0, 1, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 10**15])
def test_fast_json_equals_rfc8785_for_integers(number: int) -> None:
    event = Event(EventKind.PURGE, "purge:1", None, {"count": number, "done": True, "why": None})
    expected = {"kind": "purge", "key": "purge:1", "batch_id": None, "count": number,
                "recorded_at": STAMP}  # fmt: skip
    assert leaf_bytes(event, AT) == rfc8785.dumps(expected | {"done": True, "why": None})


NAMES = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12)
VALUES = st.one_of(
    st.text(),
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.booleans(),
    st.none(),
)


@settings(max_examples=400, deadline=None)
@given(
    body=st.dictionaries(NAMES.filter(lambda n: n not in RESERVED_NAMES), VALUES, max_size=8),
    key=st.text(min_size=1, max_size=40),
    batch=st.one_of(st.none(), st.text(max_size=20)),
)
def test_fast_json_equals_rfc8785_for_any_flat_body(
    body: dict, key: str, batch: str | None
) -> None:
    strings = [key, batch or "", *(v for v in body.values() if isinstance(v, str))]
    if any(0xD800 <= ord(c) <= 0xDFFF for s in strings for c in s):
        return  # lone surrogates are not text; test_lone_surrogate_is_refused covers them
    event = Event(EventKind.DISCLOSURE, key, batch, body)
    expected = {"kind": "disclosure", "key": key, "batch_id": batch, "recorded_at": STAMP, **body}
    assert leaf_bytes(event, AT) == rfc8785.dumps(expected)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"match_probability": 0.97}, "match_probability"),
        ({"nested": {"a": 1}}, "nested"),
        ({"items": [1, 2]}, "items"),
        ({"big": MAX_SAFE_INTEGER + 1}, "big"),
        ({"small": -MAX_SAFE_INTEGER - 1}, "small"),
        ({"kind": "decision"}, "kind"),
        ({"key": "other"}, "key"),
        ({"batch_id": "B-2"}, "batch_id"),
    ],
)
def test_body_values_that_are_not_flat_or_shadow_the_leaf_are_refused(body, field) -> None:
    with pytest.raises(TaxgateError) as caught:
        leaf_bytes(Event(EventKind.DECISION, "decision:B-1:0", "B-1", body), AT)
    assert caught.value.field == field
    assert "decision:B-1:0" in caught.value.what


@pytest.mark.parametrize(
    "event",
    [
        Event("verdict", "verdict:B-1:0", "B-1", {}),  # type: ignore[arg-type]
        Event(EventKind.DECISION, "", "B-1", {}),
        Event(EventKind.DECISION, "k" * 201, "B-1", {}),
        Event(EventKind.DECISION, "decision:B-1:0", "B" * 201, {}),
        Event(EventKind.DECISION, "decision:B-1:0", "B-1", {"n\u00e4me": 1}),
        Event(EventKind.DECISION, "decision:B-1:0", "B-1", {1: 1}),  # type: ignore[dict-item]
        Event(EventKind.DECISION, "decision:B-1:0", "B-1", {"note": "half \ud800 a pair"}),
    ],
    ids=["unknown kind", "empty key", "long key", "long batch", "non-ascii name", "int name",
         "lone surrogate"],
)  # fmt: skip
def test_malformed_events_are_refused(event: Event) -> None:
    with pytest.raises(TaxgateError):
        leaf_bytes(event, AT)


def test_without_the_c_encoder_the_public_encoder_writes_the_same(monkeypatch) -> None:
    monkeypatch.setattr("json.encoder.c_make_encoder", None)
    fallback = events_module._fast_encoder()
    assert fallback == events_module._ENCODER.encode
    value = {"b": TRICKY_TEXT[2], "a": MAX_SAFE_INTEGER, "c": None}
    assert fallback(value).encode("utf-8") == rfc8785.dumps(value)


def test_kind_given_as_its_string_value_makes_the_same_leaf() -> None:
    as_enum = decision(1)
    as_text = Event("decision", as_enum.key, as_enum.batch_id, as_enum.body)  # type: ignore[arg-type]
    assert leaf_bytes(as_text, AT) == leaf_bytes(as_enum, AT)


# --- appending ---


def test_append_numbers_from_zero_and_stores_the_leaf(ledger: Engine) -> None:
    events = sample_events(7)
    with ledger.begin() as conn:
        assert append_events(conn, events, AT) == 7
    with ledger.begin() as conn:
        assert append_events(conn, [decision(99)], AT) == 1
    rows = logged(ledger)
    assert [r.seq for r in rows] == list(range(8))
    for row, event in zip(rows, [*events, decision(99)], strict=True):
        assert row.body.encode("utf-8") == leaf_bytes(event, AT)
        assert row.leaf_hash == merkle.leaf_hash(leaf_bytes(event, AT)).hex()
        assert (row.kind, row.event_key, row.batch_id) == (event.kind, event.key, event.batch_id)
        recorded = row.recorded_at
        assert recorded.replace(tzinfo=recorded.tzinfo or UTC) == AT


def test_events_commit_or_roll_back_with_the_callers_transaction(ledger: Engine) -> None:
    with pytest.raises(RuntimeError), ledger.begin() as conn:
        conn.execute(insert(gate_batches).values(batch_id="B-1", manifest_sha256=HASH,
                                                 received_on=date(2025, 8, 1)))  # fmt: skip
        append_events(conn, sample_events(5), AT)
        raise RuntimeError("the stage failed after logging")
    assert logged(ledger) == []
    with ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(gate_batches)).scalar() == 0


def test_appending_nothing_appends_nothing(ledger: Engine) -> None:
    with ledger.begin() as conn:
        assert append_events(conn, [], AT) == 0
    assert logged(ledger) == []


def test_a_rerun_skips_events_already_logged_identically(ledger: Engine) -> None:
    first = sample_events(6)
    with ledger.begin() as conn:
        append_events(conn, first[:4], AT)
    with ledger.begin() as conn:  # a restarted stage sends everything again, plus the rest
        assert append_events(conn, first, AT) == 2
    with ledger.begin() as conn:
        assert append_events(conn, first, AT) == 0
    rows = logged(ledger)
    assert [r.seq for r in rows] == list(range(6))
    assert [r.event_key for r in rows] == [e.key for e in first]


def test_a_rerun_later_skips_what_was_logged_and_keeps_its_time(ledger: Engine) -> None:
    """recorded_at is in the leaf, yet a rerun an hour later is the same event, not a new one."""
    first = sample_events(6)
    later = AT + timedelta(hours=1)
    with ledger.begin() as conn:
        append_events(conn, first[:4], AT)
    with ledger.begin() as conn:
        assert append_events(conn, first, later) == 2
    rows = logged(ledger)
    assert [json.loads(r.body)["recorded_at"] for r in rows] == [STAMP] * 4 + [
        "2025-08-01T13:30:00.000000Z"
    ] * 2
    with ledger.begin() as conn, pytest.raises(TaxgateError, match="different event"):
        append_events(conn, [decision(0, outcome="NOT_CONFIRMED")], later)


def test_a_repeated_key_within_one_call_is_logged_once(ledger: Engine) -> None:
    with ledger.begin() as conn:
        assert append_events(conn, [decision(1), decision(2), decision(1)], AT) == 2
    assert [r.event_key for r in logged(ledger)] == ["decision:B-1:1", "decision:B-1:2"]


def test_a_different_event_under_a_logged_key_is_refused(ledger: Engine) -> None:
    with ledger.begin() as conn:
        append_events(conn, [decision(1)], AT)
    with pytest.raises(TaxgateError) as caught, ledger.begin() as conn:
        append_events(conn, [decision(2), decision(1, outcome="NOT_CONFIRMED")], AT)
    assert "decision:B-1:1" in caught.value.what and "different event" in caught.value.what
    assert [r.event_key for r in logged(ledger)] == ["decision:B-1:1"]


def test_a_different_event_under_a_key_repeated_in_one_call_is_refused(ledger: Engine) -> None:
    with pytest.raises(TaxgateError), ledger.begin() as conn:
        append_events(conn, [decision(1), decision(1, reasons="R1")], AT)
    assert logged(ledger) == []


def test_recorded_at_must_carry_a_time_zone(ledger: Engine) -> None:
    with pytest.raises(TaxgateError, match="time zone"), ledger.begin() as conn:
        append_events(conn, [decision(1)], datetime(2025, 8, 1, 12, 0))


def test_many_chunks_keep_order_and_numbering(ledger: Engine, monkeypatch) -> None:
    monkeypatch.setattr("taxgate.ledger.events.INSERT_CHUNK", 7)
    monkeypatch.setattr("taxgate.ledger.events.LOOKUP_CHUNK", 3)
    events = [decision(i) for i in range(50)]
    with ledger.begin() as conn:
        assert append_events(conn, events[:20], AT) == 20
    with ledger.begin() as conn:  # the checking path, chunk by chunk
        assert append_events(conn, events, AT) == 30
    rows = logged(ledger)
    assert [r.seq for r in rows] == list(range(50))
    assert [r.event_key for r in rows] == [e.key for e in events]


# --- two writers at once ---

WORKER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, date, datetime, timedelta, timezone
    from pathlib import Path
    from sqlalchemy import insert, select
    from taxgate.ledger.engine import make_engine
    from taxgate.ledger.events import Event, EventKind, append_events
    from taxgate.ledger.schema import gate_batches, log_events

    url, worker, transactions, per, gate = sys.argv[1:6]
    engine = make_engine(url)
    Path(gate, f"ready-{worker}").touch()
    while not Path(gate, "go").exists():
        time.sleep(0.01)
    for t in range(int(transactions)):
        with engine.begin() as conn:
            if t % 2:  # reads first (nothing locked yet), like a stage that skips done rows
                conn.execute(select(log_events.c.seq).limit(1)).all()
            else:  # writes its own table row first, then logs
                conn.execute(insert(gate_batches).values(
                    batch_id=f"W{worker}-{t}", manifest_sha256="0" * 64,
                    received_on=date(2025, 8, 1)))
            events = [Event(EventKind.DECISION, f"decision:W{worker}-{t}:{i}", f"W{worker}",
                            {"row": i}) for i in range(int(per))]
            append_events(conn, events, datetime.now(UTC))
    """
)


@pytest.mark.parametrize("workers", [2, 4])
def test_concurrent_appenders_never_leave_a_gap_or_share_a_seq(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    open_ledger(database_url).dispose()
    transactions, per = 12, 30
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url, str(w), str(transactions), str(per),
             str(gate)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for w in range(workers)
    ]  # fmt: skip
    try:
        for _ in range(3000):  # until every worker has imported and connected (30 s at most)
            if len(list(gate.glob("ready-*"))) == workers:
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.01)
        (gate / "go").touch()
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    engine = open_ledger(database_url)
    try:
        rows = logged(engine)
    finally:
        engine.dispose()
    total = workers * transactions * per
    assert [r.seq for r in rows] == list(range(total))
    assert len({r.event_key for r in rows}) == total
    by_transaction: dict[str, list[int]] = {}
    for r in rows:
        by_transaction.setdefault(r.event_key.rsplit(":", 1)[0], []).append(r.seq)
    for seqs in by_transaction.values():  # one transaction's events are one unbroken run
        assert seqs == list(range(seqs[0], seqs[0] + per))
