"""The monitoring timeline of an audit's report (``report["monitoring"]``): the summary of a local
monitor store the tests fill with samples, the evidence rule (no store, an empty store, another
school's store, samples outside the window, a store that cannot be read: no data, with the
reason), and what the pages make of it (``view.monitoring_view``, the SVGs)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.inventory import Inventory
from auditor.monitor.report_summary import KEY, add_monitoring, monitoring_hook, summarise
from auditor.monitor.store import DB_NAME, Store
from auditor.reports import charts
from auditor.reports.i18n import labels
from auditor.reports.view import monitoring_view
from auditor.runner import REPORT_SCHEMA_VERSION
from auditor.wire.monitoring import Sample
from auditor.wire.outages import target_outages

SCHOOL = "T-1"
# The audit starts at 10:00 in Beijing on Monday 7 December 2026; the window is 1 to 7 December.
END = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
INV = Inventory.model_validate({
    "school": {"name": "测试学校", "code": SCHOOL},
    "scope": {"allow": ["10.200.0.0/16"]},
    "schedule": {"timezone": "Asia/Shanghai"},
    "uplink": {"id": "wan1", "endpoints": [{"id": "metro", "address": "10.200.0.2"},
                                          {"id": "backup", "address": "10.200.0.3"}],
               "contract": {"provider": "中国电信", "down_mbps": 500, "up_mbps": 100}},
    "other_uplinks": [{"id": "wan2", "endpoints": [{"id": "cu", "address": "10.200.0.4"}]}],
    "monitoring": {"interval_min": 60, "dns_names": ["www.bjedu.cn"],
                   "throughput": {"monthly_budget_mb": 1000}},
})


def _fill(directory: Path, samples: list[Sample], school: str = SCHOOL, agent: str = "box-1") -> None:
    """Samples stored and batched as the monitor's tick does (the batch names school and agent)."""
    store = Store(directory)
    try:
        store.add(samples)
        store.make_batch(END, school, agent, (), None)
    finally:
        store.close()


def _reach(at: datetime, target: str, uplink: str | None, received: int, rtt: float | None = 3.0) -> Sample:
    return Sample(kind="reach", at=at, target=target, uplink=uplink, method="icmp", sent=5, received=received,
                  rtt_ms=rtt if received else None)


def _hours(first: datetime, last: datetime) -> list[datetime]:
    out, at = [], first
    while at < last:
        out.append(at)
        at += timedelta(hours=1)
    return out


def _week(directory: Path) -> None:
    """Hourly rounds from 3 December 02:00 (Beijing 10:00) up to the audit, with: an outage of wan1
    (both endpoints unanswered) 5 December 20:00-23:00 UTC, one endpoint alone down before it (no
    outage), a 6-hour silence of the monitor on 6 December, DNS failures, throughput tests."""
    samples: list[Sample] = []
    silent = (datetime(2026, 12, 6, 0, 0, tzinfo=UTC), datetime(2026, 12, 6, 6, 0, tzinfo=UTC))
    for at in _hours(datetime(2026, 12, 3, 2, 0, tzinfo=UTC), END):
        if silent[0] <= at < silent[1]:
            continue
        out = datetime(2026, 12, 5, 20, tzinfo=UTC) <= at < datetime(2026, 12, 5, 23, tzinfo=UTC)
        half = datetime(2026, 12, 5, 10, tzinfo=UTC) <= at < datetime(2026, 12, 5, 12, tzinfo=UTC)
        samples += [Sample(kind="heartbeat", at=at),
                    _reach(at, "wan1/metro", "wan1", 0 if out or half else 5, 2.0),
                    _reach(at, "wan1/backup", "wan1", 0 if out else 4, 4.0),
                    _reach(at, "wan2/cu", "wan2", 5, 6.0),
                    Sample(kind="dns", at=at, target="www.bjedu.cn", ok=at.hour != 3, resolve_ms=5.0)]
    test_at = datetime(2026, 12, 4, 4, 30, tzinfo=UTC)
    samples += [
        Sample(kind="throughput", at=test_at, target="10.200.0.2:5201", uplink="wan1", direction="down",
               mbps=420.0, bytes=200_000_000, valid=True),
        Sample(kind="throughput", at=test_at, target="10.200.0.2:5201", uplink="wan1", direction="up",
               mbps=120.0, bytes=60_000_000, valid=True),
        Sample(kind="throughput", at=test_at + timedelta(hours=1), target="10.200.0.2:5201", uplink="wan1",
               direction="up", mbps=30.0, bytes=10_000_000, valid=False,
               reason="the agent's CPU was saturated (98%)"),
        Sample(kind="throughput", at=test_at, target="10.200.0.4:5201", uplink="wan2", direction="down",
               mbps=80.0, bytes=50_000_000, valid=True),
    ]
    _fill(directory, samples)
    store = Store(directory)
    store.spend("2026-12", 250_000_000)
    store.set_meta("budget_limit_bytes", str(1000 * 1_000_000))
    store.close()


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("monitor")
    _week(directory)
    return summarise(directory, INV, END)


