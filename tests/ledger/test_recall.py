"""Recall: a revised policy replayed over past disclosures; the signed notice; acknowledgement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.keys import load_keyring
from taxgate.ledger import schema as t
from taxgate.ledger.database import open_ledger
from taxgate.ledger.recall import (
    acknowledge,
    issue_recall,
    load_plan,
    outstanding_recalls,
    plan_recall,
    verify_notice,
)
from taxgate.policy import Policy
from tests.ledger.seed import count, last_event, policy_variant, rejected, seed_batch, subject

PO_BOX = "PO Box 123"
ISSUED = datetime(2025, 9, 1, 9, 30, tzinfo=UTC)
ACKNOWLEDGED = datetime(2025, 9, 3, 15, 0, tzinfo=UTC)
ALLOW_PO_BOX = ("allow_po_box = false", "allow_po_box = true")


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    """B-1 still holds its personal data; B-0, an older batch, was purged."""
    engine = open_ledger(database_url)
    seed_batch(
        engine,
        "B-1",
        [
            subject(1),  # a plain street address, confirmed well above any threshold
            subject(2, street=PO_BOX, unit=None),  # confirmed while PO boxes were allowed
            subject(3, probability=0.995),  # above 0.99, below a stricter 0.999
            subject(4, outcome="REVIEW", probability=0.9, review="CONFIRMED"),  # an officer's
            subject(5, street=PO_BOX, unit=None, outcome="NOT_CONFIRMED", probability=0.2),
            rejected(6, "RELEVANCE_MISSING", relevance=None),
            subject(7, weight_gap=6.0),  # a runner-up 6 points behind
        ],
    )
    seed_batch(
        engine,
        "B-0",
        [subject(1, street=PO_BOX, unit=None), subject(2, probability=0.995)],
        received_at=datetime(2024, 6, 1, 12, tzinfo=UTC),
        batch_date=date(2024, 6, 1),
        purged=True,
    )
    yield engine
    engine.dispose()


@pytest.fixture
def po_boxes_allowed(tmp_path: Path) -> Policy:
    """The policy B-0 and B-1 were answered under: PO boxes passed the gate."""
    return policy_variant(tmp_path, "2025.2-po", ALLOW_PO_BOX)


def _items(plan) -> dict[tuple[str, int], tuple[list[str], list[str]]]:
    return {(i.batch_id, i.row): (i.gate_reasons, i.decision_reasons) for i in plan.items}


def test_the_policy_that_made_the_disclosures_recalls_nothing(ledger, po_boxes_allowed) -> None:
    plan = plan_recall(ledger, po_boxes_allowed)
    assert plan.items == []
    assert plan.disclosures_checked == 7  # B-1 rows 1, 2, 3, 4, 7 and B-0 rows 1, 2
    assert [(n.batch_id, n.rules) for n in plan.not_replayable] == [("B-0", "gate")]


def test_refusing_po_boxes_recalls_exactly_the_po_box_disclosures(ledger, policy) -> None:
    assert policy.address.allow_po_box is False
    plan = plan_recall(ledger, policy)
    # B-1 row 5 had a PO box but was never disclosed; B-0 row 1 cannot be gated again.
    assert _items(plan) == {("B-1", 2): (["ADDRESS_PO_BOX"], [])}
    assert plan.items[0].subject_id == "S-2" and plan.items[0].disclosed_on == date(2025, 8, 1)
    (purged,) = plan.not_replayable
    assert (purged.batch_id, purged.rules, purged.disclosures) == ("B-0", "gate", 2)
    assert "purged" in purged.why
    assert plan.policy_version == policy.version and plan.policy_sha256 == policy.sha256


def test_a_stricter_confirm_threshold_recalls_unreviewed_disclosures_below_it(
    ledger, tmp_path: Path
) -> None:
    stricter = policy_variant(
        tmp_path,
        "2025.2-strict",
        ALLOW_PO_BOX,
        ("confirm_threshold = 0.99", "confirm_threshold = 0.999"),
    )
    plan = plan_recall(ledger, stricter)
    # Row 4 sits below too, but an officer confirmed it and 0.9 is still in the review band.
    # B-0 was purged: its decisions are replayed all the same.
    assert _items(plan) == {
        ("B-0", 2): ([], ["BELOW_CONFIRM"]),
        ("B-1", 3): ([], ["BELOW_CONFIRM"]),
    }


def test_a_higher_review_threshold_recalls_what_an_officer_confirmed_below_it(
    ledger, tmp_path: Path
) -> None:
    higher = policy_variant(
        tmp_path,
        "2025.2-review",
        ALLOW_PO_BOX,
        ("review_threshold = 0.80", "review_threshold = 0.95"),
    )
    assert _items(plan_recall(ledger, higher)) == {("B-1", 4): ([], ["BELOW_REVIEW"])}


def test_a_wider_ambiguity_margin_recalls_confirmations_with_a_close_runner_up(
    ledger, tmp_path: Path
) -> None:
    wider = policy_variant(
        tmp_path,
        "2025.2-margin",
        ALLOW_PO_BOX,
        ("ambiguity_margin = 5.0", "ambiguity_margin = 8.0"),
    )
    assert _items(plan_recall(ledger, wider)) == {("B-1", 7): ([], ["AMBIGUOUS_RUNNER_UP"])}


def test_the_plan_is_reproducible_and_refused_once_edited(ledger, policy, tmp_path: Path) -> None:
    path = plan_recall(ledger, policy).save(tmp_path / "plan.json")
    again = plan_recall(ledger, policy).save(tmp_path / "again.json")
    assert path.read_bytes() == again.read_bytes()
    plan = load_plan(path)
    assert plan.plan_sha256 == plan.digest() and len(plan.plan_sha256) == 64

    data = json.loads(path.read_text(encoding="utf-8"))
    data["items"][0]["row"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FormatError, match="changed after it was made"):
        load_plan(path)


@pytest.fixture
def issued(ledger, policy, disclosing_key, tmp_path: Path) -> Path:
    key_path, _ = disclosing_key
    plan_path = plan_recall(ledger, policy).save(tmp_path / "plan.json")
    return issue_recall(ledger, plan_path, key_path, tmp_path / "notices", now=ISSUED)


def test_the_notice_is_signed_recorded_and_logged_in_one_go(
    ledger, issued: Path, disclosing_key
) -> None:
    _, keyring_dir = disclosing_key
    assert verify_notice(issued, load_keyring(keyring_dir)) == []
    assert [p.name for p in issued.parent.iterdir()] == [issued.name]  # nothing left aside
    notice = json.loads(issued.read_text(encoding="utf-8"))
    assert notice["recipient_agency"] == "Requesting Agency"
    assert notice["disclosing_agency"] == "Disclosing Agency"
    assert [(i["batch_id"], i["row"], i["subject_id"]) for i in notice["items"]] == [
        ("B-1", 2, "S-2")
    ]
    assert "ADDRESS_PO_BOX" not in issued.read_text(encoding="utf-8")  # reasons stay here

    with ledger.connect() as conn:
        recall = conn.execute(select(t.recalls)).one()
        items = conn.execute(select(t.recall_items)).all()
    assert recall.notice_id == notice["notice_id"] and recall.notice_path == str(issued)
    assert [(i.batch_id, i.row, i.reasons) for i in items] == [("B-1", 2, "ADDRESS_PO_BOX")]
    kind, leaf = last_event(ledger)
    assert kind == "recall_issued" and leaf["notice_id"] == notice["notice_id"]
    assert leaf["disclosures_recalled"] == 1 and leaf["notice_sha256"] == recall.notice_sha256


def test_a_tampered_notice_does_not_verify(issued: Path, disclosing_key) -> None:
    _, keyring_dir = disclosing_key
    notice = json.loads(issued.read_text(encoding="utf-8"))
    notice["items"][0]["subject_id"] = "S-1"
    issued.write_text(json.dumps(notice), encoding="utf-8")
    problems = verify_notice(issued, load_keyring(keyring_dir))
    assert [p.code for p in problems] == ["SIGNATURE_INVALID"]


def test_issuing_the_same_plan_twice_is_refused(
    ledger, issued: Path, disclosing_key, tmp_path: Path
) -> None:
    key_path, _ = disclosing_key
    with pytest.raises(TaxgateError, match="already issued as notice"):
        issue_recall(ledger, tmp_path / "plan.json", key_path, tmp_path / "elsewhere")
    assert count(ledger, t.recalls) == 1 and count(ledger, t.recall_items) == 1
    assert not (tmp_path / "elsewhere").exists()


def test_a_new_plan_leaves_out_what_is_recalled(ledger, issued: Path, policy, tmp_path) -> None:
    plan = plan_recall(ledger, policy)
    assert plan.items == [] and plan.already_recalled == 1
    with pytest.raises(TaxgateError, match="recalls no disclosure"):
        issue_recall(ledger, plan.save(tmp_path / "empty.json"), tmp_path / "k.key", tmp_path)


def test_a_stale_plan_overtaken_by_a_recall_is_refused(
    ledger, policy, disclosing_key, tmp_path: Path
) -> None:
    key_path, _ = disclosing_key
    first = plan_recall(ledger, policy).save(tmp_path / "first.json")
    # Made before the first was issued, under another policy recalling the same disclosure.
    other = policy_variant(
        tmp_path, "2025.2-other", ("min_relevance_chars = 20", "min_relevance_chars = 21")
    )
    second = plan_recall(ledger, other).save(tmp_path / "second.json")
    issue_recall(ledger, first, key_path, tmp_path / "notices", now=ISSUED)
    with pytest.raises(TaxgateError, match="recalled since it was made"):
        issue_recall(ledger, second, key_path, tmp_path / "notices", now=ISSUED)
    assert count(ledger, t.recalls) == 1


def test_acknowledgement_is_recorded_once_and_clears_the_outstanding(ledger, issued: Path) -> None:
    (outstanding,) = outstanding_recalls(ledger)
    assert outstanding.items == 1 and outstanding.acknowledged_at is None
    status = acknowledge(ledger, issued, "Requesting Agency", now=ACKNOWLEDGED)
    assert status.acknowledged_by == "Requesting Agency" and status.acknowledged_at == ACKNOWLEDGED
    assert outstanding_recalls(ledger) == []
    kind, leaf = last_event(ledger)
    assert kind == "acknowledgement" and leaf["notice_id"] == outstanding.notice_id
    with pytest.raises(TaxgateError, match="already acknowledged by Requesting Agency"):
        acknowledge(ledger, issued, "Requesting Agency")
    assert count(ledger, t.acknowledgements) == 1


def test_an_unknown_or_altered_notice_is_not_acknowledged(ledger, issued: Path) -> None:
    notice = json.loads(issued.read_text(encoding="utf-8"))
    unknown = issued.with_name("unknown.json")
    unknown.write_text(json.dumps(notice | {"notice_id": "RECALL-0000"}), encoding="utf-8")
    with pytest.raises(TaxgateError, match="never issued"):
        acknowledge(ledger, unknown, "Requesting Agency")
    altered = issued.with_name("altered.json")
    altered.write_text(json.dumps(notice | {"recipient_agency": "Another Agency"}), "utf-8")
    with pytest.raises(TaxgateError, match="SHA-256 differs"):
        acknowledge(ledger, altered, "Requesting Agency")
    assert count(ledger, t.acknowledgements) == 0
    assert len(outstanding_recalls(ledger)) == 1
