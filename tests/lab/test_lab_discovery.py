"""LAN discovery probes against a real bridged LAN in network namespaces (prefix ``hf``).

The LAN (auditor.lab.lan) has a real dnsmasq as the school's DHCP server, a second, rogue
dnsmasq, a declared printer and an undeclared PC. The probes run inside the agent namespace in
a child process (raw sockets need the namespace), and the checks judge the facts they print.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.checks.discovery import NoParams, RogueDhcp, UnknownHosts
from auditor.context import RunContext
from auditor.errors import OutOfScope, ProbeError, TargetUnreachable, ToolTimeout
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Safety, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.discovery import (
    ArpSweepProbe,
    ArpSweepSettings,
    DhcpOffersProbe,
    DhcpSettings,
    _in_thread,
)
from auditor.secrets import SecretResolver

PREFIX = "hf"
AGENT = f"{PREFIX}-agent"
QUICK_ARP = {"timeout_s": 1.0, "retry": 1}
QUICK_DHCP = {"timeout_s": 2.0, "retry": 1}

# Runs in the agent namespace: plan the probe for the inventory, run every task, print the facts
# (a task that raises becomes error facts, as the engine makes them).
_DRIVER = """
import asyncio, json, sys
from pathlib import Path
if sys.argv[5] == "no-scapy":
    sys.modules["scapy"] = None  # the package is absent: importing it fails
from auditor.context import RunContext
from auditor.errors import AuditorError
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.model import FactStatus
from auditor.probes.discovery import ArpSweepProbe, DhcpOffersProbe
from auditor.secrets import SecretResolver

inv = Inventory.model_validate(json.loads(sys.argv[1]))
probe = {"arp": ArpSweepProbe(), "dhcp": DhcpOffersProbe()}[sys.argv[2]]
settings = probe.settings_model.model_validate(json.loads(sys.argv[3]))
out = Path(sys.argv[4])
secrets = SecretResolver(None)
ctx = RunContext(inv, EvidenceStore(out, secrets), secrets, state_dir=out)
facts = []
for task in probe.plan(inv, settings):
    try:
        facts += asyncio.run(probe.run(task, ctx))
    except AuditorError as exc:
        facts += task.failed(FactStatus.ERROR, f"{type(exc).__name__}: {exc}")
