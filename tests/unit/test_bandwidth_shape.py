"""Bandwidth with its shape: retransmits and round-trip time from the recorded real iperf3 JSON
(None, never 0, when iperf3 did not measure them), the rows the report shows, and the trend
sparkline (valid SVG, no script or link, an accessible title, the same bytes every time)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from auditor.facts import AgentNic, FactKind, Goodput, GoodputRun, fact_data
from auditor.inventory import Inventory
from auditor.model import Artifact
from auditor.plugins import ProbeTask
from auditor.probes.iperf3 import (
    Iperf3BandwidthProbe,
    Iperf3Settings,
    Rtt,
    _run_record,
    sender_rtt,
    summary,
)
from auditor.probes.parsers.iperf3_json import Iperf3Run, parse_iperf3_json
from auditor.reports import charts
from auditor.reports.i18n import labels
from tests.support.paths import DATA

IPERF3 = DATA / "iperf3"
DEMO = DATA / "reports" / "demo-report-2026-12-06.json"  # recorded before the path's shape was kept
SVG = "{http://www.w3.org/2000/svg}"
INV = Inventory.model_validate({
    "school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
    "uplink": {"endpoints": [{"id": "district", "address": "10.200.0.2"}],
               "port": {"device": "core", "port": "GigabitEthernet0/0/1"}},
    "classrooms": [{"id": "room103", "name": "103", "endpoint": {"address": "10.200.13.2"},
                    "access_port": {"device": "core", "port": "Ethernet0/0/1"}}],
    "devices": [{"id": "core", "address": "10.200.9.2", "vendor": "huawei",
                 "snmp": {"version": "2c", "community": {"env": "C"}}}],
})
ARTIFACT = Artifact("evidence/iperf3/run.json", "0" * 64, 1, "application/json", "run")


def _text(name: str) -> str:
    return (IPERF3 / name).read_text(encoding="utf-8")


def _run(text: str) -> Iperf3Run:
    run = parse_iperf3_json(text)
    assert isinstance(run, Iperf3Run)
    return run


def _record(text: str) -> GoodputRun:
    return _run_record(_run(text), ARTIFACT, sender_rtt(text))


def _without_shape(name: str) -> str:
    """A recorded run as an iperf3 sender without TCP_INFO writes it (not Linux): no
    ``retransmits`` and no RTT fields at all."""
    doc = json.loads(_text(name))
    doc["end"]["sum_sent"].pop("retransmits")
    for stream in doc["end"]["streams"]:
        for key in ("retransmits", "max_snd_cwnd", "max_snd_wnd", "max_rtt", "min_rtt", "mean_rtt"):
            stream["sender"].pop(key)
    return json.dumps(doc)


def _task(subject: str) -> ProbeTask:
    return next(t for t in Iperf3BandwidthProbe().plan(INV, Iperf3Settings()) if t.target == subject)


def _summary(subject: str, records: list[GoodputRun]) -> Goodput:
    settings = Iperf3Settings()
    return summary(_task(subject), settings, ["iperf3"], records, AgentNic(name="eth0", speed_mbps=0),
                   [10.0] * len(records), [])


# ---------------------------------------------------------------------------- the iperf3 JSON


def test_rtt_of_recorded_runs_where_the_client_sent() -> None:
    assert sender_rtt(_text("uplink-upstream.json")) == Rtt(mean_ms=2.748, min_ms=1.653, max_ms=3.834)
    assert sender_rtt(_text("room103-slow.json")) == Rtt(mean_ms=7.78, min_ms=7.546, max_ms=8.01)


def test_reverse_mode_has_no_rtt_though_iperf3_writes_zeros() -> None:
    """With -R the client receives: iperf3 3.12 writes mean/min/max_rtt 0 (no samples)."""
    text = _text("uplink-downstream-reverse.json")
    sender = json.loads(text)["end"]["streams"][0]["sender"]
    assert (sender["mean_rtt"], sender["min_rtt"], sender["max_rtt"], sender["sender"]) == (0, 0, 0, False)
    assert sender_rtt(text) is None
    record = _record(text)
    assert record.rtt_ms is None and record.rtt_min_ms is None and record.rtt_max_ms is None
    assert record.retransmits == 0  # the server's count, sent back to the client: a measurement


@pytest.mark.parametrize("name", ["server-busy.json", "connection-refused.json", "control-reset.json"])
def test_failed_runs_have_no_rtt(name: str) -> None:
    assert sender_rtt(_text(name)) is None


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"end": []}', '{"end": {"streams": 3}}',
                                  '{"end": {"streams": [{"sender": {"mean_rtt": "12"}}]}}'])
def test_rtt_of_odd_documents_is_none(text: str) -> None:
    assert sender_rtt(text) is None


def test_a_run_without_the_fields_gives_none_never_zero() -> None:
    text = _without_shape("uplink-upstream.json")
    assert _run(text).retransmits is None
    assert sender_rtt(text) is None
    record = _record(text)
    assert (record.retransmits, record.rtt_ms, record.rtt_min_ms, record.rtt_max_ms) == (None,) * 4
    data = _summary("uplink/district/upstream", [record, record])
    assert data.retransmits is None and data.rtt_ms is None
    written = fact_data(data)
    assert written["retransmits"] is None and written["rtt_ms"] is None  # written, as null


def test_rtt_without_the_sender_flag_counts_unless_reverse() -> None:
    """Older iperf3 versions do not write the ``sender`` flag: the test's own ``reverse`` decides."""
    doc = json.loads(_text("room103-slow.json"))
    del doc["end"]["streams"][0]["sender"]["sender"]
    assert sender_rtt(json.dumps(doc)) == Rtt(7.78, 7.546, 8.01)
    doc["start"]["test_start"]["reverse"] = 1
    assert sender_rtt(json.dumps(doc)) is None


