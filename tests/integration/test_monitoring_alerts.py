"""From a school's samples to a message on the phone, and back: a real district server (SQLite)
ingests an enrolled school's signed sample batches; ``auditor alerts check`` turns the school's
state into alerts and delivers them to a DingTalk robot on loopback that checks the signature as
DingTalk documents it; when the school's probes answer again the down alert recovers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.chatbots import Platforms, Robot, chat_platforms
from auditor.wire.monitoring import SampleBatch
from tests.support.cli import run_cli
from tests.support.district import DistrictEnv, enrol_school, start_district

TOKEN, SECRET = "ding-token-e2e", "SEC-e2e-signing-secret"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistrictEnv]:
    base = tmp_path_factory.mktemp("monitoring-alerts")
    district = start_district(base, f"sqlite:///{base / 'district.db'}")
    try:
        yield district
    finally:
        district.server.stop()


@pytest.fixture
def robots() -> Iterator[Platforms]:
    with chat_platforms() as server:
        server.add(Robot("dingtalk", TOKEN, SECRET))
        yield server


def _batch(school: str, seq: int, received: int) -> SampleBatch:
    now = datetime.now(UTC).replace(microsecond=0)
    samples: list[dict[str, Any]] = [{"kind": "heartbeat", "at": now.isoformat()}]
    samples += [{"kind": "reach", "at": (now - timedelta(seconds=30 * i)).isoformat(),
                 "target": "uplink/metro", "method": "tcp", "sent": 5, "received": received,
                 "rtt_ms": 3.0 if received else None} for i in range(3)]
    return SampleBatch.model_validate({
        "schema": "campus-auditor/samples 1", "school": school, "agent": f"agent-{school}",
        "batch_id": str(uuid.uuid4()), "seq": seq, "sent_at": now.isoformat(),
        "contracts": [{"uplink": "uplink", "provider": "电信", "down_mbps": 1000, "up_mbps": 100}],
        "samples": samples})


def test_a_cut_link_alerts_the_robot_and_its_recovery_follows(env: DistrictEnv, robots: Platforms,
                                                             tmp_path: Path) -> None:
    school = enrol_school(env, "ALERT-1")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(f"""\
version: 1
dingtalk:
  ops: {{base: "{robots.dingtalk}", access_token: {{env: DING_TOKEN}}, secret: {{env: DING_SECRET}}}}
rules:
  school-down: {{title: 学校断网, severity: critical, channels: [ops]}}
  school-silent: {{title: 审计代理无心跳, severity: warning, channels: [ops]}}
""", encoding="utf-8")
    secrets = {"DING_TOKEN": TOKEN, "DING_SECRET": SECRET}

    def check() -> str:
        res = run_cli("alerts", "check", "--alerts", str(alerts), "--home", str(env.home), env=secrets)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "Traceback" not in res.stderr
        return res.stdout

    # every probe of the last minutes lost: down, and the robot hears of it (signed, accepted)
    assert school.client.post_samples(_batch(school.code, 1, received=0)).accepted == 4
    out = check()
    assert "ALERT-1 down" in out and "sent firing school-down/ALERT-1 to ops (dingtalk): ok" in out
    (fired,) = robots.requests
    text = fired.json()["text"]["content"] if fired.json()["msgtype"] == "text" \
        else fired.json()["markdown"]["text"]
    assert "学校断网" in text and "ALERT-1" in text
    # still down: nothing sent twice
    assert "sent" not in check() and len(robots.requests) == 1
    # the probes answer again: the down alert recovers (loss over the half hour keeps it degraded,
    # which no rule of this file alerts on)
    assert school.client.post_samples(_batch(school.code, 2, received=5)).accepted == 4
    out = check()
    assert "ALERT-1 degraded" in out and "sent resolved school-down/ALERT-1 to ops (dingtalk): ok" in out
    assert len(robots.requests) == 2
    # every delivery is recorded, without the robot's token or signing secret
    log = run_cli("alerts", "log", "--alerts", str(alerts), env=secrets)
    assert log.returncode == 0 and log.stdout.count("\n") == 2
    assert TOKEN not in log.stdout and SECRET not in log.stdout
    assert TOKEN not in out and SECRET not in out
