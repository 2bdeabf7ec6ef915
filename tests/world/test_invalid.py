"""Every invalid request has exactly one defect, the one its expected reason code names."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from taxgate.formats.codes import Outcome, split_codes
from taxgate.world.distort import PLACEHOLDERS
from taxgate.world.tins import is_valid_tin

MIN_DAYS = 90


def _iso(text: str | None) -> date | None:
    if not text or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _fold(text: str | None) -> str:
    return " ".join(re.sub(r"[^A-Z0-9]", " ", (text or "").upper()).split())


def defects(row: dict, batch_date: date, id_counts: Counter) -> set[str]:
    """An independent reading of the request rules: the codes this row deserves."""
    found: set[str] = set()
    if id_counts[row["subject_id"]] > 1:
        found.add("DUPLICATE_SUBJECT")
    if not row["given_name"] or not row["family_name"]:
        found.add("NAME_INCOMPLETE")
    street, city, zip_ = row["street"], row["city"], row["zip"]
    if street and _fold(street) in {_fold(p) for p in PLACEHOLDERS}:
        found.add("ADDRESS_PLACEHOLDER")
    elif not street and zip_ and not city:
        found.add("ADDRESS_ZIP_ONLY")
    elif not street and city and not zip_:
        found.add("ADDRESS_CITY_ONLY")
    elif not street:
        found.add("ADDRESS_MISSING")
    order = _iso(row["removal_order_date"])
    if order is None or order > batch_date:
        found.add("ORDER_DATE_INVALID")
    elif (batch_date - order).days < MIN_DAYS:
        found.add("ORDER_TOO_RECENT")
    for field, code in (
        ("investigation_id", "INVESTIGATION_MISSING"),
        ("taxable_periods", "TAXABLE_PERIODS_MISSING"),
        ("relevance", "RELEVANCE_MISSING"),
        ("removal_order_case", "ORDER_CASE_MISSING"),
    ):
        if not row[field]:
            found.add(code)
    if row["tin"] and not is_valid_tin(row["tin"]):
        found.add("TIN_INVALID")
    if row["date_of_birth"] and _iso(row["date_of_birth"]) is None:
        found.add("FIELD_MALFORMED")
    return found


def test_every_row_has_exactly_its_expected_codes(world) -> None:
    batch = world.config.batch
    ids = Counter(s["subject_id"] for s in world.subjects)
    for subject, truth in world.rows():
        expected = set(split_codes(truth["expected_reason_codes"]))
        assert defects(subject, batch, ids) == expected, (truth["case"], subject)
        assert (truth["expected_outcome"] == Outcome.REJECTED) == bool(expected)


def test_invalid_share_is_realistic(world) -> None:
    rejected = sum(t["expected_outcome"] == Outcome.REJECTED for t in world.truth)
    placeholders = sum(t["case"].startswith("placeholder") for t in world.truth)
    assert 0.10 <= rejected / len(world.truth) <= 0.15
    assert 0.04 <= placeholders / len(world.truth) <= 0.06


def _rows(world, case: str) -> list[dict]:
    rows = [s for s, t in world.rows() if t["case"] == case]
    assert rows, f"no {case} rows"
    return rows


def test_too_recent_orders_are_0_to_89_days_old_with_both_ends(world) -> None:
    ages = {(world.config.batch - date.fromisoformat(r["removal_order_date"])).days
            for r in _rows(world, "order_too_recent")}  # fmt: skip
    assert ages <= set(range(90)) and {0, 89} <= ages


def test_day_90_is_present_and_valid(world) -> None:
    for r, t in [(s, t) for s, t in world.rows() if t["case"] == "order_boundary_day_90"]:
        assert (world.config.batch - date.fromisoformat(r["removal_order_date"])).days == 90
        assert t["expected_outcome"] != Outcome.REJECTED


def test_placeholder_streets_come_from_the_list_in_varied_forms(world) -> None:
    streets = [r["street"] for r in _rows(world, "placeholder_address")]
    assert all(_fold(s) in {_fold(p) for p in PLACEHOLDERS} for s in streets)
    assert len(set(streets)) > len(PLACEHOLDERS)  # case and spacing vary


def test_failed_to_provide_carries_the_filers_right_tin(world) -> None:
    tins = set(world.filings.column("tin").to_pylist())
    for r, t in [(s, t) for s, t in world.rows() if t["case"] == "placeholder_address_right_tin"]:
        assert _fold(r["street"]) == "FAILED TO PROVIDE"
        assert r["tin"] == t["tin"] and r["tin"] in tins


def test_duplicate_ids_come_in_pairs_of_different_people(world) -> None:
    rows = _rows(world, "duplicate_subject_id")
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["subject_id"], []).append(r)
    assert all(len(v) == 2 for v in by_id.values())
    assert all(a["family_name"] != b["family_name"] or a["given_name"] != b["given_name"]
               for a, b in by_id.values())  # fmt: skip


@pytest.mark.parametrize(
    "case", ["order_date_malformed", "dob_malformed", "tin_invalid", "order_date_future"]
)
def test_malformed_values_vary(world, case: str) -> None:
    field = {"dob_malformed": "date_of_birth", "tin_invalid": "tin"}.get(case, "removal_order_date")
    values = {r[field] for r in _rows(world, case)}
    assert len(values) >= 2


def test_gate_agrees_with_the_expected_codes(world) -> None:
    """Cross-check with the project's own gate: it must give exactly the expected codes."""
    gate = pytest.importorskip("taxgate.gate.run")
    from taxgate.formats.tables import read_table
    from taxgate.policy.model import load_policy

    subjects = read_table(world.summary.paths.subjects, "subjects")
    verdicts, _ = gate.check_subjects(subjects, load_policy(), world.config.batch)
    for verdict, truth in zip(verdicts.to_pylist(), world.truth, strict=True):
        expected = (
            truth["expected_reason_codes"] if truth["expected_outcome"] == "REJECTED" else None
        )
        assert verdict["reason_codes"] == expected, (truth["case"], verdict["detail"])
