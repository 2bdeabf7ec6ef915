"""Batch-level checks: a batch failing one is refused whole, with the first reason that applies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from taxgate.formats.keys import PublicKeyRecord
from taxgate.formats.manifest import RequestManifest
from taxgate.formats.signing import verify_manifest
from taxgate.gate.reasons import BatchReason
from taxgate.gate.receipt import days_after, days_before
from taxgate.normalize.text import fold
from taxgate.policy.model import Policy

_ORDER = list(BatchReason)


def batch_problems(
    manifest: RequestManifest,
    manifest_path: Path,
    keyring: dict[str, PublicKeyRecord],
    policy: Policy,
    keyring_source: str,
    received_on: date,
) -> list[tuple[BatchReason, str]]:
    """Every batch-level problem, most fundamental first; empty when the batch may proceed.

    `received_on` is the gateway's UTC receipt day, against which the manifest's date is checked.
    """
    found: list[tuple[BatchReason, str]] = [
        (BatchReason(p.code), p.message)
        for p in verify_manifest(manifest, manifest_path, keyring, keyring_source=keyring_source)
    ]
    record = keyring.get(manifest.signer.key_id)
    if record is not None and not _authorised(record, policy):
        found.append(
            (
                BatchReason.SIGNER_NOT_AUTHORISED,
                f"{record.signer} ({record.title}, {record.agency}, key {record.key_id}) is not "
                f"an authorised signer under policy {policy.version}; the agreement names "
                + "; ".join(f"{s.title} of {s.agency}" for s in policy.signers)
                + ".",
            )
        )
    statute = " ".join(manifest.statutory_authority.split())
    if statute not in policy.batch.accepted_statutes:
        found.append(
            (
                BatchReason.STATUTE_NOT_ACCEPTED,
                f"Statutory authority {manifest.statutory_authority!r} is not accepted; the "
                f"agreement accepts {', '.join(policy.batch.accepted_statutes)}.",
            )
        )
    # Whole words: "impersonally and directly engaged" does not say "personally and directly".
    attestation = f" {fold(manifest.attestation)} "
    missing = [p for p in policy.batch.attestation_phrases if f" {fold(p)} " not in attestation]
    if missing:
        found.append(
            (
                BatchReason.ATTESTATION_INCOMPLETE,
                "The attestation lacks the wording: " + "; ".join(repr(p) for p in missing) + ".",
            )
        )
    if manifest.subject_count > policy.batch.max_subjects:
        found.append(
            (
                BatchReason.BATCH_TOO_LARGE,
                f"The batch has {manifest.subject_count} subjects; the agreement allows at most "
                f"{policy.batch.max_subjects} per batch. Split it, each part with its own "
                "investigations.",
            )
        )
    found += batch_date_problems(manifest.submitted_on, policy, received_on)
    return sorted(found, key=lambda item: _ORDER.index(item[0]))


def batch_date_problems(
    submitted_on: date, policy: Policy, received_on: date
) -> list[tuple[BatchReason, str]]:
    """The requester's date against the receipt day: not later than the skew allows, not older
    than the policy's age, never before the agreement took effect. Safe at any date."""
    rules = policy.batch
    latest = days_after(received_on, rules.max_clock_skew_days)
    oldest = days_before(received_on, rules.max_manifest_age_days)
    if submitted_on > latest:
        return [
            (
                BatchReason.BATCH_DATE_AFTER_RECEIPT,
                f"The manifest is dated {submitted_on.isoformat()}, but the gateway received it "
                f"on {received_on.isoformat()} (UTC); the agreement allows a date at most "
                f"{rules.max_clock_skew_days} day(s) later for time zones. Date a batch on the "
                "day it is sent and sign it again.",
            )
        ]
    if submitted_on < policy.effective_from:
        return [
            (
                BatchReason.BATCH_DATE_TOO_OLD,
                f"The manifest is dated {submitted_on.isoformat()}, before the agreement "
                f"(policy {policy.version}) took effect on {policy.effective_from.isoformat()}. "
                "Re-sign the batch with a current date and attestation.",
            )
        ]
    if submitted_on < oldest:
        return [
            (
                BatchReason.BATCH_DATE_TOO_OLD,
                f"The manifest is dated {submitted_on.isoformat()}, more than "
                f"{rules.max_manifest_age_days} days before the gateway received it on "
                f"{received_on.isoformat()} (UTC). Re-sign the batch with a current date and "
                "attestation.",
            )
        ]
    return []


def _authorised(record: PublicKeyRecord, policy: Policy) -> bool:
    return any(
        rule.agency == record.agency
        and rule.title == record.title
        and (not rule.key_ids or record.key_id in rule.key_ids)
        for rule in policy.signers
    )
