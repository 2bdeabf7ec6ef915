"""The auditor's check of the whole log: rebuild the tree from the stored bodies, trust nothing.

Someone with write access to the database can drop the append-only triggers, so nothing the
tables say is taken on trust: every leaf is recomputed from its body, seqs must run 0..n-1,
every stored checkpoint must be signed by a key in the auditor's keyring and match the tree
rebuilt at its size, and a checkpoint the auditor kept from before must be consistent with the
log now. The last check is the one a rewrite of history with freshly signed checkpoints
cannot pass. Each failure names the seq or size at fault.

Unsigned history fails too: a log with events but no checkpoint, a checkpoint that a later
one names as its predecessor but the ledger no longer holds, and events after the newest
checkpoint once the oldest of them is older than the policy's `[ledger]
unsigned_grace_minutes` (younger ones are reported as warnings: every command that appends
signs before it ends, so they belong to a command still running, or to an intruder).

`audit_before_signing` is the cheaper check every checkpoint runs first: it re-derives only
the events after the newest checkpoint a trusted key signed, and checks the stored leaf hashes
before it against every stored checkpoint (see docs/ledger.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import rfc8785
from sqlalchemy import Connection, Engine, func, select

from taxgate.errors import TaxgateError
from taxgate.formats.keys import PublicKeyRecord
from taxgate.ledger import merkle
from taxgate.ledger.checkpoint import Checkpoint, key_hash, parse_checkpoint, verify_checkpoint
from taxgate.ledger.events import MAX_SAFE_INTEGER, canonical_text
from taxgate.ledger.log import FETCH_CHUNK, driver_rows
from taxgate.ledger.rows_audit import RowsSummary, audit_rows
from taxgate.ledger.schema import checkpoints, log_events
from taxgate.policy import load_policy

MAX_LISTED_FAILURES = 10_000  # beyond this many, a report only counts them: memory stays flat
PROGRESS_EVERY = FETCH_CHUNK  # events between progress callbacks
SECONDS_PER_MINUTE = 60
BLOCK = 4096  # leaves hashed as one subtree when signing: a power of two
_FLAT_TYPES = frozenset({str, int, bool, type(None)})
LEAF_FIELDS = ("kind", "key", "batch_id")  # the columns each body must repeat exactly
_COLUMN_OF = {"kind": "kind", "key": "event_key", "batch_id": "batch_id"}
_DECODE = json.JSONDecoder().decode  # json.loads without its per-call argument checks
_sha256 = hashlib.sha256

Progress = Callable[[int, int], None]  # (events read, events in the log)


@dataclass(frozen=True)
class Failure:
    """One thing that does not verify; `seq` or `size` says where."""

    message: str
    seq: int | None = None
    size: int | None = None


@dataclass
class AuditReport:
    """What verify_log found: the tree it rebuilt and every failure, in log order."""

    tree_size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints_checked: int = 0
    since_size: int | None = None
    failures: list[Failure] = field(default_factory=list)
    unlisted_failures: int = 0  # failures beyond MAX_LISTED_FAILURES, counted only
    signed_size: int = 0  # the newest stored checkpoint's size: events past it are unsigned
    unsigned_events: int = 0
    oldest_unsigned_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)  # worth a look, not a failure
    pinned_keys: bool | None = None  # whether the trusted keys came from outside the home
    rows: RowsSummary | None = None  # the tables checked against the log (rows_audit)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unlisted_failures

    def fail(self, message: str, *, seq: int | None = None, size: int | None = None) -> None:
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append(Failure(message, seq, size))
        else:
            self.unlisted_failures += 1


@dataclass(frozen=True)
class _SignedHead:
    """A checkpoint whose signature verified, with how to name it in messages."""

    checkpoint: Checkpoint
    label: str  # "checkpoint at size 40" or "your checkpoint (size 40)"
    trusted: bool = True  # signed by a key the caller trusts (else only its root is checked)


def _signer(
    note: str, cp: Checkpoint, keyring: Mapping[str, PublicKeyRecord]
) -> PublicKeyRecord | None:
    """The keyring record whose key signed `note` under the origin's name; raises if forged."""
    _, signatures = parse_checkpoint(note)
    for record in keyring.values():
        public_key = record.ed25519_public_key()
        claimed = key_hash(cp.origin, public_key)
        if any(s.name == cp.origin and s.key_hash == claimed for s in signatures):
            verify_checkpoint(note, public_key, cp.origin)
            return record
    return None