def test_several_streams_mean_of_means_lowest_min_highest_max() -> None:
    doc = json.loads(_text("uplink-upstream.json"))
    second = copy.deepcopy(doc["end"]["streams"][0])
    second["sender"].update(mean_rtt=4000, min_rtt=1000, max_rtt=9000)
    doc["end"]["streams"].append(second)
    assert sender_rtt(json.dumps(doc)) == Rtt(mean_ms=3.374, min_ms=1.0, max_ms=9.0)


# ---------------------------------------------------------------------------- the fact


def test_summary_sums_retransmits_and_averages_rtt() -> None:
    up = _text("uplink-upstream.json")
    records = [_record(up), _record(up).model_copy(update={"retransmits": 7, "rtt_ms": 3.0})]
    data = _summary("uplink/district/upstream", records)
    assert data.retransmits == 7 and isinstance(data.retransmits, int)
    assert data.rtt_ms == pytest.approx((2.748 + 3.0) / 2, abs=1e-3)


def test_one_run_without_a_count_makes_the_sum_unknown() -> None:
    up = _text("uplink-upstream.json")
    bare = _record(_without_shape("uplink-upstream.json"))
    data = _summary("uplink/district/upstream", [_record(up), bare])
    assert data.retransmits is None  # a sum over some runs would understate
    assert data.rtt_ms == 2.748  # the mean of the runs that measured it


def test_reverse_summary_keeps_retransmits_and_has_no_rtt() -> None:
    rev = _text("uplink-downstream-reverse.json")
    data = _summary("uplink/district/downstream", [_record(rev)] * 3)
    assert data.reverse_mode is True and data.retransmits == 0 and data.rtt_ms is None


def test_fact_round_trips_and_older_facts_still_validate() -> None:
    data = _summary("classroom/room103/downstream", [_record(_text("room103-slow.json"))])
    written = fact_data(data)
    assert written["rtt_ms"] == 7.78 and written["retransmits"] == 0
    assert written["runs"][0]["rtt_min_ms"] == 7.546 and written["runs"][0]["rtt_max_ms"] == 8.01
    assert fact_data(Goodput.model_validate(written)) == written
    report = json.loads(DEMO.read_bytes())  # a real report written before these fields existed
    old = [f["data"] for f in report["facts"]
           if f["kind"] == FactKind.BANDWIDTH_GOODPUT and f["status"] == "ok"]
    assert old and all("rtt_ms" not in d and "retransmits" not in d for d in old)
    for d in old:
        model = Goodput.model_validate(d)
        assert model.retransmits is None and model.rtt_ms is None
        assert all(r.rtt_ms is None and r.rtt_min_ms is None for r in model.runs)
        again = fact_data(model)
        assert set(again) == set(d)  # no top-level field added to an old fact on the way through
        assert [{k: v for k, v in r.items() if not k.startswith("rtt")} for r in again["runs"]] == d["runs"]


# ---------------------------------------------------------------------------- the rows


def _report() -> dict[str, Any]:
    return dict(json.loads(DEMO.read_bytes()))


def _with_shape(report: dict[str, Any], subject: str, retransmits: int | None, rtt: float | None) -> None:
    fact = next(f for f in report["facts"]
                if f.get("subject") == subject and f["kind"] == "bandwidth.goodput")
    fact["data"].update(retransmits=retransmits, rtt_ms=rtt)


def test_rows_of_an_older_report_have_no_shape_and_no_trend() -> None:
    rows = charts.bandwidth_rows(_report(), labels("en"))
    assert rows
    for row in rows:
        assert row.minimum == row.low <= row.median
        assert row.retransmits is None and row.rtt_ms is None
        assert row.trend == () and row.trend_svg is None


