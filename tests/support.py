"""Test helpers shared across packages: a valid request row and a signed-batch factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from taxgate.formats.keys import PublicKeyRecord, new_key, write_key_pair
from taxgate.formats.manifest import RequestManifest, Signer
from taxgate.formats.records import Subject
from taxgate.formats.signing import sign_manifest
from taxgate.formats.tables import records_to_table, write_table
from taxgate.policy import Policy, load_policy

BATCH_DATE = date(2025, 8, 1)
# The gateway's receipt time for a batch dated BATCH_DATE: tests pass it as the clock.
RECEIVED_AT = datetime(2025, 8, 1, 15, 30, tzinfo=UTC)
ATTESTATION = (
    "The information will be used only by officers personally and directly engaged in the "
    "investigation, solely for their use in that proceeding."
)


def valid_row(**changes: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "subject_id": "S-1",
        "given_name": "Maria Guadalupe",
        "middle_name": None,
        "family_name": "Hernandez Lopez",
        "date_of_birth": "1985-03-02",
        "tin": None,
        "street": "123 N Main St",
        "unit": "Apt 4",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "removal_order_date": "2024-01-10",
        "removal_order_case": "A123-456-789",
        "investigation_id": "INV-2025-0001",
        "taxable_periods": "2023;2024",
        "relevance": "Subject is named in investigation INV-2025-0001 under 8 U.S.C. 1253(a)(1).",
    }
    row.update(changes)
    return row


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def signer_key() -> tuple:
    return new_key("Requesting Agency", "Pat Example", "Director", created_on=BATCH_DATE, seed=b"t")


@pytest.fixture
def keyring(signer_key) -> dict[str, PublicKeyRecord]:
    return {signer_key[1].key_id: signer_key[1]}


BatchMaker = Callable[..., Path]


@pytest.fixture
def make_batch(tmp_path: Path, signer_key) -> BatchMaker:
    """Write and sign a batch of `rows`; manifest fields can be overridden."""

    def make(rows: list[dict], name: str = "batch", key=None, **manifest: object) -> Path:
        private, record = key or signer_key
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        write_table(
            records_to_table([Subject(**r) for r in rows], "subjects"),
            folder / "subjects.csv",
            "subjects",
        )
        fields = {
            "batch_id": name,
            "requesting_agency": "Requesting Agency",
            "submitted_on": BATCH_DATE,
            "signer": Signer(name="Pat Example", title="Director"),
            "statutory_authority": "8 U.S.C. 1253(a)(1)",
            "attestation": ATTESTATION,
            "subjects_file": "subjects.csv",
        } | manifest
        path = folder / "manifest.json"
        signed = sign_manifest(RequestManifest(**fields), path, private, record)
        signed.save(path)
        return path

    return make


@pytest.fixture
def disclosing_key(tmp_path: Path) -> tuple[Path, Path]:
    private, record = new_key(
        "Disclosing Agency", "Dana Officer", "Disclosure Officer", created_on=BATCH_DATE, seed=b"d"
    )
    keyring = tmp_path / "keyring"
    key_path, _ = write_key_pair(private, record, keyring)
    return key_path, keyring