def _check_note(
    note: str,
    label: str,
    keyring: Mapping[str, PublicKeyRecord],
    report: AuditReport,
    size: int,
    strangers: list[Checkpoint] | None = None,
) -> Checkpoint | None:
    """The checkpoint in `note` if it parses and a keyring key signed it; else a failure.

    With `strangers`, a note signed by no keyring key is put there instead of failing.
    """
    try:
        cp, _ = parse_checkpoint(note)
        signer = _signer(note, cp, keyring)
    except (TaxgateError, ValueError) as exc:
        report.fail(f"{label}: the note does not verify: {exc}", size=size)
        return None
    if signer is None and strangers is not None:
        strangers.append(cp)
        return None
    if signer is None:
        report.fail(
            f"{label}: signed by no key in the keyring (origin {cp.origin}); add the "
            "disclosing agency's .pub.json to the keyring if the key is genuine",
            size=size,
        )
        return None
    return cp


def _stored_heads(
    conn: Connection,
    keyring: Mapping[str, PublicKeyRecord],
    report: AuditReport,
    *,
    strangers_fail: bool = True,
) -> list[_SignedHead]:
    """Every stored checkpoint whose note verifies and agrees with its own columns.

    With `strangers_fail` off, a note signed by no keyring key is kept as untrusted.
    """
    heads: list[_SignedHead] = []
    origin: str | None = None
    query = select(checkpoints.c.tree_size, checkpoints.c.root_hash, checkpoints.c.note)
    for size, root_hex, note in conn.execute(query.order_by(checkpoints.c.tree_size)):
        label = f"checkpoint at size {size}"
        report.checkpoints_checked += 1
        strangers: list[Checkpoint] | None = None if strangers_fail else []
        cp = _check_note(note, label, keyring, report, size, strangers)
        trusted = cp is not None
        cp = cp or (strangers[0] if strangers else None)
        if cp is None:
            continue
        if cp.size != size:
            report.fail(f"{label}: its note says size {cp.size}", size=size)
            continue
        if cp.root.hex() != root_hex:
            report.fail(f"{label}: the root_hash column differs from the note's root", size=size)
        origin = origin or cp.origin
        if cp.origin != origin:
            report.fail(
                f"{label}: origin {cp.origin} differs from the ledger's origin {origin}",
                size=size,
            )
        heads.append(_SignedHead(cp, label, trusted))
    return heads


def _since_head(
    since: str,
    keyring: Mapping[str, PublicKeyRecord],
    heads: list[_SignedHead],
    report: AuditReport,
) -> _SignedHead | None:
    """The auditor's kept checkpoint, once its signature and origin check out."""
    try:
        size = parse_checkpoint(since)[0].size
    except (TaxgateError, ValueError) as exc:
        report.fail(f"your checkpoint cannot be read: {exc}")
        return None
    label = f"your checkpoint (size {size})"
    report.since_size = size
    cp = _check_note(since, label, keyring, report, size)
    if cp is None:
        return None
    if heads and cp.origin != heads[0].checkpoint.origin:
        report.fail(
            f"{label} is for the log {cp.origin}, not this ledger's {heads[0].checkpoint.origin}",
            size=size,
        )
        return None
    return _SignedHead(cp, label)


def _flat(value: dict) -> bool:
    """Whether `canonical_text` writes RFC 8785 for `value`: flat, safe ints, ASCII names."""
    types = set(map(type, value.values()))
    if not types <= _FLAT_TYPES:
        return False
    if int in types and not all(
        -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER for v in value.values() if type(v) is int
    ):
        return False
    return "".join(value).isascii()


def _canonical(body: str) -> dict | None:
    """The body's object if `body` is exactly its RFC 8785 JSON, else None."""
    try:
        value = _DECODE(body)
    except (ValueError, RecursionError):
        return None
    if type(value) is not dict:
        return None
    if _flat(value):
        again = canonical_text(value)
    else:  # not a body taxgate writes; judged by the reference implementation
        try:
            again = rfc8785.dumps(value).decode("utf-8")
        except (ValueError, TypeError, RecursionError):  # CanonicalizationError is a ValueError
            return None
    return value if again == body else None


