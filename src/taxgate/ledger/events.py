"""The log's event vocabulary and its one writer, so every leaf is canonical, keyed and gapless.

A leaf is the RFC 8785 JSON of {"kind", "key", "batch_id", "recorded_at", **body};
`log_events.body` stores exactly that text, so an auditor can rebuild every leaf hash from the
table alone. `recorded_at` is in the leaf (RFC 3339 UTC, microseconds, `time_text`) so the time
an event was logged, and every table row stamped with it, cannot be moved without the tree
changing. Bodies are
flat (str, int, bool, None): for those, `json` with sorted keys and no whitespace writes the
very bytes RFC 8785 does, at C speed, which is what lets a 3-million-subject batch log fast.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError

from taxgate.errors import TaxgateError
from taxgate.ledger import schema
from taxgate.ledger.merkle import LEAF_PREFIX


class EventKind(StrEnum):
    """What happened; stored as the `kind` of a log event and inside its leaf."""

    BATCH_RECEIVED = "batch_received"
    BATCH_REFUSED = "batch_refused"
    GATE_VERDICT = "gate_verdict"
    DECISION = "decision"
    REVIEW = "review"
    DISCLOSURE = "disclosure"
    RESPONSE_RELEASED = "response_released"
    RECALL_ISSUED = "recall_issued"
    ACKNOWLEDGEMENT = "acknowledgement"
    PURGE = "purge"
    GATE_MEMORY = "gate_memory"


BodyValue = str | int | bool | None


@dataclass(frozen=True)
class Event:
    """One thing the log accounts for; `key` makes appending it again a no-op."""

    kind: EventKind
    key: str  # unique idempotency key, e.g. "decision:B-1:17"
    batch_id: str | None
    body: Mapping[str, BodyValue]  # no floats, no personal data (callers pass keyed hashes)


RESERVED_NAMES = (
    "kind",
    "key",
    "batch_id",
    "recorded_at",
)  # the leaf's own fields; a body may not shadow them
MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: larger ints would round
INSERT_CHUNK = 10_000  # rows per executemany: few round trips, bounded memory per chunk
LOOKUP_CHUNK = 500  # keys per IN (...) when checking for events already logged
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # a leaf's recorded_at: RFC 3339, UTC, microseconds
MAX_CACHED_SHAPES = 1_024  # body key sets already checked; pipelines use a handful

# Key of the PostgreSQL advisory lock serialising appenders (held to the end of the caller's
# transaction); derived from a name so it cannot collide with another lock by accident.
PG_APPEND_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"taxgate ledger log append").digest()[:8], "big", signed=True
)

_KIND_VALUES: dict[str, str] = {kind.value: kind.value for kind in EventKind}
_FLAT_TYPES = frozenset({str, int, bool, type(None)})
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    check_circular=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
)
_SELF_TEST = {"b": '\u00e9\n\x00"', "a": -1, "c": True, "d": None}


def _fast_encoder() -> Callable[[object], str]:
    """json's C encoder, built once: JSONEncoder.encode builds a new one on every call.

    `c_make_encoder` is not public API, so it is used only if present, accepting these
    arguments and writing exactly what JSONEncoder writes; otherwise the public path is used.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    quote = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or quote is None:
        return _ENCODER.encode
    try:
        chunks = make(None, None, quote, None, ":", ",", True, False, False)

        def encode(value: object) -> str:
            return "".join(chunks(value, 0))

        if encode(_SELF_TEST) == _ENCODER.encode(_SELF_TEST):
            return encode
    except (TypeError, ValueError):
        pass
    return _ENCODER.encode


_encode = _fast_encoder()
_checked_shapes: set[tuple[str, ...]] = set()
_FIX_BODY = "Log only flat values (str, int, bool, None); pass keyed hashes, never personal data."
_FIX_KEY = "Give every distinct event its own key; re-append an event only exactly as first logged."


def _bad_event(key: object, what: str, fix: str = _FIX_BODY, field: str | None = None) -> Exception:
    return TaxgateError(f"log event {key!r}: {what}", fix, field=field)


def _check_shape(shape: tuple[str, ...], key: str) -> None:
    """Body names: ASCII (so code-point order is RFC 8785's UTF-16 order), none reserved."""
    for name in shape:
        if type(name) is not str or not name or not name.isascii():
            raise _bad_event(key, f"body name {name!r} is not a non-empty ASCII string")
        if name in RESERVED_NAMES:
            raise _bad_event(key, f"body name {name!r} is reserved for the leaf itself", field=name)
    if len(_checked_shapes) < MAX_CACHED_SHAPES:
        _checked_shapes.add(shape)


