"""Boundary-firewall probes: what the outside can reach, what the inside may not, and the ruleset.

``firewall.outside_view``
    From the firewall's vantage point (a local network namespace, or a remote host over SSH),
    TCP-connect to every outside address × (published ∪ management ∪ a sample of commonly
    forbidden ports) and to the management address × management ports. Both vantage kinds
    run the same small Python connect script (``python -I -c``; on an SSH vantage the
    ``python3`` there), so the states mean the same thing everywhere and no nc/bash variant
    differences creep in. UDP entries cannot be judged by a connect and are recorded as
    ``untested``.
``firewall.outbound``
    From the agent itself, the same script against ``outbound_probe`` on each forbidden port.
``firewall.ruleset``
    Over SSH on the firewall's Linux device: ``nft -j list ruleset`` (structure) and
    ``nft -a list ruleset`` (the text lines, matched by rule handle); text alone when the JSON
    listing is not available. Both outputs are kept as evidence.

Connect states: ``open`` (handshake completed), ``closed`` (TCP RST, or an ICMP port
unreachable, which the kernel reports the same way), ``rejected`` (ICMP host/net unreachable
or administratively prohibited: usually a firewall's reject), ``filtered`` (no answer within
the time limit), ``untested`` (UDP).
"""

from __future__ import annotations

import asyncio
import ipaddress
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.context import RunContext
from auditor.errors import OutOfScope, ProbeError, TargetUnreachable
from auditor.facts import ConnectResult, FactKind, OutboundTest, OutsideView, Ruleset, fact_data
from auditor.inventory import Firewall, Inventory, Vantage, port_key
from auditor.messages import define, english
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._proc import run_tool
from auditor.probes.parsers.nft import (
    NftParseError,
    NftRuleset,
    filter_summary,
    parse_nft_json,
    parse_nft_text,
    with_text_lines,
)
from auditor.sshclient import CommandResult, Credentials, run_commands

OUTSIDE_KIND = FactKind.FIREWALL_OUTSIDE
OUTBOUND_KIND = FactKind.FIREWALL_OUTBOUND
RULESET_KIND = FactKind.FIREWALL_RULESET
SAMPLE_PORTS = [21, 22, 23, 25, 135, 139, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443]
NETNS_RUN = Path("/run/netns")
PortNumber = Annotated[int, Field(ge=1, le=65535)]

