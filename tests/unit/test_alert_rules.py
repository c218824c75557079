"""The rules ``auditor alerts check`` evaluates besides the school states (``auditor.alerts.rules``),
on their pure parts (what the district's queries return, as data): each fires, stays quiet and
recovers through the engine; their text is Chinese or English as the alerts file asks; a bad
setting names its file, line and field. Also the files the dashboard shares with the alert
engine: the state it reads and the acknowledgement lines it appends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auditor.alerts.config import AlertsConfig, load_alerts
from auditor.alerts.dispatch import Alerter
from auditor.alerts.engine import Engine, Evaluation
from auditor.alerts.monitoring import evaluations as state_evaluations
from auditor.alerts.rules import (
    Comparison,
    OpenJob,
    ReachSum,
    School,
    UplinkTests,
    View,
    certificate_evaluations,
    job_evaluations,
    loss_evaluations,
    recent_tests,
    regression_evaluations,
    throughput_evaluations,
)
from auditor.district import alerts_web
from auditor.district.config import Monitoring
from auditor.district.monitoring import MonRow
from auditor.errors import InputError

NOW = dt.datetime(2026, 9, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
UTC_NOW = NOW.replace(tzinfo=None)
MIN = dt.timedelta(minutes=1)
ZH, EN = View(NOW), View(NOW, "en", link="https://d.example.cn")
SCHOOL = School("DEMO-0001", "实验小学", "海淀区")
HOOK = {"webhook": {"ops": {"url": "http://127.0.0.1:9/hook"}}}


def config(**rules: dict[str, Any]) -> AlertsConfig:
    given = {k: {"channels": ["ops"], **v} for k, v in rules.items()}
    return AlertsConfig.model_validate({**HOOK, "rules": given})


def rule_of(cfg: AlertsConfig, rule_id: str) -> Any:
    return cfg.rules[rule_id]


def kinds(engine: Engine, now: dt.datetime, evals: list[Evaluation]) -> list[str]:
    out = engine.step(now, evals)
    for m in out:
        engine.commit(m, now, True)
    return [f"{m.kind} {','.join(m.keys)}" for m in out]


# ---------------------------------------------------------------------------- throughput


def test_throughput_fires_for_k_of_the_last_m_tests_below_the_contract_share_and_recovers() -> None:
    cfg = config(**{"throughput-below-contract": {"percent": 80, "k": 2, "m": 4}})
    rule = rule_of(cfg, "throughput-below-contract")

    def tests(*mbps: float) -> list[UplinkTests]:
        return [UplinkTests(SCHOOL, "wan1", "中国电信", "down", 500, mbps),
                UplinkTests(SCHOOL, "wan1", "中国电信", "up", 100, (95.0,))]

    slow = throughput_evaluations(tests(300, 390, 450, 410, 100), "throughput-below-contract", rule, ZH)
    down, up = slow
    assert (down.subject, down.firing, up.firing) == ("DEMO-0001/wan1/down", True, False)
    assert down.text == ("实验小学（DEMO-0001）链路 wan1（中国电信）下行："
                         "最近 4 次有效测试中 2 次低于合同速率 500 Mbit/s 的 80%，"
                         "实测 300、390、450、410 Mbit/s")  # the fifth test is older than m
    (en, _up) = throughput_evaluations(tests(300, 390, 450, 410), "throughput-below-contract", rule, EN)
    assert en.text == ("实验小学 (DEMO-0001) uplink wan1 (中国电信) downstream: 2 of the last 4 valid tests "
                       "below 80% of the contracted 500 Mbit/s; measured 300, 390, 450, 410 Mbit/s")
    assert en.link == "https://d.example.cn/dashboard/monitoring/schools/DEMO-0001"
    # one slow test of four: not k
    quiet = throughput_evaluations(tests(300, 450, 450, 410), "throughput-below-contract", rule, ZH)
    assert not any(e.firing for e in quiet)
    engine = Engine.from_config(cfg)
    assert kinds(engine, NOW, slow) == ["firing throughput-below-contract/DEMO-0001/wan1/down"]
    assert kinds(engine, NOW + MIN, slow) == []
    assert kinds(engine, NOW + 2 * MIN, quiet) == ["resolved throughput-below-contract/DEMO-0001/wan1/down"]


def test_the_recent_tests_cache_is_read_newest_first_up_to_now() -> None:
    epoch = dt.datetime(1970, 1, 1)
    at = [int((UTC_NOW - epoch).total_seconds()) + d for d in (60, 0, -60, -120)]  # one in the future
    recent = ",".join(f"{s}:{v}" for s, v in zip(at, (1, 2, 3, 4), strict=True))
    assert recent_tests(recent, 2, UTC_NOW) == [2.0, 3.0]
    assert recent_tests("", 4, UTC_NOW) == []


# ---------------------------------------------------------------------------- loss


def test_reach_loss_fires_above_the_threshold_is_not_judged_on_too_few_probes_and_recovers() -> None:
    cfg = config(**{"reach-loss": {"percent": 10, "window": "20m", "min_probes": 20}})
    rule = rule_of(cfg, "reach-loss")
    lossy = loss_evaluations([ReachSum(SCHOOL, 100, 85)], "reach-loss", rule, ZH)
    assert [(e.subject, e.firing) for e in lossy] == [("DEMO-0001", True)]
    assert lossy[0].text == "实验小学（DEMO-0001）丢包率 15.0%，超过 10%（最近 20 分钟，100 个探测包）"
    (en,) = loss_evaluations([ReachSum(SCHOOL, 100, 85)], "reach-loss", rule, EN)
    assert en.text == "实验小学 (DEMO-0001): loss 15.0% is above 10% (last 20 min, 100 probes)"
    exactly = loss_evaluations([ReachSum(SCHOOL, 100, 90)], "reach-loss", rule, ZH)
    assert [e.firing for e in exactly] == [False]  # above, not at
    assert loss_evaluations([ReachSum(SCHOOL, 10, 0)], "reach-loss", rule, ZH) == []  # too few: no verdict
    engine = Engine.from_config(cfg)
    assert kinds(engine, NOW, lossy) == ["firing reach-loss/DEMO-0001"]
    assert kinds(engine, NOW + MIN, []) == []  # the agent fell silent: the alert keeps its state
    assert kinds(engine, NOW + 2 * MIN, exactly) == ["resolved reach-loss/DEMO-0001"]


# ---------------------------------------------------------------------------- audit regressions


def _compared(scores: dict[str, tuple[float, float, float]] | None = None, failed: list[str] | None = None,
              ) -> list[Comparison]:
    return [Comparison(SCHOOL, "run-2", UTC_NOW - 60 * MIN, scores=scores or {}, failed=failed or [])]


def test_an_audit_regression_fires_on_a_fallen_score_or_checks_that_passed_and_fail_now() -> None:
    cfg = config(**{"audit-regression": {"score_drop": 1, "list_checks": 2}})
    rule = rule_of(cfg, "audit-regression")
    fell = _compared({"beijing-smart-campus-2023": (86.0, 82.5, 100.0)},
                     ["device.telnet_off core-sw", "ports.no_exposed_admin 10.1.0.1", "backup.fresh nas"])
    (ev,) = regression_evaluations(fell, "audit-regression", rule, ZH)
    assert ev.firing and ev.subject == "DEMO-0001"
    assert ev.text == ("实验小学（DEMO-0001）审计结果退步（审计 run-2，2026-09-07 09:00）："
                       "北京市智慧校园得分从 86 降到 82.5（满分 100）；"
                       "上次通过、本次不通过的检查 3 项：device.telnet_off core-sw、"
                       "ports.no_exposed_admin 10.1.0.1、等 1 项")
    (en,) = regression_evaluations(fell, "audit-regression", rule, EN)
    assert en.text.startswith("实验小学 (DEMO-0001): the audit got worse (run run-2, 2026-09-07 09:00): the "
                              "Beijing score fell from 86 to 82.5 of 100; 3 check(s) passed last time")
    assert en.link == "https://d.example.cn/dashboard/schools/DEMO-0001"
    # a fall within score_drop and no failed check: no regression
    small = _compared({"beijing-smart-campus-2023": (86.0, 85.5, 100.0)})
    assert [e.firing for e in regression_evaluations(small, "audit-regression", rule, ZH)] == [False]
    only_checks = _compared(failed=["backup.fresh nas"])
    (checks,) = regression_evaluations(only_checks, "audit-regression", rule, ZH)
    assert checks.firing and "得分" not in checks.text and "backup.fresh nas" in checks.text
    engine = Engine.from_config(cfg)
    assert kinds(engine, NOW, regression_evaluations(fell, "audit-regression", rule, ZH)) == [
        "firing audit-regression/DEMO-0001"]
    assert kinds(engine, NOW + MIN, []) == []  # the run aged out of max_age: not evaluated, still firing
    assert kinds(engine, NOW + 2 * MIN, regression_evaluations(small, "audit-regression", rule, ZH)) == [
        "resolved audit-regression/DEMO-0001"]  # a newer run without a regression


# ---------------------------------------------------------------------------- certificates


def _pem(path: Path, *days: float, cn: str = "district.example") -> Path:
    """A PEM file with one self-signed certificate per entry of ``days``, each ending then."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    out = b""
    for d in days:
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=400))
                .not_valid_after(NOW + dt.timedelta(days=d)).sign(key, hashes.SHA256()))
        out += cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(out)
    return path


