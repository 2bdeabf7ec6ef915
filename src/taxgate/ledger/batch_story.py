"""One batch's log checked against itself: each stage of the batch follows from the one before.

`taxgate.ledger.rows_audit` checks each table row against its event; this checks the events of
a batch against each other, for what a row check alone cannot see: someone able to append to
the log (a DBA running taxgate's own code) adds an event and a row that agree. Such an event
still has to fit the batch's story, which the release's counts close.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

_DECODE = json.JSONDecoder().decode  # json.loads without its per-call argument checks


class Reporter(Protocol):
    """Where failures go: `audit.AuditReport`, or a list for the reports."""

    def fail(self, message: str, *, seq: int | None = None, size: int | None = None) -> None: ...


@dataclass(frozen=True)
class Logged:
    """One event as stored: its seq, key, leaf text and `recorded_at` column."""

    seq: int
    key: str
    body: str
    recorded_at: datetime


def leaf_of(logged: Logged) -> dict:
    """The leaf as a dict; {} when unreadable (the row audit reports that)."""
    try:
        value = _DECODE(logged.body)
    except (ValueError, RecursionError):
        return {}
    return value if type(value) is dict else {}


class BatchStory:
    """The batch's log against itself: each stage follows from the one before.

    Someone able to append to the log (a DBA running taxgate's own code) could add an event
    and its row that agree; such an event still has to fit the batch's story. A decision only
    for a subject the gate let proceed; a review only of a REVIEW decision; a disclosure only
    of a CONFIRMED decision or a REVIEW an officer confirmed, logged before the release; and
    the release counts exactly the batch's subjects and disclosures.
    """

    def __init__(self, batch_id: str, report: Reporter) -> None:
        self.batch_id = batch_id
        self.report = report
        self.proceeding: set[object] = set()
        self.confirmed: set[object] = set()
        self.review: set[object] = set()
        self.resolved: set[object] = set()
        self.disclosed = 0
        self.last_disclosure: Logged | None = None

    def fail(self, logged: Logged, what: str) -> None:
        self.report.fail(f"log: {logged.key} (seq {logged.seq}) {what}", seq=logged.seq)

    def verdicts(self, events: Mapping[str, Logged]) -> None:
        for logged in events.values():
            body = leaf_of(logged)
            if body.get("proceed") is True:
                self.proceeding.add(body.get("row"))

    def decisions(self, events: Mapping[str, Logged]) -> None:
        for logged in events.values():
            body = leaf_of(logged)
            row, outcome = body.get("row"), body.get("outcome")
            if row not in self.proceeding:
                self.fail(logged, "decides a subject the gate did not let proceed")
            if outcome == "CONFIRMED":
                self.confirmed.add(row)
            elif outcome == "REVIEW":
                self.review.add(row)

    def reviews(self, events: Mapping[str, Logged]) -> None:
        for logged in events.values():
            body = leaf_of(logged)
            row = body.get("row")
            if row not in self.review:
                self.fail(logged, "resolves a decision that is not REVIEW")
            if body.get("resolution") == "CONFIRMED":
                self.resolved.add(row)

    def disclosures(self, events: Mapping[str, Logged]) -> None:
        for logged in events.values():
            row = leaf_of(logged).get("row")
            if row not in self.confirmed and not (row in self.review and row in self.resolved):
                self.fail(logged, "discloses a subject neither CONFIRMED nor confirmed on review")
            self.disclosed += 1
            if self.last_disclosure is None or logged.seq > self.last_disclosure.seq:
                self.last_disclosure = logged

    def response(self, events: Mapping[str, Logged], received: Logged | None) -> None:
        for logged in events.values():
            body = leaf_of(logged)
            if body.get("disclosures") != self.disclosed:
                self.fail(
                    logged,
                    f"counts {body.get('disclosures')!r} disclosures but the log holds "
                    f"{self.disclosed} for batch {self.batch_id}",
                )
            count = None if received is None else leaf_of(received).get("subject_count")
            if body.get("responses") != count:
                self.fail(
                    logged,
                    f"counts {body.get('responses')!r} responses but the batch has {count!r} "
                    "subjects",
                )
            last = self.last_disclosure
            if last is not None and last.seq > logged.seq:
                self.fail(last, f"is logged after the response was released (seq {logged.seq})")
        if not events and self.disclosed and self.last_disclosure is not None:
            self.fail(
                self.last_disclosure, "discloses in a batch whose response was never released"
            )
