"""Proof bundles an auditor checks offline: no database, no taxgate home, one pinned key.

An inclusion bundle carries one event's body, its leaf hash, the RFC 9162 inclusion proof and
the signed checkpoint it is proven against; a consistency bundle carries two kept checkpoints
and the proof that the older tree is a prefix of the newer. `check_bundle` trusts nothing in
the file: every field is either re-derived (leaf hash, sizes, roots) or covered by the
checkpoint's signature, which must verify with the disclosing agency's public key record that
the auditor holds. Any changed byte of the event, the proof or a checkpoint fails it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, select

from taxgate.errors import FormatError, SignatureError, TaxgateError
from taxgate.formats.keys import PublicKeyRecord
from taxgate.ledger import merkle
from taxgate.ledger.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from taxgate.ledger.log import prove_consistency, prove_inclusion
from taxgate.ledger.schema import checkpoints

INCLUSION = "taxgate-inclusion-bundle/1"
CONSISTENCY = "taxgate-consistency-bundle/1"
Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]  # lowercase only: one spelling per hash
_FIX_BUNDLE = "Ask the disclosing agency for the bundle as `taxgate ledger export-*` wrote it."
_FIX_SIGN = "Run `taxgate ledger checkpoint --key KEY` first, then export again."


class _Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class InclusionBundle(_Bundle):
    format: Literal["taxgate-inclusion-bundle/1"]
    seq: int = Field(ge=0)
    event_key: str
    body: str
    leaf_hash: Hex
    tree_size: int = Field(ge=1)
    proof: list[Hex]
    checkpoint: str


class ConsistencyBundle(_Bundle):
    format: Literal["taxgate-consistency-bundle/1"]
    old_checkpoint: str
    new_checkpoint: str
    proof: list[Hex]


@dataclass(frozen=True)
class Checked:
    """What a bundle proved, for the auditor to read."""

    kind: Literal["inclusion", "consistency"]
    checkpoint: Checkpoint  # the (newer) signed tree head
    old_checkpoint: Checkpoint | None = None
    seq: int | None = None
    event_key: str | None = None


def _kept_size(conn: Connection, size: int | None, what: str) -> int:
    """`size` if a checkpoint of it is stored, else the newest stored checkpoint's size."""
    query = select(checkpoints.c.tree_size).order_by(checkpoints.c.tree_size)
    sizes = list(conn.execute(query).scalars())
    if not sizes:
        raise TaxgateError("the ledger holds no checkpoint to prove against", _FIX_SIGN)
    if size is None:
        return sizes[-1]
    if size not in sizes:
        raise TaxgateError(
            f"the ledger holds no checkpoint of size {size} for the {what}",
            f"Give the size of a kept checkpoint (the newest is {sizes[-1]}).",
            field="size",
        )
    return size


def export_inclusion(conn: Connection, event: int | str, size: int | None = None) -> dict:
    """An inclusion bundle for one event against a stored checkpoint (default: the newest)."""
    size = _kept_size(conn, size, "proof")
    try:
        proof = prove_inclusion(conn, event, size)
    except TaxgateError as exc:
        if exc.field != "size":
            raise
        raise TaxgateError(
            f"event {event} is not signed yet: the checkpoint of size {size} is older", _FIX_SIGN
        ) from exc
    return {
        "format": INCLUSION,
        "seq": proof["seq"],
        "event_key": proof["event_key"],
        "body": proof["body"],
        "leaf_hash": proof["leaf_hash"],
        "tree_size": proof["tree_size"],
        "proof": proof["proof"],
        "checkpoint": proof["checkpoint"],
    }


def export_consistency(conn: Connection, old_size: int, new_size: int | None = None) -> dict:
    """A consistency bundle between two stored checkpoints (new default: the newest)."""
    old_size = _kept_size(conn, old_size, "old tree")
    new_size = _kept_size(conn, new_size, "new tree")
    proof = prove_consistency(conn, old_size, new_size)
    return {
        "format": CONSISTENCY,
        "old_checkpoint": proof["old_checkpoint"],
        "new_checkpoint": proof["new_checkpoint"],
        "proof": proof["proof"],
    }


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise FormatError("a field appears twice in the bundle", _FIX_BUNDLE)
    return dict(pairs)


