"""The alert rules against a real district (SQLite, ``auditor district serve`` over HTTPS): an
enrolled school's signed samples (slow throughput, lossy reach), two uploaded bundles (the second
one worse), a job its agent does not pick up and a certificate about to expire. ``auditor alerts
check``, a real child process, fires each rule to a DingTalk robot on loopback that checks the
signature; the school's next tests and its agent's poll recover two of them. Then the dashboard,
in headless Chromium, shows the firing alerts and acknowledges one through its form; the next
check applies the acknowledgement."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auditor.district.tlsgen import make_tls
from auditor.lab.chatbots import Platforms, Robot, chat_platforms
from auditor.lab.district_harness import Server, cli
from auditor.wire.monitoring import SampleBatch
from tests.support.cli import run_cli
from tests.support.district import (
    DistrictEnv,
    School,
    clean,
    dashboard_page,
    enrol_school,
    make_bundle,
    upload,
    visit,
)

TOKEN, SECRET = "ding-token-rules-never-logged", "SEC-rules-signing-secret-never-logged"
SECRETS = {"DING_TOKEN": TOKEN, "DING_SECRET": SECRET}
CODE = "ALR-1"
RULES = ("throughput-below-contract", "reach-loss", "audit-regression", "certificate-expiring",
         "job-not-picked-up")


@dataclass
class World:
    env: DistrictEnv
    school: School
    robots: Platforms
    alerts: Path
    first: str  # what the first check printed


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _batch(seq: int, samples: list[dict[str, Any]]) -> SampleBatch:
    now = _now()
    return SampleBatch.model_validate({
        "schema": "campus-auditor/samples 1", "school": CODE, "agent": f"agent-{CODE}",
        "batch_id": str(uuid.uuid4()), "seq": seq, "sent_at": now.isoformat(),
        "contracts": [{"uplink": "wan1", "provider": "中国电信", "down_mbps": 500, "up_mbps": 100}],
        "samples": [{"kind": "heartbeat", "at": now.isoformat()}, *samples]})


def _tests(mbps: float, n: int, direction: str = "down", ago: int = 1) -> list[dict[str, Any]]:
    now = _now()
    return [{"kind": "throughput", "at": (now - dt.timedelta(minutes=10 * i + ago)).isoformat(),
             "target": "wan1", "uplink": "wan1", "direction": direction, "mbps": mbps, "bytes": 10**7,
             "valid": True}
            for i in range(n)]


def _expiring(path: Path, days: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "collector.example.cn")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=300))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def check(world_alerts: Path, env: DistrictEnv) -> str:
    res = run_cli("alerts", "check", "--home", str(env.home), "--link", env.server.url, env=SECRETS)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    return res.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("alert-rules")
    home, alerts = base / "home", base / "alerts" / "alerts.yaml"
    res = cli("district", "--home", str(home), "init", "--db", f"sqlite:///{base / 'district.db'}")
    assert res.returncode == 0, res.stderr
    with (home / "district.yaml").open("a", encoding="utf-8") as fh:
        fh.write("alerts_file: ../alerts/alerts.yaml\n")  # relative to district.yaml's folder
    make_tls(base / "tls", ["127.0.0.1", "localhost"])
    server = Server(home, tls_dir=base / "tls").start()
    env = DistrictEnv(base, home, f"sqlite:///{base / 'district.db'}", res.stdout.strip(), server)
    try:
        with chat_platforms() as robots:
            robots.add(Robot("dingtalk", TOKEN, SECRET))
            alerts.parent.mkdir()
            _expiring(alerts.parent / "collector.pem", 5)
            alerts.write_text(f"""\
version: 1
dingtalk:
  ops: {{base: "{robots.dingtalk}", msgtype: text,
        access_token: {{env: DING_TOKEN}}, secret: {{env: DING_SECRET}}}}
rules:
  throughput-below-contract: {{title: 低于合同速率, percent: 80, k: 2, m: 4, channels: [ops]}}
  reach-loss: {{title: 丢包, percent: 10, window: 30m, min_probes: 10, channels: [ops]}}
  audit-regression: {{title: 审计退步, channels: [ops]}}
  certificate-expiring: {{title: 证书即将到期, days: 30, files: [collector.pem], channels: [ops]}}
  job-not-picked-up: {{title: 远程检查未被领取, after: 30m, channels: [ops]}}
