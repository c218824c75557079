"""Boundary-firewall checks: measured behaviour from outside and inside, and the ruleset itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from auditor.checks._common import reason, unmeasured, unreadable
from auditor.facts import (
    ConnectResult,
    FactKind,
    OutboundTest,
    OutsideView,
    Ruleset,
    UnreadableFact,
    read_fact,
)
from auditor.inventory import Firewall, port_key
from auditor.messages import Msg, choice, define, joined, msg
from auditor.model import Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

D = TypeVar("D", bound=BaseModel)
OUTSIDE = (FactKind.FIREWALL_OUTSIDE, "firewall.outside_view", OutsideView)
OUTBOUND = (FactKind.FIREWALL_OUTBOUND, "firewall.outbound", OutboundTest)
RULESET = (FactKind.FIREWALL_RULESET, "firewall.ruleset", Ruleset)
# Connect states that show the firewall stopped the connection.
BLOCKED = frozenset({"filtered", "rejected"})

Verdict = tuple[Status, Msg, float | None, tuple[str, ...]]  # status, message, measured, lines

define({
    "firewall.of": ("{firewall}：{text}", "{firewall}: {text}"),
    "firewall.none": ("清单中没有列出边界防火墙（firewalls）",
                      "the inventory lists no boundary firewall (firewalls:)"),
    "firewall.connect_failed_item": ("{target}（{detail}）", "{target} ({detail})"),
    "firewall.connect_failed": ("连接测试失败：{items}", "the connect test failed for {items}"),
    "firewall.untested": ("；未测试（UDP）：{ports}", "; not tested (UDP): {ports}"),
    "firewall.no_vantage": ("未声明外部测试点（firewalls[].vantage），因此未测量外部视角",
                            "no vantage point declared (firewalls[].vantage), so the outside view was not "
                            "measured"),
    "firewall.no_outside": ("清单中没有列出此防火墙的 outside_addresses",
                            "the inventory lists no outside_addresses for this firewall"),
    "firewall.unpublished_open": ("未发布但开放：{target}", "not published but open: {target}"),
    "firewall.published_down": ("已发布但无法访问：{target}（{detail}）",
                                "published but not reachable: {target} ({detail})"),
    "firewall.published_fail": ("从 {vantage} 测得：{problems}（已发布：{published}）{note}",
                                "from {vantage}: {problems} (published: {published}){note}"),
    "firewall.published_ok": ("从 {vantage} 测得：{addresses} 上只有已发布的端口（{published}）有应答；"
                              "共尝试 {count} 个地址/端口组合{note}",
                              "from {vantage}: only the published ports ({published}) answer on "
                              "{addresses}; {count} address/port pairs tried{note}"),
    "firewall.no_mgmt_addresses": ("清单中既没有列出 outside_addresses，也没有列出 management_address",
                                   "the inventory lists neither outside_addresses nor management_address"),
    "firewall.no_address": ("无地址", "no address"),
    "firewall.mgmt_exposed": ("从 {vantage} 可以访问管理端口：{ports}",
                              "management ports reachable from {vantage}: {ports}"),
    "firewall.mgmt_ok": ("从 {vantage} 测得 {addresses} 上没有管理端口（{ports}）应答{note}",
                         "no management port ({ports}) answers on {addresses} from {vantage}{note}"),
    "firewall.no_outbound_probe": ("未声明 outbound_probe 地址，因此未测量出站过滤",
                                   "no outbound_probe address declared, so outbound filtering was not "
                                   "measured"),
    "firewall.no_forbidden": ("forbidden_outbound 为空", "forbidden_outbound is empty"),
    "firewall.nothing_to_test": ("没有需要测试的 TCP 端口{note}", "no TCP port to test{note}"),
    "firewall.crossed": ("{target}（有主机应答：连接穿过了防火墙）",
                         "{target} (a host answered: the connection crossed the firewall)"),
    "firewall.not_blocked": ("到 {address} 的连接未被阻断：{items}",
                             "not blocked towards {address}: {items}"),
    "firewall.state.open": ("开放", "open"),
    "firewall.state.closed": ("关闭", "closed"),
    "firewall.state.rejected": ("被拒绝", "rejected"),
    "firewall.state.filtered": ("被过滤", "filtered"),
    "firewall.port_state": ("{port} {state}", "{port} {state}"),
    "firewall.all_blocked": ("到 {address} 的所有禁止端口均被阻断（{states}）{note}",
                             "all forbidden ports blocked towards {address} ({states}){note}"),
    "firewall.no_ruleset_device": ("未指定可通过 SSH 访问的 Linux 设备（firewalls[].device），"
                                   "因此未读取规则集；默认拒绝只能由行为检查判断",
                                   "no Linux device with SSH access named (firewalls[].device), so the "
                                   "ruleset was not read; default-deny is judged only by the behaviour "
                                   "checks"),
    "firewall.no_chain": ("{hook} 钩子上没有 IPv4 filter 基础链：{hook} 流量未经过滤",
                          "no IPv4 filter base chain on the {hook} hook: {hook} traffic is not filtered"),
    "firewall.policy_accept": ("{hook}：{chains} 的策略为 accept，且没有最终的 drop 规则",
                               "{hook}: policy accept and no final drop rule in {chains}"),
    "firewall.accepts_all": ("{hook}：放行所有流量：{line}", "{hook}: accepts everything: {line}"),
    "firewall.drops": ("input 与 forward 默认丢弃，没有全部放行规则（规则集读取格式：{source}）",
                       "input and forward drop by default, no accept-all rule (ruleset read as {source})"),
})


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutboundParams(BaseModel):
    """``reset_means_blocked``: the firewall rejects with TCP reset (or ICMP port unreachable),
    so a refused connection is its doing rather than the far host's answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reset_means_blocked: bool = False


