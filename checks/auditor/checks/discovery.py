"""LAN discovery checks: hosts the inventory does not know, and DHCP servers it did not authorise."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import partial
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from auditor.checks._common import judged, unmeasured
from auditor.facts import DhcpOffer, DhcpOffers, FactKind, LanHosts, read_fact
from auditor.inventory import Inventory
from auditor.messages import Msg, define, joined, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

HOSTS = FactKind.DISCOVERY_HOSTS
OFFERS = FactKind.DHCP_OFFERS
ARP_PROBE = "discovery.arp_sweep"
DHCP_PROBE = "discovery.dhcp"

define({
    "discovery.none": ("清单中没有 'discovery' 部分（interface、segments），因此未检查局域网；请添加",
                       "the inventory has no 'discovery' section (interface, segments), so the LAN was not "
                       "examined; add one"),
    "discovery.unknown": ("{count} 台主机不在清单中：{hosts}",
                          "{count} host(s) not in the inventory: {hosts}"),
    "discovery.moved_item": ("{host}（清单登记：{mac}）", "{host} (inventory: {mac})"),
    "discovery.moved": ("以清单未登记的 MAC 地址应答：{items}",
                        "answering from a MAC the inventory does not give: {items}"),
    "discovery.all_known": ("全部 {count} 台在线主机都在清单中",
                            "all {count} live host(s) are in the inventory"),
    "discovery.segment": ("{interface} 上的网段 {segment}：{text}", "{segment} on {interface}: {text}"),
    "discovery.offer": ("{server}（来自 {source}{via}）提供地址 {offered}{router}{dns}",
                        "{server} (from {source}{via}) offered {offered}{router}{dns}"),
    "discovery.via": ("，经中继 {relay}", " via relay {relay}"),
    "discovery.router": ("，网关 {router}", ", router {router}"),
    "discovery.dns": ("，DNS {dns}", ", DNS {dns}"),
    "discovery.rogue": ("{count} 个地址分配（offer）来自未授权的 DHCP 服务器：{offers}",
                        "{count} offer(s) from unauthorised DHCP servers: {offers}"),
    "discovery.silent_server": ("授权的 DHCP 服务器在 {interface} 上没有应答（应为 {servers}；{seconds} "
                                "秒内未收到地址分配）",
                                "authorised DHCP server did not answer on {interface} (expected {servers}; "
                                "no offer in {seconds} s)"),
    "discovery.only_authorised": ("只有授权的服务器提供了地址（{servers}）",
                                  "only authorised servers offered ({servers})"),
    "discovery.only_authorised_silent": ("只有授权的服务器提供了地址（{servers}）；未应答：{silent}",
                                         "only authorised servers offered ({servers}); silent: {silent}"),
    "discovery.no_dhcp": ("没有授权的 DHCP 服务器，也没有服务器提供地址",
                          "no DHCP server is authorised and none offered"),
    "discovery.on": ("{interface}：{text}", "{interface}: {text}"),
})


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _addresses(inv: Inventory) -> Iterator[ipaddress.IPv4Address | None]:
    yield from (d.address for d in inv.devices)
    yield from (s.address for s in inv.servers)
    yield from (c.endpoint.address if c.endpoint else None for c in inv.classrooms)
    yield from (e.address for e in (inv.uplink.endpoints if inv.uplink else []))
    for backup in inv.backups:
        yield backup.host
        yield backup.offsite.host if backup.offsite else None
    for fw in inv.firewalls:
        yield from fw.outside_addresses
        yield fw.management_address
        yield fw.vantage.ssh.address if fw.vantage and fw.vantage.ssh else None
    if inv.discovery:
        yield from inv.discovery.dhcp_servers
        yield from (h.address for h in inv.discovery.known_hosts)


def known_addresses(inv: Inventory) -> set[str]:
    """Every address the inventory names: devices, servers, endpoints, backup hosts,
    firewalls, authorised DHCP servers and ``discovery.known_hosts``."""
    return {str(a) for a in _addresses(inv) if a is not None}


def _declared_macs(inv: Inventory) -> dict[str, str]:
    hosts = inv.discovery.known_hosts if inv.discovery else []
    return {str(h.address): h.mac for h in hosts if h.mac}


def _no_discovery(meta: CheckMeta) -> list[Finding]:
    return [Finding(meta.id, "discovery", Status.ERROR, meta.severity, msg("discovery.none"))]


class UnknownHosts:
    """Every live host on a swept segment is one the inventory knows (by address, and by MAC
    where the inventory gives one)."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="discovery.unknown_hosts",
        title_zh="局域网内无未登记的在线设备",
        title_en="No unregistered device is live on the LAN",
        severity=Severity.MEDIUM,
        rationale_zh="等级保护要求能够检测到非授权设备私自接入内部网络（GB/T 22239-2019 8.1.3.1 b）；"
        "未登记的设备可能是私接的电脑、路由器或攻击者的设备。",
        rationale_en="GB/T 22239-2019 8.1.3.1 b requires detecting unauthorised devices joining the "
        "internal network; an unregistered host may be a private PC, a rogue router or an intruder.",
        remediation_zh="核实每台未登记设备：合法设备登记到资产清单（discovery.known_hosts），"
        "非法设备断开并在交换机上启用端口安全或 802.1X 准入。",
        remediation_en="Identify each unregistered host: record legitimate ones in the inventory "
        "(discovery.known_hosts); disconnect the others and enable port security or 802.1X.",
        requires=(ARP_PROBE,),
        effort="policy",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        inv = ctx.inventory
        if inv.discovery is None:
            return _no_discovery(self.meta)
        known, macs = known_addresses(inv), _declared_macs(inv)
        findings = []
        for segment in inv.discovery.segments:
            target = f"segment/{segment}"
            fact = ctx.facts.get(HOSTS, target)
            problem = unmeasured(self.meta, target, fact, ARP_PROBE)
            if problem is not None:
                findings.append(problem)
                continue
            assert fact is not None
            findings.append(judged(self.meta, target, fact,
                                   partial(self._judge, fact, target, str(segment), known, macs)))
        return findings

    def _judge(self, fact: Fact, target: str, segment: str, known: set[str], macs: dict[str, str]) -> Finding:
        data = read_fact(fact, LanHosts)
        hosts = data.hosts
        mine = known | {data.agent_ip}
        unknown = [h for h in hosts if h.ip not in mine]
        moved = [h for h in hosts if h.ip in macs and h.mac != macs[h.ip]]
        parts = []
        if unknown:
            parts.append(msg("discovery.unknown", count=len(unknown), hosts=[h.describe() for h in unknown]))
        if moved:
            parts.append(msg("discovery.moved", items=[msg("discovery.moved_item", host=h.describe(),
                                                            mac=macs[h.ip]) for h in moved]))
        bad = unknown + moved
        text = joined(parts) if bad else msg("discovery.all_known", count=len(hosts))
        return Finding(
            self.meta.id, target, Status.FAIL if bad else Status.PASS, self.meta.severity,
            msg("discovery.segment", segment=segment, interface=data.interface, text=text),
            measured=float(len(bad)),
            threshold=0.0, unit="unknown hosts", facts=(fact.id,), artifacts=fact.artifacts,
            lines=tuple(h.describe() for h in bad))


