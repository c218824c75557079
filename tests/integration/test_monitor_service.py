"""Monitoring as a service: the units ``monitor install``, ``agent install --monitor``,
``district install-timers`` and ``alerts install`` write (paths with spaces and Chinese
characters, checked by ``systemd-analyze verify``); and a real ``auditor agent run --monitor``
against a real district on loopback, which polls for jobs and forwards its samples in one process,
stops cleanly on SIGTERM, and never runs a job's audit while a monitoring test holds the bandwidth
lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, select

from auditor.agent.config import AgentConfig, save_agent_config
from auditor.district.models import MonSample
from auditor.probes._bandwidth_lock import bandwidth_lock
from tests.support.cli import run_cli
from tests.support.district import DistrictEnv, enrol_school, inventory, start_district
from tests.support.paths import AUDITOR
from tests.support.servers import free_port


def loopback_site(path: Path, code: str) -> Path:
    """A school on loopback, inside its scope (as ``auditor monitor run`` requires), without
    throughput tests: reach and DNS only."""
    doc: dict[str, Any] = {
        "school": {"name": "测试学校", "code": code},
        "scope": {"allow": ["127.0.0.0/8"]},
        "authorisation": {"authorised_by": "张校长", "role": "校长", "reference": "A-1",
                          "valid_from": date(2020, 1, 1), "valid_until": date(2099, 12, 31)},
        "uplink": {"id": "wan1", "rate_mbps": 1000,
                   "endpoints": [{"id": "metro", "address": "127.0.0.1", "port": free_port()}],
                   "contract": {"provider": "电信", "down_mbps": 500, "up_mbps": 100}},
        "monitoring": {"dns_names": ["localhost"], "probes": 2, "throughput": {"tests_per_day": 0}},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def printed_units(stdout: str) -> dict[str, str]:
    parts = re.split(r"^# (\S+)\n", stdout, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _need(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip(f"{tool} is not installed (Debian package systemd)")
    return exe


# ---------------------------------------------------------------------------- the units


def test_units_install_print_and_verify(tmp_path: Path) -> None:
    analyze = _need("systemd-analyze")
    base = tmp_path / "学校 一"
    tools = base / "工具 箱"  # the auditor itself on a path with a space and Chinese characters
    tools.mkdir(parents=True)
    (tools / "auditor").symlink_to(AUDITOR)
    site = loopback_site(base / "site 一.yaml", "SVC-1")
    home, units = base / "agent", tmp_path / "units"
    save_agent_config(home, AgentConfig(server="https://127.0.0.1:8443", member="SVC-1",
                                        key_dir=base / "keys", inventory=site))
    district = base / "district"
    district.mkdir()
    (district / "district.yaml").write_text(yaml.safe_dump(
        {"db": f"sqlite:///{district / 'd 区.db'}", "data_dir": str(district / "data")}), encoding="utf-8")
    alerts = base / "alerts.yaml"
    alerts.write_text("version: 1\ndingtalk:\n  ops: {access_token: {env: DING_TOKEN}}\n"
                      "rules:\n  school-down: {title: 学校断网, channels: [ops]}\n", encoding="utf-8")
    env = {"AUDITOR_STATE_DIR": str(base / "state"), "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}

    shown = run_cli("monitor", "install", "--home", str(home), "--print", env=env)
    assert shown.returncode == 0, shown.stderr
    assert not units.exists() and not (base / "state").exists(), "--print installs nothing"
    printed = printed_units(shown.stdout)["campus-auditor-monitor.service"]
    assert f'ExecStart="{tools}/auditor" monitor run --inventory "{site}" --home "{home}" ' \
        f'--state "{base}/state/monitor"' in printed
    for args in (("monitor", "install", "--home", str(home)),
                 ("agent", "--home", str(home), "install", "--monitor"),
                 ("district", "--home", str(district), "install-timers", "--at", "04:10")):
        res = run_cli(*args, "--unit-dir", str(units), env=env)
        assert res.returncode == 0, res.stderr
        assert "systemctl daemon-reload && systemctl enable --now campus-auditor-" in res.stdout
    assert (units / "campus-auditor-monitor.service").read_text(encoding="utf-8").strip() == printed.strip()
    assert (base / "state" / "monitor").is_dir()  # ReadWritePaths= must exist when it starts
    res = run_cli("alerts", "install", "--alerts", str(alerts), "--home", str(district), "--every", "1",
                  "--unit-dir", str(units), env=env)
    assert res.returncode == 0, res.stderr
    told = res.stdout + res.stderr
    assert "DING_TOKEN" in told and str(base / "alerts.env") in told  # what the timer lacks

    files = sorted(units.iterdir())
    assert [p.name for p in files] == [
        "campus-auditor-agent.service", "campus-auditor-alerts.service", "campus-auditor-alerts.timer",
        "campus-auditor-monitor.service", "campus-auditor-prune-samples.service",
        "campus-auditor-prune-samples.timer"]
    done = subprocess.run([analyze, "verify", *map(str, files)], capture_output=True, text=True, check=False,
                          timeout=120, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    for timer in units.glob("*.timer"):
        calendar = re.search(r"^OnCalendar=(.*)$", timer.read_text(encoding="utf-8"), re.MULTILINE)
        assert calendar is not None
        got = subprocess.run([analyze, "calendar", calendar.group(1)], capture_output=True, text=True,
                             check=False, timeout=60)
        assert got.returncode == 0 and "Next elapse:" in got.stdout, got.stderr


# ---------------------------------------------------------------------------- the agent with its monitor


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    base = tmp_path_factory.mktemp("monitor-service")
    district = start_district(base, f"sqlite:///{base / 'district.db'}")
    try:
        yield district
    finally:
        district.server.stop()


def samples_at_district(env: DistrictEnv, school: str) -> int:
    engine = create_engine(env.db_url)
    try:
        with engine.connect() as conn:
            count: int = conn.execute(select(func.count()).select_from(MonSample)
                                      .where(MonSample.c.school == school)).scalar_one()
            return count
    finally:
        engine.dispose()


def test_agent_run_monitor_polls_and_forwards_samples(env: DistrictEnv) -> None:
    site = loopback_site(env.base / "sites" / "MON-1.yaml", "MON-1")
    school = enrol_school(env, "MON-1", inventory=site)
    school.client.close()
    state = school.home / "monitor 状态"
    res = run_cli("agent", "--home", str(school.home), "run", "--monitor", "--once", "--wait", "1",
                  "--monitor-state", str(state), timeout=180)
    assert res.returncode == 0, res.stderr
    assert "jobs run 0, waiting in the outbox 0" in res.stderr and "server unreachable" not in res.stderr
    assert "monitor: 1 rounds; last:" in res.stderr and "1 batches uploaded" in res.stderr, res.stderr
    first = samples_at_district(env, "MON-1")
    assert first > 0  # heartbeat, reach of the uplink and the district, DNS: signed by the agent's key

    # as the service runs it: until SIGTERM, which ends the agent and its monitor cleanly
    proc = subprocess.Popen([AUDITOR, "agent", "--home", str(school.home), "run", "--monitor", "--wait", "1",
                             "--monitor-state", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while samples_at_district(env, "MON-1") == first and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None and samples_at_district(env, "MON-1") > first
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert re.search(r"monitor: \d+ rounds", err) and "Traceback" not in err, err


def test_a_job_waits_for_the_monitors_bandwidth_test(env: DistrictEnv) -> None:
    """While a monitoring test holds the lock, the job's audit does not start; past ``--lock-wait``
    it is deferred, and the district is told who held the lock."""
    path = inventory(env.base / "sites" / "LOCK-1.yaml", "LOCK-1")
    school = enrol_school(env, "LOCK-1", inventory=path)
    school.client.close()
    made = env.admin_call("POST", "/v1/admin/jobs",
                          {"school": "LOCK-1", "profiles": ["gbt22239-2019-level2"]})
    assert made.status_code == 201, made.text
    job_id = made.json()["id"]
    state = school.home / "monitor"
    state.mkdir()  # a monitor's state directory exists: the agent holds its lock even without --monitor
    with bandwidth_lock(state, what="a monitoring test (the test's)") as held:
        assert held
        res = run_cli("agent", "--home", str(school.home), "run", "--once", "--wait", "5",
                      "--monitor-state", str(state), "--lock-wait", "0", env={"SNMP_COMMUNITY": "unused"})
    assert res.returncode == 0, res.stderr
    assert "jobs run 0" in res.stderr
    record = json.loads((school.home / "jobs" / f"{job_id}.json").read_text(encoding="utf-8"))
    assert record["status"] == "deferred" and "the test's" in record["message"]
    jobs = env.admin_call("GET", "/v1/admin/jobs").json()["jobs"]
    job = next(j for j in jobs if j["id"] == job_id)
    assert job["status"] == "deferred" and "another bandwidth test holds" in job["message"]
    assert env.runs("LOCK-1") == []  # no audit ran