def test_a_certificate_expiring_within_d_days_fires_and_a_renewed_one_recovers(tmp_path: Path) -> None:
    cfg = config(**{"certificate-expiring": {"days": 30}})
    rule = rule_of(cfg, "certificate-expiring")
    soon = _pem(tmp_path / "server.pem", 400, 12.5)  # a chain: the earliest end counts
    far = _pem(tmp_path / "ca.pem", 3000, cn="district CA")
    gone = _pem(tmp_path / "old.pem", -2)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    found = certificate_evaluations([soon, far, gone, garbage, tmp_path / "missing.pem"],
                                    "certificate-expiring", rule, ZH)
    got = {Path(e.subject).name: e for e in found}
    assert {k for k, e in got.items() if e.firing} == {"server.pem", "old.pem", "garbage.pem", "missing.pem"}
    assert got["server.pem"].text == f"证书 {soon}（district.example）将于 2026-09-19 22:00 到期，还剩 12 天"
    assert got["old.pem"].text == f"证书 {gone}（district.example）已于 2026-09-05 10:00 过期"
    assert got["missing.pem"].text.startswith(f"无法读取证书 {tmp_path / 'missing.pem'}：")
    assert got["server.pem"].school == ""  # about no school: the message names none
    (en,) = certificate_evaluations([soon], "certificate-expiring", rule, EN)
    assert en.text == f"certificate {soon} (district.example) expires on 2026-09-19 22:00, in 12 day(s)"
    engine = Engine.from_config(cfg)
    assert kinds(engine, NOW, [got["server.pem"]]) == [f"firing certificate-expiring/{soon}"]
    (message,) = [m for m in Engine.from_config(cfg).step(NOW, [got["server.pem"]])]
    assert message.alert.school is None
    _pem(soon, 400)  # renewed
    assert kinds(engine, NOW + MIN, certificate_evaluations([soon], "certificate-expiring", rule, ZH)) == [
        f"resolved certificate-expiring/{soon}"]


