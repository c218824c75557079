"""The pipeline: plan probe tasks, run them safely, evaluate checks, derive indicators."""

from __future__ import annotations

import asyncio
import difflib
import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import rfc8785
from pydantic import BaseModel, ValidationError

from auditor.attest import Attestation
from auditor.context import RunContext
from auditor.errors import AuditorError, InputError
from auditor.inventory import Inventory, Schedule
from auditor.messages import define, english, msg
from auditor.model import (
    Fact,
    FactStatus,
    Finding,
    IndicatorResult,
    Safety,
    Severity,
    Status,
)
from auditor.plugins import CheckContext, FactIndex, Plugins, ProbeTask
from auditor.profile import CheckRef, LoadedProfile
from auditor.scoring import ItemInputs, ProfileScore, evaluate_item, score_profile, valid_attestations
from auditor.timetable import in_class_hours, next_free_window
from auditor.waivers import Waiver
from auditor.yamlsrc import format_loc

# What the engine says about a task it refused, deferred or lost, in both languages (read back
# from the fact's English ``error`` by the checks, as the probes' reasons are).
define({
    "engine.refused_scope": (
        "已拒绝：{address} 不在资产清单的扫描范围（scope.allow：{allowed}）内；"
        "如属于本校网络，请将其网段加入 scope.allow",
        "refused: {address} is outside the inventory's scope allow-list ({allowed}); add its network "
        "to scope.allow if it belongs to the school"),
    "engine.deferred": (
        "已推迟：上课时间（{period}）不做带宽测试；下一个空闲时段从 {time}（{zone}）开始；"
        "请届时运行，或加 --allow-class-hours",
        "deferred: bandwidth tests do not run during class hours ({period}); the next free window "
        "starts {time} ({zone}); run then, or pass --allow-class-hours"),
    "engine.deferred_no_window": (
        "已推迟：上课时间（{period}）不做带宽测试；一年内没有空闲时段；"
        "请调整作息时间表，或加 --allow-class-hours",
        "deferred: bandwidth tests do not run during class hours ({period}); no free window within a "
        "year; run then, or pass --allow-class-hours"),
    "engine.probe_timeout": ("探测 {probe} 未在 {limit:.0f} 秒内完成",
                             "probe {probe} did not finish within {limit:.0f} s"),
    "engine.probe_internal": ("探测 {probe} 内部错误：{reply}", "internal error in probe {probe}: {reply}"),
    "engine.no_result": ("探测未返回结果", "probe returned no result"),
}, recoverable=True)
define({"engine.check_internal": ("检查内部错误：{reply}", "internal error in check: {reply}")})


@dataclass(frozen=True)
class RunOptions:
    """Choices made on the command line for one run."""

    allow_class_hours: bool = False
    concurrency: int = 4
    attestations: Path | None = None  # attestation store; None: none are used
    waivers: Path | None = None
    probe_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    now: datetime | None = None
    formats: tuple[str, ...] = ("html", "md")  # renderers (``--format``); see bundle.select_renderers
    lang: str = "zh"  # language of the human renderings


@dataclass(frozen=True)
class PlannedTask:
    """A task and, if it will not run, why (status and reason)."""

    task: ProbeTask
    refusal: tuple[FactStatus, str] | None = None


@dataclass(frozen=True)
class CheckRun:
    """One evaluation of a check with concrete parameters (shared by indicators that agree)."""

    check: str
    params: BaseModel

    @property
    def key(self) -> str:
        params = rfc8785.dumps(self.params.model_dump(mode="json")).decode()
        return f"{self.check}{params}"


@dataclass(frozen=True)
class ItemChecks:
    """The check runs an item relies on, and any tailoring that weakened a bound."""

    keys: tuple[str, ...]
    weakened: tuple[str, ...] = ()


@dataclass
class Plan:
    tasks: list[PlannedTask]
    settings: dict[str, BaseModel]
    check_runs: dict[str, CheckRun]
    items: dict[tuple[str, str], ItemChecks] = field(default_factory=dict)


def _settings(
    profiles: Sequence[LoadedProfile], plugins: Plugins, options: RunOptions, needed: set[str]
) -> dict[str, BaseModel]:
    settings: dict[str, BaseModel] = {}
    for name in sorted(needed):
        probe = plugins.probes.get(name)
        merged: dict[str, Any] = {}
        for lp in profiles:
            merged.update(lp.profile.probe_settings.get(name, {}))
        merged.update(options.probe_overrides.get(name, {}))
        try:
            settings[name] = probe.settings_model.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = format_loc([p for p in first["loc"] if isinstance(p, int | str)])
            raise InputError(
                f"probe settings for {name}: {where}: {first['msg']} "
                f"(from the profile's probe_settings or --set)"
            ) from None
    return settings