def per_firewall(meta: CheckMeta, ctx: CheckContext[Any], fact_key: tuple[str, str, type[D]],
                 missing: Callable[[Firewall], Msg | None], judge: Callable[[Firewall, D], Verdict]
                 ) -> list[Finding]:
    """One finding per inventory firewall; ``missing`` says why it cannot be measured (skipped)."""
    kind, probe, model = fact_key
    findings = []
    for fw in ctx.inventory.firewalls:
        target = f"firewall/{fw.id}"
        why = missing(fw)
        if why is not None:
            findings.append(Finding(meta.id, target, Status.SKIPPED, meta.severity,
                                    msg("firewall.of", firewall=fw.id, text=why)))
            continue
        fact = ctx.facts.get(kind, target)
        problem = unmeasured(meta, target, fact, probe)
        if problem is not None:
            findings.append(problem)
            continue
        assert fact is not None
        try:
            status, message, measured, lines = judge(fw, read_fact(fact, model))
        except UnreadableFact as exc:
            findings.append(unreadable(meta, target, fact, exc))
            continue
        findings.append(Finding(meta.id, target, status, meta.severity,
                                msg("firewall.of", firewall=fw.id, text=message),
                                measured=measured, threshold=0.0 if measured is not None else None,
                                unit="ports" if measured is not None else None, facts=(fact.id,),
                                artifacts=fact.artifacts, lines=lines))
    return findings or [Finding(meta.id, "firewalls", Status.ERROR, meta.severity, msg("firewall.none"))]


def _errors(results: Iterable[ConnectResult]) -> Msg | None:
    bad = [msg("firewall.connect_failed_item", target=r.show(), detail=reason(r.detail))
           for r in results if r.state == "error"]
    return msg("firewall.connect_failed", items=bad) if bad else None


def _untested_note(results: Iterable[ConnectResult]) -> Msg | str:
    udp = sorted({r.key for r in results if r.state == "untested"})
    return msg("firewall.untested", ports=udp) if udp else ""


def _vantage_missing(fw: Firewall) -> Msg | None:
    if fw.vantage is None:
        return msg("firewall.no_vantage")
    return None