define({
    # what the connect script says of one connect (it runs where the auditor's code is not loaded)
    "probe.firewall.handshake": ("握手完成", "handshake completed"),
    "probe.firewall.no_answer": ("无应答", "no answer"),
    "probe.firewall.udp_untested": ("TCP 连接无法判断 UDP", "UDP cannot be judged by a TCP connect"),
    "probe.firewall.out_of_scope": ("{what}：已拒绝：{addresses} 不在清单的范围允许列表内；"
                                    "请将学校的外部地址加入 scope.allow",
                                    "{what}: refused: {addresses} outside the inventory's scope "
                                    "allow-list; add the school's outside addresses to scope.allow"),
    "probe.firewall.bad_output": ("{where}：连接脚本输出了无法识别的内容：{line}",
                                  "{where}: unexpected output from the connect script: {line}"),
    "probe.firewall.no_route": ("{where}：所有目标网络均不可达（从该处没有路由）；请检查测试点的路由",
                                "{where}: network unreachable for every target (no route from there); "
                                "check the vantage point's routing"),
    "probe.firewall.outside_view": ("防火墙 {firewall} 外部视角", "firewall {firewall} outside view"),
    "probe.firewall.outside_from": ("从 {vantage} 测量防火墙 {firewall} 的外部视角",
                                    "firewall {firewall} outside view from {vantage}"),
    "probe.firewall.outside_evidence": ("从 {vantage} 发起的 TCP 连接", "TCP connects from {vantage}"),
    "probe.firewall.no_netns": ("{where}：网络命名空间 {netns} 不存在（请创建它，或修正清单中的 "
                                "firewalls[].vantage.netns）",
                                "{where}: network namespace {netns} does not exist (create it, or fix "
                                "firewalls[].vantage.netns in the inventory)"),
    "probe.firewall.iproute2": ("安装 iproute2（`ip` 命令）", "install iproute2 (the `ip` command)"),
    "probe.firewall.no_output": ("无输出", "no output"),
    "probe.firewall.netns_failed": ("{where}：连接脚本执行失败（{detail}）；在命名空间中运行需要 root 权限",
                                    "{where}: the connect script failed ({detail}); running it in a "
                                    "namespace needs root"),
    "probe.firewall.no_python": ("{where}：测试点主机 {host} 上没有安装 {python}；请在该主机上安装 Python "
                                 "3，或设置 firewall.outside_view.remote_python",
                                 "{where}: {python} is not installed on the vantage host {host}; install "
                                 "Python 3 there or set firewall.outside_view.remote_python"),
    "probe.firewall.ssh_failed": ("{where}：连接脚本在 {host} 上执行失败（退出码 {code}：{detail}）",
                                  "{where}: the connect script failed on {host} (exit {code}: {detail})"),
    "probe.firewall.outbound_to": ("防火墙 {firewall} 到 {address} 的出站测试",
                                   "firewall {firewall} outbound test to {address}"),
    "probe.firewall.script_failed": ("{where}：连接脚本执行失败（{detail}）",
                                     "{where}: the connect script failed ({detail})"),
    "probe.firewall.outbound_evidence": ("从审计代理到 {address} 的 TCP 连接",
                                         "TCP connects from the agent to {address}"),
    "probe.firewall.where_device": ("防火墙 {firewall}（{device} {address}）",
                                    "firewall {firewall} ({device} {address})"),
    "probe.firewall.on_device": ("在 {device} 上执行 {command}", "{command} on {device}"),
    "probe.firewall.no_nft": ("{where}：该主机上没有 `nft`（{detail}）；它是 Linux nftables "
                              "防火墙吗？（清单：设备 vendor 为 linux）",
                              "{where}: `nft` is not available there ({detail}); is it a Linux nftables "
                              "firewall? (inventory: device vendor linux)"),
    "probe.firewall.sudo_hint": ("允许登录用户执行 `sudo -n nft list ruleset`",
                                 "allow the login user to run `sudo -n nft list ruleset`"),
    "probe.firewall.root_hint": ("以 root 登录，或设置 firewall.ruleset.sudo=true 并允许 `sudo -n nft`",
                                 "log in as root, or set firewall.ruleset.sudo=true and allow `sudo -n nft`"),
    "probe.firewall.needs_root": ("{where}：读取规则集需要 root 权限（{detail}）；{hint}",
                                  "{where}: reading the ruleset needs root ({detail}); {hint}"),
    "probe.firewall.exited": ("{where}：`{command}` 退出码 {code}：{detail}",
                              "{where}: `{command}` exited {code}: {detail}"),
    "probe.firewall.unreadable": ("{where}：无法解析 `nft list ruleset` 的输出（{error}）",
                                  "{where}: cannot read `nft list ruleset` output ({error})"),
}, recoverable=True)

