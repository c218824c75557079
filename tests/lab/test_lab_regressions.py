"""Two audits of the demo school with regressions planted in between: ``auditor diff`` names
exactly the planted ones. Real iperf3 over a re-shaped link, a switch whose configuration turns
telnet on (and port 23 answering), a server port that starts answering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.lab import AGENT, LAB_PREFIX
from tests.support.lab import site_copy as _site

pytestmark = [pytest.mark.lab, pytest.mark.bandwidth]  # measures throughput: runs alone
# two short runs a direction: enough to see a link shaped from 100 to 60 Mbit/s (accuracy is
# measured in bench/bandwidth_bench.py, not here)
FAST = ("iperf3.bandwidth.duration_s=2", "iperf3.bandwidth.omit_s=1", "iperf3.bandwidth.runs=1",
        "nmap.services.service_detection=false")
PROFILES = ("beijing-smart-campus-2023", "gbt22239-2019-level2")


def _audit(lab: Any, tmp: Path, name: str, env: dict[str, str]) -> Path:
    keys = tmp / "keys"
    if not keys.exists():
        assert run_cli("keys", "init", "--key-dir", str(keys)).returncode == 0
    out = tmp / name
    args = ["run", "-q", "-i", str(_site(tmp)), "-o", str(out), "--key-dir", str(keys),
            "--attestations", str(tmp / "no-attestations"), "--allow-class-hours", "--format", "md"]
    for p in PROFILES:
        args += ["-p", p]
    for s in FAST:
        args += ["--set", s]
    res = run_cli(*args, env={"DEMO_SNMP_COMMUNITY": lab.snmp_community, **env}, netns=AGENT)
    assert res.returncode in {0, 1} and "Traceback" not in res.stderr, res.stderr
    return out


@pytest.fixture(scope="module")
def diff(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.support import plant

    tmp = tmp_path_factory.mktemp("regress")
    env = {"AUDITOR_STATE_DIR": str(tmp / "state")}
    db = f"sqlite:///{tmp / 'history.sqlite'}"
    before = _audit(lab, tmp, "before", env)
    try:
        plant.reshape(LAB_PREFIX, "room102", 60)
        plant.enable_telnet(LAB_PREFIX, "core-sw")
        plant.open_port(LAB_PREFIX, 445)  # SMB file sharing switched on
        after = _audit(lab, tmp, "after", env)
    finally:
        plant.restore(LAB_PREFIX)
    for bundle in (before, after):
        res = run_cli("history", "ingest", str(bundle), "--db", db, env=env)
        assert res.returncode == 0, res.stderr
    res = run_cli("diff", str(before), str(after), "--json", "--db", db, env=env)
    assert res.returncode == 1, res.stdout + res.stderr  # regressions found
    result = dict(json.loads(res.stdout))
    # `auditor run` kept both runs in the state directory's store, so the second report itself
    # carries the same regressions (signed with it)
    report = json.loads((after / "report.json").read_bytes())
    result["in_report"] = report["regressions"]["items"]
    return result


def test_diff_names_the_planted_regressions(diff: dict[str, Any]) -> None:
    got = {(r["kind"], r["subject"]) for r in diff["regressions"]}
    planted = {
        ("finding", "bandwidth.classroom_goodput classroom/room102/downstream"),
        ("finding", "bandwidth.classroom_goodput classroom/room102/upstream"),
        ("goodput_drop", "classroom/room102/downstream"),
        ("goodput_drop", "classroom/room102/upstream"),
        ("finding", "device.telnet_disabled device/core-sw"),
    }
    assert planted <= got, got
    assert {(r["kind"], r["subject"]) for r in diff["in_report"]} == got
    opened = [r for r in diff["regressions"] if r["kind"] == "open_port"]
    assert [r["subject"] for r in opened if "tcp/445" in r["subject"]], opened


def test_diff_names_nothing_else(diff: dict[str, Any]) -> None:
    """Every regression is one of the plants or follows from one (the core switch's changed
    configuration, the items those checks decide); nothing else in the school got worse."""
    for r in diff["regressions"]:
        subject = r["subject"]
        assert (
            "room102" in subject
            or "core-sw" in subject
            or (r["kind"] == "open_port" and "tcp/445" in subject)
            or r["kind"] in {"indicator", "score"}
        ), r
    for r in diff["regressions"]:
        if r["kind"] in {"indicator", "score"}:
            # an item or score may only fall through a planted check
            changed = {f["check"] for f in diff["findings"] if f["kind"] in {"regressed", "new_failure"}}
            assert changed <= {"bandwidth.classroom_goodput", "device.telnet_disabled",
                               "device.config_changed", "services.risky_exposed",
                               "services.unexpected_open"}, changed
