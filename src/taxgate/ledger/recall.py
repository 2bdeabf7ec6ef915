"""Recall: replay a revised policy over past disclosures, issue a signed disposal notice, track it.

A plan replays what the ledger still holds. The gate's subject rules run again over the
stored `subject_data` of every batch with disclosures (the same `check_subjects` the gate
uses, at the batch's own date), its batch rules over the stored statute and size, and the
decision thresholds over each stored decision's probability and explanation checks. A
disclosure that the revised rules would not have made is listed with the reasons. Batches
whose personal data retention has purged cannot be gated again and are listed as such; their
decisions are still replayed. The notice to the recipient names only batch, row and subject
reference: decision reasons are internal and stay in `recall_items`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import rfc8785
from cryptography.exceptions import InvalidSignature
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection, Engine, and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from taxgate.decide.outcomes import Decision, DecisionReason
from taxgate.errors import FormatError, TaxgateError
from taxgate.formats.codes import REASON_SEPARATOR, split_codes
from taxgate.formats.keys import PublicKeyRecord, load_private_key
from taxgate.formats.manifest import Signer
from taxgate.formats.signing import Problem, canonical_bytes
from taxgate.formats.tables import arrow_schema, columns
from taxgate.gate.reasons import BatchReason
from taxgate.gate.run import check_subjects
from taxgate.home import private_out
from taxgate.ledger import schema as t
from taxgate.ledger.accounting import RecallStatus, recall_statuses, utc
from taxgate.ledger.events import Event, EventKind, append_events
from taxgate.ledger.projection import (
    ACKNOWLEDGEMENTS,
    RECALLS,
    body_of,
    recall_item,
    set_digest,
)
from taxgate.policy.model import DecisionRules, Policy

PLAN_FORMAT = "taxgate-recall-plan/1"
NOTICE_FORMAT = "taxgate-disposal-notice/1"
NOTICE_PREFIX = "RECALL-"
NOTICE_ID_HEX = 16  # hex digits of the plan's SHA-256 in the notice id: one notice per plan
STREAM_ROWS = 50_000  # subject_data rows parsed at a time: bounded memory for a 1M-row batch
DISPOSAL_INSTRUCTION = (
    "The disclosing agency recalls the return information it disclosed for the subjects "
    "listed below. Under 26 U.S.C. 6103(p)(4) and IRS Publication 1075, destroy every copy "
    "of that information, stop any use of it, and acknowledge disposal to the disclosing "
    "agency quoting the notice id."
)
# What a replay cannot re-check from the ledger, stated in every plan.
NOT_REPLAYED = (
    "subject.rerequest_window_days: the gate's memory of earlier requests is keyed with the "
    "agency secret and is not replayed",
    "signers and batch.attestation_phrases: the manifest's signer title and attestation are "
    "not kept in the ledger",
    "decision.address_level and decision.relatives_level: a decision keeps the outcome of "
    "those checks, not the compared values, so the stored outcome is taken as decided",
)
_FIX_PLAN = "Make the plan again with `taxgate recall plan`; do not edit it by hand."
_CHECKS = ("address_corroborated", "relatives_distinguished", "name_corroborated", "tin_conflict")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanItem(_Frozen):
    """One disclosure the revised rules would not have made, and why."""

    batch_id: str
    row: int
    subject_id: str | None
    recipient_agency: str
    disclosed_on: date
    gate_reasons: list[str]
    decision_reasons: list[str]

    @property
    def reasons(self) -> str:
        return REASON_SEPARATOR.join([*self.gate_reasons, *self.decision_reasons])


class NotReplayable(_Frozen):
    """A batch (or some of its disclosures) whose replay one of the rule sets cannot do."""

    batch_id: str
    rules: Literal["gate", "decision"]
    disclosures: int
    why: str


class RecallPlan(_Frozen):
    """A replay of one revised policy over the ledger's disclosures not yet recalled.

    The same ledger and policy give the same plan, byte for byte; `plan_sha256` is the
    SHA-256 of the plan's RFC 8785 JSON without that field.
    """

    format: Literal["taxgate-recall-plan/1"] = PLAN_FORMAT
    policy_version: str
    policy_sha256: str
    recipient_agency: str | None
    disclosures_checked: int
    already_recalled: int
    items: list[PlanItem]
    not_replayable: list[NotReplayable]
    not_replayed: list[str]
    plan_sha256: str = ""

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"plan_sha256"})

    def digest(self) -> str:
        return hashlib.sha256(canonical_bytes(self.payload())).hexdigest()

    def sealed(self) -> RecallPlan:
        return self.model_copy(update={"plan_sha256": self.digest()})

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.sealed().model_dump(mode="json"), indent=2, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        return path


def load_plan(path: Path) -> RecallPlan:
    """Read a plan file, refusing one whose content no longer matches its own SHA-256."""
    plan = _load_model(RecallPlan, path, _FIX_PLAN)
    if plan.plan_sha256 != plan.digest():
        raise FormatError(
            "the plan was changed after it was made (its plan_sha256 does not match)",
            _FIX_PLAN,
            file=path,
            field="plan_sha256",
        )
    return plan


def _load_model(model: type[BaseModel], path: Path, fix: str) -> Any:
    try:
        return model.model_validate_json(Path(path).read_bytes())
    except FileNotFoundError as exc:
        raise FormatError("file not found", "Check the path.", file=path) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or None
        raise FormatError(
            f"not a valid file here ({first['msg']})", fix, file=path, field=loc
        ) from exc


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Disclosed:
    batch_id: str
    row: int
    subject_id: str | None
    recipient_agency: str
    disclosed_on: date
    outcome: str
    probability: float | None
    explanation: str
    officer_confirmed: bool


@dataclass(frozen=True)
class _Batch:
    received_on: date  # the gateway's UTC receipt day: the replayed gate's date rules use it
    statute: str
    subject_count: int


def plan_recall(
    engine: Engine, new_policy: Policy, *, recipient_agency: str | None = None
) -> RecallPlan:
    """Every disclosure not yet recalled that `new_policy` would not have made, with reasons."""
    with engine.connect() as conn:
        recalled = {
            (b, r) for b, r in conn.execute(select(t.recall_items.c.batch_id, t.recall_items.c.row))
        }
        disclosed = _disclosed(conn, recipient_agency)
        batches = {
            r.batch_id: _Batch(utc(r.received_at).date(), r.statute, r.subject_count)
            for r in conn.execute(
                select(t.batches).where(
                    t.batches.c.batch_id.in_(sorted({d.batch_id for d in disclosed}))
                )
            )
        }
        pending = [d for d in disclosed if (d.batch_id, d.row) not in recalled]
        by_batch: dict[str, list[_Disclosed]] = defaultdict(list)
        for d in pending:
            by_batch[d.batch_id].append(d)
        items: list[PlanItem] = []
        not_replayable: list[NotReplayable] = []
        for batch_id, rows in sorted(by_batch.items()):
            found, unknown = _replay_batch(conn, batch_id, batches[batch_id], rows, new_policy)
            items += found
            not_replayable += unknown
    plan = RecallPlan(
        policy_version=new_policy.version,
        policy_sha256=new_policy.sha256,
        recipient_agency=recipient_agency,
        disclosures_checked=len(pending),
        already_recalled=len(disclosed) - len(pending),
        items=items,
        not_replayable=not_replayable,
        not_replayed=list(NOT_REPLAYED),
    )
    return plan.sealed()


def _replay_batch(
    conn: Connection, batch_id: str, batch: _Batch, rows: list[_Disclosed], policy: Policy
) -> tuple[list[PlanItem], list[NotReplayable]]:
    """The batch's disclosures `policy` would not have made, and what could not be replayed."""
    unknown: list[NotReplayable] = []
    gate, why = _gate_reasons(conn, batch_id, batch, policy)
    if why is not None:
        unknown.append(
            NotReplayable(batch_id=batch_id, rules="gate", disclosures=len(rows), why=why)
        )
    batch_codes = _batch_reasons(batch, policy)
    items: list[PlanItem] = []
    undecidable = 0
    for d in rows:
        codes = sorted({*batch_codes, *gate.get(d.row, ())})
        decision = _decision_reasons(d, policy.decision)
        if decision is None:
            undecidable += 1
            decision = []
        if codes or decision:
            items.append(
                PlanItem(
                    batch_id=d.batch_id,
                    row=d.row,
                    subject_id=d.subject_id,
                    recipient_agency=d.recipient_agency,
                    disclosed_on=d.disclosed_on,
                    gate_reasons=codes,
                    decision_reasons=decision,
                )
            )
    if undecidable:
        why = "the stored decision lacks its probability or the explanation's checks"
        unknown.append(
            NotReplayable(batch_id=batch_id, rules="decision", disclosures=undecidable, why=why)
        )
    return items, unknown


