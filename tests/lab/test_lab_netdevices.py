"""Emulated switches of the demo school: real SSH (fakenos) and real SNMP (snmpsim) in namespaces.

The test builds its own namespace pair (prefix ``hb``): ``hb-client`` (10.200.30.1) and
``hb-netdev`` (the device addresses), joined by a veth. netmiko runs inside ``hb-client`` in a
subprocess and checks every device's host key against a known_hosts file written from the
generated keys.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import netdevices as nd

pytestmark = pytest.mark.lab

CLIENT_NS, DEVICE_NS = "hb-client", "hb-netdev"
CLIENT_DEV, DEVICE_DEV = "hb-c0", "hb-d0"

# Runs inside hb-client: log in to each device, run its commands, print JSON.
_NETMIKO_SCRIPT = """
import json, sys, time
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException
known_hosts, devices = sys.argv[1], json.loads(sys.argv[2])
result = {}
for d in devices:
    params = dict(device_type=d["platform"], host=d["address"], username=d["username"],
                  password=d["password"], secret=d["secret"], ssh_strict=True, system_host_keys=False,
                  alt_host_keys=True, alt_key_file=known_hosts, conn_timeout=15, auth_timeout=15,
                  banner_timeout=15, fast_cli=False)  # as the probe does: fast_cli loses outputs here
    start = time.monotonic()
    try:
        conn = ConnectHandler(**params)
    except NetmikoAuthenticationException as exc:
        result[d["id"]] = {"auth_error": str(exc).splitlines()[0]}
        continue
    if d["platform"] == "cisco_ios":
        conn.enable()
    outputs = {c: conn.send_command(c, read_timeout=30) for c in d["commands"]}
    prompt = conn.find_prompt()
    conn.disconnect()
    result[d["id"]] = {"outputs": outputs, "prompt": prompt, "seconds": time.monotonic() - start}
