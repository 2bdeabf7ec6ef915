"""The accounting of requests and disclosures (6103(p)(3)), read from the ledger for a report."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from taxgate.decide.outcomes import Decision
from taxgate.errors import TaxgateError
from taxgate.formats.charts import embed_chart, offline_page
from taxgate.formats.codes import split_codes
from taxgate.formats.csvcells import write_csv_rows
from taxgate.ledger import schema as t

MODEL_SHA_SHORT = 12  # hex digits of the model SHA-256 shown per row: enough to tell models apart
CSV_COLUMNS = (
    "date",
    "recipient_agency",
    "statute",
    "batch_id",
    "row",
    "subject_id",
    "fields_disclosed",
    "policy_version",
    "model_sha256",
    "recalled",
)
CHART_WIDTH = 720  # pixels: fits a printed page beside the tables
CHART_HEIGHT = 260
MAX_DAY_TICKS = 16  # labels on the time axis: more would overlap at CHART_WIDTH
ONE_DAY = timedelta(days=1)
LINE_SERIES = ("requests", "confirmations", "recalls")  # drawn as lines over the stacked bars
LINE_COLOURS = ("#4c78a8", "#54a24b", "#e45756")  # blue, green, red: recalls stand out


def utc(moment: datetime) -> datetime:
    """A stored timestamp in UTC: SQLite hands back the UTC value without its zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day_start(day: date) -> datetime:
    """Midnight UTC opening `day`: periods are whole UTC days."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class DisclosureRow:
    """One disclosure, as the accounting lists it (no address: only which fields went out)."""

    disclosed_on: date
    recipient_agency: str
    statute: str
    batch_id: str
    row: int
    subject_id: str | None
    fields_disclosed: str
    policy_version: str
    model_sha256: str  # the first MODEL_SHA_SHORT hex digits
    recalled: bool

    def csv_values(self) -> list[str | int]:
        return [
            self.disclosed_on.isoformat(),
            self.recipient_agency,
            self.statute,
            self.batch_id,
            self.row,
            self.subject_id or "",
            self.fields_disclosed,
            self.policy_version,
            self.model_sha256,
            "yes" if self.recalled else "no",
        ]


@dataclass(frozen=True)
class Totals:
    """What happened in the period, each counted on the day it happened (UTC).

    Requests and rejections are the subjects of batches received in the period (rejections
    count each reason code a subject was given); batches refused as a whole are counted apart,
    by reason, since nothing in them was examined; confirmations are disclosures made in it;
    not confirmed adds decisions NOT_CONFIRMED then and reviews resolved NOT_CONFIRMED then;
    recalls are notices issued in it, acknowledged (or not) by now.
    """

    batches: int = 0
    batches_refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    rejected: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    confirmations: int = 0
    not_confirmed: int = 0
    reviews: int = 0
    recalls_issued: int = 0
    recalled_disclosures: int = 0
    recalls_acknowledged: int = 0
    recalls_outstanding: int = 0


@dataclass(frozen=True)
class Day:
    """One UTC day of the chart: subjects asked about, reason codes given, disclosures, recalls."""

    day: date
    requests: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    confirmations: int = 0
    recalls: int = 0


@dataclass(frozen=True)
class Accounting:
    """The accounting of [start, end] (whole UTC days, both included)."""

    start: date
    end: date
    rows: list[DisclosureRow]
    totals: Totals
    days: list[Day]


@dataclass(frozen=True)
class RecallStatus:
    """One recall notice: when it went out, how many disclosures it recalls, who acknowledged."""

    notice_id: str
    issued_at: datetime
    items: int
    policy_version: str
    notice_path: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @property
    def outstanding(self) -> bool:
        return self.acknowledged_at is None


def recall_statuses(
    conn: Connection,
    *,
    issued_from: datetime | None = None,
    issued_before: datetime | None = None,
    batch_id: str | None = None,
) -> list[RecallStatus]:
    """Recall notices by issue time; `batch_id` keeps those recalling one of its disclosures."""
    items = (
        select(t.recall_items.c.notice_id, func.count().label("item_count"))
        .group_by(t.recall_items.c.notice_id)
        .subquery()
    )
    query = select(t.recalls, items.c.item_count).join(
        items, items.c.notice_id == t.recalls.c.notice_id
    )
    if issued_from is not None:
        query = query.where(t.recalls.c.issued_at >= issued_from)
    if issued_before is not None:
        query = query.where(t.recalls.c.issued_at < issued_before)
    if batch_id is not None:
        touching = select(t.recall_items.c.notice_id).where(t.recall_items.c.batch_id == batch_id)
        query = query.where(t.recalls.c.notice_id.in_(touching))
    acks = {
        a.notice_id: a
        for a in conn.execute(
            select(t.acknowledgements).order_by(t.acknowledgements.c.acknowledged_at)
        )
    }
    out = []
    for r in conn.execute(query.order_by(t.recalls.c.issued_at, t.recalls.c.notice_id)):
        ack = acks.get(r.notice_id)
        out.append(
            RecallStatus(
                notice_id=r.notice_id,
                issued_at=utc(r.issued_at),
                items=r.item_count,
                policy_version=r.policy_version,
                notice_path=r.notice_path,
                acknowledged_by=ack.acknowledged_by if ack else None,
                acknowledged_at=utc(ack.acknowledged_at) if ack else None,
            )
        )
    return out


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise TaxgateError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})",
            "Give --from on or before --to.",
        )


def accounting_rows(engine: Engine, start: date, end: date) -> Accounting:
    """Every disclosure made in [start, end], the period's totals and its per-day series."""
    _check_period(start, end)
    # The period ends at the start of the next day; on the calendar's last day, at its end.
    until = day_start(end + ONE_DAY) if end < date.max else datetime.max.replace(tzinfo=UTC)
    since = day_start(start)
    days = {start + ONE_DAY * i: _DayCounts() for i in range((end - start).days + 1)}
    with engine.connect() as conn:
        recalled = {
            (b, r) for b, r in conn.execute(select(t.recall_items.c.batch_id, t.recall_items.c.row))
        }
        rows = _disclosure_rows(conn, since, until, recalled)
        for r in rows:
            days[r.disclosed_on].confirmations += 1
        batches, requests, rejected, rejections = _requests(conn, since, until, days)
        refusals = _refusals(conn, since, until)
        not_confirmed = conn.execute(
            select(func.count())
            .select_from(t.decisions)
            .where(t.decisions.c.outcome == Decision.NOT_CONFIRMED.value)
            .where(t.decisions.c.decided_at >= since, t.decisions.c.decided_at < until)
        ).scalar_one()
        review_rows = conn.execute(
            select(t.reviews.c.resolution, func.count())
            .where(t.reviews.c.reviewed_at >= since, t.reviews.c.reviewed_at < until)
            .group_by(t.reviews.c.resolution)
        ).all()
        refused_on_review = sum(n for res, n in review_rows if res == Decision.NOT_CONFIRMED)
        recalls = recall_statuses(conn, issued_from=since, issued_before=until)
        for notice in recalls:
            days[notice.issued_at.date()].recalls += notice.items
    acknowledged = sum(1 for r in recalls if not r.outstanding)
    totals = Totals(
        batches=batches,
        batches_refused=sum(refusals.values()),
        refusals=refusals,
        requests=requests,
        rejected=rejected,
        rejections=dict(sorted(rejections.items())),
        confirmations=len(rows),
        not_confirmed=not_confirmed + refused_on_review,
        reviews=sum(n for _, n in review_rows),
        recalls_issued=len(recalls),
        recalled_disclosures=sum(r.items for r in recalls),
        recalls_acknowledged=acknowledged,
        recalls_outstanding=len(recalls) - acknowledged,
    )
    series = [
        Day(day, c.requests, dict(sorted(c.rejections.items())), c.confirmations, c.recalls)
        for day, c in days.items()
    ]
    return Accounting(start, end, rows, totals, series)


