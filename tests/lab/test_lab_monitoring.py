"""The monitoring demo at a smaller scale (``python -m auditor.lab.monitoring --schools 1 --pace
quick``): one namespace school with a real ``auditor monitor run`` in its agent namespace, a
district server in its own namespace, signed DingTalk and Feishu robots on loopback.

The demo throttles the school's uplink with ``tc`` to a tenth of its contract (the district
shows it degraded, the robots are told, the throttle is lifted and a test run beside the monitor:
live, the recovery is told), then cuts the uplink at the firewall (down, told; restored: live,
told), and checks the provider's contract report against the times it throttled and cut. Here,
independently of the demo's own check: the order of the states the district showed, every robot
request accepted by a server that verifies the platforms' signatures, no robot secret in the
delivery log, and the contract report (its JSON, its page and its XLSX) naming the throttled tests
and the outage within one monitoring interval of the cut and the repair. Runs alone (bandwidth
tier): its throughput tests are invalid on a machine whose CPUs are busy. About 2 minutes.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from auditor.lab.monitoring import DING_SECRET, DING_TOKEN, FEISHU_SECRET, FEISHU_TOKEN, PACES
from tests.support.cli import run_cli
from tests.support.lab import cannot_build_lab

pytestmark = [pytest.mark.lab, pytest.mark.bandwidth]
PREFIX = "mt"  # school mta, district mtd-district: a prefix no other test uses
CODE = "DEMO-0001"
PACE = PACES["quick"]
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Run:
    out: Path
    res: subprocess.CompletedProcess[str]

    @property
    def story(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.out / "monitoring-demo.json").read_text(encoding="utf-8"))
        return doc

    def event_at(self, needle: str) -> datetime:
        (hit,) = [e for e in self.story["events"] if needle in e["what"]]
        return datetime.fromisoformat(hit["at"])


def _demo(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "auditor.lab.monitoring", "--prefix", PREFIX, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    reason = cannot_build_lab()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("monitoring-demo")
    try:
        res = _demo("--schools", "1", "--pace", "quick", "--no-screenshots", "--out", str(out), timeout=900)
        yield Run(out, res)
    finally:
        _demo("--down", timeout=300)


def test_the_demo_ran_and_checked_its_contract_report(run: Run) -> None:
    assert run.res.returncode == 0, run.res.stdout[-3000:] + run.res.stderr[-3000:]
    assert "Traceback" not in run.res.stderr
    verdict = "the contract report names the throttled tests and the outage the demo made"
    assert run.story["verdict"] == [verdict]


def test_the_district_showed_degraded_then_down_and_live_after_each(run: Run) -> None:
    states = [e["state"] for e in run.story["events"] if e.get("state")]
    # from the first live on: degraded (throttled), live, down (cut), and live again at the end
    seen = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert "degraded" in seen and "down" in seen
    first_degraded, first_down = seen.index("degraded"), seen.index("down")
    assert "live" in seen[first_degraded:first_down]
    assert seen[-1] == "live"
    why = [e["why"] for e in run.story["events"] if e.get("state") == "degraded"]
    assert any("below" in w and "contract" in w for w in why), why  # the tests, not loss
    tests = [e["what"] for e in run.story["events"] if re.search(r"throughput test (down|up):", e["what"])]
    assert len([t for t in tests if "invalid" not in t]) >= 4, tests  # throttled, then repaired


def test_the_robots_heard_each_alert_and_each_recovery_signed(run: Run) -> None:
    sent = [c["line"] for c in run.story["checks"]]
    for kind in ("firing", "resolved"):
        for rule in ("school-degraded", "school-down"):
            for channel in ("ops (dingtalk)", "it (feishu)"):
                line = f"sent {kind} {rule}/{CODE} to {channel}: ok"
                assert line in sent, (line, sent)
    lines = (run.out / "robots.jsonl").read_text(encoding="utf-8").splitlines()
    robots = [json.loads(line) for line in lines]
    assert len(robots) >= 8
    # the loopback servers check the signature over timestamp and secret, the message types and the
    # length limits; an accepted request is errcode 0 (DingTalk) or code 0 (Feishu)
    assert all(r["status"] == 200 and not (r["answer"].get("errcode") or r["answer"].get("code"))
               for r in robots), robots
    texts = "\n".join(r["text"] for r in robots)
    assert "学校出口中断" in texts and "学校网络降级" in texts and CODE in texts
    log = _cli("alerts", "log", "--alerts", str(run.out / "alerts" / "alerts.yaml"))
    assert log.count("\n") >= 8
    for secret in (DING_TOKEN, DING_SECRET, FEISHU_TOKEN, FEISHU_SECRET):
        assert secret not in log and secret not in run.res.stdout and secret not in texts


def _cli(*args: str) -> str:
    env = {"DEMO_DING_TOKEN": DING_TOKEN, "DEMO_DING_SECRET": DING_SECRET,
           "DEMO_FEISHU_TOKEN": FEISHU_TOKEN, "DEMO_FEISHU_SECRET": FEISHU_SECRET}
    res = run_cli(*args, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_the_contract_report_names_the_throttled_tests_and_the_outage(run: Run) -> None:
    report = run.story["report"]
    (row,) = [r for r in report["rows"] if r["school"] == CODE]
    throttled, lifted = run.event_at("tc limits the uplink"), run.event_at("throttle lifted")
    cut, back = run.event_at("the uplink to the provider is cut"), run.event_at("the uplink is back")
    slow = [datetime.fromisoformat(at).replace(tzinfo=UTC) for at, *_rest in row["slow"]]
    assert len(slow) >= 2 and all(throttled <= at <= lifted for at in slow), (slow, throttled, lifted)
    assert row["tests"] >= 4 and row["below"] == len(slow)
    (outage,) = [o for o in row["outages"] if datetime.fromisoformat(o[0]).replace(tzinfo=UTC) >= cut
                 - timedelta(seconds=5)]
    start, end = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in outage[:2])
    step = timedelta(seconds=PACE.interval_s + 5)
    assert cut - timedelta(seconds=5) <= start <= cut + step, (start, cut)
    assert back - timedelta(seconds=5) <= end <= back + step, (end, back)
    assert row["hours_unreachable"] == pytest.approx((end - start).total_seconds() / 3600)
    # the page and the workbook say the same, in the school's time
    page = (run.out / "contract-report.html").read_text(encoding="utf-8")
    local = start.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    assert CODE in page and local in page and "中断时段" in page
    book = load_workbook(io.BytesIO((run.out / "contract-report.xlsx").read_bytes()))
    outages = [r for r in book["中断时段"].iter_rows(min_row=3, values_only=True) if r[0] == CODE]
    assert local in [r[3] for r in outages]
    slow_rows = [r for r in book["低于合同速率的测试"].iter_rows(min_row=2, values_only=True) if r[0] == CODE]
    assert len(slow_rows) == len(slow)
    assert all(float(str(r[5])) < float(str(r[6])) for r in slow_rows)