def check_probe_setting(plugins: Plugins, probe: str, key: str, value: Any, origin: str) -> None:
    """Refuse an override of a probe setting before anything is planned: a probe that is not
    installed, a setting its ``settings_model`` does not have, or a value that setting rejects
    (type or bounds). ``origin`` names where it came from (``--set 'iperf3.bandwidth.runs=1'``)
    and starts the one-line message, which suggests the nearest valid name."""
    if probe not in plugins.probes:
        near = difflib.get_close_matches(probe, plugins.probes.names(), n=1)
        hint = f"did you mean {near[0]}?" if near else "'auditor probes' lists the installed probes"
        raise InputError(f"{origin}: no probe {probe!r} is installed; {hint}")
    model = plugins.probes.get(probe).settings_model
    fields = model.model_fields
    names = sorted({*fields, *(f.alias for f in fields.values() if isinstance(f.alias, str))})
    if key not in names:
        near = difflib.get_close_matches(key, names, n=1)
        hint = f"did you mean {near[0]}?" if near else f"its settings are {', '.join(names)}"
        raise InputError(f"{origin}: probe {probe} has no setting {key!r}; {hint}")
    try:
        model.model_validate({key: value})
    except ValidationError as exc:
        # Judge this setting alone: other fields' errors (a required one not given here) and the
        # model's own cross-field rules are judged on the merged settings when the run is planned.
        errors = [e for e in exc.errors() if e["loc"][:1] == (key,)]
        if errors:
            first = errors[0]
            where = format_loc([p for p in first["loc"] if isinstance(p, int | str)])
            shown = repr(first.get("input"))
            got = f" (got {shown})" if "input" in first and len(shown) <= 60 else ""
            raise InputError(f"{origin}: {probe}.{where}: {first['msg']}{got}; "
                             "give a value this setting accepts") from None


def _tailored(inventory: Inventory, profile: str, item: str,
              ref: CheckRef) -> tuple[dict[str, Any], list[str]]:
    """The check's params after the site's tailoring, and the bounds that tailoring crossed."""
    params = dict(ref.params)
    weakened: list[str] = []
    for t in inventory.tailoring:
        if (t.profile, t.item, t.check) != (profile, item, ref.check):
            continue
        params.update(t.params)
        for key, value in t.params.items():
            bound = ref.bounds.get(key)
            if bound is not None and isinstance(value, int | float) and bound.violated_by(value):
                weakened.append(f"{ref.check} {key}={value:g} (the standard requires {bound.describe()};"
                                f" site reason: {t.reason})")
    return params, weakened


def _check_runs(inventory: Inventory, profiles: Sequence[LoadedProfile],
                plugins: Plugins) -> tuple[dict[str, CheckRun], dict[tuple[str, str], ItemChecks]]:
    runs: dict[str, CheckRun] = {}
    items: dict[tuple[str, str], ItemChecks] = {}
    for lp in profiles:
        for _chain, item in lp.profile.walk_items():
            keys, weakened = [], []
            for ref in item.checks:
                params, crossed = _tailored(inventory, lp.profile.id, item.id, ref)
                run = _check_run(lp, item.id, ref.check, params, plugins)
                runs.setdefault(run.key, run)
                keys.append(run.key)
                weakened += crossed
            items[(lp.profile.id, item.id)] = ItemChecks(tuple(keys), tuple(weakened))
    _check_tailoring_targets(inventory, profiles)
    return runs, items


def _check_tailoring_targets(inventory: Inventory, profiles: Sequence[LoadedProfile]) -> None:
    for i, t in enumerate(inventory.tailoring):
        lp = next((lp for lp in profiles if lp.profile.id == t.profile), None)
        if lp is None:
            continue  # tailoring for a profile not evaluated in this run
        item = lp.profile.item(t.item)
        if item is None or t.check not in {ref.check for ref in item.checks}:
            raise InputError(
                f"inventory tailoring[{i}]: profile {t.profile} has no item {t.item!r} with check "
                f"{t.check!r}")


