"""Exposed-services checks: risky services reachable, and ports outside the zone's allow-list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from auditor.checks._common import per_target
from auditor.facts import FactKind, OpenPort, ServicePorts, read_fact
from auditor.inventory import Server, port_key
from auditor.messages import Msg, define, joined, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

KIND = FactKind.SERVICES_PORTS
PROBE = "nmap.services"

define({
    "services.finding": ("{server}（{address}）：{text}", "{server} ({address}): {text}"),
    "services.no_servers": ("清单中没有列出需要扫描的服务器", "the inventory lists no servers to scan"),
    "services.class.cleartext_mgmt": ("明文远程管理", "cleartext remote management"),
    "services.class.cleartext_files": ("明文文件传输", "cleartext file transfer"),
    "services.class.unauth_files": ("无认证的文件传输", "unauthenticated file transfer"),
    "services.class.file_sharing": ("文件共享", "file sharing"),
    "services.class.remote_desktop": ("远程桌面", "remote desktop"),
    "services.class.database": ("数据库", "database"),
    "services.class.cache": ("缓存", "cache"),
    "services.class.containers": ("容器管理", "container management"),
    "services.class.discovery": ("服务发现", "discovery"),
    "services.netbios": ("NetBIOS 会话", "NetBIOS session"),
    "services.docker": ("未启用 TLS 的 Docker API", "Docker API without TLS"),
    "services.risky_item": ("{port}：{kind}（{service}）", "{port}: {kind} ({service})"),
    "services.risky": ("可访问的高危服务：{items}", "risky services reachable: {items}"),
    "services.no_risky": ("没有可访问的高危服务", "no risky service reachable"),
    "services.none_declared": ("未声明", "none declared"),
    "services.unexpected": ("白名单（{allowed}）之外的开放端口：{ports}",
                            "open outside the allow-list ({allowed}): {ports}"),
    "services.all_allowed": ("所有开放端口都在白名单内（{allowed}）",
                             "every open port is allowed ({allowed})"),
})

# port/proto → (class, why it is risky); classification is by port, nmap's guess is shown too.
RISKY: dict[str, tuple[Msg, Msg | str]] = {
    "23/tcp": (Msg("services.class.cleartext_mgmt"), "telnet"),
    "21/tcp": (Msg("services.class.cleartext_files"), "FTP"),
    "69/udp": (Msg("services.class.unauth_files"), "TFTP"),
    "139/tcp": (Msg("services.class.file_sharing"), Msg("services.netbios")),
    "445/tcp": (Msg("services.class.file_sharing"), "SMB"),
    "3389/tcp": (Msg("services.class.remote_desktop"), "RDP"),
    "5900/tcp": (Msg("services.class.remote_desktop"), "VNC"),
    "3306/tcp": (Msg("services.class.database"), "MySQL"),
    "1433/tcp": (Msg("services.class.database"), "SQL Server"),
    "1521/tcp": (Msg("services.class.database"), "Oracle"),
    "5432/tcp": (Msg("services.class.database"), "PostgreSQL"),
    "27017/tcp": (Msg("services.class.database"), "MongoDB"),
    "9200/tcp": (Msg("services.class.database"), "Elasticsearch"),
    "6379/tcp": (Msg("services.class.cache"), "Redis"),
    "11211/tcp": (Msg("services.class.cache"), "memcached"),
    "2375/tcp": (Msg("services.class.containers"), Msg("services.docker")),
    "1900/udp": (Msg("services.class.discovery"), "SSDP/UPnP"),
}


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# (server, open ports) -> (ports that break the rule, message when some do, message when none do)
Judge = Callable[[Server, tuple[OpenPort, ...]], tuple[list[OpenPort], Msg, Msg]]


def per_server(meta: CheckMeta, ctx: CheckContext[Any], unit: str, judge: Judge) -> list[Finding]:
    """One finding per inventory server: fail when ``judge`` returns offending ports."""
    def finding(server: Server, target: str, fact: Fact) -> Finding:
        bad, fail_text, pass_text = judge(server, read_fact(fact, ServicePorts).open)
        return Finding(meta.id, target, Status.FAIL if bad else Status.PASS, meta.severity,
                       msg("services.finding", server=server.id, address=str(server.address),
                           text=fail_text if bad else pass_text),
                       measured=float(len(bad)), threshold=0.0, unit=unit,
                       facts=(fact.id,), artifacts=fact.artifacts)

    servers = [(f"host/{server.id}", server) for server in ctx.inventory.servers]
    return per_target(meta, ctx, KIND, PROBE, servers, finding) or [
        Finding(meta.id, "servers", Status.ERROR, meta.severity, msg("services.no_servers"))]


def _describe(port: OpenPort) -> str:
    seen = " ".join(x for x in (port.service, port.product, port.version) if x)
    return port.key + (f" ({seen})" if seen else "")


class RiskyServicesExposed:
    """No cleartext management, file sharing, remote desktop or database port is reachable."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="services.risky_exposed",
        title_zh="服务器未开放高危端口（Telnet、FTP、SMB、远程桌面、数据库、缓存等）",
        title_en="No high-risk service (telnet, FTP, SMB, remote desktop, databases, caches) is reachable",
        severity=Severity.HIGH,
        rationale_zh="明文管理协议、文件共享、远程桌面和数据库端口暴露是校园网最常见的入侵入口。",
        rationale_en="Cleartext management, file sharing, remote desktop and database ports are the "
        "most common way into a school network.",
        remediation_zh="关闭不需要的服务；必须保留的服务仅在管理网段开放并启用加密与认证。",
        remediation_en="Stop services that are not needed; expose those that must stay only to the "
        "management network, with encryption and authentication.",
        requires=(PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        def judge(_server: Server, ports: tuple[OpenPort, ...]) -> tuple[list[OpenPort], Msg, Msg]:
            risky = [p for p in ports if p.key in RISKY]
            items = joined(msg("services.risky_item", port=_describe(p), kind=RISKY[p.key][0],
                               service=RISKY[p.key][1]) for p in risky)
            return risky, msg("services.risky", items=items), msg("services.no_risky")

        return per_server(self.meta, ctx, "risky ports", judge)


class UnexpectedOpenPorts:
    """Every open port is on the allow-list of the host's zone (or the host's own)."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="services.unexpected_open",
        title_zh="服务器开放端口与所在区域白名单一致",
        title_en="Open ports match the allow-list of the host's zone",
        severity=Severity.MEDIUM,
        rationale_zh="只开放业务需要的端口（最小化原则），白名单外的端口意味着多余服务或配置漂移。",
        rationale_en="Only the ports the service needs should be open; anything else is a surplus "
        "service or configuration drift.",
        remediation_zh="关闭白名单外的端口，或在清单中说明并加入该区域白名单。",
        remediation_en="Close ports outside the allow-list, or document them and add them to the "
        "zone's allow-list in the inventory.",
        requires=(PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        def judge(server: Server, ports: tuple[OpenPort, ...]) -> tuple[list[OpenPort], Msg, Msg]:
            allowed = ctx.inventory.allowed_ports(server)
            extra = [p for p in ports if port_key(p.key) not in allowed]
            shown: list[str] | Msg = sorted(allowed) or msg("services.none_declared")
            return (extra, msg("services.unexpected", allowed=shown, ports=[_describe(p) for p in extra]),
                    msg("services.all_allowed", allowed=shown))

        return per_server(self.meta, ctx, "unexpected ports", judge)
