"""LAN discovery checks on facts: unknown hosts and rogue DHCP servers, pass, fail and error."""

from __future__ import annotations

from typing import Any

from auditor.checks.discovery import NoParams, RogueDhcp, UnknownHosts, known_addresses
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Severity, Status
from auditor.plugins import CheckContext, FactIndex

SEG, SEG2 = "10.200.40.0/24", "10.200.41.0/24"
BASE: dict[str, Any] = {
    "school": {"name": "t"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "devices": [{"id": "core", "address": "10.200.40.1", "vendor": "huawei"}],
    "servers": [{"id": "web", "address": "10.200.40.5"}],
    "classrooms": [{"id": "r1", "name": "101", "endpoint": {"address": "10.200.41.30"}}],
    "discovery": {
        "interface": "eth1", "segments": [SEG, SEG2], "dhcp_servers": ["10.200.40.2"],
        "known_hosts": [{"address": "10.200.40.20", "mac": "02:ca:28:00:00:14", "name": "printer"}],
    },
}
INV = Inventory.model_validate(BASE)


def inventory(**discovery: Any) -> Inventory:
    return Inventory.model_validate({**BASE, "discovery": {**BASE["discovery"], **discovery}})


def host(ip: str, mac: str, vendor: str | None = None) -> dict[str, Any]:
    return {"ip": ip, "mac": mac, "vendor": vendor}


def hosts_fact(segment: str, hosts: list[dict[str, Any]], agent_ip: str = "10.200.40.10",
               status: FactStatus = FactStatus.OK, error: str | None = None) -> Fact:
    data = {"segment": segment, "interface": "eth1", "agent_ip": agent_ip, "sent": 253, "passes": 2,
            "hosts": hosts} if status is FactStatus.OK else {}
    return Fact("discovery.hosts", f"segment/{segment}", "discovery.arp_sweep", status, data, error,
                (f"evidence/discovery/arp-{segment.replace('/', '-')}.json",))


def offer(server: str | None, source: str, mac: str, offered: str, relay: str | None = None,
          router: str = "10.200.40.1") -> dict[str, Any]:
    return {"server_id": server, "source_ip": source, "source_mac": mac, "offered": offered,
            "relay": relay, "router": [router], "dns": [source], "subnet_mask": "255.255.255.0",
            "lease_s": 3600, "domain": None}


def offers_fact(offers: list[dict[str, Any]], status: FactStatus = FactStatus.OK,
                error: str | None = None) -> Fact:
    data = {"interface": "eth1", "client_mac": "02:ca:28:00:00:0a", "client_mac_mode": "interface",
            "xid": "0x1a2b3c4d", "discovers_sent": 2, "listened_s": 6.0, "segments": [SEG, SEG2],
            "offers": offers, "seconds": 6.004} if status is FactStatus.OK else {}
    return Fact("discovery.dhcp_offers", "dhcp/eth1", "discovery.dhcp", status, data, error,
                ("evidence/discovery/dhcp-eth1.json",))


def index(*facts: Fact) -> FactIndex:
    out = FactIndex()
    for fact in facts:
        out.add(fact)
    return out


def unknown(inv: Inventory, *facts: Fact) -> dict[str, Any]:
    return {f.target: f for f in UnknownHosts().evaluate(CheckContext(inv, index(*facts), NoParams()))}


def rogue(inv: Inventory, *facts: Fact) -> Any:
    (finding,) = RogueDhcp().evaluate(CheckContext(inv, index(*facts), NoParams()))
    return finding


AUTH = offer("10.200.40.2", "10.200.40.2", "02:ca:28:00:00:02", "10.200.40.117")
ROGUE = offer("10.200.40.66", "10.200.40.66", "02:ca:28:00:00:42", "10.200.40.217", router="10.200.40.66")


def test_known_addresses_come_from_every_part_of_the_inventory() -> None:
    known = known_addresses(INV)
    assert {"10.200.40.1", "10.200.40.5", "10.200.41.30", "10.200.40.2", "10.200.40.20"} <= known
    assert "10.200.40.77" not in known


def test_unknown_host_fails_with_ip_and_mac_per_segment() -> None:
    found = unknown(INV, hosts_fact(SEG, [
        host("10.200.40.1", "02:00:00:00:00:01"), host("10.200.40.2", "02:ca:28:00:00:02"),
        host("10.200.40.20", "02:ca:28:00:00:14"), host("10.200.40.77", "02:ca:28:00:00:4d", "Acme"),
    ]), hosts_fact(SEG2, [host("10.200.41.30", "02:00:00:00:00:30")], agent_ip="10.200.41.10"))
    assert set(found) == {f"segment/{SEG}", f"segment/{SEG2}"}
    bad = found[f"segment/{SEG}"]
    assert bad.status is Status.FAIL and bad.measured == 1 and bad.severity is Severity.MEDIUM
    assert "10.200.40.77 02:ca:28:00:00:4d (Acme)" in bad.message
    assert "10.200.40.20" not in bad.message and "10.200.40.1 " not in bad.message
    assert bad.lines == ("10.200.40.77 02:ca:28:00:00:4d (Acme)",)
    assert bad.artifacts == ("evidence/discovery/arp-10.200.40.0-24.json",)
    good = found[f"segment/{SEG2}"]
    assert good.status is Status.PASS and good.measured == 0


def test_agent_address_is_known_and_declared_mac_mismatch_fails() -> None:
    found = unknown(INV, hosts_fact(SEG, [host("10.200.40.10", "02:ca:28:00:00:0a")]),
                    hosts_fact(SEG2, [host("10.200.41.30", "02:00:00:00:00:30")]))
    assert found[f"segment/{SEG}"].status is Status.PASS
    found = unknown(INV, hosts_fact(SEG, [host("10.200.40.20", "02:de:ad:00:00:01")]),
                    hosts_fact(SEG2, [host("10.200.41.30", "02:00:00:00:00:30")]))
    moved = found[f"segment/{SEG}"]
    assert moved.status is Status.FAIL
    assert "10.200.40.20 02:de:ad:00:00:01" in moved.message and "02:ca:28:00:00:14" in moved.message


def test_unknown_hosts_error_skip_missing_and_no_discovery() -> None:
    found = unknown(INV, hosts_fact(SEG, [], status=FactStatus.ERROR,
                                    error="interface eth1 does not exist on the agent"))
    assert found[f"segment/{SEG}"].status is Status.ERROR
    assert "eth1 does not exist" in found[f"segment/{SEG}"].message
    assert found[f"segment/{SEG2}"].status is Status.ERROR  # no fact at all
    assert "produced nothing" in found[f"segment/{SEG2}"].message
    skipped = unknown(INV, hosts_fact(SEG, [], status=FactStatus.SKIPPED, error="not planned"))
    assert skipped[f"segment/{SEG}"].status is Status.SKIPPED
    bare = Inventory.model_validate({k: v for k, v in BASE.items() if k != "discovery"})
    (only,) = UnknownHosts().evaluate(CheckContext(bare, index(), NoParams()))
    assert only.status is Status.ERROR and "no 'discovery' section" in only.message


def test_rogue_dhcp_server_fails_high_with_its_offer() -> None:
    finding = rogue(INV, offers_fact([AUTH, ROGUE]))
    assert finding.status is Status.FAIL and finding.severity is Severity.HIGH
    assert finding.measured == 1 and finding.target == "dhcp/eth1"
    assert "10.200.40.66 (from 10.200.40.66 02:ca:28:00:00:42) offered 10.200.40.217" in finding.message
    assert "router 10.200.40.66" in finding.message
    assert "10.200.40.117" not in finding.message  # the authorised offer is not blamed
    assert len(finding.lines) == 2  # both offers are shown as what the verdict relied on


def test_only_authorised_server_passes_and_relayed_offer_counts_by_server_id() -> None:
    assert rogue(INV, offers_fact([AUTH])).status is Status.PASS
    relayed = offer("10.200.40.2", "10.200.41.1", "02:00:00:00:00:01", "10.200.41.120", relay="10.200.41.1")
    finding = rogue(INV, offers_fact([relayed]))
    assert finding.status is Status.PASS and "via relay 10.200.41.1" in finding.lines[0]
    no_id = offer(None, "10.200.40.2", "02:ca:28:00:00:02", "10.200.40.118")
    assert rogue(INV, offers_fact([no_id])).status is Status.PASS  # falls back to the source address


def test_silent_authorised_server_fails_and_nothing_declared_nothing_seen_passes() -> None:
    silent = rogue(INV, offers_fact([]))
    assert silent.status is Status.FAIL and "authorised DHCP server did not answer" in silent.message
    assert "10.200.40.2" in silent.message
    none = inventory(dhcp_servers=[])
    assert rogue(none, offers_fact([])).status is Status.PASS
    assert rogue(none, offers_fact([AUTH])).status is Status.FAIL  # nobody may offer


def test_rogue_dhcp_error_and_missing_fact() -> None:
    failed = rogue(INV, offers_fact([], status=FactStatus.ERROR, error="interface eth1 is down"))
    assert failed.status is Status.ERROR and failed.message == "interface eth1 is down"
    assert rogue(INV).status is Status.ERROR