print(json.dumps(result))
"""

# What each device's outputs must show (configuration posture and vendor format).
EXPECTED: dict[str, dict[str, list[str]]] = {
    "core-sw": {
        "display current-configuration": [
            "sysname core-sw", "undo telnet server enable", "stelnet server enable", "idle-timeout 5 0",
            "password irreversible-cipher", "info-center loghost 10.200.20.2",
            "ntp-service unicast-server 10.200.20.2", "acl 2001 inbound", "undo http server enable",
        ],
        "display version": ["Huawei Versatile Routing Platform Software", "S5735-L8T4X-A1"],
        "display ntp-service status": ["clock status: synchronized"],
        "display ssh server status": ["SSH version                                : 2.0", "Stelnet server"],
        "display interface brief": ["GigabitEthernet0/0/5        *down", "Vlanif100"],
    },
    "access-h3c": {
        "display current-configuration": [
            "sysname access-h3c", "telnet server enable", "ip http enable", "password simple",
            "idle-timeout 0 0", "local-user admin", "snmp-agent community read simple public",
            "snmp-agent community write simple private",
        ],
        "display version": ["H3C Comware Software, Version 7.1.070", "S5130S-10P-EI"],
        "display ntp-service status": ["Clock status: unsynchronized"],
        "display ssh server status": ["SSH version : 1.99"],
        "display interface brief": [
            "Brief information on interfaces in bridge mode:", "GE1/0/5              DOWN",
        ],
    },
    "access-cisco": {
        "show running-config": [
            "hostname access-cisco", "ip ssh version 2", "transport input ssh", "ip http server",
            "enable password campus-legacy-enable", "exec-timeout 30 0", "logging host 10.200.20.2",
            "ntp server 10.200.20.2", "snmp-server community campus-demo-ro RO SNMP-RO",
        ],
        "show version": ["Cisco IOS Software, C2960L Software", "WS-C2960L-8TS-LL"],
        "show ntp status": ["Clock is unsynchronized, stratum 16"],
        "show ip ssh": ["SSH Enabled - version 2.0"],
        "show interfaces status": ["Gi0/5                        disabled", "Gi0/9", "notconnect"],
    },
    "access-ruijie": {
        "show running-config": [
            "hostname access-ruijie", "no enable service telnet-server", "enable service ssh-server",
            "ip ssh version 2", "exec-timeout 5 0", "access-class MGMT in", "logging server 10.200.20.2",
            "ntp server 10.200.20.2", "no enable service web-server",
        ],
        "show version": ["System software version : S29_RGOS 11.4(1)B70P2", "S2910-10GT2XS-E"],
        "show ntp status": ["Clock is synchronized, stratum 3"],
        "show ip ssh": ["SSH Enable - version 2.0"],
        "show interfaces status": ["GigabitEthernet 0/10", "TenGigabitEthernet 0/11"],
    },
}
PROMPTS = {"core-sw": "<core-sw>", "access-h3c": "<access-h3c>", "access-cisco": "access-cisco#",
           "access-ruijie": "access-ruijie#"}
# Switches that answer every audit command with their CLI's error reply (one per vendor).
ERROR_DEVICES = tuple(nd.EmulatedDevice(f"mute-{d.vendor}", d.vendor, d.platform, f"10.200.30.{21 + i}",
                                        d.hardened, d.profile, answers="errors")
                      for i, d in enumerate(nd.DEMO_DEVICES))
ENTERPRISE = {"huawei": "1.3.6.1.4.1.2011.", "h3c": "1.3.6.1.4.1.25506.", "cisco": "1.3.6.1.4.1.9.",
              "ruijie": "1.3.6.1.4.1.4881."}


def _run(argv: list[str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


def _in_client(argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return _run(["ip", "netns", "exec", CLIENT_NS, *argv], check=False, timeout=timeout)


def _teardown_namespaces() -> None:
    for ns in (CLIENT_NS, DEVICE_NS):
        _run(["ip", "netns", "del", ns], check=False)


def _build_namespaces(addresses: list[str]) -> None:
    _teardown_namespaces()
    for ns in (CLIENT_NS, DEVICE_NS):
        _run(["ip", "netns", "add", ns])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
    _run(["ip", "link", "add", CLIENT_DEV, "netns", CLIENT_NS, "type", "veth", "peer", "name", DEVICE_DEV,
          "netns", DEVICE_NS])
    router = f"{nd.NETDEV_ROUTER_ADDR}/{nd.NETDEV_PREFIXLEN}"
    _run(["ip", "-n", CLIENT_NS, "addr", "add", router, "dev", CLIENT_DEV])
    for addr in addresses:
        _run(["ip", "-n", DEVICE_NS, "addr", "add", f"{addr}/{nd.NETDEV_PREFIXLEN}", "dev", DEVICE_DEV])
    for ns, dev in ((CLIENT_NS, CLIENT_DEV), (DEVICE_NS, DEVICE_DEV)):
        _run(["ip", "-n", ns, "link", "set", dev, "up"])


def _wait_ready(probes: list[tuple[str, ...]], procs: list[subprocess.Popen[bytes]], logs: Path) -> None:
    script = (
        "import socket, sys\n"
        "kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
        "if kind == 'tcp':\n"
        "    socket.create_connection((host, port), timeout=1.0).close()\n"
        "else:\n"
        "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.0)\n"
        "    s.sendto(bytes.fromhex(sys.argv[4]), (host, port)); s.recv(65535)\n"
    )
    deadline = time.monotonic() + 90
    pending = list(probes)
    while pending:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            tails = "\n".join(f.read_text()[-400:] for f in logs.glob("*.log"))
            pytest.fail(f"a device daemon exited during start-up: {dead[0].args!r}\n{tails}")
        if time.monotonic() > deadline:
            pytest.fail(f"devices not ready: {pending[:3]}")
        probe = pending[0]
        if _in_client([sys.executable, "-I", "-c", script, *probe], timeout=10).returncode == 0:
            pending.pop(0)
        else:
            time.sleep(0.2)


class _Lab:
    def __init__(self, state: Path, devices: tuple[nd.EmulatedDevice, ...]) -> None:
        self.state = state
        self.devices = devices
        self.procs: list[subprocess.Popen[bytes]] = []
        self.start_seconds = 0.0

    def start(self) -> None:
        started = time.monotonic()
        nd.prepare(self.state, self.devices)
        logs = self.state / "logs"
        logs.mkdir(exist_ok=True)
        for name, (argv, env) in nd.daemon_specs(self.state, DEVICE_NS, self.devices).items():
            with (logs / f"{name}.log").open("wb") as out:
                self.procs.append(subprocess.Popen(
                    ["ip", "netns", "exec", DEVICE_NS, *argv], stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                ))
        _wait_ready(nd.ready_probes(self.devices), self.procs, logs)
        self.start_seconds = time.monotonic() - started

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _require_lab() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    for tool in ("ip", "snmpget"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    pytest.importorskip("fakenos")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Lab]:
    _require_lab()
    devices = (*nd.DEMO_DEVICES, *ERROR_DEVICES)
    _build_namespaces([dev.address for dev in devices])
    running = _Lab(tmp_path_factory.mktemp("hb-netdevices"), devices)
    try:
        running.start()
        print(f"\n[hb] {len(devices)} devices ready in {running.start_seconds:.2f}s")
        yield running
    finally:
        running.stop()
        _teardown_namespaces()


def _netmiko(
    lab: _Lab, devices: list[nd.EmulatedDevice], password: str = nd.DEVICE_PASSWORD
) -> dict[str, Any]:
    known = lab.state / "known_hosts"
    known.write_text(nd.known_hosts(lab.state, lab.devices))
    spec = [
        {"id": d.id, "platform": d.platform, "address": d.address, "username": nd.DEVICE_USERNAME,
         "password": password, "secret": nd.ENABLE_SECRET, "commands": list(d.commands)}
        for d in devices
    ]
    res = _in_client([sys.executable, "-c", _NETMIKO_SCRIPT, str(known), json.dumps(spec)])
    assert res.returncode == 0, res.stderr[-2000:]
    return dict(json.loads(res.stdout))


def _snmpget(addr: str, community: str, oid: str) -> subprocess.CompletedProcess[str]:
    argv = ["snmpget", "-v2c", "-c", community, "-t", "1", "-r", "1", "-On", addr, oid]
    return _in_client(argv, timeout=30)


def test_netmiko_runs_every_command_on_every_vendor(lab: _Lab) -> None:
    result = _netmiko(lab, list(nd.DEMO_DEVICES))
    assert set(result) == {d.id for d in nd.DEMO_DEVICES}
    for dev in nd.DEMO_DEVICES:
        got = result[dev.id]
        assert got["prompt"] == PROMPTS[dev.id]
        for command in dev.commands:
            text = got["outputs"][command]
            for needle in EXPECTED[dev.id][command]:
                assert needle in text, f"{dev.id} {command!r}: {needle!r} missing"
            assert "Unrecognized command" not in text and "Invalid input" not in text
            assert "Unknown command" not in text
        print(f"[hb] netmiko session, 5 commands, {dev.vendor}: {got['seconds']:.2f}s")


def test_cisco_ssh_key_line_is_the_served_host_key(lab: _Lab) -> None:
    cisco = next(d for d in lab.devices if d.vendor == "cisco")
    result = _netmiko(lab, [cisco])
    key_line = next(line for line in nd.known_hosts(lab.state, [cisco]).splitlines())
    assert key_line.split()[2] in result[cisco.id]["outputs"]["show ip ssh"]


def test_wrong_password_is_refused(lab: _Lab) -> None:
    result = _netmiko(lab, [lab.devices[0], lab.devices[2]], password="wrong-password")
    for dev in (lab.devices[0], lab.devices[2]):
        assert "auth_error" in result[dev.id], result[dev.id]


def test_unknown_host_key_is_rejected(lab: _Lab) -> None:
    """The known_hosts is what makes the session trusted: another device's key must not pass."""
    core, h3c = lab.devices[0], lab.devices[1]
    wrong = lab.state / "wrong_known_hosts"
    kind, blob = nd.known_hosts(lab.state, [h3c]).split()[1:3]
    wrong.write_text(f"{core.address} {kind} {blob}\n")
    script = (
        "import sys\nfrom netmiko import ConnectHandler\n"
        "try:\n"
        "    ConnectHandler(device_type='huawei', host=sys.argv[1], username=sys.argv[2],"
        " password=sys.argv[3],"
        " ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=sys.argv[4],"
        " conn_timeout=15)\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc); sys.exit(3)\n"
    )
    res = _in_client([sys.executable, "-c", script, core.address, nd.DEVICE_USERNAME, nd.DEVICE_PASSWORD,
                      str(wrong)])
    assert res.returncode == 3, res.stdout + res.stderr
    fingerprints = nd.host_key_fingerprints(lab.state, lab.devices)
    assert len(set(fingerprints.values())) == len(lab.devices)


