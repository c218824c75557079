"""Monitoring between audits against a real district server (SQLite and PostgreSQL): signed sample
batches in (accepted, duplicate, wrong school, invalid, too large, unsigned), the contract report's
figures on a small data set worked out by hand, the Prometheus endpoint and the Grafana dashboard
that reads it, and the monitoring pages in headless Chromium (no console error, nothing fetched
from outside the server)."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, select

from auditor.district import monitoring as mon
from auditor.district.config import Monitoring
from auditor.district.db import open_database
from auditor.district.models import MonSample, MonTest
from auditor.wire.client import ServerError
from auditor.wire.monitoring import SampleBatch
from tests.support.browser import PageLoad
from tests.support.district import (
    DistrictEnv,
    School,
    clean,
    dashboard_page,
    db_url_for,
    enrol_school,
    start_district,
    visit,
)
from tests.support.paths import ROOT

NOW = datetime.now(UTC).replace(microsecond=0)
BJ = timedelta(hours=8)  # Asia/Shanghai: the district's default school-day zone
GRAFANA = ROOT / "docs" / "grafana" / "campus-auditor-monitoring.json"
TELECOM = [{"uplink": "wan1", "provider": "电信", "down_mbps": 1000, "up_mbps": 100}]


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-``day`` ``hour``:``minute`` in Beijing, as UTC (2026-11-02 is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - BJ


def batch(
    school: str, samples: list[dict[str, Any]], contracts: list[dict[str, Any]] | None = None, seq: int = 1
) -> dict[str, Any]:
    return {
        "schema": "campus-auditor/samples 1",
        "school": school,
        "agent": f"agent-{school}",
        "batch_id": str(uuid.uuid4()),
        "seq": seq,
        "sent_at": NOW.isoformat(),
        "contracts": contracts or [],
        "samples": samples,
    }


def tput(at: datetime, direction: str, mbps: float, valid: bool = True) -> dict[str, Any]:
    return {
        "kind": "throughput",
        "at": at.isoformat(),
        "target": "wan1",
        "uplink": "wan1",
        "direction": direction,
        "mbps": mbps,
        "bytes": 10**7,
        "valid": valid,
        "reason": None if valid else "cross traffic",
    }


def probe(
    at: datetime, received: int, target: str = "gw", rtt: float | None = 4.0, uplink: str | None = None
) -> dict[str, Any]:
    return {
        "kind": "reach",
        "at": at.isoformat(),
        "target": target,
        "uplink": uplink,
        "method": "icmp",
        "sent": 10,
        "received": received,
        "rtt_ms": rtt if received else None,
    }


def beat(at: datetime) -> dict[str, Any]:
    return {"kind": "heartbeat", "at": at.isoformat()}


def send(school: School, body: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = school.client.call("POST", "/api/v1/samples", body)
    return answer


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    base = tmp_path_factory.mktemp(f"monitoring-{request.param}")
    district = start_district(base, db_url_for(request, base))
    try:
        yield district
    finally:
        district.server.stop()


@pytest.fixture(scope="module")
def schools(env: DistrictEnv) -> dict[str, School]:
    """The known data set of November 2026 (school day 07:00–18:00 Beijing, Monday to Friday).

    MA (电信, 1000/100): school-day valid tests down 950 (below), 1010, 600 (below), up 120, 80
    (below): 5 tests, 3 below = 60 %; down median 950, p10 600 + 0.2 × 350 = 670; up median 100,
    p10 80 + 0.1 × 40 = 84. Not counted: a Saturday test, one at 20:00, an invalid one.
    Outages of wan1 (the agent measures every 5 minutes): Mon 10:00 to 11:00 (12 probes lost,
    sent in two batches, then no sample for 95 minutes: the last stands for 5 minutes), Mon 12:30
    to 12:35 (one probe lost, nothing after it for a day), Tue 11:00 to 11:05 (lost, then
    answered at 11:05): 70 minutes. Not counted: Saturday, Mon 19:00 (after school), and the
    probes of another target ("gw", no uplink), lost on Mon 10:00 too.
    MB (电信, 500/50): down 400 (below), 500 (equal: not below): 2 tests, 1 below = 50 %; down
    median 450, p10 410; no up test; no outage (at Wed 10:00 one of wan1's two endpoints was lost,
    the other answered). Total 7 tests, 4 below = 57.1 %, 70 minutes.
    MC (联通): not in the 电信 report. LIVE and DOWN: recent data, for the overview's states."""
    out = {code: enrol_school(env, code) for code in ("MA", "MB", "MC", "LIVE", "DOWN")}
    ten = [probe(local(2, 10, 5 * i), 0, "metro", uplink="wan1") for i in range(12)]
    send(
        out["MA"],
        batch(
            "MA",
            [
                tput(local(2, 9), "down", 950),
                tput(local(2, 9), "up", 120),
                tput(local(2, 14), "down", 1010),
                tput(local(2, 14), "up", 80),
                tput(local(3, 10), "down", 600),
                tput(local(7, 10), "down", 100),
                tput(local(2, 20), "down", 50),
                tput(local(2, 11), "down", 10, False),
                *ten[:6],
                probe(local(2, 10, 2), 0),  # another target: not the uplink's
                probe(local(2, 12, 30), 0, "metro", uplink="wan1"),
                probe(local(3, 11, 0), 0, "metro", uplink="wan1"),
                probe(local(3, 11, 5), 5, "metro", uplink="wan1"),
                probe(local(7, 10), 0, "metro", uplink="wan1"),
                probe(local(2, 19), 0, "metro", uplink="wan1"),
            ],
            TELECOM,
        ),
    )
    send(out["MA"], batch("MA", ten[6:], seq=2))  # the rest of Monday 10:00, later
    send(
        out["MB"],
        batch(
            "MB",
            [
                tput(local(4, 9), "down", 400),
                tput(local(4, 15), "down", 500),
                probe(local(4, 9), 10),
                # one of wan1's two endpoints lost, the other answered: the uplink was not out
                probe(local(4, 10), 0, "metro", uplink="wan1"),
                probe(local(4, 10), 10, "backup", uplink="wan1"),
                probe(local(4, 10, 5), 10, "metro", uplink="wan1"),
            ],
            [{"uplink": "wan1", "provider": "电信", "down_mbps": 500, "up_mbps": 50}],
        ),
    )
    send(
        out["MC"],
        batch(
            "MC",
            [tput(local(4, 9), "down", 1)],
            [{"uplink": "wan1", "provider": "联通", "down_mbps": 100, "up_mbps": 10}],
        ),
    )
    recent = [NOW - timedelta(minutes=m) for m in (1, 6, 11)]
    live = batch(
        "LIVE",
        [
            *(beat(t) for t in recent),
            *(probe(t, 10, rtt=7.5) for t in recent),
            tput(recent[0], "down", 900),
            tput(recent[0], "up", 95),
        ],
        TELECOM,
    )
    live["budget"] = {"month": "2026-12", "used_bytes": 1_234_000_000, "limit_bytes": 50_000_000_000}
    send(out["LIVE"], live)
    send(
        out["DOWN"],
        batch(
            "DOWN",
            [*(beat(t) for t in recent), *(probe(t, 0) for t in recent)],
            [{"uplink": "wan1", "provider": "联通", "down_mbps": 100, "up_mbps": 10}],
        ),
    )
    return out


