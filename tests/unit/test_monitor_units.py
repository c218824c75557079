"""The units of what runs between audits (the school's monitor or agent, the district's alert checks
and sample retention): their sandbox, capabilities, command lines as systemd reads them, timers;
and the bandwidth lock an agent's audit and the monitor's throughput tests share."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory import Inventory
from auditor.monitor.loop import Monitor
from auditor.monitor.measure import ReachTarget, ThroughputTest
from auditor.monitor.store import Store
from auditor.probes._bandwidth_lock import bandwidth_lock, holder
from auditor.scheduling import services
from auditor.scheduling.units import exec_line, quote
from auditor.wire.monitoring import Sample

HARDENING = ("ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=yes", "NoNewPrivileges=yes",
             "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
             "ProtectControlGroups=yes", "RestrictSUIDSGID=yes", "RestrictRealtime=yes",
             "LockPersonality=yes", "SystemCallArchitectures=native")
ODD = Path("/srv/学校 一/state")  # a space and Chinese characters


def systemd_words(line: str) -> list[str]:
    """A command line split as systemd.service(5) documents it: words apart at blanks, double
    quotes around a word with ``\\\\`` and ``\\"`` escapes inside, ``%%`` and ``$$`` for ``%``, ``$``."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        word = ""
        if line[i] == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                word += line[i]
                i += 1
            i += 1
        else:
            while i < len(line) and line[i] != " ":
                word += line[i]
                i += 1
        words.append(word.replace("%%", "%").replace("$$", "$"))
    return words


