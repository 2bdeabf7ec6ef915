"""What the gate must remember between batches: batch ids received and who was asked about.

The gate only sees keyed hashes of a person (HMAC-SHA-256 with the disclosing agency's secret),
so its memory holds no personal data and reveals nothing if read.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from taxgate.gate.tin import tin_digits
from taxgate.normalize.text import fold


@dataclass(frozen=True)
class ReceivedBatch:
    batch_id: str
    manifest_sha256: str
    received_on: date


class GateHistory(Protocol):
    def received(self, batch_id: str) -> ReceivedBatch | None: ...

    def asked_since(self, person_keys: set[str], since: date) -> set[str]: ...

    def remember(self, batch: ReceivedBatch, person_keys: set[str], submitted_on: date) -> None: ...


@dataclass
class MemoryHistory:
    """History kept in memory: for tests and one-off dry runs."""

    batches: dict[str, ReceivedBatch] = field(default_factory=dict)
    people: dict[str, date] = field(default_factory=dict)

    def received(self, batch_id: str) -> ReceivedBatch | None:
        return self.batches.get(batch_id)

    def asked_since(self, person_keys: set[str], since: date) -> set[str]:
        return {k for k in person_keys if k in self.people and self.people[k] >= since}

    def remember(self, batch: ReceivedBatch, person_keys: set[str], submitted_on: date) -> None:
        self.batches[batch.batch_id] = batch
        for key in person_keys:
            self.people[key] = max(self.people.get(key, submitted_on), submitted_on)


def person_keys(row: dict[str, str | None], secret: bytes) -> list[bytes]:
    """Keyed hashes naming one person: folded name with the date of birth, and with the TIN.

    Two keys, so that a re-request is caught whichever identifier the requester sends again;
    none without a name, since a bare TIN may be someone else's (a documented trap).
    """
    name = f"{fold(row.get('given_name'))}|{fold(row.get('family_name'))}"
    if name == "|":
        return []
    keys = []
    if row.get("date_of_birth"):
        keys.append(f"dob|{name}|{row['date_of_birth'].strip()}")
    if row.get("tin"):
        keys.append(f"tin|{name}|{tin_digits(row['tin'])}")
    return [hmac.digest(secret, k.encode(), hashlib.sha256) for k in keys]
