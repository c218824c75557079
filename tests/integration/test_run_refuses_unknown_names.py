"""``auditor run`` refuses a ``--set`` or a waiver naming something not installed, before it
measures anything: exit 2, one line naming the option (or file and line) and the nearest valid
name, no bundle, no traceback. Issue 19, "Validate means run".

Every probe target lies outside the scope allow-list, so even the accepted runs send nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.paths import DATA as TEST_DATA

MINI = str(TEST_DATA / "profiles/mini-scored.yaml")
WAIVERS = """\
schema: 1
waivers:
  - check: bandwidth.classroom_goodput
    target: classroom/room101/*
    reason: 教室改造中
    approver: 张校长
    start: 2026-01-01
    expires: 2099-12-31
    risk: medium
  - item: mini-scored:env.safe.2
    reason: 演练推迟
    approver: 张校长
    start: 2026-01-01
    expires: 2099-12-31
    risk: low
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signing key for every run in this module."""
    out = tmp_path_factory.mktemp("keys") / "k"
    res = run_cli("keys", "init", "--key-dir", str(out))
    assert res.returncode == 0, res.stderr
    return out


def _run(tmp: Path, keys: Path, *extra: str) -> tuple[int, str, Path]:
    """``auditor run`` of the out-of-scope school with the mini profile; (exit, stderr, --out)."""
    inv = tmp / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    out = tmp / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", MINI, "-o", str(out), "--key-dir", str(keys),
                  "--no-history", "--attestations", str(tmp / "no-store"), "--allow-class-hours", *extra)
    assert "Traceback" not in res.stderr
    return res.returncode, res.stderr, out


def _refused(code: int, stderr: str, out: Path) -> str:
    """Assert the run was refused up front; return its one error line."""
    assert code == 2, stderr
    assert not out.exists()
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(("option", "words"), [
    ("no.such.probe.x=1", ("--set 'no.such.probe.x=1'", "no probe 'no.such.probe' is installed",
                           "auditor probes")),
    ("iperf3.bandwith.runs=1", ("--set 'iperf3.bandwith.runs=1'", "no probe 'iperf3.bandwith'",
                                "did you mean iperf3.bandwidth?")),
    ("iperf3.bandwidth.rnus=1", ("--set 'iperf3.bandwidth.rnus=1'", "no setting 'rnus'",
                                 "did you mean runs?")),
    ("iperf3.bandwidth.zzzzzz=1", ("--set 'iperf3.bandwidth.zzzzzz=1'", "no setting 'zzzzzz'",
                                   "its settings are", "duration_s")),
    ("iperf3.bandwidth.runs=many", ("--set 'iperf3.bandwidth.runs=many'", "iperf3.bandwidth.runs",
                                    "valid integer", "(got 'many')")),
    ("iperf3.bandwidth.uplink_directions=[sideways]",
     ("--set 'iperf3.bandwidth.uplink_directions=[sideways]'", "uplink_directions[0]", "'downstream'")),
])
def test_a_bad_set_is_refused_before_anything_runs(tmp_path: Path, keys: Path, option: str,
                                                   words: tuple[str, ...]) -> None:
    line = _refused(*_run(tmp_path, keys, "--set", option))
    for word in words:
        assert word in line


def test_a_set_for_an_installed_probe_the_profile_does_not_need_is_still_checked(
        tmp_path: Path, keys: Path) -> None:
    line = _refused(*_run(tmp_path, keys, "--set", "nmap.services.no_such_setting=1"))
    assert "probe nmap.services has no setting 'no_such_setting'" in line


def _waivers(tmp: Path, old: str, new: str) -> Path:
    assert old in WAIVERS
    path = tmp / "waivers.yaml"
    path.write_text(WAIVERS.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_waiver_for_a_check_not_installed_names_its_line(tmp_path: Path, keys: Path) -> None:
    path = _waivers(tmp_path, "check: bandwidth.classroom_goodput", "check: bandwidth.clasroom_goodput")
    line = _refused(*_run(tmp_path, keys, "--waivers", str(path)))
    assert line == (f"error: {path}:3: waiver check 'bandwidth.clasroom_goodput': no such check "
                    "installed; did you mean bandwidth.classroom_goodput?")


@pytest.mark.parametrize(("item", "near"), [
    ("mini-scored:env.safe.9", "did you mean mini-scored:env.safe.2?"),
    ("env.saef.2", "did you mean env.safe.2?"),
    ("other-profile:env.safe.2", "did you mean mini-scored:env.safe.2?"),
])
def test_a_waiver_for_an_item_no_profile_has_names_its_line(tmp_path: Path, keys: Path, item: str,
                                                            near: str) -> None:
    path = _waivers(tmp_path, "item: mini-scored:env.safe.2", f"item: {item}")
    line = _refused(*_run(tmp_path, keys, "--waivers", str(path)))
    assert line == (f"error: {path}:10: waiver item {item!r}: no profile in this run (mini-scored) "
                    f"has such an item; {near}")


def test_valid_names_are_still_accepted(tmp_path: Path, keys: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    code, stderr, out = _run(tmp_path, keys, "--set", "iperf3.bandwidth.runs=1",
                             "--set", "iperf3.bandwidth.duration_s=2", "--set", "nmap.services.timing=3",
                             "--waivers", str(path))
    assert code == 1, stderr  # every target refused as out of scope: errors, not a pass
    report = json.loads((out / "report.json").read_bytes())
    assert report["run"]["options"]["probe_overrides"]["iperf3.bandwidth"] == {"runs": 1, "duration_s": 2}
    assert [w["approver"] for w in report["waivers"]] == ["张校长", "张校长"]