class PublishedOnly:
    """From outside, exactly the published ports answer on the outside addresses."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="firewall.published_only",
        title_zh="从外部只能访问对外发布的服务",
        title_en="From outside, only the published services are reachable",
        severity=Severity.HIGH,
        rationale_zh="边界防火墙应默认拒绝外部访问，仅开放对外发布的业务端口"
        "（GB/T 22239 边界防护、访问控制）。",
        rationale_en="The boundary firewall should deny inbound traffic by default and admit only the "
        "published services (GB/T 22239 boundary protection and access control).",
        remediation_zh="在边界防火墙上关闭未发布端口的映射与放行规则；确认发布的服务正常运行并如实登记。",
        remediation_en="Remove port forwards and accept rules for anything not published; make sure the "
        "published services run and are declared correctly in the inventory.",
        requires=("firewall.outside_view",),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        def missing(fw: Firewall) -> Msg | None:
            if not fw.outside_addresses:
                return msg("firewall.no_outside")
            return _vantage_missing(fw)

        def judge(fw: Firewall, data: OutsideView) -> Verdict:
            outside = {str(a) for a in fw.outside_addresses}
            results = [r for r in data.results if r.address in outside]
            published = {port_key(p) for p in fw.published}
            if err := _errors(results):
                return Status.ERROR, err, None, ()
            extra = [r for r in results if r.state == "open" and r.key not in published]
            down = [r for r in results if r.key in published and r.state not in {"open", "untested"}]
            problems = [msg("firewall.unpublished_open", target=r.show()) for r in extra]
            problems += [msg("firewall.published_down", target=r.show(), detail=reason(r.detail))
                         for r in down]
            note = _untested_note([r for r in results if r.key in published])
            shown: list[str] | Msg = sorted(published) or msg("text.none")
            if problems:
                return (Status.FAIL, msg("firewall.published_fail", vantage=data.vantage,
                                         problems=joined(problems), published=shown, note=note),
                        float(len(problems)), ())
            return (Status.PASS, msg("firewall.published_ok", vantage=data.vantage, published=shown,
                                     addresses=sorted(outside), count=len(results), note=note), 0.0, ())

        return per_firewall(self.meta, ctx, OUTSIDE, missing, judge)


class ManagementNotExposed:
    """The firewall's management ports do not answer from outside."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="firewall.mgmt_not_exposed",
        title_zh="防火墙管理接口不能从外部访问",
        title_en="The firewall's management interface is not reachable from outside",
        severity=Severity.HIGH,
        rationale_zh="管理接口暴露在互联网上会招致口令爆破和漏洞利用（GB/T 22239 设备管理与访问控制）。",
        rationale_en="A management interface reachable from the internet invites password guessing and "
        "exploits (GB/T 22239 device management and access control).",
        remediation_zh="仅允许内部管理网段访问防火墙的 SSH/HTTPS 管理端口，在外部接口上拒绝。",
        remediation_en="Admit the firewall's SSH/HTTPS management ports only from the inside management "
        "network; drop them on the outside interface.",
        requires=("firewall.outside_view",),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        def missing(fw: Firewall) -> Msg | None:
            if not fw.outside_addresses and fw.management_address is None:
                return msg("firewall.no_mgmt_addresses")
            return _vantage_missing(fw)

        def judge(fw: Firewall, data: OutsideView) -> Verdict:
            mgmt = {port_key(p) for p in fw.management_ports}
            published = {port_key(p) for p in fw.published}
            outside = {str(a) for a in fw.outside_addresses}
            mgmt_addr = str(fw.management_address) if fw.management_address else None
            # A management port that is also published on an outside address is the published
            # service there (a port forward), judged by firewall.published_only.
            results = [r for r in data.results if r.key in mgmt and (
                r.address == mgmt_addr or (r.address in outside and r.key not in published))]
            if err := _errors(results):
                return Status.ERROR, err, None, ()
            exposed = [r for r in results if r.state == "open"]
            where: list[str] | Msg = sorted({r.address for r in results}) or msg("firewall.no_address")
            if exposed:
                return (Status.FAIL, msg("firewall.mgmt_exposed", vantage=data.vantage,
                                         ports=[r.show() for r in exposed]), float(len(exposed)), ())
            return (Status.PASS, msg("firewall.mgmt_ok", ports=sorted(mgmt), addresses=where,
                                     vantage=data.vantage, note=_untested_note(results)), 0.0, ())

        return per_firewall(self.meta, ctx, OUTSIDE, missing, judge)