def _disclosed(conn: Connection, recipient_agency: str | None) -> list[_Disclosed]:
    """Every disclosure with its decision, and whether an officer confirmed it on review."""
    d, dc = t.disclosures.c, t.decisions.c
    latest = select(func.max(t.reviews.c.id)).group_by(t.reviews.c.batch_id, t.reviews.c.row)
    confirmed = {
        (b, r)
        for b, r in conn.execute(
            select(t.reviews.c.batch_id, t.reviews.c.row).where(
                t.reviews.c.id.in_(latest), t.reviews.c.resolution == Decision.CONFIRMED.value
            )
        )
    }
    query = (
        select(d.batch_id, d.row, d.subject_id, d.recipient_agency, d.disclosed_at, dc.outcome,
               dc.match_probability, dc.explanation)
        .join(t.decisions, and_(dc.batch_id == d.batch_id, dc.row == d.row))
        .order_by(d.batch_id, d.row)
    )  # fmt: skip
    if recipient_agency is not None:
        query = query.where(d.recipient_agency == recipient_agency)
    return [
        _Disclosed(
            batch_id=r.batch_id,
            row=r.row,
            subject_id=r.subject_id,
            recipient_agency=r.recipient_agency,
            disclosed_on=utc(r.disclosed_at).date(),
            outcome=r.outcome,
            probability=r.match_probability,
            explanation=r.explanation,
            officer_confirmed=r.outcome == Decision.REVIEW and (r.batch_id, r.row) in confirmed,
        )
        for r in conn.execute(query)
    ]