# ------------------------------------------------------------------ the summary


def test_the_window_is_seven_school_days_up_to_the_audit(week: dict[str, Any]) -> None:
    assert week["status"] == "data" and week["reason"] is None
    assert week["window"] == {"days": 7, "start": "2026-11-30T16:00:00Z", "end": "2026-12-07T02:00:00Z",
                              "timezone": "Asia/Shanghai", "interval_min": 60.0}
    assert [d["date"] for d in week["days"]] == [f"2026-12-0{n}" for n in range(1, 8)]


def test_provenance_names_the_file_counts_times_and_agent(week: dict[str, Any], tmp_path: Path) -> None:
    src = week["source"]
    assert src["path"].endswith(DB_NAME) and src["school"] == SCHOOL and src["agents"] == ["box-1"]
    rounds = 96 - 6  # hourly from 3 Dec 02:00 to 7 Dec 02:00, less the silent 6 hours
    assert src["samples"] == {"reach": 3 * rounds, "dns": rounds, "throughput": 4, "heartbeat": rounds}
    assert src["in_window"] == src["samples"]
    assert (src["first_at"], src["last_at"]) == ("2026-12-03T02:00:00Z", "2026-12-07T01:00:00Z")
    assert src["other_schools"] == {} and src["unattributed"] == 0


def test_uptime_per_day_from_heartbeats(week: dict[str, Any]) -> None:
    days = {d["date"]: d for d in week["days"]}
    for day in ("2026-12-01", "2026-12-02"):  # before the store's first sample: not "down"
        assert days[day]["before_monitoring"] and days[day]["uptime_pct"] is None
    assert days["2026-12-03"]["uptime_pct"] == 100.0  # from 10:00 (the first sample) on
    # 6 December (Beijing): silent 08:00-14:00 local (no heartbeat for 7 hours: the one before
    # stands for one interval only)
    assert days["2026-12-06"]["uptime_pct"] == 75.0
    assert days["2026-12-06"]["heartbeats"] == 24 - 6
    assert days["2026-12-07"]["uptime_pct"] == 100.0  # midnight to the audit's start
    assert week["totals"]["uptime_pct"] == round(100 * 90 / 96, 1)  # 3 Dec 10:00 to 7 Dec 10:00


