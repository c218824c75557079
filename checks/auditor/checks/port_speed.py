"""Port-speed checks: the uplink port runs at ≥ 1000 Mbit/s, classroom ports at ≥ 100 Mbit/s."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import judged, unmeasured
from auditor.facts import FactKind, PortSpeed, read_fact
from auditor.inventory import PortRef
from auditor.messages import Msg, define, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

KIND = FactKind.SNMP_INTERFACE
PROBE = "snmp.port_speed"

define({
    "ports.uplink": ("出口端口", "uplink port"),
    "ports.where": ("{label}（{device} {port}，ifIndex {index}）",
                    "{label} ({device} {port}, ifIndex {index})"),
    "ports.state": ("{where}：端口运行状态为 {oper}（管理状态 {admin}）",
                    "{where}: port is {oper} (admin {admin})"),
    "ports.no_speed": ("{where}：设备未报告 ifHighSpeed 或 ifSpeed",
                       "{where}: the device reports no ifHighSpeed or ifSpeed"),
    "ports.speed_ok": ("{where}：端口已连通，速率 {speed:g} Mbit/s ≥ {min_mbps:g} Mbit/s",
                       "{where}: up at {speed:g} Mbit/s ≥ {min_mbps:g} Mbit/s"),
    "ports.speed_low": ("{where}：端口已连通，速率 {speed:g} Mbit/s < {min_mbps:g} Mbit/s",
                        "{where}: up at {speed:g} Mbit/s < {min_mbps:g} Mbit/s"),
    "ports.no_uplink_port": ("清单中没有指定 uplink.port；未读取端口速率",
                             "the inventory names no uplink.port; port speed not read"),
    "ports.no_access_port": ("{room}：清单中没有 access_port；未读取",
                             "{room}: no access_port in the inventory; not read"),
    "ports.no_classrooms": ("清单中没有列出教室", "the inventory lists no classrooms"),
})


class UplinkPortParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_mbps: float = Field(default=1000.0, gt=0)


class ClassroomPortParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_mbps: float = Field(default=100.0, gt=0)


def port_finding(meta: CheckMeta, target: str, label: Msg | str, fact: Fact | None,
                 min_mbps: float) -> Finding:
    """Judge one port: operationally up and at least ``min_mbps``."""
    problem = unmeasured(meta, target, fact, PROBE)
    if problem is not None:
        return problem
    assert fact is not None
    return judged(meta, target, fact, partial(_judge, meta, target, label, fact, min_mbps))


def _judge(meta: CheckMeta, target: str, label: Msg | str, fact: Fact, min_mbps: float) -> Finding:
    d = read_fact(fact, PortSpeed)
    speed = d.speed_mbps
    facts, artifacts = (fact.id,), fact.artifacts
    where = msg("ports.where", label=label, device=d.device, port=d.if_name or d.port, index=d.if_index)
    if d.oper_status != "up":
        return Finding(meta.id, target, Status.FAIL, meta.severity,
                       msg("ports.state", where=where, oper=d.oper_status, admin=d.admin_status),
                       measured=speed, threshold=min_mbps, unit="Mbit/s", facts=facts, artifacts=artifacts)
    if speed is None:
        return Finding(meta.id, target, Status.ERROR, meta.severity, msg("ports.no_speed", where=where),
                       facts=facts, artifacts=artifacts)
    ok = speed >= min_mbps
    return Finding(
        meta.id, target, Status.PASS if ok else Status.FAIL, meta.severity,
        msg("ports.speed_ok" if ok else "ports.speed_low", where=where, speed=speed, min_mbps=min_mbps),
        measured=speed, threshold=min_mbps, unit="Mbit/s", facts=facts, artifacts=artifacts,
    )


def _lookup(ctx: CheckContext[Any], ref: PortRef) -> Fact | None:
    return ctx.facts.get(KIND, f"{ref.device}/{ref.port}")


class UplinkPortSpeed:
    """The uplink's switch port negotiated gigabit or faster."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="ports.uplink_speed",
        title_zh="出口端口速率不低于千兆（SNMP ifHighSpeed）",
        title_en="Uplink port speed is at least 1000 Mbit/s (SNMP ifHighSpeed)",
        severity=Severity.MEDIUM,
        rationale_zh="端口协商速率是千兆进校的第二个证据来源，可区分链路限速与端口降速。",
        rationale_en="The negotiated port speed is a second source of evidence for gigabit "
        "access and separates a slow port from a rate-limited link.",
        remediation_zh="检查出口端口的光模块、速率/双工配置与对端设备。",
        remediation_en="Check the uplink port's optics, speed/duplex settings and the far end.",
        requires=(PROBE,),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = UplinkPortParams

    def evaluate(self, ctx: CheckContext[UplinkPortParams]) -> list[Finding]:
        params = ctx.params
        uplink = ctx.inventory.uplink
        if uplink is None or uplink.port is None:
            return [Finding(self.meta.id, "uplink", Status.SKIPPED, self.meta.severity,
                            msg("ports.no_uplink_port"))]
        ref = uplink.port
        return [port_finding(self.meta, f"port/{ref.device}/{ref.port}", msg("ports.uplink"),
                             _lookup(ctx, ref), params.min_mbps)]


class ClassroomPortSpeed:
    """Each classroom's access port negotiated 100 Mbit/s or faster."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="ports.classroom_speed",
        title_zh="教室接入端口速率不低于百兆（SNMP ifHighSpeed）",
        title_en="Classroom access port speed is at least 100 Mbit/s (SNMP ifHighSpeed)",
        severity=Severity.LOW,
        rationale_zh="教室接入端口若协商为 10 Mbit/s，则无法满足百兆进班。",
        rationale_en="A classroom port that negotiated 10 Mbit/s cannot deliver 100 Mbit/s.",
        remediation_zh="检查教室网线（至少超五类）、端口速率配置和终端网卡。",
        remediation_en="Check the classroom cabling (Cat 5e or better), port speed settings "
        "and the end device's NIC.",
        requires=(PROBE,),
        effort="purchase",
        owner="vendor",
    )
    params_model: ClassVar[type[BaseModel]] = ClassroomPortParams

    def evaluate(self, ctx: CheckContext[ClassroomPortParams]) -> list[Finding]:
        params = ctx.params
        findings = []
        for room in ctx.inventory.classrooms:
            if room.access_port is None:
                findings.append(Finding(self.meta.id, f"classroom/{room.id}", Status.SKIPPED,
                                        self.meta.severity,
                                        msg("ports.no_access_port", room=room.name)))
                continue
            ref = room.access_port
            findings.append(port_finding(self.meta, f"port/{ref.device}/{ref.port}",
                                         room.name, _lookup(ctx, ref), params.min_mbps))
        if not findings:
            findings.append(Finding(self.meta.id, "classrooms", Status.ERROR, self.meta.severity,
                                    msg("ports.no_classrooms")))
        return findings