@dataclass
class _DayCounts:
    requests: int = 0
    rejections: Counter[str] = field(default_factory=Counter)
    confirmations: int = 0
    recalls: int = 0


def _disclosure_rows(
    conn: Connection, since: datetime, until: datetime, recalled: set[tuple[str, int]]
) -> list[DisclosureRow]:
    d = t.disclosures.c
    query = (
        select(t.disclosures)
        .where(d.disclosed_at >= since, d.disclosed_at < until)
        .order_by(d.disclosed_at, d.batch_id, d.row)
    )
    return [
        DisclosureRow(
            disclosed_on=utc(r.disclosed_at).date(),
            recipient_agency=r.recipient_agency,
            statute=r.statute,
            batch_id=r.batch_id,
            row=r.row,
            subject_id=r.subject_id,
            fields_disclosed=r.fields_disclosed,
            policy_version=r.policy_version,
            model_sha256=r.model_sha256[:MODEL_SHA_SHORT],
            recalled=(r.batch_id, r.row) in recalled,
        )
        for r in conn.execute(query)
    ]


def _requests(
    conn: Connection, since: datetime, until: datetime, days: dict[date, _DayCounts]
) -> tuple[int, int, int, Counter[str]]:
    """(batches, subjects, rejected subjects, reason codes given) of batches received then."""
    received = {
        r.batch_id: utc(r.received_at).date()
        for r in conn.execute(
            select(t.batches.c.batch_id, t.batches.c.received_at).where(
                t.batches.c.received_at >= since, t.batches.c.received_at < until
            )
        )
    }
    s = t.subjects.c
    grouped = conn.execute(
        select(s.batch_id, s.proceed, s.reason_codes, func.count())
        .where(s.batch_id.in_(select(t.batches.c.batch_id).where(
            t.batches.c.received_at >= since, t.batches.c.received_at < until)))
        .group_by(s.batch_id, s.proceed, s.reason_codes)
    ).all()  # fmt: skip
    requests = rejected = 0
    rejections: Counter[str] = Counter()
    for batch_id, proceed, codes, n in grouped:
        day = days[received[batch_id]]
        requests += n
        day.requests += n
        if not proceed:
            rejected += n
            for code in split_codes(codes):
                rejections[code] += n
                day.rejections[code] += n
    return len(received), requests, rejected, rejections


