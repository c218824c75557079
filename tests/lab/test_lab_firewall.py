"""Boundary firewall probes and checks against a real nftables firewall in network namespaces.

The test builds its own three namespaces (prefix ``he``)::

    he-out (10.200.0.2) ── he-fw (10.200.0.1 | 10.200.2.1) ── he-in (10.200.2.2, 10.200.20.2)

``he-out`` stands for the internet (the vantage point, and the outbound probe address);
``he-in`` for the school (agent and web server; 10.200.20.2:80 is published by DNAT on
10.200.0.1:80). The firewall runs the lab's nftables rulesets and an sshd. Probes that run
from inside are run in a subprocess under ``ip netns exec he-in``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.checks.firewall import (
    DefaultDrop,
    ManagementNotExposed,
    OutboundBlocked,
    OutboundParams,
    PublishedOnly,
)
from auditor.context import RunContext
from auditor.errors import ProbeError
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.lab.firewall import FirewallParams, Published, Sshd, apply, start_sshd, stop_sshd
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.firewall import (
    CONNECT_SCRIPT,
    FirewallOutboundProbe,
    FirewallOutsideProbe,
    FirewallRulesetProbe,
)
from auditor.secrets import SecretResolver
from tests.support.paths import ROOT as REPO

pytestmark = pytest.mark.lab
ROOT = REPO
OUT, FW, IN = "he-out", "he-fw", "he-in"
LINKS = (("he-o", OUT, "10.200.0.2/30", "he-fo", "10.200.0.1/30"),
         ("he-i", IN, "10.200.2.2/30", "he-fi", "10.200.2.1/30"))
WEB, FW_MGMT, FAR = "10.200.20.2", "10.200.2.1", "10.200.0.2"


@dataclass(frozen=True)
class Chain:
    state: Path
    params: FirewallParams
    sshd: Sshd


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20)


def _build() -> None:
    for ns in (OUT, FW, IN):
        _ip("netns", "add", ns)
        _ip("-n", ns, "link", "set", "lo", "up")
    for leaf_dev, leaf_ns, leaf_addr, fw_dev, fw_addr in LINKS:
        _ip("link", "add", leaf_dev, "netns", leaf_ns, "type", "veth", "peer", "name", fw_dev, "netns", FW)
        _ip("-n", leaf_ns, "addr", "add", leaf_addr, "dev", leaf_dev)
        _ip("-n", FW, "addr", "add", fw_addr, "dev", fw_dev)
        _ip("-n", leaf_ns, "link", "set", leaf_dev, "up")
        _ip("-n", FW, "link", "set", fw_dev, "up")
    _ip("-n", IN, "addr", "add", f"{WEB}/32", "dev", "lo")
    _ip("-n", OUT, "route", "add", "10.200.0.0/16", "via", "10.200.0.1")
    _ip("-n", IN, "route", "add", "default", "via", FW_MGMT)
    _ip("-n", FW, "route", "add", "10.200.0.0/16", "via", "10.200.2.2")


def _teardown() -> None:
    existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    for ns in (OUT, FW, IN):
        if any(line.split()[0] == ns for line in existing.splitlines() if line.strip()):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=20)


def _listener(ns: str, address: str, port: int, root: Path) -> subprocess.Popen[bytes]:
    argv = ["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", str(port), "--bind", address,
            "--directory", str(root)]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _connect(ns: str, address: str, port: int) -> str:
    res = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-I", "-c", CONNECT_SCRIPT, "2", "1",
                          f"{address}:{port}"], capture_output=True, text=True, timeout=30, check=True)
    state: str = json.loads(res.stdout)["state"]
    return state


def _wait_open(ns: str, address: str, port: int) -> None:
    for _ in range(100):
        if _connect(ns, address, port) == "open":
            return
        subprocess.run(["sleep", "0.1"], check=False)
    raise AssertionError(f"{address}:{port} never opened in {ns}")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    for tool in ("ip", "nft", "sshd", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    state = tmp_path_factory.mktemp("he-fw")
    _teardown()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _build()
        params = FirewallParams(outside_if="he-fo", inside_if="he-fi", outside_address="10.200.0.1",
                                mgmt_net="10.200.2.0/30", published=(Published(80, WEB, 80),),
                                state_dir=state)
        apply(FW, "compliant", params)
        sshd = start_sshd(FW, state)
        (state / "known_hosts").write_text(f"{FW_MGMT} {sshd.host_public_key}\n")
        procs += [_listener(IN, WEB, 80, state), _listener(OUT, FAR, 5201, state)]
        _wait_open(IN, WEB, 80)
        _wait_open(OUT, FAR, 5201)
        yield Chain(state, params, sshd)
    finally:
        stop_sshd(state)
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        _teardown()


def _inventory(chain: Chain, vantage: str = OUT) -> dict[str, Any]:
    return {
        "school": {"name": "firewall lab"},
        "scope": {"allow": ["10.200.0.0/16"]},
        "agent": {"known_hosts": str(chain.state / "known_hosts")},
        "devices": [{"id": "fw", "address": FW_MGMT, "vendor": "linux", "role": "firewall",
                     "ssh": {"username": {"env": "HE_FW_USER"}, "key_file": str(chain.sshd.client_key)}}],
        "firewalls": [{"id": "edge", "device": "fw", "outside_addresses": ["10.200.0.1"], "published": [80],
                       "management_address": FW_MGMT, "management_ports": [22, 443],
                       "vantage": {"netns": vantage}, "outbound_probe": FAR,
                       "forbidden_outbound": [23, 445, 3389, 6379]}],
    }


def _context(inv: Inventory, bundle: Path, state: Path) -> RunContext:
    secrets = SecretResolver(None)
    return RunContext(inventory=inv, evidence=EvidenceStore(bundle, secrets), secrets=secrets,
                      state_dir=state)


async def _run_probe(probe: Any, ctx: RunContext) -> list[Fact]:
    facts: list[Fact] = []
    for task in probe.plan(ctx.inventory, probe.settings_model()):
        try:
            facts += await probe.run(task, ctx)
        except ProbeError as exc:
            facts += task.failed(FactStatus.ERROR, str(exc))
    return facts


def inside_main() -> None:
    """Entry point of the subprocess in he-in: run the outbound and ruleset probes, print facts."""
    inv_path, bundle = Path(sys.argv[1]), Path(sys.argv[2])
    inv = Inventory.model_validate(json.loads(inv_path.read_text()))
    ctx = _context(inv, bundle, bundle)
    probes: list[Any] = [FirewallOutboundProbe(), FirewallRulesetProbe()]
    if sys.argv[3:] == ["outside"]:  # the outside view through an SSH vantage, logged into from inside
        probes = [FirewallOutsideProbe()]
    facts = [f for p in probes for f in asyncio.run(_run_probe(p, ctx))]
    sys.stdout.write(json.dumps([f.to_json() for f in facts]))


def _inside_facts(inv: dict[str, Any], tmp: Path, *which: str) -> list[Fact]:
    (tmp / "inv.json").write_text(json.dumps(inv))
    code = "import sys; from tests.lab.test_lab_firewall import inside_main; inside_main()"
    argv = ["ip", "netns", "exec", IN, sys.executable, "-c", code, str(tmp / "inv.json"),
            str(tmp / "bundle-in"), *which]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "HE_FW_USER": "root"}, check=False)
    assert res.returncode == 0, res.stderr
    return [Fact(f["kind"], f["subject"], f["probe"], FactStatus(f["status"]), f["data"], f["error"],
                 tuple(f["artifacts"])) for f in json.loads(res.stdout)]


def _audit(chain: Chain, tmp: Path, inv_data: dict[str, Any]) -> tuple[dict[str, Finding], FactIndex]:
    tmp.mkdir(parents=True, exist_ok=True)
    inv = Inventory.model_validate(inv_data)
    facts = FactIndex()
    for fact in asyncio.run(_run_probe(FirewallOutsideProbe(), _context(inv, tmp / "bundle", tmp))):
        facts.add(fact)
    for fact in _inside_facts(inv_data, tmp):
        facts.add(fact)
    findings: dict[str, Finding] = {}
    for check, params in ((PublishedOnly(), None), (ManagementNotExposed(), None),
                          (OutboundBlocked(), OutboundParams()), (DefaultDrop(), None)):
        (finding,) = check.evaluate(CheckContext(inv, facts, params or check.params_model()))
        findings[check.meta.id] = finding
    return findings, facts


def _states(fact: Fact | None) -> dict[str, str]:
    assert fact is not None and fact.status is FactStatus.OK, fact
    return {f"{r['address']}:{r['port']}/{r['proto']}": r["state"] for r in fact.data["results"]}


def test_compliant_passes_and_allow_all_fails(chain: Chain, tmp_path: Path) -> None:
    found, facts = _audit(chain, tmp_path / "compliant", _inventory(chain))
    assert {k: f.status for k, f in found.items()} == dict.fromkeys(found, Status.PASS), found
    outside = _states(facts.get("firewall.outside", "firewall/edge"))
    assert outside["10.200.0.1:80/tcp"] == "open"  # the DNAT to the web server
    assert outside["10.200.0.1:22/tcp"] == "filtered"  # sshd listens, input drops it
    assert outside[f"{FW_MGMT}:22/tcp"] == "filtered"
    outbound = _states(facts.get("firewall.outbound", "firewall/edge"))
    assert set(outbound.values()) == {"rejected"}  # reject with icmp admin-prohibited
    assert _connect(IN, FAR, 5201) == "open"  # allowed outbound (the iperf3 port) still works
    drop = found["firewall.default_drop"]
    assert "inet filter input: type filter hook input priority filter; policy drop;" in drop.lines
    assert drop.artifacts and (tmp_path / "compliant" / "bundle-in" / drop.artifacts[0]).is_file()

    apply(FW, "allow-all", chain.params)
    try:
        found, facts = _audit(chain, tmp_path / "allow-all", _inventory(chain))
    finally:
        apply(FW, "compliant", chain.params)
    assert {k: f.status for k, f in found.items()} == dict.fromkeys(found, Status.FAIL), found
    assert "not published but open: 10.200.0.1:22/tcp open" in found["firewall.published_only"].message
    assert "10.200.0.1:80/tcp" not in found["firewall.published_only"].message
    assert f"{FW_MGMT}:22/tcp open" in found["firewall.mgmt_not_exposed"].message
    outbound_msg = found["firewall.outbound_blocked"].message
    assert "10.200.0.2:23/tcp closed" in outbound_msg and "crossed the firewall" in outbound_msg
    drop = found["firewall.default_drop"]
    planted = [line for line in drop.lines if line.startswith("inet filter forward: counter packets ")]
    assert len(planted) == 1 and planted[0].endswith(" accept")
    assert "input: policy accept and no final drop rule" in drop.message


def test_missing_vantage_namespace_is_an_error(chain: Chain, tmp_path: Path) -> None:
    inv = Inventory.model_validate(_inventory(chain, vantage="he-nothere"))
    facts = asyncio.run(_run_probe(FirewallOutsideProbe(), _context(inv, tmp_path / "b", tmp_path)))
    assert [f.status for f in facts] == [FactStatus.ERROR]
    assert "he-nothere" in (facts[0].error or "") and "does not exist" in (facts[0].error or "")
    index = FactIndex()
    index.add(facts[0])
    (finding,) = PublishedOnly().evaluate(CheckContext(inv, index, PublishedOnly.params_model()))
    assert finding.status is Status.ERROR and "he-nothere" in finding.message


def test_ruleset_is_an_error_when_sshd_is_down(chain: Chain, tmp_path: Path) -> None:
    stop_sshd(chain.state)
    try:
        facts = _inside_facts(_inventory(chain), tmp_path)
    finally:
        start_sshd(FW, chain.state)
    ruleset = next(f for f in facts if f.kind == "firewall.ruleset")
    assert ruleset.status is FactStatus.ERROR
    assert f"firewall fw {FW_MGMT}:22" in (ruleset.error or "")  # names the target
    inv = Inventory.model_validate(_inventory(chain))
    index = FactIndex()
    index.add(ruleset)
    (finding,) = DefaultDrop().evaluate(CheckContext(inv, index, DefaultDrop.params_model()))
    assert finding.status is Status.ERROR


def test_outside_view_through_an_ssh_vantage_matches_the_namespace_one(chain: Chain, tmp_path: Path) -> None:
    """A real deployment measures "outside" from a host it logs into (a district server): here an
    sshd on the outside namespace, reached from inside through the firewall."""
    vantage_state = tmp_path / "vantage"
    vantage = start_sshd(OUT, vantage_state, address=FAR)
    try:
        known = tmp_path / "known_hosts"
        known.write_text(f"{FW_MGMT} {chain.sshd.host_public_key}\n{FAR} {vantage.host_public_key}\n")
        inv = _inventory(chain)
        inv["agent"]["known_hosts"] = str(known)
        inv["firewalls"][0]["vantage"] = {"ssh": {"address": FAR, "ssh": {
            "username": {"env": "HE_FW_USER"}, "key_file": str(vantage.client_key)}}}
        (outside,) = _inside_facts(inv, tmp_path, "outside")
    finally:
        stop_sshd(vantage_state)
    assert outside.kind == "firewall.outside" and outside.data["vantage"] == f"ssh:{FAR}"
    states = _states(outside)
    assert states["10.200.0.1:80/tcp"] == "open" and states["10.200.0.1:22/tcp"] == "filtered"
    from_namespace = asyncio.run(_run_probe(FirewallOutsideProbe(), _context(
        Inventory.model_validate(_inventory(chain)), tmp_path / "ns", tmp_path)))
    assert _states(from_namespace[0]) == states
