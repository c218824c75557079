"""The alert engine's timing with an injected clock (no sleeps, no network): ``for``, de-duplication,
reminders, recovery, grouping, quiet hours and maintenance, acknowledgement, retry after a failed
delivery, and a restart that sends nothing twice; plus the pure pieces of the channels
(signatures, byte limits, the rate limit) and the alerts file's validation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from auditor.alerts.channels import (
    Alert,
    Delivery,
    DingTalkRobot,
    Layout,
    RateLimiter,
    dingtalk_sign,
    feishu_sign,
    fit_body,
    truncate_utf8,
)
from auditor.alerts.config import AlertsConfig, DingTalkSettings, load_alerts
from auditor.alerts.dispatch import Alerter
from auditor.alerts.engine import Engine, EngineState, Evaluation, Mute, Outgoing, Rule, windows
from auditor.errors import InputError
from auditor.secrets import SecretResolver

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 9, 7, 9, 0, tzinfo=CST)  # a Monday, 09:00 school time
MIN = dt.timedelta(minutes=1)


def rule(**kw: Any) -> Rule:
    return Rule(**{"id": "offline", "title": "学校离线", "severity": "critical", "channels": ("ops",), **kw})


def fire(subject: str = "DEMO-0001", firing: bool = True, rule_id: str = "offline",
         **kw: Any) -> Evaluation:
    return Evaluation(rule_id, subject, firing, text=kw.pop("text", "最近 10 分钟无心跳"), **kw)


def sent(engine: Engine, now: dt.datetime, *evals: Evaluation, ok: bool = True) -> list[Outgoing]:
    """One tick: observe, plan, and commit every message as delivered (or not)."""
    out = engine.step(now, evals)
    for message in out:
        engine.commit(message, now, ok)
    return out


# ---------------------------------------------------------------------------- timing


def test_an_alert_waits_for_its_for_duration_and_a_blip_is_never_sent() -> None:
    engine = Engine({"offline": rule(for_=10 * MIN)})
    assert sent(engine, T0, fire()) == []
    assert sent(engine, T0 + 5 * MIN, fire()) == []
    (msg,) = sent(engine, T0 + 10 * MIN, fire())
    assert msg.kind == "firing" and msg.channels == ("ops",) and msg.keys == ("offline/DEMO-0001",)
    a = msg.alert
    assert (a.key, a.state, a.severity, a.title, a.school) == (
        "offline/DEMO-0001", "firing", "critical", "学校离线", "DEMO-0001")
    assert a.started_at == T0 and a.resolved_at is None and not a.reminder
    # a second school that clears after 9 minutes never alerts, not even with a recovery
    assert sent(engine, T0 + 20 * MIN, fire("DEMO-0002")) == []
    assert sent(engine, T0 + 29 * MIN, fire("DEMO-0002", False)) == []
    assert sent(engine, T0 + 60 * MIN, fire("DEMO-0002", False)) == []
    assert "offline/DEMO-0002" not in engine.records


def test_a_firing_alert_is_sent_once_then_reminded_every_repeat() -> None:
    engine = Engine({"offline": rule(repeat=dt.timedelta(hours=1))})
    assert [m.kind for m in sent(engine, T0, fire())] == ["firing"]
    for minute in range(1, 60, 7):  # still firing, evaluated often: nothing more
        assert sent(engine, T0 + minute * MIN, fire()) == []
    (reminder,) = sent(engine, T0 + 60 * MIN, fire())
    assert reminder.kind == "reminder" and reminder.alert.reminder and reminder.alert.kind == "reminder"
    assert reminder.alert.started_at == T0  # it tells when it began, not when it was last sent
    assert sent(engine, T0 + 119 * MIN) == []
    assert [m.kind for m in sent(engine, T0 + 120 * MIN)] == ["reminder"]
    assert engine.records["offline/DEMO-0001"].reminders == 2
    assert sent(engine, T0 + 1000 * MIN, fire()) != []  # no evaluation needed for a reminder


def test_no_reminders_without_repeat() -> None:
    engine = Engine({"offline": rule()})
    assert len(sent(engine, T0, fire())) == 1
    assert sent(engine, T0 + dt.timedelta(days=3), fire()) == []


def test_recovery_is_sent_when_the_condition_clears() -> None:
    engine = Engine({"offline": rule()})
    sent(engine, T0, fire())
    (msg,) = sent(engine, T0 + 42 * MIN, fire(firing=False))
    assert msg.kind == "resolved" and msg.alert.state == "resolved"
    assert msg.alert.started_at == T0 and msg.alert.resolved_at == T0 + 42 * MIN
    assert engine.records == {}  # forgotten once the recovery is out
    assert sent(engine, T0 + 50 * MIN, fire(firing=False)) == []
    # it fires again later: a new alert, announced again
    assert [m.kind for m in sent(engine, T0 + 60 * MIN, fire())] == ["firing"]


def test_a_recovery_not_yet_sent_is_dropped_when_the_alert_comes_back() -> None:
    engine = Engine({"offline": rule(group_window=2 * MIN)})
    sent(engine, T0, fire())
    assert sent(engine, T0 + 2 * MIN, fire()) != []  # announced after the group window
    assert sent(engine, T0 + 10 * MIN, fire(firing=False)) == []  # recovery gathering
    assert sent(engine, T0 + 11 * MIN, fire()) == []  # back: no recovery, no second firing
    assert sent(engine, T0 + 30 * MIN, fire()) == []
    assert engine.records["offline/DEMO-0001"].firing


def test_subjects_due_within_the_group_window_go_as_one_message() -> None:
    engine = Engine({"offline": rule(group_window=2 * MIN)})
    a, b, c = fire("DEMO-0001", text="无心跳"), fire("DEMO-0002", text="上传失败"), fire("DEMO-0003")
    assert sent(engine, T0, a) == []
    assert sent(engine, T0 + MIN, a, b) == []
    (msg,) = sent(engine, T0 + 2 * MIN, a, b)  # the first has waited the window: all due go
    assert msg.keys == ("offline/DEMO-0001", "offline/DEMO-0002")
    assert msg.alert.key == "offline/DEMO-0001,DEMO-0002" and msg.alert.subjects == ("DEMO-0001", "DEMO-0002")
    assert msg.alert.text.splitlines() == ["- DEMO-0001：无心跳", "- DEMO-0002：上传失败"]
    assert msg.alert.school is None and msg.alert.started_at == T0
    assert sent(engine, T0 + 3 * MIN, a, b, c) == []  # a later one opens a group of its own
    (later,) = sent(engine, T0 + 5 * MIN, a, b, c)
    assert later.keys == ("offline/DEMO-0003",)
    # they recover together: one recovery message
    cleared = [fire(s, False) for s in ("DEMO-0001", "DEMO-0002", "DEMO-0003")]
    assert sent(engine, T0 + 30 * MIN, *cleared) == []
    (rec,) = sent(engine, T0 + 32 * MIN)
    assert rec.kind == "resolved" and len(rec.alert.subjects) == 3


def test_a_group_takes_the_worst_severity_and_rules_are_never_mixed() -> None:
    engine = Engine({"offline": rule(), "upload": rule(id="upload", title="上传失败", severity="warning")})
    out = sent(engine, T0, fire("A", severity="warning"), fire("B", severity="critical"),
               fire("A", rule_id="upload"))
    assert [(m.rule, m.alert.severity, m.keys) for m in out] == [
        ("offline", "critical", ("offline/A", "offline/B")), ("upload", "warning", ("upload/A",))]


def test_an_acknowledged_alert_gets_no_reminders_but_its_recovery() -> None:
    engine = Engine({"offline": rule(repeat=30 * MIN)})
    sent(engine, T0, fire())
    assert engine.ack("offline", "DEMO-0001", T0 + 5 * MIN, "王老师").acked_by == "王老师"
    assert sent(engine, T0 + 3 * 60 * MIN, fire()) == []
    (msg,) = sent(engine, T0 + 4 * 60 * MIN, fire(firing=False))
    assert msg.kind == "resolved"
    with pytest.raises(InputError, match="no firing alert offline/DEMO-0001"):
        engine.ack("offline", "DEMO-0001", T0 + 5 * 60 * MIN, "王老师")


def test_a_message_no_channel_took_is_tried_again_after_retry_after() -> None:
    engine = Engine({"offline": rule()}, retry_after=5 * MIN)
    assert len(sent(engine, T0, fire(), ok=False)) == 1
    assert sent(engine, T0 + 4 * MIN, fire()) == []
    assert len(sent(engine, T0 + 5 * MIN, fire())) == 1
    assert sent(engine, T0 + 6 * MIN, fire()) == []  # taken this time


def test_an_unknown_rule_is_refused_and_naive_times_too() -> None:
    engine = Engine({"offline": rule()})
    with pytest.raises(InputError, match=r"rule 'ofline'.*rules: offline"):
        engine.observe(T0, [fire(rule_id="ofline")])
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.plan(dt.datetime(2026, 9, 7, 9, 0))


# ---------------------------------------------------------------------------- windows


def cfg(repeat: str | None = None, **extra: Any) -> AlertsConfig:
    return AlertsConfig.model_validate({
        "wecom": {"ops": {"key": {"env": "WECOM_KEY"}}},
        "rules": {"offline": {"title": "学校离线", "severity": "warning", "for": "10m", "repeat": repeat,
                              "channels": ["ops"]}},
        **extra})


def at(hhmm: str, day: int = 0) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return T0.replace(hour=h, minute=m) + dt.timedelta(days=day)


def test_quiet_hours_hold_messages_until_they_end() -> None:
    config = cfg("1h", quiet_hours=[{"start": "22:00", "end": "07:00"}])
    engine = Engine.from_config(config)
    sent(engine, at("21:00"), fire("A"))
    assert [m.kind for m in sent(engine, at("21:10"), fire("A"))] == ["firing"]  # before the window
    sent(engine, at("22:30"), fire("B"))  # due 22:40, inside
    sent(engine, at("23:00"), fire("C"))
    assert sent(engine, at("23:30"), fire("A"), fire("B"), fire("C")) == []  # A's reminder held too
    assert sent(engine, at("01:00", 1), fire("A"), fire("B"), fire("C", False)) == []  # C blips
    assert sent(engine, at("02:00", 1), fire("A", False)) == []  # A recovers at night
    assert sent(engine, at("06:59", 1), fire("B")) == []
    out = sent(engine, at("07:00", 1), fire("B"))
    assert sorted((m.kind, m.keys) for m in out) == [
        ("firing", ("offline/B",)),  # still firing: announced in the morning, once
        ("resolved", ("offline/A",)),  # told before the night: its recovery is kept for the morning
    ]  # C started and cleared in the night: never sent
    assert [m.alert.started_at for m in out if m.kind == "firing"] == [at("22:30")]


def test_quiet_hours_let_allowed_severities_through_and_respect_days() -> None:
    config = cfg(quiet_hours=[{"start": "12:00", "end": "14:00", "allow": ["critical"]},
                              {"days": ["sat", "sun"], "start": "00:00", "end": "00:00"}])
    engine = Engine.from_config(config)
    assert [m.kind for m in sent(engine, at("12:30"), fire("A", severity="critical"))] == []
    assert [m.kind for m in sent(engine, at("12:40"), fire("A", severity="critical"))] == ["firing"]
    sent(engine, at("12:30"), fire("B"))
    assert sent(engine, at("13:00"), fire("B")) == []
    assert [m.keys for m in sent(engine, at("14:00"), fire("B"))] == [("offline/B",)]
    saturday = at("10:00", 5)
    sent(engine, saturday, fire("C"))
    assert sent(engine, saturday + 60 * MIN, fire("C")) == []  # the whole weekend day is quiet
    assert sent(engine, at("00:00", 6) + 60 * MIN, fire("C")) == []  # Sunday too
    assert [m.keys for m in sent(engine, at("00:00", 7), fire("C"))] == [("offline/C",)]  # Monday 00:00


def test_maintenance_suppresses_and_a_fault_that_outlives_it_waits_for_again() -> None:
    window = {"start": at("08:00").isoformat(), "end": at("12:00").isoformat(), "subjects": ["A"],
              "reason": "交换机更换"}
    engine = Engine.from_config(cfg(maintenance=[window]))
    sent(engine, at("08:30"), fire("A"), fire("B"))
    out = sent(engine, at("08:40"), fire("A"), fire("B"))
    assert [m.keys for m in out] == [("offline/B",)]  # B is not under maintenance
    assert sent(engine, at("11:59"), fire("A")) == []
    assert sent(engine, at("12:05"), fire("A")) == []  # `for` counts again from 12:00
    (msg,) = sent(engine, at("12:10"), fire("A"))
    assert msg.keys == ("offline/A",) and msg.alert.started_at == at("08:30")


def test_maintenance_holds_the_recovery_of_an_alert_announced_before_it() -> None:
    window = {"start": at("10:00").isoformat(), "end": at("11:00").isoformat()}
    engine = Engine.from_config(cfg(maintenance=[window]))
    sent(engine, at("09:00"), fire("A"))
    assert len(sent(engine, at("09:10"), fire("A"))) == 1
    assert sent(engine, at("10:30"), fire("A", False)) == []
    assert [m.kind for m in sent(engine, at("11:00"))] == ["resolved"]


def test_a_mute_callable_decides_and_suppress_wins_over_hold() -> None:
    calls: list[tuple[str, str, str]] = []

    def mute(now: dt.datetime, rule_id: str, subject: str, severity: str) -> Mute | None:
        calls.append((rule_id, subject, severity))
        return Mute(T0 + 60 * MIN, "hold") if subject == "A" else None

    engine = Engine({"offline": rule()}, mute=mute)
    assert [m.keys for m in sent(engine, T0, fire("A"), fire("B"))] == [("offline/B",)]
    assert ("offline", "A", "critical") in calls
    assert [m.keys for m in sent(engine, T0 + 60 * MIN)] == []  # the callable still says hold
    both = windows(cfg(quiet_hours=[{"start": "08:00", "end": "18:00"}],
                       maintenance=[{"start": at("09:00").isoformat(), "end": at("20:00").isoformat()}]))
    got = both(at("10:00"), "offline", "A", "warning")
    assert got is not None and got.policy == "suppress" and got.until == at("20:00")


def test_quiet_hours_follow_the_school_calendar() -> None:
    """Evenings of school days and the whole of other days (weekends, holidays, vacations) are
    quiet; a warning waits, a critical alert goes out."""
    calendar = {"terms": [{"start": "2026-09-01", "end": "2027-01-22"}],
                "holidays": [{"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"}]}
    quiet = [{"start": "18:00", "end": "07:00", "on": "school_days", "allow": ["critical"]},
             {"start": "00:00", "end": "00:00", "on": "other_days", "allow": ["critical"]}]
    mute = windows(cfg(calendar=calendar, quiet_hours=quiet))
    tz = dt.timezone(dt.timedelta(hours=8))

    def local(y: int, mo: int, d: int, h: int) -> dt.datetime:
        return dt.datetime(y, mo, d, h, tzinfo=tz)

    assert mute(local(2026, 12, 7, 10), "offline", "A", "warning") is None  # Monday, in term, lessons
    evening = mute(local(2026, 12, 7, 20), "offline", "A", "warning")
    assert evening is not None and evening.until == local(2026, 12, 8, 7)
    assert mute(local(2026, 12, 7, 20), "offline", "A", "critical") is None
    saturday = mute(local(2026, 12, 12, 10), "offline", "A", "warning")
    assert saturday is not None and saturday.until == local(2026, 12, 13, 0)
    assert mute(local(2027, 1, 1, 10), "offline", "A", "warning") is not None  # a Friday, 元旦
    assert mute(local(2027, 2, 3, 10), "offline", "A", "warning") is not None  # winter vacation
    assert mute(local(2027, 1, 4, 10), "offline", "A", "warning") is None  # back at school
    with pytest.raises(ValidationError):
        cfg(quiet_hours=[{"start": "18:00", "end": "07:00", "on": "weekdays"}])


# ---------------------------------------------------------------------------- restart


def test_a_restart_from_saved_state_sends_nothing_twice() -> None:
    rules = {"offline": rule(for_=5 * MIN, repeat=60 * MIN)}
    engine = Engine(rules)
    sent(engine, T0, fire("A"), fire("B"))
    assert len(sent(engine, T0 + 5 * MIN, fire("A"), fire("B"))) == 1
    sent(engine, T0 + 6 * MIN, fire("C"))  # pending, not yet announced
    saved = engine.state.to_json()
    again = Engine(rules, EngineState.from_json(saved))
    assert sent(again, T0 + 7 * MIN, fire("A"), fire("B"), fire("C")) == []
    (msg,) = sent(again, T0 + 11 * MIN, fire("A"), fire("B"), fire("C"))
    assert msg.keys == ("offline/C",) and msg.alert.started_at == T0 + 6 * MIN  # C's clock survived
    assert [m.kind for m in sent(again, T0 + 65 * MIN)] == ["reminder"]  # A and B's reminder, on time
    with pytest.raises(InputError, match="not readable"):
        EngineState.from_json('{"version": 9, "alerts": []}')


class FakeChannel:
    """A channel that records what it was given (and fails while ``failing``)."""

    kind = "fake"

    def __init__(self, name: str) -> None:
        self.name = name
        self.got: list[Alert] = []
        self.failing = False

    def deliver(self, alert: Alert) -> Delivery:
        self.got.append(alert)
        return Delivery(self.name, self.kind, "fake://", alert.key, alert.kind, not self.failing, 1,
                        dt.datetime.now(UTC), message="down" if self.failing else "")


def test_the_alerter_keeps_state_and_every_delivery_across_restarts(tmp_path: Path) -> None:
    config = cfg(webhook={"hook": {"url": "https://collector.example.cn/alerts"}},
                 rules={"offline": {"for": "10m", "channels": ["ops", "hook"]}})
    ops, hook = FakeChannel("ops"), FakeChannel("hook")
    hook.failing = True

    def alerter() -> Alerter:  # a new process each time: only the files carry over
        return Alerter(config, {"ops": ops, "hook": hook}, tmp_path / "state")

    assert alerter().run(T0, [fire("A")]) == []
    done = alerter().run(T0 + 10 * MIN, [fire("A")])
    assert [(d.channel, d.ok) for d in done] == [("ops", True), ("hook", False)]
    assert alerter().run(T0 + 11 * MIN, [fire("A")]) == []  # one channel took it: not again
    assert alerter().run(T0 + 20 * MIN, [fire("A")]) == []
    assert len(ops.got) == 1 and ops.got[0].key == "offline/A"
    hook.failing = False
    done = alerter().run(T0 + 30 * MIN, [fire("A", False)])
    assert [(d.channel, d.alert_kind, d.ok) for d in done] == [("ops", "resolved", True),
                                                                ("hook", "resolved", True)]
    log = alerter().deliveries()
    assert [(d.channel, d.alert_kind, d.ok) for d in log] == [
        ("ops", "firing", True), ("hook", "firing", False), ("ops", "resolved", True),
        ("hook", "resolved", True)]
    assert log[1].message == "down"
    assert ((tmp_path / "state" / "alerts-state.json").stat().st_mode & 0o777) == 0o600


def test_the_alerter_acknowledges_and_the_ack_survives_a_restart(tmp_path: Path) -> None:
    ops = FakeChannel("ops")
    alerter = Alerter(cfg(), {"ops": ops}, tmp_path)
    alerter.run(T0, [fire("A")])
    alerter.run(T0 + 10 * MIN, [fire("A")])
    Alerter(cfg(), {"ops": ops}, tmp_path).ack("offline", "A", T0 + 11 * MIN, "it@school")
    assert Alerter(cfg(), {"ops": ops}, tmp_path).run(T0 + 5 * 60 * MIN, [fire("A")]) == []
    assert [a.kind for a in ops.got] == ["firing"]


# ---------------------------------------------------------------------------- channel pieces


def test_the_signatures_follow_the_documented_recipes() -> None:
    # DingTalk: key = secret, message = "timestamp\nsecret"; the value another implementation
    # (the dingding crate's own test) publishes for timestamp 1700000000000 and secret "secret"
    assert dingtalk_sign("secret", 1_700_000_000_000) == "OuzzJR5+xZ4/EYwqtNt6sMYZQMTa/HEGvc9miJe7XzY="
    # Feishu: key = "timestamp\nsecret", message empty (the other way round)
    expected = base64.b64encode(hmac.new(b"1700000000\nsecret", b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("secret", 1_700_000_000) == expected
    assert feishu_sign("secret", 1_700_000_000) != base64.b64encode(
        hmac.new(b"secret", b"1700000000\nsecret", hashlib.sha256).digest()).decode()


def test_truncation_counts_bytes_and_never_splits_a_character() -> None:
    text = "网络中断" * 1000  # 3 bytes a character
    for limit in (2048, 4096, 1001, 1000):
        cut, was_cut = truncate_utf8(text, limit, "…（已截断）")
        raw = cut.encode("utf-8")
        assert was_cut and len(raw) <= limit and cut.endswith("…（已截断）")
        assert raw.decode("utf-8") == cut
    assert truncate_utf8("短", 2048, "…") == ("短", False)
    escaped = '"引号"\n' * 5000  # JSON escapes make the body longer than the text
    body, was_cut = fit_body(lambda t: {"msgtype": "text", "text": {"content": t}}, escaped, 20_000, "…")
    assert was_cut and len(body) <= 20_000 and body.decode("utf-8")


def test_the_rate_limit_is_a_sliding_minute() -> None:
    now = [0.0]
    limit = RateLimiter(20, lambda: now[0])
    assert [limit.reserve(60) for _ in range(20)] == [0.0] * 20
    assert limit.reserve(10) is None  # the 21st would wait 60 s: more than 10
    now[0] = 30.0
    assert limit.reserve(60) == 30.0  # waits until the first of the 20 is a minute old
    now[0] = 61.0
    assert limit.reserve(0) == 0.0


def test_a_missing_ca_file_is_a_failed_delivery_not_a_crash(tmp_path: Path) -> None:
    settings = DingTalkSettings.model_validate({"access_token": {"env": "T"},
                                                "ca_file": str(tmp_path / "no.pem")})
    robot = DingTalkRobot("ops", settings, SecretResolver(None, environ={"T": "token-value-123"}))
    d = robot.deliver(Alert("r/s", "firing", "info", "t", "x", T0))
    assert (d.ok, d.attempts) == (False, 0) and "cannot use ca_file" in d.message
    assert "token-value-123" not in repr(d)


def test_the_layout_reads_in_chinese_by_default() -> None:
    alert = Alert("offline/A", "resolved", "critical", "学校离线", "无心跳", T0, T0 + 90 * MIN, "实验小学",
                  "东城区", "https://district.example.cn/schools/A")
    text = Layout().plain(alert)
    assert text.splitlines()[:6] == ["【已恢复】学校离线", "严重", "学校：实验小学", "区县：东城区",
                                     "开始时间：2026-09-07 09:00", "恢复时间：2026-09-07 10:30 (持续 1h30m)"]
    assert text.endswith("详情：https://district.example.cn/schools/A")


# ---------------------------------------------------------------------------- the alerts file


@pytest.mark.parametrize(("body", "expected"), [
    ("dingtalk: {ops: {access_token: abc123}}\nrules: {r: {channels: [ops]}}",
     "a.yaml:2: dingtalk.ops.access_token: inline secrets are not allowed"),
    ("dingtalk: {ops: {access_token: {env: T}, acess: 1}}\nrules: {r: {channels: [ops]}}",
     "a.yaml:2: dingtalk.ops.acess: unknown field"),
    ("wecom: {ops: {key: {env: K}, msgtype: news}}\nrules: {r: {channels: [ops]}}",
     "a.yaml:2: wecom.ops.msgtype: Input should be 'text' or 'markdown'"),
    ("wecom: {ops: {key: {env: K}}}\nrules:\n  r: {channels: [ops, mail]}",
     "a.yaml:4: rules.r.channels[1]: no channel named 'mail' (channels: ops)"),
    ("wecom: {ops: {key: {env: K}}}\nrules:\n  r: {channels: [ops], for: 10 minutes}",
     "a.yaml:4: rules.r.for: write a duration such as 90s, 10m, 4h or 1d"),
    ("wecom: {ops: {key: {env: K}}}\nfeishu: {ops: {token: {env: F}}}\nrules: {r: {channels: [ops]}}",
     "a.yaml:2: wecom.ops: channel name 'ops' is also used under feishu"),
    ("dingtalk: {ops: {access_token: {env: T}, base: 'https://oapi.dingtalk.com/robot/send?access_token=x'}}"
     "\nrules: {r: {channels: [ops]}}", "a.yaml:2: dingtalk.ops.base: write the URL without"),
    ("wecom: {ops: {key: {env: K}}}\nrules: {r: {channels: [ops]}}\n"
     "quiet_hours: [{start: '22:00', end: '7'}]",
     "a.yaml:4: quiet_hours[0].end: write a time"),
])
def test_the_alerts_file_names_its_mistakes(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(f"version: 1\n{body}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_alerts(path)
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(expected), str(err.value)


def test_a_full_alerts_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("""\
version: 1
timezone: Asia/Shanghai
dingtalk:
  ops: {access_token: {secret: ding_token}, secret: {secret: ding_sign}, msgtype: markdown}
feishu:
  it: {token: {env: FEISHU_HOOK}, secret: {env: FEISHU_SIGN}, msg_type: post}
wecom:
  office: {key: {secret: wecom_key}, msgtype: text, enabled: false}
email:
  admins: {host: smtp.example.cn, sender: a@example.cn, to: [b@example.cn], password: {env: P}}
webhook:
  collector: {url: "https://collector.example.cn/alerts", bearer: {env: HOOK}}
rules:
  school-offline: {title: 学校离线, severity: critical, for: 10m, repeat: 4h, group_window: 2m,
                   channels: [ops, it, office, admins, collector]}
quiet_hours:
  - {start: "22:00", end: "07:00", allow: [critical]}
maintenance:
  - {start: 2026-09-05T08:00:00+08:00, end: 2026-09-05T12:00:00+08:00, subjects: [DEMO-0001]}
""", encoding="utf-8")
    config = load_alerts(path)
    r = config.rules["school-offline"]
    assert (r.for_, r.repeat, r.group_window) == (10 * MIN, dt.timedelta(hours=4), 2 * MIN)
    assert config.dingtalk["ops"].per_minute == 20 and not config.wecom["office"].enabled
    assert config.email["admins"].smtp().port == 587