def _refusals(conn: Connection, since: datetime, until: datetime) -> dict[str, int]:
    """Batches the gate refused as a whole in the period, by reason."""
    r = t.refused_batches.c
    rows = conn.execute(
        select(r.reason, func.count())
        .where(r.received_at >= since, r.received_at < until)
        .group_by(r.reason)
        .order_by(r.reason)
    )
    return {reason: n for reason, n in rows}


# ---------------------------------------------------------------- one batch


@dataclass(frozen=True)
class BatchReport:
    """What happened to one batch, from receipt to recall; counts only, no personal data."""

    batch_id: str
    requesting_agency: str
    statute: str
    batch_date: date
    received_at: datetime
    status: str
    subject_count: int
    proceeded: int
    rejected: int
    gate_reasons: dict[str, int]
    outcomes: dict[str, int]
    reviews: dict[str, int]
    disclosures: int
    released_at: datetime | None
    personal_data_rows: int  # subject_data rows still held; 0 once purged
    recalls: list[RecallStatus]
    recalled_disclosures: int


def batch_report(engine: Engine, batch_id: str) -> BatchReport:
    """Counts by gate reason, by outcome and by review resolution; release; recalls; purge."""
    with engine.connect() as conn:
        batch = conn.execute(select(t.batches).where(t.batches.c.batch_id == batch_id)).first()
        if batch is None:
            raise TaxgateError(
                f"the ledger holds no batch {batch_id!r}",
                "Check the batch id (the accounting report lists every batch's disclosures).",
            )
        s = t.subjects.c
        verdicts = conn.execute(
            select(s.proceed, s.reason_codes, func.count())
            .where(s.batch_id == batch_id)
            .group_by(s.proceed, s.reason_codes)
        ).all()
        outcomes = _counted(conn, t.decisions.c.outcome, t.decisions.c.batch_id, batch_id)
        reviews = _counted(conn, t.reviews.c.resolution, t.reviews.c.batch_id, batch_id)
        disclosures = _count(conn, t.disclosures, t.disclosures.c.batch_id, batch_id)
        held = _count(conn, t.subject_data, t.subject_data.c.batch_id, batch_id)
        released_at = conn.execute(
            select(t.responses.c.released_at).where(t.responses.c.batch_id == batch_id)
        ).scalar()
        recalls = recall_statuses(conn, batch_id=batch_id)
        recalled = conn.execute(
            select(func.count(func.distinct(t.recall_items.c.row))).where(
                t.recall_items.c.batch_id == batch_id
            )
        ).scalar_one()
    reasons: Counter[str] = Counter()
    for proceed, codes, n in verdicts:
        if not proceed:
            for code in split_codes(codes):
                reasons[code] += n
    return BatchReport(
        batch_id=batch.batch_id,
        requesting_agency=batch.requesting_agency,
        statute=batch.statute,
        batch_date=batch.batch_date,
        received_at=utc(batch.received_at),
        status=batch.status,
        subject_count=batch.subject_count,
        proceeded=sum(n for proceed, _, n in verdicts if proceed),
        rejected=sum(n for proceed, _, n in verdicts if not proceed),
        gate_reasons=dict(sorted(reasons.items())),
        outcomes=outcomes,
        reviews=reviews,
        disclosures=disclosures,
        released_at=utc(released_at) if released_at else None,
        personal_data_rows=held,
        recalls=recalls,
        recalled_disclosures=recalled,
    )


def _counted(conn: Connection, column: Any, batch_column: Any, batch_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(column, func.count()).where(batch_column == batch_id).group_by(column)
    ).all()
    return dict(sorted((str(value), n) for value, n in rows))


def _count(conn: Connection, table: t.Table, batch_column: Any, batch_id: str) -> int:
    query = select(func.count()).select_from(table).where(batch_column == batch_id)
    return conn.execute(query).scalar_one()


