"""The pipeline: plan probe tasks, run them safely, evaluate checks, derive indicators."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import rfc8785
from pydantic import BaseModel, ValidationError

from auditor.context import RunContext
from auditor.errors import AuditorError, InputError
from auditor.inventory import Inventory, Schedule
from auditor.model import (
    Fact,
    FactStatus,
    Finding,
    IndicatorResult,
    Safety,
    Severity,
    Status,
    combine,
)
from auditor.plugins import CheckContext, FactIndex, Plugins, ProbeTask
from auditor.profile import CheckRef, LoadedProfile
from auditor.yamlsrc import format_loc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class RunOptions:
    """Choices made on the command line for one run."""

    allow_class_hours: bool = False
    concurrency: int = 4
    probe_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    now: datetime | None = None


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


@dataclass
class Plan:
    tasks: list[PlannedTask]
    settings: dict[str, BaseModel]
    check_runs: dict[str, CheckRun]


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


def _check_runs(profiles: Sequence[LoadedProfile], plugins: Plugins) -> dict[str, CheckRun]:
    runs: dict[str, CheckRun] = {}
    for lp in profiles:
        for ind in lp.profile.indicators:
            for ref in ind.checks:
                run = _check_run(lp, ind.id, ref, plugins)
                runs.setdefault(run.key, run)
    return runs


def _check_run(lp: LoadedProfile, indicator: str, ref: CheckRef, plugins: Plugins) -> CheckRun:
    if ref.check not in plugins.checks:
        raise InputError(
            f"profile {lp.origin}: indicator {indicator}: unknown check {ref.check!r} "
            f"(installed: {', '.join(plugins.checks.names())})"
        )
    check = plugins.checks.get(ref.check)
    try:
        params = check.params_model.model_validate(ref.params)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(
            f"profile {lp.origin}: indicator {indicator}: check {ref.check} params: "
            f"{format_loc([p for p in first['loc'] if isinstance(p, int | str)])}: {first['msg']}"
        ) from None
    return CheckRun(ref.check, params)


def in_class_hours(schedule: Schedule, now: datetime) -> str | None:
    """The class period ``now`` falls in, as text, or None."""
    try:
        zone = ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"schedule.timezone: unknown time zone {schedule.timezone!r}") from None
    local = now.astimezone(zone)
    day = WEEKDAYS[local.weekday()]
    for period in schedule.class_hours:
        if day in period.days and period.start <= local.time() < period.end:
            return f"{day} {period.start:%H:%M}-{period.end:%H:%M} ({schedule.timezone})"
    return None


def _refusal(
    task: ProbeTask, inventory: Inventory, options: RunOptions, now: datetime
) -> tuple[FactStatus, str] | None:
    address = ipaddress.IPv4Address(task.address)
    if not inventory.scope.contains(address):
        allowed = ", ".join(str(n) for n in inventory.scope.allow)
        return (
            FactStatus.ERROR,
            f"refused: {address} is outside the inventory's scope allow-list ({allowed}); "
            "add its network to scope.allow if it belongs to the school",
        )
    if task.safety is Safety.BANDWIDTH and not options.allow_class_hours:
        period = in_class_hours(inventory.schedule, now)
        if period:
            return (
                FactStatus.SKIPPED,
                f"bandwidth tests do not run during class hours ({period}); "
                "run outside them or pass --allow-class-hours",
            )
    return None


def make_plan(
    inventory: Inventory,
    profiles: Sequence[LoadedProfile],
    plugins: Plugins,
    options: RunOptions,
) -> Plan:
    """Decide which probe tasks run against which targets, and which are refused and why."""
    check_runs = _check_runs(profiles, plugins)
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
    return Plan(tasks, settings, check_runs)


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
            facts = await _guarded(task, plugins, ctx)
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
        return task.failed(FactStatus.ERROR, f"probe {task.probe} did not finish within {limit:.0f} s")
    except Exception as exc:  # a bug in one probe must not stop the audit
        reason = f"internal error in probe {task.probe}: {type(exc).__name__}: {exc}"
        return task.failed(FactStatus.ERROR, ctx.secrets.mask(reason))


def _complete(task: ProbeTask, facts: list[Fact]) -> list[Fact]:
    got = {(f.kind, f.subject) for f in facts}
    for kind, subject in task.produces:
        if (kind, subject) not in got:
            facts.append(
                Fact(kind, subject, task.probe, FactStatus.ERROR, error="probe returned no result")
            )
    return facts


async def execute(
    plan: Plan, plugins: Plugins, ctx: RunContext, concurrency: int, on_event: TaskCallback
) -> FactIndex:
    """Run every planned task. Tasks sharing a lock never overlap; the rest run concurrently."""
    locks: dict[str, asyncio.Lock] = {}
    slots = asyncio.Semaphore(concurrency)
    results = await asyncio.gather(
        *(_run_task(p, plugins, ctx, locks, slots, on_event) for p in plan.tasks)
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
                    message=f"internal error in check: {type(exc).__name__}: {exc}",
                )
            ]
    return out


def derive_indicators(
    profiles: Sequence[LoadedProfile], plan: Plan, plugins: Plugins, findings: dict[str, list[Finding]]
) -> list[IndicatorResult]:
    """Each indicator's status from its checks' findings and its manual parts."""
    results: list[IndicatorResult] = []
    for lp in profiles:
        for ind in lp.profile.indicators:
            keys = [_check_run(lp, ind.id, ref, plugins).key for ref in ind.checks]
            found = [f for k in keys for f in findings.get(k, [])]
            status, reason = _indicator_status(ind.checks, found, ind.manual)
            results.append(
                IndicatorResult(
                    profile=lp.profile.id,
                    indicator=ind.id,
                    title=ind.text,
                    status=status,
                    reason=reason,
                    checks=tuple(ref.check for ref in ind.checks),
                    manual=tuple(ind.manual),
                )
            )
    return results


def _indicator_status(
    refs: Sequence[CheckRef], found: Sequence[Finding], manual: Sequence[str]
) -> tuple[Status, str]:
    if not refs:
        return Status.MANUAL, "not measurable: needs an attestation"
    if not found:
        return Status.ERROR, "its checks produced no findings (nothing to evaluate)"
    status = combine(f.status for f in found)
    if status is Status.PASS:
        if manual:
            return Status.MANUAL, "measured parts pass; still needs attestation of: " + "; ".join(manual)
        return Status.PASS, f"all {len(found)} findings pass"
    bad = [f"{f.check} {f.target}: {f.status.value}" for f in found if f.status is not Status.PASS]
    return status, "; ".join(bad)


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
    "derive_indicators",
    "evaluate_checks",
    "execute",
    "exit_status",
    "in_class_hours",
    "make_plan",
]
