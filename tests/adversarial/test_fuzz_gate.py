"""The gate on random subject rows: it never crashes, and every row it lets through meets the rules.

The invariants are written here from the policy, independently of the gate's own code: a row
that proceeds has every required field, an order at least the policy's days old, well-formed
dates, periods, ZIP, TIN and state, no placeholder for a street or city, a unique subject_id.
A stricter gate still passes; a gate that lets a bad row through fails. Bounded by
`max_examples`; `deadline=None` because a shared machine has slow moments.
"""

from __future__ import annotations

import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxgate.formats.keys import new_key
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.records import Subject
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import columns, write_table
from taxgate.gate.history import MemoryHistory
from taxgate.gate.run import check_subjects, run_gate
from taxgate.gate.tin import tin_is_valid
from taxgate.normalize.text import fold
from taxgate.policy import load_policy
from tests.support import ATTESTATION, BATCH_DATE, valid_row

POLICY = load_policy()
RULES = POLICY.subject
PLACEHOLDERS = {fold(p) for p in POLICY.address.placeholders}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ZIP = re.compile(r"^\d{5}(?:-?\d{4})?$")
YEARS = re.compile(r"^\d{4}(?:[;,\s]+\d{4})*$")
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
near_threshold = st.integers(min_value=-3, max_value=3).map(
    lambda k: (BATCH_DATE - timedelta(days=RULES.min_days_since_order + k)).isoformat()
)
date_text = st.one_of(
    near_threshold,
    st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat),
    st.sampled_from(
        [
            "2024-02-30",
            "2023-02-29",
            "2024-1-10",
            "10/01/2024",
            " 2024-01-10 ",
            "2024-01-10T00",
            "\uff12\uff10\uff12\uff14-01-10",
            "2024\u201101\u201110",
            "+2024-01-10",
            "20240110",
            "0000-00-00",
        ]
    ),
)
odd = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "\u200b",
        "\u00a0",
        "\x00",
        "x" * (RULES.max_field_chars + 1),
        "N/A",
        "REFUSED",
        "Unknown",
        "0",
        "00000",
        "PO Box 12",
        "\u202e",
        "=1+1",
    ]
)
VALID = valid_row()


def field(name: str) -> st.SearchStrategy[str | None]:
    base = [st.none(), st.just(VALID[name]), odd, text]
    if name in ("removal_order_date", "date_of_birth"):
        base.append(date_text)
    if name == "taxable_periods":
        base.append(
            st.lists(st.integers(1990, 2030), min_size=1, max_size=3).map(
                lambda ys: ";".join(map(str, ys))
            )
        )
    if name == "zip":
        base.append(st.from_regex(r"\A\d{5}(-?\d{4})?\Z"))
    if name == "tin":
        base.append(st.from_regex(r"\A\d{3}-?\d{2}-?\d{4}\Z"))
    if name == "subject_id":
        base.append(st.sampled_from(["S-1", "S-2", " S-1 "]))
    # Most rows keep most fields valid, so rows that pass are generated often.
    return st.one_of(st.just(VALID[name]), st.just(VALID[name]), st.one_of(*base))


rows = st.fixed_dictionaries({name: field(name) for name in columns("subjects")})


def _present(value: str | None) -> bool:
    """A value holds a letter or a digit: spaces, invisible characters and punctuation alone
    are no value (test_a_required_field_of_invisible_characters_is_missing)."""
    return value is not None and any(c.isalnum() for c in value)


def _day(value: str | None) -> date | None:
    if value is None or not ISO.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def violations(row: dict[str, str | None], submitted_on: date) -> list[str]:
    """Every rule a proceeding row would break; empty when the row may proceed."""
    bad = []
    for name in RULES.required:
        if not _present(row.get(name)):
            bad.append(f"{name} missing")
    for name in ("given_name", "family_name"):
        if _present(row[name]) and not any(c.isalnum() for c in row[name]):
            bad.append(f"{name} has no letter")
    for name, value in row.items():
        if value is not None and _present(value):
            if len(value) > RULES.max_field_chars:
                bad.append(f"{name} too long")
            if CONTROL.search(value):
                bad.append(f"{name} has a control character")
    order = _day(row["removal_order_date"])
    if order is None or (submitted_on - order).days < RULES.min_days_since_order:
        bad.append("order date invalid or too recent")
    if _present(row["date_of_birth"]):
        born = _day(row["date_of_birth"])
        if born is None or born.year < RULES.earliest_birth_year or born > submitted_on:
            bad.append("date of birth malformed")
    periods = (row["taxable_periods"] or "").strip()
    if _present(periods):
        if not YEARS.match(periods):
            bad.append("taxable periods malformed")
        elif any(
            not RULES.earliest_taxable_period <= int(y) <= submitted_on.year
            for y in re.split(r"[;,\s]+", periods)
        ):
            bad.append("taxable period out of range")
    if _present(row["relevance"]) and len(row["relevance"].strip()) < RULES.min_relevance_chars:
        bad.append("relevance too short")
    if _present(row["zip"]) and not ZIP.match(row["zip"].strip()):
        bad.append("zip malformed")
    if _present(row["tin"]) and not tin_is_valid(row["tin"], POLICY.tin):
        bad.append("tin invalid")
    if not _present(row["street"]):
        bad.append("no street")
    for name in ("street", "city"):
        if _present(row[name]) and fold(row[name]) in PLACEHOLDERS:
            bad.append(f"{name} is a placeholder")
    if not (_present(row["zip"]) or (_present(row["city"]) and _present(row["state"]))):
        bad.append("no locality")
    return bad