def test_snmp_identity_and_communities(lab: _Lab) -> None:
    for dev in nd.DEMO_DEVICES:
        res = _snmpget(dev.address, nd.SNMP_COMMUNITY, "1.3.6.1.2.1.1.2.0")
        assert res.returncode == 0, res.stderr
        assert f"OID: .{ENTERPRISE[dev.vendor]}" in res.stdout
        name = _snmpget(dev.address, nd.SNMP_COMMUNITY, "1.3.6.1.2.1.1.5.0")
        assert f'"{dev.id}"' in name.stdout
        for community in ("public", "private"):
            res = _snmpget(dev.address, community, "1.3.6.1.2.1.1.5.0")
            if dev.id == "access-h3c":
                assert res.returncode == 0 and '"access-h3c"' in res.stdout
            else:
                assert res.returncode != 0 and "Timeout" in (res.stderr + res.stdout)


def test_snmp_interfaces_and_lldp_topology(lab: _Lab) -> None:
    def walk(addr: str, oid: str) -> dict[str, str]:
        res = _in_client(["snmpwalk", "-v2c", "-c", nd.SNMP_COMMUNITY, "-On", "-Oq", addr, oid])
        assert res.returncode == 0, res.stderr
        rows = (line.split(" ", 1) for line in res.stdout.splitlines() if " " in line)
        return {k: v.strip('"') for k, v in rows}

    core = lab.devices[0]
    rem_names = set(walk(core.address, "1.0.8802.1.1.2.1.4.1.1.9").values())
    assert rem_names == {"access-h3c", "access-cisco", "access-ruijie"}
    for dev in nd.DEMO_DEVICES[1:]:
        assert set(walk(dev.address, "1.0.8802.1.1.2.1.4.1.1.9").values()) == {"core-sw"}
    # ifTable agrees with the CLI: admin-down ports are shut down in the configuration.
    result = _netmiko(lab, [core])
    config = result[core.id]["outputs"]["display current-configuration"]
    names = walk(core.address, "1.3.6.1.2.1.31.1.1.1.1")
    admin = walk(core.address, "1.3.6.1.2.1.2.2.1.7")
    for oid, name in names.items():
        index = oid.rsplit(".", 1)[1]
        status = admin[f".1.3.6.1.2.1.2.2.1.7.{index}"]
        head = f"interface {name}\n"
        block = config.split(head, 1)[1].split("#", 1)[0] if head in config else ""
        assert (status == "2") == (" shutdown" in block), name


