"""Reliability against the namespace demo school: injected faults, the scope of every packet the
agent sends, secrets, and tampering with a full demo bundle.

Needs root. Uses the lab tier's demo school (prefix ``cat``); every fault is taken back by the test
that injects it. Each fault must end as an ``error`` naming its reason, with no false
pass and a bundle that still verifies; the outcomes are also appended, one JSON object a line,
to ``$RELIABILITY_FIGURES`` when set (``bench/reliability.py`` sums them up).

Assertions are about the faults injected, not about bandwidth figures: two CPUs shared with
other engineers make a measurement ``invalid`` (an error) now and then, which is correct.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import signal
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.reliability import (
    AGENT,
    FAST,
    PREFIX,
    STATE,
    Doc,
    argv,
    audit,
    env,
    findings,
    only,
    profile,
    record,
    site,
    verifies,
)

# Faults and scope, not throughput: these run beside other tests (a busy CPU may make a measurement
# invalid, an error, which they accept); the one that needs a valid measurement is marked bandwidth.
pytestmark = pytest.mark.lab
SCOPE = ipaddress.IPv4Network("10.200.0.0/16")


# ----------------------------------------------------------------------------- the lab and runs


# ----------------------------------------------------------------------------- faults


def test_sigkill_mid_run_leaves_nothing_that_verifies_and_the_next_run_is_clean(
        lab: Any, tmp_path: Path) -> None:
    from auditor.bundle import work_dir

    inv = site(tmp_path, only("classrooms"))
    prof = str(profile(tmp_path, "bandwidth.classroom_goodput"))
    out = tmp_path / "audit"
    args = argv(tmp_path, inv, (prof,), *FAST, "iperf3.bandwidth.runs=2", out=out)
    proc = subprocess.Popen(_in_agent(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **env(tmp_path)})
    work = work_dir(out)
    deadline = time.monotonic() + 120
    while not list((work / "evidence" / "iperf3").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list((work / "evidence" / "iperf3").glob("*.json")), "the audit never wrote iperf3 evidence"
    os.killpg(proc.pid, signal.SIGKILL)  # the agent and its iperf3 children, mid-run
    proc.wait()
    assert not out.exists(), "a bundle appeared at --out although the run was killed"
    assert run_cli("verify", str(out)).returncode == 2  # nothing there at all
    assert run_cli("verify", str(work)).returncode == 1  # the leftover is not a bundle
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the kernel released the dead run's lock
    finally:
        os.close(fd)
    res, _out, report = audit(tmp_path, inv, (prof,), *FAST, out=out)
    survived = res.returncode in (0, 1) and verifies(out) and not work.exists()
    false = [f for f in report.get("findings", []) if f["status"] == "pass" and not f["measured"]]
    record("fault", "sigkill mid-run", survived=survived, false_passes=len(false))
    assert survived, res.stderr
    assert false == []


def _in_agent(args: list[str]) -> list[str]:
    """The argv of ``auditor ARGS`` inside the agent namespace (for Popen)."""
    from tests.support.paths import AUDITOR

    return ["ip", "netns", "exec", AGENT, AUDITOR, *args]


def test_disk_full_is_one_clear_error_and_leaves_nothing(lab: Any, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(tiny)], check=True)
    try:
        inv = site(tmp_path, only("classrooms"))
        prof = str(profile(tmp_path, "bandwidth.classroom_goodput"))
        res, _out, _report = audit(tmp_path, inv, (prof,), *FAST, out=tiny / "audit")
        left = sorted(p.name for p in tiny.iterdir())
    finally:
        subprocess.run(["umount", str(tiny)], check=True)
    survived = res.returncode == 2 and "no space left on the device" in res.stderr and left == []
    record("fault", "disk full under --out", survived=survived, false_passes=0)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "no space left on the device" in res.stderr and "nothing was kept" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert left == [], left  # no half-written bundle, no work directory


def _established(role: str, port: int) -> bool:
    res = subprocess.run(["ip", "netns", "exec", f"{PREFIX}-{role}", "ss", "-Htn", "state", "established",
                          f"( sport = :{port} )"], capture_output=True, text=True, check=False)
    return bool(res.stdout.strip())


@pytest.mark.bandwidth  # the next link must be measured validly: it runs alone
def test_iperf3_server_killed_mid_test_and_a_tarpit_are_errors_the_next_link_is_measured(
        lab: Any, tmp_path: Path) -> None:
    from auditor.lab import school
    from tests.support import faults

    tarpit = school.start_tarpit(PREFIX, "room101", "10.200.11.2", 5202)

    def edit(data: Doc) -> None:
        only("classrooms")(data)
        data["classrooms"][0]["endpoint"]["port"] = 5202  # room101: accepts, never sends

    inv = site(tmp_path, edit)
    prof = str(profile(tmp_path, "bandwidth.classroom_goodput"))
    args = argv(tmp_path, inv, (prof,), *FAST, "iperf3.bandwidth.duration_s=4")
    proc = subprocess.Popen(_in_agent(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **env(tmp_path)})
    try:
        deadline = time.monotonic() + 120
        while not _established("room102", 5201) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _established("room102", 5201), "the room102 test never started"
        time.sleep(1.0)
        faults.stop_daemon(PREFIX, "iperf3-room102")  # SIGKILL mid-test
        _stdout, stderr = proc.communicate(timeout=300)
    finally:
        school.stop_pid(PREFIX, tarpit)
        school.up(PREFIX)  # restarts the killed server
    assert "Traceback" not in stderr
    report = json.loads((tmp_path / "audit" / "report.json").read_bytes())
    f = findings(report)
    hung, killed, measured = (
        [f[("bandwidth.classroom_goodput", f"classroom/{room}/{d}")] for d in ("downstream", "upstream")]
        for room in ("room101", "room102", "room103"))
    false = [x for x in hung + killed if x["status"] == "pass"]
    ok = all(x["status"] == "error" for x in hung + killed) and all(
        x["status"] in {"fail", "error"} and (x["status"] == "error" or x["measured"]) for x in measured)
    record("fault", "iperf3 server killed mid-test", survived=ok, false_passes=len([x for x in killed
                                                                                  if x["status"] == "pass"]))
    record("fault", "iperf3 server accepts and never sends", survived=ok,
           false_passes=len([x for x in hung if x["status"] == "pass"]))
    for x in hung:
        assert x["status"] == "error" and "killed" in x["message"], x
    for x in killed:
        assert x["status"] == "error" and "iperf3" in x["message"], x
    assert any(x["measured"] for x in measured), measured  # the next link was still measured
    assert false == []
    assert not _leftover_client("10.200.11.2", 5202), "an iperf3 client outlived its timeout"
    assert verifies(tmp_path / "audit")


def _leftover_client(address: str, port: int) -> bool:
    """Is an iperf3 client to address:port still running (the probe must kill it on timeout)?"""
    import psutil

    wanted = ["-c", address, "-p", str(port)]
    return any(" ".join(wanted) in " ".join(p.info["cmdline"] or [])
               for p in psutil.process_iter(["cmdline"]))


def _fake(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="ascii")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("behaviour", ["hangs", "prints garbage"])
def test_tools_that_hang_or_print_garbage_are_named_errors(lab: Any, tmp_path: Path, behaviour: str) -> None:
    """nmap and iperf3 replaced by a program that hangs or prints garbage; and, since the agent
    reads SNMP with pysnmp rather than snmpbulkwalk, an SNMP agent that answers garbage."""
    from tests.support import faults

    body = "exec sleep 3600" if behaviour == "hangs" else "head -c 3000 /dev/urandom | base64; exit 0"
    bin_dir = tmp_path / "bin"
    nmap, iperf3 = _fake(bin_dir, "nmap", body), _fake(bin_dir, "iperf3", body)
    faults.start_udp_garbage(PREFIX, "switch", "10.200.9.2", 1161)

    def edit(data: Doc) -> None:
        only("classrooms", "zones", "servers", "devices")(data)
        data["classrooms"] = [{**r, "access_port": None} for r in data["classrooms"] if r["id"] == "room102"]
        data["uplink"] = None
        snmp = {"version": "2c", "port": 1161, "community": {"secret": "snmp-community"}}
        data["devices"] = [{"id": "garbage-sw", "address": "10.200.9.2", "vendor": "huawei", "snmp": snmp}]

    prof = str(profile(tmp_path, "bandwidth.classroom_goodput", "services.risky_exposed",
                       "snmp.default_community"))
    res, out, report = audit(tmp_path, site(tmp_path, edit), (prof,), *FAST,
                             f"iperf3.bandwidth.binary={iperf3}", f"nmap.services.binary={nmap}",
                             "nmap.services.host_timeout_s=5", "iperf3.bandwidth.busy_retries=0")
    f = findings(report)
    targets = [("bandwidth.classroom_goodput", "classroom/room102/downstream"),
               ("services.risky_exposed", "host/web"), ("snmp.default_community", "device/garbage-sw")]
    got = [f[t] for t in targets]
    false = [x for x in got if x["status"] == "pass"]
    named = ("did not finish within", "killed") if behaviour == "hangs" else ("unreadable output",
                                                                              "no usable XML")
    survived = all(x["status"] == "error" for x in got) and verifies(out)
    verb = {"hangs": "hang", "prints garbage": "print garbage"}[behaviour]
    record("fault", f"nmap and iperf3 that {verb}, and an SNMP agent answering garbage",
           survived=survived, false_passes=len(false))
    assert [x["status"] for x in got] == ["error"] * 3, got
    iperf_msg, nmap_msg, snmp_msg = (x["message"] for x in got)
    if behaviour == "hangs":
        assert "did not finish within" in iperf_msg and "killed" in iperf_msg, iperf_msg
        assert "did not finish within" in nmap_msg, nmap_msg
    else:
        assert "unreadable output" in iperf_msg, iperf_msg
        assert "no usable XML" in nmap_msg, nmap_msg
    assert any(word in iperf_msg + nmap_msg for word in named)
    assert "SNMP" in snmp_msg or "control request" in snmp_msg, snmp_msg
    assert res.returncode == 1 and verifies(out)


def test_during_class_hours_no_bandwidth_packet_unless_forced(lab: Any, tmp_path: Path) -> None:
    def lessons_now(data: Doc) -> None:
        only("classrooms")(data)
        data["classrooms"] = [r for r in data["classrooms"] if r["id"] == "room102"]
        data["schedule"] = {"timezone": "Asia/Shanghai", "class_hours": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59"}]}

    inv = site(tmp_path, lessons_now)
    prof = str(profile(tmp_path, "bandwidth.classroom_goodput"))
    with tcpdump(AGENT, tmp_path / "deferred.pcap"):
        _res, out, report = audit(tmp_path, inv, (prof,), *FAST, out=tmp_path / "deferred")
    deferred = read_capture(tmp_path / "deferred.pcap")
    statuses = {f["status"] for f in report["findings"]}
    with tcpdump(AGENT, tmp_path / "forced.pcap"):
        _res, forced_out, forced = audit(tmp_path, inv, (prof,), *FAST, out=tmp_path / "forced",
                                         extra=("--allow-class-hours",))
    cap = read_capture(tmp_path / "forced.pcap")
    print(f"\nclass hours: {len(deferred.bandwidth_times)} bandwidth packets when deferred, "
          f"{len(cap.bandwidth_times)} when forced")
    assert statuses == {"skipped"} and deferred.bandwidth_times == []
    assert all("deferred" in f["message"] for f in report["findings"])
    assert forced["run"]["options"]["allow_class_hours"] is True and cap.bandwidth_times
    assert verifies(out) and verifies(forced_out)


# ----------------------------------------------------------------------------- pcap reading


@dataclass
class Capture:
    """What the agent sent, from a tcpdump capture on every agent interface."""

    packets: int = 0
    outgoing: int = 0
    loopback: int = 0
    kernel_ipv6: int = 0  # IPv6 neighbour discovery/MLD the kernel sends on link-local addresses
    destinations: Counter[str] = field(default_factory=Counter)
    outside: list[str] = field(default_factory=list)
    bandwidth_times: list[float] = field(default_factory=list)  # packets to iperf3 servers

    @property
    def out_of_scope(self) -> int:
        return len(self.outside)


def _records(data: bytes) -> Iterator[tuple[int, float, bytes]]:
    magic, = struct.unpack("<I", data[:4])
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "not a little-endian pcap"
    scale = 1e-6 if magic == 0xA1B2C3D4 else 1e-9
    linktype, = struct.unpack("<I", data[20:24])
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack("<IIII", data[pos:pos + 16])
        yield linktype, sec + frac * scale, data[pos + 16:pos + 16 + incl]
        pos += 16 + incl


def _sll(linktype: int, frame: bytes) -> tuple[int, int, int, bytes]:
    """(packet type, ARPHRD type, ethertype, payload) of a Linux cooked frame (SLL or SLL2)."""
    if linktype == 276:
        proto, _res, _ifindex, hatype, pkttype = struct.unpack(">HHIHB", frame[:11])
        return pkttype, hatype, proto, frame[20:]
    assert linktype == 113, f"unexpected link type {linktype}"
    pkttype, hatype = struct.unpack(">HH", frame[:4])
    proto, = struct.unpack(">H", frame[14:16])
    return pkttype, hatype, proto, frame[16:]


def read_capture(path: Path) -> Capture:
    cap = Capture()
    for linktype, when, frame in _records(path.read_bytes()):
        cap.packets += 1
        pkttype, hatype, proto, payload = _sll(linktype, frame)
        if hatype == 772:  # ARPHRD_LOOPBACK: the agent talking to itself
            cap.loopback += 1
            continue
        if pkttype != 4:  # only what the agent sent
            continue
        cap.outgoing += 1
        _classify(cap, when, proto, payload)
    return cap


def _classify(cap: Capture, when: float, proto: int, payload: bytes) -> None:
    if proto == 0x0800:
        dst = ipaddress.IPv4Address(payload[16:20])
        ihl = (payload[0] & 0x0F) * 4
        dport = struct.unpack(">H", payload[ihl + 2:ihl + 4])[0] if payload[9] in (6, 17) else None
        cap.destinations[str(dst)] += 1
        if dport == 5201 or (payload[9] == 6 and struct.unpack(">H", payload[ihl:ihl + 2])[0] == 5201):
            cap.bandwidth_times.append(when)
        dhcp = dst == ipaddress.IPv4Address("255.255.255.255") and payload[9] == 17 and dport == 67
        if dst not in SCOPE and not dhcp:
            cap.outside.append(f"IPv4 to {dst}")
    elif proto == 0x0806:
        target = ipaddress.IPv4Address(payload[24:28])
        cap.destinations[f"arp:{target}"] += 1
        if target not in SCOPE:
            cap.outside.append(f"ARP for {target}")
    elif proto == 0x86DD:
        dst6 = ipaddress.IPv6Address(payload[24:40])
        if dst6.is_link_local or (dst6.is_multicast and str(dst6).startswith("ff02:")):
            cap.kernel_ipv6 += 1
        else:
            cap.outside.append(f"IPv6 to {dst6}")
    else:
        cap.outside.append(f"ethertype 0x{proto:04x}")


@contextlib.contextmanager
def tcpdump(ns: str, pcap: Path) -> Iterator[dict[str, str]]:
    """Capture every packet on every interface of namespace ``ns`` while the block runs."""
    stats: dict[str, str] = {}
    argv = ["ip", "netns", "exec", ns, "tcpdump", "-i", "any", "-n", "-s", "96", "-B", "16384", "-U", "-w",
            str(pcap)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # tcpdump is listening once it has opened the capture
    try:
        yield stats
    finally:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        stats["tcpdump"] = " ".join(line for line in err.splitlines() if "packets" in line)


# ----------------------------------------------------------------------------- the full demo audit


V3_SECRETS = {"snmpv3-auth": "car-v3-auth-Key-8811", "snmpv3-priv": "car-v3-priv-Key-2299"}


def _demo_edit(tmp: Path) -> Callable[[Doc], None]:
    secrets = tmp / "secrets.yaml"
    text = (STATE / "secrets.yaml").read_text(encoding="utf-8")
    text += "".join(f"{k}: {json.dumps(v)}\n" for k, v in V3_SECRETS.items())
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)

    def edit(data: Doc) -> None:
        data["secrets_file"] = str(secrets)
        data["devices"].append({  # an SNMPv3 device, so v3 keys are resolved (and must never leak)
            "id": "v3-sw", "address": "10.200.9.2", "vendor": "huawei",
            "snmp": {"version": "3", "user": "auditor-v3", "auth_protocol": "sha", "priv_protocol": "aes",
                     "auth_key": {"secret": "snmpv3-auth"}, "priv_key": {"secret": "snmpv3-priv"}}})

    return edit


@pytest.fixture(scope="module")
def demo(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A full demo audit (three profiles, every probe) with tcpdump on every agent interface."""
    tmp = tmp_path_factory.mktemp("demo")
    inv = site(tmp, _demo_edit(tmp), timetable=True)  # the demo's own lessons: deferred in class time
    profiles = ("beijing-smart-campus-2023", "gbt22239-2019-level3", "campus-auditor-baseline")
    args = argv(tmp, inv, profiles, "iperf3.bandwidth.runs=1", "iperf3.bandwidth.duration_s=2",
                "iperf3.bandwidth.omit_s=0", out=tmp / "audit", extra=("--format", "html,md,oscal"))
    args.remove("-q")  # the progress display is part of the logs searched for secrets
    args.remove("--no-history")  # so is the history store in the state directory
    pcap = tmp / "agent.pcap"
    with tcpdump(AGENT, pcap) as stats:
        res = run_cli(*args, env=env(tmp), netns=AGENT)
    assert "Traceback" not in res.stderr, res.stderr
    report = json.loads((tmp / "audit" / "report.json").read_bytes())
    return {"tmp": tmp, "res": res, "out": tmp / "audit", "report": report, "pcap": pcap, "stats": stats,
            "inventory": inv}


