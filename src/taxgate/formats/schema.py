"""JSON Schema export of the exchange formats, so the requesting agency can validate its files."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from taxgate.formats.manifest import RequestManifest, ResponseManifest
from taxgate.formats.records import RECORD_TYPES

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schemas() -> dict[str, dict]:
    """File name -> JSON Schema, for every record kind and both manifests."""
    models: dict[str, type[BaseModel]] = {
        f"{kind}.schema.json": model for kind, model in RECORD_TYPES.items()
    }
    models["request-manifest.schema.json"] = RequestManifest
    models["response-manifest.schema.json"] = ResponseManifest
    out = {}
    for name, model in models.items():
        schema = model.model_json_schema()
        out[name] = {"$schema": SCHEMA_DIALECT, "$id": name, **schema}
    return out


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = out_dir / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
