"""Alert channels against REAL HTTP servers on loopback that check each request as the platform
documents it (tests/support/chatbots.py): DingTalk's and Feishu's signatures recomputed from the
shared secret and the timestamp, message types and shapes, the byte limits; WeCom's key and
limits; email and the generic webhook through the scheduled-run senders. Secrets never appear in
a Delivery; retries happen on HTTP 5xx and network errors, never on a platform errcode."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import Any

import pytest

from auditor.alerts.channels import (
    Alert,
    Delivery,
    DingTalkRobot,
    FeishuBot,
    WeComRobot,
    build_channels,
)
from auditor.alerts.config import AlertsConfig, DingTalkSettings, FeishuSettings, WeComSettings
from auditor.lab.chatbots import Platforms, Robot, chat_platforms
from auditor.secrets import MASK, SecretResolver
from tests.support.servers import free_port, http_server, smtp_server

DING_TOKEN, DING_SECRET = "ding-token-7f3a9c-never-written", "SECding-signing-secret-never-written"
FEISHU_TOKEN, FEISHU_SECRET = "fs-hook-1b2c3d-never-written", "feishu-signing-secret-never-written"
WECOM_KEY = "wecom-key-693a91f6-never-written"
SECRETS = (DING_TOKEN, DING_SECRET, FEISHU_TOKEN, FEISHU_SECRET, WECOM_KEY)
ENV = {"DING_TOKEN": DING_TOKEN, "DING_SECRET": DING_SECRET, "FEISHU_TOKEN": FEISHU_TOKEN,
       "FEISHU_SECRET": FEISHU_SECRET, "WECOM_KEY": WECOM_KEY, "WRONG": "not-the-secret-at-all"}
CST = dt.timezone(dt.timedelta(hours=8))
STARTED = dt.datetime(2026, 9, 7, 9, 0, tzinfo=CST)
FAST = {"backoff_s": 0.01, "timeout_s": 5}

ALERT = Alert("offline/DEMO-0001", "firing", "critical", "学校离线", "最近 10 分钟无心跳；上次上传 08:47。",
              STARTED, school="实验小学", district="东城区", link="https://district.example.cn/s/DEMO-0001",
              rule="offline", subjects=("DEMO-0001",))
HUGE = Alert("offline/DEMO-0002", "firing", "warning", "上传失败", "交换机端口错误，“引号”和\n换行。" * 3000,
             STARTED, school="第二中学")


@pytest.fixture()
def server() -> Iterator[Platforms]:
    with chat_platforms() as platforms:
        platforms.add(Robot("dingtalk", DING_TOKEN, DING_SECRET))
        platforms.add(Robot("feishu", FEISHU_TOKEN, FEISHU_SECRET))
        platforms.add(Robot("wecom", WECOM_KEY))
        yield platforms


def resolver() -> SecretResolver:
    return SecretResolver(None, environ=ENV)


def ding(server: Platforms, clock: Any = None, **kw: Any) -> DingTalkRobot:
    settings = DingTalkSettings.model_validate({"base": server.dingtalk, "secret": {"env": "DING_SECRET"},
                                                "access_token": {"env": "DING_TOKEN"}, **FAST, **kw})
    return DingTalkRobot("ops", settings, resolver(), **({"clock": clock} if clock else {}))


def feishu(server: Platforms, clock: Any = None, **kw: Any) -> FeishuBot:
    settings = FeishuSettings.model_validate({"base": server.feishu, "token": {"env": "FEISHU_TOKEN"},
                                              "secret": {"env": "FEISHU_SECRET"}, **FAST, **kw})
    return FeishuBot("it", settings, resolver(), **({"clock": clock} if clock else {}))


def wecom(server: Platforms, **kw: Any) -> WeComRobot:
    settings = WeComSettings.model_validate({"base": server.wecom, "key": {"env": "WECOM_KEY"}, **FAST, **kw})
    return WeComRobot("office", settings, resolver())


def no_secret_in(*deliveries: Delivery) -> None:
    for d in deliveries:
        written = repr(d) + json.dumps(d.to_dict(), ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in written, (secret, written)


def two_hours_ago() -> float:
    return time.time() - 2 * 3600


# ---------------------------------------------------------------------------- DingTalk


@pytest.mark.parametrize("msgtype", ["text", "markdown"])
def test_dingtalk_accepts_a_signed_message(server: Platforms, msgtype: str) -> None:
    d = ding(server, msgtype=msgtype).deliver(ALERT)
    assert (d.ok, d.http_status, d.code, d.message, d.attempts) == (True, 200, 0, "ok", 1), d
    assert d.target == f"{server.dingtalk}?access_token={MASK}"
    assert (d.kind, d.channel, d.alert_key, d.alert_kind) == ("dingtalk", "ops", ALERT.key, "firing")
    (seen,) = server.requests
    assert seen.query["access_token"] == DING_TOKEN and len(seen.query["timestamp"]) == 13  # milliseconds
    assert seen.headers["content-type"] == "application/json; charset=utf-8"
    msg = seen.json()
    assert msg["msgtype"] == msgtype and msg["msgUuid"]
    shown = msg["text"]["content"] if msgtype == "text" else msg["markdown"]["text"]
    assert "实验小学" in shown and "最近 10 分钟无心跳" in shown and "2026-09-07 09:00" in shown
    if msgtype == "markdown":
        assert msg["markdown"]["title"] == "【告警】学校离线"
        assert "[详情](https://district.example.cn/s/DEMO-0001)" in shown
    no_secret_in(d)


def test_dingtalk_names_the_platforms_refusal_and_does_not_retry_it(server: Platforms) -> None:
    robot = ding(server, secret={"env": "WRONG"})
    d = robot.deliver(ALERT)
    assert (d.ok, d.http_status, d.code, d.attempts) == (False, 200, 310000, 1)
    assert d.message == "sign not match"
    assert len(server.requests) == 1  # an errcode is final
    stale = ding(server, clock=two_hours_ago).deliver(ALERT)  # a clock two hours behind
    assert (stale.ok, stale.code) == (False, 310000) and "more than an hour" in stale.message
    unknown = DingTalkRobot("ops", DingTalkSettings.model_validate(
        {"base": server.dingtalk, "access_token": {"env": "WRONG"}, **FAST}), resolver()).deliver(ALERT)
    assert (unknown.ok, unknown.code, unknown.message) == (False, 300001, "token is not exist")
    no_secret_in(d, stale, unknown)


def test_dingtalk_keeps_a_long_message_within_20000_bytes(server: Platforms) -> None:
    for msgtype in ("text", "markdown"):
        d = ding(server, msgtype=msgtype).deliver(HUGE)
        assert d.ok and d.truncated, d
        seen = server.requests[-1]
        assert len(seen.body) <= 20_000 and len(seen.body) > 19_000  # as much as fits
        msg = seen.json()  # the server decoded it as strict UTF-8
        shown = msg["text"]["content"] if msgtype == "text" else msg["markdown"]["text"]
        assert shown.endswith("…（内容过长，已截断）")
    assert not ding(server).deliver(ALERT).truncated


def test_dingtalk_retries_on_5xx_with_one_idempotency_key(server: Platforms) -> None:
    server.fail_with = [503, 502]
    d = ding(server).deliver(ALERT)
    assert (d.ok, d.attempts, d.code) == (True, 3, 0)
    uuids = {seen.json()["msgUuid"] for seen in server.requests}
    assert len(server.requests) == 3 and len(uuids) == 1  # one message, whatever the tries
    assert all(seen.query["sign"] and seen.query["timestamp"] for seen in server.requests)
    server.requests.clear()
    server.fail_with = [500, 500, 500]
    d = ding(server).deliver(ALERT)
    assert (d.ok, d.attempts, d.http_status, d.message) == (False, 3, 500, "HTTP 500")
    assert len(server.requests) == 3


def test_dingtalk_retries_a_network_error_and_says_what_it_was() -> None:
    settings = DingTalkSettings.model_validate({"base": f"http://127.0.0.1:{free_port()}/robot/send",
                                                "access_token": {"env": "DING_TOKEN"},
                                                "secret": {"env": "DING_SECRET"}, **FAST})
    d = DingTalkRobot("ops", settings, resolver()).deliver(ALERT)
    assert (d.ok, d.attempts, d.http_status) == (False, 3, None)
    assert d.message.startswith("ConnectError")
    no_secret_in(d)


def test_dingtalk_keeps_to_its_rate_limit(server: Platforms) -> None:
    robot = ding(server, per_minute=2, max_wait_s=0)
    assert [robot.deliver(ALERT).ok for _ in range(2)] == [True, True]
    third = robot.deliver(ALERT)
    assert not third.ok and third.attempts == 0 and "2 messages a minute" in third.message
    assert len(server.requests) == 2  # the third never left


# ---------------------------------------------------------------------------- Feishu


@pytest.mark.parametrize("msg_type", ["text", "post"])
def test_feishu_accepts_a_signed_message(server: Platforms, msg_type: str) -> None:
    d = feishu(server, msg_type=msg_type).deliver(ALERT)
    assert (d.ok, d.http_status, d.code, d.message, d.attempts) == (True, 200, 0, "success", 1), d
    assert d.target == f"{server.feishu.rstrip('/')}/{MASK}"
    (seen,) = server.requests
    assert seen.path.endswith("/" + FEISHU_TOKEN)
    msg = seen.json()
    assert msg["msg_type"] == msg_type and isinstance(msg["timestamp"], str) and len(msg["timestamp"]) == 10
    if msg_type == "post":
        post = msg["content"]["post"]["zh_cn"]
        assert post["title"] == "【告警】学校离线"
        assert {"tag": "a", "text": "详情", "href": ALERT.link} in post["content"][-1]
    else:
        assert "实验小学" in msg["content"]["text"]
    no_secret_in(d)


def test_feishu_names_its_refusals(server: Platforms) -> None:
    wrong = feishu(server, secret={"env": "WRONG"}).deliver(ALERT)
    assert (wrong.ok, wrong.code, wrong.attempts) == (False, 19021, 1)
    assert wrong.message == "sign match fail or timestamp is not within one hour from current time"
    stale = feishu(server, clock=two_hours_ago).deliver(ALERT)
    assert (stale.ok, stale.code) == (False, 19021)
    assert len(server.requests) == 2
    no_secret_in(wrong, stale)


def test_feishu_keeps_a_long_message_within_its_20_kb_and_reads_the_old_answer(server: Platforms) -> None:
    for msg_type in ("text", "post"):
        d = feishu(server, msg_type=msg_type).deliver(HUGE)
        assert d.ok and d.truncated, d
        assert 19_000 < len(server.requests[-1].body) <= 20_000
    server.add(Robot("feishu", FEISHU_TOKEN, FEISHU_SECRET, legacy=True))
    old = feishu(server).deliver(ALERT)
    assert (old.ok, old.code, old.message) == (True, 0, "success")


# ---------------------------------------------------------------------------- WeCom


@pytest.mark.parametrize(("msgtype", "limit"), [("text", 2048), ("markdown", 4096)])
def test_wecom_accepts_messages_and_cuts_them_to_its_byte_limits(server: Platforms, msgtype: str,
                                                                  limit: int) -> None:
    robot = wecom(server, msgtype=msgtype)
    d = robot.deliver(ALERT)
    assert (d.ok, d.code, d.message, d.truncated) == (True, 0, "ok", False), d
    assert d.target == f"{server.wecom}?key={MASK}"
    assert server.requests[-1].query["key"] == WECOM_KEY
    long = robot.deliver(HUGE)
    assert long.ok and long.truncated, long
    content = server.requests[-1].json()[msgtype]["content"]
    assert limit - 3 <= len(content.encode("utf-8")) <= limit  # full to a character, not past it
    assert content.endswith("…（内容过长，已截断）")
    if msgtype == "markdown":  # a warning is grey ("comment"); critical would be "warning" orange
        assert content.startswith('### <font color="comment">【告警】上传失败</font>\n')


def test_wecom_refuses_an_unknown_key_and_a_careless_echo_is_masked(server: Platforms) -> None:
    server.echo = True
    other = WeComRobot("office", WeComSettings.model_validate(
        {"base": server.wecom, "key": {"env": "WRONG"}, **FAST}), resolver()).deliver(ALERT)
    assert (other.ok, other.code) == (False, 93000) and other.message.startswith("invalid webhook url")
    assert "not-the-secret-at-all" not in other.message and MASK in other.message
    server.robots.clear()  # the right key, no longer known: the echo carries it
    d = wecom(server).deliver(ALERT)
    assert (d.ok, d.code) == (False, 93000) and MASK in d.message
    ding_echo = ding(server).deliver(ALERT)
    assert ding_echo.code == 300001 and MASK in ding_echo.message
    no_secret_in(d, ding_echo)


def test_a_credential_that_does_not_resolve_is_a_failed_delivery(server: Platforms) -> None:
    settings = WeComSettings.model_validate({"base": server.wecom, "key": {"env": "UNSET_WECOM_KEY"}})
    d = WeComRobot("office", settings, resolver()).deliver(ALERT)
    assert (d.ok, d.attempts) == (False, 0) and "UNSET_WECOM_KEY is not set" in d.message
    assert server.requests == []


# ---------------------------------------------------------------------------- email and webhook


def test_email_and_webhook_go_through_the_scheduled_run_senders(tmp_path: Path) -> None:
    env = {"SMTP_USER": "alerts", "SMTP_PASSWORD": "smtp-pass-never-written",
           "HOOK": "hook-bearer-never-written"}
    with smtp_server(tmp_path, "alerts", env["SMTP_PASSWORD"]) as (port, cert, box), \
            http_server([204]) as (url, posts):
        cfg = AlertsConfig.model_validate({
            "email": {"admins": {"host": "127.0.0.1", "port": port, "ca_file": str(cert),
                                 "sender": "auditor@example.cn", "to": ["it@example.cn"],
                                 "username": {"env": "SMTP_USER"}, "password": {"env": "SMTP_PASSWORD"}}},
            "webhook": {"collector": {"url": url, "bearer": {"env": "HOOK"}, "retries": 0}},
            "wecom": {"off": {"key": {"env": "WECOM_KEY"}, "enabled": False}},
            "rules": {"offline": {"channels": ["admins", "collector", "off"]}}})
        channels = build_channels(cfg, tmp_path, SecretResolver(None, environ=env))
        assert sorted(channels) == ["admins", "collector"]  # a disabled channel is not built
        mail, hook = channels["admins"].deliver(ALERT), channels["collector"].deliver(ALERT)
    assert (mail.ok, mail.kind, mail.attempts) == (True, "email", 1), mail
    assert mail.target == f"smtp://127.0.0.1:{port} to it@example.cn"
    (raw,) = box.messages
    mail_msg = message_from_bytes(raw, policy=email_policy)
    assert mail_msg["Subject"] == "【告警】学校离线" and mail_msg["To"] == "it@example.cn"
    assert "学校：实验小学" in mail_msg.get_body().get_content()
    assert (hook.ok, hook.kind, hook.attempts) == (True, "webhook", None), hook
    ((headers, body),) = posts
    payload = json.loads(body)
    assert headers["authorization"] == f"Bearer {env['HOOK']}"
    assert payload["key"] == "offline/DEMO-0001" and payload["kind"] == "firing"
    assert payload["started_at"] == "2026-09-07T09:00:00+08:00" and payload["school"] == "实验小学"
    for d in (mail, hook):
        assert not any(v in repr(d) for v in env.values())


# ---------------------------------------------------------------------------- end to end


def test_an_alerts_file_drives_the_engine_to_the_robots_and_a_restart_sends_nothing_twice(
        server: Platforms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.alerts.dispatch import Alerter
    from auditor.alerts.engine import Evaluation

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "alerts.yaml").write_text(f"""\
version: 1
dingtalk:
  ops: {{base: "{server.dingtalk}", access_token: {{env: DING_TOKEN}}, secret: {{env: DING_SECRET}}}}
