"""The audit sees the tables, not only the log: every direct edit of a stored row is caught.

Each test builds the same ledger (two released batches with a review, a refusal, the gate's
memory, a recall and its acknowledgement, a purge of an old batch, a signed checkpoint the
auditor keeps), then does what a DBA could: drops the append-only triggers and edits, inserts,
deletes or swaps rows with plain SQL. `verify_log` (behind `taxgate ledger verify`) must name
the table, the row, the field and both values, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text
from typer.testing import CliRunner

from taxgate.cli.main import app
from taxgate.formats.keys import load_keyring
from taxgate.gate.history import ReceivedBatch
from taxgate.gate.reasons import BatchReason
from taxgate.gate.verdicts import BatchVerdict
from taxgate.ledger import merkle
from taxgate.ledger import projection as p
from taxgate.ledger import schema as t
from taxgate.ledger.audit import AuditReport, verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.ledger.gate_history import remember_in
from taxgate.ledger.log import make_checkpoint
from taxgate.ledger.purge import purge
from taxgate.ledger.recall import acknowledge, issue_recall, plan_recall
from taxgate.ledger.recorder import record_refusal
from taxgate.ledger.rows_audit import disagreements
from taxgate.ledger.secret import SECRET_FILE
from tests.ledger.seed import AT, HASH, SECRET, rejected, seed_batch, subject

LATER = AT + timedelta(days=1)
# The gateway's receipt times: read as the batch arrived, before the stages' own `now`.
B1_RECEIPT = AT - timedelta(minutes=5)
REFUSAL_RECEIPT = LATER - timedelta(minutes=3)
OLD = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)
PURGED_AT = datetime(2025, 8, 5, 9, 0, tzinfo=UTC)
ISSUED = datetime(2025, 9, 1, 9, 30, tzinfo=UTC)
ACKNOWLEDGED = datetime(2025, 9, 3, 15, 0, tzinfo=UTC)
PO_BOX = "PO Box 123"
REFUSED_SHA = "7" * 64


@dataclass
class Ledger:
    engine: Engine
    keyring: dict
    kept: str  # the checkpoint the auditor kept, signed after everything was recorded

    def audit(self, secret: bytes | None = SECRET) -> AuditReport:
        return verify_log(self.engine, self.keyring, self.kept, secret=secret)

    def failures(self, secret: bytes | None = SECRET) -> list[str]:
        return [f.message for f in self.audit(secret).failures]

    def tamper(self, *statements: str) -> None:
        with self.engine.begin() as conn:
            unlock(conn)
            for sql in statements:
                conn.execute(text(sql))

    def seq(self, key: str) -> int:
        with self.engine.connect() as conn:
            query = select(t.log_events.c.seq).where(t.log_events.c.event_key == key)
            return conn.execute(query).scalar_one()

    def one(self, sql: str) -> object:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()


def unlock(conn: Connection) -> None:
    """What a DBA does first: switch off the append-only triggers of every table."""
    for table in t.APPEND_ONLY_TABLES:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


def _refusal() -> BatchVerdict:
    return BatchVerdict(
        batch_id="B-FORGED", manifest_sha256=REFUSED_SHA, accepted=False,
        policy_version="2025.2", policy_sha256=HASH, reason=BatchReason.SIGNATURE_INVALID,
        message="the signature does not verify", received_at=REFUSAL_RECEIPT,
    )  # fmt: skip


@pytest.fixture
def ledger(database_url: str, disclosing_key, tmp_path: Path, policy) -> Iterator[Ledger]:
    key_path, keyring_dir = disclosing_key
    engine = open_ledger(database_url)
    seed_batch(engine, "B-OLD", [subject(1), subject(2)], received_at=OLD,
               batch_date=OLD.date())  # fmt: skip
    purge(engine, date(2024, 8, 1), policy, PURGED_AT)
    seed_batch(
        engine,
        "B-1",
        [
            subject(1),
            subject(2, outcome="REVIEW", probability=0.9, review="CONFIRMED"),
            rejected(3, "RELEVANCE_MISSING", relevance=None),
            subject(4, outcome="NOT_CONFIRMED", probability=0.2),
            subject(5, street=PO_BOX, unit=None),
        ],
        receipt=B1_RECEIPT,
    )
    seed_batch(engine, "B-2", [subject(1, probability=0.995), subject(2)], received_at=LATER)
    with engine.begin() as conn:
        for batch_id, at in (("B-1", AT), ("B-2", LATER)):
            received = ReceivedBatch(batch_id, HASH, at.date())
            remember_in(conn, received, {"a" * 64, "b" * 64}, at.date(), at)
    record_refusal(engine, _refusal(), LATER)
    plan = plan_recall(engine, policy).save(tmp_path / "plan.json")  # recalls the PO box
    notice = issue_recall(engine, plan, key_path, tmp_path / "notices", now=ISSUED)
    acknowledge(engine, notice, "Requesting Agency", now=ACKNOWLEDGED)
    kept = make_checkpoint(engine, key_path, now=ACKNOWLEDGED)[1]
    yield Ledger(engine, load_keyring(keyring_dir), kept)
    engine.dispose()


def test_the_untouched_ledger_verifies_with_and_without_the_secret(ledger: Ledger) -> None:
    report = ledger.audit()
    assert report.ok, report.failures
    assert report.rows is not None and report.rows.keyed_checked
    assert report.rows.batches == 3 and report.rows.purged_rows == 2
    outside = ledger.audit(secret=None)
    assert outside.ok and outside.rows is not None and not outside.rows.keyed_checked
    assert outside.rows.rows_checked == report.rows.rows_checked > 30


def test_the_recall_in_the_fixture_is_real(ledger: Ledger) -> None:
    assert ledger.one("SELECT COUNT(*) FROM recall_items") == 1
    assert ledger.one("SELECT COUNT(*) FROM acknowledgements") == 1


# --- one tamper each: (SQL, what the audit must say) ---------------------------------------

Tamper = tuple[tuple[str, ...], Callable[[Ledger], list[str]]]


TAMPERS: dict[str, Tamper] = {
    "decision outcome": (
        ("UPDATE decisions SET outcome = 'CONFIRMED' WHERE batch_id = 'B-1' AND row = 4",),
        lambda lg: [
            "decisions batch B-1 row 4: outcome stored 'CONFIRMED' but the log says "
            f"'NOT_CONFIRMED' (event decision:B-1:4, seq {lg.seq('decision:B-1:4')})"
        ],
    ),
    "decision probability": (
        ("UPDATE decisions SET match_probability = 0.9999 WHERE batch_id = 'B-2' AND row = 1",),
        lambda lg: [
            "decisions batch B-2 row 1: match_probability stored '0.999900000' but the log "
            f"says '0.995000000' (event decision:B-2:1, seq {lg.seq('decision:B-2:1')})"
        ],
    ),
    "subjects proceed flipped": (
        ("UPDATE subjects SET proceed = (1 = 1) WHERE batch_id = 'B-1' AND row = 3",),
        lambda lg: [
            "subjects batch B-1 row 3: proceed stored True but the log says False "
            f"(event verdict:B-1:3, seq {lg.seq('verdict:B-1:3')})"
        ],
    ),
    "subjects reason codes": (
        ("UPDATE subjects SET reason_codes = NULL WHERE batch_id = 'B-1' AND row = 3",),
        lambda lg: [
            "subjects batch B-1 row 3: reason_codes stored None but the log says "
            f"'RELEVANCE_MISSING' (event verdict:B-1:3, seq {lg.seq('verdict:B-1:3')})"
        ],
    ),
    "disclosure fields": (
        (
            "UPDATE disclosures SET fields_disclosed = 'street;city;tin' "
            "WHERE batch_id = 'B-1' AND row = 1",
        ),
        lambda lg: [
            "disclosures batch B-1 row 1: fields_disclosed stored 'street;city;tin' but the "
            "log says 'street;unit;city;state;zip;address_tax_year' "
            f"(event disclosure:B-1:1, seq {lg.seq('disclosure:B-1:1')})"
        ],
    ),
    "disclosure recipient": (
        (
            "UPDATE disclosures SET recipient_agency = 'Elsewhere' WHERE batch_id = 'B-1' "
            "AND row = 1",
        ),
        lambda lg: [
            "disclosures batch B-1 row 1: recipient_agency stored 'Elsewhere' but the log says "
            f"'Requesting Agency' (event disclosure:B-1:1, seq {lg.seq('disclosure:B-1:1')})"
        ],
    ),
    "disclosed address key": (
        (f"UPDATE disclosures SET address_key = '{'e' * 64}' WHERE batch_id = 'B-1' AND row = 1",),
        lambda lg: [
            f"disclosures batch B-1 row 1: address_key stored '{'e' * 64}' but the log says "
            f"'{HASH}' (event disclosure:B-1:1, seq {lg.seq('disclosure:B-1:1')})"
        ],
    ),
    "disclosure deleted with its decision": (
        (
            "DELETE FROM disclosures WHERE batch_id = 'B-1' AND row = 1",
            "DELETE FROM decisions WHERE batch_id = 'B-1' AND row = 1",
        ),
        lambda lg: [
            f"decisions: the row of event decision:B-1:1 (seq {lg.seq('decision:B-1:1')}) is "
            "missing (deleted)",
            f"disclosures: the row of event disclosure:B-1:1 (seq {lg.seq('disclosure:B-1:1')})"
            " is missing (deleted)",
        ],
    ),
    "forged disclosure": (
        (
            "INSERT INTO disclosures SELECT batch_id, 4, subject_id, recipient_agency, statute, "
            "fields_disclosed, address_tax_year, address_key, policy_version, policy_sha256, "
            "model_sha256, disclosed_at FROM disclosures WHERE batch_id = 'B-1' AND row = 1",
        ),
        lambda lg: [
            "disclosures batch B-1 row 4: no disclosure event 'disclosure:B-1:4' in the log "
            "accounts for this row (inserted, or moved from another key)"
        ],
    ),
    "forged decision": (
        (
            "INSERT INTO decisions SELECT batch_id, 3, outcome, tin, address_id, "
            "match_probability, match_weight, runner_up_tin, runner_up_weight, reasons, "
            "policy_version, policy_sha256, model_sha256, explanation, decided_at FROM decisions "
            "WHERE batch_id = 'B-1' AND row = 1",
        ),
        lambda lg: [
            "decisions batch B-1 row 3: no decision event 'decision:B-1:3' in the log accounts "
            "for this row (inserted, or moved from another key)"
        ],
    ),
    "forged batch": (
        (
            "INSERT INTO batches SELECT 'B-X', manifest_sha256, requesting_agency, signer_key_id, "
            "statute, batch_date, received_at, subject_count, status, response_manifest_sha256 "
            "FROM batches WHERE batch_id = 'B-1'",
        ),
        lambda lg: [
            "batches batch B-X: no batch_received event 'batch:B-X' in the log accounts for "
            "this row (inserted, or moved from another key)",
            "batches batch B-X: status 'released', response_manifest_sha256 "
            f"'{HASH}', but the log holds no released response",
        ],
    ),
    "review officer": (
        ("UPDATE reviews SET officer = 'Someone Else' WHERE batch_id = 'B-1' AND row = 2",),
        lambda lg: [
            "reviews batch B-1 row 2: officer stored 'Someone Else' but the log says "
            f"'Dana Officer' (event review:B-1:2, seq {lg.seq('review:B-1:2')})"
        ],
    ),
    "second review of one decision": (
        (
            "INSERT INTO reviews (batch_id, row, resolution, officer, note, reviewed_at) SELECT "
            "batch_id, row, 'NOT_CONFIRMED', officer, note, reviewed_at FROM reviews",
        ),
        lambda lg: [
            "reviews batch B-1 row 2: a second row for event review:B-1:2 "
            f"(seq {lg.seq('review:B-1:2')}): one event, one row"
        ],
    ),
    "forged gate memory": (
        ("INSERT INTO gate_batches VALUES ('B-Z', '" + "d" * 64 + "', '2025-08-01')",),
        lambda lg: ["gate_batches batch B-Z: no gate_memory event in the log accounts for it"],
    ),
    "review resolution": (
        ("UPDATE reviews SET resolution = 'NOT_CONFIRMED' WHERE batch_id = 'B-1' AND row = 2",),
        lambda lg: [
            "reviews batch B-1 row 2: resolution stored 'NOT_CONFIRMED' but the log says "
            f"'CONFIRMED' (event review:B-1:2, seq {lg.seq('review:B-1:2')})"
        ],
    ),
    "batch received_at": (
        ("UPDATE batches SET received_at = received_at - INTERVAL '1 day' WHERE batch_id = 'B-2'",),
        lambda lg: [
            "batches batch B-2: received_at stored 2025-08-01T12:00:00.000000Z but the log says "
            f"'2025-08-02T12:00:00.000000Z' (event batch:B-2, seq {lg.seq('batch:B-2')})"
        ],
    ),
    # The receipt time is the body's `received_at`, not the (later) recorded_at: a row moved
    # to the stage's time is as wrong as any other edit.
    "batch receipt moved to its recorded time": (
        (
            "UPDATE batches SET received_at = (SELECT recorded_at FROM log_events "
            "WHERE event_key = 'batch:B-1') WHERE batch_id = 'B-1'",
        ),
        lambda lg: [
            "batches batch B-1: received_at stored 2025-08-01T12:00:00.000000Z but the log says "
            f"'2025-08-01T11:55:00.000000Z' (event batch:B-1, seq {lg.seq('batch:B-1')})"
        ],
    ),
    "subject_data received_at": (
        (
            "UPDATE subject_data SET received_at = (SELECT recorded_at FROM log_events "
            "WHERE event_key = 'batch:B-1') WHERE batch_id = 'B-1' AND row = 2",
        ),
        lambda lg: [
            "subject_data batch B-1 row 2: received_at stored 2025-08-01T12:00:00.000000Z but "
            "the log says '2025-08-01T11:55:00.000000Z'"
        ],
    ),
    "refused batch received_at": (
        (
            "UPDATE refused_batches SET received_at = (SELECT recorded_at FROM log_events "
            f"WHERE event_key = 'refused:{REFUSED_SHA}')",
        ),
        lambda lg: [
            f"refused_batches manifest_sha256 {REFUSED_SHA}: received_at stored "
            "2025-08-02T12:00:00.000000Z but the log says '2025-08-02T11:57:00.000000Z'"
        ],
    ),
    "disclosure disclosed_at": (
        (
            "UPDATE disclosures SET disclosed_at = (SELECT received_at FROM batches "
            "WHERE batch_id = 'B-OLD') WHERE batch_id = 'B-1' AND row = 1",
        ),
        lambda lg: [
            "disclosures batch B-1 row 1: disclosed_at stored 2023-06-01T12:00:00.000000Z but "
            "the log says '2025-08-01T12:00:00.000000Z' "
            f"(event disclosure:B-1:1, seq {lg.seq('disclosure:B-1:1')})"
        ],
    ),
    "log recorded_at column": (
        (
            "UPDATE log_events SET recorded_at = (SELECT received_at FROM batches "
            "WHERE batch_id = 'B-OLD') WHERE event_key = 'decision:B-1:1'",
        ),
        lambda lg: [
            f"log_events seq {lg.seq('decision:B-1:1')} (key decision:B-1:1): recorded_at is "
            "2023-06-01T12:00:00.000000Z but its leaf says '2025-08-01T12:00:00.000000Z'"
        ],
    ),
    "refused batch reason": (
        ("UPDATE refused_batches SET reason = 'BATCH_TOO_LARGE'",),
        lambda lg: [
            f"refused_batches manifest_sha256 {REFUSED_SHA}: reason stored 'BATCH_TOO_LARGE' but "
            f"the log says 'SIGNATURE_INVALID' (event refused:{REFUSED_SHA}, "
            f"seq {lg.seq(f'refused:{REFUSED_SHA}')})"
        ],
    ),
    "refused batch deleted": (
        ("DELETE FROM refused_batches",),
        lambda lg: [
            f"refused_batches: the row of event refused:{REFUSED_SHA} "
            f"(seq {lg.seq(f'refused:{REFUSED_SHA}')}) is missing (deleted)"
        ],
    ),
    "acknowledgement by": (
        ("UPDATE acknowledgements SET acknowledged_by = 'Nobody'",),
        lambda lg: [
            f"acknowledgements notice {lg.one('SELECT notice_id FROM recalls')}: acknowledged_by "
            "stored 'Nobody' but the log says 'Requesting Agency' (event acknowledgement:"
            f"{lg.one('SELECT notice_id FROM recalls')}, seq "
            f"{lg.seq('acknowledgement:' + str(lg.one('SELECT notice_id FROM recalls')))})"
        ],
    ),
    "acknowledgement deleted": (
        ("DELETE FROM acknowledgements",),
        lambda lg: [
            f"acknowledgements: the row of event acknowledgement:"
            f"{lg.one('SELECT notice_id FROM recalls')} (seq "
            f"{lg.seq('acknowledgement:' + str(lg.one('SELECT notice_id FROM recalls')))}) is "
            "missing (deleted)"
        ],
    ),
    "recall item deleted": (
        ("DELETE FROM recall_items",),
        lambda lg: [
            f"recall_items notice {lg.one('SELECT notice_id FROM recalls')}: 0 rows (digest "
            "0000000000000000) but the log says 1 (digest "
        ],
    ),
    "purge count": (
        ("UPDATE purges SET subjects_purged = 0",),
        lambda lg: [
            "purges id 1: subjects_purged stored 0 but the log says 2 "
            f"(event purge:1, seq {lg.seq('purge:1')})"
        ],
    ),
    "subject data deleted without a purge": (
        ("DELETE FROM subject_data WHERE batch_id = 'B-2'",),
        lambda lg: [
            "subject_data batch B-2: all 2 rows are gone but no logged purge covers a batch "
            "received at 2025-08-02T12:00:00.000000Z (deleted)"
        ],
    ),
    "one subject's data deleted": (
        ("DELETE FROM subject_data WHERE batch_id = 'B-1' AND row = 5",),
        lambda lg: [
            f"subject_data: the row of event verdict:B-1:5 (seq {lg.seq('verdict:B-1:5')}) is "
            "missing (deleted)"
        ],
    ),
    "gate memory person added": (
        (f"INSERT INTO gate_people VALUES ('{'c' * 64}', 'B-2', '2025-08-02')",),
        lambda lg: ["gate_people batch B-2: 3 rows (digest "],
    ),
    "gate memory manifest": (
        ("UPDATE gate_batches SET manifest_sha256 = '" + "f" * 64 + "' WHERE batch_id = 'B-1'",),
        lambda lg: [f"gate_batches batch B-1: manifest_sha256 stored '{'f' * 64}' but the log"],
    ),
    "released status of a batch": (
        (
            "UPDATE batches SET response_manifest_sha256 = NULL, status = 'decided' "
            "WHERE batch_id = 'B-2'",
        ),
        lambda lg: [
            "batches batch B-2: status 'decided', response_manifest_sha256 None, but the log "
            f"says released with '{HASH}' (event response:B-2, seq {lg.seq('response:B-2')})"
        ],
    ),
    "response path": (
        ("UPDATE responses SET path = 'elsewhere.json' WHERE batch_id = 'B-2'",),
        lambda lg: [
            "responses batch B-2: path stored 'elsewhere.json' but the log says "
            f"'B-2/response.json' (event response:B-2, seq {lg.seq('response:B-2')})"
        ],
    ),
}


def _for_sqlite(sql: str) -> str:
    """Date arithmetic as SQLite spells it."""
    return sql.replace("received_at - INTERVAL '1 day'", "datetime(received_at, '-1 day')")


@pytest.mark.parametrize("name", list(TAMPERS))
def test_each_tamper_is_named_precisely(ledger: Ledger, name: str) -> None:
    statements, expected = TAMPERS[name]
    sqlite = ledger.engine.dialect.name == "sqlite"
    ledger.tamper(*(_for_sqlite(s) if sqlite else s for s in statements))
    failures = ledger.failures()
    wanted = expected(ledger)
    for message in wanted:
        assert any(f.startswith(message) for f in failures), (message, failures)
    assert len(failures) == len(wanted), failures
    assert not ledger.audit().ok


def test_a_decision_deleted_with_its_events_breaks_the_tree(ledger: Ledger) -> None:
    seqs = [ledger.seq("disclosure:B-1:1"), ledger.seq("decision:B-1:1")]
    ledger.tamper(
        "DELETE FROM disclosures WHERE batch_id = 'B-1' AND row = 1",
        "DELETE FROM decisions WHERE batch_id = 'B-1' AND row = 1",
        "DELETE FROM log_events WHERE event_key IN ('disclosure:B-1:1', 'decision:B-1:1')",
    )
    failures = ledger.failures()
    assert any(f.startswith(f"events seq {min(seqs)} to {max(seqs)} missing") for f in failures)
    assert any("not consistent with the log now" in f for f in failures), failures


def test_an_event_rewritten_with_its_row_breaks_the_tree(ledger: Ledger) -> None:
    """The intruder edits the outcome, the event's body and its leaf hash alike."""
    seq = ledger.seq("decision:B-1:4")
    with ledger.engine.connect() as conn:
        body = conn.execute(text(f"SELECT body FROM log_events WHERE seq = {seq}")).scalar_one()
    forged = body.replace('"outcome":"NOT_CONFIRMED"', '"outcome":"CONFIRMED"')
    leaf = merkle.leaf_hash(forged.encode("utf-8")).hex()
    ledger.tamper("UPDATE decisions SET outcome = 'CONFIRMED' WHERE batch_id = 'B-1' AND row = 4")
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE log_events SET body = :body, leaf_hash = :leaf WHERE seq = :seq"),
            {"body": forged, "leaf": leaf, "seq": seq},
        )
    failures = ledger.failures()
    assert not any(f.startswith("decisions") for f in failures), failures  # row = event now
    assert any("root differs" in f or "not consistent" in f for f in failures), failures


