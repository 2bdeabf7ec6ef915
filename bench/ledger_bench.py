"""Benchmark the transparency log on SQLite: log a whole batch's events, sign, then audit it all.

    python bench/ledger_bench.py --subjects 1280000 --decided 1000000 --disclosed 200000

Two child processes, so each phase's peak memory is its own: the first appends the events of
one batch stage by stage as the pipeline does (receipt and verdicts in one transaction,
decisions in chunks, disclosures and the release in one), signing a checkpoint after the gate
(the one an auditor keeps) and one at the end; the second runs `verify_log` over the whole
log with that kept checkpoint. Building the Event objects is the caller's work and timed apart.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Connection, Table, insert, update

from taxgate.formats.keys import load_keyring, new_key, write_key_pair
from taxgate.ledger import projection as p
from taxgate.ledger import schema as t
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.ledger.log import make_checkpoint
from taxgate.ledger.rows_audit import audit_rows

BATCH = "B-2025-08-01-0001"
SECRET = b"bench keyed-hash secret"
KEPT_NOTE = "kept-checkpoint.txt"
LEDGER_FILE = "ledger.sqlite3"
KEYS_DIR = "keys"
KIB_PER_MIB = 1024  # ru_maxrss is in KiB on Linux
BYTES_PER_MIB = 1024 * 1024
INSERT_CHUNK = 5_000  # rows per executemany, as the recorder inserts them
# A decision's explanation as long as the pipeline's (candidates and checks), per row.
EXPLANATION = (
    '{{"taxpayers": 2, "candidates": [{{"tin_key": "{row}", "weight": 20.5}}], "checks": '
    '{{"address_corroborated": true, "relatives_distinguished": true, '
    '"name_corroborated": true, "tin_conflict": false, "weight_gap": 12.0}}}}'
)
RATE_SCALE = 1_000_003  # spreads outcomes and reasons over rows without a random generator
POLICY_SHA256 = hashlib.sha256(b"policy 2025.2").hexdigest()
MODEL_SHA256 = hashlib.sha256(b"model.json").hexdigest()
REJECT_CODES = ("DUPLICATE_IN_BATCH", "MISSING_REQUIRED_FIELD", "RECENTLY_REQUESTED")
REASONS = (None, None, None, "NAME_PARTIAL", "DOB_TRANSPOSED", "ADDRESS_STALE")


# name, rows by table, the events accounting for them, when they are recorded
Stage = tuple[str, list[tuple[Table, list[dict]]], list[Event], datetime]


def keyed(text: str) -> str:
    return hmac.digest(SECRET, text.encode("utf-8"), "sha256").hex()


def _event(spec: p.RowSpec, row: dict) -> Event:
    """The event the recorder logs for `row` (taxgate.ledger.projection)."""
    return Event(spec.kind, spec.key(row), BATCH, p.body_of(spec, row, SECRET))


def gate_stage(subjects: int, decided: int, at: datetime) -> Stage:
    """The receipt, one subject (verdict) and its requested data per row; `decided` proceed."""
    batch = {
        "batch_id": BATCH, "manifest_sha256": hashlib.sha256(BATCH.encode()).hexdigest(),
        "requesting_agency": "Requesting Agency", "signer_key_id": "ed25519:0123456789abcdef",
        "statute": "26 U.S.C. 6103(i)(2)", "batch_date": date(2025, 8, 1), "received_at": at,
        "subject_count": subjects, "status": "gated",
    }  # fmt: skip
    subject_rows, data_rows, events = [], [], [_event(p.BATCHES, batch)]
    for row in range(subjects):
        proceed = row < decided
        fields = json.dumps({"subject_id": f"S-{row}", "last_name": f"Name {row}"})
        subject = {
            "batch_id": BATCH, "row": row, "subject_id": f"S-{row}",
            "subject_key": keyed(fields), "proceed": proceed,
            "reason_codes": None if proceed else REJECT_CODES[row % len(REJECT_CODES)],
        }  # fmt: skip
        subject_rows.append(subject)
        data_rows.append({"batch_id": BATCH, "row": row, "fields": fields, "received_at": at})
        events.append(_event(p.SUBJECTS, subject))
    tables = [(t.batches, [batch]), (t.subjects, subject_rows), (t.subject_data, data_rows)]
    return "gate", tables, events, at


def _outcome(row: int) -> str:
    spread = row * RATE_SCALE % 100
    return "CONFIRMED" if spread < 80 else ("REVIEW" if spread < 83 else "NOT_CONFIRMED")


def decision_stage(rows: range, at: datetime) -> Stage:
    decisions = []
    for row in rows:
        spread = row * RATE_SCALE % 100
        outcome = _outcome(row)
        decisions.append({
            "batch_id": BATCH, "row": row, "outcome": outcome,
            "tin": f"9{row:08d}" if outcome != "NOT_CONFIRMED" else None,
            "address_id": f"A-{row}", "match_probability": 1 - spread / 10_000,
            "match_weight": 20 - spread / 10, "runner_up_tin": None, "runner_up_weight": None,
            "reasons": REASONS[row % len(REASONS)], "policy_version": "2025.2",
            "policy_sha256": POLICY_SHA256, "model_sha256": MODEL_SHA256,
            "explanation": EXPLANATION.format(row=row), "decided_at": at,
        })  # fmt: skip
    return "decide", [(t.decisions, decisions)], [_event(p.DECISIONS, d) for d in decisions], at


def _confirmed_rows(decided: int, disclosed: int) -> Iterator[int]:
    """The first `disclosed` decided rows that are CONFIRMED: only those may be disclosed (the
    row audit checks the batch's story)."""
    return islice((row for row in range(decided) if _outcome(row) == "CONFIRMED"), disclosed)


def release_stage(subjects: int, decided: int, disclosed: int, at: datetime) -> Stage:
    disclosures = [
        {
            "batch_id": BATCH,
            "row": row,
            "subject_id": f"S-{row}",
            "recipient_agency": "Requesting Agency",
            "statute": "26 U.S.C. 6103(i)(2)",
            "fields_disclosed": "street;unit;city;state;zip",
            "address_tax_year": 2024,
            "address_key": keyed(f"address {row}"),
            "policy_version": "2025.2",
            "policy_sha256": POLICY_SHA256,
            "model_sha256": MODEL_SHA256,
            "disclosed_at": at,
        }
        for row in _confirmed_rows(decided, disclosed)
    ]
    disclosed = len(disclosures)
    response = {"batch_id": BATCH, "manifest_sha256": POLICY_SHA256, "path": "response.json",
                "released_at": at}  # fmt: skip
    events = [_event(p.DISCLOSURES, d) for d in disclosures]
    events.append(
        Event(
            EventKind.RESPONSE_RELEASED, p.RESPONSES.key(response), BATCH,
            p.body_of(p.RESPONSES, response, SECRET)
            | {"responses": subjects, "disclosures": disclosed},  # one response per subject
        )
    )  # fmt: skip
    return "release", [(t.disclosures, disclosures), (t.responses, [response])], events, at


def stages(args: argparse.Namespace) -> Iterator[Stage]:
    """One stage per transaction, built only when its turn comes (bounded memory)."""
    yield gate_stage(args.subjects, args.decided, datetime.now(UTC))
    chunk = args.decision_chunk
    for start in range(0, args.decided, chunk):
        rows = range(start, min(start + chunk, args.decided))
        yield decision_stage(rows, datetime.now(UTC))
    yield release_stage(args.subjects, args.decided, args.disclosed, datetime.now(UTC))


def insert_rows(conn: Connection, tables: list[tuple[Table, list[dict]]]) -> None:
    for table, rows in tables:
        for start in range(0, len(rows), INSERT_CHUNK):
            conn.execute(insert(table), rows[start : start + INSERT_CHUNK])


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB)


