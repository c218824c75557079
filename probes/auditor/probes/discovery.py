"""LAN discovery probes: an ARP sweep of each in-scope segment, and a DHCP offer census.

Both send raw Ethernet frames with scapy, only on ``discovery.interface`` and only for
segments inside the scope allow-list, so they need root (CAP_NET_RAW). scapy is imported
lazily (its import is slow and prints warnings) and its blocking send/receive runs in a
worker thread, bounded by its own timeouts and a hard limit on top.

The DHCP probe broadcasts one DHCPDISCOVER per attempt and collects every DHCPOFFER that
carries its transaction id; it never sends DHCPREQUEST, so no lease is ever taken. The
client hardware address is, by default, the interface's own MAC: a switch with port
security or DHCP snooping (which drops requests whose chaddr differs from the frame's
source) treats the agent as the host it already is, and a server that already leases to
the agent merely offers the same address again. ``client_mac: random`` uses a fresh
locally administered MAC instead (for an agent whose own lease must not even be looked
up), at the cost of one unknown MAC on the switch port per run.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.errors import OutOfScope, ProbeError, TargetUnreachable, ToolMissing, ToolTimeout
from auditor.facts import DhcpOffer, DhcpOffers, FactKind, LanHost, LanHosts, fact_data
from auditor.inventory import Inventory
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask

HOSTS = FactKind.DISCOVERY_HOSTS
OFFERS = FactKind.DHCP_OFFERS
_BOOTP_CLIENT, _BOOTP_SERVER = 68, 67
_DHCP_OFFER = 2
_REQUESTED_OPTIONS = [1, 3, 6, 15, 51, 54]  # mask, router, DNS, domain, lease time, server id
_SLACK_S = 10.0

define({
    "probe.discovery.segment_out_of_scope": ("已拒绝：发现网段 {segment} 不在范围允许列表（{allowed}）内；"
                                             "请将其加入 scope.allow，或从 discovery.segments 中删除",
                                             "refused: discovery segment {segment} is not inside the scope "
                                             "allow-list ({allowed}); add it to scope.allow or remove it "
                                             "from discovery.segments"),
    "probe.discovery.no_interface_hint": ("审计代理上不存在接口 {interface}；请将 discovery.interface "
                                          "设为审计代理连接局域网的网卡",
                                          "interface {interface} does not exist on the agent; set "
                                          "discovery.interface to the agent's network card on the LAN"),
    "probe.discovery.no_scapy": ("发现类探针需要 scapy 软件包，但无法导入（{hint}）",
                                 "the discovery probes need the scapy package, which cannot be imported "
                                 "({hint})"),
    "probe.discovery.scapy_hint": ("scapy 是 campus-auditor 的依赖：请连同依赖重新安装审计工具",
                                   "scapy is a dependency of campus-auditor: reinstall the auditor with "
                                   "its dependencies"),
    "probe.discovery.no_such_interface": ("审计代理上不存在接口 {interface}",
                                          "interface {interface} does not exist on the agent"),
    "probe.discovery.needs_root": ("{what}（接口 {interface}）需要 root 权限（原始套接字，CAP_NET_RAW）；"
                                   "请以 root 身份运行审计代理，或授予其 CAP_NET_RAW",
                                   "{what} on {interface} needs root (raw sockets, CAP_NET_RAW); run the "
                                   "agent as root or grant it CAP_NET_RAW"),
    "probe.discovery.interface_down": ("{what}：接口 {interface} 已关闭；请启用它（ip link set {interface} "
                                       "up）",
                                       "{what}: interface {interface} is down; bring it up (ip link set "
                                       "{interface} up)"),
    "probe.discovery.interface_missing": ("{what}：审计代理上不存在接口 {interface}",
                                          "{what}: interface {interface} does not exist on the agent"),
    "probe.discovery.failed": ("{what}（接口 {interface}）失败：{error}",
                               "{what} on {interface} failed: {error}"),
    "probe.discovery.timeout": ("{what}（接口 {interface}）未在 {limit:.0f} 秒内完成",
                                "{what} on {interface} did not finish within {limit:.0f} s"),
    "probe.discovery.too_large": ("已拒绝：网段 {segment} 有 {count} 个地址，超过 max_hosts（{max_hosts}）；"
                                  "请拆分网段，或调高 discovery.arp_sweep.max_hosts",
                                  "refused: segment {segment} has {count} addresses, more than max_hosts "
                                  "({max_hosts}); split it or raise discovery.arp_sweep.max_hosts"),
    "probe.discovery.arp_sweep": ("对 {segment} 的 ARP 扫描", "ARP sweep of {segment}"),
    "probe.discovery.no_address": ("{what}：接口 {interface} 在 {segment} 中没有 IPv4 地址；ARP "
                                   "只能到达接口所连的网段（请检查 discovery.interface 和 VLAN）",
                                   "{what}: interface {interface} has no IPv4 address in {segment}; ARP "
                                   "only reaches the segment the interface is attached to (check "
                                   "discovery.interface and the VLAN)"),
    "probe.discovery.no_answer": ("{what}：接口 {interface} 上没有主机应答（{count} 个地址，{passes} 轮）；"
                                  "在用的网段至少有网关：请检查链路和 VLAN",
                                  "{what}: no host answered on {interface} ({count} addresses, {passes} "
                                  "passes); a live segment has at least its gateway: check the link and "
                                  "the VLAN"),
    "probe.discovery.arp_evidence": ("接口 {interface} 上对 {segment} 的 ARP 扫描：得到应答的请求及其应答",
                                     "ARP sweep of {segment} on {interface}: answered requests and replies"),
    "probe.discovery.dhcp": ("DHCP 发现", "DHCP discovery"),
    "probe.discovery.dhcp_out_of_scope": ("已拒绝：接口 {interface}（{addresses}）不在任何 "
                                          "discovery.segments（{segments}）中；其广播会越出范围",
                                          "refused: interface {interface} ({addresses}) is on none of "
                                          "discovery.segments ({segments}); its broadcasts would leave the "
                                          "scope"),
    "probe.discovery.dhcp_evidence": ("接口 {interface} 上发出的 DHCP DISCOVER 及收到的所有 OFFER（未发送 "
                                      "REQUEST）",
                                      "DHCP DISCOVER on {interface} and every OFFER received (no REQUEST "
                                      "sent)"),
    "probe.discovery.pcap": ("{description}（pcap）", "{description} (pcap)"),
}, recoverable=True)
_SCAPY_HINT = english("probe.discovery.scapy_hint")


class ArpSweepSettings(BaseModel):
    """Settings of the ARP sweep (profile ``probe_settings: discovery.arp_sweep``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=2.0, gt=0, le=30)  # wait for late answers after each pass
    retry: int = Field(default=1, ge=0, le=5)  # extra passes over the addresses that did not answer
    inter: float = Field(default=0.005, ge=0.001, le=1.0)  # seconds between requests (<= 1000/s)
    max_hosts: int = Field(default=1024, ge=1, le=65536)  # refuse larger segments (a /22 by default)