def test_reach_loss_and_median_rtt_per_target_and_day(week: dict[str, Any]) -> None:
    day = {r["target"]: r for r in next(d for d in week["days"] if d["date"] == "2026-12-04")["reach"]}
    assert day["wan1/backup"] == {"target": "wan1/backup", "uplink": "wan1", "samples": 24, "sent": 120,
                                  "received": 96, "loss_pct": 20.0, "rtt_median_ms": 4.0}
    assert day["wan1/metro"]["loss_pct"] == 0.0 and day["wan2/cu"]["rtt_median_ms"] == 6.0
    fifth = {r["target"]: r for r in next(d for d in week["days"] if d["date"] == "2026-12-05")["reach"]}
    assert fifth["wan1/metro"]["received"] == 5 * (24 - 2)  # 10:00-12:00 UTC is 18:00-20:00 local
    dns = {d["date"]: d["dns"] for d in week["days"]}
    assert dns["2026-12-04"] == {"lookups": 24, "failures": 1}  # 03:00 UTC fails each day
    assert week["dns"] == [{"name": "www.bjedu.cn", "lookups": 90, "failures": 3, "resolve_median_ms": 5.0}]


def test_an_outage_is_every_endpoint_of_the_uplink_unanswered(week: dict[str, Any]) -> None:
    up = {u["id"]: u for u in week["uplinks"]}
    # metro alone was down 10:00-12:00 (backup answered): not an outage of wan1
    assert up["wan1"]["outages"] == [{"start": "2026-12-05T20:00:00Z", "end": "2026-12-05T23:00:00Z",
                                      "minutes": 180.0, "ongoing": False}]
    assert up["wan2"]["outages"] == [] and up["wan2"]["reach_samples"] == 90
    assert (up["wan1"]["provider"], up["wan1"]["down_mbps"]) == ("中国电信", 500)
    assert up["wan2"]["provider"] is None
    assert week["totals"]["outages"] == 1 and week["totals"]["outage_minutes"] == 180.0


def test_tests_against_the_contract_valid_or_why_not(week: dict[str, Any]) -> None:
    tests = {(t["uplink"], t["direction"], t["valid"]): t for t in week["throughput"]}
    down = tests[("wan1", "down", True)]
    assert (down["at"], down["mbps"], down["contracted_mbps"]) == ("2026-12-04T04:30:00Z", 420.0, 500)
    assert (down["pct_of_contract"], down["below_contract"]) == (84.0, True)
    assert tests[("wan1", "up", True)]["below_contract"] is False
    bad = tests[("wan1", "up", False)]
    assert bad["reason"] == "the agent's CPU was saturated (98%)"
    assert bad["below_contract"] is None and bad["pct_of_contract"] is None  # an invalid test is not judged
    assert tests[("wan2", "down", True)]["below_contract"] is None  # no contract for wan2: not compared
    assert next(d for d in week["days"] if d["date"] == "2026-12-04")["tests"] == \
        {"valid": 3, "invalid": 1, "below_contract": 1}
    totals = week["totals"]
    assert (totals["tests"], totals["below_contract"], totals["invalid_tests"]) == (4, 1, 1)


def test_the_months_budget(week: dict[str, Any]) -> None:
    assert week["budget"] == {"month": "2026-12", "used_bytes": 250_000_000, "limit_bytes": 1_000_000_000,
                              "used_pct": 25.0}


def test_no_store_is_no_data_with_the_path(tmp_path: Path) -> None:
    got = summarise(tmp_path / "nowhere", INV, END)
    assert (got["status"], got["reason"]) == ("no_data", "no_store")
    assert str(tmp_path / "nowhere" / DB_NAME) in got["text"]["en"] and "没有监测数据" in got["text"]["zh"]
    assert "days" not in got and "totals" not in got
    assert not (tmp_path / "nowhere").exists(), "reading never creates the store"


def test_an_empty_store_is_no_data(tmp_path: Path) -> None:
    Store(tmp_path).close()
    got = summarise(tmp_path, INV, END)
    assert (got["status"], got["reason"]) == ("no_data", "empty_store")
    assert got["source"]["samples"] == {"reach": 0, "dns": 0, "throughput": 0, "heartbeat": 0}


def test_a_store_of_another_school_is_no_data(tmp_path: Path) -> None:
    _fill(tmp_path, [Sample(kind="heartbeat", at=at) for at in _hours(END - timedelta(days=2), END)],
          school="OTHER-9")
    got = summarise(tmp_path, INV, END)
    assert (got["status"], got["reason"]) == ("no_data", "other_school")
    assert "OTHER-9" in got["text"]["en"] and SCHOOL in got["text"]["en"]
    assert got["source"]["other_schools"] == {"OTHER-9": 48}