def test_rows_swapped_between_batches_are_caught(ledger: Ledger) -> None:
    """B-1 row 1 and B-2 row 1 trade decisions (delete both, insert each under the other)."""
    with ledger.engine.begin() as conn:
        unlock(conn)
        rows = {
            r.batch_id: dict(r._mapping)
            for r in conn.execute(select(t.decisions).where(t.decisions.c.row == 1,
                                  t.decisions.c.batch_id.in_(["B-1", "B-2"])))
        }  # fmt: skip
        conn.execute(text("DELETE FROM disclosures WHERE row = 1 AND batch_id IN ('B-1','B-2')"))
        conn.execute(text("DELETE FROM decisions WHERE row = 1 AND batch_id IN ('B-1', 'B-2')"))
        for batch_id, other in (("B-1", "B-2"), ("B-2", "B-1")):
            conn.execute(t.decisions.insert().values(**(rows[other] | {"batch_id": batch_id})))
    failures = ledger.failures()
    assert any(
        f.startswith("decisions batch B-1 row 1: match_probability stored '0.995000000' but the "
                     "log says '0.999990000'") for f in failures
    ), failures  # fmt: skip
    assert any(f.startswith("decisions batch B-2 row 1: decided_at stored") for f in failures)


def test_keyed_fields_need_the_secret(ledger: Ledger) -> None:
    """A changed taxpayer or subject reference is caught with the agency's secret; an outside
    auditor without it checks everything else, and is told keyed fields were not checked."""
    ledger.tamper(
        "UPDATE decisions SET tin = '900700999' WHERE batch_id = 'B-1' AND row = 1",
        "UPDATE disclosures SET subject_id = 'S-99' WHERE batch_id = 'B-1' AND row = 1",
        "UPDATE subject_data SET fields = replace(fields, 'S-5', 'S-6') "
        "WHERE batch_id = 'B-1' AND row = 5",
    )
    failures = ledger.failures()
    assert [f.split(" has keyed hash ")[0] for f in failures] == [
        "subject_data batch B-1 row 5: fields",
        "decisions batch B-1 row 1: tin",
        "disclosures batch B-1 row 1: subject_id",
    ]
    assert not any("S-99" in f or "900700999" in f for f in failures)  # no personal data shown
    outside = ledger.audit(secret=None)
    assert outside.ok and outside.rows is not None and not outside.rows.keyed_checked


