from __future__ import annotations

import json

import pytest

from taxgate.formats.keys import new_key
from taxgate.formats.manifest import BATCH_ID_MAX_LENGTH, RequestManifest
from taxgate.gate.history import MemoryHistory
from taxgate.gate.reasons import BatchReason
from taxgate.gate.run import run_gate
from taxgate.ledger.database import open_ledger
from taxgate.ledger.gate_history import SqlGateHistory
from tests.conftest import BACKENDS, url_for
from tests.support import BATCH_DATE, RECEIVED_AT, valid_row

SECRET = b"test-secret"


def gate(path, keyring, policy, history=None, received_at=RECEIVED_AT):
    return run_gate(
        path, keyring, policy, history or MemoryHistory(), SECRET, received_at=received_at
    )


def test_valid_batch_proceeds_with_verdicts(make_batch, keyring, policy) -> None:
    rows = [valid_row(subject_id="S-1"), valid_row(subject_id="S-2", street="N/A")]
    result = gate(make_batch(rows), keyring, policy)
    assert result.batch.accepted and result.batch.reason is None
    assert result.verdicts.column("proceed").to_pylist() == [True, False]
    assert result.proceeding().column("subject_id").to_pylist() == ["S-1"]
    assert result.batch.policy_sha256 == policy.sha256


def test_tampered_subjects_refuse_the_batch(make_batch, keyring, policy) -> None:
    path = make_batch([valid_row()])
    subjects = path.parent / "subjects.csv"
    subjects.write_bytes(subjects.read_bytes().replace(b"Austin", b"Austim"))
    result = gate(path, keyring, policy)
    assert not result.batch.accepted and result.verdicts is None
    assert result.batch.reason is BatchReason.TABLE_CHANGED


def test_unknown_key_refuses_the_batch(make_batch, policy) -> None:
    result = gate(make_batch([valid_row()]), {}, policy)
    assert result.batch.reason is BatchReason.KEY_UNKNOWN


def test_signer_must_be_authorised(make_batch, policy) -> None:
    clerk = new_key("Requesting Agency", "Sam Clerk", "Clerk", created_on=BATCH_DATE, seed=b"c")
    path = make_batch([valid_row()], key=clerk)
    result = gate(path, {clerk[1].key_id: clerk[1]}, policy)
    assert result.batch.reason is BatchReason.SIGNER_NOT_AUTHORISED
    assert "Sam Clerk" in result.batch.message


def test_pinned_key_ids_are_enforced(make_batch, keyring, policy) -> None:
    signers = [
        s.model_copy(update={"key_ids": ["ed25519:0000000000000000"]}) for s in policy.signers
    ]
    pinned = policy.model_copy(update={"signers": signers})
    assert gate(make_batch([valid_row()]), keyring, pinned).batch.reason is (
        BatchReason.SIGNER_NOT_AUTHORISED
    )


def test_other_agencys_key_is_refused(make_batch, policy) -> None:
    other = new_key("Other Agency", "Pat Example", "Director", created_on=BATCH_DATE, seed=b"o")
    path = make_batch([valid_row()], key=other)
    result = gate(path, {other[1].key_id: other[1]}, policy)
    assert result.batch.reason is BatchReason.KEY_AGENCY_MISMATCH


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("statutory_authority", "18 U.S.C. 1001", BatchReason.STATUTE_NOT_ACCEPTED),
        ("attestation", "We promise.", BatchReason.ATTESTATION_INCOMPLETE),
    ],
)
def test_manifest_terms(make_batch, keyring, policy, field, value, reason) -> None:
    result = gate(make_batch([valid_row()], **{field: value}), keyring, policy)
    assert result.batch.reason is reason


def test_statute_spacing_is_tolerated(make_batch, keyring, policy) -> None:
    path = make_batch([valid_row()], statutory_authority=" 8 U.S.C.  1253(a)(1) ")
    assert gate(path, keyring, policy).batch.accepted