def counts(env: DistrictEnv, school: str) -> tuple[int, int]:
    engine = create_engine(env.db_url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(
                    select(func.count()).select_from(MonSample).where(MonSample.c.school == school)
                ).scalar_one(),
                conn.execute(
                    select(func.count()).select_from(MonTest).where(MonTest.c.school == school)
                ).scalar_one(),
            )
    finally:
        engine.dispose()


def test_ingest_signed_duplicate_wrong_school_invalid(env: DistrictEnv, schools: dict[str, School]) -> None:
    school = enrol_school(env)
    other = [{"uplink": "wan1", "provider": "测试", "down_mbps": 100, "up_mbps": 10}]
    body = batch(school.code, [beat(NOW), probe(NOW, 9), tput(NOW, "down", 10)], other)
    assert send(school, body) == {"accepted": 3, "duplicate": False}
    assert counts(env, school.code) == (2, 1)
    assert send(school, body) == {"accepted": 0, "duplicate": True}  # a retry stores nothing
    assert counts(env, school.code) == (2, 1)
    with pytest.raises(ServerError) as err:
        send(school, batch("MA", [beat(NOW)]))
    assert err.value.status == 403 and "only its own" in str(err.value)
    bad = batch(school.code, [{"kind": "reach", "at": NOW.isoformat(), "target": "gw"}])
    with pytest.raises(ServerError) as err:
        send(school, bad)
    assert err.value.status == 422 and "reach sample needs method, sent, received" in str(err.value)
    with pytest.raises(ServerError) as err:
        send(school, {**body, "batch_id": "not-a-uuid"})
    assert err.value.status == 422 and "batch_id" in str(err.value)
    with pytest.raises(ServerError) as err:
        send(school, {**body, "pad": "x" * 2_200_000})
    assert err.value.status == 413
    assert counts(env, school.code) == (2, 1)
    with env.http() as http:
        assert http.post("/api/v1/samples", json=body).status_code == 401  # unsigned


