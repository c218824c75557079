"""The reliability lab tests' toolkit: the demo inventory cut down to what a fault needs, a profile
of only the checks in play, an audit in the agent namespace, figures for ``bench/reliability.py``."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import run_cli
from tests.support.lab import LAB_PREFIX

PREFIX = LAB_PREFIX  # the tier's demo school (tests/lab/conftest.py); faults are taken back
AGENT = f"{PREFIX}-agent"
STATE = Path("/run/campus-auditor-lab") / PREFIX
FAST = ("iperf3.bandwidth.runs=1", "iperf3.bandwidth.duration_s=2", "iperf3.bandwidth.omit_s=0",
        "iperf3.bandwidth.timeout_margin_s=2", "iperf3.bandwidth.connect_timeout_s=2")
Doc = dict[str, Any]


def record(kind: str, name: str, **figures: Any) -> None:
    """Note an outcome for bench/reliability.py (when it asked for them)."""
    path = os.environ.get("RELIABILITY_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, "name": name, **figures}) + "\n")


def site(tmp: Path, edit: Callable[[Doc], None] | None = None, name: str = "site.yaml",
         timetable: bool = False) -> Path:
    """The lab's demo inventory (with its current authorisation), edited, written to ``tmp``.

    Without ``timetable`` the inventory has no class hours, so a fault test measures bandwidth
    whatever the time of day it runs at (the timetable has tests of its own).
    """
    data = yaml.safe_load((STATE / "site.yaml").read_text(encoding="utf-8"))
    if not timetable:
        data["schedule"] = {**data.get("schedule", {}), "class_hours": []}
    if edit is not None:
        edit(data)
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def only(*sections: str) -> Callable[[Doc], None]:
    """An edit keeping only the named optional sections of the demo inventory."""
    optional = ("uplink", "classrooms", "devices", "zones", "servers", "firewalls", "backups", "wifi",
                "wifi_areas", "discovery")

    def edit(data: Doc) -> None:
        for key in optional:
            if key not in sections:
                data.pop(key, None)
        for room in data.get("classrooms", []):
            if "devices" not in sections:
                room.pop("access_port", None)
        if "uplink" in data and "devices" not in sections:
            data["uplink"].pop("port", None)

    return edit


def profile(tmp: Path, *checks: str) -> Path:
    """A profile with one item per check (only those probes run)."""
    items = [{"id": c, "text": c, "checks": [{"check": c}]} for c in checks]
    doc = {"schema": 2, "id": "reliability", "title": "reliability", "version": "1", "source": "tests",
           "groups": [{"id": "all", "title": "all", "items": items}]}
    path = tmp / "profile.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def argv(tmp: Path, inventory: Path, profiles: tuple[str, ...], *sets: str, out: Path | None = None,
         extra: tuple[str, ...] = ()) -> list[str]:
    keys = tmp / "keys"
    if not keys.exists():
        assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    args = ["run", "-q", "-i", str(inventory), "-o", str(out or tmp / "audit"), "--key-dir", str(keys),
            "--attestations", str(tmp / "no-attestations"), "--no-history", *extra]
    for name in profiles:
        args += ["-p", name]
    for item in sets:
        args += ["--set", item]
    return args


def env(tmp: Path) -> dict[str, str]:
    return {"AUDITOR_STATE_DIR": str(tmp / "state")}


def audit(tmp: Path, inventory: Path, profiles: tuple[str, ...], *sets: str, out: Path | None = None,
          extra: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess[str], Path, Doc]:
    """Run an audit in the agent namespace; (result, bundle, report or {})."""
    out = out or tmp / "audit"
    res = run_cli(*argv(tmp, inventory, profiles, *sets, out=out, extra=extra), env=env(tmp), netns=AGENT)
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    report = json.loads((out / "report.json").read_bytes()) if (out / "report.json").exists() else {}
    assert report or res.returncode == 2, f"no bundle (exit {res.returncode}): {res.stderr}"
    return res, out, report


def findings(report: Doc) -> dict[tuple[str, str], Doc]:
    return {(f["check"], f["target"]): f for f in report["findings"]}


def verifies(bundle: Path) -> bool:
    return run_cli("verify", str(bundle)).returncode == 0
