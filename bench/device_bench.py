"""Switch-audit benchmark (root): emulated switches (fakenos, real SSH) in a namespace of its own.

Prints, from one run:
  1. the wall time of auditing N devices (default 50) ÷ auditing one (goal ≤ 3), for each device
     pool size asked for, with the per-device session time (median, max);
  2. the SNMP interface walk of the probe (pysnmp, the probe's own session code) ÷ net-snmp's
     ``snmpbulkwalk`` on the same agent and the same OIDs (goal ≤ 2), medians of interleaved runs.

Usage: sudo .venv/bin/python bench/device_bench.py [--devices 50] [--pools 8,16,32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from auditor.lab import netdevices

AUDITOR = str(Path(sys.executable).parent / "auditor")
CLIENT_NS, DEVICE_NS = "bnc-client", "bnc-devices"
CLIENT_ADDR = "10.200.31.250"
IF_TABLE, IF_X_TABLE = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
CHECKS = ["device.telnet_disabled", "device.no_plaintext_passwords", "device.idle_timeout"]


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=120)


def build(devices: tuple[netdevices.EmulatedDevice, ...], state: Path) -> subprocess.Popen[bytes]:
    for ns in (CLIENT_NS, DEVICE_NS):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "bnc-c", "netns", CLIENT_NS, "type", "veth", "peer", "name", "bnc-d",
       "netns", DEVICE_NS)
    sh("ip", "-n", CLIENT_NS, "addr", "add", f"{CLIENT_ADDR}/24", "dev", "bnc-c")
    for dev in devices:
        sh("ip", "-n", DEVICE_NS, "addr", "add", f"{dev.address}/24", "dev", "bnc-d")
    for ns, dev in ((CLIENT_NS, "bnc-c"), (DEVICE_NS, "bnc-d")):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    netdevices.prepare(state, devices)
    argv, env = netdevices.daemon_specs(state, DEVICE_NS, devices)["netdev-ssh"]
    log = (state / "ssh.log").open("ab")
    proc = subprocess.Popen(["ip", "netns", "exec", DEVICE_NS, *argv], stdout=log, stderr=log, env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    for dev in devices:
        while sh("ip", "netns", "exec", CLIENT_NS, sys.executable, "-c",
                 f"import socket; socket.create_connection(('{dev.address}', 22), 1).close()",
                 check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"emulated device {dev.address} did not come up ({state / 'ssh.log'})")
            time.sleep(0.2)
    return proc


def teardown(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    for ns in (CLIENT_NS, DEVICE_NS):
        sh("ip", "netns", "del", ns, check=False)


def write_inputs(tmp: Path, state: Path, devices: tuple[netdevices.EmulatedDevice, ...],
                 pool: int) -> Path:
    secrets = tmp / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"user": netdevices.DEVICE_USERNAME, "password":
                                       netdevices.DEVICE_PASSWORD, "enable": netdevices.ENABLE_SECRET}))
    secrets.chmod(0o600)
    (tmp / "known_hosts").write_text(netdevices.known_hosts(state, devices))
    site = {"version": 1, "school": {"name": "bench"}, "scope": {"allow": ["10.200.31.0/24"]},
            "secrets_file": str(secrets),
            "agent": {"known_hosts": str(tmp / "known_hosts"), "device_concurrency": pool},
            "devices": [{"id": d.id, "address": d.address, "vendor": d.vendor,
                         "ssh": {"username": {"secret": "user"}, "password": {"secret": "password"},
                                 **({"enable": {"secret": "enable"}} if d.vendor in ("cisco", "ruijie")
                                    else {})}} for d in devices]}
    path = tmp / f"site-{len(devices)}-{pool}.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True))
    return path


def audit(tmp: Path, site: Path) -> tuple[float, dict[str, Any]]:
    out = tmp / f"audit-{time.monotonic_ns()}"
    argv = ["ip", "netns", "exec", CLIENT_NS, AUDITOR, "run", "-q", "-i", str(site), "-p",
            str(tmp / "profile.yaml"), "-o", str(out), "--key-dir", str(tmp / "keys"), "--attestations",
            str(tmp / "none"), "--allow-class-hours"]
    started = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900,
                         env={**os.environ, "AUDITOR_STATE_DIR": str(tmp / "state")})
    wall = time.monotonic() - started
    if res.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    report = json.loads((out / "report.json").read_bytes())
    errors = [f for f in report["facts"] if f["status"] != "ok"]
    if errors:
        raise SystemExit(f"{len(errors)} device(s) not audited, e.g. {errors[0]['error']}")
    shutil.rmtree(out)
    return wall, report


def session_seconds(report: dict[str, Any]) -> list[float]:
    return [float(p["seconds"]) for p in report["plan"] if p["probe"] == "ssh.device_config"]


# ---------------------------------------------------------------- SNMP walk


def snmp_bench(tmp: Path, repeat: int) -> None:
    """The probe's walk of ifTable + ifXTable vs snmpbulkwalk, on a snmpsim agent on loopback."""
    from auditor.context import RunContext
    from auditor.evidence import EvidenceStore
    from auditor.inventory import Inventory
    from auditor.probes._snmp import SnmpSession, SnmpSettings
    from auditor.secrets import SecretResolver

    state = tmp / "snmp"
    device = netdevices.DEMO_DEVICES[0]
    netdevices.prepare(state, (device,))
    argv, env = netdevices.daemon_specs(state, "lo", (device,))[f"netdev-snmpsim-{device.id}"]
    port = 16161
    argv = [a.replace(f"{device.address}:161", f"127.0.0.1:{port}") for a in argv]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    community = netdevices.SNMP_COMMUNITY
    raw_argv = [["snmpbulkwalk", "-v2c", "-c", community, "-On", "-Cr25", f"127.0.0.1:{port}", oid]
                for oid in (IF_TABLE, IF_X_TABLE)]
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["snmpget", "-v2c", "-c", community, "-t", "1", "-r", "0", f"127.0.0.1:{port}",
                              "1.3.6.1.2.1.1.5.0"], capture_output=True, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("snmpsim did not start")
        os.environ["BENCH_COMMUNITY"] = community
        inv = Inventory.model_validate({
            "school": {"name": "bench"}, "scope": {"allow": ["127.0.0.0/8"]},
            "devices": [{"id": "sw", "address": "127.0.0.1", "vendor": "huawei",
                         "snmp": {"version": "2c", "port": port, "community": {"env": "BENCH_COMMUNITY"}}}]})
        secrets = SecretResolver(None)
        ctx = RunContext(inventory=inv, evidence=EvidenceStore(tmp / "ev", secrets), secrets=secrets)
        session = SnmpSession(inv.devices[0], SnmpSettings(max_repetitions=25), ctx)

        async def walk() -> tuple[float, int]:
            started = time.monotonic()
            rows = await session.walk_columns((IF_TABLE, IF_X_TABLE))
            return time.monotonic() - started, len(rows)

        probe, raw = [], []
        rows = raw_rows = 0
        loop = asyncio.new_event_loop()
        loop.run_until_complete(walk())  # warm-up: engine discovery, index load in snmpsim
        for _ in range(repeat):
            seconds, rows = loop.run_until_complete(walk())
            probe.append(seconds)
            started = time.monotonic()
            outs = [subprocess.run(a, capture_output=True, text=True, check=True) for a in raw_argv]
            raw.append(time.monotonic() - started)
            raw_rows = sum(len(o.stdout.splitlines()) for o in outs)
        session.engine.close_dispatcher()
        loop.close()
    finally:
        proc.terminate()
        proc.wait(10)
    p, r = statistics.median(probe), statistics.median(raw)
    print(f"\n== SNMP interface walk (ifTable + ifXTable, max-repetitions 25), medians of {repeat}")
    print(f"  probe (pysnmp)   {p * 1000:8.1f} ms   {rows} varbinds")
    print(f"  snmpbulkwalk     {r * 1000:8.1f} ms   {raw_rows} lines (two processes, one per table)")
    print(f"  probe ÷ raw      {p / r:8.3f}   (goal ≤ 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--pools", default="8,16,32", help="device pool sizes to try (default 16)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark builds network namespaces: run it as root")
    pools = [int(x) for x in args.pools.split(",")]
    devices = netdevices.make_devices(args.devices, start="10.200.31.1")
    proc = None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            state = tmp / "lab"
            proc = build(devices, state)
            profile = {"schema": 2, "id": "bench-devices", "title": "bench", "version": "1",
                       "source": "bench", "groups": [{"id": "g", "title": "g", "items": [
                           {"id": c, "text": c, "checks": [{"check": c}]} for c in CHECKS]}]}
            (tmp / "profile.yaml").write_text(yaml.safe_dump(profile))
            sh(AUDITOR, "keys", "init", "--key-dir", str(tmp / "keys"))
            one_site = write_inputs(tmp, state, devices[:1], 1)
            results: dict[int, list[float]] = {pool: [] for pool in pools}
            one: list[float] = []
            sessions: dict[int, list[float]] = {pool: [] for pool in pools}
            for _ in range(args.repeat):  # interleaved, so drift hits every configuration alike
                wall, _report = audit(tmp, one_site)
                one.append(wall)
                for pool in pools:
                    wall, report = audit(tmp, write_inputs(tmp, state, devices, pool))
                    results[pool].append(wall)
                    sessions[pool] += session_seconds(report)
        finally:
            teardown(proc)
        base = statistics.median(one)
        vendors = ", ".join(sorted({d.vendor for d in devices}))
        print(f"== auditing {len(devices)} emulated devices ({vendors}; checks {', '.join(CHECKS)}), "
              f"medians of {args.repeat} interleaved runs, CLI start included")
        print(f"  1 device                          wall {base:6.2f} s")
        for pool in pools:
            wall = statistics.median(results[pool])
            s = sessions[pool]
            print(f"  {len(devices)} devices, pool {pool:3d}           wall {wall:6.2f} s   "
                  f"÷ one device {wall / base:5.2f} (goal ≤ 3)   "
                  f"session median {statistics.median(s):5.2f} s, max {max(s):5.2f} s")
        snmp_bench(tmp, max(args.repeat, 5))


if __name__ == "__main__":
    main()
