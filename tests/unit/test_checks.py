"""Checks on facts: pass, fail, error (never pass), skipped, invalid measurement, missing fact."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.bandwidth import ClassroomGoodput, ClassroomParams, UplinkGoodput, UplinkParams
from auditor.checks.port_speed import (
    ClassroomPortParams,
    ClassroomPortSpeed,
    UplinkPortParams,
    UplinkPortSpeed,
)
from auditor.facts import AgentNic, Goodput, GoodputRun, PortSpeed, fact_data
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Status, combine
from auditor.plugins import CheckContext, FactIndex

INV = Inventory.model_validate({
    "school": {"name": "t"},
    "scope": {"allow": ["10.200.0.0/16"]},
    "uplink": {"endpoints": [{"id": "d", "address": "10.200.0.2"}],
               "port": {"device": "sw", "port": "Gi0/1"}},
    "classrooms": [
        {"id": "r1", "name": "101", "endpoint": {"address": "10.200.11.2"},
         "access_port": {"device": "sw", "port": "Eth1"}},
        {"id": "r2", "name": "102"},
    ],
    "devices": [{"id": "sw", "address": "10.200.9.2", "vendor": "huawei"}],
})


def goodput_data(subject: str, median: float, valid: bool = True,
                  reasons: list[str] | None = None) -> dict[str, Any]:
    """A ``bandwidth.goodput`` fact's data as the iperf3 probe writes it (one run of ``median``)."""
    link, target, direction = subject.split("/")
    run = GoodputRun(goodput_mbps=median, sender_mbps=median, seconds=5.0, retransmits=0,
                     host_cpu_pct=12.5, remote_cpu_pct=20.0, artifact="evidence/iperf3/x.json")
    return fact_data(Goodput(
        link=link, target=target, direction=direction, server="10.200.0.2:5201",
        reverse_mode=direction == "downstream", command="iperf3 -c 10.200.0.2 -p 5201 --json",
        duration_s=5, omit_s=1, runs=(run,), median_mbps=median, min_mbps=median, max_mbps=median,
        expected_link_mbps=1000 if link == "uplink" else 100,
        agent_nic=AgentNic(name="eth0", speed_mbps=10000), agent_cpu_pct=(30.0,), valid=valid,
        invalid_reasons=tuple(reasons or ()), overlapping_tests=()))


def goodput(subject: str, median: float, valid: bool = True, reasons: list[str] | None = None,
            status: FactStatus = FactStatus.OK, error: str | None = None) -> Fact:
    data = goodput_data(subject, median, valid, reasons) if status is FactStatus.OK else {}
    return Fact("bandwidth.goodput", subject, "iperf3.bandwidth", status, data, error,
                ("evidence/iperf3/x.json",))


def index(*facts: Fact) -> FactIndex:
    out = FactIndex()
    for fact in facts:
        out.add(fact)
    return out


def test_uplink_pass_fail_and_threshold_edge() -> None:
    facts = index(goodput("uplink/d/downstream", 955.9), goodput("uplink/d/upstream", 899.9))
    found = UplinkGoodput().evaluate(CheckContext(INV, facts, UplinkParams()))
    assert [f.status for f in found] == [Status.PASS, Status.FAIL]
    assert found[1].measured == 899.9 and found[1].threshold == 900
    assert "899.9 Mbit/s < 900 Mbit/s" in found[1].message
    assert found[0].artifacts == ("evidence/iperf3/x.json",)
    exact = index(goodput("uplink/d/downstream", 900.0), goodput("uplink/d/upstream", 900.0))
    assert {f.status for f in UplinkGoodput().evaluate(
        CheckContext(INV, exact, UplinkParams()))} == {Status.PASS}


def test_invalid_measurement_is_error_not_pass() -> None:
    facts = index(
        goodput("uplink/d/downstream", 950, valid=False, reasons=["agent CPU at 99%"]),
        goodput("uplink/d/upstream", 950),
    )
    found = UplinkGoodput().evaluate(CheckContext(INV, facts, UplinkParams()))
    assert found[0].status is Status.ERROR and "agent CPU at 99%" in found[0].message
    assert found[0].measured == 950