def test_disagreements_lists_them_for_reports(ledger: Ledger) -> None:
    assert disagreements(ledger.engine, SECRET) == []
    ledger.tamper("UPDATE decisions SET outcome = 'CONFIRMED' WHERE batch_id = 'B-1' AND row = 4")
    [message] = disagreements(ledger.engine, None)
    assert message.startswith("decisions batch B-1 row 4: outcome stored 'CONFIRMED'")


# --- reports say when their rows disagree with the log ---------------------------------------


@pytest.fixture
def commands_home(ledger: Ledger, database_url: str, tmp_path: Path, monkeypatch) -> Path:
    """The fixture's ledger as the commands open it, from a home holding the agency secret."""
    home = tmp_path / "home"
    home.mkdir()
    (home / SECRET_FILE).write_bytes(SECRET)
    if database_url.startswith("sqlite"):
        monkeypatch.setenv("TAXGATE_DATABASE_URL", str(ledger.engine.url))
    else:
        monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TAXGATE_HOME", str(home))
    return home


@pytest.mark.parametrize(
    "command",
    [["report", "batch", "B-1"], ["report", "accounting", "--from", "2025-08-01", "--to",
                                  "2025-08-31"]],
    ids=["batch", "accounting"],
)  # fmt: skip
def test_reports_warn_and_fail_on_rows_that_disagree_with_the_log(
    ledger: Ledger, commands_home: Path, command: list[str]
) -> None:
    runner = CliRunner()
    clean = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert clean.exit_code == 0, clean.output
    assert "WARNING" not in clean.output
    ledger.tamper("UPDATE decisions SET outcome = 'CONFIRMED' WHERE batch_id = 'B-1' AND row = 4")
    result = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "WARNING: 1 stored row(s) of this report disagree with the signed log" in result.output
    assert "decisions batch B-1 row 4: outcome stored 'CONFIRMED'" in result.output