def _table(batch: list[dict]) -> pa.Table:
    names = columns("subjects")
    return pa.table({n: pa.array([r[n] for r in batch], pa.string()) for n in names})


def _check_verdicts(batch: list[dict], proceed: list[bool], submitted_on: date) -> None:
    assert len(proceed) == len(batch)
    for row, ok in zip(batch, proceed, strict=True):
        if ok:
            assert violations(row, submitted_on) == [], row
    ids = [r["subject_id"].strip() for r, ok in zip(batch, proceed, strict=True) if ok]
    assert len(ids) == len(set(ids)), "a subject_id proceeded twice"


def test_the_valid_row_meets_every_invariant() -> None:
    assert violations(VALID, BATCH_DATE) == []
    verdicts, _ = check_subjects(_table([VALID]), POLICY, BATCH_DATE)
    assert verdicts.column("proceed").to_pylist() == [True]


@FUZZ
@given(st.lists(rows, min_size=1, max_size=6))
def test_random_rows_never_crash_and_only_valid_rows_proceed(batch) -> None:
    verdicts, _ = check_subjects(_table(batch), POLICY, BATCH_DATE)
    assert verdicts.num_rows == len(batch)
    proceed = verdicts.column("proceed").to_pylist()
    _check_verdicts(batch, proceed, BATCH_DATE)
    for ok, codes in zip(proceed, verdicts.column("reason_codes").to_pylist(), strict=True):
        assert ok == (not codes), "a refused row names its reasons; a proceeding row none"


@FUZZ
@given(rows, st.integers(min_value=-5, max_value=5))
def test_the_order_date_rule_holds_at_the_boundary(row, shift) -> None:
    day = BATCH_DATE - timedelta(days=RULES.min_days_since_order + shift)
    row = {**row, "removal_order_date": day.isoformat()}
    verdicts, _ = check_subjects(_table([row]), POLICY, BATCH_DATE)
    proceed = verdicts.column("proceed").to_pylist()
    _check_verdicts([row], proceed, BATCH_DATE)
    if shift < 0:
        assert proceed == [False]


@FUZZ
@given(st.lists(rows, min_size=1, max_size=3))
def test_the_same_rows_as_string_or_large_string_or_dictionary_columns_agree(batch) -> None:
    plain, _ = check_subjects(_table(batch), POLICY, BATCH_DATE)
    names = columns("subjects")
    large = pa.table({n: pa.array([r[n] for r in batch], pa.large_string()) for n in names})
    encoded = pa.table(
        {n: pa.array([r[n] for r in batch], pa.string()).dictionary_encode() for n in names}
    )
    for other in (large, encoded):
        again, _ = check_subjects(other, POLICY, BATCH_DATE)
        assert again.column("proceed").to_pylist() == plain.column("proceed").to_pylist()


KEY = new_key("Requesting Agency", "Pat Example", "Director", created_on=BATCH_DATE, seed=b"f")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=1, max_size=4), st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_run_gate_on_a_signed_batch_of_random_rows(batch, suffix) -> None:
    private, record = KEY
    with tempfile.TemporaryDirectory() as folder:
        table_path = Path(folder) / f"subjects{suffix}"
        write_table(_table(batch), table_path, "subjects")
        path = Path(folder) / "manifest.json"
        manifest = RequestManifest(
            batch_id="B-fuzz",
            requesting_agency="Requesting Agency",
            submitted_on=BATCH_DATE,
            signer=Signer(name="Pat Example", title="Director"),
            statutory_authority=POLICY.batch.accepted_statutes[0],
            attestation=ATTESTATION,
            subjects_file=table_path.name,
        )
        sign_manifest(manifest, path, private, record).save(path)
        result = run_gate(path, {record.key_id: record}, POLICY, MemoryHistory(), b"s")
        if not result.batch.accepted:  # refused whole (e.g. by a later batch rule): none proceed
            assert result.verdicts is None
            return
        read_back = [dict(zip(columns("subjects"), r, strict=True)) for r in _rows(result)]
        _check_verdicts(read_back, result.verdicts.column("proceed").to_pylist(), BATCH_DATE)
        assert all(Subject(**r) for r in read_back)


def _rows(result) -> list[tuple]:
    subjects = result.subjects
    return list(zip(*(subjects.column(n).to_pylist() for n in columns("subjects")), strict=True))


INVISIBLE = ["\u00a0", "\u2003", "\u3000", "\u200b", "\ufeff", "\u00a0\u200b "]


@pytest.mark.parametrize("name", ["subject_id", "removal_order_case", "investigation_id"])
@pytest.mark.parametrize("blank", INVISIBLE, ids=[ascii(b) for b in INVISIBLE])
def test_a_required_field_of_invisible_characters_is_missing(name: str, blank: str) -> None:
    """Found by the fuzzing above: a no-break space alone passed as a subject_id."""
    verdicts, _ = check_subjects(_table([{**VALID, name: blank}]), POLICY, BATCH_DATE)
    assert verdicts.column("proceed").to_pylist() == [False]