def _check_values(body: Mapping[str, object], key: str) -> None:
    """The slow path, for a value not exactly str/int/bool/None or an int out of range."""
    for name, value in body.items():
        if isinstance(value, float) or not isinstance(value, str | int | bool | type(None)):
            raise _bad_event(key, f"{type(value).__name__} value in the body", field=name)
        if isinstance(value, int) and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise _bad_event(
                key,
                f"integer {value} is beyond +/-(2^53 - 1), which RFC 8785 JSON cannot hold",
                "Log large numbers as decimal strings.",
                field=name,
            )


def time_text(at: datetime) -> str:
    """An aware time as the leaf holds it: RFC 3339 in UTC with microseconds, e.g.
    "2025-08-01T12:00:00.000000Z" (PostgreSQL and SQLite both keep microseconds exactly)."""
    if at.tzinfo is None:
        raise TaxgateError(
            "recorded_at has no time zone", "Pass an aware datetime, e.g. datetime.now(UTC)."
        )
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def leaf_text(event: Event, recorded_at: str) -> str:
    """The leaf as text: canonical JSON of {"kind", "key", "batch_id", "recorded_at", **body};
    `recorded_at` is `time_text` of when it is logged."""
    key = event.key
    kind = _KIND_VALUES.get(event.kind)  # a StrEnum member hashes as its value
    if kind is None:
        raise _bad_event(key, f"unknown kind {event.kind!r}", "Use a taxgate EventKind.")
    if type(key) is not str or not key or len(key) > schema.EVENT_KEY:
        raise _bad_event(
            key, f"the key must be a string of 1 to {schema.EVENT_KEY} characters", _FIX_KEY
        )
    batch_id = event.batch_id
    if batch_id is not None and (type(batch_id) is not str or len(batch_id) > schema.ID):
        raise _bad_event(key, f"batch_id must be None or a string of at most {schema.ID}")
    body = event.body
    shape = tuple(body)
    if shape not in _checked_shapes:
        _check_shape(shape, key)
    types = set(map(type, body.values()))
    if not types <= _FLAT_TYPES:
        _check_values(body, key)
    elif int in types:
        for value in body.values():
            if type(value) is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                _check_values(body, key)
    leaf = {"kind": kind, "key": key, "batch_id": batch_id, "recorded_at": recorded_at}
    leaf.update(body)
    return _encode(leaf)


def canonical_text(value: Mapping[str, BodyValue]) -> str:
    """RFC 8785 JSON of a flat mapping with ASCII names, at C speed: `json` writes the same.

    The caller guarantees flatness (str, int within +/-(2^53 - 1), bool, None) and ASCII
    names; for anything else only `rfc8785.dumps` is canonical.
    """
    return _encode(value)


def _encoded(text_: str, key: str) -> bytes:
    try:
        return text_.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad_event(key, "holds a lone surrogate, which is not text") from exc


def leaf_bytes(event: Event, recorded_at: datetime) -> bytes:
    """The bytes the Merkle leaf hashes: RFC 8785 JSON of
    {"kind", "key", "batch_id", "recorded_at", **body}."""
    return _encoded(leaf_text(event, time_text(recorded_at)), event.key)


Params = tuple[int, str, str | None, str, str, str, object]  # one log_events row, in order
_COLUMNS = ("seq", "kind", "batch_id", "event_key", "body", "leaf_hash", "recorded_at")
_KEY, _LEAF_HASH = 3, 5  # positions in Params


def _params(events: Sequence[Event], seq: int, at: object, stamp: str) -> list[Params]:
    """Rows for executemany, numbered from `seq`: the leaf text and its hash precomputed."""
    rows: list[Params] = []
    append = rows.append
    sha256 = hashlib.sha256
    for event in events:
        body = leaf_text(event, stamp)
        digest = sha256(LEAF_PREFIX + _encoded(body, event.key)).hexdigest()
        append((seq, _KIND_VALUES[event.kind], event.batch_id, event.key, body, digest, at))
        seq += 1
    return rows


def _chunks(events: Sequence[Event]) -> Iterator[Sequence[Event]]:
    for start in range(0, len(events), INSERT_CHUNK):
        yield events[start : start + INSERT_CHUNK]