def _batch_reasons(batch: _Batch, policy: Policy) -> list[str]:
    """The batch rules a replay can check from the ledger: statute and size."""
    codes = []
    if batch.statute not in policy.batch.accepted_statutes:
        codes.append(BatchReason.STATUTE_NOT_ACCEPTED.value)
    if batch.subject_count > policy.batch.max_subjects:
        codes.append(BatchReason.BATCH_TOO_LARGE.value)
    return codes


def _gate_reasons(
    conn: Connection, batch_id: str, batch: _Batch, policy: Policy
) -> tuple[dict[int, list[str]], str | None]:
    """The subject rules' codes per batch row under `policy`, or why they cannot be replayed."""
    stored = _stored_subjects(conn, batch_id)
    if stored is None or len(stored[0]) != batch.subject_count:
        held = 0 if stored is None else len(stored[0])
        why = (
            "its personal data was purged (retention), so the gate cannot run again"
            if held == 0
            else f"only {held} of its {batch.subject_count} subjects' data are held"
        )
        return {}, why
    rows, subjects = stored
    verdicts, _ = check_subjects(subjects, policy, batch.received_on)
    codes = verdicts.column("reason_codes").to_pylist()
    return {row: split_codes(c) for row, c in zip(rows, codes, strict=True) if c}, None


def _stored_subjects(conn: Connection, batch_id: str) -> tuple[list[int], pa.Table] | None:
    """The batch's requested fields as the gate read them, in row order; None when purged."""
    schema = arrow_schema("subjects")
    names = columns("subjects")
    query = (
        select(t.subject_data.c.row, t.subject_data.c.fields)
        .where(t.subject_data.c.batch_id == batch_id)
        .order_by(t.subject_data.c.row)
    )
    rows: list[int] = []
    parts: list[pa.Table] = []
    result = conn.execute(query.execution_options(yield_per=STREAM_ROWS))
    for partition in result.partitions():
        records = []
        for row, text in partition:
            fields = json.loads(text)
            rows.append(row)
            records.append({n: _text(fields.get(n)) for n in names})
        parts.append(pa.Table.from_pylist(records, schema=schema))
    if not rows:
        return None
    return rows, pa.concat_tables(parts)


def _text(value: object) -> str | None:
    return None if value is None else value if isinstance(value, str) else str(value)