class DhcpSettings(BaseModel):
    """Settings of the DHCP offer census (profile ``probe_settings: discovery.dhcp``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long to collect offers. Servers that ping an address before offering it (conflict
    # detection: dnsmasq, ISC dhcpd, Windows) answer 1-3 s late, hence the generous default.
    timeout_s: float = Field(default=6.0, gt=0, le=60)
    retry: int = Field(default=1, ge=0, le=5)  # extra DISCOVERs (same xid), spread over the window
    client_mac: Literal["interface", "random"] = "interface"


# ------------------------------------------------------------------ shared guards


def _scope_error(inventory: Inventory, segment: ipaddress.IPv4Network) -> OutOfScope | None:
    if any(segment.subnet_of(net) for net in inventory.scope.allow):
        return None
    allowed = ", ".join(str(n) for n in inventory.scope.allow)
    return OutOfScope(english("probe.discovery.segment_out_of_scope", segment=str(segment), allowed=allowed))


def _require_interface(iface: str) -> None:
    try:
        socket.if_nametoindex(iface)
    except OSError:
        raise TargetUnreachable(english("probe.discovery.no_interface_hint", interface=iface)) from None


def _import_scapy() -> Any:
    """scapy's config object, with its log output quietened; ToolMissing when absent."""
    logging.getLogger("scapy").setLevel(logging.ERROR)
    try:
        import scapy.arch  # noqa: F401, PLC0415 - slow, noisy import only when probing; loads interfaces
        from scapy.config import conf  # noqa: PLC0415
    except ImportError:
        raise ToolMissing(english("probe.discovery.no_scapy", hint=_SCAPY_HINT)) from None
    return conf