# argv: timeout_s concurrency addr:port ...  →  one JSON object per line.
CONNECT_SCRIPT = """
import errno, json, socket, sys
from concurrent.futures import ThreadPoolExecutor
timeout, workers = float(sys.argv[1]), int(sys.argv[2])
ICMP = {errno.EHOSTUNREACH: "EHOSTUNREACH", errno.ENETUNREACH: "ENETUNREACH",
        errno.EACCES: "EACCES", errno.EPERM: "EPERM"}
def probe(target):
    address, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((address, int(port)))
        state, detail = "open", "handshake completed"
    except ConnectionRefusedError:
        state, detail = "closed", "ECONNREFUSED"
    except (socket.timeout, TimeoutError):
        state, detail = "filtered", "no answer"
    except OSError as exc:
        state = "rejected" if exc.errno in ICMP else "error"
        detail = ICMP.get(exc.errno) or errno.errorcode.get(exc.errno or 0, str(exc))
    finally:
        s.close()
    return {"address": address, "port": int(port), "proto": "tcp", "state": state, "detail": detail}
with ThreadPoolExecutor(max_workers=workers) as pool:
    for result in pool.map(probe, sys.argv[3:]):
        sys.stdout.write(json.dumps(result) + "\\n")
"""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutsideSettings(_Settings):
    """``probe_settings: firewall.outside_view``."""

    sample_ports: list[PortNumber] = Field(default_factory=lambda: list(SAMPLE_PORTS))
    connect_timeout_s: float = Field(default=2.0, ge=0.2, le=30.0)
    concurrency: int = Field(default=32, ge=1, le=128)
    remote_python: str = "python3"  # interpreter on an SSH vantage host


class OutboundSettings(_Settings):
    """``probe_settings: firewall.outbound``."""

    connect_timeout_s: float = Field(default=2.0, ge=0.2, le=30.0)
    concurrency: int = Field(default=16, ge=1, le=128)


class RulesetSettings(_Settings):
    """``probe_settings: firewall.ruleset``."""

    sudo: bool = False  # run nft through ``sudo -n`` (login user is not root)
    ssh_timeout_s: float = Field(default=20.0, ge=1.0, le=300.0)


def _tcp_ports(entries: Iterable[int | str]) -> list[int]:
    return [int(port_key(e).split("/")[0]) for e in entries if port_key(e).endswith("/tcp")]


def _udp_ports(entries: Iterable[int | str]) -> list[int]:
    return [int(port_key(e).split("/")[0]) for e in entries if port_key(e).endswith("/udp")]


Targets = list[tuple[str, int]]


def outside_targets(fw: Firewall, sample: Sequence[int]) -> tuple[Targets, Targets]:
    """(TCP targets, UDP targets) the outside view tries, as (address, port), sorted."""
    tcp: set[tuple[str, int]] = set()
    udp: set[tuple[str, int]] = set()
    wanted = [*fw.published, *fw.management_ports]
    for address in map(str, fw.outside_addresses):
        tcp.update((address, p) for p in [*_tcp_ports(wanted), *sample])
        udp.update((address, p) for p in _udp_ports(wanted))
    if fw.management_address is not None:
        tcp.update((str(fw.management_address), p) for p in _tcp_ports(fw.management_ports))
        udp.update((str(fw.management_address), p) for p in _udp_ports(fw.management_ports))
    key = lambda t: (ipaddress.IPv4Address(t[0]), t[1])  # noqa: E731
    return sorted(tcp, key=key), sorted(udp, key=key)


def _firewall(inventory: Inventory, firewall_id: str) -> Firewall:
    return next(f for f in inventory.firewalls if f.id == firewall_id)


def _require_scope(inventory: Inventory, addresses: Iterable[str], what: str) -> None:
    outside = sorted({a for a in addresses if not inventory.scope.contains(ipaddress.IPv4Address(a))})
    if outside:
        raise OutOfScope(english("probe.firewall.out_of_scope", what=what, addresses=", ".join(outside)))


def parse_connect_output(text: str, where: str) -> list[ConnectResult]:
    """The connect script's JSON lines; ProbeError naming ``where`` if they are not there."""
    results = []
    for line in text.splitlines():
        try:
            results.append(ConnectResult.model_validate_json(line))
        except ValidationError:
            raise ProbeError(english("probe.firewall.bad_output", where=where,
                                     line=repr(line[:120]))) from None
    return results


def _untested(udp: Iterable[tuple[str, int]]) -> list[ConnectResult]:
    return [ConnectResult(address=a, port=p, proto="udp", state="untested",
                          detail=english("probe.firewall.udp_untested")) for a, p in udp]