# --- every field of every projected table is covered ------------------------------------------

# Columns the audit derives otherwise: keys (an edit is a moved row), ids the database assigns,
# and the batch status, checked against the log's release (test `released status`).
NOT_FIELDS = {"batch_id", "row", "id", "status", "response_manifest_sha256"}
SPECS = (*p.BATCH_SPECS, *p.LEDGER_SPECS, p.GATE_BATCHES)


def test_every_column_of_every_projected_table_is_audited() -> None:
    """A column added later without a field in its spec would go unaudited: refuse that."""
    for spec in SPECS:
        covered = {f.column for f in spec.fields} | {spec.time, spec.receipt} | NOT_FIELDS
        assert set(spec.table.columns.keys()) <= covered, spec.name
    checked = {s.table.name for s in SPECS} | {"gate_people", "recall_items"}
    ledger_only = {"log_events", "checkpoints"}
    assert set(t.metadata.tables) == checked | ledger_only


def _changed(value: object, column: str) -> object:
    """Another value of the same type that the table's constraints still accept."""
    for allowed in (t.OUTCOMES, t.RESOLUTIONS):
        if value in allowed:
            return next(v for v in t.OUTCOMES if v != value and v in allowed)
    if value is None:
        return 1.5 if column.endswith("weight") or column.endswith("probability") else "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, date):
        return value + timedelta(days=1)
    text_ = str(value)  # same length: PostgreSQL drops spaces beyond a varchar's length
    return text_[:-1] + ("0" if text_[-1:] != "0" else "1")


