"""Monitoring between audits, the pure parts: a school's state from synthetic recent data, the
percentiles, the school day, the SVG chart and the Prometheus exposition's names."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auditor.district.config import DistrictConfig, Monitoring
from auditor.district.monitoring import (
    MonRow,
    Reach,
    Tested,
    in_school_day,
    quantile,
    school_days,
    school_state,
)
from auditor.district.monitoring_web import METRICS, chart, exposition

NOW = datetime(2026, 12, 7, 2, 0)  # Monday 10:00 in Beijing
RULES = Monitoring()


def beat(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def reach(*points: tuple[float, int, int]) -> list[Reach]:
    """(minutes ago, sent, received) → reach samples."""
    return [Reach(beat(m), s, r) for m, s, r in points]


def results(*points: tuple[float, float, float]) -> list[Tested]:
    """(hours ago, Mbit/s, contracted) → valid tests."""
    return [Tested(NOW - timedelta(hours=h), mbps, c) for h, mbps, c in points]


def test_silent_without_heartbeat_or_after_two_intervals() -> None:
    assert school_state(NOW, None, [], [], RULES).state == "silent"
    assert school_state(NOW, beat(10.5), reach((1, 10, 10)), [], RULES).state == "silent"
    assert school_state(NOW, beat(9.5), reach((1, 10, 10)), [], RULES).state == "live"
    quick = Monitoring(heartbeat_interval_s=60)
    assert school_state(NOW, beat(3), [], [], quick).state == "silent"


def test_down_when_every_reach_probe_of_the_window_is_lost() -> None:
    lost = reach((1, 10, 0), (6, 10, 0), (11, 10, 0))
    verdict = school_state(NOW, beat(1), lost, [], RULES)
    assert verdict.state == "down" and "15 min" in verdict.why
    assert verdict.text is not None and verdict.text.render("zh") == "最近 15 分钟内链路探测全部丢失"
    # one probe answered within the window: not down (but 29 of 30 lost: degraded)
    assert school_state(NOW, beat(1), [*lost, *reach((12, 10, 1))], [], RULES).state == "degraded"
    # lost probes older than the window do not make it down; no reach data at all is not down
    assert school_state(NOW, beat(1), reach((20, 10, 0), (5, 10, 10)), [], RULES).state == "degraded"
    assert school_state(NOW, beat(1), [], [], RULES).state == "unmeasured"


def test_down_is_judged_on_the_uplinks_endpoints_where_there_are_any() -> None:
    """A school cut from its provider still reaches the district over the metro network: every
    probe of its uplink's endpoints lost is down, whatever the district's probe says."""
    uplink_lost = [Reach(beat(m), 5, 0, "wan1") for m in (1, 6, 11)]
    district_ok = [Reach(beat(m), 5, 5) for m in (1, 6, 11)]
    verdict = school_state(NOW, beat(1), [*uplink_lost, *district_ok], [], RULES)
    assert verdict.state == "down"
    # the uplink answers again: live, though the district's probe was lost once
    back = [Reach(beat(m), 5, 5, "wan1") for m in (1, 6, 11)]
    assert school_state(NOW, beat(1), [*back, Reach(beat(1), 5, 0)], [], RULES).state == "live"
    # one of two uplinks out: the other's endpoints answered, so not down (loss 50 %: degraded)
    other = [Reach(beat(m), 5, 5, "wan2") for m in (1, 6, 11)]
    assert school_state(NOW, beat(1), [*uplink_lost, *other], [], RULES).state == "degraded"


def test_heartbeats_alone_are_never_live() -> None:
    """The evidence rule: an agent that sends heartbeats but no reach probe (no current
    authorisation, or every endpoint out of scope) shows nothing of the school's link."""
    verdict = school_state(NOW, beat(1), [], [], RULES)
    assert verdict.state == "unmeasured" and "no reach probe" in verdict.why
    # good throughput tests do not stand in for reach either; slow ones still degrade
    fast = results((1, 950, 1000), (2, 960, 1000))
    assert school_state(NOW, beat(1), [], fast, RULES).state == "unmeasured"
    assert school_state(NOW, beat(1), [], results((1, 10, 1000), (2, 10, 1000)), RULES).state == "degraded"
    # probes older than the windows are not evidence now
    assert school_state(NOW, beat(1), reach((45, 10, 10)), [], RULES).state == "unmeasured"


def test_degraded_by_loss_above_the_threshold() -> None:
    # 5 % loss is not above 5 %; 6 % is
    assert school_state(NOW, beat(1), reach((1, 50, 50), (20, 50, 45)), [], RULES).state == "live"
    verdict = school_state(NOW, beat(1), reach((1, 50, 50), (20, 50, 44)), [], RULES)
    assert verdict.state == "degraded" and "6%" in verdict.why
    # loss older than the loss window is not counted
    assert school_state(NOW, beat(1), reach((1, 50, 50), (40, 50, 0)), [], RULES).state == "live"