def _interface_ipv4(conf: Any, iface: str) -> list[ipaddress.IPv4Address]:
    conf.ifaces.reload()
    try:
        dev = conf.ifaces.dev_from_name(iface)
    except ValueError:
        raise TargetUnreachable(english("probe.discovery.no_such_interface", interface=iface)) from None
    return [ipaddress.IPv4Address(a) for a in dev.ips.get(4, [])]


def _raw_failure(exc: OSError, iface: str, what: str) -> ProbeError:
    """Map an OS error from a raw socket to a probe error naming the interface."""
    if isinstance(exc, PermissionError) or exc.errno in (errno.EPERM, errno.EACCES):
        return ProbeError(english("probe.discovery.needs_root", what=what, interface=iface))
    if exc.errno == errno.ENETDOWN:
        return TargetUnreachable(english("probe.discovery.interface_down", what=what, interface=iface))
    if exc.errno in (errno.ENODEV, errno.ENXIO):
        return TargetUnreachable(english("probe.discovery.interface_missing", what=what, interface=iface))
    return ProbeError(english("probe.discovery.failed", what=what, interface=iface,
                              error=str(exc.strerror or exc)))


async def _in_thread(fn: Callable[[], Any], limit: float, iface: str, what: str) -> Any:
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn), timeout=limit)
    except TimeoutError:
        raise ToolTimeout(english("probe.discovery.timeout", what=what, interface=iface,
                                  limit=limit)) from None
    except OSError as exc:
        raise _raw_failure(exc, iface, what) from None


def _frame(pkt: Any, direction: str) -> dict[str, Any]:
    return {"direction": direction, "time": round(float(pkt.time), 6), "summary": pkt.summary(),
            "hex": bytes(pkt).hex()}


def _store(ctx: RunContext, name: str, record: dict[str, Any], packets: Sequence[Any],
           description: str) -> tuple[str, ...]:
    """Keep the frames as JSON (always) and as a pcap (when it can be stored byte for byte)."""
    body = json.dumps(record, indent=2, sort_keys=True).encode()
    paths = [ctx.evidence.put(f"discovery/{name}.json", body, "application/json", description).path]
    if packets:  # binary artifacts are stored byte for byte (the store masks only text)
        paths.append(ctx.evidence.put(f"discovery/{name}.pcap", _pcap(packets),
                                      "application/vnd.tcpdump.pcap",
                                      english("probe.discovery.pcap", description=description)).path)
    return tuple(paths)


def _pcap(packets: Sequence[Any]) -> bytes:
    import io  # noqa: PLC0415

    from scapy.utils import PcapWriter  # noqa: PLC0415

    buf = io.BytesIO()
    writer = PcapWriter(buf, linktype=1, sync=True)
    for pkt in packets:
        writer.write(pkt)
    writer.flush()
    return buf.getvalue()


def _segments(task: ProbeTask) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(s) for s in task.params["segments"]]