""", encoding="utf-8")
            school = enrol_school(env, CODE)
            reach = [{"kind": "reach", "at": (_now() - dt.timedelta(minutes=5 * i)).isoformat(),
                      "target": "metro", "uplink": "wan1", "method": "tcp", "sent": 5, "received": 3,
                      "rtt_ms": 4.0} for i in range(4)]
            school.client.post_samples(_batch(1, [*reach, *_tests(120, 3, ago=60), *_tests(95, 2, "up")]))
            bundles = env.base / "bundles"
            day = dt.timedelta(days=1)
            upload(school, make_bundle(
                bundles / "one", school.signer, CODE, "回归测试学校", started=_now() - 2 * day,
                edit=lambda s: s.set_group_score("beijing-smart-campus-2023", "smart-env.facilities", 2)))
            upload(school, make_bundle(
                bundles / "two", school.signer, CODE, "回归测试学校", started=_now() - day,
                edit=lambda s: s.set_finding("bandwidth.classroom_goodput", "classroom/room101/downstream",
                                             "fail")))
            job = env.admin_call("POST", "/v1/admin/jobs", {
                "school": CODE, "profiles": ["beijing-smart-campus-2023"],
                "not_before": (_now() - dt.timedelta(hours=1)).isoformat()})
            assert job.status_code == 201, job.text
            yield World(env, school, robots, alerts, check(alerts, env))
    finally:
        server.stop()


def _texts(robots: Platforms) -> list[str]:
    return [str(r.json()["text"]["content"]) for r in robots.requests]


def test_each_rule_fires_to_the_robot_and_two_recover(world: World) -> None:
    for rule in RULES:
        assert f"firing {rule}/" in world.first, world.first
        assert f"sent firing {rule}/" in world.first and "FAILED" not in world.first, world.first
    fired = "\n".join(_texts(world.robots))
    assert "ALR-1（ALR-1）链路 wan1（中国电信）下行：" \
           "最近 3 次有效测试中 3 次低于合同速率 500 Mbit/s 的 80%，实测 120、120、120 Mbit/s" in fired
    assert "上行" not in fired  # 95 of 100 Mbit/s upstream is within the contract share
    assert "ALR-1（ALR-1）丢包率 40.0%，超过 10%（最近 30 分钟，20 个探测包）" in fired
    assert "回归测试学校（ALR-1）审计结果退步" in fired  # enrolled without a name: the report's
    assert "北京市智慧校园得分从 2 降到 0（满分 100）" in fired
    assert "上次通过、本次不通过的检查 1 项：" \
           "bandwidth.classroom_goodput classroom/room101/downstream" in fired
    assert f"证书 {world.alerts.parent / 'collector.pem'}（collector.example.cn）将于" in fired
    assert "还剩 4 天" in fired
    assert "有远程检查未被审计代理领取" in fired and "已等待 60 分钟" in fired
    assert f"{world.env.server.url}/dashboard/schools/ALR-1" in fired  # links to the dashboard
    # the school's tests are back within the contract, and its agent polls and claims the job
    world.school.client.post_samples(_batch(2, _tests(480, 4)))
    assert len(world.school.client.call("GET", "/v1/jobs")["jobs"]) == 1
    out = check(world.alerts, world.env)
    assert "sent resolved throughput-below-contract/ALR-1/wan1/down to ops (dingtalk): ok" in out, out
    assert "sent resolved job-not-picked-up/ALR-1 to ops (dingtalk): ok" in out, out
    assert "sent firing" not in out  # the others still fire: nothing is sent twice
    log = run_cli("alerts", "log", "--home", str(world.env.home), env=SECRETS)
    assert log.returncode == 0 and log.stdout.count('"ok": true') >= 7
    for text in (log.stdout, world.first, out):
        assert TOKEN not in text and SECRET not in text


def test_the_dashboard_shows_the_firing_alerts_and_acknowledges_one(world: World) -> None:
    env = world.env
    with dashboard_page(env, "/dashboard/alerts") as (pg, loads):
        seen = visit(pg, loads, f"{env.server.url}/dashboard/alerts")
        clean(env, seen)
        row = pg.locator("#alerts tr", has=pg.locator("code", has_text="reach-loss"))
        assert row.count() == 1
        assert "告警中" in row.inner_text() and "丢包率 40.0%" in row.inner_text()
        row.locator("input[name=by]").fill("王老师")
        row.locator("input[type=submit]").click()
        pg.wait_for_load_state("load")
        assert "/dashboard/alerts" in pg.url and "acked=" in pg.url
        row = pg.locator("#alerts tr", has=pg.locator("code", has_text="reach-loss"))
        assert "已确认 王老师 (dashboard)" in " ".join(row.inner_text().split())
        assert "下次检查时生效" in row.inner_text()
        session = next(c["value"] for c in pg.context.cookies() if c["name"] == "auditor_session")
        form = {k: row.locator(f"input[name={k}]").count() for k in ("csrf",)}
        assert form == {"csrf": 0}  # acknowledged: the form is gone
        other = pg.locator("#alerts tr", has=pg.locator("code", has_text="audit-regression"))
        fields = {k: other.locator(f"input[name={k}]").get_attribute("value")
                  for k in ("csrf", "rule", "subject", "started")}
        # the next check applies it: the page shows who, without the waiting note
        check(world.alerts, env)
        visit(pg, loads, f"{env.server.url}/dashboard/alerts?lang=en")
        row = pg.locator("#alerts tr", has=pg.locator("code", has_text="reach-loss"))
        assert "acknowledged 王老师 (dashboard)" in " ".join(row.inner_text().split())
        assert "applies at the next check" not in row.inner_text()
    # the form's protections: the session, its token and this origin
    with env.http() as http:
        good = {**fields, "by": "李老师", "lang": "zh"}
        assert http.post("/dashboard/alerts/ack", data=good).status_code == 303  # no session: to the login
        http.cookies.set("auditor_session", session)
        assert http.post("/dashboard/alerts/ack", data={**good, "csrf": "0" * 64}).status_code == 403
        assert http.post("/dashboard/alerts/ack", data=good,
                         headers={"origin": "https://evil.example"}).status_code == 403
        assert http.post("/dashboard/alerts/ack", data={**good, "subject": "NOPE"}).status_code == 404
        done = http.post("/dashboard/alerts/ack", data=good)
        assert done.status_code == 303 and done.headers["location"].startswith("/dashboard/alerts?")
    state = (world.alerts.parent / "alerts-acks.jsonl").read_text(encoding="utf-8")
    assert state.count("\n") == 2 and "李老师" in state
