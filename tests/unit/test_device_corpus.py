"""Real configurations (tests/data/device-configs, sources in its README) through every device
check, as `auditor device audit FILE --vendor FAMILY` runs them: each verdict as expected, no
pass on a cut configuration, and no secret of the file in what the audit shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.offline import audit_saved, read_export
from auditor.plugins import load_plugins
from tests.support.paths import DATA

CORPUS = DATA / "device-configs"
FILES = sorted(CORPUS.glob("*/*.cfg"))
PLUGINS = load_plugins()


def test_the_corpus_covers_every_family_and_cut_files() -> None:
    assert {p.parent.name for p in FILES} == {"cisco", "huawei", "h3c", "ruijie"}
    assert len(FILES) >= 20 and sum("truncated" in p.name for p in FILES) >= 3
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f"`{path.parent.name}/{path.name}`" in readme, f"{path.name}: source not recorded"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_verdict_is_the_expected_one(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    result = audit_saved(path.parent.name, {"config": path}, PLUGINS)
    assert result.complete is expected["complete"]
    got = {f.check: f for f in result.findings}
    assert set(got) == set(expected["checks"]), "a check is run that the expectations do not judge"
    wrong = {check: (e["status"], got[check].status.value, got[check].message)
             for check, e in expected["checks"].items() if got[check].status.value != e["status"]}
    assert not wrong, wrong
    for finding in result.findings:
        if finding.status.value == "fail" and finding.evidence:
            assert all(e["line"] > 0 for e in finding.evidence)


@pytest.mark.parametrize("path", [p for p in FILES if "truncated" in p.name], ids=lambda p: p.stem)
def test_a_cut_configuration_passes_nothing(path: Path) -> None:
    result = audit_saved(path.parent.name, {"config": path}, PLUGINS)
    assert not result.complete
    assert not [f.check for f in result.findings if f.status.value == "pass"]


def test_masked_values_in_the_files_stay_out_of_findings() -> None:
    """The corpus masks its secrets with X/0 runs; the audit masks what it shows again: no stored
    secret token of any file appears in a finding's message or evidence."""
    for path in FILES:
        text = read_export(path)
        tokens = {w for line in text.splitlines() for w in line.split()
                  if w.startswith(("$1$", "$9$", "$h$", "$c$", "%#%#", "$1d$")) and len(w) > 8}
        shown = json.dumps(audit_saved(path.parent.name, {"config": path}, PLUGINS).to_json())
        assert not [t for t in tokens if t in shown], path.name
