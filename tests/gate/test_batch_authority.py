"""Every attestation phrase is required on its own, and only an authorised signer's key passes.

The phrases and signers are read from the policy, so the tests follow the agreement; a fixed
list of the statute's own wording checks the policy still demands it.
"""

from __future__ import annotations

import pytest

from taxgate.formats.keys import new_key
from taxgate.formats.manifest import Signer
from taxgate.gate.history import MemoryHistory
from taxgate.gate.reasons import BatchReason
from taxgate.gate.run import run_gate
from taxgate.normalize.text import fold
from taxgate.policy import load_policy
from tests.support import BATCH_DATE, RECEIVED_AT, valid_row

SECRET = b"batch-authority"
# Wording 26 U.S.C. 6103(i)(2)(B) requires the request to attest; the policy may add, not drop.
STATUTORY_WORDING = ("personally and directly engaged", "solely for")
POLICY = load_policy()
PHRASES = POLICY.batch.attestation_phrases


def _problems(path, keyring, policy) -> list[BatchReason]:
    result = run_gate(
        path, keyring, policy, MemoryHistory(), SECRET, remember=False, received_at=RECEIVED_AT
    )
    return [reason for reason, _ in result.batch.problems] if not result.batch.accepted else []


def test_the_policy_demands_the_statutory_wording() -> None:
    folded = [fold(p) for p in PHRASES]
    for wording in STATUTORY_WORDING:
        assert any(fold(wording) in p for p in folded), wording


def test_an_attestation_with_every_phrase_passes(make_batch, keyring, policy) -> None:
    path = make_batch([valid_row()], attestation=" and ".join(PHRASES))
    assert _problems(path, keyring, policy) == []


@pytest.mark.parametrize("dropped", range(len(PHRASES)), ids=PHRASES)
def test_each_attestation_phrase_is_required(make_batch, keyring, policy, dropped) -> None:
    kept = [p for i, p in enumerate(PHRASES) if i != dropped]
    path = make_batch([valid_row()], attestation=" and ".join(kept) or "We attest.")
    assert BatchReason.ATTESTATION_INCOMPLETE in _problems(path, keyring, policy)


@pytest.mark.parametrize("dropped", range(len(PHRASES)), ids=PHRASES)
def test_a_phrase_with_a_word_missing_is_not_the_phrase(
    make_batch, keyring, policy, dropped
) -> None:
    words = PHRASES[dropped].split()
    if len(words) < 2:
        pytest.skip("a one-word phrase has no word to leave out")
    broken = " ".join(words[:-1])
    others = [p for i, p in enumerate(PHRASES) if i != dropped]
    path = make_batch([valid_row()], attestation=" and ".join([*others, broken]))
    assert BatchReason.ATTESTATION_INCOMPLETE in _problems(path, keyring, policy)


def test_a_phrase_inside_a_longer_word_is_not_the_phrase(make_batch, keyring, policy) -> None:
    """'impersonally and directly engaged' holds the letters of the phrase, not its words."""
    attestation = (
        "The information will be used only by officers impersonally and directly engaged in "
        "the investigation, solely for their use in that proceeding."
    )
    path = make_batch([valid_row()], attestation=attestation)
    assert BatchReason.ATTESTATION_INCOMPLETE in _problems(path, keyring, policy)
    fixed = make_batch([valid_row()], name="fixed", attestation=attestation.replace("imp", "p"))
    assert BatchReason.ATTESTATION_INCOMPLETE not in _problems(fixed, keyring, policy)


def test_an_empty_attestation_is_incomplete(make_batch, keyring, policy) -> None:
    if not PHRASES:
        pytest.skip("the policy requires no wording")
    path = make_batch([valid_row()], attestation="")
    assert BatchReason.ATTESTATION_INCOMPLETE in _problems(path, keyring, policy)


def test_a_phrase_added_to_the_policy_is_required(make_batch, keyring, policy) -> None:
    stricter = policy.model_copy(
        update={
            "batch": policy.batch.model_copy(
                update={"attestation_phrases": [*PHRASES, "under penalty of perjury"]}
            )
        }
    )
    path = make_batch([valid_row()], attestation=" and ".join(PHRASES))
    assert BatchReason.ATTESTATION_INCOMPLETE in _problems(path, keyring, stricter)
    assert _problems(path, keyring, policy) == []


@pytest.mark.parametrize(
    ("agency", "title"),
    [
        ("Requesting Agency", "Clerk"),
        ("Requesting Agency", "director"),
        ("Requesting Agency", "Deputy Director"),
        ("Requesting Agency", ""),
    ],
)
def test_a_key_of_an_unauthorised_signer_is_refused(
    make_batch, policy, agency: str, title: str
) -> None:
    key = new_key(agency, "Sam Other", title, created_on=BATCH_DATE, seed=title.encode() or b"-")
    path = make_batch([valid_row()], key=key)
    assert BatchReason.SIGNER_NOT_AUTHORISED in _problems(path, {key[1].key_id: key[1]}, policy)


@pytest.mark.parametrize("rule", range(len(POLICY.signers)))
def test_every_authorised_signer_in_the_policy_passes(make_batch, policy, rule: int) -> None:
    signer = policy.signers[rule]
    key = new_key(signer.agency, "Pat Example", signer.title, created_on=BATCH_DATE,
                  seed=f"rule-{rule}".encode())  # fmt: skip
    if signer.key_ids and key[1].key_id not in signer.key_ids:
        pytest.skip("the policy pins key ids this test cannot make")
    path = make_batch([valid_row()], key=key, requesting_agency=signer.agency)
    assert _problems(path, {key[1].key_id: key[1]}, policy) == []


def test_the_manifest_cannot_claim_an_authorised_title_for_an_unauthorised_key(
    make_batch, policy
) -> None:
    clerk = new_key("Requesting Agency", "Sam Clerk", "Clerk", created_on=BATCH_DATE, seed=b"c")
    path = make_batch([valid_row()], key=clerk, signer=Signer(name="Pat Example", title="Director"))
    assert BatchReason.SIGNER_NOT_AUTHORISED in _problems(path, {clerk[1].key_id: clerk[1]}, policy)


def test_a_key_pinned_out_by_the_policy_is_refused(make_batch, keyring, policy) -> None:
    pinned = policy.model_copy(
        update={
            "signers": [
                s.model_copy(update={"key_ids": ["ed25519:0000000000000000"]})
                for s in policy.signers
            ]
        }
    )
    path = make_batch([valid_row()])
    assert BatchReason.SIGNER_NOT_AUTHORISED in _problems(path, keyring, pinned)
    assert _problems(path, keyring, policy) == []