def append_phase(args: argparse.Namespace) -> dict:
    home: Path = args.home
    engine = open_ledger(f"sqlite:///{home / LEDGER_FILE}")
    private, record = new_key(
        "Disclosing Agency", "Dana Officer", "Disclosure Officer", created_on=date(2025, 8, 1),
        seed=b"bench",
    )  # fmt: skip
    key_path, _ = write_key_pair(private, record, home / KEYS_DIR)
    build = append = kept_checkpoint = 0.0
    events = transactions = 0
    pending = stages(args)
    while True:
        started = time.perf_counter()  # building is timed apart: the pipeline's own work
        step = next(pending, None)
        if step is None:
            break
        stage, tables, batch, at = step
        build += time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as conn:
            insert_rows(conn, tables)
            if stage == "release":  # as recorder.record_release marks the batch
                released = {"status": "released", "response_manifest_sha256": POLICY_SHA256}
                conn.execute(update(t.batches).values(released))
            events += append_events(conn, batch, at)
        append += time.perf_counter() - started
        transactions += 1
        if stage == "gate":  # the checkpoint an auditor keeps, before the rest is logged
            started = time.perf_counter()
            _, note = make_checkpoint(engine, key_path)
            kept_checkpoint = time.perf_counter() - started
            (home / KEPT_NOTE).write_text(note, encoding="utf-8")
        del batch, step, tables
    started = time.perf_counter()
    cp, _ = make_checkpoint(engine, key_path)
    checkpoint = time.perf_counter() - started
    engine.dispose()
    return {
        "events": events,
        "tree_size": cp.size,
        "transactions": transactions,
        "build_events_seconds": round(build, 1),
        "append_seconds": round(append, 1),
        "checkpoint_seconds": round(checkpoint, 1),
        "append_plus_checkpoint_seconds": round(append + checkpoint, 1),
        "kept_checkpoint_seconds": round(kept_checkpoint, 1),
        "ledger_mib": round((home / LEDGER_FILE).stat().st_size / BYTES_PER_MIB),
        "append_peak_rss_mib": peak_rss_mib(),
    }