print(json.dumps([f.to_json() for f in facts]))
"""


def _site(lan: Any, **discovery: Any) -> dict[str, Any]:
    return {
        "school": {"name": "hf demo"},
        "scope": {"allow": ["10.200.0.0/16"]},
        "devices": [{"id": "dhcp", "address": lan.dhcp_server, "vendor": "linux"}],
        "discovery": {
            "interface": lan.agent_interface, "segments": [lan.segment], "dhcp_servers": [lan.dhcp_server],
            "known_hosts": [{"address": lan.printer, "mac": lan.printer_mac, "name": "office printer"}],
            **discovery,
        },
    }


def _run_probe(site: dict[str, Any], which: str, settings: dict[str, Any], out: Path,
               wrap: tuple[str, ...] = (), scapy: str = "scapy") -> list[Fact]:
    argv = ["ip", "netns", "exec", AGENT, *wrap, sys.executable, "-c", _DRIVER, json.dumps(site), which,
            json.dumps(settings), str(out), scapy]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    return [Fact(d["kind"], d["subject"], d["probe"], FactStatus(d["status"]), d["data"], d["error"],
                 tuple(d["artifacts"])) for d in json.loads(res.stdout)]


def _judge(site: dict[str, Any], facts: list[Fact], check: Any) -> list[Any]:
    index = FactIndex()
    for fact in facts:
        index.add(fact)
    found: list[Any] = check.evaluate(CheckContext(Inventory.model_validate(site), index, NoParams()))
    return found


def _lab_reason() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, raw sockets)"
    for tool in ("ip", "dnsmasq", "setpriv"):
        if shutil.which(tool) is None:
            return f"lab tests need {tool}"
    return None


class _Lan:
    """The hf LAN and its two DHCP servers, which tests may stop and start again."""

    def __init__(self, state: Path) -> None:
        from auditor.lab import lan

        self.state = state
        self.info = lan.build(PREFIX, AGENT, state)
        self.records: dict[str, Any] = {}

    def start(self, *names: str) -> None:
        from auditor.lab import base, lan

        specs = lan.daemon_specs(PREFIX, self.state)
        for name in names:
            if name not in self.records:
                ns, argv, env = specs[name]
                self.records[name] = base.spawn(self.state, ns, name, argv, env)
        lan.wait_ready(PREFIX, names)

    def stop(self, *names: str) -> None:
        from auditor.lab import base

        for name in names:
            rec = self.records.pop(name, None)
            if rec is not None:
                base.terminate(rec)


def _teardown() -> None:
    from auditor.lab import lan

    lan.remove(PREFIX)
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    if AGENT in {line.split()[0] for line in existing.splitlines() if line.strip()}:
        subprocess.run(["ip", "netns", "del", AGENT], check=True)


@pytest.fixture(scope="module")
def hf_lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Lan]:
    reason = _lab_reason()
    if reason:
        pytest.skip(reason)
    _teardown()  # leftovers of an interrupted run
    subprocess.run(["ip", "netns", "add", AGENT], check=True)
    lan = None
    try:
        lan = _Lan(tmp_path_factory.mktemp("hf-lan"))
        lan.start("dhcp-authorised", "dhcp-rogue")
        yield lan
    finally:
        if lan is not None:
            lan.stop(*list(lan.records))
        _teardown()


# ------------------------------------------------------------------ against the real LAN


@pytest.mark.lab
def test_sweep_flags_the_unknown_pc_not_the_declared_printer(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    site = _site(lan)
    (fact,) = _run_probe(site, "arp", QUICK_ARP, tmp_path)
    assert fact.status is FactStatus.OK, fact.error
    seen = {h["ip"]: h["mac"] for h in fact.data["hosts"]}
    assert seen[lan.unknown_pc] == lan.unknown_pc_mac and seen[lan.printer] == lan.printer_mac
    assert {lan.dhcp_server, lan.rogue_dhcp_server} <= set(seen)
    assert lan.agent_address not in seen and fact.data["agent_ip"] == lan.agent_address
    assert fact.data["sent"] == 253  # every host address of the /24 but the agent's own
    (finding,) = _judge(site, [fact], UnknownHosts())
    assert finding.status is Status.FAIL
    assert f"{lan.unknown_pc} {lan.unknown_pc_mac}" in finding.message
    assert f"{lan.rogue_dhcp_server} " in finding.message  # the rogue box is itself unregistered
    assert lan.printer not in finding.message and f"{lan.dhcp_server} " not in finding.message
    record = json.loads((tmp_path / fact.artifacts[0]).read_text())
    assert any(f["direction"] == "in" and lan.unknown_pc_mac.replace(":", "") in f["hex"]
               for f in record["frames"])
    from scapy.layers.l2 import ARP
    from scapy.utils import rdpcap

    replies = [p for p in rdpcap(str(tmp_path / fact.artifacts[1])) if ARP in p and p[ARP].op == 2]
    assert {p[ARP].psrc for p in replies} == set(seen)


@pytest.mark.lab
def test_declaring_every_host_makes_the_sweep_pass(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    site = _site(lan, known_hosts=[{"address": a} for a in (lan.printer, lan.unknown_pc,
                                                            lan.rogue_dhcp_server)])
    (finding,) = _judge(site, _run_probe(site, "arp", QUICK_ARP, tmp_path), UnknownHosts())
    assert finding.status is Status.PASS and finding.measured == 0


@pytest.mark.lab
def test_both_servers_offer_the_rogue_is_flagged_and_no_lease_is_taken(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    site = _site(lan)
    (fact,) = _run_probe(site, "dhcp", QUICK_DHCP, tmp_path)
    assert fact.status is FactStatus.OK, fact.error
    by_server = {o["server_id"]: o for o in fact.data["offers"]}
    assert set(by_server) == {lan.dhcp_server, lan.rogue_dhcp_server}
    assert by_server[lan.rogue_dhcp_server]["router"] == [lan.rogue_dhcp_server]
    assert by_server[lan.dhcp_server]["offered"].startswith("10.200.40.1")  # .100-.150 pool
    assert fact.data["client_mac"] == "02:ca:28:00:00:0a"  # the interface's own MAC by default
    (finding,) = _judge(site, [fact], RogueDhcp())
    assert finding.status is Status.FAIL and finding.severity.value == "high"
    assert f"{lan.rogue_dhcp_server} (from {lan.rogue_dhcp_server} 02:ca:28:00:00:42)" in finding.message
    assert f"{lan.dhcp_server} (from" not in finding.message
    assert all((hf_lan.state / f"{n}.leases").read_text() == "" for n in ("dhcp-authorised", "dhcp-rogue"))
    record = json.loads((tmp_path / fact.artifacts[0]).read_text())
    assert [f["direction"] for f in record["frames"]].count("out") == 1  # the DISCOVER, no REQUEST
    random_mac = _run_probe(site, "dhcp", {**QUICK_DHCP, "client_mac": "random"}, tmp_path / "r")[0]
    mac = random_mac.data["client_mac"]
    assert mac != fact.data["client_mac"] and int(mac[:2], 16) & 0x03 == 0x02  # local, unicast
    assert {o["server_id"] for o in random_mac.data["offers"]} == set(by_server)


@pytest.mark.lab
def test_rogue_stopped_passes_and_no_server_fails(hf_lan: _Lan, tmp_path: Path) -> None:
    site = _site(hf_lan.info)
    try:
        hf_lan.stop("dhcp-rogue")
        (finding,) = _judge(site, _run_probe(site, "dhcp", QUICK_DHCP, tmp_path / "a"), RogueDhcp())
        assert finding.status is Status.PASS, finding.message
        hf_lan.stop("dhcp-authorised")
        (finding,) = _judge(site, _run_probe(site, "dhcp", QUICK_DHCP, tmp_path / "b"), RogueDhcp())
        assert finding.status is Status.FAIL
        assert "authorised DHCP server did not answer" in finding.message
    finally:
        hf_lan.start("dhcp-authorised", "dhcp-rogue")


@pytest.mark.lab
def test_missing_interface_and_out_of_scope_segment_are_errors(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    for which, check in (("arp", UnknownHosts()), ("dhcp", RogueDhcp())):
        site = _site(lan, interface="hf-nope0")
        (finding,) = _judge(site, _run_probe(site, which, QUICK_ARP, tmp_path / which), check)
        assert finding.status is Status.ERROR and "interface hf-nope0 does not exist" in finding.message
        narrow = {**_site(lan), "scope": {"allow": ["10.200.40.0/25"]}}
        (finding,) = _judge(narrow, _run_probe(narrow, which, QUICK_ARP, tmp_path / which), check)
        assert finding.status is Status.ERROR and "OutOfScope: refused" in finding.message
        assert "10.200.40.0/24" in finding.message


@pytest.mark.lab
def test_interface_down_no_raw_sockets_and_no_scapy_are_errors(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    site = _site(lan)
    no_raw = ("setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw")
    for which in ("arp", "dhcp"):
        (fact,) = _run_probe(site, which, QUICK_ARP, tmp_path, wrap=no_raw)
        assert fact.status is FactStatus.ERROR and "needs root (raw sockets, CAP_NET_RAW)" in str(fact.error)
        (fact,) = _run_probe(site, which, QUICK_ARP, tmp_path, scapy="no-scapy")
        assert fact.status is FactStatus.ERROR and str(fact.error).startswith("ToolMissing")
        assert "scapy" in str(fact.error)
    subprocess.run(["ip", "-n", AGENT, "link", "set", lan.agent_interface, "down"], check=True)
    try:
        for which in ("arp", "dhcp"):
            (fact,) = _run_probe(site, which, QUICK_ARP, tmp_path)
            assert fact.status is FactStatus.ERROR
            assert f"interface {lan.agent_interface} is down" in str(fact.error)
    finally:
        subprocess.run(["ip", "-n", AGENT, "link", "set", lan.agent_interface, "up"], check=True)


@pytest.mark.lab
def test_segment_the_interface_is_not_on_and_silent_segment_are_errors(hf_lan: _Lan, tmp_path: Path) -> None:
    lan = hf_lan.info
    site = _site(lan, segments=["10.200.41.0/24"])
    (fact,) = _run_probe(site, "arp", QUICK_ARP, tmp_path)
    assert fact.status is FactStatus.ERROR and "has no IPv4 address in 10.200.41.0/24" in str(fact.error)
    (fact,) = _run_probe(site, "dhcp", QUICK_DHCP, tmp_path)
    assert fact.status is FactStatus.ERROR and "is on none of discovery.segments" in str(fact.error)
    add = ["ip", "-n", AGENT, "addr", "add", "10.200.41.10/24", "dev", lan.agent_interface]
    subprocess.run(add, check=True)
    try:  # the agent is on the segment, but nothing else is: no answer is not a clean pass
        (fact,) = _run_probe(site, "arp", {"timeout_s": 0.5, "retry": 0}, tmp_path)
        assert fact.status is FactStatus.ERROR and "no host answered" in str(fact.error)
    finally:
        subprocess.run([*add[:4], "del", *add[5:]], check=True)


# ------------------------------------------------------------------ without the lab


def _ctx(site: dict[str, Any], tmp: Path) -> RunContext:
    secrets = SecretResolver(None)
    return RunContext(Inventory.model_validate(site), EvidenceStore(tmp, secrets), secrets, state_dir=tmp)


SITE: dict[str, Any] = {
    "school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
    "discovery": {"interface": "lo", "segments": ["10.200.40.0/24", "10.200.44.0/22"]},
}


def test_plan_one_active_task_per_segment_and_one_dhcp_task() -> None:
    inv = Inventory.model_validate(SITE)
    tasks = ArpSweepProbe().plan(inv, ArpSweepSettings())
    assert [t.target for t in tasks] == ["segment/10.200.40.0/24", "segment/10.200.44.0/22"]
    assert all(t.safety is Safety.ACTIVE and t.locks == {"lan:lo"} for t in tasks)
    assert tasks[1].address == "10.200.44.0" and tasks[1].params["interface"] == "lo"
    (dhcp,) = DhcpOffersProbe().plan(inv, DhcpSettings())
    assert dhcp.target == "dhcp/lo" and dhcp.produces == (("discovery.dhcp_offers", "dhcp/lo"),)
    bare = Inventory.model_validate({k: v for k, v in SITE.items() if k != "discovery"})
    assert ArpSweepProbe().plan(bare, ArpSweepSettings()) == []
    assert DhcpOffersProbe().plan(bare, DhcpSettings()) == []


def test_refusals_before_any_frame_is_sent(tmp_path: Path) -> None:
    probe = ArpSweepProbe()
    small = ArpSweepSettings(max_hosts=512)
    task = probe.plan(Inventory.model_validate(SITE), small)[1]
    with pytest.raises(ProbeError, match=r"10\.200\.44\.0/22 has 1022 addresses, more than max_hosts"):
        asyncio.run(probe.run(task, _ctx(SITE, tmp_path)))
    narrow = {**SITE, "scope": {"allow": ["10.200.44.0/23"]}}
    with pytest.raises(OutOfScope, match=r"segment 10\.200\.44\.0/22 is not inside the scope allow-list"):
        asyncio.run(probe.run(task, _ctx(narrow, tmp_path)))
    missing = {**SITE, "discovery": {**SITE["discovery"], "interface": "hfnone0"}}
    (dhcp,) = DhcpOffersProbe().plan(Inventory.model_validate(missing), DhcpSettings())
    with pytest.raises(TargetUnreachable, match="interface hfnone0 does not exist"):
        asyncio.run(DhcpOffersProbe().run(dhcp, _ctx(missing, tmp_path)))


def test_send_receive_outliving_its_limit_is_a_timeout() -> None:
    release = threading.Event()

    def stuck() -> None:
        release.wait(60)

    loop = asyncio.new_event_loop()  # not asyncio.run: it would wait for the stuck thread
    try:
        with pytest.raises(ToolTimeout, match="ARP sweep of x on eth9 did not finish within 0 s"):
            loop.run_until_complete(_in_thread(stuck, 0.05, "eth9", "ARP sweep of x"))
    finally:
        release.set()
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