def test_rows_carry_shape_and_trend() -> None:
    report = _report()
    subject = "classroom/room103/downstream"
    _with_shape(report, subject, 12, 7.78)
    _with_shape(report, "uplink/district/downstream", 0, None)
    report["bandwidth_history"] = {
        subject: [{"at": "2026-11-25T17:00:00Z", "median": 40.1, "run_id": "b"},
                  {"at": "2026-11-18T17:00:00Z", "median": 41.5, "run_id": "a"},
                  {"at": "bad", "median": None}, "junk"],
        "classroom/room101/downstream": [{"at": "2026-11-25T17:00:00Z", "median": 95.0}],
        "uplink/district/upstream": [],
    }
    rows = {r.subject: r for r in charts.bandwidth_rows(report, labels("zh"))}
    room = rows[subject]
    assert (room.retransmits, room.rtt_ms) == (12, 7.78)
    assert room.trend == (("2026-11-18T17:00:00Z", 41.5), ("2026-11-25T17:00:00Z", 40.1))
    assert room.trend_svg is not None and "41.5" in room.trend_svg and f"{room.median:,.1f}" in room.trend_svg
    down, up = rows["uplink/district/downstream"], rows["uplink/district/upstream"]
    assert (down.retransmits, down.rtt_ms) == (0, None)
    assert rows["classroom/room101/downstream"].trend_svg is not None  # one earlier run and this one
    assert up.trend == () and up.trend_svg is None
    no_labels = {r.subject: r for r in charts.bandwidth_rows(report)}
    assert no_labels[subject].trend == room.trend and no_labels[subject].trend_svg is None


# ---------------------------------------------------------------------------- the sparkline


POINTS = [("2026-09-01T08:00:00Z", 38.2), ("2026-09-08T08:00:00Z", 37.9), ("2026-09-15T08:00:00Z", 20.5)]


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sparkline_is_small_plain_accessible_svg(lang: str) -> None:
    svg = charts.sparkline(POINTS, labels(lang), "room103/downstream")
    assert svg is not None
    root = _tree(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("120", "24", "0 0 120 24")
    assert root.get("role") == "img"
    lowered = svg.lower()
    assert "<script" not in lowered and "href" not in lowered and "url(" not in lowered
    assert "id=" not in svg and " on" not in lowered.replace(" one", "")  # no ids, no event handlers
    title = root.find(f"{SVG}title")
    assert title is not None and title.text is not None
    assert root[0] is title  # the accessible name comes first
    lab = labels(lang)
    assert (lab.get("trend") or lab["median"]) in title.text and "room103/downstream" in title.text
    for text in ("2026-09-01 08:00 38.2", "2026-09-08 08:00 37.9", "2026-09-15 08:00 20.5", "Mbit/s"):
        assert text in title.text
    line = root.find(f"{SVG}polyline")
    assert line is not None
    xy = [tuple(map(float, p.split(","))) for p in (line.get("points") or "").split()]
    assert len(xy) == len(POINTS)
    assert all(0 <= x <= 120 and 0 <= y <= 24 for x, y in xy)
    assert [x for x, _y in xy] == sorted(x for x, _y in xy)  # oldest on the left
    assert xy[2][1] > xy[0][1]  # the drop goes down
    dot = root.find(f"{SVG}circle")
    assert dot is not None and (float(dot.get("cx") or 0), float(dot.get("cy") or 0)) == xy[-1]


def test_sparkline_is_deterministic_and_needs_two_points() -> None:
    lab = labels("en")
    assert charts.sparkline(POINTS, lab, "x") == charts.sparkline(list(POINTS), dict(lab), "x")
    assert charts.sparkline(POINTS[:1], lab, "x") is None
    assert charts.sparkline([], lab, "x") is None


def test_sparkline_says_trend_when_the_page_has_that_label_else_median() -> None:
    svg = charts.sparkline(POINTS, {**labels("en"), "trend": "Trend of earlier runs"}, "x")
    assert svg is not None and "Trend of earlier runs" in svg
    without = {k: v for k, v in labels("en").items() if k != "trend"}
    svg = charts.sparkline(POINTS, without, "x")
    assert svg is not None and f"x — {without['median']} (Mbit/s)" in svg


def test_sparkline_escapes_the_name_and_draws_flat_and_zero_series() -> None:
    svg = charts.sparkline([("a", 0.0), ("b", 0.0)], labels("en"), 'room <1> & "2"')
    assert svg is not None
    title = _tree(svg).find(f"{SVG}title")
    assert title is not None and title.text is not None and 'room <1> & "2"' in title.text
    flat = charts.sparkline([("a", 50.0), ("b", 50.0), ("c", 50.0)], labels("en"), "x")
    assert flat is not None
    line = _tree(flat).find(f"{SVG}polyline")
    assert line is not None and len({p.split(",")[1] for p in (line.get("points") or "").split()}) == 1
