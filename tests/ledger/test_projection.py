"""The projection specs: how a row's fields are logged, and the order-free set digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxgate.ledger import projection as p
from taxgate.ledger import schema as t

SECRET = b"s" * 32


def test_plain_keyed_sha256_fixed_date_and_time_values() -> None:
    assert p.logged_value(p.How.PLAIN, True, None) is True
    assert p.logged_value(p.How.KEYED, "900700001", SECRET) == p.keyed(SECRET, "900700001")
    assert p.logged_value(p.How.KEYED, None, None) is None  # nothing to key, no secret needed
    assert p.logged_value(p.How.SHA256, "note", None) == p.sha256_text("note")
    assert p.logged_value(p.How.FIXED, 0.5, None) == "0.500000000"
    assert p.logged_value(p.How.DATE, date(2025, 8, 1), None) == "2025-08-01"
    eastern = datetime(2025, 8, 1, 8, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert p.logged_value(p.How.TIME, eastern, None) == "2025-08-01T12:00:00.000000Z"
    naive = datetime(2025, 8, 1, 12, 0)  # SQLite hands back UTC without its zone
    assert p.logged_value(p.How.TIME, naive, None) == "2025-08-01T12:00:00.000000Z"


def test_a_keyed_field_without_the_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        p.logged_value(p.How.KEYED, "S-1", None)


def test_a_body_holds_no_personal_value() -> None:
    row = {"batch_id": "B-1", "row": 1, "subject_id": "S-1", "recipient_agency": "R",
           "statute": "s", "fields_disclosed": "street", "address_tax_year": 2024,
           "address_key": "k", "policy_version": "v", "policy_sha256": "p",
           "model_sha256": "m", "disclosed_at": datetime(2025, 8, 1, tzinfo=UTC)}  # fmt: skip
    body = p.body_of(p.DISCLOSURES, row, SECRET)
    assert "S-1" not in body.values() and body["subject_ref_key"] == p.keyed(SECRET, "S-1")
    assert p.DISCLOSURES.key(row) == "disclosure:B-1:1"


def test_every_spec_names_real_columns() -> None:
    for spec in (*p.BATCH_SPECS, *p.LEDGER_SPECS, p.GATE_BATCHES):
        for f in spec.fields:
            assert f.column in spec.table.columns, (spec.name, f.column)
        assert spec.time is None or spec.time in spec.table.columns
        assert spec.receipt is None or spec.receipt in spec.table.columns
    assert p.SUBJECT_DATA.table is t.subject_data


@settings(max_examples=50, deadline=None)
@given(st.sets(st.text(max_size=20), max_size=30), st.randoms(use_true_random=False))
def test_the_set_digest_is_order_free_and_composes(items: set[str], rnd) -> None:
    ordered = sorted(items)
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert p.set_digest(ordered) == p.set_digest(shuffled)
    half = len(ordered) // 2
    parts = [p.set_digest(ordered[:half]), p.set_digest(ordered[half:])]
    assert p.add_digests(parts) == p.set_digest(ordered)
    if items:
        assert p.set_digest(ordered[1:]) != p.set_digest(ordered)  # one removed shows