def _key_material() -> dict[str, str]:
    """Every line of the lab's SSH private keys (the agent's client keys and the hosts' keys)."""
    keys = [STATE / "fw" / "fw-sshd" / "client_key", STATE / "backuphost" / "client_ed25519",
            STATE / "backuphost" / "ssh_host_ed25519_key",
            *sorted((STATE / "netdevices" / "keys").glob("*.rsa"))]
    out = {}
    for path in keys:
        body = [line for line in path.read_text(encoding="ascii").splitlines() if "PRIVATE KEY" not in line]
        out.update({f"{path.name} line {i}": line for i, line in enumerate(body, 1) if len(line) >= 16})
    return out


class TestTheFullDemoAudit:
    """What one full demo audit (the ``demo`` fixture) sent and kept. A class so that it is a work
    unit of its own under ``--dist loadscope`` (scripts/test.sh): it runs on one worker while the
    faults above run on another, instead of both pinning one worker at the end of the tier."""

    def test_every_packet_the_agent_sent_was_inside_the_scope(self, demo: dict[str, Any]) -> None:
        cap = read_capture(demo["pcap"])
        addresses = sorted({d.removeprefix("arp:") for d in cap.destinations})
        print(f"\ncaptured {cap.packets} packets on the agent's interfaces ({demo['stats']['tcpdump']}); "
              f"{cap.outgoing} sent by the agent to {len(addresses)} addresses; {cap.loopback} on loopback; "
              f"{cap.kernel_ipv6} IPv6 link-local control; {cap.out_of_scope} outside the scope")
        record("scope", "full demo audit", packets=cap.packets, outgoing=cap.outgoing,
               addresses=len(addresses), out_of_scope=cap.out_of_scope,
               bandwidth_packets=len(cap.bandwidth_times), tcpdump=demo["stats"]["tcpdump"])
        assert cap.outgoing > 1000 and len(addresses) > 10
        assert cap.outside == [], Counter(cap.outside).most_common(10)
        assert "dropped by kernel" not in demo["stats"]["tcpdump"] or " 0 packets dropped by kernel" in \
            demo["stats"]["tcpdump"]

    def test_bandwidth_tests_ran_only_outside_class_hours(self, demo: dict[str, Any]) -> None:
        from auditor.inventory import load_inventory
        from auditor.timetable import in_class_hours

        schedule = load_inventory(demo["inventory"]).inventory.schedule
        cap = read_capture(demo["pcap"])
        assert demo["report"]["run"]["options"]["allow_class_hours"] is False
        during = [t for t in cap.bandwidth_times if in_class_hours(schedule, datetime.fromtimestamp(t, UTC))]
        assert during == []
        ran = [p for p in demo["report"]["plan"] if p["safety"] == "bandwidth" and not p["refused"]]
        assert bool(ran) == bool(cap.bandwidth_times)  # deferred tests sent nothing

    def test_no_secret_in_the_bundle_the_state_directory_or_the_logs(
            self, demo: dict[str, Any], lab: Any) -> None:
        from auditor.lab import netdevices

        tmp, out = demo["tmp"], demo["out"]
        secrets = {"SNMP community": lab.snmp_community, "device password": netdevices.DEVICE_PASSWORD,
                   "enable secret": netdevices.ENABLE_SECRET,
                   **{f"SNMPv3 {k}": v for k, v in V3_SECRETS.items()}}
        secrets.update(_key_material())
        places: list[tuple[str, bytes]] = [(str(p), p.read_bytes()) for root in (out, tmp / "state")
                                           for p in root.rglob("*") if p.is_file()]
        places += [(f"auditor run {name}", getattr(demo["res"], name).encode())
                   for name in ("stdout", "stderr")]
        hits = [f"{name} in {where}" for name, value in secrets.items() for where, data in places
                if value.encode() in data]
        record("secrets", "demo bundle, state directory and logs", secrets=len(secrets), files=len(places),
               occurrences=len(hits))
        print(f"\nsearched {len(places)} files and logs for {len(secrets)} demo secrets: {len(hits)} found")
        assert len(places) > 50 and any("history" in where for where, _ in places)
        assert hits == []

    def test_the_demo_bundle_verifies_and_every_tampering_is_named(
            self, demo: dict[str, Any], tmp_path: Path) -> None:
        from tests.support.tamper import tamper_sweep

        assert verifies(demo["out"])
        # every file flipped and deleted, a FIFO in each file's place, five kinds of added entry (the
        # small bundle of tests/integration/test_reliability_tamper.py goes through every kind)
        results = tamper_sweep(demo["out"], tmp_path, edits=("flip",), replacements=("fifo",))
        caught = [r for r in results if r.detected and r.named]
        record("tamper", "full demo bundle", cases=len(results), detected=len(caught))
        print(f"\ntampered with the demo bundle {len(results)} ways: {len(caught)} detected and named")
        assert len(results) > 130  # 3 cases for each of the ~45 files in class hours, ~57 outside
        assert [r for r in results if r not in caught] == []

    def test_the_report_carries_the_authorisation(self, demo: dict[str, Any]) -> None:
        auth = demo["report"]["authorisation"]
        assert auth["status"] == "current" and "lab_run" not in auth
        assert auth["reference"].startswith("DEMO-AUTH-") and auth["authorised_by"]
        assert auth["valid_from"] <= auth["clock"]["date"] <= auth["valid_until"]