# ------------------------------------------------------------------ ARP sweep


def _targets(segment: ipaddress.IPv4Network, max_hosts: int) -> list[ipaddress.IPv4Address]:
    count = max(segment.num_addresses - 2, 1) if segment.prefixlen < 31 else segment.num_addresses
    if count > max_hosts:
        raise ProbeError(english("probe.discovery.too_large", segment=str(segment), count=count,
                                 max_hosts=max_hosts))
    return list(segment.hosts()) if segment.prefixlen < 32 else [segment.network_address]


def _sweep(conf: Any, iface: str, psrc: str, targets: list[str], s: ArpSweepSettings) -> list[Any]:
    """ARP who-has for every target on ``iface``; the (request, reply) pairs that answered."""
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415
    from scapy.sendrecv import srp  # noqa: PLC0415

    mac = conf.ifaces.dev_from_name(iface).mac
    request = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=psrc, pdst=targets)
    answered, _unanswered = srp(request, iface=iface, timeout=s.timeout_s, retry=s.retry, inter=s.inter,
                                promisc=False, verbose=False)
    return list(answered)


def _hosts(pairs: list[Any]) -> list[LanHost]:
    from scapy.layers.l2 import ARP  # noqa: PLC0415

    conf = _import_scapy()
    seen: dict[tuple[str, str], LanHost] = {}
    for _sent, reply in pairs:
        ip, mac = str(reply[ARP].psrc), str(reply[ARP].hwsrc).lower()
        vendor = conf.manufdb.lookup(mac)[1] if conf.manufdb else mac
        seen[(ip, mac)] = LanHost(ip=ip, mac=mac, vendor=None if vendor == mac else str(vendor))
    return sorted(seen.values(), key=lambda h: (ipaddress.IPv4Address(h.ip), h.mac))


class ArpSweepProbe:
    """Live hosts on each in-scope LAN segment, by ARP from the agent's LAN interface."""

    name: ClassVar[str] = "discovery.arp_sweep"
    description: ClassVar[str] = "Live hosts on the in-scope LAN segments (ARP sweep from the agent)"
    settings_model: ClassVar[type[BaseModel]] = ArpSweepSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, ArpSweepSettings)
        d = inventory.discovery
        if d is None:
            return []
        tasks = []
        for segment in d.segments:
            target = f"segment/{segment}"
            passes = settings.retry + 1
            seconds = passes * (min(segment.num_addresses, settings.max_hosts) * settings.inter
                                + settings.timeout_s)
            tasks.append(ProbeTask(
                probe=self.name, target=target, address=str(segment.network_address),
                params={"segment": str(segment), "segments": [str(segment)], "interface": d.interface,
                        "settings": settings.model_dump()},
                produces=((HOSTS, target),), safety=Safety.ACTIVE,
                locks=frozenset({f"lan:{d.interface}"}), estimated_seconds=seconds))
        return tasks

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = ArpSweepSettings.model_validate(task.params["settings"])
        segment, iface = ipaddress.IPv4Network(task.params["segment"]), str(task.params["interface"])
        refused = _scope_error(ctx.inventory, segment)
        if refused is not None:
            raise refused
        targets = _targets(segment, s.max_hosts)
        _require_interface(iface)
        what = english("probe.discovery.arp_sweep", segment=str(segment))

        def work() -> tuple[str, list[str], list[Any]]:
            conf = _import_scapy()
            own = [a for a in _interface_ipv4(conf, iface) if a in segment]
            if not own:
                raise TargetUnreachable(english("probe.discovery.no_address", what=what, interface=iface,
                                                segment=str(segment)))
            asked = [str(t) for t in targets if t not in own]
            return str(own[0]), asked, _sweep(conf, iface, str(own[0]), asked, s)

        limit = (s.retry + 1) * (len(targets) * s.inter + s.timeout_s) + _SLACK_S
        agent_ip, asked, pairs = await _in_thread(work, limit, iface, what)
        if not pairs:
            raise TargetUnreachable(english("probe.discovery.no_answer", what=what, interface=iface,
                                            count=len(asked), passes=s.retry + 1))
        data = fact_data(LanHosts(segment=str(segment), interface=iface, agent_ip=agent_ip, sent=len(asked),
                                  passes=s.retry + 1, hosts=tuple(_hosts(pairs))))
        frames = [f for sent, reply in pairs for f in (_frame(sent, "out"), _frame(reply, "in"))]
        record = {**data, "settings": s.model_dump(), "frames": frames}
        packets = [p for pair in pairs for p in pair]
        artifacts = _store(ctx, f"arp-{segment.network_address}-{segment.prefixlen}", record, packets,
                           english("probe.discovery.arp_evidence", segment=str(segment), interface=iface))
        return [Fact(HOSTS, task.target, self.name, FactStatus.OK, data=data, artifacts=artifacts)]


