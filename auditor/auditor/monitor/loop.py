"""The monitor's scheduler: what is due at a moment, done; deterministic for a given clock and seed.

``Monitor.tick(now)`` does what is due at ``now``: the light round (reach of every target, DNS
of every name, a heartbeat) once per interval; each planned throughput test whose time has come
(at most ``GRACE`` late, else it is recorded as missed), under a lock file so that two tests
never run at once (not even from two monitors), never in lessons unless allowed, and only within
the month's byte budget (a refused test is recorded as an invalid sample saying why); then it
batches the new samples and forwards the queue in order. ``run`` repeats ``tick`` until stopped.
The measurements, the uploader, the clock and the sleep are injected, so tests drive it with a
fake clock and fake measurements.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from auditor.inventory import Inventory, audit_clock
from auditor.monitor import measure
from auditor.monitor.measure import Direction, ReachTarget, ThroughputTest
from auditor.monitor.plan import day_rng, local_day, plan_day
from auditor.monitor.store import Store
from auditor.probes._bandwidth_lock import bandwidth_lock, holder
from auditor.timetable import in_class_hours, zone
from auditor.wire.monitoring import Budget, Sample, SampleBatch, UplinkContract

log = logging.getLogger("auditor.monitor")
GRACE = timedelta(minutes=15)  # a test planned longer ago than this is missed, not run late
DIRECTIONS: tuple[Direction, ...] = ("down", "up")


class Measurer(Protocol):
    async def reach(self, target: ReachTarget, probes: int) -> Sample: ...
    async def dns(self, name: str) -> Sample: ...
    async def throughput(self, test: ThroughputTest) -> Sample: ...


class RealMeasurer:
    """The real measurements (:mod:`auditor.monitor.measure`)."""

    async def reach(self, target: ReachTarget, probes: int) -> Sample:
        return await measure.reach(target, probes)

    async def dns(self, name: str) -> Sample:
        return await measure.dns(name)

    async def throughput(self, test: ThroughputTest) -> Sample:
        return await measure.throughput(test)


class Uploader(Protocol):
    def send(self, batch: SampleBatch) -> dict[str, Any]:
        """Deliver one batch; raise ``Retry`` (try again later) or ``Refused`` (never)."""
        ...


class Retry(Exception):
    """The batch could not be delivered now (server down, link cut): keep it and try again."""


class Refused(Exception):
    """The server refused the batch for good (a 4xx): keep it aside with the reason."""


@dataclass
class TickReport:
    light: bool = False
    samples: int = 0
    tests: list[str] = field(default_factory=list)  # what became of each due test slot
    batched: int = 0
    uploaded: int = 0
    upload_error: str | None = None


def month_of(inv: Inventory, moment: datetime) -> str:
    return moment.astimezone(zone(inv.schedule)).strftime("%Y-%m")


def reach_targets(inv: Inventory, district: tuple[str, int] | None) -> list[ReachTarget]:
    """Every uplink's iperf3 servers (named ``<uplink>/<endpoint>``: two uplinks may each have an
    endpoint ``metro``; TCP fallback: their port), the district (TCP to its server
    port; ICMP only when its address is inside the scope) and ``monitoring.endpoints``. An
    endpoint outside ``scope.allow`` gets at most the TCP connect the agent makes anyway for the
    district; others outside the scope are not measured at all (the inventory refuses them)."""
    targets: list[ReachTarget] = []
    for uplink in inv.uplinks():
        for ep in uplink.endpoints:
            if inv.scope.contains(ep.address):
                targets.append(ReachTarget(f"{uplink.id}/{ep.id}", str(ep.address), ep.port, True, uplink.id))
    if district is not None:
        host, port = district
        targets.append(ReachTarget("district", host, port, _in_scope(inv, host)))
    for extra in inv.monitoring.endpoints:
        if inv.scope.contains(extra.host):
            targets.append(ReachTarget(extra.id, str(extra.host), extra.tcp_port, True))
    return targets


def _in_scope(inv: Inventory, host: str) -> bool:
    import ipaddress  # noqa: PLC0415

    try:
        return inv.scope.contains(ipaddress.IPv4Address(host))
    except ValueError:
        return False  # a name: resolved by the TCP connect, never pinged


def contracts(inv: Inventory) -> tuple[UplinkContract, ...]:
    return tuple(UplinkContract(uplink=u.id, provider=u.contract.provider, down_mbps=u.contract.down_mbps,
                                up_mbps=u.contract.up_mbps)
                 for u in inv.uplinks() if u.contract is not None)


def throughput_tests(inv: Inventory) -> list[ThroughputTest]:
    """Both directions of every uplink, against its first iperf3 server inside the scope."""
    conf = inv.monitoring.throughput
    tests: list[ThroughputTest] = []
    for uplink in inv.uplinks():
        ep = next((e for e in uplink.endpoints if inv.scope.contains(e.address)), None)
        if ep is None:
            continue
        for direction in DIRECTIONS:
            rate = float(uplink.rate_mbps)
            if uplink.contract is not None:
                rate = uplink.contract.down_mbps if direction == "down" else uplink.contract.up_mbps
            tests.append(ThroughputTest(uplink=uplink.id, address=str(ep.address), port=ep.port,
                                        direction=direction,
                                        expected_mbps=rate, duration_s=conf.duration_s,
                                        max_bytes=conf.max_bytes_per_test, interface=inv.agent.interface,
                                        link_mbps=float(uplink.rate_mbps)))
    return tests


class Monitor:
    def __init__(
        self,
        inv: Inventory,
        store: Store,
        state: Path,
        *,
        agent: str,
        measurer: Measurer | None = None,
        uploader: Uploader | None = None,
        district: tuple[str, int] | None = None,
        seed: str | None = None,
        rng: random.Random | None = None,
        backoff_base_s: float = 30,
        backoff_cap_s: float = 3600,
    ) -> None:
        self.inv, self.store, self.state = inv, store, state
        self.agent = agent
        self.school = inv.school.code or inv.school.name
        self.measurer: Measurer = measurer or RealMeasurer()
        self.uploader = uploader
        self.targets = reach_targets(inv, district)
        self.tests = throughput_tests(inv)
        self.seed = seed or f"{self.school}/{agent}"
        self.rng = rng or random.Random()  # noqa: S311 - back-off jitter
        self.backoff_base_s, self.backoff_cap_s = backoff_base_s, backoff_cap_s
        self.next_light: datetime | None = None
        self.busy: dict[tuple[str, datetime], str] = {}  # slots a held lock kept waiting, and by whom
        self.limit_bytes = inv.monitoring.throughput.monthly_budget_mb * 1_000_000
        store.set_meta("contracts", "[" + ",".join(c.model_dump_json() for c in contracts(inv)) + "]")
        store.set_meta("budget_limit_bytes", str(self.limit_bytes))
        store.set_meta("targets", ",".join(t.id for t in self.targets))
        store.set_meta("timezone", inv.schedule.timezone)

    # -------------------------------------------------------------- one tick

    async def tick(self, now: datetime) -> TickReport:
        report = TickReport()
        authorised = self._authorised(now)
        if self.next_light is None or now >= self.next_light:
            samples = [measure.heartbeat(now)]
            if authorised is None:
                samples += await self._light_round()
            else:
                samples[0] = samples[0].model_copy(update={"reason": authorised})
            self.store.add(samples)
            report.light, report.samples = True, len(samples)
            self.next_light = now + timedelta(minutes=self.inv.monitoring.interval_min)
        if authorised is None:
            await self._due_tests(now, report)
        self._forward(now, report)
        upcoming = self.next_test(now)
        self.store.set_meta("next_test", "" if upcoming is None else upcoming.isoformat())
        if self.store.get_meta("pruned_day") != now.date().isoformat():
            ret = self.inv.monitoring.retention
            self.store.prune(now, ret.raw_days, ret.hourly_days)
            self.store.set_meta("pruned_day", now.date().isoformat())
        return report

    def _authorised(self, now: datetime) -> str | None:
        """None if measuring is authorised now, else why not (no current authorisation)."""
        auth = self.inv.authorisation
        today = audit_clock(self.inv, now).date()
        if auth is None:
            return "not measuring: the inventory has no authorisation record"
        if not auth.valid_from <= today <= auth.valid_until:
            return (f"not measuring: authorisation {auth.reference} is valid {auth.valid_from} to "
                    f"{auth.valid_until}, today is {today} ({self.inv.schedule.timezone})")
        return None

    async def _light_round(self) -> list[Sample]:
        probes = self.inv.monitoring.probes
        reach = await asyncio.gather(*(self.measurer.reach(t, probes) for t in self.targets))
        dns = await asyncio.gather(*(self.measurer.dns(name) for name in self.inv.monitoring.dns_names))
        return [s if t.uplink is None else s.model_copy(update={"uplink": t.uplink})
                for s, t in zip(reach, self.targets, strict=True)] + list(dns)

    def plan(self, now: datetime) -> list[datetime]:
        day = local_day(self.inv, now)
        return plan_day(self.inv, day, day_rng(self.seed, day), len({t.uplink for t in self.tests}))

    def next_test(self, now: datetime) -> datetime | None:
        day = local_day(self.inv, now).isoformat()
        return next((at for at in self.plan(now) if self.store.slot_state(day, at) is None), None)

    async def _due_tests(self, now: datetime, report: TickReport) -> None:
        if not self.tests:
            return
        day = local_day(self.inv, now).isoformat()
        for at in self.plan(now):
            if at > now or self.store.slot_state(day, at) is not None:
                continue
            if now - at > GRACE:
                held_by = self.busy.pop((day, at), None)
                why = (f"another bandwidth test held the lock until after {at + GRACE:%H:%M} ({held_by})"
                       if held_by else f"the monitor was not running at {at:%H:%M}")
                self.store.set_slot(day, at, "missed", why)
                report.tests.append("missed")
                continue
            conf = self.inv.monitoring.throughput
            lesson = None if conf.allow_class_hours else in_class_hours(self.inv.schedule, now)
            if lesson:
                self.store.set_slot(day, at, "deferred", f"in a lesson ({lesson})")
                report.tests.append("deferred")
                continue
            with bandwidth_lock(self.state, what="auditor monitor: throughput test") as held:
                if not held:  # another test (or an audit) is running: try again next tick
                    self.busy[(day, at)] = holder(self.state)
                    report.tests.append("busy")
                    continue
                report.tests.append(await self._run_round(now, day, at))

    async def test_now(self, now: datetime) -> str:
        """A round of throughput tests now, outside the day's plan (``auditor monitor run
        --test-now``, after a fix or a provider's repair): still never without a current
        authorisation, never in a lesson unless allowed, never beside another test, and within the
        month's budget. Returns what became of it: done, refused, busy, deferred, unauthorised or
        no tests (the inventory gives no uplink iperf3 server inside the scope)."""
        if not self.tests:
            return "no tests"
        if self._authorised(now) is not None:
            return "unauthorised"
        conf = self.inv.monitoring.throughput
        if not conf.allow_class_hours and in_class_hours(self.inv.schedule, now):
            return "deferred"
        with bandwidth_lock(self.state, what="auditor monitor: throughput test now") as held:
            if not held:
                return "busy"
            refused = await self._measure_round(now)
        return "refused" if refused == len(self.tests) else "done"

    async def _run_round(self, now: datetime, day: str, at: datetime) -> str:
        refused = await self._measure_round(now)
        state = "refused" if refused == len(self.tests) else "done"
        self.store.set_slot(day, at, state, f"{refused} of {len(self.tests)} refused by the budget"
                            if refused else None)
        return state

    async def _measure_round(self, now: datetime) -> int:
        """Both directions of every uplink, one after another; stored. Returns how many the
        month's budget refused."""
        month = month_of(self.inv, now)
        samples: list[Sample] = []
        refused = 0
        for test in self.tests:
            used = self.store.used_bytes(month)
            if used + test.estimated_bytes > self.limit_bytes:
                refused += 1
                samples.append(Sample(
                    kind="throughput", at=datetime.now(UTC), target=f"{test.address}:{test.port}",
                    uplink=test.uplink, direction=test.direction, bytes=0, valid=False,
                    reason=(f"refused: the test may move {test.estimated_bytes} bytes and the month's "
                            f"budget has {max(0, self.limit_bytes - used)} of {self.limit_bytes} left")))
                continue
            sample = await self.measurer.throughput(test)
            self.store.spend(month, sample.bytes or 0)
            samples.append(sample)
        self.store.add(samples)
        return refused

    # -------------------------------------------------------------- forwarding

    def budget(self, now: datetime) -> Budget:
        month = month_of(self.inv, now)
        return Budget(month=month, used_bytes=self.store.used_bytes(month), limit_bytes=self.limit_bytes)

    def _forward(self, now: datetime, report: TickReport) -> None:
        while self.store.make_batch(now, self.school, self.agent, contracts(self.inv), self.budget(now)):
            report.batched += 1
        if self.uploader is None:
            return
        for queued in self.store.queued():
            if queued.next_attempt > now:
                return  # in order: nothing overtakes a batch that waits for its retry
            batch = SampleBatch.model_validate_json(queued.body)
            try:
                answer = self.uploader.send(batch)
            except Retry as exc:
                ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2 ** queued.attempts)
                self.store.retry_later(queued.seq, now, self.rng.uniform(ceiling / 2, ceiling), str(exc))
                report.upload_error = str(exc)
                return
            except Refused as exc:
                self.store.rejected(queued.seq, str(exc))
                report.upload_error = str(exc)
                continue
            self.store.delivered(queued.seq, now, answer)
            report.uploaded += 1

    def next_wake(self, now: datetime) -> datetime:
        wakes = [self.next_light or now]
        test = self.next_test(now)
        if test is not None and test > now:
            wakes.append(test)
        if self.uploader is not None:
            wakes += [q.next_attempt for q in self.store.queued()[:1]]
        tz = zone(self.inv.schedule)
        tomorrow = datetime.combine(local_day(self.inv, now) + timedelta(days=1), datetime.min.time(), tz)
        wakes.append(tomorrow)
        return max(now, min(wakes))


async def run(monitor: Monitor, clock: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]],
              once: bool = False, until: datetime | None = None,
              stop: Callable[[], bool] = lambda: False, test_now: bool = False) -> list[TickReport]:
    """Tick until ``until`` (or once), sleeping until the next thing is due; with ``test_now``,
    a round of throughput tests first (its outcome heads the first report's ``tests``)."""
    reports: list[TickReport] = []
    first = f"now: {await monitor.test_now(clock())}" if test_now else None
    while True:
        reports.append(await monitor.tick(clock()))
        if first is not None:
            reports[-1].tests.insert(0, first)
            first = None
        now = clock()
        if once or stop() or (until is not None and now >= until):
            return reports
        wake = monitor.next_wake(now)
        if until is not None:
            wake = min(wake, until)
        await sleep(max(0.5, (wake - now).total_seconds()))
