"""Monitoring between audits: the inventory keys, the test plan, the budget, roll-ups, retention,
batches and their store-and-forward order (fake clock, fake measurements, no I/O but tmp files)."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from auditor.errors import InputError
from auditor.inventory import Inventory, load_inventory
from auditor.monitor import measure
from auditor.monitor.loop import Monitor, Refused, Retry, reach_targets, run
from auditor.monitor.measure import ReachTarget, ThroughputTest, jitter, percentile, reach_sample
from auditor.monitor.plan import DEFAULT_WINDOWS, day_rng, plan_day, round_length, windows
from auditor.monitor.status import render, status
from auditor.monitor.store import Store
from auditor.probes._bandwidth_lock import bandwidth_lock as throughput_lock
from auditor.wire.monitoring import Sample, SampleBatch


def _rng(seed: int | str) -> random.Random:
    return random.Random(seed)  # noqa: S311 - test plans, not secrets


TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 12, 7)
BASE: dict[str, Any] = {
    "school": {"name": "测试学校", "code": "T-1"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "authorisation": {"authorised_by": "张校长", "role": "校长", "reference": "A-1",
                      "valid_from": date(2020, 1, 1), "valid_until": date(2099, 12, 31)},
    "uplink": {"id": "wan1", "rate_mbps": 1000, "endpoints": [{"id": "metro", "address": "10.200.0.2"}],
               "contract": {"provider": "电信", "down_mbps": 500, "up_mbps": 100}},
    "other_uplinks": [{"id": "wan2", "endpoints": [{"id": "backup", "address": "10.200.0.3"}]}],
}
TIMETABLE = {"timezone": "Asia/Shanghai", "class_hours": [
    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "11:50"},
    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "13:30", "end": "16:30"}]}


def inventory(**extra: Any) -> Inventory:
    return Inventory.model_validate({**BASE, **extra})


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


# ------------------------------------------------------------------ inventory


def test_inventory_contract_monitoring_defaults_and_two_uplinks() -> None:
    inv = inventory()
    assert [u.id for u in inv.uplinks()] == ["wan1", "wan2"]
    assert inv.uplink is not None and inv.uplink.contract is not None
    assert (inv.uplink.contract.down_mbps, inv.uplink.contract.up_mbps) == (500, 100)
    m = inv.monitoring
    assert (m.interval_min, m.throughput.tests_per_day, m.throughput.duration_s) == (5, 4, 5)
    assert (m.retention.raw_days, m.retention.hourly_days) == (90, 1095)


def test_inventory_refuses_unknown_monitoring_keys_with_file_line_field(tmp_path: Path) -> None:
    doc = {**BASE, "monitoring": {"throughput": {"tests_per_dya": 3}}}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_inventory(path)
    text = str(info.value)
    assert "site.yaml" in text and "monitoring.throughput.tests_per_dya" in text
    assert ":" + str(_line_of(path, "tests_per_dya")) in text


def _line_of(path: Path, word: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if word in line)


@pytest.mark.parametrize("bad", ["7:00-07:40", "08:00-07:00", "25:00-26:00"])
def test_inventory_refuses_bad_windows(bad: str) -> None:
    with pytest.raises(ValueError, match="windows"):
        inventory(monitoring={"throughput": {"windows": [bad]}})


def test_duplicate_uplink_ids_refused() -> None:
    with pytest.raises(ValueError, match="duplicate uplink id"):
        inventory(other_uplinks=[{"id": "wan1", "endpoints": [{"id": "b", "address": "10.200.0.3"}]}])


def test_reach_targets_are_named_apart(tmp_path: Path) -> None:
    """Two uplinks may each have an endpoint 'metro', and an uplink endpoint may be called
    'district' (the lab's is): samples name them '<uplink>/<endpoint>', the district server
    'district', and a further endpoint may not take that name."""
    two = inventory(other_uplinks=[{"id": "wan2", "endpoints": [{"id": "metro", "address": "10.200.0.3"}]}])
    ids = [t.id for t in reach_targets(two, ("10.200.0.9", 8443))]
    assert ids == ["wan1/metro", "wan2/metro", "district"]
    path = tmp_path / "site.yaml"
    doc = {**BASE, "monitoring": {"endpoints": [{"id": "district", "host": "10.200.0.7"}]}}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match=r"monitoring\.endpoints\.0\.id|district server"):
        load_inventory(path)


def test_monitoring_endpoints_are_scope_targets() -> None:
    from auditor.inventory import scope_targets

    inv = inventory(monitoring={"endpoints": [{"id": "dns1", "host": "8.8.8.8", "tcp_port": 53}]})
    assert (("monitoring", "endpoints", 0, "host")) in [loc for loc, _ in scope_targets(inv)]
    assert "dns1" not in [t.id for t in reach_targets(inv, None)]  # outside the scope: not measured


# ------------------------------------------------------------------ windows and the plan


def test_windows_default_without_timetable() -> None:
    got = windows(inventory(), MONDAY)
    assert [f"{s:%H:%M}-{e:%H:%M}" for s, e in got] == list(DEFAULT_WINDOWS)


def test_windows_derived_from_timetable() -> None:
    got = windows(inventory(schedule=TIMETABLE), MONDAY)
    assert [f"{s:%H:%M}-{e:%H:%M}" for s, e in got] == ["07:20-08:00", "11:50-13:30", "16:30-17:30"]


def test_configured_windows_lose_their_lessons_unless_allowed() -> None:
    conf = {"throughput": {"windows": ["07:30-08:30", "11:00-12:00"]}}
    got = windows(inventory(schedule=TIMETABLE, monitoring=conf), MONDAY)
    assert [f"{s:%H:%M}-{e:%H:%M}" for s, e in got] == ["07:30-08:00", "11:50-12:00"]
    conf["throughput"]["allow_class_hours"] = True  # type: ignore[index]
    got = windows(inventory(schedule=TIMETABLE, monitoring=conf), MONDAY)
    assert [f"{s:%H:%M}-{e:%H:%M}" for s, e in got] == ["07:30-08:30", "11:00-12:00"]


def test_plan_is_random_inside_windows_never_overlapping_and_reproducible() -> None:
    inv = inventory(schedule=TIMETABLE)
    length = round_length(inv.monitoring.throughput, 2)
    spans = windows(inv, MONDAY)
    seen = set()
    for seed in range(40):
        plan = plan_day(inv, MONDAY, _rng(seed))
        assert len(plan) == 4
        for start in plan:
            assert any(s <= start and start + length <= e for s, e in spans), start
        assert all(b - a >= length for a, b in itertools.pairwise(plan))
        seen.add(tuple(plan))
    assert len(seen) == 40  # random times
    assert plan_day(inv, MONDAY, day_rng("T-1/a", MONDAY)) == plan_day(inv, MONDAY, day_rng("T-1/a", MONDAY))
    assert plan_day(inv, MONDAY, day_rng("T-1/a", MONDAY)) != plan_day(inv, MONDAY, day_rng("T-2/a", MONDAY))


def test_no_tests_on_weekends_holidays_or_when_windows_are_too_short() -> None:
    holiday = {**TIMETABLE, "holidays": [{"start": MONDAY, "end": MONDAY}]}
    assert plan_day(inventory(schedule=TIMETABLE), MONDAY + timedelta(days=5), _rng(1)) == []
    assert plan_day(inventory(schedule=holiday), MONDAY, _rng(1)) == []
    short = {"throughput": {"windows": ["07:00-07:01"]}}
    assert plan_day(inventory(monitoring=short), MONDAY, _rng(1)) == []
    one = {"throughput": {"windows": ["07:00-07:01"], "duration_s": 1, "tests_per_day": 4}}
    assert len(plan_day(inventory(monitoring=one, other_uplinks=[]), MONDAY, _rng(1))) == 1


# ------------------------------------------------------------------ statistics and samples


def test_reach_statistics() -> None:
    assert jitter([10.0, 12.0, 11.0]) == pytest.approx(1.5)
    assert jitter([5.0]) is None
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == pytest.approx(9.1)
    s = reach_sample("metro", "icmp", [1.0, None, 3.0, 2.0, None], datetime.now(UTC))
    assert (s.sent, s.received, s.rtt_ms, s.jitter_ms) == (5, 3, 2.0, 1.5)
    none = reach_sample("metro", "tcp", [None, None], datetime.now(UTC))
    assert (none.received, none.rtt_ms, none.jitter_ms) == (0, None, None)


def test_icmp_packets_round_trip() -> None:
    packet = measure.echo_request(0x1234, 7)
    assert measure._checksum(packet) == 0
    reply = bytes([0]) + packet[1:]
    assert measure.echo_reply(reply, raw=False) == (0x1234, 7)
    assert measure.echo_reply(bytes(20) + reply, raw=True) is None  # IHL 0: not a reply
    ip_header = bytes([0x45]) + bytes(19)
    assert measure.echo_reply(ip_header + reply, raw=True) == (0x1234, 7)
    assert measure.echo_reply(packet, raw=False) is None  # a request, not a reply


def test_throughput_is_bounded_in_seconds_or_bytes() -> None:
    t = ThroughputTest("wan1", "10.200.0.2", 5201, "down", 500, 5, 10**9)
    assert t.estimated_bytes == 312_500_000
    assert ThroughputTest("wan1", "10.200.0.2", 5201, "down", 500, 5, 10**9, link_mbps=1000).estimated_bytes \
        == 625_000_000
    assert "-t" in t.argv() and "-R" in t.argv() and "-n" not in t.argv()
    assert t.argv()[t.argv().index("-b") + 1] == "500M"
    small = ThroughputTest("wan1", "10.200.0.2", 5201, "up", 500, 5, 10**8)
    assert small.argv()[small.argv().index("-n") + 1] == str(10**8) and "-R" not in small.argv()


def test_moved_bytes() -> None:
    assert measure.moved_bytes('{"end": {"sum_sent": {"bytes": 10}, "sum_received": {"bytes": 8}}}') == 10
    assert measure.moved_bytes("not json") is None


# ------------------------------------------------------------------ store, roll-ups, retention


def _reach(when: datetime, target: str, rtts: list[float | None]) -> Sample:
    return reach_sample(target, "icmp", rtts, when)


def test_hourly_roll_ups(tmp_path: Path) -> None:
    store = Store(tmp_path)
    hour = datetime(2026, 12, 7, 2, tzinfo=UTC)
    store.add([_reach(hour + timedelta(minutes=5 * i), "metro", [float(i + 1), None]) for i in range(10)])
    store.add([Sample(kind="throughput", at=hour, uplink="wan1", direction="down", mbps=m, valid=v,
                      bytes=100, target="x") for m, v in ((400.0, True), (480.0, True), (10.0, False))])
    store.add([Sample(kind="dns", at=hour, target="edu.cn", ok=ok, resolve_ms=ms)
               for ok, ms in ((True, 3.0), (True, 5.0), (False, 5000.0))])
    rows = {(r["kind"], r["target"]): r for r in store.hourly()}
    reach = rows[("reach", "metro")]
    assert (reach["count"], reach["sent"], reach["received"], reach["loss_pct"]) == (10, 20, 10, 50.0)
    assert reach["rtt_median_ms"] == 5.5 and reach["rtt_p90_ms"] == pytest.approx(9.1)
    tp = rows[("throughput", "x")]
    assert (tp["mbps_min"], tp["mbps_median"], tp["failures"]) == (400, 440, 1)
    assert (tp["bytes"], tp["uplink"]) == (300, "wan1")
    dns = rows[("dns", "edu.cn")]
    assert (dns["resolve_median_ms"], dns["failures"]) == (4.0, 1)
    store.close()


def test_retention_prunes_raw_then_hourly(tmp_path: Path) -> None:
    store = Store(tmp_path)
    now = datetime(2026, 12, 7, tzinfo=UTC)
    store.add([_reach(now - timedelta(days=d), "metro", [1.0]) for d in (1, 100, 2000)])
    raw, hourly = store.prune(now, raw_days=90, hourly_days=1095)
    assert (raw, hourly) == (2, 1)
    assert len(store.samples()) == 1 and len(store.hourly()) == 2
    store.close()


# ------------------------------------------------------------------ the monitor (fake clock and tools)


class FakeMeasurer:
    def __init__(self, moved: int = 50_000_000) -> None:
        self.moved = moved
        self.tests: list[ThroughputTest] = []
        self.running = 0

    async def reach(self, target: ReachTarget, probes: int) -> Sample:
        return reach_sample(target.id, "icmp", [1.0] * probes, datetime.now(UTC))

    async def dns(self, name: str) -> Sample:
        return Sample(kind="dns", at=datetime.now(UTC), target=name, ok=True, resolve_ms=1.0)

    async def throughput(self, test: ThroughputTest) -> Sample:
        self.running += 1
        assert self.running == 1, "two tests at once"
        self.tests.append(test)
        await asyncio.sleep(0)
        self.running -= 1
        return Sample(kind="throughput", at=datetime.now(UTC), target=test.address, uplink=test.uplink,
                      direction=test.direction, mbps=450.0, bytes=self.moved, valid=True)


class FakeUploader:
    def __init__(self, failures: int = 0, refuse: bool = False) -> None:
        self.failures, self.refuse = failures, refuse
        self.got: list[SampleBatch] = []
        self.attempts = 0

    def send(self, batch: SampleBatch) -> dict[str, Any]:
        self.attempts += 1
        if self.refuse:
            raise Refused("400: bad")
        if self.failures:
            self.failures -= 1
            raise Retry("503: database down")
        self.got.append(SampleBatch.model_validate_json(batch.model_dump_json(by_alias=True)))
        return {"accepted": len(batch.samples), "duplicate": False}


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _monitor(tmp_path: Path, inv: Inventory, **kw: Any) -> tuple[Monitor, Store]:
    store = Store(tmp_path)
    kw.setdefault("measurer", FakeMeasurer())
    return Monitor(inv, store, tmp_path, agent="agent-1", seed="fixed", rng=_rng(0), **kw), store


def test_a_school_day_every_interval_and_every_planned_test(tmp_path: Path) -> None:
    inv = inventory(schedule=TIMETABLE, monitoring={"dns_names": ["edu.cn"], "interval_min": 15})
    uploader = FakeUploader()
    mon, store = _monitor(tmp_path, inv, uploader=uploader, district=("10.200.0.9", 8443))
    clock = Clock(at(MONDAY, 0, 0))
    planned = mon.plan(clock())
    asyncio.run(run(mon, clock, clock.sleep, until=at(MONDAY, 23, 59)))
    measurer = mon.measurer
    assert isinstance(measurer, FakeMeasurer)
    assert len(measurer.tests) == 4 * 4  # 4 rounds: 2 uplinks, both directions
    assert [s["state"] for s in store.slots()] == ["done"] * 4
    assert [datetime.fromisoformat(s["at"]) for s in store.slots()] == planned
    heartbeats = store.samples(kind="heartbeat")
    assert 96 <= len(heartbeats) <= 100  # every 15 minutes
    reach = store.samples(kind="reach")
    assert {s.target for s in reach} == {"wan1/metro", "wan2/backup", "district"}
    assert {s.uplink for s in reach} == {"wan1", "wan2", None}
    sent = [s for b in uploader.got for s in b.samples]
    assert len(sent) == len(store.samples()) and store.batch_counts()["unsent_batches"] == 0
    assert [b.seq for b in uploader.got] == list(range(1, len(uploader.got) + 1))
    last = uploader.got[-1]
    assert last.contracts[0].uplink == "wan1" and last.contracts[0].provider == "电信"
    assert last.budget is not None and last.budget.used_bytes == 16 * 50_000_000
    for slot in planned:  # never during a lesson
        assert not at(MONDAY, 8) <= slot < at(MONDAY, 11, 50)
        assert not at(MONDAY, 13, 30) <= slot < at(MONDAY, 16, 30)
    store.close()


def test_budget_refuses_a_test_and_says_why(tmp_path: Path) -> None:
    conf = {"throughput": {"monthly_budget_mb": 1000, "tests_per_day": 4}, "interval_min": 60}
    inv = inventory(monitoring=conf, other_uplinks=[])
    mon, store = _monitor(tmp_path, inv, measurer=FakeMeasurer(moved=300_000_000))
    clock = Clock(at(MONDAY, 0, 0))
    asyncio.run(run(mon, clock, clock.sleep, until=at(MONDAY, 23, 59)))
    tp = store.samples(kind="throughput")
    ran = [s for s in tp if s.valid]
    refused = [s for s in tp if not s.valid]
    # at most 625 MB each (1000 Mbit/s link for 5 s): a third would pass 1000 MB
    assert len(ran) == 2 and len(refused) == 6
    assert all("budget" in (s.reason or "") and s.bytes == 0 for s in refused)
    assert store.used_bytes("2026-12") == 600_000_000  # within the 1000 MB
    assert [s["state"] for s in store.slots()] == ["done", "refused", "refused", "refused"]
    store.close()


def test_missed_and_busy_tests(tmp_path: Path) -> None:
    inv = inventory(other_uplinks=[])
    mon, store = _monitor(tmp_path, inv)
    plan = mon.plan(at(MONDAY, 0))
    # started long after the first test's time: missed, not run late
    asyncio.run(mon.tick(plan[0] + timedelta(minutes=30)))
    assert store.slots()[0]["state"] == "missed"
    # another process holds the lock: the test waits for the next tick
    with throughput_lock(tmp_path) as held:
        assert held
        report = asyncio.run(mon.tick(plan[1] + timedelta(seconds=5)))
    assert report.tests == ["busy"]
    report = asyncio.run(mon.tick(plan[1] + timedelta(seconds=65)))
    assert report.tests == ["done"]
    # an audit holds the lock past the grace time: missed, saying who held it
    with throughput_lock(tmp_path, what="auditor agent: audit job 7") as held:
        assert held
        assert asyncio.run(mon.tick(plan[2] + timedelta(seconds=5))).tests == ["busy"]
    asyncio.run(mon.tick(plan[2] + timedelta(minutes=20)))
    (slot,) = [s for s in store.slots() if datetime.fromisoformat(s["at"]) == plan[2]]
    assert slot["state"] == "missed" and "audit job 7" in (slot["note"] or ""), slot
    store.close()


def test_test_now_runs_a_round_outside_the_plan_but_never_in_a_lesson_or_beside_a_test(
        tmp_path: Path) -> None:
    inv = inventory(schedule=TIMETABLE, other_uplinks=[])
    mon, store = _monitor(tmp_path, inv)
    measurer = mon.measurer
    assert isinstance(measurer, FakeMeasurer)
    assert asyncio.run(mon.test_now(at(MONDAY, 9, 0))) == "deferred"  # a lesson
    with throughput_lock(tmp_path) as held:
        assert held
        assert asyncio.run(mon.test_now(at(MONDAY, 12, 10))) == "busy"
    assert measurer.tests == []
    assert asyncio.run(mon.test_now(at(MONDAY, 12, 10))) == "done"
    assert [(t.uplink, t.direction) for t in measurer.tests] == [("wan1", "down"), ("wan1", "up")]
    assert store.slots() == []  # the day's plan is untouched
    assert len(store.samples(kind="throughput")) == 2
    allowed = inventory(schedule=TIMETABLE, other_uplinks=[],
                        monitoring={"throughput": {"allow_class_hours": True}})
    (tmp_path / "b").mkdir()
    mon2, store2 = _monitor(tmp_path / "b", allowed)
    assert asyncio.run(mon2.test_now(at(MONDAY, 9, 0))) == "done"
    expired = inventory(authorisation={**BASE["authorisation"], "valid_until": date(2021, 1, 1)})
    (tmp_path / "c").mkdir()
    mon3, store3 = _monitor(tmp_path / "c", expired)
    assert asyncio.run(mon3.test_now(at(MONDAY, 12, 10))) == "unauthorised"
    for st in (store, store2, store3):
        st.close()


def test_not_authorised_only_heartbeats(tmp_path: Path) -> None:
    inv = inventory(authorisation={**BASE["authorisation"], "valid_until": date(2021, 1, 1)})
    mon, store = _monitor(tmp_path, inv)
    asyncio.run(mon.tick(at(MONDAY, 7, 10)))
    kinds = [s.kind for s in store.samples()]
    assert kinds == ["heartbeat"] and "authorisation" in (store.samples()[0].reason or "")
    store.close()


def test_outbox_keeps_order_backs_off_and_sends_each_batch_once(tmp_path: Path) -> None:
    inv = inventory()
    uploader = FakeUploader(failures=1000)
    mon, store = _monitor(tmp_path, inv, uploader=uploader, backoff_base_s=60, backoff_cap_s=600)
    t = at(MONDAY, 20, 0)
    ids: list[str] = []
    tried: list[int] = []
    for minute in range(0, 60, 5):  # link down: every tick's batch waits behind the first
        now = t + timedelta(minutes=minute)
        due = store.queued()[0].next_attempt <= now if store.queued() else True
        before = uploader.attempts
        report = asyncio.run(mon.tick(now))
        tried.append(uploader.attempts - before)
        assert tried[-1] == (1 if due else 0)  # only the head, and only once its back-off is over
        ids = [q.batch_id for q in store.queued()]
    assert uploader.got == [] and len(ids) == 12
    assert report.upload_error == "503: database down" or 0 in tried
    head = store.queued()[0]
    assert 3 <= head.attempts < 12 and head.next_attempt > t
    uploader.failures = 0  # the link is back
    asyncio.run(mon.tick(head.next_attempt + timedelta(minutes=1)))
    assert [b.batch_id for b in uploader.got][: len(ids)] == ids  # in order, the same ids
    assert len({b.batch_id for b in uploader.got}) == len(uploader.got)
    assert store.batch_counts()["unsent_batches"] == 0
    doc = status(store, head.next_attempt + timedelta(minutes=1), "2026-12")
    assert doc["last_upload"] and doc["queue"]["unsent_batches"] == 0
    assert {e["target"] for e in doc["endpoints"]} == {"wan1/metro", "wan2/backup"}
    assert "endpoints" in render(doc)
    store.close()


def test_a_refused_batch_is_set_aside(tmp_path: Path) -> None:
    mon, store = _monitor(tmp_path, inventory(), uploader=FakeUploader(refuse=True))
    asyncio.run(mon.tick(at(MONDAY, 20)))
    assert store.batch_counts()["rejected_batches"] == 1 and store.queued() == []
    store.close()


def test_status_percent_of_contract(tmp_path: Path) -> None:
    mon, store = _monitor(tmp_path, inventory(other_uplinks=[]))
    now = at(MONDAY, 20)
    store.add([Sample(kind="throughput", at=now, target="x", uplink="wan1", direction="up", mbps=90.0,
                      bytes=1, valid=True)])
    asyncio.run(mon.tick(at(MONDAY, 6)))
    doc = status(store, now, "2026-12")
    assert doc["next_test"] == mon.plan(at(MONDAY, 6))[0].isoformat()
    assert doc["throughput"][0]["pct_of_contract"] == 90.0
    assert doc["throughput"][0]["provider"] == "电信"
    store.close()
