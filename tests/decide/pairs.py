"""Hand-made candidate tables in the exact schema of docs/matching.md ("Candidate pairs").

A pair is built from the subject's normalised values (left) and one taxpayer address record
(right); each gamma level follows from the values (exact -> the contract's top level, differing
-> 0, empty -> -1) unless a test overrides it. The total weight is given by the test, because
the rules under test read the weights the model produced, not how it produced them.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pyarrow as pa

COMPARED = ("given", "family", "dob", "tin", "house_number", "street_name", "unit", "zip5", "city")
VALUES = (
    "given",
    "given_tokens",
    "family",
    "suffix",
    "dob",
    "tin",
    "house_number",
    "street_name",
    "unit",
    "zip5",
    "city",
)
TOP_LEVEL = {
    "given": 8,
    "family": 8,
    "dob": 3,
    "tin": 2,
    "house_number": 1,
    "street_name": 2,
    "unit": 1,
    "zip5": 1,
    "city": 1,
}
AGREE_BF = 32.0
DISAGREE_BF = 0.125
MODEL_SHA = hashlib.sha256(b"test model").hexdigest()

SCHEMA = pa.schema(
    [
        pa.field("row", pa.int64()),
        pa.field("subject_id", pa.string()),
        pa.field("tin", pa.string()),
        pa.field("address_id", pa.int64()),
        pa.field("match_weight", pa.float64()),
        pa.field("match_probability", pa.float64()),
        *(pa.field(f"gamma_{c}", pa.int8()) for c in COMPARED),
        *(pa.field(f"bf_{c}", pa.float64()) for c in COMPARED),
        *(
            pa.field(
                f"{v}_{side}",
                pa.list_(pa.string())
                if v == "given_tokens"
                else pa.date32()
                if v == "dob"
                else pa.string(),
            )
            for v in VALUES
            for side in ("l", "r")
        ),
        pa.field("namesakes_r", pa.int32()),
        pa.field("given_filed_r", pa.bool_()),
    ]
)


def person(**values: object) -> dict:
    """Normalised values of one person at one address; defaults: José García López, Austin."""
    base: dict = {
        "given": "JOSE",
        "given_tokens": None,
        "family": "GARCIA LOPEZ",
        "suffix": None,
        "dob": date(1980, 5, 1),
        "tin": None,
        "house_number": "123",
        "street_name": "N MAIN ST",
        "unit": None,
        "zip5": "78701",
        "city": "AUSTIN",
    }
    base.update(values)
    if base["given_tokens"] is None and base["given"]:
        base["given_tokens"] = str(base["given"]).split()
    return base


def probability_of(weight: float) -> float:
    return 2.0**weight / (1.0 + 2.0**weight)


def pair(
    subject: dict,
    record: dict,
    *,
    weight: float,
    tin: str,
    address_id: int = 1,
    row: int = 1,
    subject_id: str | None = None,
    probability: float | None = None,
    namesakes: int = 0,
    given_filed: bool | None = None,
    **levels: int,
) -> dict:
    """One candidate pair; `levels` overrides gammas by comparison name (e.g. street_name=1);
    `namesakes`: other taxpayers of the record's name in its ZIP, in the whole master;
    `given_filed`: the taxpayer filed under the request's given name somewhere (by default,
    when the record carries it)."""
    record = {**record, "tin": tin}
    out: dict = {
        "namesakes_r": namesakes,
        "given_filed_r": subject["given"] == record["given"]
        if given_filed is None
        else given_filed,
        "row": row,
        "subject_id": subject_id or f"S-{row}",
        "tin": tin,
        "address_id": address_id,
        "match_weight": weight,
        "match_probability": probability_of(weight) if probability is None else probability,
    }
    for c in COMPARED:
        left, right = subject[c], record[c]
        if c in levels:
            gamma = levels[c]
        elif left is None or right is None:
            gamma = -1
        else:
            gamma = TOP_LEVEL[c] if left == right else 0
        out[f"gamma_{c}"] = gamma
        out[f"bf_{c}"] = 1.0 if gamma == -1 else AGREE_BF if gamma > 0 else DISAGREE_BF
    for v in VALUES:
        out[f"{v}_l"] = subject[v]
        out[f"{v}_r"] = record[v]
    return out


def table(pairs: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(pairs, schema=SCHEMA)