# ------------------------------------------------------------------ DHCP offers


def _random_mac() -> str:
    first = (secrets.randbits(8) & 0xFC) | 0x02  # locally administered, unicast
    return ":".join(f"{b:02x}" for b in [first, *secrets.token_bytes(5)])


def _options(pkt: Any) -> dict[str, list[Any]]:
    from scapy.layers.dhcp import DHCP  # noqa: PLC0415

    out: dict[str, list[Any]] = {}
    for opt in pkt[DHCP].options:
        if isinstance(opt, tuple) and opt:
            values = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in opt[1:]]
            out[str(opt[0])] = values
    return out


def _offer(pkt: Any) -> DhcpOffer:
    from scapy.layers.dhcp import BOOTP  # noqa: PLC0415
    from scapy.layers.inet import IP  # noqa: PLC0415
    from scapy.layers.l2 import Ether  # noqa: PLC0415

    opts = _options(pkt)

    def one(name: str) -> str | None:
        return str(opts[name][0]) if opts.get(name) else None

    lease = opts["lease_time"][0] if opts.get("lease_time") else None
    relay = str(pkt[BOOTP].giaddr)
    return DhcpOffer(
        server_id=one("server_id"), source_ip=str(pkt[IP].src),
        source_mac=str(pkt[Ether].src).lower(),
        offered=str(pkt[BOOTP].yiaddr), relay=None if relay == "0.0.0.0" else relay,  # noqa: S104
        router=tuple(str(v) for v in opts.get("router", [])),
        dns=tuple(str(v) for v in opts.get("name_server", [])),
        subnet_mask=one("subnet_mask"), lease_s=lease if isinstance(lease, int) else None,
        domain=one("domain"),
    )


def _is_offer(xid: int) -> Callable[[Any], bool]:
    from scapy.layers.dhcp import BOOTP, DHCP  # noqa: PLC0415

    def match(pkt: Any) -> bool:
        if BOOTP not in pkt or DHCP not in pkt or pkt[BOOTP].op != 2 or pkt[BOOTP].xid != xid:
            return False
        return any(isinstance(o, tuple) and o[0] == "message-type" and o[1] == _DHCP_OFFER
                   for o in pkt[DHCP].options)

    return match


