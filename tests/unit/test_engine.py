"""The engine's safety rules: scope refusal, class hours, exclusive locks, failures as results.

A small in-test probe plugin stands in for a probe here (the scheduler is under test, not a
tool); the real probes are exercised against the namespace school in test_lab_audit.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from auditor.context import RunContext
from auditor.engine import PlannedTask, RunOptions, _refusal, execute, in_class_hours
from auditor.errors import ProbeError
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory, Schedule
from auditor.model import Fact, FactStatus, Safety
from auditor.plugins import Check, Plugins, Probe, ProbeTask, Registry, Renderer
from auditor.secrets import SecretResolver

INV = Inventory.model_validate({"school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
                                "schedule": {"class_hours": [
                                    {"days": ["mon"], "start": "08:00", "end": "12:00"}]}})


class Settings(BaseModel):
    pass


class SleepProbe:
    name: ClassVar[str] = "test.sleep"
    description: ClassVar[str] = "sleeps"
    settings_model: ClassVar[type[BaseModel]] = Settings

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]:
        return []

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]:
        start = time.monotonic()
        await asyncio.sleep(0.2)
        self.spans[task.target] = (start, time.monotonic())
        if task.params.get("fail"):
            raise ProbeError("device refused the password")
        if task.params.get("crash"):
            raise RuntimeError("bug")
        return [Fact("t", task.target, self.name, FactStatus.OK, {"ok": True})]


def _task(target: str, locks: set[str], **params: Any) -> PlannedTask:
    return PlannedTask(ProbeTask("test.sleep", target, "10.200.0.1", params,
                                 (("t", target),), Safety.BANDWIDTH, frozenset(locks), 0.2))


def _run(tasks: list[PlannedTask], probe: SleepProbe, tmp: Any) -> dict[str, Fact]:
    plugins = Plugins(Registry("probe", Probe), Registry("check", Check),
                      Registry("renderer", Renderer))
    plugins.probes.register(probe.name, probe)
    secrets = SecretResolver(None)
    ctx = RunContext(INV, EvidenceStore(tmp, secrets), secrets)
    from auditor.engine import Plan
    facts = asyncio.run(execute(Plan(tasks, {}, {}), plugins, ctx, 8, lambda _t, _e: None))
    return {f.subject: f for f in facts}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_shared_bottleneck_never_overlaps_distinct_ones_do(tmp_path: Any) -> None:
    probe = SleepProbe()
    tasks = [
        _task("up-down", {"server:a", "bottleneck:uplink"}),
        _task("up-up", {"server:a", "bottleneck:uplink"}),
        _task("room1", {"server:b", "bottleneck:room1"}),
        _task("room2", {"server:c", "bottleneck:room2"}),
        _task("room2-again", {"server:c", "bottleneck:room2"}),
    ]
    facts = _run(tasks, probe, tmp_path)
    assert all(f.status is FactStatus.OK for f in facts.values())
    s = probe.spans
    assert not _overlap(s["up-down"], s["up-up"])
    assert not _overlap(s["room2"], s["room2-again"])
    assert _overlap(s["up-down"], s["room1"]) and _overlap(s["room1"], s["room2"])


def test_failures_become_error_facts_and_the_run_goes_on(tmp_path: Any) -> None:
    probe = SleepProbe()
    facts = _run([_task("a", set(), fail=True), _task("b", set(), crash=True), _task("c", set())],
                 probe, tmp_path)
    assert facts["a"].status is FactStatus.ERROR and facts["a"].error == "device refused the password"
    assert facts["b"].status is FactStatus.ERROR and "internal error" in (facts["b"].error or "")
    assert facts["c"].status is FactStatus.OK


def test_refused_task_never_runs(tmp_path: Any) -> None:
    probe = SleepProbe()
    refused = PlannedTask(_task("x", set()).task, (FactStatus.ERROR, "refused: outside scope"))
    facts = _run([refused], probe, tmp_path)
    assert facts["x"].status is FactStatus.ERROR and "x" not in probe.spans


def test_scope_and_class_hours() -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    monday_13 = datetime(2026, 11, 23, 13, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert in_class_hours(INV.schedule, monday_9) is not None
    assert in_class_hours(INV.schedule, monday_13) is None
    assert in_class_hours(Schedule(), monday_9) is None
    task = _task("x", set()).task
    skipped = _refusal(task, INV, RunOptions(), monday_9)
    assert skipped is not None and skipped[0] is FactStatus.SKIPPED
    assert _refusal(task, INV, RunOptions(allow_class_hours=True), monday_9) is None
    outside = ProbeTask("test.sleep", "y", "8.8.8.8", {}, (("t", "y"),))
    refused = _refusal(outside, INV, RunOptions(), monday_13)
    assert refused is not None and refused[0] is FactStatus.ERROR and "8.8.8.8" in refused[1]


def test_a_task_that_sends_nothing_is_planned_without_a_scope_check() -> None:
    """Wi-Fi survey records are read from disk: their tasks carry no address, and an area
    named like "教学楼 301" must plan (it once reached the scope check as an address)."""
    from auditor.plugins import load_plugins
    from auditor.probes.wifi_surveys import WifiSurveysProbe

    inv = Inventory.model_validate({
        "school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
        "wifi": {"ssids": ["BJ-School"]},
        "wifi_areas": [{"id": "teach-301", "name": "教学楼 301", "area_class": "teaching"}]})
    probe = load_plugins().probes.get("wifi.surveys")
    assert isinstance(probe, WifiSurveysProbe)
    (task,) = probe.plan(inv, probe.settings_model())
    assert task.address is None
    at = datetime(2026, 11, 24, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert _refusal(task, inv, RunOptions(), at) is None
    outside = ProbeTask(probe="x", target="t", address="192.0.2.1", params={}, produces=())
    refused = _refusal(outside, inv, RunOptions(), at)
    assert refused is not None and "outside the inventory's scope" in refused[1]
