"""Every way an audit starts checks the inventory's authorisation record: a district job run
by the school's agent, and a scheduled run, refuse to probe without a current one (the district's
request, or the timer, does not stand in for the school's written permission).

The inventories' targets lie outside their scope, so the runs that do go ahead send nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.agent.audit import run_job
from auditor.agent.config import AgentConfig
from auditor.errors import InputError
from tests.support.cli import run_cli
from tests.support.inventories import AUTH, OUT_OF_SCOPE
from tests.support.keys import agent_keys

PROFILE = "beijing-smart-campus-2023"
EXPIRED = AUTH.replace("valid_until: 2099-12-31", "valid_until: 2021-12-31")


def _agent(tmp: Path, text: str) -> AgentConfig:
    keys = tmp / "keys"
    agent_keys(keys)
    inv = tmp / "site.yaml"
    inv.write_text(text, encoding="utf-8")
    return AgentConfig(server="https://district.example", member="T-1", key_dir=keys, inventory=inv,
                       attestations=tmp / "none", formats=["md"])


@pytest.mark.parametrize(("text", "expected"), [
    (OUT_OF_SCOPE.replace(AUTH, ""), "no authorisation record"),
    (OUT_OF_SCOPE.replace(AUTH, EXPIRED), "expired on 2021-12-31"),
])
def test_a_district_job_needs_the_schools_authorisation(tmp_path: Path, text: str, expected: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert AUTH in OUT_OF_SCOPE
    monkeypatch.setenv("SNMP_COMMUNITY", "not-used-here")
    with pytest.raises(InputError, match=expected):
        run_job(_agent(tmp_path, text), {"profiles": [PROFILE]}, tmp_path / "work", True)
    assert not (tmp_path / "work" / "bundle").exists()


def test_a_district_job_with_a_current_record_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNMP_COMMUNITY", "not-used-here")
    bundle = run_job(_agent(tmp_path, OUT_OF_SCOPE), {"profiles": [PROFILE]}, tmp_path / "work", True)
    assert (bundle / "report.dsse.json").is_file()


def test_a_scheduled_run_needs_the_schools_authorisation(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    agent_keys(keys)
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    env = {"AUDITOR_STATE_DIR": str(tmp_path / "state"), "AUDITOR_KEY_DIR": str(keys),
           "AUDITOR_ATTESTATIONS": str(tmp_path / "none"), "SNMP_COMMUNITY": "not-used-here"}
    res = run_cli("schedule", "install", "-i", str(inv), "-p", PROFILE, "--unit-dir", str(tmp_path / "units"),
                  env=env)
    assert res.returncode == 0, res.stderr
    inv.write_text(OUT_OF_SCOPE.replace(AUTH, EXPIRED), encoding="utf-8")  # it lapsed since install
    ran = run_cli("schedule", "run", "--school", "T-1", env=env)
    assert ran.returncode == 2 and "expired on 2021-12-31" in ran.stderr, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    assert not list((tmp_path / "state" / "audits" / "T-1").glob("*/report.json"))