def _check_run(lp: LoadedProfile, item: str, check_id: str, params: dict[str, Any],
               plugins: Plugins) -> CheckRun:
    if check_id not in plugins.checks:
        raise InputError(
            f"profile {lp.origin}: item {item}: unknown check {check_id!r} "
            f"(installed: {', '.join(plugins.checks.names())})"
        )
    check = plugins.checks.get(check_id)
    try:
        model = check.params_model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            f"profile {lp.origin}: item {item}: check {check_id} params: "
            f"{format_loc([p for p in first['loc'] if isinstance(p, int | str)])}: {first['msg']}"
        ) from None
    return CheckRun(check_id, model)


def _refusal(
    task: ProbeTask, inventory: Inventory, options: RunOptions, now: datetime
) -> tuple[FactStatus, str] | None:
    address = ipaddress.IPv4Address(task.address) if task.address is not None else None
    if address is not None and not inventory.scope.contains(address):
        allowed = ", ".join(str(n) for n in inventory.scope.allow)
        return (
            FactStatus.ERROR,
            english("engine.refused_scope", address=str(address), allowed=allowed),
        )
    if task.safety is Safety.BANDWIDTH and not options.allow_class_hours:
        period = in_class_hours(inventory.schedule, now)
        if period:
            return FactStatus.SKIPPED, _deferred(inventory.schedule, period, now)
    return None


def _deferred(schedule: Schedule, period: str, now: datetime) -> str:
    free = next_free_window(schedule, now)
    if free is None:
        return english("engine.deferred_no_window", period=period)
    return english("engine.deferred", period=period, time=f"{free:%Y-%m-%d %H:%M}",
                   zone=schedule.timezone)


def make_plan(
    inventory: Inventory,
    profiles: Sequence[LoadedProfile],
    plugins: Plugins,
    options: RunOptions,
) -> Plan:
    """Decide which probe tasks run against which targets, and which are refused and why."""
    check_runs, items = _check_runs(inventory, profiles, plugins)
    needed = {p for run in check_runs.values() for p in plugins.checks.get(run.check).meta.requires}
    missing = sorted(n for n in needed if n not in plugins.probes)
    if missing:
        raise InputError(f"the profile needs probes that are not installed: {', '.join(missing)}")
    settings = _settings(profiles, plugins, options, needed)
    now = options.now or datetime.now().astimezone()
    tasks: list[PlannedTask] = []
    for name in sorted(needed):
        for task in plugins.probes.get(name).plan(inventory, settings[name]):
            tasks.append(PlannedTask(task, _refusal(task, inventory, options, now)))
    return Plan(tasks, settings, check_runs, items)


TaskCallback = Callable[[ProbeTask, str], None]


async def _run_task(
    planned: PlannedTask,
    plugins: Plugins,
    ctx: RunContext,
    locks: dict[str, asyncio.Lock],
    slots: asyncio.Semaphore,
    on_event: TaskCallback,
) -> list[Fact]:
    task = planned.task
    if planned.refusal is not None:
        on_event(task, "refused")
        return task.failed(*planned.refusal)
    held: list[asyncio.Lock] = []
    try:
        for name in sorted(task.locks):  # one global order: no deadlock
            lock = locks.setdefault(name, asyncio.Lock())
            await lock.acquire()
            held.append(lock)
        async with slots:
            on_event(task, "start")
            started = time.monotonic()
            facts = await _guarded(task, plugins, ctx)
            ctx.task_seconds[f"{task.probe} {task.target}"] = round(time.monotonic() - started, 3)
    finally:
        for lock in reversed(held):
            lock.release()
    on_event(task, "done")
    return _complete(task, facts)


async def _guarded(task: ProbeTask, plugins: Plugins, ctx: RunContext) -> list[Fact]:
    probe = plugins.probes.get(task.probe)
    limit = task.estimated_seconds * 3 + 30
    try:
        return await asyncio.wait_for(probe.run(task, ctx), timeout=limit)
    except AuditorError as exc:
        return task.failed(FactStatus.ERROR, ctx.secrets.mask(str(exc)))
    except TimeoutError:
        return task.failed(FactStatus.ERROR, english("engine.probe_timeout", probe=task.probe, limit=limit))
    except Exception as exc:  # a bug in one probe must not stop the audit
        reason = english("engine.probe_internal", probe=task.probe, reply=f"{type(exc).__name__}: {exc}")
        return task.failed(FactStatus.ERROR, ctx.secrets.mask(reason))


