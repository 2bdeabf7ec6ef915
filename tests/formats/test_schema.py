from __future__ import annotations

import json
from pathlib import Path

from taxgate.formats.schema import schemas, write_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_published_schemas_match_the_models(tmp_path: Path) -> None:
    """docs/schemas is what the requesting agency validates against: it must not drift."""
    for path in write_schemas(tmp_path):
        published = DOCS / path.name
        assert published.exists(), f"run: taxgate schema --out docs/schemas ({path.name})"
        assert json.loads(published.read_text()) == json.loads(path.read_text()), path.name


def test_schemas_carry_the_contract_constraints() -> None:
    filing = schemas()["filings.schema.json"]
    assert filing["properties"]["tin"]["pattern"] == r"^\d{9}$"
    assert set(filing["required"]) >= {"tin", "tax_year", "filed_on", "street", "zip"}
    manifest = schemas()["request-manifest.schema.json"]
    assert manifest["additionalProperties"] is False
    assert "signature" in manifest["properties"]