def test_batch_size_limit(make_batch, keyring, policy) -> None:
    small = policy.model_copy(update={"batch": policy.batch.model_copy(update={"max_subjects": 1})})
    rows = [valid_row(subject_id="S-1"), valid_row(subject_id="S-2")]
    assert gate(make_batch(rows), keyring, small).batch.reason is BatchReason.BATCH_TOO_LARGE


def test_unreadable_manifest_is_a_verdict_not_a_crash(tmp_path, keyring, policy) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(b"\xff{not json")
    result = gate(path, keyring, policy)
    assert result.batch.reason is BatchReason.MANIFEST_UNREADABLE
    assert "manifest.json" in result.batch.message


def test_an_overlong_batch_id_makes_the_manifest_unreadable(make_batch, keyring, policy) -> None:
    path = make_batch([valid_row()])
    manifest = json.loads(path.read_text())
    manifest["batch_id"] = "B" * (BATCH_ID_MAX_LENGTH + 1)
    path.write_text(json.dumps(manifest))
    result = gate(path, keyring, policy)
    assert result.batch.reason is BatchReason.MANIFEST_UNREADABLE
    assert "batch_id" in result.batch.message


@pytest.fixture(params=["memory", *BACKENDS])
def history(request, tmp_path):
    if request.param == "memory":
        return MemoryHistory()
    store = SqlGateHistory(open_ledger(url_for(request.param, tmp_path)))
    with store.engine.begin() as conn:  # PostgreSQL is shared between runs
        conn.exec_driver_sql("DELETE FROM gate_people")
        conn.exec_driver_sql("DELETE FROM gate_batches")
    return store


def test_resubmission_is_recognised_and_not_examined(make_batch, keyring, policy, history) -> None:
    path = make_batch([valid_row()])
    assert gate(path, keyring, policy, history).batch.accepted
    again = gate(path, keyring, policy, history)
    assert again.batch.resubmission and not again.batch.accepted and again.verdicts is None


def test_reused_batch_id_with_other_content_is_refused(
    make_batch, keyring, policy, history
) -> None:
    gate(make_batch([valid_row()], name="one", batch_id="B-1"), keyring, policy, history)
    other = make_batch([valid_row(subject_id="S-9")], name="two", batch_id="B-1")
    result = gate(other, keyring, policy, history)
    assert result.batch.reason is BatchReason.BATCH_ID_REUSED


def test_rerequest_within_window(make_batch, keyring, policy, history) -> None:
    gate(make_batch([valid_row()], name="first"), keyring, policy, history)
    again = gate(make_batch([valid_row(subject_id="X-7")], name="second"), keyring, policy, history)
    assert again.verdicts.column("reason_codes").to_pylist() == ["REREQUEST"]


def test_rejected_subject_may_be_asked_again_once_fixed(make_batch, keyring, policy, history):
    gate(make_batch([valid_row(street="UNKNOWN")], name="first"), keyring, policy, history)
    fixed = gate(make_batch([valid_row()], name="second"), keyring, policy, history)
    assert fixed.verdicts.column("proceed").to_pylist() == [True]


def test_memory_holds_no_personal_data(make_batch, keyring, policy, database_url) -> None:
    store = SqlGateHistory(open_ledger(database_url))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM gate_people")
        conn.exec_driver_sql("DELETE FROM gate_batches")
    gate(make_batch([valid_row()]), keyring, policy, store)
    with store.engine.connect() as conn:
        dump = json.dumps(
            [list(r) for r in conn.exec_driver_sql("SELECT * FROM gate_people")], default=str
        )
    assert dump.count("|") == 0 and "HERNANDEZ" not in dump.upper() and "1985" not in dump
    assert len(json.loads(dump)) == 1  # one key: name + date of birth (no TIN supplied)


def test_manifest_type_is_request(make_batch) -> None:
    assert RequestManifest.load(make_batch([valid_row()])).subject_count == 1