def test_degraded_by_k_of_the_last_m_tests_below_the_contract_share() -> None:
    ok = reach((1, 10, 10))
    # 2 of the last 4 below 50 % of 1000: degraded
    slow = results((1, 400, 1000), (2, 900, 1000), (3, 499, 1000), (4, 950, 1000), (5, 100, 1000))
    assert school_state(NOW, beat(1), ok, slow, RULES).state == "degraded"
    # the fifth (oldest) slow test is outside the last 4: only one counts
    once = results((1, 400, 1000), (2, 900, 1000), (3, 500, 1000), (4, 950, 1000), (5, 100, 1000))
    assert school_state(NOW, beat(1), ok, once, RULES).state == "live"
    # invalid tests and tests without a contract are not judged
    invalid = [Tested(NOW, 1, 1000, valid=False), Tested(NOW, 1, 1000, valid=False), Tested(NOW, 1, None)]
    assert school_state(NOW, beat(1), ok, invalid, RULES).state == "live"
    strict = Monitoring(degraded_throughput_pct=95, degraded_k=1, degraded_m=1)
    assert school_state(NOW, beat(1), ok, results((1, 900, 1000)), strict).state == "degraded"


def test_the_worst_state_wins() -> None:
    lost = reach((1, 10, 0))
    slow = results((1, 1, 1000), (2, 1, 1000))
    assert school_state(NOW, beat(1), lost, slow, RULES).state == "down"
    assert school_state(NOW, beat(30), lost, slow, RULES).state == "silent"


def test_quantiles_interpolate_linearly() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.1) == 7.0
    assert quantile([20.0, 10.0], 0.5) == 15.0
    assert quantile([600.0, 950.0, 1010.0], 0.1) == pytest.approx(670.0)
    assert quantile([80.0, 120.0], 0.1) == pytest.approx(84.0)


def test_school_day_is_local_weekdays_between_start_and_end() -> None:
    assert in_school_day(datetime(2026, 12, 7, 2, 0), RULES)  # Mon 10:00 +08
    assert in_school_day(datetime(2026, 12, 6, 23, 0), RULES)  # Mon 07:00 +08
    assert not in_school_day(datetime(2026, 12, 7, 10, 0), RULES)  # Mon 18:00 +08
    assert not in_school_day(datetime(2026, 12, 5, 2, 0), RULES)  # Sat 10:00 +08


def test_school_days_of_a_month_are_utc_intervals() -> None:
    days = school_days("2026-11", RULES)
    assert len(days) == 21  # November 2026: 21 weekdays
    assert days[0] == (datetime(2026, 11, 1, 23, 0), datetime(2026, 11, 2, 10, 0))  # Mon 2 Nov
    assert all(in_school_day(a, RULES) and not in_school_day(b, RULES) for a, b in days)


def test_defaults_and_bounds_of_the_configuration() -> None:
    config = DistrictConfig.model_validate({"db": "sqlite://", "data_dir": "/tmp/x"})
    assert (config.monitoring.raw_days, config.monitoring.hourly_days) == (90, 1095)
    assert config.monitoring.heartbeat_interval_s == 300
    with pytest.raises(ValueError, match="school_day_start"):
        Monitoring.model_validate({"school_day_start": "25:00"})


def test_chart_is_inline_svg_with_escaped_text() -> None:
    start = datetime(2026, 12, 7)
    svg = str(
        chart(
            "<b>",
            start,
            start + timedelta(hours=2),
            [(start, 1.0), (start + timedelta(hours=1), None)],
            line=5,
            line_label="合同",
        )
    )
    assert svg.startswith("<svg") and "&lt;b&gt;" in svg and "<b>" not in svg and "stroke-dasharray" in svg
    assert ">12-07 00:00<" in svg and "12-07 02:00 UTC" in svg
    local = str(chart("t", start, start + timedelta(hours=2), [], zone=ZoneInfo("Asia/Shanghai")))
    assert ">12-07 08:00<" in local and "12-07 10:00 Asia/Shanghai" in local  # the school's time


def test_exposition_names_every_metric_and_only_enrolled_labels() -> None:
    row = MonRow(
        "S1",
        "一中",
        "东城",
        "电信",
        datetime(2026, 12, 7),
        "live",
        "",
        0.01,
        5.0,
        {"wan1": ("电信", 1000.0, 100.0)},
        {("wan1", "down"): (datetime(2026, 12, 7), 900.0)},
    )
    text = exposition([row]).decode()
    types = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert types == set(METRICS)
    assert (
        'uplink_throughput_mbps{direction="down",district="东城",provider="电信",school="S1",'
        'uplink="wan1"} 900.0' in text
    )
    assert 'school_up{district="东城",school="S1"} 1.0' in text
