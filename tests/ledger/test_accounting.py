"""The accounting of disclosures and the batch report, read back from a seeded ledger."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from taxgate.errors import TaxgateError
from taxgate.gate.reasons import BatchReason
from taxgate.gate.verdicts import BatchVerdict
from taxgate.ledger.accounting import (
    CSV_COLUMNS,
    accounting_html,
    accounting_rows,
    batch_report,
    totals_table,
    write_csv,
)
from taxgate.ledger.database import open_ledger
from taxgate.ledger.recall import acknowledge, issue_recall, plan_recall
from taxgate.ledger.recorder import record_refusal
from tests.ledger.seed import MODEL, policy_variant, rejected, seed_batch, subject

AUGUST = (date(2025, 8, 1), date(2025, 8, 31))
FIRST = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
LAST_SECOND = datetime(2025, 8, 3, 23, 59, 59, tzinfo=UTC)
NEXT_MONTH = datetime(2025, 9, 1, 0, 0, tzinfo=UTC)
RECALLED_ON = datetime(2025, 8, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    seed_batch(
        engine,
        "A",
        [
            subject(1),
            rejected(2, "ADDRESS_PO_BOX", street="PO Box 1"),
            rejected(3, "ADDRESS_ZIP_ONLY;TIN_INVALID", street=None),
            subject(4, outcome="NOT_CONFIRMED", probability=0.3),
        ],
        received_at=FIRST,
    )
    seed_batch(
        engine,
        "B",
        [
            subject(1, outcome="REVIEW", probability=0.9, review="CONFIRMED"),
            subject(2, outcome="REVIEW", probability=0.85, review="NOT_CONFIRMED"),
            subject(3, probability=0.995),
        ],
        received_at=LAST_SECOND,
    )
    seed_batch(engine, "C", [subject(1)], received_at=NEXT_MONTH)
    yield engine
    engine.dispose()


@pytest.fixture
def recalled(ledger, disclosing_key, tmp_path: Path) -> Path:
    """B row 3 recalled under a stricter confirm threshold on 20 August; not acknowledged."""
    stricter = policy_variant(
        tmp_path, "2025.2-strict", ("confirm_threshold = 0.99", "confirm_threshold = 0.999")
    )
    plan = plan_recall(ledger, stricter)
    assert [(i.batch_id, i.row) for i in plan.items] == [("B", 3)]
    plan_path = plan.save(tmp_path / "plan.json")
    return issue_recall(ledger, plan_path, disclosing_key[0], tmp_path, now=RECALLED_ON)


def test_one_row_per_disclosure_of_the_period(ledger) -> None:
    report = accounting_rows(ledger, *AUGUST)
    assert [(r.batch_id, r.row, r.subject_id) for r in report.rows] == [
        ("A", 1, "S-1"),
        ("B", 1, "S-1"),
        ("B", 3, "S-3"),
    ]
    first = report.rows[0]
    assert first.disclosed_on == date(2025, 8, 1) and first.recipient_agency == "Requesting Agency"
    assert first.statute == "8 U.S.C. 1253(a)(1)" and first.fields_disclosed.startswith("street")
    assert first.policy_version == "2025.2-seed" and first.model_sha256 == MODEL[:12]
    assert not any(r.recalled for r in report.rows)


def test_totals_of_the_period(ledger) -> None:
    totals = accounting_rows(ledger, *AUGUST).totals
    assert (totals.batches, totals.requests, totals.rejected) == (2, 7, 2)
    assert totals.rejections == {"ADDRESS_PO_BOX": 1, "ADDRESS_ZIP_ONLY": 1, "TIN_INVALID": 1}
    assert (totals.confirmations, totals.not_confirmed, totals.reviews) == (3, 2, 2)
    assert (totals.recalls_issued, totals.recalls_outstanding) == (0, 0)


def refused(sha: str, reason: BatchReason, claimed: str | None = "A") -> BatchVerdict:
    return BatchVerdict(
        batch_id=claimed, manifest_sha256=sha * 64, accepted=False, policy_version="2025.2",
        policy_sha256="ab" * 32, reason=reason, message="refused",
    )  # fmt: skip


def test_batches_refused_whole_are_counted_by_reason_once_each(ledger) -> None:
    assert record_refusal(ledger, refused("1", BatchReason.SIGNATURE_INVALID), FIRST)
    assert not record_refusal(ledger, refused("1", BatchReason.SIGNATURE_INVALID), FIRST)
    assert record_refusal(ledger, refused("2", BatchReason.BATCH_ID_REUSED), LAST_SECOND)
    assert record_refusal(ledger, refused("3", BatchReason.KEY_UNKNOWN, None), LAST_SECOND)
    assert record_refusal(ledger, refused("4", BatchReason.KEY_UNKNOWN), NEXT_MONTH)
    totals = accounting_rows(ledger, *AUGUST).totals
    assert totals.batches == 2  # the refused ones never take a batch id
    assert totals.batches_refused == 3
    assert totals.refusals == {"BATCH_ID_REUSED": 1, "KEY_UNKNOWN": 1, "SIGNATURE_INVALID": 1}
    lines = dict(totals_table(totals))
    assert lines["batches refused by the gate"] == 3 and lines["  reason KEY_UNKNOWN"] == 1


def test_an_accepted_batch_is_never_recorded_as_refused(ledger) -> None:
    accepted = dataclasses.replace(refused("5", BatchReason.KEY_UNKNOWN), accepted=True)
    with pytest.raises(ValueError, match="only a refused batch"):
        record_refusal(ledger, accepted, FIRST)


def test_periods_are_whole_utc_days_both_included(ledger) -> None:
    assert [
        r.batch_id for r in accounting_rows(ledger, date(2025, 8, 3), date(2025, 8, 3)).rows
    ] == [
        "B",
        "B",
    ]
    september = accounting_rows(ledger, date(2025, 9, 1), date(2025, 9, 30))
    assert [r.batch_id for r in september.rows] == ["C"] and september.totals.requests == 1
    with pytest.raises(TaxgateError, match="before it starts"):
        accounting_rows(ledger, date(2025, 8, 31), date(2025, 8, 1))


def test_the_daily_series_covers_every_day(ledger) -> None:
    days = {d.day: d for d in accounting_rows(ledger, *AUGUST).days}
    assert len(days) == 31
    first, third = days[date(2025, 8, 1)], days[date(2025, 8, 3)]
    assert (first.requests, first.confirmations) == (4, 1)
    assert first.rejections == {"ADDRESS_PO_BOX": 1, "ADDRESS_ZIP_ONLY": 1, "TIN_INVALID": 1}
    assert (third.requests, third.confirmations, third.rejections) == (3, 2, {})
    assert days[date(2025, 8, 2)].requests == 0


def test_recalls_are_marked_and_counted_until_acknowledged(ledger, recalled: Path) -> None:
    report = accounting_rows(ledger, *AUGUST)
    assert [(r.batch_id, r.row) for r in report.rows if r.recalled] == [("B", 3)]
    totals = report.totals
    assert (totals.recalls_issued, totals.recalled_disclosures) == (1, 1)
    assert (totals.recalls_acknowledged, totals.recalls_outstanding) == (0, 1)
    assert {d.day: d.recalls for d in report.days if d.recalls} == {date(2025, 8, 20): 1}
    acknowledge(ledger, recalled, "Requesting Agency", now=datetime(2025, 8, 22, tzinfo=UTC))
    totals = accounting_rows(ledger, *AUGUST).totals
    assert (totals.recalls_acknowledged, totals.recalls_outstanding) == (1, 0)


def test_batch_report_tells_what_happened_to_one_batch(ledger) -> None:
    a = batch_report(ledger, "A")
    assert (a.subject_count, a.proceeded, a.rejected) == (4, 2, 2)
    assert a.gate_reasons == {"ADDRESS_PO_BOX": 1, "ADDRESS_ZIP_ONLY": 1, "TIN_INVALID": 1}
    assert a.outcomes == {"CONFIRMED": 1, "NOT_CONFIRMED": 1} and a.reviews == {}
    assert a.disclosures == 1 and a.released_at == FIRST and a.personal_data_rows == 4
    assert a.recalls == [] and a.recalled_disclosures == 0
    b = batch_report(ledger, "B")
    assert b.outcomes == {"CONFIRMED": 1, "REVIEW": 2}
    assert b.reviews == {"CONFIRMED": 1, "NOT_CONFIRMED": 1} and b.disclosures == 2
    with pytest.raises(TaxgateError, match="no batch 'Z'"):
        batch_report(ledger, "Z")


def test_batch_report_lists_the_recalls_touching_it(ledger, recalled: Path) -> None:
    (notice,) = batch_report(ledger, "B").recalls
    assert notice.notice_id == recalled.stem and notice.outstanding and notice.items == 1
    assert batch_report(ledger, "B").recalled_disclosures == 1
    assert batch_report(ledger, "A").recalls == []


def test_csv_is_a_header_and_one_row_per_disclosure(ledger, tmp_path: Path) -> None:
    path = write_csv(accounting_rows(ledger, *AUGUST), tmp_path / "accounting.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 4
    assert rows[1] == [
        "2025-08-01", "Requesting Agency", "8 U.S.C. 1253(a)(1)", "A", "1", "S-1",
        "street;unit;city;state;zip;address_tax_year", "2025.2-seed", MODEL[:12], "no",
    ]  # fmt: skip


def _embedded_spec(page: str) -> dict:
    opening = "vegaEmbed(document.getElementById('accounting-chart'), "
    spec, _ = json.JSONDecoder().raw_decode(page, page.index(opening) + len(opening))
    return spec


def test_html_is_self_contained_with_chart_and_tables(ledger, recalled: Path) -> None:
    page = accounting_html(accounting_rows(ledger, *AUGUST))
    assert page.startswith("<!DOCTYPE html>") and "vegaEmbed" in page
    assert "<script src" not in page and "<link" not in page  # nothing fetched
    spec = _embedded_spec(page)
    bars, lines = spec["layer"]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["y"]["stack"] == "zero"
    assert bars["encoding"]["color"]["field"] == "reason"
    assert lines["encoding"]["color"]["scale"]["domain"] == ["requests", "confirmations", "recalls"]
    values = spec["data"]["values"]
    assert {
        "date": "2025-08-01",
        "series": "rejections",
        "reason": "TIN_INVALID",
        "count": 1,
    } in values
    assert {"date": "2025-08-03", "series": "confirmations", "count": 2} in values
    assert {"date": "2025-08-20", "series": "recalls", "count": 1} in values
    assert "subjects rejected by the gate" in page and "<td>S-3</td>" in page
    assert "Hernandez" not in page and "Main St" not in page  # no requested personal data
