"""Bad input, table-driven: malformed inventories, profiles, waivers, attestations and options.

Each case must give exit 2 and one message (one line) naming the file, the line and the field
where that applies, and what to do; never a traceback. The table is shared with
``bench/reliability.py``, which also times every case and measures its peak memory (the
timings are figures for the README, not assertions: see the project rules).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bad_input import CASES, Case, judge, prepare
from tests.support.cli import run_cli
from tests.support.inventories import GOOD


def test_shared_values_as_pyyaml_writes_them_are_accepted(tmp_path: Path) -> None:
    """Anchors and aliases are fine in moderation (PyYAML writes them for shared values)."""
    import yaml

    data = yaml.safe_load(GOOD)
    shared = {"address": "10.200.11.2"}
    data["classrooms"].append({"id": "room102", "name": "教学楼 102", "endpoint": shared})
    data["classrooms"].append({"id": "room103", "name": "教学楼 103", "endpoint": shared})
    text = yaml.safe_dump(data, allow_unicode=True)
    assert "&id001" in text and "*id001" in text
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    res = run_cli("validate", str(path))
    assert res.returncode == 0, res.stderr
    assert "3 classrooms" in res.stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys")
    assert run_cli("keys", "init", "--key-dir", str(out)).returncode == 0
    return out


def test_the_table_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.kind for c in CASES} == {"inventory", "profile", "waivers", "attestation", "cli"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error(case: Case, tmp_path: Path, keys: Path) -> None:
    argv, where = prepare(case, tmp_path, keys)
    res = run_cli(*argv, env={"SNMP_COMMUNITY": "not-used", "AUDITOR_STATE_DIR": str(tmp_path / "state")})
    assert judge(case, res.returncode, res.stderr, where) == [], res.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.partial").exists()