wecom:
  office: {{base: "{server.wecom}", key: {{env: WECOM_KEY}}, msgtype: text}}
rules:
  offline: {{title: 学校离线, severity: critical, for: 10m, group_window: 1m, channels: [ops, office]}}
""", encoding="utf-8")
    state, minutes = tmp_path / "state", dt.timedelta(minutes=1)

    def alerter() -> Alerter:  # a new process each time: only the files carry over
        return Alerter.from_file(tmp_path / "alerts.yaml", state)

    down = [Evaluation("offline", s, True, "无心跳") for s in ("DEMO-0001", "DEMO-0002")]
    assert alerter().run(STARTED, down) == []
    assert alerter().run(STARTED + 10 * minutes, down) == []  # held for the group window
    done = alerter().run(STARTED + 11 * minutes, down)
    assert [(d.channel, d.ok, d.alert_key) for d in done] == [
        ("ops", True, "offline/DEMO-0001,DEMO-0002"), ("office", True, "offline/DEMO-0001,DEMO-0002")]
    assert "- DEMO-0001：无心跳" in server.requests[-1].json()["text"]["content"]
    assert alerter().run(STARTED + 30 * minutes, down) == []
    assert len(server.requests) == 2
    log = alerter().deliveries()
    assert [d.channel for d in log] == ["ops", "office"]
    written = (state / "alerts-deliveries.jsonl").read_text() + (state / "alerts-state.json").read_text()
    assert not any(secret in written for secret in SECRETS)