# ---------------------------------------------------------------------------- jobs


def _job(status: str = "pending", due: float = -60, **kw: Any) -> OpenJob:
    return OpenJob(kw.pop("id", "a1b2c3d4-0000"), "DEMO-0001", "beijing-smart-campus-2023", status,
                   UTC_NOW + due * MIN, **kw)


def test_a_job_not_picked_up_fires_until_the_agent_claims_it() -> None:
    cfg = config(**{"job-not-picked-up": {"after": "30m", "lookback": "1d"}})
    rule = rule_of(cfg, "job-not-picked-up")
    known = {"DEMO-0001": SCHOOL, "DEMO-0002": School("DEMO-0002", "二中")}

    def run(jobs: list[OpenJob], claims: dict[str, dt.datetime] | None = None,
            view: View = ZH) -> list[Evaluation]:
        return job_evaluations(known, jobs, claims or {}, "job-not-picked-up", rule, view)

    waiting = run([_job(due=-45)])
    assert [(e.subject, e.firing) for e in waiting] == [("DEMO-0001", True), ("DEMO-0002", False)]
    assert waiting[0].text == ("实验小学（DEMO-0001）有远程检查未被审计代理领取："
                               "a1b2c3d4（beijing-smart-campus-2023）"
                               "自 2026-09-07 09:15 起可执行，已等待 45 分钟")
    assert not run([_job(due=-10)])[0].firing  # within `after`
    # the window closed before the agent claimed it, and the agent has not been back since
    closed = _job("expired", due=-180, not_after=UTC_NOW - 60 * MIN)
    (en, _other) = run([closed], view=EN)
    assert en.firing and en.text == ("实验小学 (DEMO-0001) has jobs its agent did not pick up: a1b2c3d4 "
                                     "(beijing-smart-campus-2023): its window closed at 2026-09-07 09:00 "
                                     "before the agent claimed it")
    assert not run([closed], {"DEMO-0001": UTC_NOW - 5 * MIN})[0].firing  # the agent is back
    # claimed, and the lease ran out without a result
    lapsed = _job("claimed", due=-300, claimed_at=UTC_NOW - 200 * MIN, lease_until=UTC_NOW - 40 * MIN)
    assert "租约于 2026-09-07 09:20 到期仍无结果" in run([lapsed])[0].text
    assert not run([_job("claimed", claimed_at=UTC_NOW, lease_until=UTC_NOW + 60 * MIN)])[0].firing
    engine = Engine.from_config(cfg)
    assert kinds(engine, NOW, waiting) == ["firing job-not-picked-up/DEMO-0001"]
    assert kinds(engine, NOW + MIN, run([])) == ["resolved job-not-picked-up/DEMO-0001"]


# ---------------------------------------------------------------------------- the school states' text