def connect_results(raw: str, udp: Iterable[tuple[str, int]], where: str) -> tuple[ConnectResult, ...]:
    """The connect script's results, then the UDP targets it cannot judge (``untested``)."""
    results = parse_connect_output(raw, where)
    _no_route(results, where)
    return (*results, *_untested(udp))


def _no_route(results: list[ConnectResult], where: str) -> None:
    if results and all(r.state == "rejected" and r.detail == "ENETUNREACH" for r in results):
        raise TargetUnreachable(english("probe.firewall.no_route", where=where))


def _script_argv(timeout_s: float, workers: int, targets: Iterable[tuple[str, int]]) -> list[str]:
    return [f"{timeout_s:g}", str(workers), *(f"{a}:{p}" for a, p in targets)]


def _budget(n: int, workers: int, timeout_s: float) -> float:
    return (n // workers + 1) * timeout_s + 15.0


class FirewallOutsideProbe:
    """Which ports on the school's outside and management addresses answer from outside."""

    name: ClassVar[str] = "firewall.outside_view"
    description: ClassVar[str] = "TCP reachability of outside and management addresses from a vantage point"
    settings_model: ClassVar[type[BaseModel]] = OutsideSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, OutsideSettings)
        tasks = []
        for fw in inventory.firewalls:
            addresses = [*fw.outside_addresses, *([fw.management_address] if fw.management_address else [])]
            if fw.vantage is None or not addresses:
                continue
            count = len(outside_targets(fw, settings.sample_ports)[0])
            tasks.append(ProbeTask(
                probe=self.name, target=f"firewall/{fw.id}", address=str(addresses[0]),
                params={"firewall": fw.id, "settings": settings.model_dump()},
                produces=((OUTSIDE_KIND, f"firewall/{fw.id}"),), safety=Safety.ACTIVE,
                estimated_seconds=_budget(count, settings.concurrency, settings.connect_timeout_s) - 15))
        return tasks

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = OutsideSettings.model_validate(task.params["settings"])
        fw = _firewall(ctx.inventory, task.params["firewall"])
        assert fw.vantage is not None
        tcp, udp = outside_targets(fw, s.sample_ports)
        _require_scope(ctx.inventory, {a for a, _ in [*tcp, *udp]},
                       english("probe.firewall.outside_view", firewall=fw.id))
        where = english("probe.firewall.outside_from", firewall=fw.id, vantage=describe_vantage(fw.vantage))
        args = _script_argv(s.connect_timeout_s, s.concurrency, tcp)
        budget = _budget(len(tcp), s.concurrency, s.connect_timeout_s)
        if fw.vantage.netns is not None:
            raw = await _run_in_netns(fw.vantage.netns, args, budget, where)
        else:
            raw = await _run_over_ssh(fw.vantage, s.remote_python, args, budget, ctx, where)
        results = connect_results(raw, udp, where)
        artifact = ctx.evidence.put(f"firewall/{fw.id}-outside.jsonl", raw.encode(), "application/x-ndjson",
                                    english("probe.firewall.outside_evidence",
                                            vantage=describe_vantage(fw.vantage)))
        data = OutsideView(vantage=describe_vantage(fw.vantage), timeout_s=s.connect_timeout_s,
                           results=results)
        return [Fact(OUTSIDE_KIND, task.target, self.name, FactStatus.OK, fact_data(data),
                     artifacts=(artifact.path,))]


def describe_vantage(vantage: Vantage) -> str:
    if vantage.netns is not None:
        return f"netns:{vantage.netns}"
    assert vantage.ssh is not None
    return f"ssh:{vantage.ssh.address}"


async def _run_in_netns(ns: str, args: list[str], budget: float, where: str) -> str:
    if not (NETNS_RUN / ns).exists():
        raise TargetUnreachable(english("probe.firewall.no_netns", where=where, netns=repr(ns)))
    argv = ["ip", "netns", "exec", ns, sys.executable, "-I", "-c", CONNECT_SCRIPT, *args]
    res = await run_tool(argv, budget, where, english("probe.firewall.iproute2"))
    if res.returncode != 0:
        detail = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ProbeError(english("probe.firewall.netns_failed", where=where,
                                 detail=detail[-1] if detail else english("probe.firewall.no_output")))
    return res.stdout.decode("utf-8", "replace")