def _parse(text: str) -> InclusionBundle | ConsistencyBundle:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"the bundle is not JSON ({exc})", _FIX_BUNDLE) from exc
    kind = data.get("format") if isinstance(data, dict) else None
    model = {INCLUSION: InclusionBundle, CONSISTENCY: ConsistencyBundle}.get(kind)  # type: ignore[arg-type]
    if model is None:
        raise FormatError(
            f"unknown bundle format {kind!r} (expected {INCLUSION} or {CONSISTENCY})", _FIX_BUNDLE
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or None
        raise FormatError(
            f"not a valid bundle ({first.get('msg', exc)})", _FIX_BUNDLE, field=where
        ) from exc


def _signed(note: str, record: PublicKeyRecord, what: str) -> Checkpoint:
    """The checkpoint once the pinned key's signature on it verifies."""
    try:
        origin = parse_checkpoint(note)[0].origin
        return verify_checkpoint(note, record.ed25519_public_key(), origin)
    except SignatureError as exc:
        raise SignatureError(
            f"the {what} is not signed by the pinned key {record.key_id}: {exc.what}",
            "Do not trust the bundle; check you pinned the disclosing agency's key.",
        ) from exc
    except (TaxgateError, ValueError) as exc:
        raise FormatError(f"the {what} cannot be read: {exc}", _FIX_BUNDLE) from exc


def _fails(what: str) -> TaxgateError:
    return TaxgateError(f"the bundle does not verify: {what}", "Do not trust it.")


def _check_inclusion(bundle: InclusionBundle, record: PublicKeyRecord) -> Checked:
    cp = _signed(bundle.checkpoint, record, "checkpoint")
    if bundle.tree_size != cp.size:
        raise _fails(f"tree_size {bundle.tree_size} is not the checkpoint's size {cp.size}")
    leaf = merkle.leaf_hash(bundle.body.encode("utf-8"))
    if leaf.hex() != bundle.leaf_hash:
        raise _fails("the event body does not hash to leaf_hash")
    try:
        value = json.loads(bundle.body)
        canonical = rfc8785.dumps(value).decode("utf-8") == bundle.body
    except (ValueError, TypeError, RecursionError):
        value, canonical = None, False
    if not canonical or not isinstance(value, dict) or value.get("key") != bundle.event_key:
        raise _fails("the event body is not the canonical JSON of the event it names")
    proof = [bytes.fromhex(h) for h in bundle.proof]
    if not merkle.verify_inclusion(bundle.seq, cp.size, leaf, proof, cp.root):
        raise _fails(f"the proof does not put event seq {bundle.seq} in the signed tree")
    return Checked("inclusion", cp, seq=bundle.seq, event_key=bundle.event_key)


def _check_consistency(bundle: ConsistencyBundle, record: PublicKeyRecord) -> Checked:
    old = _signed(bundle.old_checkpoint, record, "old checkpoint")
    new = _signed(bundle.new_checkpoint, record, "new checkpoint")
    if old.origin != new.origin:
        raise _fails(f"the checkpoints are of two logs, {old.origin} and {new.origin}")
    proof = [bytes.fromhex(h) for h in bundle.proof]
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
        raise _fails(
            f"the tree of size {old.size} is not proven a prefix of the tree of size {new.size}"
        )
    return Checked("consistency", new, old_checkpoint=old)


def check_bundle(text: str, record: PublicKeyRecord) -> Checked:
    """Verify a bundle against the pinned key alone; raises saying what does not verify."""
    bundle = _parse(text)
    if isinstance(bundle, InclusionBundle):
        return _check_inclusion(bundle, record)
    return _check_consistency(bundle, record)
