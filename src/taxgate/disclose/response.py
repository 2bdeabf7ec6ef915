"""Build and sign the response: every subject answered, and only a CONFIRMED one carries anything.

A CONFIRMED subject gets the `last_known` address of its decided taxpayer, restricted to the
policy's `disclosure.fields`, never the address that was matched. REVIEW is never released:
an officer resolves it first. NOT_CONFIRMED carries the id and the outcome only, whether or not
any taxpayer record was paired with the subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from taxgate.decide.outcomes import Decision
from taxgate.errors import TaxgateError
from taxgate.formats.codes import Outcome
from taxgate.formats.keys import load_private_key
from taxgate.formats.manifest import ArrivedManifest, ResponseManifest, Signer
from taxgate.formats.records import ResponseRow
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import records_to_table, write_table
from taxgate.policy.model import Policy

RESPONSES_FILE = "responses.csv"
MANIFEST_FILE = "response.json"
MISSING_ID = "(row {row})"
"""Stands in for the subject_id of a row the requester sent without one (SUBJECT_ID_MISSING)."""

FIELD_SOURCES = {
    "street": "street",
    "unit": "unit",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "address_tax_year": "tax_year",
}
"""Response field -> `last_known` column it is taken from: the only fields a response can carry."""

_RESOLUTIONS = {Outcome.CONFIRMED.value, Outcome.NOT_CONFIRMED.value}
_SHOWN_ROWS = 5  # rows listed in an error message before "..."


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_SHOWN_ROWS])
    return shown + (", ..." if len(rows) > _SHOWN_ROWS else "")


def _require(table: pa.Table, names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise TaxgateError(
            f"the {what} lack column(s) {', '.join(missing)}",
            f"Pass the {what} table as produced by taxgate.",
            field=missing[0],
        )


def _resolved(
    decisions: pa.Table, reviews: Mapping[int, str] | None, policy: Policy
) -> dict[int, tuple[str, str | None]]:
    """Row -> (CONFIRMED or NOT_CONFIRMED, decided tin), with every REVIEW resolved."""
    _require(decisions, ("row", "outcome", "tin"), "decisions")
    if "policy_sha256" in decisions.column_names:
        other = pc.unique(pc.drop_null(decisions.column("policy_sha256"))).to_pylist()
        if [h for h in other if h != policy.sha256]:
            raise TaxgateError(
                "the decisions were made under another policy file than the one given",
                "Build the response with the policy the decisions record (policy_sha256).",
                field="policy_sha256",
            )
    reviews = {int(r): str(v) for r, v in (reviews or {}).items()}
    out: dict[int, tuple[str, str | None]] = {}
    unresolved: list[int] = []
    for row, outcome, tin in zip(
        decisions.column("row").to_pylist(),
        decisions.column("outcome").to_pylist(),
        decisions.column("tin").to_pylist(),
        strict=True,
    ):
        if row in out:
            raise TaxgateError("two decisions for one subject row", "Decide once.", row=row)
        if outcome == Decision.REVIEW:
            if row not in reviews:
                unresolved.append(row)
                continue
            outcome = reviews[row]
            if outcome not in _RESOLUTIONS:
                raise TaxgateError(
                    f"review resolution {outcome!r} is not CONFIRMED or NOT_CONFIRMED",
                    "Resolve each REVIEW as CONFIRMED or NOT_CONFIRMED.",
                    row=row,
                )
        elif row in reviews:
            raise TaxgateError(
                f"a review resolution was given for a {outcome} decision",
                "Only a REVIEW decision can be resolved by an officer.",
                row=row,
            )
        elif outcome not in _RESOLUTIONS:
            raise TaxgateError(f"unknown decision outcome {outcome!r}", "Decide again.", row=row)
        if outcome == Outcome.CONFIRMED and not tin:
            raise TaxgateError("a CONFIRMED decision names no taxpayer", "Decide again.", row=row)
        out[row] = (outcome, tin if outcome == Outcome.CONFIRMED else None)
    if unresolved:
        raise TaxgateError(
            f"{len(unresolved)} decision(s) are still REVIEW (rows {_rows_text(unresolved)}); "
            "REVIEW is never released",
            "Have a disclosure officer resolve each one, and pass the resolutions as `reviews`.",
            row=unresolved[0],
        )
    stray = sorted(set(reviews) - set(out))
    if stray:
        raise TaxgateError(
            f"review resolutions for rows with no decision ({_rows_text(stray)})",
            "Resolve only rows whose decision is REVIEW.",
            row=stray[0],
        )
    return out


def _addresses(last_known: pa.Table, tins: set[str], policy: Policy) -> dict[str, dict]:
    """Decided tin -> the response fields the policy allows, from its last known address."""
    unknown = [f for f in policy.disclosure.fields if f not in FIELD_SOURCES]
    if unknown:
        raise TaxgateError(
            f"the policy's disclosure.fields names {', '.join(unknown)}, which a response "
            "cannot carry",
            f"Use only {', '.join(FIELD_SOURCES)}.",
            field="disclosure.fields",
        )
    sources = {field: FIELD_SOURCES[field] for field in policy.disclosure.fields}
    _require(last_known, ("tin", *sources.values()), "last_known addresses")
    chosen = pa.array(sorted(tins), pa.string())
    wanted = last_known.filter(pc.is_in(pc.cast(last_known.column("tin"), pa.string()), chosen))
    found: dict[str, dict] = {}
    for record in wanted.select(["tin", *sources.values()]).to_pylist():
        tin = record["tin"]
        if tin in found:
            raise TaxgateError(
                f"taxpayer {tin} has two last known addresses",
                "Rebuild last_known with one row per tin.",
                field="tin",
            )
        found[tin] = {
            field: (None if record[column] == "" else record[column])
            for field, column in sources.items()
        }
    missing = sorted(tins - set(found))
    if missing:
        raise TaxgateError(
            f"{len(missing)} decided taxpayer(s) have no last known address",
            "Load the master index with every filing before deciding.",
        )
    return found


def build_responses(
    verdicts: pa.Table,
    decisions: pa.Table,
    last_known: pa.Table,
    policy: Policy,
    reviews: Mapping[int, str] | None = None,
) -> pa.Table:
    """The `responses` table: one row per batch row, in batch order.

    `verdicts` are the gate's (row, subject_id, proceed, reason_codes), one per batch row;
    `decisions` are taxgate.decide's, one per row that proceeded; `reviews` resolves each
    REVIEW decision (row -> "CONFIRMED" or "NOT_CONFIRMED") and nothing else.
    """
    _require(verdicts, ("row", "subject_id", "proceed", "reason_codes"), "gate verdicts")
    verdicts = verdicts.sort_by("row")
    decided = _resolved(decisions, reviews, policy)
    proceeding = {
        r
        for r, ok in zip(
            verdicts.column("row").to_pylist(),
            verdicts.column("proceed").to_pylist(),
            strict=True,
        )
        if ok
    }
    undecided = sorted(proceeding - set(decided))
    if undecided:
        raise TaxgateError(
            f"{len(undecided)} subject(s) passed the gate but have no decision "
            f"(rows {_rows_text(undecided)})",
            "Decide every subject that passed the gate.",
            row=undecided[0],
        )
    rejected_decided = sorted(set(decided) - proceeding)
    if rejected_decided:
        raise TaxgateError(
            f"decisions exist for rows the gate rejected ({_rows_text(rejected_decided)})",
            "Match and decide only the subjects the gate let proceed.",
            row=rejected_decided[0],
        )
    addresses = _addresses(
        last_known, {tin for _, tin in decided.values() if tin is not None}, policy
    )
    rows = []
    for row, subject_id, proceed, codes in zip(
        verdicts.column("row").to_pylist(),
        verdicts.column("subject_id").to_pylist(),
        verdicts.column("proceed").to_pylist(),
        verdicts.column("reason_codes").to_pylist(),
        strict=True,
    ):
        record: dict = {"subject_id": subject_id or MISSING_ID.format(row=row)}
        if not proceed:
            record |= {"outcome": Outcome.REJECTED.value, "reason_codes": codes}
        else:
            outcome, tin = decided[row]
            record["outcome"] = outcome
            if tin is not None:
                record |= addresses[tin]
        try:
            rows.append(ResponseRow(**record))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise TaxgateError(
                f"the response would be invalid: {first['msg']}",
                "Check the gate verdicts, the last known addresses and disclosure.fields.",
                row=row,
                field=".".join(str(p) for p in first["loc"]) or None,
            ) from exc
    return records_to_table(rows, "responses")


def write_response(
    responses: pa.Table,
    request: ArrivedManifest,
    out_dir: Path,
    key_path: Path,
    *,
    responded_on: date | None = None,
) -> Path:
    """Write `responses.csv` and the signed `response.json` into `out_dir`; return the manifest.

    The disclosing agency and signer are those of the key's public record; the recipient is
    the batch's requesting agency, and `request_sha256` the digest of the request manifest as
    it arrived (`request`, read once), not of whatever file lies at its path now. An existing
    response.json is never overwritten.
    """
    out_dir = Path(out_dir)
    batch_manifest = request.manifest
    if responses.num_rows != batch_manifest.subject_count:
        raise TaxgateError(
            f"{responses.num_rows} responses for a batch of {batch_manifest.subject_count} "
            "subjects",
            "Answer every subject of the batch, once.",
        )
    manifest_path = out_dir / MANIFEST_FILE
    if manifest_path.exists():
        raise TaxgateError(
            "a response is already there", "Write to a new directory.", file=manifest_path
        )
    private_key, record = load_private_key(key_path)
    write_table(responses, out_dir / RESPONSES_FILE, "responses")
    manifest = ResponseManifest(
        batch_id=batch_manifest.batch_id,
        disclosing_agency=record.agency,
        recipient_agency=batch_manifest.requesting_agency,
        responded_on=responded_on or date.today(),
        request_sha256=request.sha256,
        signer=Signer(name=record.signer, title=record.title),
        responses_file=RESPONSES_FILE,
    )
    signed = sign_manifest(manifest, manifest_path, private_key, record)
    signed.save(manifest_path)
    return manifest_path