async def _run_over_ssh(vantage: Vantage, python: str, args: list[str], budget: float, ctx: RunContext,
                        where: str) -> str:
    assert vantage.ssh is not None
    target = vantage.ssh
    creds = Credentials.resolve(target.ssh, ctx.secrets, "vantage.ssh")
    command = shlex.join([python, "-I", "-c", CONNECT_SCRIPT, *args])
    (res,) = await asyncio.to_thread(run_commands, str(target.address), target.ssh.port, creds,
                                     ctx.known_hosts(), [command], budget, "vantage host")
    if res.exit_status == 127:
        raise ProbeError(english("probe.firewall.no_python", where=where, python=python,
                                 host=str(target.address)))
    if res.exit_status != 0:
        detail = res.stderr.strip().splitlines()
        raise ProbeError(english("probe.firewall.ssh_failed", where=where, host=str(target.address),
                                 code=res.exit_status,
                                 detail=detail[-1] if detail else english("probe.firewall.no_output")))
    return res.stdout


class FirewallOutboundProbe:
    """Whether the agent can open TCP connections to forbidden ports beyond the firewall."""

    name: ClassVar[str] = "firewall.outbound"
    description: ClassVar[str] = "TCP connects from the agent to forbidden ports beyond the firewall"
    settings_model: ClassVar[type[BaseModel]] = OutboundSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, OutboundSettings)
        return [
            ProbeTask(probe=self.name, target=f"firewall/{fw.id}", address=str(fw.outbound_probe),
                      params={"firewall": fw.id, "settings": settings.model_dump()},
                      produces=((OUTBOUND_KIND, f"firewall/{fw.id}"),), safety=Safety.ACTIVE,
                      estimated_seconds=settings.connect_timeout_s * 2)
            for fw in inventory.firewalls if fw.outbound_probe is not None and fw.forbidden_outbound
        ]

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = OutboundSettings.model_validate(task.params["settings"])
        fw = _firewall(ctx.inventory, task.params["firewall"])
        address = str(fw.outbound_probe)
        tcp = [(address, p) for p in sorted(set(_tcp_ports(fw.forbidden_outbound)))]
        udp = [(address, p) for p in sorted(set(_udp_ports(fw.forbidden_outbound)))]
        where = english("probe.firewall.outbound_to", firewall=fw.id, address=address)
        args = _script_argv(s.connect_timeout_s, s.concurrency, tcp)
        argv = [sys.executable, "-I", "-c", CONNECT_SCRIPT, *args]
        res = await run_tool(argv, _budget(len(tcp), s.concurrency, s.connect_timeout_s), where, "")
        raw = res.stdout.decode("utf-8", "replace")
        if res.returncode != 0:
            detail = res.stderr.decode("utf-8", "replace").strip()[-200:]
            raise ProbeError(english("probe.firewall.script_failed", where=where, detail=detail))
        results = connect_results(raw, udp, where)
        artifact = ctx.evidence.put(f"firewall/{fw.id}-outbound.jsonl", raw.encode(), "application/x-ndjson",
                                    english("probe.firewall.outbound_evidence", address=address))
        data = OutboundTest(probe_address=address, timeout_s=s.connect_timeout_s, results=results)
        return [Fact(OUTBOUND_KIND, task.target, self.name, FactStatus.OK, fact_data(data),
                     artifacts=(artifact.path,))]


