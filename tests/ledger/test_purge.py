"""Retention purge: personal data of old batches goes; the accounting and the log stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from taxgate.errors import TaxgateError
from taxgate.formats.keys import load_keyring
from taxgate.ledger import schema as t
from taxgate.ledger.audit import verify_log
from taxgate.ledger.database import open_ledger
from taxgate.ledger.log import make_checkpoint
from taxgate.ledger.purge import latest_allowed, purge, purge_preview
from taxgate.ledger.recall import plan_recall
from tests.ledger.seed import count, last_event, rejected, seed_batch, subject

NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
OLD = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # older than the 365-day retention at NOW
LATEST = date(2024, 9, 1)  # NOW less 365 days: the latest --before the policy allows
KEPT = ("batches", "subjects", "decisions", "reviews", "disclosures", "responses")


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    engine = open_ledger(database_url)
    seed_batch(
        engine,
        "OLD",
        [
            subject(1, removal_order_date="2023-06-01"),
            subject(2, outcome="REVIEW", probability=0.9, review="NOT_CONFIRMED"),
        ],
        received_at=OLD,
        batch_date=OLD.date(),
    )
    seed_batch(engine, "NEW", [subject(1), rejected(2, "ADDRESS_ZIP_ONLY"), subject(3)])
    yield engine
    engine.dispose()


def _counts(engine: Engine) -> dict[str, int]:
    return {name: count(engine, t.metadata.tables[name]) for name in KEPT}


def test_the_policy_keeps_personal_data_a_year(policy) -> None:
    assert policy.retention.subject_data_days == 365
    assert latest_allowed(policy, NOW) == LATEST


def test_purge_deletes_old_personal_data_only(ledger, policy) -> None:
    kept, logged = _counts(ledger), count(ledger, t.log_events)
    result = purge(ledger, LATEST, policy, NOW)
    assert [b.batch_id for b in result.batches] == ["OLD"] and result.subjects_purged == 2
    assert count(ledger, t.subject_data, batch_id="OLD") == 0
    assert count(ledger, t.subject_data, batch_id="NEW") == 3
    assert _counts(ledger) == kept  # decisions, disclosures, reviews ... all still there
    assert count(ledger, t.log_events) == logged + 1
    with ledger.connect() as conn:
        row = conn.execute(select(t.purges)).one()
    assert (row.id, row.before_date, row.subjects_purged) == (result.purge_id, LATEST, 2)


def test_the_purge_is_logged_without_personal_data(ledger, policy) -> None:
    purge(ledger, LATEST, policy, NOW)
    kind, leaf = last_event(ledger)
    assert kind == "purge"
    assert leaf == {
        "kind": "purge",
        "key": "purge:1",
        "batch_id": None,
        "recorded_at": "2025-09-01T12:00:00.000000Z",
        "before_date": "2024-09-01",
        "subjects_purged": 2,
        "batches_purged": 1,
        "retention_days": 365,
        "policy_version": policy.version,
        "policy_sha256": policy.sha256,
    }


def test_a_date_inside_the_retention_period_is_refused(ledger, policy) -> None:
    logged = count(ledger, t.log_events)
    with pytest.raises(TaxgateError, match="--before 2024-09-01 or earlier") as refused:
        purge(ledger, LATEST + timedelta(days=1), policy, NOW)
    assert "365 days" in str(refused.value)
    with pytest.raises(TaxgateError, match="retention period"):
        purge_preview(ledger, LATEST + timedelta(days=1), policy, NOW)
    assert count(ledger, t.subject_data) == 5
    assert count(ledger, t.purges) == 0 and count(ledger, t.log_events) == logged


def test_only_batches_received_before_the_date_are_purged(ledger, policy) -> None:
    result = purge(ledger, OLD.date(), policy, NOW)  # OLD arrived at noon that day
    assert result.batches == () and count(ledger, t.subject_data) == 5
    assert count(ledger, t.purges) == 1  # the run itself is on record, with nothing purged


def test_a_preview_changes_nothing_and_a_second_purge_finds_nothing(ledger, policy) -> None:
    preview = purge_preview(ledger, LATEST, policy, NOW)
    assert preview.purge_id is None and preview.subjects_purged == 2
    assert count(ledger, t.subject_data) == 5 and count(ledger, t.purges) == 0
    purge(ledger, LATEST, policy, NOW)
    again = purge(ledger, LATEST, policy, NOW + timedelta(days=1))
    assert again.subjects_purged == 0 and again.purge_id == 2
    assert last_event(ledger)[1]["key"] == "purge:2"


def test_a_purged_batch_can_no_longer_be_gated_again(ledger, policy) -> None:
    before = plan_recall(ledger, policy)
    assert before.not_replayable == [] and before.items == []
    purge(ledger, LATEST, policy, NOW)
    after = plan_recall(ledger, policy)
    (gap,) = after.not_replayable
    assert (gap.batch_id, gap.rules, gap.disclosures) == ("OLD", "gate", 1)
    assert after.items == [] and after.disclosures_checked == before.disclosures_checked == 3


def test_the_log_still_verifies_after_a_purge(ledger, policy, disclosing_key) -> None:
    key_path, keyring_dir = disclosing_key
    _, before = make_checkpoint(ledger, key_path)
    purge(ledger, LATEST, policy, NOW)
    make_checkpoint(ledger, key_path)
    report = verify_log(ledger, load_keyring(keyring_dir), since=before)
    assert report.ok, report.failures
    assert report.checkpoints_checked == 2 and report.tree_size == count(ledger, t.log_events)
