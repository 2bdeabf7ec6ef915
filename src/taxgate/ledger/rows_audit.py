"""The audit of the tables against the log: every stored row re-derived from its event.

The log's tree proves the events were not changed; this proves the tables that reports,
accounting, recall and decisions read say what the events say. Each row must be accounted for
by exactly one event (by key) and agree with it field by field (`taxgate.ledger.projection`),
and each event that implies a row must find it, except personal data a logged purge removed.
A row's time must equal its event's `recorded_at`, which the leaf hashes (a receipt time
`received_at` equals the one its batch or refusal event logs), and the
`log_events.recorded_at` column must equal the leaf's.

Without the disclosing agency's secret the keyed fields (HMAC of subject references,
taxpayers, addresses, the requested data) cannot be recomputed and are skipped; every other
field, every count, every time and every row's presence is still checked.

It runs one batch at a time: per batch one query per table and per event kind, rows streamed,
only one kind of the batch's events held in memory (as text), so it is linear in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, select, union

from taxgate.ledger import projection as p
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import day_start, utc
from taxgate.ledger.batch_story import BatchStory, Logged, Reporter
from taxgate.ledger.events import EventKind, time_text
from taxgate.ledger.log import FETCH_CHUNK
from taxgate.ledger.projection import How, RowSpec
from taxgate.ledger.secret import SECRET_FILE

TIME_CACHE = 1_024  # distinct times remembered: one per stage transaction, a handful per batch
SHOWN_DIGEST = 16  # hex digits of a keyed hash or digest shown in a message
_ABSENT = object()
_DECODE = json.JSONDecoder().decode  # json.loads without its per-call argument checks
_BATCH_TABLES = (t.batches, t.subjects, t.subject_data, t.decisions, t.reviews, t.disclosures,
                 t.responses, t.gate_batches, t.gate_people)  # fmt: skip


@dataclass
class RowsSummary:
    """What the row audit covered."""

    rows_checked: int = 0
    batches: int = 0
    keyed_checked: bool = False  # False: no secret, keyed fields were skipped
    purged_rows: int = 0  # subject_data rows absent because a logged purge removed them


@dataclass
class _Purge:
    before: datetime
    at: str


@dataclass
class _Audit:
    conn: Connection
    secret: bytes | None
    report: Reporter
    summary: RowsSummary
    purges: list[_Purge] = field(default_factory=list)

    # ------------------------------------------------------------- reading

    def events(self, kind: EventKind, batch_id: str | None) -> dict[str, Logged]:
        c = t.log_events.c
        where = c.batch_id.is_(None) if batch_id is None else c.batch_id == batch_id
        query = select(c.seq, c.event_key, c.body, c.recorded_at).where(c.kind == kind.value, where)
        result = self.conn.execute(query.execution_options(yield_per=FETCH_CHUNK))
        return {k: Logged(s, k, b, at) for s, k, b, at in result}

    def rows(self, table: Table, batch_id: str | None = None) -> Iterator[Mapping]:
        query = select(table)
        if batch_id is not None:
            query = query.where(table.c.batch_id == batch_id)
        result = self.conn.execute(query.execution_options(yield_per=FETCH_CHUNK)).mappings()
        for row in result:
            self.summary.rows_checked += 1
            yield row

    # ------------------------------------------------------------- checking

    def value(self, logged: Logged) -> dict | None:
        """The event's leaf as a dict, its recorded_at checked against the column."""
        try:
            value = _DECODE(logged.body)
        except (ValueError, RecursionError):
            value = None
        if type(value) is not dict:
            self.report.fail(f"event seq {logged.seq} (key {logged.key}): body is not JSON")
            return None
        stamp = value.get("recorded_at")
        column = _time_text(logged.recorded_at)
        if stamp != column:
            self.report.fail(
                f"log_events seq {logged.seq} (key {logged.key}): recorded_at is {column} but "
                f"its leaf says {stamp!r}",
                seq=logged.seq,
            )
        return value

    def compare(self, spec: RowSpec, row: Mapping, logged: Logged) -> dict | None:
        """Every field of `row` against the event's body; each disagreement is a failure."""
        value = self.value(logged)
        if value is None:
            return None
        secret = self.secret
        for f in spec.fields:
            how = f.how
            stored = row[f.column]
            if how is How.PLAIN:
                expected = stored
            elif how is How.KEYED and secret is None:
                continue
            else:
                expected = p.logged_value(how, stored, secret)
            got = value.get(f.name, _ABSENT)
            if type(expected) is not type(got) or expected != got:
                self.report.fail(
                    f"{spec.name} {_ident(row)}: {f.column} {_shown(how, stored, expected)} but "
                    f"the log says {_shown_logged(how, got)} {_at(logged)}",
                    seq=logged.seq,
                )
        if spec.time is not None:
            stored_at = _time_text(row[spec.time])
            if stored_at != value.get("recorded_at"):
                self.report.fail(
                    f"{spec.name} {_ident(row)}: {spec.time} stored {stored_at} but the log says "
                    f"{value.get('recorded_at')!r} {_at(logged)}",
                    seq=logged.seq,
                )
        return value

    def match(
        self,
        spec: RowSpec,
        rows: Iterable[Mapping],
        events: Mapping[str, Logged],
        *,
        missing_ok: bool = False,
    ) -> set[str]:
        """Rows of `spec.table` against `events` of its kind: keys of the events matched."""
        seen: set[str] = set()
        for row in rows:
            key = spec.key(row)
            logged = events.get(key)
            if logged is None:
                self.report.fail(
                    f"{spec.name} {_ident(row)}: no {spec.kind.value} event {key!r} in the log "
                    "accounts for this row (inserted, or moved from another key)"
                )
            elif key in seen:
                self.report.fail(
                    f"{spec.name} {_ident(row)}: a second row for event {key} "
                    f"(seq {logged.seq}): one event, one row",
                    seq=logged.seq,
                )
            else:
                seen.add(key)
                self.compare(spec, row, logged)
        if not missing_ok:
            self.missing(spec, events, seen)
        return seen

    def missing(self, spec: RowSpec, events: Mapping[str, Logged], seen: set[str]) -> None:
        for key in sorted(events.keys() - seen, key=lambda k: events[k].seq):
            logged = events[key]
            self.value(logged)
            self.report.fail(
                f"{spec.name}: the row of event {key} (seq {logged.seq}) is missing (deleted)",
                seq=logged.seq,
            )

    # ------------------------------------------------------------- per batch

    def batch(self, batch_id: str) -> None:
        self.summary.batches += 1
        received = self.events(EventKind.BATCH_RECEIVED, batch_id)
        batch_rows = list(self.rows(t.batches, batch_id))
        self.match(p.BATCHES, batch_rows, received)
        stamp = next((_stamp(e) for e in received.values()), None)
        receipt = next((_stamp(e, "received_at") for e in received.values()), None)
        chain = BatchStory(batch_id, self.report)
        verdicts = self.events(EventKind.GATE_VERDICT, batch_id)
        self.match(p.SUBJECTS, self.rows(t.subjects, batch_id), verdicts)
        self.subject_data(batch_id, verdicts, stamp, receipt)
        chain.verdicts(verdicts)
        del verdicts
        steps = ((p.DECISIONS, chain.decisions), (p.REVIEWS, chain.reviews),
                 (p.DISCLOSURES, chain.disclosures))  # fmt: skip
        for spec, follow in steps:
            events = self.events(spec.kind, batch_id)
            self.match(spec, self.rows(spec.table, batch_id), events)
            follow(events)
            del events
        responses = self.events(EventKind.RESPONSE_RELEASED, batch_id)
        self.match(p.RESPONSES, self.rows(t.responses, batch_id), responses)
        chain.response(responses, next(iter(received.values()), None))
        for row in batch_rows:
            self.status(row, next(iter(responses.values()), None))
        self.gate_memory(batch_id)

    def status(self, row: Mapping, response: Logged | None) -> None:
        """A batch is `released`, with the response's SHA-256, exactly when the log says so."""
        where = f"batches batch {row['batch_id']}"
        logged = self.value(response) if response is not None else None
        if logged is None:
            if row["status"] == "released" or row["response_manifest_sha256"] is not None:
                self.report.fail(
                    f"{where}: status {row['status']!r}, response_manifest_sha256 "
                    f"{row['response_manifest_sha256']!r}, but the log holds no released response"
                )
            return
        wanted = logged.get("manifest_sha256")
        if row["status"] != "released" or row["response_manifest_sha256"] != wanted:
            self.report.fail(
                f"{where}: status {row['status']!r}, response_manifest_sha256 "
                f"{row['response_manifest_sha256']!r}, but the log says released with "
                f"{wanted!r} (event {response.key}, seq {response.seq})",  # type: ignore[union-attr]
                seq=response.seq,  # type: ignore[union-attr]
            )

    def subject_data(
        self,
        batch_id: str,
        verdicts: Mapping[str, Logged],
        recorded: str | None,
        received: str | None,
    ) -> None:
        """Requested data: all rows present and agreeing, or all purged by a logged purge.

        `recorded` is the batch event's recorded_at, `received` the receipt time its body
        logs: each row's received_at must equal it, and a purge covers the batch when it came
        after the batch was recorded and its `before` day starts after the receipt time.
        """
        rows = self.received_rows(batch_id, received)
        seen = self.match(p.SUBJECT_DATA, rows, verdicts, missing_ok=True)
        gone = len(verdicts) - len(seen)
        if not gone:
            return
        if seen:
            self.missing(p.SUBJECT_DATA, verdicts, seen)  # a purge takes a whole batch
            return
        covered = (
            recorded is not None
            and received is not None
            and any(_time_text(u.before) > received and u.at >= recorded for u in self.purges)
        )
        if covered:
            self.summary.purged_rows += gone
            return
        self.report.fail(
            f"subject_data batch {batch_id}: all {gone} rows are gone but no logged purge "
            f"covers a batch received at {received} (deleted)"
        )

    def received_rows(self, batch_id: str, received: str | None) -> Iterator[Mapping]:
        """The batch's subject_data rows, each one's received_at checked against the receipt
        time the batch event logs (the batch's own, not the stage's recorded_at)."""
        column = p.SUBJECT_DATA.receipt
        for row in self.rows(t.subject_data, batch_id):
            if column is not None and received is not None:  # no batch event: failed already
                stored = _time_text(row[column])
                if stored != received:
                    self.report.fail(
                        f"subject_data {_ident(row)}: {column} stored {stored} but the log says "
                        f"{received!r} (the batch's batch_received event)"
                    )
            yield row

    def gate_memory(self, batch_id: str) -> None:
        """gate_batches against every GATE_MEMORY event of the batch; gate_people by digest."""
        events = self.events(EventKind.GATE_MEMORY, batch_id)
        rows = list(self.rows(t.gate_batches, batch_id))
        where = f"gate_batches batch {batch_id}"
        if rows and not events:
            self.report.fail(f"{where}: no gate_memory event in the log accounts for it")
        if events and not rows:
            first = min(events.values(), key=lambda e: e.seq)
            self.report.fail(
                f"{where}: the row of event {first.key} (seq {first.seq}) is missing (deleted)",
                seq=first.seq,
            )
        people, digests = 0, []
        for logged in sorted(events.values(), key=lambda e: e.seq):
            value = self.compare(p.GATE_BATCHES, rows[0], logged) if rows else self.value(logged)
            if value is not None:
                people += value.get("people", 0)
                digests.append(value.get("people_digest", "0"))
        count, items = 0, []
        for row in self.rows(t.gate_people, batch_id):
            count += 1
            items.append(p.person_item(row["person_key"], row["asked_on"]))
        stored = p.set_digest(items)
        logged_digest = p.add_digests(digests)
        if count != people or stored != logged_digest:
            self.report.fail(
                f"gate_people batch {batch_id}: {count} rows (digest {stored[:SHOWN_DIGEST]}) "
                f"but the log accounts for {people} (digest {logged_digest[:SHOWN_DIGEST]}): "
                "people were added, removed or changed"
            )

    # ------------------------------------------------------------- the rest

    def ledger_tables(self) -> None:
        """Tables not keyed by batch: purges first (subject_data needs them), then the rest."""
        purges = self.events(EventKind.PURGE, None)
        self.match(p.PURGES, self.rows(t.purges), purges)
        for logged in purges.values():
            value = self.value(logged)
            if value is not None and isinstance(value.get("before_date"), str):
                before = day_start(date.fromisoformat(value["before_date"]))
                self.purges.append(_Purge(before, value.get("recorded_at") or ""))
        self.match(
            p.REFUSED, self.rows(t.refused_batches), self.events(EventKind.BATCH_REFUSED, None)
        )
        recalls = self.events(EventKind.RECALL_ISSUED, None)
        self.match(p.RECALLS, self.rows(t.recalls), recalls)
        self.recall_items(recalls)
        acks = self.events(EventKind.ACKNOWLEDGEMENT, None)
        self.match(p.ACKNOWLEDGEMENTS, self.rows(t.acknowledgements), acks)

    def recall_items(self, recalls: Mapping[str, Logged]) -> None:
        """Each notice's items: their count and digest as its recall event logged them."""
        found: dict[str, list[str]] = {}
        for row in self.rows(t.recall_items):
            item = p.recall_item(row["batch_id"], row["row"], row["reasons"])
            found.setdefault(row["notice_id"], []).append(item)
        logged: dict[str, tuple[int, str, Logged]] = {}
        for event in recalls.values():
            value = self.value(event)
            if value is not None:
                logged[value.get("notice_id")] = (
                    value.get("disclosures_recalled"), value.get("items_digest"), event
                )  # fmt: skip
        for notice_id in sorted(found.keys() | logged.keys(), key=str):
            items = found.get(notice_id, [])
            count, digest, event = logged.get(notice_id, (0, p.set_digest([]), None))
            stored = p.set_digest(items)
            if len(items) != count or stored != digest:
                at = "" if event is None else f" (event {event.key}, seq {event.seq})"
                self.report.fail(
                    f"recall_items notice {notice_id}: {len(items)} rows (digest "
                    f"{stored[:SHOWN_DIGEST]}) but the log says {count} (digest "
                    f"{str(digest)[:SHOWN_DIGEST]}){at}: items were added, removed or changed",
                    seq=None if event is None else event.seq,
                )

    def purged_total(self) -> None:
        logged = 0
        for event in self.events(EventKind.PURGE, None).values():
            value = json.loads(event.body)
            logged += value.get("subjects_purged", 0) if isinstance(value, dict) else 0
        if logged != self.summary.purged_rows:
            self.report.fail(
                f"subject_data: logged purges removed {logged} rows, but "
                f"{self.summary.purged_rows} rows of purged batches are gone"
            )


