"""A school with Wi-Fi areas, for the survey tests."""

from __future__ import annotations

from pathlib import Path

from auditor.inventory import Inventory, load_inventory

INVENTORY_YAML = """\
version: 1
school: {name: 北京市测试中学}
scope: {allow: [10.250.0.0/16]}
wifi:
  ssids: [BJ-School, BJ-School-Staff]
  surveys: surveys
wifi_areas:
  - {id: t301, name: 教学楼 301, area_class: teaching}
  - {id: office2, name: 行政楼二层, area_class: office}
"""


def wifi_inventory(tmp: Path) -> tuple[Path, Inventory]:
    """The inventory written to ``tmp``, and loaded."""
    path = tmp / "inventory.yaml"
    path.write_text(INVENTORY_YAML, encoding="utf-8")
    return path, load_inventory(path).inventory
