"""Blocking's pairs grow with the people at one address or on one street, not with the namesakes
in one ZIP (a ZIP and a family key alone made 479 pairs a subject against 20M people), except
where the decision needs the namesakes: a request without a birth date to tell them apart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from taxgate.formats.tables import records_to_table, write_table
from taxgate.match.blocking import comparison_counts
from taxgate.match.master import load_filings
from taxgate.normalize.records import normalise

SUBJECT_HOUSE = 7


def _filing(i: int) -> dict:
    """Namesake i of one ZIP: the same name, a street of its own, a birth date of its own."""
    return {
        "tin": f"{100000000 + i}",
        "tax_year": 2023,
        "filed_on": date(2024, 4, 1),
        "given_name": "Ana María",
        "middle_name": None,
        "family_name": "García López",
        "suffix": None,
        "date_of_birth": date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
        "street": f"{i} {i}th Street",
        "unit": None,
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
    }


def _subject(born: str | None) -> pa.Table:
    row = {
        "subject_id": "S-1", "given_name": "Ana Maria", "middle_name": None,
        "family_name": "Garcia Lopez", "date_of_birth": born, "tin": None,
        "street": f"{SUBJECT_HOUSE} {SUBJECT_HOUSE}th St", "unit": None, "city": "Austin",
        "state": "TX", "zip": "78701", "removal_order_date": None, "removal_order_case": None,
        "investigation_id": None, "taxable_periods": None, "relevance": None,
    }  # fmt: skip
    return normalise(records_to_table([row], "subjects"), "subjects")


def _home(tmp_path: Path, namesakes: int) -> Path:
    filings = write_table(
        records_to_table([_filing(i) for i in range(1, namesakes + 1)], "filings"),
        tmp_path / "filings.parquet",
        "filings",
    )
    home = tmp_path / "home"
    load_filings([filings], home)
    return home


@pytest.mark.parametrize("namesakes", [50, 400])
def test_a_subject_with_a_birth_date_meets_the_people_at_its_address_not_its_namesakes(
    tmp_path: Path, namesakes: int
) -> None:
    counts = comparison_counts(_subject("1931-02-02"), _home(tmp_path, namesakes))
    assert counts[-1]["cumulative"] == 1  # the namesake at house 7, and no other


def test_a_subject_without_a_birth_date_meets_every_namesake_in_its_zip(tmp_path: Path) -> None:
    """Nothing but the decision can tell them apart, and it can only weigh what it is shown."""
    counts = comparison_counts(_subject(None), _home(tmp_path, 50))
    assert counts[-1]["cumulative"] == 50