def test_contract_report_figures(env: DistrictEnv, schools: dict[str, School]) -> None:
    with env.http() as http:
        auth = {"authorization": f"Bearer {env.admin}"}
        got = http.get(
            "/dashboard/monitoring/contracts.xlsx",
            params={"provider": "电信", "month": "2026-11"},
            headers=auth,
        )
        assert got.status_code == 200, got.text
    book = load_workbook(io.BytesIO(got.content))
    sheet = book.active
    assert sheet is not None
    outages = [r[:7] for r in book["中断时段"].iter_rows(min_row=3, values_only=True)]
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in outages] == [
        ("MA", "wan1", "2026-11-02 10:00", "2026-11-02 11:00", 60, None),
        ("MA", "wan1", "2026-11-02 12:30", "2026-11-02 12:35", 5, None),
        ("MA", "wan1", "2026-11-03 11:00", "2026-11-03 11:05", 5, None),
    ]
    slow = [r[:7] for r in book["低于合同速率的测试"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in slow] == [
        ("MA", "2026-11-02 09:00", "下行", 950, 1000),
        ("MA", "2026-11-02 14:00", "上行", 80, 100),
        ("MA", "2026-11-03 10:00", "下行", 600, 1000),
        ("MB", "2026-11-04 09:00", "下行", 400, 500),
    ]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {"MA", "MB", "LIVE", "合计"}
    ma, mb, total = rows["MA"], rows["MB"], rows["合计"]
    assert ma[2:8] == ("wan1", 1000, 100, 5, 3, 0.6)
    assert ma[8] == pytest.approx(70 / 60)
    assert ma[9:13] == pytest.approx((950, 670, 100, 84))
    assert mb[2:9] == ("wan1", 500, 50, 2, 1, 0.5, 0)
    assert mb[9:13] == pytest.approx((450, 410, None, None))
    assert rows["LIVE"][5:9] == (0, 0, None, 0)  # nothing in November
    assert total[5:9] == (7, 4, pytest.approx(4 / 7), pytest.approx(70 / 60))
    # a page lists the earliest slow tests only (the counts stay complete)
    db = open_database(env.db_url)
    try:
        short = mon.contract_report(db, "电信", "2026-11", Monitoring(), slow_limit=2)
    finally:
        db.close()
    assert (short.below, short.slow_listed) == (4, 2)
    assert [t.mbps for r in short.rows for t in r.slow] == [950, 80]
    # a month whose raw samples are past their retention (90 days): its outages are unknown, not 0
    with env.http() as http:
        old = http.get(
            "/dashboard/monitoring/contracts",
            params={"provider": "电信", "month": "2026-06", "lang": "en"},
            headers={"authorization": f"Bearer {env.admin}"},
        )
    assert old.status_code == 200 and 'id="pruned"' in old.text and "past their retention" in old.text
    assert '<td class="num">—</td>' in old.text


def test_school_page_explains_the_state_and_shows_the_test_budget(
    env: DistrictEnv, schools: dict[str, School]
) -> None:
    with env.http() as http:
        auth = {"authorization": f"Bearer {env.admin}"}
        live = http.get("/dashboard/monitoring/schools/LIVE", params={"lang": "zh"}, headers=auth).text
        down = http.get("/dashboard/monitoring/schools/DOWN", params={"lang": "zh"}, headers=auth).text
    assert '<span id="budget">本月测试流量 2026-12: 1234 / 50000 MB (2.5%)</span>' in live
    # where the timeline comes from: the agent, its newest batch, what the charts stand on
    assert "监测代理 agent-LIVE 签名上传的样本，最近一批（第 1 批）" in live
    assert "本时间线基于 3 个探测样本和 2 次有效吞吐测试" in live
    assert "最近 15 分钟内链路探测全部丢失" in down and "every reach probe" not in down


def test_metrics_and_grafana(env: DistrictEnv, schools: dict[str, School]) -> None:
    with env.http() as http:
        assert http.get("/metrics/monitoring").status_code == 401
        got = http.get("/metrics/monitoring", headers={"authorization": f"Bearer {env.admin}"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    text = got.text
    exported = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert 'school_up{district="",school="LIVE"} 1.0' in text
    assert 'school_up{district="",school="DOWN"} 0.0' in text
    assert 'school_state{district="",school="DOWN",state="down"} 1.0' in text
    assert 'school_state{district="",school="MA",state="silent"} 1.0' in text
    assert (
        'uplink_throughput_mbps{direction="up",district="",provider="电信",school="LIVE",uplink="wan1"} 95.0'
        in text
    )
    assert 'reach_loss_ratio{district="",school="DOWN"} 1.0' in text
    assert 'reach_rtt_ms{district="",school="LIVE"} 7.5' in text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all(re.search(r'school="[A-Z]', s) for s in samples)  # only school labels, no per-sample ones
    named = grafana_metrics(json.loads(GRAFANA.read_text(encoding="utf-8")))
    assert named and named <= exported, named - exported


PROMQL = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "by",
    "without",
    "on",
    "ignoring",
    "time",
    "rate",
    "topk",
    "bottomk",
    "label_values",
    "and",
    "or",
    "unless",
    "group_left",
    "group_right",
}


def grafana_metrics(dashboard: dict[str, Any]) -> set[str]:
    """The metric names the dashboard's queries and variables use."""
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [
        v["query"]["query"] for v in dashboard["templating"]["list"] if isinstance(v.get("query"), dict)
    ]
    names: set[str] = set()
    for expr in exprs:
        bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|on|without|ignoring)\s*\([^)]*\)", " ", expr)
        bare = re.sub(r",\s*[a-z_]+\s*\)", ")", bare)  # label_values(metric, label)
        names |= {w for w in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if w not in PROMQL}
    return names


