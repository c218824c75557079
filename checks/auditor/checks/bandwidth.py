"""Goodput checks: the uplink and every classroom meet their bandwidth thresholds."""

from __future__ import annotations

from functools import partial
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import judged, reason, unmeasured
from auditor.facts import FactKind, Goodput, read_fact
from auditor.messages import Msg, choice, define, joined, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta, FactIndex

KIND = FactKind.BANDWIDTH_GOODPUT
PROBE = "iperf3.bandwidth"
Direction = Literal["downstream", "upstream"]
BOTH: tuple[Direction, ...] = ("downstream", "upstream")

define({
    "bandwidth.dir.downstream": ("下行", "downstream"),
    "bandwidth.dir.upstream": ("上行", "upstream"),
    "bandwidth.uplink": ("出口 {endpoint} {direction}", "uplink {endpoint} {direction}"),
    "bandwidth.room": ("{room} {direction}", "{room} {direction}"),
    "bandwidth.invalid": ("{label}：测量无效（{reasons}）；测得 {median:.1f} Mbit/s",
                          "{label}: measurement invalid ({reasons}); measured {median:.1f} Mbit/s"),
    "bandwidth.goodput_ok": ("{label}：TCP 有效吞吐中位数 {median:.1f} Mbit/s ≥ {min_mbps:g} "
                             "Mbit/s（各次测量：{runs}）",
                             "{label}: median goodput {median:.1f} Mbit/s ≥ {min_mbps:g} Mbit/s (runs: "
                             "{runs})"),
    "bandwidth.goodput_low": ("{label}：TCP 有效吞吐中位数 {median:.1f} Mbit/s < {min_mbps:g} "
                              "Mbit/s（各次测量：{runs}）",
                              "{label}: median goodput {median:.1f} Mbit/s < {min_mbps:g} Mbit/s (runs: "
                              "{runs})"),
    "bandwidth.no_uplink": ("清单中没有 'uplink' 部分；请添加 uplink.endpoints",
                            "the inventory has no 'uplink' section; add uplink.endpoints"),
    "bandwidth.no_classrooms": ("清单中没有列出教室；请在 'classrooms' 下添加",
                                "the inventory lists no classrooms; add them under 'classrooms'"),
    "bandwidth.no_endpoint": ("{room}：清单中没有 iperf3 测速端点；未测量",
                              "{room}: no iperf3 endpoint in the inventory; not measured"),
})


def direction(d: str) -> Msg | str:
    return choice("bandwidth.dir", d)


class GoodputParams(BaseModel):
    """Threshold in Mbit/s (median TCP goodput) and the directions that must meet it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_mbps: float = Field(gt=0)
    directions: list[Direction] = Field(default_factory=lambda: list(BOTH))


class UplinkParams(GoodputParams):
    min_mbps: float = Field(default=900.0, gt=0)


class ClassroomParams(GoodputParams):
    min_mbps: float = Field(default=90.0, gt=0)


def goodput_finding(meta: CheckMeta, target: str, label: Msg, fact: Fact | None,
                    min_mbps: float) -> Finding:
    """Judge one link direction's median goodput against ``min_mbps``."""
    problem = unmeasured(meta, target, fact, PROBE)
    if problem is not None:
        return problem
    assert fact is not None
    return judged(meta, target, fact, partial(_judge, meta, target, label, fact, min_mbps))


def _judge(meta: CheckMeta, target: str, label: Msg, fact: Fact, min_mbps: float) -> Finding:
    data = read_fact(fact, Goodput)
    median = data.median_mbps
    runs = [f"{r.goodput_mbps:.1f}" for r in data.runs]
    facts, artifacts = (fact.id,), fact.artifacts
    if not data.valid:
        reasons = (joined(reason(r) for r in data.invalid_reasons) if data.invalid_reasons
                   else msg("text.unknown"))
        return Finding(meta.id, target, Status.ERROR, meta.severity,
                       msg("bandwidth.invalid", label=label, reasons=reasons, median=median),
                       measured=median, threshold=min_mbps, unit="Mbit/s", facts=facts, artifacts=artifacts)
    ok = median >= min_mbps
    return Finding(
        meta.id, target, Status.PASS if ok else Status.FAIL, meta.severity,
        msg("bandwidth.goodput_ok" if ok else "bandwidth.goodput_low", label=label, median=median,
            min_mbps=min_mbps, runs=runs),
        measured=median, threshold=min_mbps, unit="Mbit/s", facts=facts, artifacts=artifacts,
    )