def test_an_edit_of_any_field_of_any_table_is_named(ledger: Ledger) -> None:
    """Each field of each spec in turn: change it in one row, audit, put it back."""
    for spec in SPECS:
        table = spec.table
        keys = [c for c in table.primary_key.columns]
        with ledger.engine.connect() as conn:
            row = conn.execute(select(table).order_by(*keys).limit(1)).mappings().one()
        where = [c == row[c.name] for c in keys]
        # A changed key or reference is a moved row (tested above), or refused by a foreign key.
        moved = NOT_FIELDS | {c.name for c in table.columns if c.primary_key or c.foreign_keys}
        for column in [f.column for f in spec.fields if f.column not in moved] + [
            c for c in (spec.time, spec.receipt) if c
        ]:
            original = row[column]
            with ledger.engine.begin() as conn:
                unlock(conn)
                changed = {column: _changed(original, column)}
                conn.execute(table.update().where(*where).values(changed))
            failures = ledger.failures()
            with ledger.engine.begin() as conn:
                conn.execute(table.update().where(*where).values({column: original}))
            assert any(f.startswith(f"{table.name} ") and f": {column} " in f for f in failures), (
                table.name, column, failures,
            )  # fmt: skip
    assert ledger.audit().ok


def story_failures(ledger: Ledger) -> list[str]:
    """The failures after one forged, appended event: first, that it is unsigned (it came
    after the kept checkpoint, long ago: taxgate.ledger.audit), then the batch story's."""
    failures = ledger.failures()
    assert failures[0].startswith("1 event(s) after the newest checkpoint"), failures
    assert "are unsigned" in failures[0], failures
    return failures[1:]


