"""What the gate must remember between batches: batch ids received and who was asked about.

The gate keeps only keyed hashes of a person (HMAC-SHA-256 with the disclosing agency's
secret), so its memory holds no personal data and reveals nothing if read.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from taxgate.gate.tin import tin_digits
from taxgate.normalize.text import fold_array


@dataclass(frozen=True)
class ReceivedBatch:
    """A batch the gate has seen; `received_on` is the gateway's UTC receipt day."""

    batch_id: str
    manifest_sha256: str
    received_on: date


class GateHistory(Protocol):
    """Dates here are receipt days by the gateway's clock (`asked_on`), never `submitted_on`."""

    def received(self, batch_id: str) -> ReceivedBatch | None: ...

    def asked_since(self, person_keys: set[str], since: date) -> set[str]: ...

    def remember(self, batch: ReceivedBatch, person_keys: set[str], asked_on: date) -> None: ...


@dataclass
class MemoryHistory:
    """History kept in memory: for tests and dry runs."""

    batches: dict[str, ReceivedBatch] = field(default_factory=dict)
    people: dict[str, date] = field(default_factory=dict)

    def received(self, batch_id: str) -> ReceivedBatch | None:
        return self.batches.get(batch_id)

    def asked_since(self, person_keys: set[str], since: date) -> set[str]:
        return {k for k in person_keys if k in self.people and self.people[k] >= since}

    def remember(self, batch: ReceivedBatch, person_keys: set[str], asked_on: date) -> None:
        self.batches[batch.batch_id] = batch
        for key in person_keys:
            self.people[key] = max(self.people.get(key, asked_on), asked_on)


def person_keys(subjects: pa.Table, secret: bytes) -> list[list[str]]:
    """Per row, keyed hashes naming the person: folded name with date of birth, and with TIN.

    Two keys, so that a re-request is caught whichever identifier is sent again; none without
    a name, since a bare TIN may be someone else's (a documented trap).
    """
    name = pc.binary_join_element_wise(
        fold_array(subjects.column("given_name")), fold_array(subjects.column("family_name")), "|"
    )
    named = pc.not_equal(name, "|")
    dob = pc.utf8_trim_whitespace(subjects.column("date_of_birth").combine_chunks())
    tin = tin_digits(subjects.column("tin").combine_chunks())
    keys: list[list[str]] = [[] for _ in range(len(name))]
    digest, sha256 = hmac.digest, hashlib.sha256
    for label, value in (("dob", dob), ("tin", tin)):
        text = pc.binary_join_element_wise(label, name, value, "|")
        keep = pc.fill_null(pc.and_(named, pc.not_equal(value, "")), False)
        rows = np.flatnonzero(np.asarray(keep))
        encoded = pc.cast(text.take(pa.array(rows)), pa.binary()).to_pylist()
        for i, key in zip(rows.tolist(), encoded, strict=True):
            keys[i].append(digest(secret, key, sha256).hex())
    return keys