@pytest.fixture(scope="module")
def page(env: DistrictEnv) -> Iterator[tuple[Any, list[PageLoad]]]:
    if "sqlite" not in env.db_url:
        pytest.skip("the pages are looked at once (SQLite)")
    with dashboard_page(env, "/dashboard/monitoring") as opened:
        yield opened


def test_pages_in_chromium(
    env: DistrictEnv, schools: dict[str, School], page: tuple[Any, list[PageLoad]]
) -> None:
    pg, loads = page
    url = env.server.url
    clean(env, visit(pg, loads, f"{url}/dashboard/monitoring"))
    assert pg.locator("h1").inner_text() == "网络监测"
    ids = [r.get_attribute("id") for r in pg.locator("#monitoring tbody tr").all()]
    assert ids[0] == "mon-DOWN" and ids[-1] == "mon-LIVE"  # worst state first
    assert "中断" in pg.locator("#mon-DOWN").inner_text() and "正常" in pg.locator("#mon-LIVE").inner_text()
    assert "900 / 1000" in pg.locator("#mon-LIVE").inner_text()
    clean(env, visit(pg, loads, f"{url}/dashboard/monitoring?sort=provider&lang=en"))
    ids = [r.get_attribute("id") for r in pg.locator("#monitoring tbody tr").all()]
    assert ids.index("mon-LIVE") < ids.index("mon-DOWN")  # 电信 before 联通
    assert pg.locator("h1").inner_text() == "Monitoring"
    clean(env, visit(pg, loads, f"{url}/dashboard/monitoring/schools/LIVE"))
    assert pg.locator("svg.chart").count() == 5 and pg.locator("svg.chart circle").count() == 2
    clean(env, visit(pg, loads, f"{url}/dashboard/monitoring/contracts?provider=电信&month=2026-11&lang=en"))
    assert "60.0%" in pg.locator("#c-MA-wan1").inner_text()
    assert "57.1%" in pg.locator("#c-total").inner_text()


def test_retention_keeps_raw_90_days_and_hourly_3_years(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        ages = (10, 100, 2000)  # days
        samples = [
            s for d in ages for s in (beat(NOW - timedelta(days=d)), tput(NOW - timedelta(days=d), "up", 5))
        ]
        assert mon.ingest(db, SampleBatch.model_validate(batch("R", samples, TELECOM))).accepted == 6
        done = mon.retention(db, Monitoring(), NOW.replace(tzinfo=None))
        assert done == {"samples": 2, "tests": 2, "hourly": 2, "batches": 0}  # hourly: heartbeat + throughput
        assert mon.retention(db, Monitoring(raw_days=5), NOW.replace(tzinfo=None))["samples"] == 1
    finally:
        db.close()