def test_a_forged_disclosure_with_its_own_appended_event_does_not_fit_the_batch(
    ledger: Ledger,
) -> None:
    """The intruder appends the event too, with taxgate's own code: the log only grew, the row
    matches its event, yet the batch's story does not have room for it."""
    with ledger.engine.connect() as conn:
        row = dict(
            conn.execute(
                select(t.disclosures).where(t.disclosures.c.batch_id == "B-1",
                                            t.disclosures.c.row == 1)
            ).mappings().one()
        ) | {"row": 4}  # fmt: skip
    forged = [Event(EventKind.DISCLOSURE, p.DISCLOSURES.key(row), "B-1",
                    p.body_of(p.DISCLOSURES, row, SECRET))]  # fmt: skip
    with ledger.engine.begin() as conn:
        conn.execute(t.disclosures.insert().values(**row))
        append_events(conn, forged, AT)
    seq = ledger.seq("disclosure:B-1:4")
    response = ledger.seq("response:B-1")
    assert story_failures(ledger) == [
        f"log: disclosure:B-1:4 (seq {seq}) discloses a subject neither CONFIRMED nor confirmed "
        "on review",
        f"log: response:B-1 (seq {response}) counts 3 disclosures but the log holds 4 for "
        "batch B-1",
        f"log: disclosure:B-1:4 (seq {seq}) is logged after the response was released "
        f"(seq {response})",
    ]


def test_a_forged_decision_with_its_own_appended_event_needs_a_proceeding_subject(
    ledger: Ledger,
) -> None:
    row = {"batch_id": "B-1", "row": 3, "outcome": "NOT_CONFIRMED", "tin": None,
           "address_id": None, "match_probability": 0.1, "match_weight": 1.0,
           "runner_up_tin": None, "runner_up_weight": None, "reasons": None,
           "policy_version": "v", "policy_sha256": HASH, "model_sha256": HASH,
           "explanation": "{}", "decided_at": AT}  # fmt: skip
    with ledger.engine.begin() as conn:
        conn.execute(t.decisions.insert().values(**row))
        append_events(conn, [Event(EventKind.DECISION, p.DECISIONS.key(row), "B-1",
                                   p.body_of(p.DECISIONS, row, SECRET))], AT)  # fmt: skip
    assert story_failures(ledger) == [
        f"log: decision:B-1:3 (seq {ledger.seq('decision:B-1:3')}) decides a subject the gate "
        "did not let proceed"
    ]