def _decision_reasons(d: _Disclosed, rules: DecisionRules) -> list[str] | None:
    """Why the revised thresholds would not have confirmed it ([] if they would); None if the
    stored decision cannot be replayed. An officer's confirmation covers the review band."""
    try:
        checks = json.loads(d.explanation).get("checks") or {}
    except (json.JSONDecodeError, AttributeError):
        return None
    if d.probability is None or any(not isinstance(checks.get(c), bool) for c in _CHECKS):
        return None
    gap = checks.get("weight_gap")
    gap = math.inf if gap is None else float(gap)  # no runner-up: the gap is unbounded
    confirm = d.probability >= rules.confirm_threshold
    review = not confirm and d.probability >= rules.review_threshold
    failed = {
        DecisionReason.BELOW_REVIEW: not confirm and not review,
        DecisionReason.BELOW_CONFIRM: review and not d.officer_confirmed,
        DecisionReason.ADDRESS_NOT_CORROBORATED: not checks["address_corroborated"]
        and not (d.officer_confirmed and checks.get("address_reviewable") is True),
        DecisionReason.TIN_CONFLICT: checks["tin_conflict"],
        DecisionReason.NAME_NOT_CORROBORATED: not checks["name_corroborated"]
        and not (d.officer_confirmed and checks.get("name_reviewable") is True),
        DecisionReason.DOB_CONTRADICTS: checks.get("dob_contradicts") is True,
        DecisionReason.AMBIGUOUS_RUNNER_UP: not gap > rules.ambiguity_margin,
        DecisionReason.RELATIVE_NOT_DISTINGUISHED: not checks["relatives_distinguished"],
    }
    return [code.value for code, failing in failed.items() if failing]


# ---------------------------------------------------------------- the notice


class NoticeItem(_Frozen):
    """One disclosure to dispose of: which batch and row, and the requester's own reference."""

    batch_id: str
    row: int
    subject_id: str | None
    disclosed_on: date