@lru_cache(maxsize=TIME_CACHE)
def _time_text(at: datetime) -> str:
    """A stored time as a leaf's recorded_at; cached: a stage's rows all share one time."""
    return time_text(utc(at))


def _at(logged: Logged) -> str:
    return f"(event {logged.key}, seq {logged.seq})"


def _stamp(logged: Logged, name: str = "recorded_at") -> str | None:
    """One text field of the event's leaf (its recorded_at by default), None if absent."""
    try:
        value = json.loads(logged.body)
    except (ValueError, RecursionError):
        return None
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _ident(row: Mapping) -> str:
    """Names a row by its key, never by personal data."""
    keys = row.keys()
    if "batch_id" in keys and "row" in keys:
        return f"batch {row['batch_id']} row {row['row']}"
    for name in ("batch_id", "notice_id", "manifest_sha256"):
        if name in keys:
            return f"{name.removesuffix('_id')} {row[name]}"
    return f"id {row['id']}" if "id" in keys else "row"


def _shown(how: How, stored: object, expected: object) -> str:
    """The stored value as a message may show it: keyed fields only as their hash."""
    if how is How.KEYED:
        return f"has keyed hash {str(expected)[:SHOWN_DIGEST]}"
    if how is How.SHA256:
        return f"has SHA-256 {str(expected)[:SHOWN_DIGEST]}"
    if how is How.TIME:
        return f"stored {expected}"  # as a recorded_at disagreement reads
    if how in (How.FIXED, How.DATE):
        return f"stored {expected!r}"
    return f"stored {stored!r}"