class _Tree:
    """The tree rebuilt leaf by leaf; roots at any size reached cost O(log n) (RFC 9162 MTH).

    `stack` holds the roots of the perfect subtrees the leaves so far split into, largest
    first: the compact range of a log of this size.
    """

    def __init__(self, keep_leaves: bool) -> None:
        self.size = 0
        self.stack: list[bytes] = []
        self.leaves: list[bytes] | None = [] if keep_leaves else None

    def append(self, leaf: bytes) -> None:
        if self.leaves is not None:
            self.leaves.append(leaf)
        node, index = leaf, self.size
        while index & 1:
            node = merkle.node_hash(self.stack.pop(), node)
            index >>= 1
        self.stack.append(node)
        self.size += 1

    def extend(self, leaves: list[bytes], wanted: set[int], roots: dict[int, bytes]) -> None:
        """Append many leaves, noting in `roots` the root at each `wanted` size reached.

        A block of 2**k leaves starting at a multiple of 2**k goes in as one perfect subtree,
        hashed by merkle's level loop (half the cost of leaf-by-leaf appends), unless a wanted
        size falls inside it.
        """
        at = 0
        while at < len(leaves):
            block = BLOCK
            while block > 1 and (self.size % block or at + block > len(leaves)):
                block >>= 1
            if block > 1 and not any(self.size < w < self.size + block for w in wanted):
                self._push(merkle.root_from_leaf_hashes(leaves[at : at + block]), block)
                if self.leaves is not None:
                    self.leaves.extend(leaves[at : at + block])
                at += block
            else:
                self.append(leaves[at])
                at += 1
            if self.size in wanted:
                roots[self.size] = self.root()

    def _push(self, node: bytes, width: int) -> None:
        """Add a perfect subtree of `width` leaves; the size is a multiple of `width`."""
        index = self.size // width
        while index & 1:
            node = merkle.node_hash(self.stack.pop(), node)
            index >>= 1
        self.stack.append(node)
        self.size += width

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        head = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            head = merkle.node_hash(left, head)
        return head


EVENTS_IN_ORDER = (
    "SELECT seq, kind, batch_id, event_key, body, leaf_hash FROM log_events ORDER BY seq"
)


def _check_event(row: tuple, report: AuditReport) -> bytes:
    """The leaf hash recomputed from the row's body; failures for whatever does not agree."""
    seq, kind, batch_id, key, body, stored = row
    data = body.encode("utf-8", "surrogatepass")  # a lone surrogate fails the JSON check
    leaf = _sha256(merkle.LEAF_PREFIX + data).digest()
    if leaf.hex() != stored:
        report.fail(f"event seq {seq} (key {key}) body does not hash to its leaf", seq=seq)
    value = _canonical(body)
    if value is None:
        report.fail(f"event seq {seq} (key {key}) body is not canonical JSON (RFC 8785)", seq=seq)
    elif value.get("kind") != kind or value.get("key") != key or value.get("batch_id") != batch_id:
        columns = {"kind": kind, "key": key, "batch_id": batch_id}
        for name in LEAF_FIELDS:
            if value.get(name) != columns[name]:
                report.fail(
                    f"event seq {seq} (key {key}): column {_COLUMN_OF[name]} is "
                    f"{columns[name]!r} but the body says {value.get(name)!r}",
                    seq=seq,
                )
    return leaf


def _gap(expected: int, seq: int, report: AuditReport) -> None:
    if seq < expected:
        report.fail(f"event seq {seq} is not a log position (seqs start at 0)", seq=seq)
        return
    where = f"log jumps from {expected - 1} to {seq}" if expected else f"log starts at {seq}"
    if seq == expected + 1:
        report.fail(f"event seq {expected} missing ({where})", seq=expected)
    else:
        report.fail(f"events seq {expected} to {seq - 1} missing ({where})", seq=expected)


def _check_heads(
    heads: list[_SignedHead], roots: dict[int, bytes], tree: _Tree, report: AuditReport
) -> None:
    """Each stored checkpoint against the rebuilt tree; a mismatch is placed between sizes."""
    last_good = 0
    for head in heads:
        size = head.checkpoint.size
        if size > tree.size:
            report.fail(
                f"{head.label}: the log holds only {tree.size} events (events were deleted)",
                size=size,
            )
        elif roots[size] != head.checkpoint.root:
            where = (
                f" (the change lies in seq {last_good} to {size - 1}: the checkpoint at size "
                f"{last_good} still matches)"
                if last_good
                else ""
            )
            report.fail(f"{head.label}: root differs from the log's{where}", size=size)
        else:
            last_good = size


def _check_since(since: _SignedHead, tree: _Tree, report: AuditReport) -> None:
    """The kept checkpoint must be a prefix of the log now, by an RFC 9162 consistency proof."""
    old = since.checkpoint
    if old.size > tree.size:
        report.fail(
            f"{since.label} is not consistent with the log now: the log holds only "
            f"{tree.size} events (events were deleted)",
            size=old.size,
        )
        return
    assert tree.leaves is not None
    proof = merkle.consistency_proof(old.size, tree.size, tree.leaves)
    if not merkle.verify_consistency(old.size, tree.size, old.root, report.root, proof):
        report.fail(
            f"{since.label} is not consistent with the log now: history was rewritten",
            size=old.size,
        )