def test_another_schools_samples_beside_ours_are_left_out(tmp_path: Path) -> None:
    _fill(tmp_path, [_reach(END - timedelta(hours=3), "wan1/metro", "wan1", 0)], school="OTHER-9")
    _fill(tmp_path, [_reach(END - timedelta(hours=2), "wan1/metro", "wan1", 5),
                     Sample(kind="heartbeat", at=END - timedelta(hours=2))])
    got = summarise(tmp_path, INV, END)
    assert got["status"] == "data" and got["source"]["other_schools"] == {"OTHER-9": 1}
    assert got["reach"][0]["sent"] == 5 and got["totals"]["loss_pct"] == 0.0


def test_samples_older_than_the_window_are_no_data(tmp_path: Path) -> None:
    old = END - timedelta(days=20)
    _fill(tmp_path, [Sample(kind="heartbeat", at=old), _reach(old, "wan1/metro", "wan1", 5)])
    got = summarise(tmp_path, INV, END)
    assert (got["status"], got["reason"]) == ("no_data", "outside_window")
    assert "2026-11-17" in got["text"]["en"] and "7 days" in got["text"]["en"]
    # a longer window reaches them
    assert summarise(tmp_path, INV, END, days=21)["status"] == "data"


def test_samples_after_the_audit_started_are_not_counted(tmp_path: Path) -> None:
    _fill(tmp_path, [Sample(kind="heartbeat", at=END + timedelta(minutes=1))])
    assert summarise(tmp_path, INV, END)["reason"] == "outside_window"


def test_without_reach_samples_outages_are_unmeasured_not_none(tmp_path: Path) -> None:
    """Heartbeats alone (no authorisation: the monitor measures nothing) say the agent ran, not that
    the link never went down."""
    _fill(tmp_path, [Sample(kind="heartbeat", at=at, reason="not measuring: the inventory has no "
                            "authorisation record") for at in _hours(END - timedelta(hours=5), END)])
    got = summarise(tmp_path, INV, END)
    assert got["status"] == "data"
    assert got["totals"]["outages"] is None and got["totals"]["loss_pct"] is None
    assert all(u["reach_samples"] == 0 and u["outages"] == [] for u in got["uplinks"])
    assert got["days"][-1]["not_measuring"] == 5


def test_an_outage_still_open_at_the_audit_is_ongoing() -> None:
    at = END - timedelta(hours=3)
    found = target_outages([_reach(at, "x", "wan1", 5), _reach(at + timedelta(hours=1), "x", "wan1", 0),
                            _reach(at + timedelta(hours=2), "x", "wan1", 0)], timedelta(hours=1))
    assert len(found) == 1 and found[0].ongoing and found[0].start == at + timedelta(hours=1)
    # a gap of more than two intervals ends it one interval after its last lost probe
    gap = target_outages([_reach(at, "x", "wan1", 0), _reach(at + timedelta(hours=4), "x", "wan1", 5)],
                         timedelta(hours=1))
    assert [(o.start, o.end, o.ongoing) for o in gap] == [(at, at + timedelta(hours=1), False)]


def test_a_store_that_cannot_be_read_is_a_warning_never_a_lost_audit(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 100)
    warnings: list[str] = []
    report = {"run": {"started_at": "2026-12-07T02:00:00Z"}, "warnings": []}
    done = add_monitoring(report, tmp_path, INV, 7, warnings.append)
    assert done[KEY]["status"] == "no_data" and done[KEY]["reason"] == "unreadable"
    assert warnings and warnings[0] in done["warnings"] and str(tmp_path / DB_NAME) in warnings[0]


