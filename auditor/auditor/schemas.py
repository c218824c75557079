"""JSON Schemas of the user-edited files, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from auditor.attest import Attestation
from auditor.inventory import Inventory
from auditor.profile import Profile
from auditor.waivers import WaiverFile

SCHEMAS: dict[str, type[BaseModel]] = {
    "inventory": Inventory,
    "profile": Profile,
    "waivers": WaiverFile,
    "attestation": Attestation,
}


def schema_text(model: type[BaseModel]) -> str:
    doc = model.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(model), encoding="utf-8")
        written.append(path)
    return written