class FirewallRulesetProbe:
    """The nftables ruleset of a Linux firewall, read over SSH."""

    name: ClassVar[str] = "firewall.ruleset"
    description: ClassVar[str] = "nftables ruleset of a Linux boundary firewall (nft list ruleset over SSH)"
    settings_model: ClassVar[type[BaseModel]] = RulesetSettings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, RulesetSettings)
        tasks = []
        for fw in inventory.firewalls:
            device = inventory.device(fw.device) if fw.device else None
            if device is None or device.ssh is None:
                continue
            tasks.append(ProbeTask(
                probe=self.name, target=f"firewall/{fw.id}", address=str(device.address),
                params={"firewall": fw.id, "device": device.id, "settings": settings.model_dump()},
                produces=((RULESET_KIND, f"firewall/{fw.id}"),), safety=Safety.PASSIVE,
                locks=frozenset({f"ssh:{device.address}"}), estimated_seconds=2.0))
        return tasks

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        s = RulesetSettings.model_validate(task.params["settings"])
        fw = _firewall(ctx.inventory, task.params["firewall"])
        device = ctx.inventory.device(task.params["device"])
        assert device.ssh is not None
        creds = Credentials.resolve(device.ssh, ctx.secrets, f"devices[{device.id}].ssh")
        sudo = "sudo -n " if s.sudo else ""
        commands = [f"{sudo}nft -j list ruleset", f"{sudo}nft -a list ruleset"]
        where = english("probe.firewall.where_device", firewall=fw.id, device=device.id,
                        address=str(device.address))
        js, text = await asyncio.to_thread(run_commands, str(device.address), device.ssh.port, creds,
                                           ctx.known_hosts(), commands, s.ssh_timeout_s,
                                           f"firewall {device.id}")
        _require_ok(text, where, s.sudo)
        artifacts = [ctx.evidence.put(f"firewall/{fw.id}-ruleset.txt", text.stdout.encode(), "text/plain",
                                      english("probe.firewall.on_device", command=commands[1],
                                              device=device.id)).path]
        ruleset, source = _parse(js, text, where)
        if source == "json":
            artifacts.insert(0, ctx.evidence.put(f"firewall/{fw.id}-ruleset.json", js.stdout.encode(),
                                                 "application/json",
                                                 english("probe.firewall.on_device", command=commands[0],
                                                         device=device.id)).path)
        return [Fact(RULESET_KIND, task.target, self.name, FactStatus.OK,
                     fact_data(ruleset_data(device.id, ruleset)), artifacts=tuple(artifacts))]


def ruleset_data(device: str, ruleset: NftRuleset) -> Ruleset:
    """The ``firewall.ruleset`` data of a parsed ruleset: its input and forward filter chains."""
    return Ruleset.model_validate({
        "device": device, "source": ruleset.source, "chains": filter_summary(ruleset),
        "tables": sorted({f"{c.family} {c.table}" for c in ruleset.chains})})


def _require_ok(res: CommandResult, where: str, sudo: bool) -> None:
    if res.exit_status == 0:
        return
    err = res.stderr.strip().splitlines()
    detail = err[-1] if err else english("probe.firewall.no_output")
    if res.exit_status == 127 or "not found" in detail:
        raise ProbeError(english("probe.firewall.no_nft", where=where, detail=detail))
    if "not permitted" in detail.lower() or "password" in detail.lower():
        hint = english("probe.firewall.sudo_hint" if sudo else "probe.firewall.root_hint")
        raise ProbeError(english("probe.firewall.needs_root", where=where, detail=detail, hint=hint))
    raise ProbeError(english("probe.firewall.exited", where=where, command=res.command, code=res.exit_status,
                             detail=detail))


def _parse(js: CommandResult, text: CommandResult, where: str) -> tuple[NftRuleset, str]:
    try:
        from_text = parse_nft_text(text.stdout)
    except NftParseError as exc:
        raise ProbeError(english("probe.firewall.unreadable", where=where, error=str(exc))) from None
    if js.exit_status == 0:
        try:
            return with_text_lines(parse_nft_json(js.stdout), from_text), "json"
        except (NftParseError, KeyError, TypeError):
            pass  # an nft without usable JSON output: the text listing is enough
    return from_text, "text"