def test_the_school_states_read_in_the_alerts_files_language() -> None:
    rows = [MonRow("A", "甲校", "", state="down"), MonRow("B", "乙校", "", state="degraded", loss=0.12),
            MonRow("C", "丙校", "", state="silent", last_heartbeat=dt.datetime(2026, 9, 7, 1, 30))]
    got = {e.subject: e.text for e in state_evaluations(rows, lang="en", monitoring=Monitoring()) if e.firing}
    assert got == {"A": "甲校 (A) is down: every reach probe of the last 15 min was lost",
                   "B": "乙校 (B) is degraded: loss 12.0% over the last 30 min",
                   "C": "丙校 (C): no heartbeat from its agent since 2026-09-07 09:30"}
    zh = {e.subject: e.text for e in state_evaluations(rows) if e.firing}
    assert zh["B"] == "乙校（B）网络质量下降：最近 30 分钟丢包率 12.0%"


# ---------------------------------------------------------------------------- the alerts file


@pytest.mark.parametrize(("rules", "expected"), [
    ("throughput-below-contract: {channels: [ops], k: 5, m: 3}",
     "rules.throughput-below-contract.k: k (5) is more than m (3)"),
    ("throughput-below-contract: {channels: [ops], percent: 120}",
     "rules.throughput-below-contract.percent: Input should be less than or equal to 100"),
    ("reach-loss: {channels: [ops], window: 3d}",
     "rules.reach-loss.window: write a window between 1m and 1d"),
    ("reach-loss: {channels: [ops], precent: 5}", "rules.reach-loss.precent: unknown field"),
    ("audit-regression: {channels: [ops], max_age: soon}",
     "rules.audit-regression.max_age: write a duration"),
    ("certificate-expiring: {channels: [ops], days: 0}",
     "rules.certificate-expiring.days: Input should be greater than or equal to 1"),
    ("job-not-picked-up: {channels: [ops], after: 0s}",
     "rules.job-not-picked-up.after: write a duration above zero"),
    ("school-down: {channels: [ops], percent: 5}", "rules.school-down.percent: unknown field"),
])
def test_a_rules_bad_setting_names_its_line_and_field(tmp_path: Path, rules: str, expected: str) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(f"version: 1\nwebhook:\n  ops: {{url: 'http://127.0.0.1:9/x'}}\nrules:\n  {rules}\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_alerts(path)
    assert f"{path}:5: {expected}" in str(err.value)


def test_every_rule_loads_with_its_defaults(tmp_path: Path) -> None:
    cfg = config(**{r: {} for r in ("throughput-below-contract", "reach-loss", "audit-regression",
                                    "certificate-expiring", "job-not-picked-up", "school-down")})
    t = rule_of(cfg, "throughput-below-contract")
    assert (t.percent, t.k, t.m) == (80, 2, 4)
    assert rule_of(cfg, "reach-loss").window == 30 * MIN
    assert rule_of(cfg, "audit-regression").max_age == dt.timedelta(days=7)
    assert rule_of(cfg, "certificate-expiring").days == 30
    assert rule_of(cfg, "job-not-picked-up").after == 30 * MIN


# ---------------------------------------------------------------------------- shared with the dashboard


def test_the_dashboard_reads_the_state_and_its_acknowledgement_stops_the_reminders(tmp_path: Path) -> None:
    cfg = config(**{"reach-loss": {"repeat": "1h"}})
    alerter = Alerter(cfg, {}, tmp_path)
    firing = loss_evaluations([ReachSum(SCHOOL, 100, 50)], "reach-loss", rule_of(cfg, "reach-loss"), ZH)
    alerter.run(NOW, firing)
    (shown,) = alerts_web.read_alerts(tmp_path)
    assert (shown.key, shown.state, shown.severity, shown.acked_by) == ("reach-loss/DEMO-0001", "firing",
                                                                       "warning", None)
    assert shown.since == NOW and "丢包率 50.0%" in shown.text
    # an acknowledgement of an earlier incident of the same alert is ignored, this one applies
    alerts_web.append_ack(tmp_path, "reach-loss", "DEMO-0001", (NOW - MIN).isoformat(), "someone", NOW)
    alerts_web.append_ack(tmp_path, "reach-loss", "DEMO-0001", shown.started, "王老师", NOW + MIN)
    (waiting,) = alerts_web.read_alerts(tmp_path)
    assert (waiting.acked_by, waiting.ack_waiting) == ("王老师 (dashboard)", True)
    engine = alerter.load()
    assert engine.records["reach-loss/DEMO-0001"].acked_by == "王老师 (dashboard)"
    assert [m.kind for m in engine.plan(NOW + 2 * dt.timedelta(hours=1))] == []  # no reminder
    lines = (tmp_path / alerts_web.ACKS_NAME).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["via"] == "dashboard"
    alerter.run(NOW + 3 * MIN, firing)
    (applied,) = alerts_web.read_alerts(tmp_path)
    assert (applied.acked_by, applied.ack_waiting) == ("王老师 (dashboard)", False)