def setting(unit: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", unit, re.MULTILINE)


def test_quoting_survives_spaces_chinese_quotes_specifiers_and_dollars() -> None:
    argv = ["/opt/校园 审计/bin/auditor", "monitor", "run", "--inventory", '/srv/a "b"\\c.yaml',
            "--link", "https://x.example/?a=1&b=%20", "$HOME", "plain/path-1.yaml"]
    line = exec_line(argv)
    assert systemd_words(line) == argv
    assert quote("plain/path-1.yaml") == "plain/path-1.yaml"  # nothing to quote, nothing quoted
    assert quote("50%") == '"50%%"' and quote("$X") == '"$$X"' and quote("$X", dollar=False) == '"$X"'
    with pytest.raises(InputError, match="control character"):
        quote("a\nb")


def test_the_monitor_service_is_long_running_hardened_and_writes_only_its_state() -> None:
    unit = services.monitor_service("/opt/校园 审计/bin/auditor", ODD.parent / "site 一.yaml",
                                    ODD / "agent", ODD / "monitor", ODD)
    for line in HARDENING:
        assert line in unit.splitlines(), line
    assert setting(unit, "CapabilityBoundingSet") == ["CAP_NET_RAW"]  # ICMP over a raw socket, nothing else
    assert setting(unit, "AmbientCapabilities") == ["CAP_NET_RAW"]
    assert "AF_PACKET" not in setting(unit, "RestrictAddressFamilies")[0]  # no raw frames in the monitor
    assert [systemd_words(v) for v in setting(unit, "ReadWritePaths")] == [[str(ODD / "monitor")]]
    assert systemd_words(setting(unit, "ExecStart")[0]) == [
        "/opt/校园 审计/bin/auditor", "monitor", "run", "--inventory", str(ODD.parent / "site 一.yaml"),
        "--home", str(ODD / "agent"), "--state", str(ODD / "monitor")]
    assert systemd_words(setting(unit, "Environment")[0]) == [f"AUDITOR_STATE_DIR={ODD}"]
    assert setting(unit, "Type") == ["exec"] and setting(unit, "Restart") == ["on-failure"]
    assert setting(unit, "RestartSec") == ["30s"] and setting(unit, "RestartPreventExitStatus") == ["2"]
    assert setting(unit, "WantedBy") == ["multi-user.target"] and "Conflicts" not in unit


def test_the_agent_service_runs_the_monitor_inside_and_replaces_its_service() -> None:
    home, monitor = ODD / "agent", ODD / "monitor"
    unit = services.agent_service("/usr/bin/auditor", home, ODD, monitor, monitor=True)
    assert systemd_words(setting(unit, "ExecStart")[0]) == [
        "/usr/bin/auditor", "agent", "--home", str(home), "run", "--monitor", "--monitor-state", str(monitor)]
    assert setting(unit, "Conflicts") == ["campus-auditor-monitor.service"]
    assert systemd_words(setting(unit, "ReadWritePaths")[0]) == [str(ODD)]  # home and monitor lie inside
    assert "AF_PACKET" in setting(unit, "RestrictAddressFamilies")[0]  # the audits' ARP sweep, DHCP
    assert setting(unit, "CapabilityBoundingSet") == ["CAP_NET_RAW"]
    assert setting(unit, "EnvironmentFile") == [f"-{home}/agent.env"]
    plain = services.agent_service("/usr/bin/auditor", Path("/var/agent"), ODD, monitor, monitor=False)
    assert "--monitor" not in systemd_words(setting(plain, "ExecStart")[0])
    assert "--monitor-state" in plain and "Conflicts" not in plain  # the lock, even without the monitor
    assert [systemd_words(v) for v in setting(plain, "ReadWritePaths")] == [["/var/agent", str(ODD)]]


def test_district_timers_have_no_capabilities() -> None:
    alerts = services.alerts_units("/usr/bin/auditor", ODD / "alerts.yaml", Path("/srv/district"), ODD,
                                   "https://d.example/dashboard", 1, [Path("/srv/district")])
    prune = services.prune_units("/usr/bin/auditor", Path("/srv/district"), "4:05", [])
    for name, unit in {**alerts, **prune}.items():
        if name.endswith(".service"):
            for line in HARDENING:
                assert line in unit.splitlines(), (name, line)
            assert setting(unit, "CapabilityBoundingSet") == [""] and "AmbientCapabilities" not in unit
            assert setting(unit, "Type") == ["oneshot"] and "[Install]" not in unit  # the timer starts it
        else:
            assert setting(unit, "WantedBy") == ["timers.target"]
    check = alerts["campus-auditor-alerts.service"]
    assert systemd_words(setting(check, "ExecStart")[0])[1:] == [
        "alerts", "check", "--alerts", str(ODD / "alerts.yaml"), "--home", "/srv/district",
        "--state", str(ODD), "--link", "https://d.example/dashboard"]
    assert [systemd_words(v) for v in setting(check, "ReadWritePaths")] == [[str(ODD), "/srv/district"]]
    assert setting(alerts["campus-auditor-alerts.timer"], "OnCalendar") == ["*-*-* *:00/1:00"]
    assert setting(prune["campus-auditor-prune-samples.timer"], "OnCalendar") == ["*-*-* 04:05:00"]
    assert setting(prune["campus-auditor-prune-samples.timer"], "Persistent") == ["true"]
    assert "ReadWritePaths" not in prune["campus-auditor-prune-samples.service"]  # PostgreSQL: nothing
    assert services.sqlite_directory("sqlite:////srv/d/district.db") == Path("/srv/d")
    assert services.sqlite_directory("postgresql+psycopg://u@h/db") is None
    with pytest.raises(InputError):
        services.every_minutes(31)
    with pytest.raises(InputError, match="HH:MM"):
        services.prune_units("/usr/bin/auditor", Path("/srv/district"), "25:00", [])


class LockProbingMeasurer:
    """Fake measurements (no I/O); each throughput test tries the agent's side of the lock while
    the monitor runs it."""

    def __init__(self, state: Path) -> None:
        self.state, self.agent_got = state, []

    async def reach(self, target: ReachTarget, probes: int) -> Sample:
        raise AssertionError("no light round here")

    async def dns(self, name: str) -> Sample:
        raise AssertionError("no light round here")

    async def throughput(self, test: ThroughputTest) -> Sample:
        with bandwidth_lock(self.state) as held:
            self.agent_got.append(held)
        return Sample(kind="throughput", at=datetime.now(UTC), target=test.address, uplink=test.uplink,
                      direction=test.direction, mbps=100.0, bytes=1000, valid=True)


def test_the_agents_lock_is_the_monitors(tmp_path: Path) -> None:
    """The agent's audit and the monitor's throughput tests exclude each other, within one process
    too (flock locks belong to the open file: the agent and its monitor thread)."""
    inv = Inventory.model_validate({
        "school": {"name": "测试学校", "code": "T-1"}, "scope": {"allow": ["10.200.0.0/16"]},
        "authorisation": {"authorised_by": "张校长", "role": "校长", "reference": "A-1",
                          "valid_from": date(2020, 1, 1), "valid_until": date(2099, 12, 31)},
        "uplink": {"id": "wan1", "rate_mbps": 1000, "endpoints": [{"id": "metro", "address": "10.200.0.2"}]},
        "monitoring": {"throughput": {"allow_class_hours": True}}})
    measurer = LockProbingMeasurer(tmp_path)
    store = Store(tmp_path)
    mon = Monitor(inv, store, tmp_path, agent="agent-1", measurer=measurer)
    now = datetime.now(UTC)
    with bandwidth_lock(tmp_path, what="auditor agent: district job J-1") as held:
        assert held
        assert asyncio.run(mon.test_now(now)) == "busy"  # the monitor's test waits for the audit
        assert holder(tmp_path).endswith("auditor agent: district job J-1")
    assert asyncio.run(mon.test_now(now)) == "done"
    assert measurer.agent_got == [False, False]  # both directions: the audit waited for the monitor
    stopping = threading.Event()
    stopping.set()
    with bandwidth_lock(tmp_path) as held, bandwidth_lock(tmp_path, wait_s=3600, stop=stopping) as second:
        assert held and second is False  # a stopping agent does not wait
    (tmp_path / "throughput.lock").write_text("4321\n", encoding="utf-8")
    assert holder(tmp_path) == "pid 4321"  # as the monitor writes it
    store.close()
