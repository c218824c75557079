"""The namespace demo school as the lab tests use it: its prefix, its inventory, an audit run
inside its agent namespace the way ``scripts/demo.sh`` runs one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import run_cli

# The lab tier's demo school; under pytest-xdist each worker builds its own (cat0, cat1, ...), so
# tests that do not measure bandwidth can run side by side.
LAB_PREFIX = "cat" + os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")
AGENT = f"{LAB_PREFIX}-agent"
# `auditor lab up` renders the demo inventory (with the lab's paths and namespace names) here
DEMO_SITE = Path("/run/campus-auditor-lab") / LAB_PREFIX / "site.yaml"
PROFILE = "beijing-smart-campus-2023"


def site_copy(tmp: Path, edit: Any = None, name: str = "site.yaml") -> Path:
    """A copy of the demo inventory in ``tmp`` (``edit`` changes the parsed document first)."""
    data = yaml.safe_load(DEMO_SITE.read_text(encoding="utf-8"))
    if edit is not None:
        edit(data)
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def audit(lab: Any, tmp: Path, site: Path, *sets: str, extra_env: dict[str, str] | None = None,
           allow: bool = True, profiles: tuple[str, ...] = (PROFILE,), formats: str = "html,md",
           ) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, Any]]:
    """``auditor run`` of ``site`` in the agent namespace; returns the result, the bundle, the report."""
    keys = tmp / "keys"
    if not keys.exists():
        assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    out = tmp / "audit"
    args = ["run", "-q", "-i", str(site), "-o", str(out), "--key-dir", str(keys),
            "--attestations", str(tmp / "no-attestations"), "--format", formats]
    for name in profiles:
        args += ["-p", name]
    args += ["--allow-class-hours"] if allow else []
    for item in sets:
        args += ["--set", item]
    env = {"DEMO_SNMP_COMMUNITY": lab.snmp_community, **(extra_env or {})}
    res = run_cli(*args, env=env, netns=AGENT)
    assert "Traceback" not in res.stderr, res.stderr
    report = json.loads((out / "report.json").read_bytes()) if (out / "report.json").exists() else {}
    return res, out, report


def findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The report's findings by (check, target)."""
    return {(f["check"], f["target"]): f for f in report["findings"]}


def indicator(report: dict[str, Any], item: str = "smart-env.facilities.1") -> dict[str, Any]:
    """One indicator result of the Beijing profile."""
    return next(i for i in report["indicators"]
                if i["profile"] == PROFILE and i["indicator"] == item)


def cannot_build_lab() -> str | None:
    """Why the lab cannot be built here (not root, a tool missing), or None."""
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces)"
    for tool in ("ip", "tc", "iperf3", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            return f"lab tests need {tool} (run scripts/setup.sh)"
    return None