def test_probe_error_skip_and_missing_fact() -> None:
    facts = index(
        goodput("classroom/r1/downstream", 0, status=FactStatus.ERROR, error="server busy"),
        goodput("classroom/r1/upstream", 0, status=FactStatus.SKIPPED, error="class hours"),
    )
    found = ClassroomGoodput().evaluate(CheckContext(INV, facts, ClassroomParams()))
    by_target = {f.target: f for f in found}
    assert by_target["classroom/r1/downstream"].status is Status.ERROR
    assert by_target["classroom/r1/downstream"].message == "server busy"
    assert by_target["classroom/r1/upstream"].status is Status.SKIPPED
    assert by_target["classroom/r2"].status is Status.SKIPPED  # no endpoint declared
    missing = ClassroomGoodput().evaluate(CheckContext(INV, index(), ClassroomParams()))
    assert missing[0].status is Status.ERROR and "no measurement" in missing[0].message


def port(subject: str, speed: float | None, oper: str = "up") -> Fact:
    """An ``snmp.interface`` fact as the port-speed probe writes it."""
    device, name = subject.split("/", 1)
    data = PortSpeed(device=device, address="10.200.9.2", sys_name=device, port=name, if_index=7,
                     if_name=name, if_descr=name, if_alias=None,
                     high_speed_mbps=None if speed is None else int(speed),
                     speed_bps=None if speed is None else int(speed * 1e6), speed_mbps=speed,
                     admin_status="up", oper_status=oper)
    return Fact("snmp.interface", subject, "snmp.port_speed", FactStatus.OK, fact_data(data))


@pytest.mark.parametrize(("speed", "oper", "expected"), [
    (100.0, "up", Status.PASS), (10.0, "up", Status.FAIL), (1000.0, "down", Status.FAIL),
    (None, "up", Status.ERROR),
])
def test_classroom_port(speed: float | None, oper: str, expected: Status) -> None:
    found = ClassroomPortSpeed().evaluate(
        CheckContext(INV, index(port("sw/Eth1", speed, oper)), ClassroomPortParams()))
    assert found[0].status is expected
    assert found[1].status is Status.SKIPPED  # r2 has no access port


def test_uplink_port() -> None:
    ok = UplinkPortSpeed().evaluate(
        CheckContext(INV, index(port("sw/Gi0/1", 1000.0)), UplinkPortParams()))
    slow = UplinkPortSpeed().evaluate(
        CheckContext(INV, index(port("sw/Gi0/1", 100.0)), UplinkPortParams()))
    assert ok[0].status is Status.PASS and slow[0].status is Status.FAIL


def test_combine_never_passes_on_missing_evidence() -> None:
    assert combine([]) is Status.ERROR
    assert combine([Status.PASS, Status.ERROR]) is Status.ERROR
    assert combine([Status.PASS, Status.SKIPPED]) is Status.SKIPPED
    assert combine([Status.ERROR, Status.FAIL]) is Status.FAIL
    assert combine([Status.PASS, Status.PASS]) is Status.PASS


def test_validity_rules_of_a_bandwidth_measurement() -> None:
    from auditor.probes.iperf3 import _invalid_reasons

    def run_at(host: float, remote: float) -> GoodputRun:
        return GoodputRun(goodput_mbps=900.0, sender_mbps=901.0, seconds=5.0, retransmits=0,
                          host_cpu_pct=host, remote_cpu_pct=remote, artifact="evidence/iperf3/x.json")

    run = run_at(20.0, 30.0)
    fast_nic = AgentNic(name="eth0", speed_mbps=10000)
    assert _invalid_reasons([run], fast_nic, [40.0], 1000, 90) == []
    slow = _invalid_reasons([run], AgentNic(name="eth0", speed_mbps=100), [40.0], 1000, 90)
    assert len(slow) == 1 and "eth0 runs at 100 Mbit/s" in slow[0]
    unknown = _invalid_reasons([run], AgentNic(name="veth", speed_mbps=0), [40.0], 1000, 90)
    assert unknown == []  # an unknown NIC speed is recorded, not held against the test
    hot = _invalid_reasons([run_at(97.0, 95.0)], fast_nic, [99.0], 1000, 90)
    assert [r.split(":")[1].split(" CPU")[0].strip() for r in hot[:2]] == [
        "agent's iperf3", "server's iperf3"]
    assert "CPUs were 99% busy" in hot[2]


def test_cpu_busy_from_snapshots() -> None:
    from collections import namedtuple

    from auditor.probes.iperf3 import _busy_pct

    times = namedtuple("times", "user system idle iowait")
    assert _busy_pct(times(10, 10, 80, 0), times(20, 20, 100, 0)) == pytest.approx(50.0)
    assert _busy_pct(times(0, 0, 0, 0), times(0, 0, 0, 0)) == 0.0
    assert _busy_pct(times(0, 0, 0, 0), times(5, 5, 0, 10)) == pytest.approx(50.0)
