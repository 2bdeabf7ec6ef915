"""Reading the transparency log: its size, leaves, roots, signed checkpoints and RFC 9162 proofs.

Origin: every checkpoint of a ledger names one fixed origin, "taxgate/<disclosing agency>"
(the agency as `note_key_name` spells it), taken from the first signing key and then from the
ledger's own checkpoints, so rotating the signing key keeps the log's identity. The checkpoint
is signed under a key name equal to the origin, as C2SP tlog-checkpoint recommends; the note's
4-byte key hash tells the agency's successive keys apart. Proofs are plain JSON with hex hashes
that an auditor checks with `taxgate.ledger.merkle.verify_*` alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from taxgate.errors import TaxgateError
from taxgate.formats.keys import PublicKeyRecord, load_private_key
from taxgate.ledger import merkle
from taxgate.ledger.checkpoint import (
    Checkpoint,
    note_key_name,
    parse_checkpoint,
    sign_checkpoint,
)
from taxgate.ledger.schema import checkpoints, log_events

ORIGIN_PREFIX = "taxgate"
FETCH_CHUNK = 50_000  # rows per fetch when streaming the log: steady memory for millions
SERVER_CURSOR = "taxgate_log_read"  # PostgreSQL names server-side cursors
_FIX_AUDIT = "Run `taxgate ledger verify` to see what in the log was changed."

Proof = dict[str, object]


def ledger_origin(record: PublicKeyRecord) -> str:
    """The origin a new ledger's checkpoints name: "taxgate/<agency>", for the key's agency."""
    agency = note_key_name(record).removesuffix(record.key_id).removesuffix("/")
    if not agency:
        raise TaxgateError(
            f"key {record.key_id} names no agency to identify the log by",
            "Sign checkpoints with a key created with `taxgate keys new --agency ...`.",
            field="agency",
        )
    return f"{ORIGIN_PREFIX}/{agency}"


def tree_size(conn: Connection) -> int:
    """How many events the log holds: one past the highest seq (seqs run 0..n-1)."""
    last = conn.execute(select(func.max(log_events.c.seq))).scalar()
    return 0 if last is None else last + 1


def _checked_size(conn: Connection, size: int | None, what: str = "tree size") -> int:
    current = tree_size(conn)
    if size is None:
        return current
    if not 0 <= size <= current:
        raise TaxgateError(
            f"{what} {size} is outside the log, which holds {current} events",
            f"Give a size between 0 and {current}.",
            field="size",
        )
    return size


def driver_rows(conn: Connection, sql: str) -> Iterator[tuple]:
    """Rows of a parameterless query as the driver's plain tuples, FETCH_CHUNK at a time.

    For millions of rows this skips SQLAlchemy's per-row objects (a third of the read time)
    and, on PostgreSQL, reads through a server-side cursor so memory stays flat. It runs in
    the connection's current transaction.
    """
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=SERVER_CURSOR)
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while part := cursor.fetchmany(FETCH_CHUNK):
            yield from part
    finally:
        cursor.close()


def leaf_hashes(conn: Connection, size: int | None = None) -> list[bytes]:
    """The first `size` leaf hashes (all by default), in seq order, as stored.

    Refuses a log whose seqs are not exactly 0..size-1: a tree over such a log would sign
    whatever an intruder left behind.
    """
    size = _checked_size(conn, size)
    sql = (
        "SELECT leaf_hash FROM log_events "
        f"WHERE seq >= 0 AND seq < {int(size)} ORDER BY seq"  # an int: nothing to inject
    )
    hashes = [bytes.fromhex(h) for (h,) in driver_rows(conn, sql)]
    if len(hashes) != size:
        raise TaxgateError(
            f"the log lacks {size - len(hashes)} of its events seq 0 to {size - 1}", _FIX_AUDIT
        )
    return hashes


def root(conn: Connection, size: int | None = None) -> bytes:
    """The Merkle tree head over the first `size` events (all by default)."""
    return merkle.root_from_leaf_hashes(leaf_hashes(conn, size))


def stored_note(conn: Connection, size: int) -> str | None:
    """The signed checkpoint the ledger holds for `size`, if any."""
    query = select(checkpoints.c.note).where(checkpoints.c.tree_size == size)
    return conn.execute(query).scalar()


def stored_origin(conn: Connection) -> str | None:
    """The origin the ledger's checkpoints name (its first one's), None before the first."""
    first = conn.execute(
        select(checkpoints.c.note).order_by(checkpoints.c.tree_size).limit(1)
    ).scalar()
    return None if first is None else parse_checkpoint(first)[0].origin


def _insert_checkpoint(conn: Connection, cp: Checkpoint, note: str) -> None:
    """Insert unless a checkpoint of that size exists already (another process won the race)."""
    values = {
        "tree_size": cp.size,
        "root_hash": cp.root.hex(),
        "signed_at": cp.timestamp,
        "note": note,
    }
    dialect = conn.dialect.name
    if dialect == "sqlite":
        statement = sqlite.insert(checkpoints).values(values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        statement = postgresql.insert(checkpoints).values(values).on_conflict_do_nothing()
    else:
        statement = insert(checkpoints).values(values)
    conn.execute(statement)


def make_checkpoint(
    engine: Engine,
    key_path: Path,
    origin: str | None = None,
    *,
    now: datetime | None = None,
    trusted: Mapping[str, PublicKeyRecord] | None = None,
) -> tuple[Checkpoint, str]:
    """Audit the log, then sign the tree head over every event now logged, store it, return it.

    If the ledger already holds a checkpoint of that size, that one is returned unchanged.
    Otherwise `audit.audit_before_signing` runs first (the signing key and `trusted` are the
    keys whose checkpoints anchor it) and a log that fails it is refused, with its first
    failure: signing would vouch for whatever an intruder changed. `origin` defaults to the
    ledger's (see the module docstring); a different one is refused, since one log must keep
    one identity. The new note names the newest stored checkpoint as its `previous`.
    """
    from taxgate.ledger.audit import audit_before_signing  # audit reads the log through here

    private_key, record = load_private_key(key_path)
    keys = {**(trusted or {}), record.key_id: record}
    with engine.connect() as conn:
        existing = stored_note(conn, tree_size(conn))
        if existing is not None:
            return _ours(existing, keys)
        report = audit_before_signing(conn, keys)
        if not report.ok:
            _refuse_to_sign(report)
        size, head = report.tree_size, report.root
        existing = stored_note(conn, size)
        if existing is not None:
            return _ours(existing, keys)
        previous = conn.execute(
            select(func.max(checkpoints.c.tree_size)).where(checkpoints.c.tree_size < size)
        ).scalar()
        ledger = stored_origin(conn)
        if origin is not None and ledger is not None and origin != ledger:
            raise TaxgateError(
                f"this ledger's checkpoints name the origin {ledger!r}, not {origin!r}",
                "Leave the origin out, so the log keeps the one identity it has.",
                field="origin",
            )
        origin = origin or ledger or ledger_origin(record)
    try:
        cp = Checkpoint(origin, size, head, now or datetime.now(UTC), previous)
        note = sign_checkpoint(cp, private_key, origin)
    except ValueError as exc:
        raise TaxgateError(
            f"origin {origin!r} cannot name the log ({exc})",
            "Use one line without spaces or '+', like taxgate/Disclosing-Agency.",
            field="origin",
        ) from exc
    with engine.begin() as conn:
        _insert_checkpoint(conn, cp, note)
        kept = stored_note(conn, size)
    if kept is not None and kept != note:
        return _ours(kept, keys)
    return cp, note


def _ours(note: str, keys: Mapping[str, PublicKeyRecord]) -> tuple[Checkpoint, str]:
    """A stored note handed back as this size's checkpoint, once a trusted key's signature on
    it verifies: one planted at the size the log has now must not pass for ours."""
    from taxgate.ledger.audit import AuditReport, _check_note

    report = AuditReport()
    cp = _check_note(note, "the stored checkpoint", keys, report, 0)
    if cp is None:
        first = report.failures[0].message
        raise TaxgateError(
            f"refusing to hand back a checkpoint: {first}",
            "Run `taxgate ledger verify` with the agency's public key: a checkpoint not signed "
            "by this key is either an earlier key's (pass it as trusted) or planted.",
        )
    return cp, note


def _refuse_to_sign(report) -> None:
    """One line: the first thing that does not verify, and how many more there are."""
    first = report.failures[0].message
    more = len(report.failures) - 1 + report.unlisted_failures
    also = f" (and {more} more)" if more else ""
    raise TaxgateError(
        f"refusing to sign a checkpoint: the log fails its audit: {first}{also}",
        "Run `taxgate ledger verify` with the agency's public key to see every failure; "
        "restore the ledger from a verified copy before signing.",
    )


def _event_row(conn: Connection, event: int | str):
    column = log_events.c.seq if isinstance(event, int) else log_events.c.event_key
    query = select(
        log_events.c.seq, log_events.c.event_key, log_events.c.body, log_events.c.leaf_hash
    ).where(column == event)
    row = conn.execute(query).first()
    if row is None:
        what = f"seq {event}" if isinstance(event, int) else f"key {event!r}"
        raise TaxgateError(
            f"the log holds no event with {what}",
            "Give an event key as logged (e.g. decision:B-1:17) or its seq number.",
        )
    return row


def _matching_checkpoint(conn: Connection, size: int, head: bytes) -> str | None:
    """The stored note for `size`, refusing one whose root the log no longer produces."""
    note = stored_note(conn, size)
    if note is not None and parse_checkpoint(note)[0].root != head:
        raise TaxgateError(
            f"the log no longer matches its own checkpoint at size {size}", _FIX_AUDIT
        )
    return note


def prove_inclusion(conn: Connection, event: int | str, size: int | None = None) -> Proof:
    """An RFC 9162 inclusion proof of one event (by seq or event key) in the tree of `size`.

    Check it with merkle.verify_inclusion(seq, tree_size, leaf_hash, proof, root), after
    checking leaf_hash == merkle.leaf_hash(body as UTF-8). `checkpoint` is the signed note
    for that size when the ledger holds one.
    """
    row = _event_row(conn, event)
    size = _checked_size(conn, size)
    if not row.seq < size:
        raise TaxgateError(
            f"event seq {row.seq} was logged after the tree of size {size}",
            f"Give a size above {row.seq}, or leave it out for the whole log.",
            field="size",
        )
    if merkle.leaf_hash(row.body.encode("utf-8")).hex() != row.leaf_hash:
        raise TaxgateError(
            f"event seq {row.seq} (key {row.event_key}) body does not hash to its leaf",
            _FIX_AUDIT,
        )
    hashes = leaf_hashes(conn, size)
    head = merkle.root_from_leaf_hashes(hashes)
    return {
        "seq": row.seq,
        "event_key": row.event_key,
        "tree_size": size,
        "body": row.body,
        "leaf_hash": row.leaf_hash,
        "root": head.hex(),
        "proof": [h.hex() for h in merkle.inclusion_proof(row.seq, size, hashes)],
        "checkpoint": _matching_checkpoint(conn, size, head),
    }


def prove_consistency(conn: Connection, old_size: int, new_size: int | None = None) -> Proof:
    """An RFC 9162 consistency proof: the tree of `old_size` is a prefix of that of `new_size`.

    Check it with merkle.verify_consistency(old_size, new_size, old_root, new_root, proof).
    """
    new_size = _checked_size(conn, new_size, "new size")
    if not 0 <= old_size <= new_size:
        raise TaxgateError(
            f"old size {old_size} must be between 0 and the new size {new_size}",
            "Give the size of the checkpoint you kept as the old size.",
            field="old_size",
        )
    hashes = leaf_hashes(conn, new_size)
    old_root = merkle.root_from_leaf_hashes(hashes[:old_size])
    new_root = merkle.root_from_leaf_hashes(hashes)
    return {
        "old_size": old_size,
        "new_size": new_size,
        "old_root": old_root.hex(),
        "new_root": new_root.hex(),
        "proof": [h.hex() for h in merkle.consistency_proof(old_size, new_size, hashes)],
        "old_checkpoint": _matching_checkpoint(conn, old_size, old_root),
        "new_checkpoint": _matching_checkpoint(conn, new_size, new_root),
    }
