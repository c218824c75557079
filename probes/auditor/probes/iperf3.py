"""Bandwidth probe: TCP goodput of the uplink and of every classroom link, with the iperf3 CLI.

The ``iperf3`` CLI's ``--json`` output is used rather than the libiperf Python wrapper: the
wrapper needs libiperf and runs the test in-process, so a hung test cannot be killed; a child
process can be, and its JSON is the raw evidence kept for the assessor.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import psutil
from pydantic import BaseModel, ConfigDict, Field

from auditor.context import RunContext
from auditor.errors import ProbeError, TargetBusy, TargetUnreachable
from auditor.facts import AgentNic, FactKind, Goodput, GoodputRun, fact_data
from auditor.inventory import Inventory, Iperf3Endpoint
from auditor.messages import define, english
from auditor.model import Artifact, Fact, FactStatus, Safety
from auditor.plugins import ProbeTask
from auditor.probes._proc import run_tool
from auditor.probes.parsers.iperf3_json import (
    Iperf3Failure,
    Iperf3ParseError,
    Iperf3Run,
    parse_iperf3_json,
)

KIND = FactKind.BANDWIDTH_GOODPUT
Direction = Literal["downstream", "upstream"]
BOTH: tuple[Direction, ...] = ("downstream", "upstream")
INSTALL = "install it: apt-get install iperf3"

define({
    "probe.iperf3.server_failed": ("iperf3 服务器 {server}：{reply}", "iperf3 server {server}: {reply}"),
    "probe.iperf3.busy": ("iperf3 服务器 {server} 尝试 {n} 次均忙（另有测试在进行），请稍后再试",
                          "iperf3 server {server} stayed busy (another test was running) after {n} "
                          "attempts; try again later"),
    "probe.iperf3.failed_n": ("iperf3 服务器 {server} 连续 {n} 次失败；最后一次：{reply}",
                              "iperf3 server {server} failed {n} times in a row; last: {reply}"),
    "probe.iperf3.unreadable": ("iperf3 到 {server} 的输出无法解析（{reply}）",
                                "iperf3 to {server} gave unreadable output ({reply})"),
    "probe.iperf3.evidence": ("iperf3 JSON 输出，{target}，第 {run} 次：{command}",
                              "iperf3 --json output, {target}, run {run}: {command}"),
    "probe.iperf3.evidence_retry": ("iperf3 JSON 输出，{target}，第 {run} 次第 {attempt} 遍：{command}",
                                    "iperf3 --json output, {target}, run {run} attempt {attempt}: {command}"),
    "probe.iperf3.slow_nic": ("审计代理的网卡 {interface} 速率 {speed} Mbit/s，"
                              "低于被测链路的 {expected} Mbit/s",
                              "the agent's NIC {interface} runs at {speed} Mbit/s, slower than the "
                              "{expected} Mbit/s link under test"),
    "probe.iperf3.agent_cpu": ("第 {run} 次：审计代理的 iperf3 CPU 占用 {pct:.0f}%"
                               "（已饱和，上限 {limit:.0f}%）",
                               "run {run}: agent's iperf3 CPU at {pct:.0f}% (saturated, limit {limit:.0f}%)"),
    "probe.iperf3.server_cpu": ("第 {run} 次：服务器的 iperf3 CPU 占用 {pct:.0f}%"
                                "（已饱和，上限 {limit:.0f}%）",
                                "run {run}: server's iperf3 CPU at {pct:.0f}% (saturated, "
                                "limit {limit:.0f}%)"),
    "probe.iperf3.agent_busy": ("第 {run} 次：审计代理的 CPU 忙碌 {pct:.0f}%（上限 {limit:.0f}%）",
                                "run {run}: the agent's CPUs were {pct:.0f}% busy (limit {limit:.0f}%)"),
}, recoverable=True)


class Iperf3Settings(BaseModel):
    """Settings of the bandwidth probe (profile ``probe_settings: iperf3.bandwidth``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    binary: str = "iperf3"
    duration_s: int = Field(default=5, ge=1, le=60)
    omit_s: int = Field(default=1, ge=0, le=10)
    runs: int = Field(default=3, ge=1, le=9)
    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    timeout_margin_s: float = Field(default=10.0, gt=0, le=120)
    busy_retries: int = Field(default=3, ge=0, le=10)  # retries of transient failures (busy, reset)
    busy_backoff_s: float = Field(default=2.0, ge=0, le=60)
    cpu_saturation_pct: float = Field(default=90.0, gt=0, le=100)
    uplink_directions: list[Direction] = Field(default_factory=lambda: list(BOTH))
    classroom_directions: list[Direction] = Field(default_factory=lambda: list(BOTH))


def _task(
    link: str, target: str, ep: Iperf3Endpoint, direction: Direction, expected: int,
    settings: Iperf3Settings,
) -> ProbeTask:
    # The agent sits at the school's core: for the uplink "downstream" (towards the school)
    # means the far server sends (-R); for a classroom it means the agent sends.
    reverse = (direction == "downstream") == (link == "uplink")
    subject = f"{link}/{target}/{direction}"
    return ProbeTask(
        probe=Iperf3BandwidthProbe.name,
        target=subject,
        address=str(ep.address),
        params={
            "link": link, "target": target, "direction": direction, "reverse": reverse,
            "port": ep.port, "expected_mbps": expected, "settings": settings.model_dump(),
        },
        produces=((KIND, subject),),
        safety=Safety.BANDWIDTH,
        locks=frozenset({f"iperf3-server:{ep.address}:{ep.port}",
                         f"bottleneck:{ep.bottleneck or 'default'}"}),
        estimated_seconds=settings.runs * (settings.duration_s + settings.omit_s + 0.5),
    )


class Iperf3BandwidthProbe:
    """TCP goodput (median of several iperf3 runs) per link and direction."""

    name: ClassVar[str] = "iperf3.bandwidth"
    description: ClassVar[str] = (
        "TCP goodput of the uplink and every classroom link with iperf3 (median of runs)"
    )
    settings_model: ClassVar[type[BaseModel]] = Iperf3Settings

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        assert isinstance(settings, Iperf3Settings)
        tasks: list[ProbeTask] = []
        if inventory.uplink:
            for ep in inventory.uplink.endpoints:
                for d in settings.uplink_directions:
                    tasks.append(_task("uplink", ep.id, ep, d, inventory.uplink.rate_mbps, settings))
        for room in inventory.classrooms:
            if room.endpoint is None:
                continue
            for d in settings.classroom_directions:
                tasks.append(_task("classroom", room.id, room.endpoint, d, room.rate_mbps, settings))
        return tasks

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        settings = Iperf3Settings.model_validate(task.params["settings"])
        measurement = _Measurement(task, settings, ctx)
        try:
            data = await measurement.measure()
        except ProbeError as exc:
            return [Fact(KIND, task.target, self.name, FactStatus.ERROR, error=str(exc),
                         artifacts=tuple(a.path for a in measurement.artifacts))]
        return [Fact(KIND, task.target, self.name, FactStatus.OK, data=fact_data(data),
                     artifacts=tuple(a.path for a in measurement.artifacts))]


class _Measurement:
    """The runs of one task, the evidence they leave, and their validity."""

    def __init__(self, task: ProbeTask, settings: Iperf3Settings, ctx: RunContext) -> None:
        self.task, self.settings, self.ctx = task, settings, ctx
        self.artifacts: list[Artifact] = []
        p = task.params
        self.where = f"{task.net_address}:{p['port']}"
        self.argv = [
            settings.binary, "-c", task.net_address, "-p", str(p["port"]),
            "-t", str(settings.duration_s), "-O", str(settings.omit_s), "--json",
            "--connect-timeout", str(int(settings.connect_timeout_s * 1000)),
        ] + (["-R"] if p["reverse"] else [])

    async def measure(self) -> Goodput:
        nic = await _agent_nic(self.task.net_address, self.ctx.inventory.agent.interface)
        runs: list[GoodputRun] = []
        cpu_samples: list[float] = []
        active: set[str] = self.ctx.shared_client("bandwidth-tests-running", set)
        overlapped: set[str] = set()
        active.add(self.task.target)
        try:
            for index in range(1, self.settings.runs + 1):
                before = psutil.cpu_times()
                overlapped |= active
                run, artifact, rtt = await self._one_run(index)
                overlapped |= active
                cpu_samples.append(_busy_pct(before, psutil.cpu_times()))
                runs.append(_run_record(run, artifact, rtt))
                self.ctx.tool_versions.setdefault("iperf3", run.version)
        finally:
            active.discard(self.task.target)
        return summary(self.task, self.settings, self.argv, runs, nic, cpu_samples,
                       sorted(overlapped - {self.task.target}))

    async def _one_run(self, index: int) -> tuple[Iperf3Run, Artifact, Rtt | None]:
        s = self.settings
        timeout = s.duration_s + s.omit_s + s.connect_timeout_s + s.timeout_margin_s
        failure: Iperf3Failure | None = None
        for attempt in range(s.busy_retries + 1):
            res = await run_tool(self.argv, timeout, f"iperf3 to {self.where}", INSTALL)
            artifact = self._store(res.stdout or res.stderr, index, attempt)
            outcome = self._parse(res.stdout, res.stderr)
            if isinstance(outcome, Iperf3Run):
                return outcome, artifact, sender_rtt(res.stdout.decode("utf-8", "replace"))
            failure = outcome
            if outcome.refused and attempt == 0:
                # iperf3 -s closes and reopens its listening socket after each test, so a run that
                # starts right after the previous one can be refused: one quick second try.
                await asyncio.sleep(1.0)
                continue
            if not outcome.transient:
                raise TargetUnreachable(english("probe.iperf3.server_failed", server=self.where,
                                                reply=outcome.message))
            if attempt < s.busy_retries:
                await asyncio.sleep(s.busy_backoff_s * (attempt + 1) * random.uniform(0.5, 1.5))  # noqa: S311
        assert failure is not None
        if failure.busy:
            raise TargetBusy(english("probe.iperf3.busy", server=self.where, n=s.busy_retries + 1))
        raise TargetUnreachable(english("probe.iperf3.failed_n", server=self.where, n=s.busy_retries + 1,
                                        reply=failure.message))

    def _parse(self, stdout: bytes, stderr: bytes) -> Iperf3Run | Iperf3Failure:
        try:
            return parse_iperf3_json(stdout.decode("utf-8", "replace"))
        except Iperf3ParseError as exc:
            detail = stderr.decode("utf-8", "replace").strip()[:200]
            raise ProbeError(english("probe.iperf3.unreadable", server=self.where,
                                     reply=f"{exc} {detail}".strip())) from None

    def _store(self, data: bytes, index: int, attempt: int) -> Artifact:
        suffix = f"-try{attempt + 1}" if attempt else ""
        artifact = self.ctx.evidence.put(
            f"iperf3/{self.task.target.replace('/', '-')}-run{index}{suffix}.json",
            data, "application/json",
            english("probe.iperf3.evidence_retry", target=self.task.target, run=index,
                    attempt=attempt + 1, command=" ".join(self.argv)) if attempt else
            english("probe.iperf3.evidence", target=self.task.target, run=index,
                    command=" ".join(self.argv)),
        )
        self.artifacts.append(artifact)
        return artifact


def summary(task: ProbeTask, s: Iperf3Settings, argv: list[str], runs: list[GoodputRun], nic: AgentNic,
            cpu: list[float], overlapping: list[str]) -> Goodput:
    """The ``bandwidth.goodput`` data of one task's runs: median, spread, and whether it is valid."""
    p = task.params
    goodputs = [r.goodput_mbps for r in runs]
    reasons = _invalid_reasons(runs, nic, cpu, p["expected_mbps"], s.cpu_saturation_pct)
    retrans = [r.retransmits for r in runs]
    rtts = [r.rtt_ms for r in runs if r.rtt_ms is not None]
    return Goodput(
        link=p["link"], target=p["target"], direction=p["direction"],
        server=f"{task.net_address}:{p['port']}", reverse_mode=p["reverse"], command=" ".join(argv),
        duration_s=s.duration_s, omit_s=s.omit_s, runs=tuple(runs),
        median_mbps=round(statistics.median(goodputs), 3),
        min_mbps=round(min(goodputs), 3), max_mbps=round(max(goodputs), 3),
        expected_link_mbps=p["expected_mbps"], agent_nic=nic, agent_cpu_pct=tuple(round(c, 1) for c in cpu),
        valid=not reasons, invalid_reasons=tuple(reasons), overlapping_tests=tuple(overlapping),
        # a sum over some of the runs would understate: None unless every run reported its count
        retransmits=None if any(n is None for n in retrans) else sum(n for n in retrans if n is not None),
        rtt_ms=round(statistics.fmean(rtts), 3) if rtts else None,
    )


@dataclass(frozen=True)
class Rtt:
    """The sender's round-trip time over one iperf3 run (ms)."""

    mean_ms: float
    min_ms: float | None
    max_ms: float | None


def _micros(value: Any) -> float | None:
    """A positive number of microseconds, else None (iperf3 writes 0 for "no samples")."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def sender_rtt(text: str) -> Rtt | None:
    """The sender's round-trip time of one ``iperf3 --json`` run, when the client was the sender.

    iperf3 samples the kernel's smoothed RTT (Linux ``tcpi_rtt``) of each stream it *sends* on and
    writes ``max_rtt``, ``min_rtt`` and ``mean_rtt`` (µs) in ``end.streams[].sender``. With ``-R``
    the client only receives: it has no samples, the server's are not sent back, and iperf3 3.12
    writes 0 for all three (``tests/data/iperf3/uplink-downstream-reverse.json``); a sender that
    cannot read the RTT (not Linux) writes neither them nor ``retransmits``. So only a stream the
    client sent on (its ``sender`` flag, or without the flag a test that was not ``-R``) with a
    positive ``mean_rtt`` counts: the mean of those streams' means, the lowest minimum and the
    highest maximum. Anything else is None, never 0.
    """
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("end"), dict):
        return None
    start = doc.get("start")
    test = start.get("test_start") if isinstance(start, dict) else None
    reverse = bool(test.get("reverse", 0)) if isinstance(test, dict) else False
    means: list[float] = []
    mins: list[float] = []
    maxs: list[float] = []
    streams = doc["end"].get("streams")
    for stream in streams if isinstance(streams, list) else []:
        sent = stream.get("sender") if isinstance(stream, dict) else None
        if not isinstance(sent, dict) or sent.get("sender", not reverse) is not True:
            continue
        mean = _micros(sent.get("mean_rtt"))
        if mean is None:
            continue
        means.append(mean)
        mins += [v for v in (_micros(sent.get("min_rtt")),) if v is not None]
        maxs += [v for v in (_micros(sent.get("max_rtt")),) if v is not None]
    if not means:
        return None
    return Rtt(mean_ms=round(statistics.fmean(means) / 1000, 3),
               min_ms=round(min(mins) / 1000, 3) if mins else None,
               max_ms=round(max(maxs) / 1000, 3) if maxs else None)


def _busy_pct(before: Any, after: Any) -> float:
    """System-wide CPU busy % between two ``psutil.cpu_times()`` snapshots.

    Snapshots per measurement, not ``psutil.cpu_percent(interval=None)``: that keeps one
    module-wide baseline, which concurrent measurements would reset for each other.
    """
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0))
    return 0.0 if total <= 0 else max(0.0, min(100.0, 100.0 * (1 - idle / total)))


def _run_record(run: Iperf3Run, artifact: Artifact, rtt: Rtt | None = None) -> GoodputRun:
    return GoodputRun(
        goodput_mbps=round(run.goodput_bps / 1e6, 3),
        sender_mbps=round(run.sender_bps / 1e6, 3),
        seconds=round(run.duration_s, 3),
        retransmits=run.retransmits,
        host_cpu_pct=None if run.host_cpu_pct is None else round(run.host_cpu_pct, 1),
        remote_cpu_pct=None if run.remote_cpu_pct is None else round(run.remote_cpu_pct, 1),
        artifact=artifact.path,
        rtt_ms=None if rtt is None else rtt.mean_ms,
        rtt_min_ms=None if rtt is None else rtt.min_ms,
        rtt_max_ms=None if rtt is None else rtt.max_ms,
    )


def _invalid_reasons(runs: list[GoodputRun], nic: AgentNic, cpu: list[float], expected: int,
                     limit: float) -> list[str]:
    reasons: list[str] = []
    speed = nic.speed_mbps
    if 0 < speed < expected:
        reasons.append(english("probe.iperf3.slow_nic", interface=nic.name, speed=speed,
                               expected=expected))
    for i, r in enumerate(runs, 1):
        for pct, key in ((r.host_cpu_pct, "probe.iperf3.agent_cpu"),
                         (r.remote_cpu_pct, "probe.iperf3.server_cpu")):
            if pct is not None and pct >= limit:
                reasons.append(english(key, run=i, pct=pct, limit=limit))
    for i, c in enumerate(cpu, 1):
        if c >= limit:
            reasons.append(english("probe.iperf3.agent_busy", run=i, pct=c, limit=limit))
    return reasons


async def _agent_nic(address: str, pinned: str | None) -> AgentNic:
    """The agent interface that routes to ``address``, and its link speed (0 = unknown)."""
    name = pinned
    if name is None:
        try:
            proc = await asyncio.create_subprocess_exec(
                "ip", "-j", "route", "get", address,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=5)
            routes = json.loads(out or b"[]")
            name = routes[0].get("dev") if routes else None
        except (OSError, ValueError, TimeoutError, IndexError, AttributeError):
            name = None
    stats = psutil.net_if_stats().get(name) if name else None
    return AgentNic(name=name, speed_mbps=stats.speed if stats else 0)