def test_telnet_listens_only_where_configured(lab: _Lab) -> None:
    script = "import socket, sys\nsocket.create_connection((sys.argv[1], 23), timeout=2).close()\n"
    for dev in lab.devices:
        res = _in_client([sys.executable, "-I", "-c", script, dev.address], timeout=20)
        assert (res.returncode == 0) == dev.telnet, dev.id


def test_a_switch_that_answers_every_command_with_an_error_passes_nothing(lab: _Lab, tmp_path: Path) -> None:
    """The evidence rule over real SSH: each vendor's error reply to every audit command (the
    configuration included) is recorded as such, and no device check passes on it."""
    import yaml

    from auditor.plugins import load_plugins

    checks = sorted(n for n, c in load_plugins().checks.items() if n.startswith("device."))
    profile = {"schema": 2, "id": "mute-devices", "title": "mute", "version": "1", "source": "tests",
               "groups": [{"id": "dev", "title": "devices", "items": [
                   {"id": c, "text": c, "checks": [{"check": c, "params": {}}]} for c in checks]}]}
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(profile), encoding="utf-8")
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"user": nd.DEVICE_USERNAME, "password": nd.DEVICE_PASSWORD,
                                       "enable": nd.ENABLE_SECRET}), encoding="utf-8")
    secrets.chmod(0o600)
    (tmp_path / "known_hosts").write_text(nd.known_hosts(lab.state, ERROR_DEVICES), encoding="utf-8")
    site = {"version": 1, "school": {"name": "mute switches"}, "scope": {"allow": ["10.200.30.0/24"]},
            "authorisation": {"authorised_by": "张校长", "role": "校长", "reference": "T-MUTE-1",
                              "valid_from": "2020-01-01", "valid_until": "2099-12-31"},
            "secrets_file": str(secrets), "agent": {"known_hosts": str(tmp_path / "known_hosts")},
            "devices": [{"id": d.id, "address": d.address, "vendor": d.vendor,
                         "ssh": {"username": {"secret": "user"}, "password": {"secret": "password"},
                                 **({"enable": {"secret": "enable"}} if d.vendor in ("cisco", "ruijie")
                                    else {})}} for d in ERROR_DEVICES]}
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site), encoding="utf-8")
    auditor = str(Path(sys.executable).parent / "auditor")
    assert subprocess.run([auditor, "keys", "init", "--key-dir", str(tmp_path / "keys")],
                          capture_output=True, check=False).returncode == 0
    res = _in_client([auditor, "run", "-q", "-i", str(tmp_path / "site.yaml"), "-p",
                      str(tmp_path / "profile.yaml"), "-o", str(tmp_path / "out"), "--key-dir",
                      str(tmp_path / "keys"), "--allow-class-hours", "--attestations",
                      str(tmp_path / "none")], timeout=300)
    assert "Traceback" not in res.stderr, res.stderr
    assert res.returncode == 1, res.stdout + res.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_bytes())
    facts = {f["subject"]: f for f in report["facts"] if f["kind"] == "device.config"}
    for dev in ERROR_DEVICES:
        fact = facts[f"device/{dev.id}"]
        assert fact["status"] == "ok", fact  # the session worked: the device answered, with errors
        states = fact["data"]["view"]["outputs"]
        assert states["config"]["status"] == "error_reply", (dev.id, states["config"])
        assert {s["status"] for s in states.values()} == {"error_reply"}, (dev.id, states)
    findings = [f for f in report["findings"] if f["target"].startswith("device/mute-")]
    assert len(findings) == len(checks) * len(ERROR_DEVICES)
    passed = [(f["check"], f["target"], f["message"]) for f in findings if f["status"] == "pass"]
    assert not passed, passed
    telnet = next(f for f in findings
                  if f["check"] == "device.telnet_disabled" and f["target"] == "device/mute-cisco")
    assert "answered with an error" in telnet["message"] and "Invalid input" in telnet["message"]
