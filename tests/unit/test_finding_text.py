"""Every finding a check makes carries a message (``auditor.messages.Msg``), so a report shows it in
the reader's language: with nothing measured, and on the real configurations of the device corpus,
whose findings read in Chinese without an English sentence (commands and quoted data aside)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from auditor.inventory import Inventory
from auditor.messages import Msg
from auditor.model import Finding
from auditor.offline import audit_saved
from auditor.plugins import CheckContext, FactIndex, load_plugins
from tests.support.inventories import GOOD
from tests.support.paths import DATA

PLUGINS = load_plugins()
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[\s,;:()/]+[A-Za-z][A-Za-z'’-]*){3,}")
QUOTED = re.compile(r"`[^`]*`")
EMPTY = Inventory.model_validate({"school": {"name": "空学校"}, "scope": {"allow": ["10.200.0.0/16"]}})
FULL = Inventory.model_validate(yaml.safe_load(GOOD))


def _findings(inventory: Inventory) -> list[Finding]:
    out = []
    for _name, check in PLUGINS.checks.items():
        params = check.params_model.model_validate({})
        out += check.evaluate(CheckContext(inventory, FactIndex(), params))
    return out


def _chinese_reads(finding: Finding) -> None:
    assert isinstance(finding.text, Msg), f"{finding.check}: {finding.message!r} is a plain string"
    doc = finding.to_json()
    assert doc["message"] == finding.message == finding.text.render("en")
    zh = doc["text"]["zh"]
    assert not ENGLISH_RUN.search(QUOTED.sub("", zh)), f"{finding.check}: {zh}"


@pytest.mark.parametrize("inventory", [EMPTY, FULL], ids=["empty", "no facts"])
def test_every_check_speaks_both_languages_when_nothing_was_measured(inventory: Inventory) -> None:
    findings = _findings(inventory)
    if inventory is FULL:  # (an empty inventory has no device for the device checks to judge)
        assert {f.check for f in findings} == set(PLUGINS.checks.names())
    for finding in findings:
        _chinese_reads(finding)


FILES = sorted((DATA / "device-configs").glob("*/*.cfg"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_device_findings_read_in_chinese(path: Path) -> None:
    result = audit_saved(path.parent.name, {"config": path}, PLUGINS)
    assert result.findings
    for finding in result.findings:
        _chinese_reads(finding)
