"""`taxgate report`, `taxgate recall` and `taxgate purge` against a seeded ledger."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from taxgate.cli.main import app
from taxgate.errors import TaxgateError
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import CSV_COLUMNS
from taxgate.ledger.database import open_ledger
from taxgate.ledger.log import tree_size
from taxgate.policy import default_policy_path
from tests.ledger.seed import count, rejected, seed_batch, subject

runner = CliRunner()
AUGUST = ["--from", "2025-08-01", "--to", "2025-08-31"]
LONG_AGO = datetime(2020, 6, 1, 12, 0, tzinfo=UTC)  # past any retention period today


@pytest.fixture
def ledger(database_url: str, tmp_path: Path, monkeypatch) -> Iterator[Engine]:
    """The ledger the commands open: TAXGATE_DATABASE_URL names it, on either database."""
    monkeypatch.setenv("TAXGATE_DATABASE_URL", database_url)
    monkeypatch.setenv("TAXGATE_HOME", str(tmp_path / "home"))
    engine = open_ledger(database_url)
    seed_batch(
        engine,
        "B-1",
        [subject(1), subject(2, street="PO Box 7", unit=None), rejected(3, "ADDRESS_ZIP_ONLY")],
    )
    old = subject(1, removal_order_date="2019-01-10", taxable_periods="2018;2019")
    seed_batch(engine, "B-OLD", [old], received_at=LONG_AGO, batch_date=LONG_AGO.date())
    yield engine
    engine.dispose()


def test_accounting_csv_has_the_disclosures_and_the_console_the_totals(
    ledger, tmp_path: Path
) -> None:
    out = tmp_path / "accounting.csv"
    result = runner.invoke(app, ["report", "accounting", *AUGUST, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    assert [(r[3], r[5]) for r in rows[1:]] == [("B-1", "S-1"), ("B-1", "S-2")]
    assert "subjects requested" in result.output and "ADDRESS_ZIP_ONLY" in result.output


def test_accounting_csv_goes_to_standard_output_without_a_file(ledger) -> None:
    result = runner.invoke(app, ["report", "accounting", *AUGUST])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 3  # totals went to standard error
    assert "subjects requested" in result.stderr


def test_accounting_html_is_one_page(ledger, tmp_path: Path) -> None:
    page = tmp_path / "accounting.html"
    result = runner.invoke(
        app, ["report", "accounting", *AUGUST, "--format", "html", "--out", str(page)]
    )
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "accounting-chart" in text
    assert "<td>S-2</td>" in text
    refused = runner.invoke(app, ["report", "accounting", *AUGUST, "--format", "html"])
    assert isinstance(refused.exception, TaxgateError) and "--out" in str(refused.exception)


def test_report_batch_tells_its_story(ledger) -> None:
    result = runner.invoke(app, ["report", "batch", "B-1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    expected = ["subjects 3", "proceeded 2", "rejected 1", "ADDRESS_ZIP_ONLY 1",
                "decided CONFIRMED 2", "disclosures 2", "personal data 3 row(s) held"]  # fmt: skip
    assert [line for line in expected if line not in lines] == []
    unknown = runner.invoke(app, ["report", "batch", "NOPE"])
    assert isinstance(unknown.exception, TaxgateError)


def signed_up_to(ledger: Engine) -> tuple[int, int]:
    """(events logged, size of the newest checkpoint): equal when nothing is left unsigned."""
    with ledger.connect() as conn:
        newest = max(conn.execute(t.checkpoints.select()).scalars(), default=None)
        return tree_size(conn), -1 if newest is None else newest


def test_recall_plan_issue_and_acknowledge(ledger, disclosing_key, tmp_path: Path) -> None:
    key, _ = disclosing_key
    plan = tmp_path / "plan.json"
    planned = runner.invoke(
        app, ["recall", "plan", "--policy", str(default_policy_path()), "--out", str(plan)]
    )
    assert planned.exit_code == 0, planned.output
    assert "ADDRESS_PO_BOX" in planned.output  # shipped policy refuses the PO box of row 2
    assert [(i["batch_id"], i["row"]) for i in json.loads(plan.read_text())["items"]] == [
        ("B-1", 2)
    ]

    notices = tmp_path / "notices"
    issue = ["recall", "issue", str(plan), "--key", str(key), "--out", str(notices)]
    issued = runner.invoke(app, issue)
    assert issued.exit_code == 0, issued.output
    (notice,) = notices.glob("RECALL-*.json")
    assert "1 recall notice(s) outstanding" in issued.output
    events, signed = signed_up_to(ledger)
    assert events == signed and "log signed: checkpoint of size" in issued.output
    again = runner.invoke(app, issue)
    assert isinstance(again.exception, TaxgateError) and "already issued" in str(again.exception)

    ack = ["recall", "ack", str(notice), "--by", "Requesting Agency", "--key", str(key)]
    acked = runner.invoke(app, ack)
    assert acked.exit_code == 0, acked.output
    assert signed_up_to(ledger) == (events + 1, events + 1)  # the acknowledgement is signed
    assert "acknowledged by Requesting Agency" in acked.output
    assert "0 recall notice(s) outstanding" in acked.output
    assert count(ledger, t.acknowledgements) == 1


def test_purge_asks_first_then_deletes_old_personal_data(ledger, disclosing_key) -> None:
    before = ["purge", "--before", "2021-01-01", "--key", str(disclosing_key[0])]
    declined = runner.invoke(app, before, input="n\n")
    assert declined.exit_code == 1 and "B-OLD: 1 subject(s)" in declined.output
    assert count(ledger, t.subject_data, batch_id="B-OLD") == 1 and count(ledger, t.purges) == 0

    done = runner.invoke(app, [*before, "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 subject(s) in 1 batch(es)" in done.output
    assert count(ledger, t.subject_data, batch_id="B-OLD") == 0
    assert count(ledger, t.subject_data, batch_id="B-1") == 3
    assert count(ledger, t.disclosures, batch_id="B-OLD") == 1
    events, signed = signed_up_to(ledger)
    assert events == signed  # the purge event is signed before the command ends
    # the seeded events were unsigned before the purge began: signing them is said
    assert f"signed {events - 1} event(s) after size 0 that no command signed" in done.stderr


def test_purge_inside_the_retention_period_is_refused(ledger, disclosing_key) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    key = ["--key", str(disclosing_key[0])]
    refused = runner.invoke(app, ["purge", "--before", yesterday, "--yes", *key])
    assert isinstance(refused.exception, TaxgateError)
    assert "retention period" in str(refused.exception)
    assert count(ledger, t.subject_data) == 4 and count(ledger, t.purges) == 0