def _as_utc(when: datetime) -> datetime:
    """SQLite hands back naive datetimes; the ledger writes UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _check_chain(heads: list[_SignedHead], stored: set[int], report: AuditReport) -> None:
    """A checkpoint a trusted later one names as its predecessor must still be stored."""
    for head in heads:
        previous = head.checkpoint.previous
        if head.trusted and previous is not None and previous not in stored:
            report.fail(
                f"checkpoint at size {previous} is missing: the {head.label} names it as the "
                "one signed before it (checkpoints were deleted)",
                size=previous,
            )


def _check_kept_stored(
    since: _SignedHead, stored: set[int], tree: _Tree, report: AuditReport
) -> None:
    """Every checkpoint taxgate signs is stored: a kept one the ledger lacks was deleted."""
    size = since.checkpoint.size
    if size <= tree.size and size not in stored:
        report.fail(
            f"{since.label} is no longer in the ledger: its checkpoint was deleted", size=size
        )


Unsigned = tuple[int, datetime | None, datetime | None]  # count, oldest and newest recorded_at


def _unsigned(conn: Connection, signed: int) -> Unsigned:
    """How many events lie at or past seq `signed`, and their oldest and newest recorded_at."""
    query = select(
        func.count(), func.min(log_events.c.recorded_at), func.max(log_events.c.recorded_at)
    ).where(log_events.c.seq >= signed)
    count, oldest, newest = conn.execute(query).one()
    return count, oldest, newest


def unsigned_events(engine: Engine) -> tuple[int, int, datetime | None]:
    """(newest checkpoint size, events past it, the oldest one's recorded_at) as stored now."""
    with engine.connect() as conn:
        signed = conn.execute(select(func.max(checkpoints.c.tree_size))).scalar() or 0
        count, oldest, _ = _unsigned(conn, signed)
    return signed, count, None if oldest is None else _as_utc(oldest)


def _check_unsigned(
    unsigned: Unsigned, report: AuditReport, grace: timedelta, now: datetime
) -> None:
    """Events past the newest checkpoint: a warning while young, a failure past the grace."""
    signed = report.signed_size
    count, oldest, newest = unsigned
    report.unsigned_events = count
    if not count or oldest is None or newest is None:
        return
    oldest, newest = _as_utc(oldest), _as_utc(newest)
    report.oldest_unsigned_at = oldest
    what = (
        f"{count} event(s) after the newest checkpoint (size {signed}) are unsigned"
        if report.checkpoints_checked
        else f"the log holds {count} event(s) but no checkpoint: nothing in it is signed "
        "(were its checkpoints deleted?)"
    )
    when = f"the oldest recorded {oldest:%Y-%m-%d %H:%M} UTC"
    minutes = int(grace.total_seconds() // SECONDS_PER_MINUTE)
    if not report.checkpoints_checked:
        report.fail(f"{what}; {when}", size=0)
    elif newest > now + grace:
        report.fail(f"{what}, and one claims to be recorded in the future ({newest})", seq=signed)
    elif now - oldest > grace:
        report.fail(
            f"{what}, {when}, more than the policy's {minutes} minute(s) ago: no command "
            "signed them (a crashed run, or events written around taxgate)",
            seq=signed,
        )
    else:
        report.warnings.append(
            f"{what}, {when} (within the policy's {minutes} minute(s)): a command may still "
            "be running; if none is, find out why, then sign with `taxgate ledger checkpoint`"
        )


def _unsigned_grace(grace: timedelta | None) -> timedelta:
    if grace is not None:
        return grace
    return timedelta(minutes=load_policy().ledger.unsigned_grace_minutes)


def verify_log(
    engine: Engine,
    keyring: Mapping[str, PublicKeyRecord],
    since: str | None = None,
    *,
    progress: Progress | None = None,
    unsigned_grace: timedelta | None = None,
    now: datetime | None = None,
    secret: bytes | None = None,
    rows: bool = True,
) -> AuditReport:
    """Rebuild the log from its bodies and check it, every checkpoint, and `since` if given;
    then (unless `rows` is False) every stored table row against its event.

    `since` is the text of a signed checkpoint the auditor kept earlier; `progress` is called
    with (events read, events in the log) as the rebuild goes. `unsigned_grace` (default: the
    shipped policy's) is how old an unsigned event may be at `now` before it is a failure;
    `secret` (the disclosing agency's HMAC key) lets the row audit recompute keyed fields too.
    """
    report = AuditReport()
    with engine.connect() as conn:
        heads = _stored_heads(conn, keyring, report)
        stored = set(conn.execute(select(checkpoints.c.tree_size)).scalars())
        kept = _since_head(since, keyring, heads, report) if since is not None else None
        wanted = {h.checkpoint.size for h in heads}
        total = conn.execute(select(func.count()).select_from(log_events)).scalar() or 0
        tree = _Tree(keep_leaves=kept is not None)
        roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
        expected = 0
        for row in driver_rows(conn, EVENTS_IN_ORDER):
            seq = row[0]
            if seq != expected:
                _gap(expected, seq, report)
            expected = max(seq + 1, 0)
            tree.append(_check_event(row, report))
            if tree.size in wanted:
                roots[tree.size] = tree.root()
            if progress is not None and tree.size % PROGRESS_EVERY == 0:
                progress(tree.size, total)
        report.tree_size = tree.size
        report.signed_size = max(stored, default=0)
        unsigned = _unsigned(conn, report.signed_size)
    report.root = tree.root()
    if progress is not None:
        progress(tree.size, total)
    _check_heads(heads, roots, tree, report)
    _check_chain(heads, stored, report)
    if kept is not None:
        _check_kept_stored(kept, stored, tree, report)
        _check_since(kept, tree, report)
    _check_unsigned(unsigned, report, _unsigned_grace(unsigned_grace), now or datetime.now(UTC))
    if rows:
        report.rows = audit_rows(engine, report, secret)
    return report


def audit_before_signing(conn: Connection, trusted: Mapping[str, PublicKeyRecord]) -> AuditReport:
    """The check a checkpoint runs before it signs, cheap enough to run after every command.

    Every stored checkpoint must parse, agree with its columns and, when a `trusted` key signed
    it, verify; notes by other keys (an earlier signing key) are not failures here, but only a
    trusted one is an anchor. The stored leaf hashes must rebuild the root of every stored
    checkpoint; the leaves of the events after the newest trusted checkpoint (all of them when
    there is none) are rehashed from their bodies. Seqs must run 0..n-1. The report's
    tree_size and root are what the new checkpoint signs. Left to `verify_log`, which re-reads
    every body: edited bodies before the anchor whose leaf hashes were left alone (the new
    checkpoint signs the old leaf hashes, so it cannot make them pass), and the JSON checks
    (canonical form, columns), which cost several times the hash and would make the
    checkpoint after a batch of millions as slow as a full audit of it.
    """
    report = AuditReport()
    heads = _stored_heads(conn, trusted, report, strangers_fail=False)
    size = conn.execute(select(func.max(log_events.c.seq))).scalar()  # after the heads: a
    size = 0 if size is None else size + 1  # head past it means events were deleted
    anchor = max((h.checkpoint.size for h in heads if h.trusted and h.checkpoint.size <= size),
                 default=0)  # fmt: skip
    wanted = {h.checkpoint.size for h in heads}
    tree = _Tree(keep_leaves=False)
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    expected = 0

    def add(seq: int, leaf: bytes) -> None:
        nonlocal expected
        if seq != expected:
            _gap(expected, seq, report)
        expected = max(seq + 1, 0)
        tree.append(leaf)
        if tree.size in wanted:
            roots[tree.size] = tree.root()

    before = f"SELECT seq, leaf_hash FROM log_events WHERE seq < {int(anchor)} ORDER BY seq"
    pending: list[bytes] = []  # leaves in seq order not yet in the tree

    def flush() -> None:
        tree.extend(pending, wanted, roots)
        pending.clear()

    for seq, stored_leaf in driver_rows(conn, before):
        try:
            leaf = bytes.fromhex(stored_leaf)
        except ValueError:
            report.fail(f"event seq {seq}: its leaf hash is not hex", seq=seq)
            leaf = b""
        if seq != expected or len(leaf) != merkle.HASH_SIZE:
            flush()
            add(seq, leaf)
        else:
            pending.append(leaf)
            expected += 1
            if len(pending) >= FETCH_CHUNK:
                flush()
    flush()
    after = (
        "SELECT seq, event_key, body, leaf_hash FROM log_events "
        f"WHERE seq >= {int(anchor)} AND seq < {int(size)} ORDER BY seq"
    )
    for seq, key, body, stored in driver_rows(conn, after):
        leaf = _sha256(merkle.LEAF_PREFIX + body.encode("utf-8", "surrogatepass")).digest()
        if leaf.hex() != stored:
            report.fail(f"event seq {seq} (key {key}) body does not hash to its leaf", seq=seq)
        add(seq, leaf)
    report.tree_size = tree.size
    report.root = tree.root()
    report.signed_size = anchor
    _check_heads(heads, roots, tree, report)
    return report