def _describe_offer(offer: DhcpOffer) -> Msg:
    """The offer, named by its server: option 54 names the real server when a relay (giaddr)
    forwards its offer, so it is what the inventory's ``dhcp_servers`` lists."""
    return msg("discovery.offer", server=offer.server, source=f"{offer.source_ip} {offer.source_mac}",
               via=msg("discovery.via", relay=offer.relay) if offer.relay else "",
               offered=offer.offered,
               router=msg("discovery.router", router="/".join(offer.router)) if offer.router else "",
               dns=msg("discovery.dns", dns="/".join(offer.dns)) if offer.dns else "")


class RogueDhcp:
    """Only the inventory's authorised DHCP servers offer addresses, and one of them does."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="discovery.rogue_dhcp",
        title_zh="局域网内仅有授权的 DHCP 服务器",
        title_en="Only authorised DHCP servers answer on the LAN",
        severity=Severity.HIGH,
        rationale_zh="私设的 DHCP 服务器可以把终端的网关和 DNS 指向自己，实施中间人攻击或造成断网"
        "（GB/T 22239-2019 8.1.3.1 b 非授权设备检测）。",
        rationale_en="A rogue DHCP server can point clients' gateway and DNS at itself (man in the "
        "middle) or break their connectivity (GB/T 22239-2019 8.1.3.1 b: unauthorised devices).",
        remediation_zh="找到并关闭非授权的 DHCP 服务器（常见为私接的家用路由器），在接入交换机上启用 "
        "DHCP Snooping，只信任连接授权服务器的端口；授权服务器未应答时检查其服务与中继。",
        remediation_en="Find and switch off the rogue server (often a home router plugged in), enable "
        "DHCP snooping on access switches trusting only the authorised servers' ports; if the "
        "authorised server did not answer, check the service and the DHCP relay.",
        requires=(DHCP_PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        inv = ctx.inventory
        if inv.discovery is None:
            return _no_discovery(self.meta)
        target = f"dhcp/{inv.discovery.interface}"
        fact = ctx.facts.get(OFFERS, target)
        problem = unmeasured(self.meta, target, fact, DHCP_PROBE)
        if problem is not None:
            return [problem]
        assert fact is not None
        allowed = {str(a) for a in inv.discovery.dhcp_servers}
        iface = inv.discovery.interface
        return [judged(self.meta, target, fact, partial(self._judge, fact, target, iface, allowed))]

    def _judge(self, fact: Fact, target: str, iface: str, allowed: set[str]) -> Finding:
        data = read_fact(fact, DhcpOffers)
        offers = data.offers
        rogue = [o for o in offers if o.server not in allowed]
        answered = {o.server for o in offers} & allowed
        if rogue:
            status, text = Status.FAIL, msg("discovery.rogue", count=len(rogue),
                                            offers=joined(map(_describe_offer, rogue)))
        elif allowed and not answered:
            status, text = Status.FAIL, msg("discovery.silent_server", interface=iface,
                                            servers=sorted(allowed), seconds=data.listened_s)
        elif allowed:
            silent = sorted(allowed - answered)
            status, text = Status.PASS, (
                msg("discovery.only_authorised_silent", servers=sorted(answered), silent=silent) if silent
                else msg("discovery.only_authorised", servers=sorted(answered)))
        else:
            status, text = Status.PASS, msg("discovery.no_dhcp")
        return Finding(self.meta.id, target, status, self.meta.severity,
                       msg("discovery.on", interface=iface, text=text),
                       measured=float(len(rogue)), threshold=0.0, unit="rogue offers", facts=(fact.id,),
                       artifacts=fact.artifacts, lines=tuple(_describe_offer(o).en for o in offers))
