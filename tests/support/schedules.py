"""Two schools for the scheduled-audit tests: inventories whose every target is outside the scope
(a real audit that sends nothing), a signing key and a state directory of their own.

``site`` is a fixture (the root conftest registers this module as a plugin).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.keys import agent_keys

PROFILE = "beijing-smart-campus-2023"
COMMUNITY = "ops-community-never-logged"


@pytest.fixture(name="site")
def site_fixture(tmp_path: Path) -> dict[str, Any]:
    """A school whose every target is outside its scope (a real audit that sends nothing), a
    second school beside it, a signing key and a state directory of their own."""
    keys = tmp_path / "keys"
    agent_keys(keys)
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    inv2 = tmp_path / "site2.yaml"
    inv2.write_text(OUT_OF_SCOPE.replace("code: T-1", "code: T-2"), encoding="utf-8")
    env = {"AUDITOR_STATE_DIR": str(tmp_path / "state"), "AUDITOR_KEY_DIR": str(keys),
           "AUDITOR_ATTESTATIONS": str(tmp_path / "no-attestations"), "SNMP_COMMUNITY": COMMUNITY}
    return {"tmp": tmp_path, "inv": inv, "inv2": inv2, "keys": keys, "env": env,
            "state": tmp_path / "state", "units": tmp_path / "units"}


def install(site: dict[str, Any], *extra: str, inv: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``auditor schedule install`` of the school into the test's unit directory."""
    return run_cli("schedule", "install", "-i", str(inv or site["inv"]), "-p", PROFILE,
                   "--unit-dir", str(site["units"]), *extra, env={**site["env"], **(env or {})})
