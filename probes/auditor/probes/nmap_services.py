"""Exposed-services probe: which TCP and UDP ports each inventory server exposes (nmap).

nmap runs as a child process with its timing and rate bounded by the profile and no NSE
scripts; the process is killed if it outlives its limit, and its XML is kept as evidence.
python-nmap is not used: its scanner runs ``nmap -V`` when constructed and scans
synchronously in its own subprocess, while this probe needs asyncio, kill-on-timeout and the
raw XML.
"""

from __future__ import annotations

import os
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.errors import ProbeError, TargetUnreachable
from auditor.facts import FactKind, OpenPort, ScannedPort, ServicePorts, fact_data
from auditor.inventory import Inventory
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._proc import run_tool
from auditor.probes.parsers.nmap_xml import NmapParseError, NmapRun, parse_nmap_xml

KIND = FactKind.SERVICES_PORTS
DEFAULT_TCP = [21, 22, 23, 25, 80, 110, 139, 143, 443, 445, 1433, 1521, 2375, 3306, 3389, 5432,
               5900, 6379, 8080, 8443, 9200, 11211, 27017]
DEFAULT_UDP = [69, 123, 161, 1900]
PortNumber = Annotated[int, Field(ge=1, le=65535)]
# States that say nothing about whether a service listens (no answer, or a firewall's answer).
INCONCLUSIVE = frozenset({"filtered", "open|filtered", "closed|filtered", "unfiltered"})

define({
    "probe.nmap.scan": ("对 {address} 的 nmap 扫描", "nmap scan of {address}"),
    "probe.nmap.install": ("请安装：apt-get install nmap", "install it: apt-get install nmap"),
    "probe.nmap.evidence": ("nmap XML 输出：{command}", "nmap XML: {command}"),
    "probe.nmap.bad_xml": ("nmap 没有给出 {address} 的可用 XML（{error}）{detail}",
                           "nmap gave no usable XML for {address} ({error}) {detail}"),
    "probe.nmap.failed": ("nmap 扫描 {address} 失败：{error}", "nmap failed on {address}: {error}"),
    "probe.nmap.nothing": ("nmap 没有报告 {address} 的任何结果（{summary}）",
                           "nmap reported nothing for {address} ({summary})"),
    "probe.nmap.all_filtered": ("{address}：所有扫描的端口都被过滤或无应答（主机已停机，"
                                "或防火墙丢弃了审计代理的流量）；无法测量",
                                "{address}: every scanned port is filtered or unanswered (host down, or a "
                                "firewall drops the agent's traffic); nothing could be measured"),
}, recoverable=True)


class NmapSettings(BaseModel):
    """Settings of the exposed-services probe (profile ``probe_settings: nmap.services``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    binary: str = "nmap"
    tcp_ports: list[PortNumber] = Field(default_factory=lambda: list(DEFAULT_TCP))
    udp_ports: list[PortNumber] = Field(default_factory=lambda: list(DEFAULT_UDP))
    service_detection: bool = True
    version_intensity: int = Field(default=0, ge=0, le=9)
    timing: Literal[0, 1, 2, 3, 4] = 3  # -T0..-T4; -T5 (insane) is not allowed
    max_rate: int = Field(default=100, ge=1, le=1000)  # packets per second
    host_timeout_s: int = Field(default=120, ge=5, le=1800)


class NmapServicesProbe:
    """Open TCP/UDP ports and the services behind them, per server in the inventory."""

    name: ClassVar[str] = "nmap.services"
    description: ClassVar[str] = "Open TCP/UDP ports and service versions of inventory servers (nmap)"
    settings_model: ClassVar[type[BaseModel]] = NmapSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, NmapSettings)
        return [
            ProbeTask(
                probe=self.name, target=f"host/{server.id}", address=str(server.address),
                params={"server": server.id, "settings": settings.model_dump()},
                produces=((KIND, f"host/{server.id}"),), safety=Safety.ACTIVE,
                locks=frozenset({f"scan:{server.address}"}),
                estimated_seconds=float(settings.host_timeout_s) / 3,
            )
            for server in inventory.servers
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = NmapSettings.model_validate(task.params["settings"])
        argv = scan_argv(s, task.net_address, udp=os.geteuid() == 0)
        what = english("probe.nmap.scan", address=task.net_address)
        res = await run_tool(argv, s.host_timeout_s + 15, what, english("probe.nmap.install"))
        xml = res.stdout.decode("utf-8", "replace")
        artifact = ctx.evidence.put(f"nmap/{task.params['server']}.xml", res.stdout or res.stderr,
                                    "application/xml", english("probe.nmap.evidence", command=" ".join(argv)))
        try:
            run = parse_nmap_xml(xml)
        except NmapParseError as exc:
            detail = res.stderr.decode("utf-8", "replace").strip()[:300]
            raise ProbeError(english("probe.nmap.bad_xml", address=task.net_address, error=str(exc),
                                     detail=detail)) from None
        ctx.tool_versions.setdefault("nmap", run.version)
        return [Fact(KIND, task.target, self.name, FactStatus.OK,
                     data=fact_data(_data(run, task.net_address, argv, udp="-sU" in argv)),
                     artifacts=(artifact.path,))]


def scan_argv(s: NmapSettings, address: str, udp: bool) -> list[str]:
    """The nmap command line: connect scan, no DNS, no host discovery, bounded timing."""
    ports = "T:" + ",".join(map(str, s.tcp_ports))
    if udp and s.udp_ports:
        ports += ",U:" + ",".join(map(str, s.udp_ports))
    argv = [s.binary, "-sT", *(["-sU"] if udp and s.udp_ports else []), "-Pn", "-n",
            f"-T{s.timing}", "--max-rate", str(s.max_rate), "--host-timeout", f"{s.host_timeout_s}s",
            "-p", ports, "-oX", "-"]
    if s.service_detection:
        argv[1:1] = ["-sV", "--version-intensity", str(s.version_intensity)]
    return [*argv, address]


def _data(run: NmapRun, address: str, argv: list[str], udp: bool) -> ServicePorts:
    if run.exit != "success":
        raise ProbeError(english("probe.nmap.failed", address=address, error=run.errormsg or run.exit))
    host = next((h for h in run.hosts if h.address == address), None)
    if host is None:
        raise TargetUnreachable(english("probe.nmap.nothing", address=address, summary=run.summary))
    if not host.ports or all(p.state in INCONCLUSIVE for p in host.ports):
        raise TargetUnreachable(english("probe.nmap.all_filtered", address=address))
    return ServicePorts(
        address=address, command=" ".join(argv), udp_scanned=udp,
        open=tuple(OpenPort(proto=p.proto, port=p.port, service=p.service, product=p.product,
                            version=p.version, method=p.method) for p in host.open_ports()),
        inconclusive=tuple(f"{p.port}/{p.proto} {p.state}" for p in host.ports
                           if p.state in INCONCLUSIVE),
        scanned=tuple(ScannedPort(proto=p.proto, port=p.port, state=p.state) for p in host.ports),
    )