def _shown_logged(how: How, got: object) -> str:
    if got is _ABSENT:
        return "nothing (the event lacks it)"
    if how in (How.KEYED, How.SHA256) and isinstance(got, str):
        return got[:SHOWN_DIGEST]
    return repr(got)


def _batch_ids(conn: Connection) -> list[str]:
    """Every batch id any batch table or event names: forged rows of unknown batches too."""
    queries = [select(table.c.batch_id) for table in _BATCH_TABLES]
    queries.append(select(t.log_events.c.batch_id).where(t.log_events.c.batch_id.is_not(None)))
    return sorted(conn.execute(union(*queries)).scalars())


def read_secret(home: Path) -> bytes | None:
    """The agency secret if `home` holds one this user may read; never creates it (an
    auditor's home has none). Without it the keyed fields are skipped, and `rows_line` says so.
    """
    path = home / SECRET_FILE
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return None


def rows_line(summary: RowsSummary | None) -> str:
    """One line for the verify summary: what the row audit covered, and what it could not."""
    if summary is None:
        return "not checked"
    keyed = (
        "keyed fields checked with the agency secret"
        if summary.keyed_checked
        else "keyed fields NOT checked (no agency secret in this home)"
    )
    return f"{summary.rows_checked} rows in {summary.batches} batches against the log; {keyed}"


def audit_rows(
    engine: Engine,
    report: Reporter,
    secret: bytes | None,
    batch_ids: Iterable[str] | None = None,
) -> RowsSummary:
    """Check every stored row against the log; failures go to `report` (see module doc).

    `batch_ids` limits the per-batch tables to those batches (a report's own); the tables not
    keyed by batch (refusals, recalls, acknowledgements, purges) are always checked whole.
    """
    summary = RowsSummary(keyed_checked=secret is not None)
    with engine.connect() as conn:
        audit = _Audit(conn, secret, report, summary)
        audit.ledger_tables()
        for batch_id in _batch_ids(conn) if batch_ids is None else sorted(set(batch_ids)):
            audit.batch(batch_id)
        if batch_ids is None:
            audit.purged_total()
    return summary


class _Collect:
    """A Reporter that keeps the messages."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def fail(self, message: str, *, seq: int | None = None, size: int | None = None) -> None:
        self.messages.append(message)


def disagreements(
    engine: Engine, secret: bytes | None, batch_ids: Iterable[str] | None = None
) -> list[str]:
    """Every disagreement between the tables and the log, as messages (for reports)."""
    found = _Collect()
    audit_rows(engine, found, secret, batch_ids)
    return found.messages