def _complete(task: ProbeTask, facts: list[Fact]) -> list[Fact]:
    got = {(f.kind, f.subject) for f in facts}
    for kind, subject in task.produces:
        if (kind, subject) not in got:
            facts.append(
                Fact(kind, subject, task.probe, FactStatus.ERROR, error=english("engine.no_result"))
            )
    return facts


async def execute(
    plan: Plan, plugins: Plugins, ctx: RunContext, concurrency: int, on_event: TaskCallback
) -> FactIndex:
    """Run every planned task. Tasks sharing a lock never overlap; the rest run concurrently."""
    locks: dict[str, asyncio.Lock] = {}
    slots = asyncio.Semaphore(concurrency)
    # Reads (SNMP gets, SSH show commands) have their own bounded pool, so auditing many
    # devices neither waits behind scans nor floods the management network.
    device_pool = ctx.inventory.agent.device_concurrency
    reads = asyncio.Semaphore(device_pool)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=concurrency + device_pool + 2,
                                                 thread_name_prefix="probe"))
    results = await asyncio.gather(
        *(_run_task(p, plugins, ctx, locks, reads if p.task.safety is Safety.PASSIVE else slots, on_event)
          for p in plan.tasks)
    )
    index = FactIndex()
    for facts in results:
        for fact in facts:
            index.add(fact)
    return index


def evaluate_checks(
    plan: Plan, plugins: Plugins, inventory: Inventory, facts: FactIndex
) -> dict[str, list[Finding]]:
    """Run every check once per distinct parameter set. A crashing check yields an error."""
    out: dict[str, list[Finding]] = {}
    for key, run in plan.check_runs.items():
        check = plugins.checks.get(run.check)
        try:
            out[key] = check.evaluate(CheckContext(inventory, facts, run.params))
        except Exception as exc:  # a bug in one check must not stop the report
            out[key] = [
                Finding(
                    check=run.check,
                    target="*",
                    status=Status.ERROR,
                    severity=check.meta.severity,
                    message=msg("engine.check_internal", reply=f"{type(exc).__name__}: {exc}"),
                )
            ]
    return out


def number_findings(findings: dict[str, list[Finding]]) -> dict[str, list[Finding]]:
    """Give every finding a report-wide id (``F0001`` ...), in check-run order."""
    out: dict[str, list[Finding]] = {}
    n = 0
    for key, group in findings.items():
        numbered = []
        for f in group:
            n += 1
            numbered.append(replace(f, id=f"F{n:04d}"))
        out[key] = numbered
    return out


def derive_indicators(
    profiles: Sequence[LoadedProfile], plan: Plan, findings: dict[str, list[Finding]],
    attestations: Sequence[Attestation], today: date, waivers: Sequence[Waiver] = (),
) -> list[IndicatorResult]:
    """Each item's status from its checks' findings, tailoring, attestations and waivers."""
    results: list[IndicatorResult] = []
    for lp in profiles:
        prof = lp.profile
        for chain, item in prof.walk_items():
            checks = plan.items[(prof.id, item.id)]
            inputs = ItemInputs(
                findings=[f for k in checks.keys for f in findings.get(k, [])],
                weakened=checks.weakened,
                attestations=valid_attestations(attestations, prof.id, item.id, today),
                waiver=next((w for w in waivers if w.covers_item(prof.id, item.id)), None),
            )
            result = evaluate_item(prof, chain, item, inputs)
            results.append(replace(result, findings=tuple(f.id for f in inputs.findings)))
    return results


def score(profiles: Sequence[LoadedProfile], results: Sequence[IndicatorResult],
          attestations: Sequence[Attestation], today: date) -> list[ProfileScore]:
    """Points for every profile scored by deduction."""
    out = []
    for lp in profiles:
        overrides = {g.id: valid_attestations(attestations, lp.profile.id, g.id, today)
                     for _p, g in lp.profile.walk_groups() if g.override_rule}
        scored = score_profile(lp.profile, results, overrides)
        if scored is not None:
            out.append(scored)
    return out


def exit_status(findings: dict[str, list[Finding]]) -> int:
    """0 when every finding passed (or does not apply); 1 otherwise."""
    ok = {Status.PASS, Status.NOT_APPLICABLE}
    every = [f for fs in findings.values() for f in fs]
    return 0 if every and all(f.status in ok for f in every) else 1


__all__ = [
    "Plan",
    "PlannedTask",
    "RunOptions",
    "Severity",
    "check_probe_setting",
    "derive_indicators",
    "evaluate_checks",
    "execute",
    "exit_status",
    "in_class_hours",
    "make_plan",
    "number_findings",
]