# ---------------------------------------------------------------- CSV and HTML


def write_csv(report: Accounting, path: Path) -> Path:
    """One row per disclosure under a header, and nothing else (totals go to the console)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_csv_rows(fh, CSV_COLUMNS, (r.csv_values() for r in report.rows))
    return path


def totals_table(totals: Totals) -> list[tuple[str, int]]:
    """The totals as (label, count) lines, in the order a reader asks for them."""
    lines = [
        ("batches received", totals.batches),
        ("batches refused by the gate", totals.batches_refused),
        *((f"  reason {code}", n) for code, n in totals.refusals.items()),
        ("subjects requested", totals.requests),
        ("subjects rejected by the gate", totals.rejected),
        *((f"  reason {code}", n) for code, n in totals.rejections.items()),
        ("confirmed (disclosed)", totals.confirmations),
        ("not confirmed", totals.not_confirmed),
        ("reviews by an officer", totals.reviews),
        ("recall notices issued", totals.recalls_issued),
        ("  disclosures recalled", totals.recalled_disclosures),
        ("  notices acknowledged", totals.recalls_acknowledged),
        ("  notices outstanding", totals.recalls_outstanding),
    ]
    return lines


def chart_values(report: Accounting) -> list[dict[str, Any]]:
    """Long-form chart data: one value per day, series and (for rejections) reason code."""
    values: list[dict[str, Any]] = []
    for day in report.days:
        when = day.day.isoformat()
        for series, n in zip(
            LINE_SERIES, (day.requests, day.confirmations, day.recalls), strict=True
        ):
            values.append({"date": when, "series": series, "count": n})
        for code, n in day.rejections.items():
            values.append({"date": when, "series": "rejections", "reason": code, "count": n})
    return values


def chart_spec(report: Accounting) -> dict[str, Any]:
    """Vega-Lite: rejections per day stacked by reason code (bars) under the other series."""
    step = max(1, math.ceil(len(report.days) / MAX_DAY_TICKS))  # whole days between ticks
    x = {
        "field": "date",
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
        "title": "day (UTC)",
        "axis": {"format": "%Y-%m-%d", "tickCount": {"interval": "day", "step": step}},
    }
    y = {
        "field": "count",
        "type": "quantitative",
        "title": "subjects per day",
        "axis": {"tickMinStep": 1, "format": "d"},  # whole subjects: no 0.5 ticks
    }
    date = {"field": "date", "type": "temporal", "title": "day (UTC)"}
    count = {"field": "count", "type": "quantitative"}
    rejections = {
        "transform": [{"filter": "datum.series === 'rejections'"}],
        "mark": {"type": "bar", "opacity": 0.8},
        "encoding": {
            "x": x,
            "y": {**y, "aggregate": "sum", "stack": "zero"},
            "color": {
                "field": "reason",
                "type": "nominal",
                "title": "rejection reason",
                "scale": {"scheme": "tableau20"},
            },
            "tooltip": [date, {"field": "reason", "type": "nominal"}, count],
        },
    }
    others = {
        "transform": [{"filter": "datum.series !== 'rejections'"}],
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": x,
            "y": y,
            "color": {
                "field": "series",
                "type": "nominal",
                "title": "series",
                "scale": {"domain": list(LINE_SERIES), "range": list(LINE_COLOURS)},
            },
            "tooltip": [date, {"field": "series", "type": "nominal"}, count],
        },
    }
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Requests, rejections by reason, confirmations and recalls",
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "data": {"values": chart_values(report)},
        "layer": [rejections, others],
        "resolve": {"scale": {"color": "independent"}},
    }


def _html_table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v}</td>' if isinstance(v, int) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        + "</tr>\n"
        for row in rows
    )
    return f"<table>\n<tr>{head}</tr>\n{body}</table>"


def accounting_html(report: Accounting) -> str:
    """A self-contained page: the chart, the totals and every disclosure of the period."""
    period = f"{report.start.isoformat()} to {report.end.isoformat()}"
    title = f"taxgate accounting of disclosures, {period}"
    body = "\n".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            "<p>Under 26 U.S.C. 6103(p)(3): every request and disclosure of the period (whole "
            "UTC days, both included). Addresses are not shown: only which fields went out.</p>",
            embed_chart("accounting-chart", chart_spec(report)),
            "<h2>Totals</h2>",
            _html_table(("", "count"), totals_table(report.totals)),
            f"<h2>Disclosures ({len(report.rows)})</h2>",
            _html_table(CSV_COLUMNS, (r.csv_values() for r in report.rows)),
        ]
    )
    return offline_page(title, body)