class DisposalNotice(BaseModel):
    """The signed notice: Ed25519 over the RFC 8785 JSON of every field but `signature`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["taxgate-disposal-notice/1"] = NOTICE_FORMAT
    notice_id: str
    disclosing_agency: str
    recipient_agency: str
    issued_at: datetime
    instruction: str = DISPOSAL_INSTRUCTION
    policy_version: str
    policy_sha256: str
    plan_sha256: str
    items: list[NoticeItem]
    signer: Signer
    signature: str = ""

    def unsigned_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"signature"})


def notice_id_for(plan: RecallPlan) -> str:
    return NOTICE_PREFIX + plan.plan_sha256[:NOTICE_ID_HEX]


def issue_recall(
    engine: Engine,
    plan_path: Path,
    key_path: Path,
    out_dir: Path,
    *,
    now: datetime | None = None,
) -> Path:
    """Sign a disposal notice for the plan's disclosures and record the recall; return its path.

    The notice is signed and written aside first; `recalls`, `recall_items` and the
    RECALL_ISSUED event then commit in one transaction, and only then does the notice take its
    name. A plan already issued, or one overtaken by a later recall of any of its disclosures,
    is refused.
    """
    plan = load_plan(plan_path)
    _check_issuable(plan, plan_path)
    private_key, record = load_private_key(key_path)
    with engine.connect() as conn:
        _refuse_issued(conn, plan, plan_path)
    issued_at = utc(now or datetime.now(UTC)).replace(microsecond=0)
    notice = DisposalNotice(
        notice_id=notice_id_for(plan),
        disclosing_agency=record.agency,
        recipient_agency=plan.items[0].recipient_agency,
        issued_at=issued_at,
        policy_version=plan.policy_version,
        policy_sha256=plan.policy_sha256,
        plan_sha256=plan.plan_sha256,
        items=[
            NoticeItem(batch_id=i.batch_id, row=i.row, subject_id=i.subject_id,
                       disclosed_on=i.disclosed_on)
            for i in plan.items
        ],
        signer=Signer(name=record.signer, title=record.title, key_id=record.key_id),
    )  # fmt: skip
    signature = private_key.sign(canonical_bytes(notice.unsigned_payload()))
    notice.signature = base64.b64encode(signature).decode("ascii")
    path, partial = _write_notice(notice, Path(out_dir))
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    try:
        with engine.begin() as conn:
            _record_recall(conn, plan, notice, path, digest)
    except IntegrityError as exc:
        partial.unlink(missing_ok=True)
        raise TaxgateError(
            f"plan {plan.plan_sha256[:NOTICE_ID_HEX]} was issued by another process meanwhile",
            "See `taxgate report accounting` for its notice; do not issue it again.",
            file=plan_path,
        ) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:
        os.replace(partial, path)
    except OSError as exc:
        raise TaxgateError(
            f"the recall is recorded, but the notice could not be moved into place ({exc})",
            f"Rename {partial} to {path.name} by hand; do not issue the plan again.",
            file=path,
        ) from exc
    return path


def _check_issuable(plan: RecallPlan, plan_path: Path) -> None:
    if not plan.items:
        raise TaxgateError(
            "the plan recalls no disclosure", "Nothing to issue: no notice is needed.",
            file=plan_path,
        )  # fmt: skip
    recipients = sorted({i.recipient_agency for i in plan.items})
    if len(recipients) > 1:
        raise TaxgateError(
            f"the plan recalls disclosures to {len(recipients)} agencies ({', '.join(recipients)})"
            "; a notice goes to one",
            "Make one plan per agency: `taxgate recall plan --recipient AGENCY`.",
            file=plan_path,
        )


def _refuse_issued(conn: Connection, plan: RecallPlan, plan_path: Path) -> None:
    issued = conn.execute(
        select(t.recalls.c.notice_id, t.recalls.c.issued_at).where(
            t.recalls.c.plan_sha256 == plan.plan_sha256
        )
    ).first()
    if issued is not None:
        raise TaxgateError(
            f"this plan was already issued as notice {issued.notice_id} on "
            f"{utc(issued.issued_at):%Y-%m-%d %H:%M} UTC",
            "A plan is issued once; track its acknowledgement with `taxgate report batch`.",
            file=plan_path,
        )
    keys = {(i.batch_id, i.row) for i in plan.items}
    overlap = sorted(
        (b, r, n)
        for b, r, n in conn.execute(
            select(t.recall_items.c.batch_id, t.recall_items.c.row, t.recall_items.c.notice_id)
        )
        if (b, r) in keys
    )
    if overlap:
        batch_id, row, notice_id = overlap[0]
        raise TaxgateError(
            f"{len(overlap)} of the plan's disclosures were recalled since it was made (first: "
            f"batch {batch_id} row {row}, notice {notice_id})",
            "Make the plan again with `taxgate recall plan`; it leaves out what is recalled.",
            file=plan_path,
        )
    known = {(b, r) for b, r in conn.execute(select(t.disclosures.c.batch_id, t.disclosures.c.row))}
    missing = sorted(keys - known)
    if missing:
        raise TaxgateError(
            f"the plan names {len(missing)} disclosure(s) this ledger does not hold (first: "
            f"batch {missing[0][0]} row {missing[0][1]})",
            "Issue the plan against the ledger it was made from (check --home).",
            file=plan_path,
        )


def _write_notice(notice: DisposalNotice, out_dir: Path) -> tuple[Path, Path]:
    """Write the notice beside its final name `<notice_id>.json`: (final, written) paths.

    It takes its final name only once the recall is recorded, so a refused or failed issue
    leaves no notice behind, nor removes one another process issued.
    """
    private_out(out_dir)
    path = out_dir / f"{notice.notice_id}.json"
    partial = out_dir / f".{notice.notice_id}.{os.getpid()}.partial"
    text = json.dumps(notice.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    partial.write_text(text, encoding="utf-8")
    return path, partial


def _record_recall(
    conn: Connection, plan: RecallPlan, notice: DisposalNotice, path: Path, digest: str
) -> None:
    recall = {
        "notice_id": notice.notice_id,
        "plan_sha256": plan.plan_sha256,
        "policy_version": plan.policy_version,
        "policy_sha256": plan.policy_sha256,
        "issued_at": notice.issued_at,
        "notice_sha256": digest,
        "notice_path": str(path),
    }
    conn.execute(insert(t.recalls).values(**recall))
    conn.execute(
        insert(t.recall_items),
        [
            {"notice_id": notice.notice_id, "batch_id": i.batch_id, "row": i.row,
             "reasons": i.reasons}
            for i in plan.items
        ],
    )  # fmt: skip
    counts = Counter(code for i in plan.items for code in split_codes(i.reasons))
    items = set_digest(recall_item(i.batch_id, i.row, i.reasons) for i in plan.items)
    body = body_of(RECALLS, recall, None) | {  # nothing keyed: ids, digests, a path
        "items_digest": items,
        "recipient_agency": notice.recipient_agency,
        "signer_key_id": notice.signer.key_id,
        "disclosures_recalled": len(plan.items),
        "batches": len({i.batch_id for i in plan.items}),
        "reasons": REASON_SEPARATOR.join(f"{c}={n}" for c, n in sorted(counts.items())),
    }
    event = Event(EventKind.RECALL_ISSUED, f"recall:{notice.notice_id}", None, body)
    append_events(conn, [event], notice.issued_at)


def load_notice(path: Path) -> DisposalNotice:
    return _load_model(DisposalNotice, path, "Use the notice file exactly as it was issued.")


def verify_notice(path: Path, keyring: Mapping[str, PublicKeyRecord]) -> list[Problem]:
    """Every problem with a signed notice; an empty list means it verifies.

    The signature is checked over the RFC 8785 JSON of the file's own fields (all but
    `signature`), so a verifier needs nothing of taxgate but the signer's public key.
    """
    path = Path(path)
    notice = load_notice(path)
    data = json.loads(path.read_bytes())
    record = keyring.get(notice.signer.key_id)
    if record is None:
        message = (
            f"Signing key {notice.signer.key_id} is not in the keyring; add the disclosing "
            "agency's .pub.json if it is genuine."
        )
        return [Problem("KEY_UNKNOWN", message)]
    problems = []
    if record.agency != notice.disclosing_agency:
        message = (
            f"Key {record.key_id} belongs to {record.agency!r}, not the disclosing agency "
            f"{notice.disclosing_agency!r}."
        )
        problems.append(Problem("KEY_AGENCY_MISMATCH", message))
    data.pop("signature", None)
    try:
        record.ed25519_public_key().verify(
            base64.b64decode(notice.signature, validate=True), rfc8785.dumps(data)
        )
    except (binascii.Error, ValueError, InvalidSignature):
        message = (
            f"The signature does not verify with key {record.key_id}: the notice was changed "
            "after signing or signed with another key."
        )
        problems.append(Problem("SIGNATURE_INVALID", message))
    return problems


# ---------------------------------------------------------------- acknowledgement


def acknowledge(
    engine: Engine, notice_path: Path, by: str, *, now: datetime | None = None
) -> RecallStatus:
    """Record that the recipient acknowledged disposal under the notice, with its event."""
    notice_path = Path(notice_path)
    by = by.strip()
    if not by or len(by) > t.ID:
        raise TaxgateError(
            f"--by must name who acknowledged, in 1 to {t.ID} characters",
            "Give the acknowledging officer or agency, e.g. --by 'Requesting Agency'.",
        )
    notice = load_notice(notice_path)
    digest = hashlib.sha256(notice_path.read_bytes()).hexdigest()
    at = utc(now or datetime.now(UTC))
    with engine.begin() as conn:
        issued = conn.execute(
            select(t.recalls).where(t.recalls.c.notice_id == notice.notice_id)
        ).first()
        if issued is None:
            raise TaxgateError(
                f"notice {notice.notice_id} was never issued from this ledger",
                "Acknowledge a notice `taxgate recall issue` wrote (check --home).",
                file=notice_path,
            )
        if issued.notice_sha256 != digest:
            raise TaxgateError(
                f"this file is not the notice {notice.notice_id} as issued (SHA-256 differs)",
                f"Use the issued file, {issued.notice_path}.",
                file=notice_path,
            )
        earlier = conn.execute(
            select(t.acknowledgements).where(t.acknowledgements.c.notice_id == notice.notice_id)
        ).first()
        if earlier is not None:
            raise TaxgateError(
                f"notice {notice.notice_id} was already acknowledged by "
                f"{earlier.acknowledged_by} on {utc(earlier.acknowledged_at):%Y-%m-%d %H:%M} UTC",
                "Nothing to do: an acknowledgement is recorded once.",
                file=notice_path,
            )
        ack = {"notice_id": notice.notice_id, "acknowledged_by": by, "acknowledged_at": at}
        conn.execute(insert(t.acknowledgements).values(**ack))
        body = body_of(ACKNOWLEDGEMENTS, ack, None) | {"notice_sha256": digest}
        event = Event(EventKind.ACKNOWLEDGEMENT, ACKNOWLEDGEMENTS.key(ack), None, body)
        append_events(conn, [event], at)
        (status,) = [s for s in recall_statuses(conn) if s.notice_id == notice.notice_id]
    return status


def outstanding_recalls(engine: Engine) -> list[RecallStatus]:
    """Notices issued and not yet acknowledged, oldest first."""
    with engine.connect() as conn:
        return [s for s in recall_statuses(conn) if s.outstanding]
