"""Scheduled audits, operations review: the systemd units and tmpfiles entries `schedule install`
writes, checked with systemd's own tools (``systemd-analyze verify``, ``systemd-analyze calendar``,
``systemd-tmpfiles --root``), for two schools on one machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.schedules import COMMUNITY, PROFILE, install


def printed_units(stdout: str) -> dict[str, str]:
    """``install --print`` output split into its files (``# name`` headers)."""
    parts = re.split(r"^# (\S+)\n", stdout, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _merge(paths: list[str], line: str, school: str) -> list[str]:
    value = line.split("=", 1)[1].replace("%i", school).split()
    return [*paths, *(v.lstrip("-+") for v in value)] if value else []


def effective_writable(units: Path, school: str) -> set[str]:
    """``ReadWritePaths=`` of the school's service instance as systemd merges them: the unit file
    (the template's, or the instance's own), then the drop-ins of both in name order; each
    assignment adds to the list and an empty one resets it."""
    files = [p for p in (units / "campus-auditor@.service", units / f"campus-auditor@{school}.service")
             if p.is_file()]
    dropins = sorted([*units.glob("campus-auditor@.service.d/*.conf"),
                      *units.glob(f"campus-auditor@{school}.service.d/*.conf")], key=lambda p: p.name)
    paths: list[str] = []
    for path in files + dropins:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("ReadWritePaths="):
                paths = _merge(paths, line, school)
    return set(paths)


def tmpfiles_dirs(units: Path) -> set[str]:
    """Every directory the tmpfiles entries (top-level ``*.conf``) create."""
    return {line.split()[1] for conf in units.glob("*.conf")
            for line in conf.read_text(encoding="utf-8").splitlines() if line.startswith("d ")}


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (Debian package systemd)")
    return exe


# ---------------------------------------------------------------------------- tests


def test_service_is_hardened_and_the_timer_persistent(site: dict[str, Any]) -> None:
    res = install(site, "--print")
    assert res.returncode == 0, res.stderr
    files = printed_units(res.stdout)
    service = files["campus-auditor@.service"]
    timer = files["campus-auditor@T-1.timer"]
    for line in ("ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "CapabilityBoundingSet=CAP_NET_RAW", "AmbientCapabilities=CAP_NET_RAW",
                 "ExecStart=", "schedule run --school %i"):
        assert line in service, line
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", service, re.MULTILINE)
    assert caps is not None and caps.group(1).split() == ["CAP_NET_RAW"]  # nothing but raw frames
    assert "--allow-class-hours" not in service
    assert "Persistent=true" in timer and re.search(r"^RandomizedDelaySec=\S+", timer, re.MULTILINE)
    assert "Unit=campus-auditor@T-1.service" in timer and "WantedBy=timers.target" in timer
    assert not site["units"].exists(), "--print installs nothing"


def test_every_unit_and_tmpfiles_entry_verifies(site: dict[str, Any]) -> None:
    analyze, tmpfiles = _need("systemd-analyze"), _need("systemd-tmpfiles")
    tmp = site["tmp"]
    assert install(site, "--out-root", str(tmp / "outA"), "--metrics-dir", str(tmp / "prom")).returncode == 0
    assert install(site, "--out-root", str(tmp / "outB"), "--every", "daily", "--at", "23:30",
                   inv=site["inv2"]).returncode == 0
    units = site["units"]
    files = sorted(str(p) for p in units.iterdir() if p.suffix in {".service", ".timer"})
    instances = [str(units / f"campus-auditor@{code}.service") for code in ("T-1", "T-2")]
    done = subprocess.run([analyze, "verify", *files, *instances], capture_output=True, text=True,
                          check=False, timeout=120, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    for timer in units.glob("*.timer"):
        calendar = re.search(r"^OnCalendar=(.*)$", timer.read_text(), re.MULTILINE)
        assert calendar is not None
        got = subprocess.run([analyze, "calendar", calendar.group(1)], capture_output=True, text=True,
                             check=False, timeout=60)
        assert got.returncode == 0 and "Next elapse:" in got.stdout, got.stderr
    root = tmp / "root"
    root.mkdir()
    for conf in units.glob("*.conf"):
        got = subprocess.run([tmpfiles, f"--root={root}", "--create", str(conf)], capture_output=True,
                             text=True, check=False, timeout=60)
        assert got.returncode == 0 and not got.stderr.strip(), got.stderr
    assert (root / str(site["state"]).lstrip("/")).is_dir()


def test_two_schools_on_one_machine_keep_their_own_paths(site: dict[str, Any]) -> None:
    """The service file is one template for every school: a second school's install must not
    take the first one's bundle root or metrics directory out of its writable paths."""
    tmp = site["tmp"]
    out_a, prom, out_b = tmp / "outA", tmp / "prom", tmp / "outB"
    assert install(site, "--out-root", str(out_a), "--metrics-dir", str(prom)).returncode == 0
    assert install(site, "--out-root", str(out_b), inv=site["inv2"]).returncode == 0
    first, second = effective_writable(site["units"], "T-1"), effective_writable(site["units"], "T-2")
    assert {str(out_a), str(prom), str(site["state"])} <= first and str(out_b) not in first
    assert {str(out_b), str(site["state"])} <= second and str(out_a) not in second
    assert {str(out_a), str(out_b), str(prom)} <= tmpfiles_dirs(site["units"])


def test_a_daily_schedule_needs_no_day(site: dict[str, Any]) -> None:
    res = install(site, "--every", "daily", "--print")
    assert res.returncode == 0, res.stderr
    assert re.search(r"^OnCalendar=\*-\*-\* 02:00:00\b", res.stdout, re.MULTILINE), res.stdout


def test_the_timer_fires_in_the_schools_time_zone(site: dict[str, Any]) -> None:
    """``--at`` is school time: on a machine kept in UTC, 02:00 in Urumqi (UTC+6) is 20:00 UTC."""
    analyze = _need("systemd-analyze")
    site["inv"].write_text(OUT_OF_SCOPE.replace("uplink:", "schedule:\n  timezone: Asia/Urumqi\nuplink:"),
                           encoding="utf-8")
    res = install(site, "--at", "Sat 02:00", "--print")
    assert res.returncode == 0, res.stderr
    timer = printed_units(res.stdout)["campus-auditor@T-1.timer"]
    calendar = re.search(r"^OnCalendar=(.*)$", timer, re.MULTILINE)
    assert calendar is not None and calendar.group(1) == "Sat *-*-* 02:00:00 Asia/Urumqi"
    got = subprocess.run([analyze, "calendar", calendar.group(1)], capture_output=True, text=True,
                         check=False, timeout=60, env={**os.environ, "TZ": "UTC"})
    assert re.search(r"Next elapse: Fri \S+ 20:00:00 UTC", got.stdout), got.stdout


def test_the_service_is_told_where_its_credentials_come_from(site: dict[str, Any]) -> None:
    """A service does not see the installing shell's variables: the unit reads the school's
    environment file, and install names the variables the inventory needs from it."""
    res = install(site)
    assert res.returncode == 0, res.stderr
    env_file = site["state"] / "schedules" / "T-1.env"
    service = (site["units"] / "campus-auditor@.service").read_text(encoding="utf-8")
    assert f"EnvironmentFile=-{site['state']}/schedules/%i.env" in service
    assert "SNMP_COMMUNITY" in res.stderr and str(env_file) in res.stderr
    env_file.write_text(f"SNMP_COMMUNITY={COMMUNITY}\n", encoding="utf-8")
    env_file.chmod(0o600)
    again = install(site)
    assert again.returncode == 0 and "SNMP_COMMUNITY" not in again.stderr


def test_findings_do_not_fail_the_unit(site: dict[str, Any]) -> None:
    """Exit 1 ("some check failed") is an audit that worked; only 2 and 3 should fail the unit
    (and trigger ``OnFailure=``/``systemctl --failed``)."""
    res = install(site, "--print")
    assert re.search(r"^SuccessExitStatus=1$", printed_units(res.stdout)["campus-auditor@.service"],
                     re.MULTILINE)


@pytest.fixture()
def outside_tmp() -> Iterator[Path]:
    """A directory the service can see (PrivateTmp hides the test's /tmp from it)."""
    path = Path(tempfile.mkdtemp(prefix="campus-auditor-test-", dir="/var/lib"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_a_unit_really_runs_where_systemd_is_pid_1(site: dict[str, Any], outside_tmp: Path) -> None:
    if not Path("/run/systemd/system").is_dir() or os.geteuid() != 0:
        pytest.skip("systemd is not PID 1 here (container/CI) or not root: the units are checked "
                    "with systemd-analyze verify instead of being started")
    keys, state = outside_tmp / "keys", outside_tmp / "state"
    shutil.copytree(site["keys"], keys)
    inv = outside_tmp / "site.yaml"
    inv.write_text(OUT_OF_SCOPE.replace("code: T-1", "code: T-CI"), encoding="utf-8")
    runtime = Path("/run/systemd/system")
    env = {**site["env"], "AUDITOR_STATE_DIR": str(state), "AUDITOR_KEY_DIR": str(keys)}
    res = run_cli("schedule", "install", "-i", str(inv), "-p", PROFILE, "--unit-dir", str(runtime), env=env)
    assert res.returncode == 0, res.stderr
    (state / "schedules").mkdir(parents=True, exist_ok=True)
    (state / "schedules" / "T-CI.env").write_text(f"SNMP_COMMUNITY={COMMUNITY}\n", encoding="utf-8")
    try:
        subprocess.run(["systemctl", "daemon-reload"], check=True, timeout=60)
        subprocess.run(["systemctl", "start", "campus-auditor@T-CI.service"], check=False, timeout=600)
        show = subprocess.run(["systemctl", "show", "campus-auditor@T-CI.service", "-p", "Result",
                               "-p", "ExecMainStatus"], capture_output=True, text=True, check=False)
        assert "ExecMainStatus=1" in show.stdout, show.stdout  # findings: the audit ran
        assert list((state / "audits" / "T-CI").glob("*/report.dsse.json"))
    finally:
        for name in ("campus-auditor@.service", "campus-auditor@T-CI.timer", "campus-auditor.conf",
                     "campus-auditor-T-CI.conf"):
            (runtime / name).unlink(missing_ok=True)
        shutil.rmtree(runtime / "campus-auditor@T-CI.service.d", ignore_errors=True)
        subprocess.run(["systemctl", "daemon-reload"], check=False, timeout=60)
