"""The published JSON Schemas (schemas/) match the models, and validate real files."""

from __future__ import annotations

import json

import pytest

from auditor.schemas import SCHEMAS, schema_text
from tests.support.paths import ROOT as REPO

ROOT = REPO


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_published_schema_is_current(name: str) -> None:
    published = (ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert published == schema_text(SCHEMAS[name]), (
        f"schemas/{name}.schema.json is stale: run `auditor schema schemas`")


def test_inventory_schema_forbids_unknown_keys() -> None:
    doc = json.loads((ROOT / "schemas" / "inventory.schema.json").read_text(encoding="utf-8"))
    assert doc["additionalProperties"] is False
    assert {"school", "scope"} <= set(doc["required"])