def _census(conf: Any, iface: str, s: DhcpSettings) -> tuple[dict[str, Any], list[Any]]:
    """Broadcast DISCOVERs on ``iface`` and collect the OFFERs for ``timeout_s``; never REQUEST."""
    from scapy.layers.dhcp import BOOTP, DHCP  # noqa: PLC0415
    from scapy.layers.inet import IP, UDP  # noqa: PLC0415
    from scapy.layers.l2 import Ether  # noqa: PLC0415
    from scapy.sendrecv import sniff  # noqa: PLC0415
    from scapy.utils import mac2str  # noqa: PLC0415

    own = str(conf.ifaces.dev_from_name(iface).mac).lower()
    client = own if s.client_mac == "interface" else _random_mac()
    xid = secrets.randbits(32)
    discover = (Ether(src=client, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")  # noqa: S104
                / UDP(sport=_BOOTP_CLIENT, dport=_BOOTP_SERVER)
                / BOOTP(op=1, xid=xid, flags=0x8000, chaddr=mac2str(client))
                / DHCP(options=[("message-type", "discover"), ("param_req_list", _REQUESTED_OPTIONS), "end"]))
    sock = conf.L2socket(iface=iface, promisc=False)  # offers are broadcast: no promiscuous mode
    offers: list[Any] = []
    try:
        window = s.timeout_s / (s.retry + 1)
        for _ in range(s.retry + 1):
            sock.send(discover)
            offers += sniff(opened_socket=sock, timeout=window, lfilter=_is_offer(xid), store=True)
    finally:
        sock.close()
    meta = {"interface": iface, "client_mac": client, "client_mac_mode": s.client_mac,
            "xid": f"0x{xid:08x}", "discovers_sent": s.retry + 1, "listened_s": s.timeout_s}
    return meta, [discover, *offers]


def _unique_offers(packets: list[Any]) -> list[DhcpOffer]:
    seen: dict[tuple[str | None, str, str], DhcpOffer] = {}
    for pkt in packets:
        offer = _offer(pkt)
        seen.setdefault((offer.server_id, offer.source_mac, offer.offered), offer)
    return sorted(seen.values(), key=lambda o: (str(o.server_id), o.source_mac))


class DhcpOffersProbe:
    """Every DHCP server that answers a DISCOVER on the agent's LAN interface."""

    name: ClassVar[str] = "discovery.dhcp"
    description: ClassVar[str] = "DHCP servers that offer addresses on the agent's LAN (DISCOVER only)"
    settings_model: ClassVar[type[BaseModel]] = DhcpSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, DhcpSettings)
        d = inventory.discovery
        if d is None:
            return []
        target = f"dhcp/{d.interface}"
        return [ProbeTask(
            probe=self.name, target=target, address=str(d.segments[0].network_address),
            params={"interface": d.interface, "segments": [str(s) for s in d.segments],
                    "settings": settings.model_dump()},
            produces=((OFFERS, target),), safety=Safety.ACTIVE,
            locks=frozenset({f"lan:{d.interface}"}), estimated_seconds=settings.timeout_s + 2)]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = DhcpSettings.model_validate(task.params["settings"])
        iface, segments = str(task.params["interface"]), _segments(task)
        for segment in segments:
            refused = _scope_error(ctx.inventory, segment)
            if refused is not None:
                raise refused
        _require_interface(iface)
        what = english("probe.discovery.dhcp")

        def work() -> tuple[dict[str, Any], list[Any]]:
            conf = _import_scapy()
            addrs = _interface_ipv4(conf, iface)
            if addrs and not any(a in seg for a in addrs for seg in segments):
                shown = ", ".join(map(str, addrs))
                raise OutOfScope(english("probe.discovery.dhcp_out_of_scope", interface=iface,
                                         addresses=shown, segments=", ".join(map(str, segments))))
            return _census(conf, iface, s)

        started = time.monotonic()
        meta, packets = await _in_thread(work, s.timeout_s + _SLACK_S, iface, what)
        data = fact_data(DhcpOffers(**meta, segments=tuple(str(x) for x in segments),
                                    offers=tuple(_unique_offers(packets[1:])),
                                    seconds=round(time.monotonic() - started, 3)))
        frames = [_frame(packets[0], "out"), *(_frame(p, "in") for p in packets[1:])]
        record = {**data, "settings": s.model_dump(), "frames": frames}
        artifacts = _store(ctx, f"dhcp-{iface}", record, packets,
                           english("probe.discovery.dhcp_evidence", interface=iface))
        return [Fact(OFFERS, task.target, self.name, FactStatus.OK, data=data, artifacts=artifacts)]