def test_the_hook_reads_the_window_before_the_reports_start(week: dict[str, Any], tmp_path: Path) -> None:
    _week(tmp_path)
    report = {"run": {"started_at": "2026-12-07T02:00:00Z"}}
    assert monitoring_hook(INV, tmp_path)(report)[KEY] == {**week, "source": {
        **week["source"], "path": str(tmp_path / DB_NAME)}}
    assert REPORT_SCHEMA_VERSION == "1.2"


# ------------------------------------------------------------------ what the pages show


def _tree(svg: str | None) -> ET.Element:
    assert svg is not None
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed


def _report(section: dict[str, Any] | None) -> dict[str, Any]:
    report: dict[str, Any] = {"authorisation": {"clock": {"timezone": "Asia/Shanghai"}}}
    if section is not None:
        report[KEY] = section
    return report


def test_an_older_report_has_no_monitoring_section() -> None:
    assert monitoring_view(_report(None), "zh", labels("zh")) is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_data_shows_only_why(lang: str, tmp_path: Path) -> None:
    view = monitoring_view(_report(summarise(tmp_path / "none", INV, END)), lang, labels(lang))
    assert view is not None and view["data"] is False
    assert view["text"] == summarise(tmp_path / "none", INV, END)["text"][lang]
    assert view["window"] == "2026-12-01 00:00 — 2026-12-07 10:00"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_view_in_the_schools_time(week: dict[str, Any], lang: str) -> None:
    view = monitoring_view(_report(week), lang, labels(lang))
    assert view is not None and view["data"] is True
    assert view["outages"][0]["from"] == "2026-12-06 04:00" and view["outages"][0]["to"] == "2026-12-06 07:00"
    assert [t["when"] for t in view["below"]] == ["2026-12-04 12:30"]
    assert [t["reason"] for t in view["invalid"]] == ["the agent's CPU was saturated (98%)"]
    assert view["uncontracted"] == ["wan2"] and view["not_probed"] == []
    assert {(s["uplink"], s["direction"], s["contract"]) for s in view["strips"]} == {
        ("wan1", "down", 500), ("wan1", "up", 100), ("wan2", "down", None)}
    if lang == "zh":
        assert "监测代理在线 93.8%" in view["summary"] and "断网次数：1" in view["summary"]
    else:
        assert "up 93.8% of the time" in view["summary"] and "outages: 1." in view["summary"]
    for svg in [view["timeline_svg"], *(s["svg"] for s in view["strips"])]:
        tree = _tree(svg)
        assert tree.tag.endswith("svg") and tree.find("{http://www.w3.org/2000/svg}title") is not None
        assert "<script" not in svg and "href" not in svg and " id=" not in svg


def test_the_day_chart_marks_days_before_monitoring_and_scales_loss(week: dict[str, Any]) -> None:
    svg = charts.monitoring_days(week["days"], labels("en"))
    assert svg is not None
    title = _tree(svg).find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text is not None
    assert "2026-12-01 Uptime —" in title.text and "2026-12-06 Uptime 75.0%" in title.text
    assert svg.count('stroke-dasharray="3 2"') == 2  # the two days before the first sample
    assert charts.monitoring_days([], labels("en")) is None


def test_the_throughput_strip_draws_the_contract_and_each_test(week: dict[str, Any]) -> None:
    tests = [t for t in week["throughput"] if t["uplink"] == "wan1" and t["direction"] == "up"]
    svg = charts.throughput_strip(tests, 100, week["window"], "wan1 up", labels("en"), "Asia/Shanghai")
    assert svg is not None
    assert svg.count("<circle") == 1 and svg.count("<path") == 1  # one valid test, one invalid (a cross)
    assert 'stroke-dasharray="5 3"' in svg and ">100<" in svg
    title = _tree(svg).find("{http://www.w3.org/2000/svg}title")
    assert title is not None and "2026-12-04 12:30 120.0" in str(title.text) and "invalid" in str(title.text)
    assert charts.throughput_strip([], 100, week["window"], "x", labels("en")) is None