def _take_append_lock(conn: Connection) -> None:
    """Make this transaction the only appender until it ends, before max(seq) is read.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: its single writer lock; a
    transaction that has written already holds it (pysqlite begins one only at the first
    write), otherwise BEGIN IMMEDIATE takes it now, in the caller's transaction.
    """
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_APPEND_LOCK_KEY})
    elif dialect == "sqlite":
        dbapi = conn.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _next_seq(conn: Connection) -> int:
    seq = schema.log_events.c.seq
    last = conn.execute(select(seq).order_by(seq.desc()).limit(1)).scalar()
    return 0 if last is None else last + 1


def _insert_sql(conn: Connection) -> str:
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO log_events ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([marker] * len(_COLUMNS))})"
    )


def _stored_time(conn: Connection, recorded_at: datetime) -> object:
    """recorded_at as the driver should get it: what SQLAlchemy's DateTime would bind."""
    column_type = schema.log_events.c.recorded_at.type.dialect_impl(conn.dialect)
    process = column_type.bind_processor(conn.dialect)
    return process(recorded_at) if process else recorded_at


def _append_fast(
    conn: Connection, events: Sequence[Event], seq: int, at: object, stamp: str
) -> int:
    """Every event is new (the usual case): insert chunk by chunk without looking anything up."""
    sql = _insert_sql(conn)
    for chunk in _chunks(events):
        conn.exec_driver_sql(sql, _params(chunk, seq, at, stamp))
        seq += len(chunk)
    return len(events)


def _logged(conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """Stored leaf texts of those `keys` the log already holds."""
    found: dict[str, str] = {}
    table = schema.log_events
    for start in range(0, len(keys), LOOKUP_CHUNK):
        part = keys[start : start + LOOKUP_CHUNK]
        query = select(table.c.event_key, table.c.body).where(table.c.event_key.in_(part))
        found.update((key, body) for key, body in conn.execute(query))
    return found


def _same_event(event: Event, stored_leaf: str) -> bool:
    """Whether `event` is the one logged as `stored_leaf`, at whatever time that was: a rerun
    logs nothing again, even though its own clock has moved on."""
    try:
        stamp = json.loads(stored_leaf).get("recorded_at")
    except (ValueError, AttributeError):
        return False
    return type(stamp) is str and leaf_text(event, stamp) == stored_leaf


def _append_checked(
    conn: Connection, events: Sequence[Event], seq: int, at: object, stamp: str
) -> int:
    """Skip events already logged the same; refuse a different event under a logged key."""
    sql = _insert_sql(conn)
    seen: dict[str, str] = {}  # key -> leaf hash, for keys repeated within this call
    appended = 0
    for chunk in _chunks(events):
        rows = _params(chunk, 0, at, stamp)
        logged = _logged(conn, [r[_KEY] for r in rows])
        new: list[Params] = []
        for event, row in zip(chunk, rows, strict=True):
            key, leaf = row[_KEY], row[_LEAF_HASH]
            stored = logged.get(key)
            if stored is not None:
                if not _same_event(event, stored):
                    raise TaxgateError(
                        f"a different event is already logged under key {key!r}",
                        _FIX_KEY,
                        field="key",
                    )
                continue
            earlier = seen.get(key)
            if earlier is None:
                seen[key] = leaf
                new.append((seq + len(new), *row[1:]))
            elif earlier != leaf:
                raise TaxgateError(
                    f"a different event is already logged under key {key!r}",
                    _FIX_KEY,
                    field="key",
                )
        if new:
            conn.exec_driver_sql(sql, new)
        seq += len(new)
        appended += len(new)
    return appended


def append_events(conn: Connection, events: Sequence[Event], recorded_at: datetime) -> int:
    """Append `events` in the caller's transaction, so table rows and events commit together.

    Seq continues from max(seq) + 1 under a lock only one appender holds at a time, so two
    processes never leave a gap or share a seq. An event whose key is already logged is
    skipped when its leaf is byte-identical (a rerun), and refused when it differs. Returns
    how many events were appended. The first try inserts without lookups inside a savepoint;
    only if a key turns out to exist already is the chunked, checking path taken.
    """
    if recorded_at.tzinfo is None:
        raise TaxgateError(
            "recorded_at has no time zone", "Pass an aware datetime, e.g. datetime.now(UTC)."
        )
    if not events:
        return 0
    recorded_at = recorded_at.astimezone(UTC)  # SQLite keeps the wall time: make it UTC's
    stamp = time_text(recorded_at)
    at = _stored_time(conn, recorded_at)
    _take_append_lock(conn)
    seq = _next_seq(conn)
    attempt = conn.begin_nested()
    try:
        appended = _append_fast(conn, events, seq, at, stamp)
    except IntegrityError:
        attempt.rollback()
    else:
        attempt.commit()
        return appended
    return _append_checked(conn, events, seq, at, stamp)