class OutboundBlocked:
    """Connections from inside to the forbidden outbound ports are stopped by the firewall.

    ``filtered`` (no answer) and ``rejected`` (ICMP unreachable/prohibited) count as blocked;
    ``open`` does not; ``closed`` (TCP reset or ICMP port unreachable) means some host answered,
    normally the far one, so the packet crossed the firewall: not blocked, unless the site says
    its firewall rejects with resets (``reset_means_blocked``).
    """

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="firewall.outbound_blocked",
        title_zh="边界防火墙阻断内网访问外部高危端口",
        title_en="The boundary firewall blocks outbound connections to forbidden ports",
        severity=Severity.MEDIUM,
        rationale_zh="阻断外发的 Telnet、SMB、远程桌面、数据库等端口可限制失陷主机外联和数据外泄"
        "（GB/T 22239 访问控制）。",
        rationale_en="Blocking outbound telnet, SMB, remote desktop and database ports limits what a "
        "compromised host can reach and leak (GB/T 22239 access control).",
        remediation_zh="在边界防火墙的转发链上拒绝内网到外网的这些目的端口。",
        remediation_en="Drop or reject these destination ports from inside to outside in the firewall's "
        "forward chain.",
        requires=("firewall.outbound",),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = OutboundParams

    def evaluate(self, ctx: CheckContext[OutboundParams]) -> list[Finding]:
        params = ctx.params
        blocked = BLOCKED | ({"closed"} if params.reset_means_blocked else set())

        def missing(fw: Firewall) -> Msg | None:
            if fw.outbound_probe is None:
                return msg("firewall.no_outbound_probe")
            return None if fw.forbidden_outbound else msg("firewall.no_forbidden")

        def judge(_fw: Firewall, data: OutboundTest) -> Verdict:
            results = [r for r in data.results if r.state != "untested"]
            if err := _errors(results):
                return Status.ERROR, err, None, ()
            if not results:
                return (Status.SKIPPED, msg("firewall.nothing_to_test", note=_untested_note(data.results)),
                        None, ())
            passed = [r for r in results if r.state not in blocked]
            how = joined(msg("firewall.crossed", target=r.show()) if r.state == "closed" else r.show()
                         for r in passed)
            if passed:
                return (Status.FAIL, msg("firewall.not_blocked", address=data.probe_address, items=how),
                        float(len(passed)), ())
            states = [msg("firewall.port_state", port=r.key, state=choice("firewall.state", r.state))
                      for r in results]
            return (Status.PASS, msg("firewall.all_blocked", address=data.probe_address, states=states,
                                     note=_untested_note(data.results)), 0.0, ())

        return per_firewall(self.meta, ctx, OUTBOUND, missing, judge)


class DefaultDrop:
    """The ruleset's input and forward hooks drop by default and hold no accept-everything rule.

    A hook drops by default when at least one IPv4 filter base chain on it has policy drop or
    ends in an unconditional drop/reject rule (every base chain on a hook sees the packet, and
    a drop in any is final). An accept rule without a match in any of those base chains is
    flagged: it ends that chain's filtering. Regular chains reached by ``jump`` are not judged
    (a bare ``accept`` there is normal: the jump carries the match).
    """

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="firewall.default_drop",
        title_zh="防火墙规则集默认拒绝且无全部放行规则",
        title_en="The firewall ruleset drops by default and has no accept-all rule",
        severity=Severity.HIGH,
        rationale_zh="默认拒绝（白名单）是边界访问控制的基础；一条全部放行规则会使其余规则失效"
        "（GB/T 22239 访问控制）。",
        rationale_en="Default deny is the basis of boundary access control; one accept-all rule voids "
        "the rest of the ruleset (GB/T 22239 access control).",
        remediation_zh="将 input 与 forward 链的默认策略设为 drop，删除无匹配条件的 accept 规则，"
        "只放行需要的流量。",
        remediation_en="Set the input and forward chains' policy to drop, delete accept rules without a "
        "match, and admit only the traffic that is needed.",
        requires=("firewall.ruleset",),
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = NoParams

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        def missing(fw: Firewall) -> Msg | None:
            device = ctx.inventory.device(fw.device) if fw.device else None
            if device is None or device.ssh is None:
                return msg("firewall.no_ruleset_device")
            return None

        return per_firewall(self.meta, ctx, RULESET, missing, judge_ruleset)


def judge_ruleset(_fw: Firewall, data: Ruleset) -> Verdict:
    """The default-drop verdict on a ``firewall.ruleset`` fact's data."""
    problems: list[Msg] = []
    lines: list[str] = []
    for hook in ("input", "forward"):
        chains = [c for c in data.chains if c.hook == hook]
        if not chains:
            problems.append(msg("firewall.no_chain", hook=hook))
            continue
        lines += [c.declaration for c in chains]
        dropping = [c for c in chains if c.policy == "drop" or c.final_drop]
        lines += [c.final_drop for c in dropping if c.final_drop and c.policy != "drop"]
        if not dropping:
            problems.append(msg("firewall.policy_accept", hook=hook,
                                chains=[c.table + " " + c.chain for c in chains]))
        for c in chains:
            for line in c.accept_all:
                problems.append(msg("firewall.accepts_all", hook=hook, line=line))
                lines.append(line)
    if problems:
        return Status.FAIL, joined(problems), float(len(problems)), tuple(lines)
    return Status.PASS, msg("firewall.drops", source=data.source), 0.0, tuple(lines)
