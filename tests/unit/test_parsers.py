"""Parsers on recorded real output (tests/data, captured from real iperf3 3.12 and net-snmp)."""

from __future__ import annotations

import json

import pytest

from auditor.probes.parsers.if_table import (
    build_if_table,
    find_port,
    parse_snmpwalk_numeric,
)
from auditor.probes.parsers.iperf3_json import (
    Iperf3Failure,
    Iperf3ParseError,
    Iperf3Run,
    parse_iperf3_json,
)
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA


def _iperf(name: str) -> Iperf3Run | Iperf3Failure:
    return parse_iperf3_json((DATA / "iperf3" / name).read_text())


def test_upstream_run() -> None:
    run = _iperf("uplink-upstream.json")
    assert isinstance(run, Iperf3Run)
    assert not run.reverse and run.omit_s == 1 and run.version == "iperf 3.12"
    assert run.goodput_bps / 1e6 == pytest.approx(952.9, abs=0.1)
    assert 2.9 < run.duration_s < 3.1  # the omitted second is excluded
    assert run.retransmits is not None and run.host_cpu_pct is not None
    assert run.remote.startswith("10.200.0.2:")


def test_reverse_run_reads_the_receiver_side() -> None:
    run = _iperf("uplink-downstream-reverse.json")
    assert isinstance(run, Iperf3Run) and run.reverse
    raw = json.loads((DATA / "iperf3" / "uplink-downstream-reverse.json").read_text())
    assert run.goodput_bps == raw["end"]["sum_received"]["bits_per_second"]
    assert run.goodput_bps / 1e6 == pytest.approx(955.0, abs=0.1)


def test_slow_room() -> None:
    run = _iperf("room103-slow.json")
    assert isinstance(run, Iperf3Run)
    assert run.goodput_bps / 1e6 == pytest.approx(38.2, abs=0.1)  # 0.956 x 40 Mbit/s


@pytest.mark.parametrize(("name", "busy", "refused", "transient", "text"), [
    ("server-busy.json", True, False, True, "busy running a test"),
    ("control-reset.json", False, False, True, "unable to receive control message"),
    ("connection-refused.json", False, True, False, "Connection refused"),
    ("connect-timeout.json", False, False, False, "Connection timed out"),
    ("network-unreachable.json", False, False, False, "Network is unreachable"),
])
def test_failures_exit_0_but_carry_an_error(name: str, busy: bool, refused: bool, transient: bool,
                                            text: str) -> None:
    result = _iperf(name)
    assert isinstance(result, Iperf3Failure)
    assert (result.busy, result.refused, result.transient) == (busy, refused, transient)
    assert text in result.message


@pytest.mark.parametrize("text", ["", "iperf3: error - unable to connect", "[1, 2]", '{"end": {}}'])
def test_not_iperf3_json(text: str) -> None:
    with pytest.raises(Iperf3ParseError):
        parse_iperf3_json(text)


def test_demo_switch_walk() -> None:
    pairs = parse_snmpwalk_numeric((DATA / "snmp" / "demo-access-sw.walk").read_text())
    table = build_if_table(pairs)
    assert sorted(table) == [1, 2, 6, 7, 8, 9, 10, 11]
    uplink = find_port(table, "GigabitEthernet0/0/1")
    assert uplink is not None and uplink.index == 6 and uplink.speed_mbps == 1000
    assert uplink.oper_status == "up" and uplink.alias == "uplink-to-isp"
    spare = find_port(table, "ethernet0/0/4")  # case-insensitive
    assert spare is not None and spare.admin_status == "up" and spare.oper_status == "down"
    legacy = find_port(table, "Ethernet0/0/5")
    assert legacy is not None and legacy.speed_mbps == 10
    assert find_port(table, "Ethernet0/0/9") is None


def test_real_snmpd_on_veth() -> None:
    pairs = parse_snmpwalk_numeric((DATA / "snmp" / "snmpd-veth.walk").read_text())
    table = build_if_table(pairs)
    lo = find_port(table, "lo")
    assert lo is not None and lo.speed_mbps == 10
    veths = [r for r in table.values() if r.name and r.name.startswith("ca-")]
    assert veths
    for row in veths:
        assert row.speed_bps == 4294967295  # Gauge32 ceiling
        assert row.speed_mbps == 10000  # ifHighSpeed wins
        assert row.alias == ""


def test_walk_text_variants() -> None:
    text = (".1.3.6.1.2.1.2.2.1.8.3 = INTEGER: up(1)\n"
            ".1.3.6.1.2.1.2.2.1.7.3 = INTEGER: 2\n"
            ".1.3.6.1.2.1.31.1.1.1.1.3 = STRING: \"Gi0/3\"\n"
            ".1.3.6.1.2.1.31.1.1.1.18.3 = \"\"\n"
            ".1.3.6.1.2.1.2.2.1.5.3 = Gauge32: 100000000\n")
    row = build_if_table(parse_snmpwalk_numeric(text))[3]
    assert (row.oper_status, row.admin_status, row.name, row.alias) == ("up", "down", "Gi0/3", "")
    assert row.speed_mbps == 100
