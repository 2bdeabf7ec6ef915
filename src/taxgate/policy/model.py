"""Load and validate the policy file; its version and SHA-256 identify the rules applied."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from taxgate.errors import TaxgateError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchRules(_Section):
    accepted_statutes: list[str] = Field(min_length=1)
    attestation_phrases: list[str]
    max_subjects: int = Field(gt=0)
    max_clock_skew_days: int = Field(ge=0, le=31)
    max_manifest_age_days: int = Field(ge=0, le=3660)


class SignerRule(_Section):
    agency: str
    title: str
    key_ids: list[str] = []


class SubjectRules(_Section):
    required: list[str]
    min_days_since_order: int = Field(ge=0)
    min_relevance_chars: int = Field(ge=0)
    earliest_taxable_period: int
    earliest_birth_year: int
    max_field_chars: int = Field(gt=0)
    rerequest_window_days: int = Field(ge=0, le=36_600)


class AddressRules(_Section):
    placeholders: list[str]
    allow_po_box: bool
    allow_military: bool
    military_states: list[str]
    military_cities: list[str]


class PlaceholderRules(_Section):
    """Values that are not values (see [placeholders] in agreement.toml)."""

    general: list[str] = Field(min_length=1)
    names: list[str]
    name_exceptions: list[str]
    min_repeated_characters: int = Field(ge=2)


class TinRules(_Section):
    ssn_invalid_areas: list[str]
    itin_group_ranges: list[tuple[int, int]]


class DisclosureRules(_Section):
    fields: list[str]


class DecisionRules(_Section):
    confirm_threshold: float = Field(gt=0, le=1)
    review_threshold: float = Field(gt=0, le=1)
    ambiguity_margin: float = Field(ge=0)
    address_level: Literal["exact", "fuzzy", "tolerant"]
    relatives_level: Literal["exact", "close"]
    street_max_edits: int = Field(ge=0)
    street_min_length: int = Field(ge=1)
    street_type_min_name: int = Field(ge=1)
    house_number_max_edits: int = Field(ge=0)
    name_max_edits: int = Field(ge=0)
    name_min_length: int = Field(ge=1)
    review_max_edits: int = Field(ge=0)
    review_name_max_edits: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DecisionRules:
        if self.review_threshold > self.confirm_threshold:
            raise ValueError("review_threshold must not exceed confirm_threshold")
        return self


class RetentionRules(_Section):
    subject_data_days: int = Field(gt=0)


class LedgerRules(_Section):
    unsigned_grace_minutes: int = Field(gt=0)


class MasterRules(_Section):
    """How much of a filings file may be set aside before the file is refused as a whole."""

    max_reject_share: float = Field(default=0.5, ge=0, le=1)


class Policy(_Section):
    """The whole policy file; `sha256` is of the file's bytes, `version` is its declared name."""

    version: str
    effective_from: date
    changes: str
    batch: BatchRules
    signers: list[SignerRule] = Field(min_length=1)
    subject: SubjectRules
    address: AddressRules
    placeholders: PlaceholderRules
    tin: TinRules
    disclosure: DisclosureRules
    decision: DecisionRules
    retention: RetentionRules
    ledger: LedgerRules
    master: MasterRules = MasterRules()

    _sha256: str = PrivateAttr("")
    _path: str = PrivateAttr("")

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def path(self) -> str:
        return self._path

    def identity(self) -> dict[str, str]:
        """What every verdict and decision records about the rules it applied."""
        return {"policy_version": self.version, "policy_sha256": self._sha256}


def default_policy_path() -> Path:
    return Path(str(resources.files("taxgate.policy") / "agreement.toml"))


def load_policy(path: Path | str | None = None) -> Policy:
    """Read a policy file (the shipped agreement when `path` is None) and fingerprint it."""
    path = Path(path) if path else default_policy_path()
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise TaxgateError("policy file not found", "Check the --policy path.", file=path) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TaxgateError(f"not valid TOML ({exc})", "Fix the syntax.", file=path) from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise TaxgateError(
            first["msg"],
            "See src/taxgate/policy/agreement.toml for every field.",
            file=path,
            field=".".join(str(p) for p in first["loc"]),
        ) from exc
    policy._sha256 = hashlib.sha256(raw).hexdigest()
    policy._path = str(path)
    return policy
