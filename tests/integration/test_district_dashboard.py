"""The dashboard in headless Chromium against a real server: sign-in, the schools overview (Chinese
by default, English with ?lang=en; stale and never-audited schools marked), the comparison view,
drill-down into a run's own report.html, and the CSV exports. Every page loads with no console
error and no request outside the server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.browser import PageLoad, require_chromium
from tests.support.district import (
    DistrictEnv,
    clean,
    dashboard_page,
    enrol_school,
    make_bundle,
    start_district,
    upload,
    visit,
)
from tests.support.history_bundles import Synth

NOW = datetime.now(UTC).replace(microsecond=0)


def _fast(synth: Synth) -> None:
    synth.set_goodput("uplink/district/downstream", 951.5)
    synth.set_goodput("classroom/room103/downstream", 95.0)


def _slow(synth: Synth) -> None:
    synth.set_goodput("uplink/district/downstream", 612.25)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    require_chromium()
    base = tmp_path_factory.mktemp("dashboard")
    district = start_district(base, f"sqlite:///{base / 'district.db'}")
    try:
        a = enrol_school(district, "DB-A")
        b = enrol_school(district, "DB-B")
        c = enrol_school(district, "DB-C")
        enrol_school(district, "DB-NEVER")
        upload(
            a,
            make_bundle(base / "a0", a.signer, "DB-A", "甲学校", started=NOW - timedelta(days=3), html=True),
        )
        upload(
            a,
            make_bundle(
                base / "a1",
                a.signer,
                "DB-A",
                "甲学校",
                started=NOW - timedelta(hours=2),
                html=True,
                edit=_fast,
            ),
        )
        upload(
            b,
            make_bundle(base / "b1", b.signer, "DB-B", "乙学校", started=NOW - timedelta(days=1), edit=_slow),
        )
        upload(c, make_bundle(base / "c1", c.signer, "DB-C", "丙学校", started=NOW - timedelta(days=90)))
        yield district
    finally:
        district.server.stop()


@pytest.fixture(scope="module")
def page(env: DistrictEnv) -> Iterator[tuple[Any, list[PageLoad]]]:
    with dashboard_page(env, "/dashboard") as opened:
        yield opened


def test_sign_in_is_required(env: DistrictEnv) -> None:
    with env.http() as http:
        got = http.get("/dashboard", follow_redirects=False)
        assert got.status_code == 303 and got.headers["location"].startswith("/dashboard/login")
        bad = http.post(
            "/dashboard/login",
            content=b"token=wrong",
            follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert bad.status_code == 303 and "failed=true" in bad.headers["location"]
        assert http.get("/dashboard/runs/x/report.html", follow_redirects=False).status_code == 303


def test_overview(
    env: DistrictEnv, page: tuple[Any, list[PageLoad]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    pg, loads = page
    seen = visit(pg, loads, f"{env.server.url}/dashboard")
    clean(env, seen)
    assert pg.locator("html").get_attribute("lang") == "zh-CN"
    assert pg.locator("h1").inner_text() == "学校"
    rows = {r.get_attribute("id"): r for r in pg.locator("#schools tbody tr").all()}
    assert set(rows) == {"school-DB-A", "school-DB-B", "school-DB-C", "school-DB-NEVER"}
    assert "甲学校" in rows["school-DB-A"].inner_text() and "/ 100" in rows["school-DB-A"].inner_text()
    assert "stale" in (rows["school-DB-C"].get_attribute("class") or "")
    assert "stale" not in (rows["school-DB-A"].get_attribute("class") or "")
    assert "从未审计" in rows["school-DB-NEVER"].inner_text()
    assert "带宽" in rows["school-DB-B"].inner_text()  # failures by category
    assert "符合" in rows["school-DB-A"].inner_text()  # GB/T verdicts
    shot = tmp_path_factory.mktemp("shots") / "dashboard.png"
    pg.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    seen = visit(pg, loads, f"{env.server.url}/dashboard?lang=en")
    clean(env, seen)
    assert pg.locator("h1").inner_text() == "Schools" and "never audited" in pg.content()


def test_compare(env: DistrictEnv, page: tuple[Any, list[PageLoad]]) -> None:
    pg, loads = page
    visit(pg, loads, f"{env.server.url}/dashboard")
    pg.check("input[value=DB-A]")
    pg.check("input[value=DB-B]")
    loads.append(PageLoad("compare"))
    pg.click("input[type=submit]")
    pg.wait_for_load_state("load")
    clean(env, loads[-1])
    table = pg.locator("#compare").inner_text()
    assert "951.5 Mbit/s" in table and "612.2 Mbit/s" in table
    assert "教室带宽达标率" in table
    assert pg.locator("#indicators tbody tr").count() > 0
    seen = visit(pg, loads, f"{env.server.url}/dashboard/compare?school=DB-A&school=DB-B&all=1&lang=en")
    clean(env, seen)
    assert "Uplink goodput" in pg.content()


def test_drill_down_to_the_schools_report(env: DistrictEnv, page: tuple[Any, list[PageLoad]]) -> None:
    pg, loads = page
    visit(pg, loads, f"{env.server.url}/dashboard/schools/DB-A")
    clean(env, loads[-1])
    assert pg.locator("#runs tbody tr").count() == 2
    loads.append(PageLoad("report"))
    pg.locator("#runs a").first.click()
    pg.wait_for_load_state("load")
    clean(env, loads[-1])
    assert pg.url.endswith("/report.html") and "甲学校" in pg.locator("h1").first.inner_text()
    with env.http() as http:
        got = http.get(pg.url.replace(env.server.url, ""), headers={"authorization": f"Bearer {env.admin}"})
        assert "sandbox" in got.headers["content-security-policy"]
        escape = http.get(
            pg.url.replace(env.server.url, "").replace("report.html", "../../../district.yaml"),
            headers={"authorization": f"Bearer {env.admin}"},
        )
        assert escape.status_code == 404


def _csv(env: DistrictEnv, path: str) -> list[dict[str, str]]:
    got = env.admin_call("GET", path)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"))))


def test_csv_exports(env: DistrictEnv) -> None:
    schools = {r["code"]: r for r in _csv(env, "/dashboard/schools.csv")}
    assert set(schools) == {"DB-A", "DB-B", "DB-C", "DB-NEVER"}
    assert schools["DB-C"]["stale"] == "1" and schools["DB-A"]["stale"] == "0"
    assert schools["DB-NEVER"]["latest_run"] == "" and schools["DB-A"]["beijing_possible"] == "100.0"
    assert int(schools["DB-B"]["fail_bandwidth"]) >= 1
    rows = _csv(env, "/dashboard/compare.csv?school=DB-A&school=DB-B")
    uplink = next(r for r in rows if r["item"] == "uplink/district/downstream")
    assert (float(uplink["DB-A"]), float(uplink["DB-B"])) == (951.5, 612.25)
    assert any(r["kind"] == "indicator" for r in rows)