def verify_phase(args: argparse.Namespace) -> dict:
    home: Path = args.home
    engine = open_ledger(f"sqlite:///{home / LEDGER_FILE}")
    keyring = load_keyring(home / KEYS_DIR)
    kept = (home / KEPT_NOTE).read_text(encoding="utf-8")
    started = time.perf_counter()
    report = verify_log(engine, keyring, kept, rows=False)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = audit_rows(engine, report, SECRET)
    rows_seconds = time.perf_counter() - started
    engine.dispose()
    if not report.ok:
        raise SystemExit(f"the benchmark ledger does not verify: {report.failures[:3]}")
    return {
        "verified_events": report.tree_size,
        "since_size": report.since_size,
        "verify_log_seconds": round(seconds, 1),
        "verified_rows": rows.rows_checked,
        "verify_rows_seconds": round(rows_seconds, 1),
        "verify_seconds": round(seconds + rows_seconds, 1),
        "verify_peak_rss_mib": peak_rss_mib(),
    }


def run_child(phase: str, args: argparse.Namespace, home: Path) -> dict:
    sizes = {"--subjects": args.subjects, "--decided": args.decided,
             "--disclosed": args.disclosed, "--decision-chunk": args.decision_chunk}  # fmt: skip
    command = [sys.executable, __file__, "--phase", phase, "--home", str(home)]
    command += [str(part) for option in sizes.items() for part in option]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result[f"{phase}_process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=1_280_000)
    parser.add_argument("--decided", type=int, default=1_000_000, help="subjects that proceed")
    parser.add_argument("--disclosed", type=int, default=200_000)
    parser.add_argument("--decision-chunk", type=int, default=250_000, help="per transaction")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--phase", choices=("all", "append", "verify"), default="all")
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "append":
        print(json.dumps(append_phase(args)))
        return
    if args.phase == "verify":
        print(json.dumps(verify_phase(args)))
        return
    print("command:", shlex.join(["python", *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="taxgate-ledger-bench-", dir=args.work) as home:
        result = {"subjects": args.subjects, "decided": args.decided, "disclosed": args.disclosed}
        result |= run_child("append", args, Path(home))
        result |= run_child("verify", args, Path(home))
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