def _fact(facts: FactIndex, subject: str) -> Fact | None:
    return facts.get(KIND, subject)


class UplinkGoodput:
    """千兆进校: the school's uplink carries gigabit-class goodput in each direction."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="bandwidth.uplink_goodput",
        title_zh="出口带宽（千兆进校）：上行与下行 TCP 实测吞吐达到阈值",
        title_en="Uplink goodput (gigabit to the school) meets the threshold in each direction",
        severity=Severity.HIGH,
        rationale_zh="千兆进校要求学校出口链路具备千兆能力；千兆以太网上 TCP 有效吞吐上限约 941 Mbit/s。",
        rationale_en="Gigabit to the school means the uplink delivers gigabit-class throughput; "
        "TCP goodput on gigabit Ethernet tops out at about 941 Mbit/s.",
        remediation_zh="核对运营商或教育城域网接入带宽与出口设备端口速率，排查限速策略与链路故障。",
        remediation_en="Check the contracted access rate, the uplink port speed, rate-limit "
        "policies and link faults with the provider or the district network.",
        requires=(PROBE,),
        effort="purchase",
        owner="leadership",
    )
    params_model: ClassVar[type[BaseModel]] = UplinkParams

    def evaluate(self, ctx: CheckContext[UplinkParams]) -> list[Finding]:
        params = ctx.params
        uplink = ctx.inventory.uplink
        if uplink is None:
            return [Finding(self.meta.id, "uplink", Status.ERROR, self.meta.severity,
                            msg("bandwidth.no_uplink"))]
        return [
            goodput_finding(self.meta, f"uplink/{ep.id}/{d}",
                            msg("bandwidth.uplink", endpoint=ep.id, direction=direction(d)),
                            _fact(ctx.facts, f"uplink/{ep.id}/{d}"), params.min_mbps)
            for ep in uplink.endpoints for d in params.directions
        ]


class ClassroomGoodput:
    """百兆进班: every classroom link carries 100-Mbit-class goodput."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="bandwidth.classroom_goodput",
        title_zh="班级带宽（百兆进班）：每间教室链路 TCP 实测吞吐达到阈值",
        title_en="Classroom goodput (100 Mbit/s to every classroom) meets the threshold",
        severity=Severity.MEDIUM,
        rationale_zh="百兆进班要求每间教室具备百兆接入；百兆以太网上 TCP 有效吞吐上限约 95 Mbit/s。",
        rationale_en="100 Mbit/s to every classroom; TCP goodput on Fast Ethernet tops out at "
        "about 95 Mbit/s.",
        remediation_zh="检查该教室接入端口协商速率、网线与配线、接入交换机上联及限速配置。",
        remediation_en="Check the classroom's access port speed, cabling, the access switch's "
        "uplink and any rate limits.",
        requires=(PROBE,),
        effort="purchase",
        owner="vendor",
    )
    params_model: ClassVar[type[BaseModel]] = ClassroomParams

    def evaluate(self, ctx: CheckContext[ClassroomParams]) -> list[Finding]:
        params = ctx.params
        rooms = ctx.inventory.classrooms
        if not rooms:
            return [Finding(self.meta.id, "classrooms", Status.ERROR, self.meta.severity,
                            msg("bandwidth.no_classrooms"))]
        findings = []
        for room in rooms:
            if room.endpoint is None:
                findings.append(Finding(
                    self.meta.id, f"classroom/{room.id}", Status.SKIPPED, self.meta.severity,
                    msg("bandwidth.no_endpoint", room=room.name)))
                continue
            for d in params.directions:
                subject = f"classroom/{room.id}/{d}"
                findings.append(goodput_finding(self.meta, subject,
                                                msg("bandwidth.room", room=room.name, direction=direction(d)),
                                                _fact(ctx.facts, subject), params.min_mbps))
        return findings
