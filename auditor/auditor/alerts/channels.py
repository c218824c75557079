"""Deliver one alert to one place: a DingTalk, Feishu or WeCom group robot, email, or a webhook.

Every channel has one method, ``deliver(alert) -> Delivery``, and never raises for a delivery
that did not happen: the :class:`Delivery` says what the platform answered (HTTP status, its
errcode/errmsg or code/msg), how many tries it took and whether it worked. Credentials are
resolved from references at delivery time and every resolved value, and every signature made
from one, is masked in what a Delivery records (``target`` names the base URL only).

Retries: a network error, HTTP 5xx or HTTP 429 is tried again (``tries`` in all, waiting
``backoff_s * 2**(n-1)`` seconds, at most 30, before try n+1); an answer from the platform with a
non-zero errcode is final: the request was wrong (a bad signature, an unknown token, a missing
keyword) or the robot is throttled, and the same request would fail again. A signed request is
signed afresh for each try (the signature carries the time).

Email and the generic webhook are the scheduled-run notices' senders
(``auditor.scheduling.notify.send_email`` / ``send_webhook``) behind a thin adapter.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import httpx

from auditor.alerts.config import (
    SEVERITIES,
    AlertsConfig,
    DingTalkSettings,
    EmailChannelSettings,
    FeishuSettings,
    Severity,
    WebhookChannelSettings,
    WeComSettings,
)
from auditor.errors import AuditorError
from auditor.scheduling.notify import Notice, send_email, send_webhook
from auditor.secrets import MASK, SecretResolver

AlertState = Literal["firing", "resolved"]

# ---------------------------------------------------------------------------- what is sent


@dataclass(frozen=True)
class Alert:
    """One message about one alert (or a group of them, one rule, several subjects).

    ``key`` identifies the alert for de-duplication (``rule/subject``, or ``rule/a,b,c`` for a
    group); ``text`` is plain text, Chinese by default; times are timezone-aware.
    """

    key: str
    state: AlertState
    severity: Severity
    title: str
    text: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None = None
    school: str | None = None
    district: str | None = None
    link: str | None = None
    rule: str = ""
    subjects: tuple[str, ...] = ()
    reminder: bool = False  # a repeat of a firing alert that still holds

    @property
    def kind(self) -> str:
        """``firing``, ``reminder`` or ``resolved``."""
        return "reminder" if self.reminder and self.state == "firing" else self.state

    def payload(self) -> dict[str, Any]:
        """The alert as JSON (for the generic webhook)."""
        doc = asdict(self)
        doc["kind"] = self.kind
        doc["subjects"] = list(self.subjects)
        for name in ("started_at", "resolved_at"):
            value = doc[name]
            doc[name] = value.isoformat() if value is not None else None
        return doc


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert on one channel (secrets masked)."""

    channel: str  # the channel's name in the alerts file
    kind: str  # dingtalk | feishu | wecom | email | webhook
    target: str  # where it went, without credentials
    alert_key: str
    alert_kind: str  # firing | reminder | resolved
    ok: bool
    attempts: int | None  # None: the shared webhook sender retries inside and does not say how often
    at: dt.datetime  # when the delivery finished (UTC)
    http_status: int | None = None
    code: int | None = None  # the platform's errcode (DingTalk, WeCom) or code (Feishu)
    message: str = ""  # the platform's errmsg/msg, or what went wrong
    truncated: bool = False  # the text was cut to the platform's limit

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["at"] = self.at.isoformat()
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Delivery:
        return cls(**{**doc, "at": dt.datetime.fromisoformat(doc["at"])})


class Channel(Protocol):
    """Anything that can deliver an alert."""

    @property
    def name(self) -> str: ...  # the channel's name in the alerts file

    @property
    def kind(self) -> str: ...  # dingtalk | feishu | wecom | email | webhook

    def deliver(self, alert: Alert) -> Delivery: ...


# ---------------------------------------------------------------------------- words and layout

_LABELS: dict[str, dict[str, str]] = {
    "zh": {"firing": "告警", "reminder": "提醒：仍未恢复", "resolved": "已恢复", "critical": "严重",
           "warning": "警告", "info": "提示", "school": "学校", "district": "区县", "started": "开始时间",
           "resolved_at": "恢复时间", "lasted": "持续", "link": "详情", "subjects": "涉及",
           "truncated": "…（内容过长，已截断）"},
    "en": {"firing": "ALERT", "reminder": "REMINDER: still firing", "resolved": "RESOLVED",
           "critical": "critical", "warning": "warning", "info": "info", "school": "School",
           "district": "District", "started": "Started", "resolved_at": "Resolved", "lasted": "lasted",
           "link": "Details", "subjects": "Affected", "truncated": "... (too long, truncated)"},
}


def _when(value: dt.datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _lasted(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@dataclass(frozen=True)
class Layout:
    """How an alert reads: a headline and plain-text lines, in ``lang``, times in ``tz``."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    lang: Literal["zh", "en"] = "zh"

    def word(self, key: str) -> str:
        return _LABELS[self.lang][key]

    def headline(self, alert: Alert) -> str:
        sep = "】" if self.lang == "zh" else "] "
        return f"{'【' if self.lang == 'zh' else '['}{self.word(alert.kind)}{sep}{alert.title}"

    def facts(self, alert: Alert) -> list[str]:
        colon = "：" if self.lang == "zh" else ": "
        lines = [f"{self.word('critical' if alert.severity == 'critical' else alert.severity)}"]
        if alert.school:
            lines.append(f"{self.word('school')}{colon}{alert.school}")
        if alert.district:
            lines.append(f"{self.word('district')}{colon}{alert.district}")
        if len(alert.subjects) > 1:
            lines.append(f"{self.word('subjects')}{colon}{len(alert.subjects)}")
        lines.append(f"{self.word('started')}{colon}{_when(alert.started_at, self.tz)}")
        if alert.resolved_at is not None:
            lasted = _lasted((alert.resolved_at - alert.started_at).total_seconds())
            lines.append(f"{self.word('resolved_at')}{colon}{_when(alert.resolved_at, self.tz)}"
                         f" ({self.word('lasted')} {lasted})")
        return lines

    def plain(self, alert: Alert) -> str:
        """Headline, facts, text and link as plain text."""
        parts = [self.headline(alert), *self.facts(alert)]
        if alert.text:
            parts += ["", alert.text]
        if alert.link:
            parts += ["", f"{self.word('link')}{'：' if self.lang == 'zh' else ': '}{alert.link}"]
        return "\n".join(parts)


# ---------------------------------------------------------------------------- limits


def truncate_utf8(text: str, max_bytes: int, marker: str) -> tuple[str, bool]:
    """``text`` cut so that it and ``marker`` fit in ``max_bytes`` bytes of UTF-8, at a character
    boundary (a character is never split). Returns (text, whether it was cut)."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text, False
    budget = max(0, max_bytes - len(marker.encode("utf-8")))
    return raw[:budget].decode("utf-8", errors="ignore") + marker, True


def _dumps(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fit_body(build: Callable[[str], dict[str, Any]], text: str, max_body: int,
             marker: str) -> tuple[bytes, bool]:
    """The JSON body ``build(text)`` within ``max_body`` bytes, ``text`` cut as needed: the longest
    cut that fits (JSON escapes make the body grow faster than the text, so it is searched for)."""
    body = _dumps(build(text))
    if len(body) <= max_body:
        return body, False
    lo, hi = 0, len(text.encode("utf-8"))  # text budgets: lo fits (or is 0), hi does not
    best = _dumps(build(truncate_utf8(text, 0, marker)[0]))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        candidate = _dumps(build(truncate_utf8(text, mid, marker)[0]))
        if len(candidate) <= max_body:
            lo, best = mid, candidate
        else:
            hi = mid
    return best, True


class RateLimiter:
    """At most ``per_minute`` sends in any 60 seconds (a sliding window, in this process)."""

    def __init__(self, per_minute: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._now = monotonic
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self, max_wait: float) -> float | None:
        """Take a slot: the seconds to wait before sending, or None (nothing taken) when the
        wait would be longer than ``max_wait``."""
        with self._lock:
            now = self._now()
            while self._sent and self._sent[0] <= now - 60:
                self._sent.popleft()
            if len(self._sent) < self.per_minute:
                self._sent.append(now)
                return 0.0
            wait = self._sent[-self.per_minute] + 60 - now
            if wait > max_wait:
                return None
            self._sent.append(now + wait)
            return wait


# ---------------------------------------------------------------------------- signatures


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: Base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")), UTF-8.

    The result still has to be URL-encoded once as the ``sign`` query parameter (next to
    ``timestamp``, in milliseconds); the platform refuses a timestamp more than an hour from its
    clock. Source: DingTalk's custom robot security settings ("Sign request",
    help.dingtalk.io/open/dingstart/customize-robot-security-settings, and the Chinese 加签
    section it translates).
    """
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu 签名校验: Base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b"")).

    Note the order, unlike DingTalk: the timestamp-and-secret string is the HMAC *key* and the
    message is empty; the timestamp is in seconds and travels, as a string, in the JSON body
    with ``sign``. Source: Feishu's custom bot guide (自定义机器人使用指南, open.feishu.cn /
    open.larkoffice.com, section 签名校验, whose Python example signs an empty message).
    """
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


# ---------------------------------------------------------------------------- the robots


def _tls(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Request:
    url: str
    body: bytes
    truncated: bool
    masks: tuple[str, ...] = ()  # values made from secrets (signatures) to mask besides the secrets


class _Robot:
    """What the three chat robots share: the rate limit, the tries, reading the answer."""

    kind: ClassVar[str]
    code_field: ClassVar[str] = "errcode"
    msg_field: ClassVar[str] = "errmsg"

    def __init__(self, name: str, settings: DingTalkSettings | FeishuSettings | WeComSettings,
                 secrets: SecretResolver, layout: Layout | None = None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.layout = layout or Layout()
        self._clock = clock  # wall time, for signatures
        self._sleep = sleep
        self.limiter = RateLimiter(settings.per_minute, monotonic)

    # each platform: where to post (with credentials) and where it is said to go (without)
    def _target(self) -> str:
        raise NotImplementedError

    def _request(self, alert: Alert, uid: str = "") -> _Request:
        """The request for one try (``uid``: one delivery's idempotency key, the same every try)."""
        raise NotImplementedError

    def _mask(self, text: str, extra: tuple[str, ...] = ()) -> str:
        text = self.secrets.mask(text)
        for value in extra:
            if value:
                text = text.replace(value, MASK).replace(quote(value, safe=""), MASK)
        return text

    def _done(self, alert: Alert, ok: bool, attempts: int, *, status: int | None = None,
              code: int | None = None, message: str = "", truncated: bool = False) -> Delivery:
        return Delivery(channel=self.name, kind=self.kind, target=self._target(), alert_key=alert.key,
                        alert_kind=alert.kind, ok=ok, attempts=attempts, at=_utcnow(), http_status=status,
                        code=code, message=message, truncated=truncated)

    def deliver(self, alert: Alert) -> Delivery:
        try:
            self._request(alert)  # resolve the credentials before taking a slot
        except AuditorError as exc:  # a credential reference that does not resolve
            return self._done(alert, False, 0, message=self._mask(str(exc)))
        wait = self.limiter.reserve(self.settings.max_wait_s)
        if wait is None:
            return self._done(alert, False, 0, message=(
                f"not sent: this robot's limit of {self.settings.per_minute} messages a minute is used up"))
        if wait > 0:
            self._sleep(wait)
        return self._post(alert)

    def _post(self, alert: Alert) -> Delivery:
        s = self.settings
        headers = {"content-type": "application/json; charset=utf-8"}
        last, status, truncated = "", None, False
        uid = uuid.uuid4().hex
        try:
            tls = _tls(s.ca_file)
        except (OSError, ssl.SSLError) as exc:
            return self._done(alert, False, 0, message=f"cannot use ca_file {s.ca_file}: {exc}")
        with httpx.Client(verify=tls, timeout=s.timeout_s) as http:
            for attempt in range(1, s.tries + 1):
                req = self._request(alert, uid)  # signed afresh each try
                truncated = req.truncated
                try:
                    got = http.post(req.url, content=req.body, headers=headers)
                except httpx.HTTPError as exc:
                    last, status = self._mask(f"{type(exc).__name__}: {exc}", req.masks), None
                else:
                    status = got.status_code
                    if status < 500 and status != 429:
                        return self._answer(alert, got, attempt, req)
                    last = f"HTTP {status}"
                if attempt < s.tries:
                    self._sleep(min(s.backoff_s * 2 ** (attempt - 1), 30.0))
        return self._done(alert, False, s.tries, status=status, message=last, truncated=truncated)

    def _answer(self, alert: Alert, got: httpx.Response, attempt: int, req: _Request) -> Delivery:
        try:
            reply = got.json()
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            return self._done(alert, False, attempt, status=got.status_code, truncated=req.truncated,
                              message=self._mask(f"HTTP {got.status_code}: the answer is not a JSON object: "
                                                 f"{got.text[:200]!r}", req.masks))
        code = reply.get(self.code_field, reply.get("StatusCode"))
        message = reply.get(self.msg_field, reply.get("StatusMessage", ""))
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        ok = got.status_code == 200 and code == 0
        if code is None and not ok:
            message = message or f"HTTP {got.status_code} without {self.code_field}"
        return self._done(alert, ok, attempt, status=got.status_code, code=code,
                          message=self._mask(str(message), req.masks), truncated=req.truncated)


class DingTalkRobot(_Robot):
    """A DingTalk custom robot (自定义机器人), from its documentation:

    * POST JSON (UTF-8) to ``https://oapi.dingtalk.com/robot/send?access_token=...``; with 加签,
      ``timestamp`` (ms) and ``sign`` (:func:`dingtalk_sign`, URL-encoded) are added to the query.
    * Message types used here: ``text`` (``{"msgtype": "text", "text": {"content": ...}}``) and
      ``markdown`` (``{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}``; the
      title is what the chat list shows). ``msgUuid`` is the documented idempotency key: every
      try of one delivery carries the same one, so a retry after a lost answer is not shown twice.
    * Success is ``{"errcode": 0, "errmsg": "ok"}``; e.g. 310000 is a signature, keyword or IP
      refusal, 300001/300005 an unknown token, 130101 "send too fast".
    * At most 20 messages a minute per robot, or it is throttled for 10 minutes (custom robot
      "send group messages" page, help.dingtalk.io/open/development/custom-robots-send-group-messages).
    * Size: no figure is given on the pages read. The platform's own refusal reads "message too
      long, exceed 20000 bytes" (errcode 460101, as users report it) and "body 大小不合法 ... 请保持
      大小在 20000bytes 以内": so the whole JSON body is kept within 20,000 bytes of UTF-8.
    """

    kind = "dingtalk"
    MAX_BODY = 20_000
    settings: DingTalkSettings

    def _target(self) -> str:
        return f"{self.settings.base}?access_token={MASK}"

    def _request(self, alert: Alert, uid: str = "") -> _Request:
        s = self.settings
        token = self.secrets.resolve(s.access_token, f"dingtalk.{self.name}.access_token")
        query: dict[str, str] = {"access_token": token}
        masks: tuple[str, ...] = ()
        if s.secret is not None:
            secret = self.secrets.resolve(s.secret, f"dingtalk.{self.name}.secret")
            ts = int(self._clock() * 1000)
            sign = dingtalk_sign(secret, ts)
            query |= {"timestamp": str(ts), "sign": sign}
            masks = (sign,)
        text = self.layout.plain(alert) if s.msgtype == "text" else _markdown(self.layout, alert)
        marker = self.layout.word("truncated")

        def build(content: str) -> dict[str, Any]:
            if s.msgtype == "text":
                return {"msgtype": "text", "text": {"content": content}, "msgUuid": uid}
            return {"msgtype": "markdown", "markdown": {"title": self.layout.headline(alert),
                                                        "text": content}, "msgUuid": uid}

        body, cut = fit_body(build, text, self.MAX_BODY, marker)
        return _Request(f"{s.base}?{urlencode(query)}", body, cut, masks)


class FeishuBot(_Robot):
    """A Feishu (Lark) custom bot (自定义机器人), from its guide (自定义机器人使用指南):

    * POST JSON to ``https://open.feishu.cn/open-apis/bot/v2/hook/<token>``; with 签名校验, the
      body also carries ``timestamp`` (seconds, a string) and ``sign`` (:func:`feishu_sign`).
    * Message types used here: ``text`` (``{"msg_type": "text", "content": {"text": ...}}``) and
      ``post`` rich text (``{"msg_type": "post", "content": {"post": {"zh_cn": {"title": ...,
      "content": [[{"tag": "text", "text": ...}], ...]}}}}``).
    * Success is ``{"code": 0, "msg": "success", ...}``; older answers also carry ``StatusCode``
      0, read when ``code`` is absent. 19021 is "sign match fail or timestamp is not within one
      hour from current time", 19024 a missing keyword, 19022 an IP refusal, 9499 "Bad Request".
    * The request body may not exceed 20 KB (kept within 20,000 bytes here, the stricter
      reading); 100 requests a minute and 5 a second per bot.
    """

    kind = "feishu"
    code_field = "code"
    msg_field = "msg"
    MAX_BODY = 20_000
    settings: FeishuSettings

    def _target(self) -> str:
        return f"{self.settings.base.rstrip('/')}/{MASK}"

    def _request(self, alert: Alert, uid: str = "") -> _Request:
        s = self.settings
        token = self.secrets.resolve(s.token, f"feishu.{self.name}.token")
        extra: dict[str, str] = {}
        masks: tuple[str, ...] = ()
        if s.secret is not None:
            secret = self.secrets.resolve(s.secret, f"feishu.{self.name}.secret")
            ts = int(self._clock())
            extra = {"timestamp": str(ts), "sign": feishu_sign(secret, ts)}
            masks = (extra["sign"],)
        marker = self.layout.word("truncated")
        if s.msg_type == "text":
            def build(content: str) -> dict[str, Any]:
                return {**extra, "msg_type": "text", "content": {"text": content}}
            text = self.layout.plain(alert)
        else:
            def build(content: str) -> dict[str, Any]:
                return {**extra, "msg_type": "post", "content": {"post": {self._locale(): {
                    "title": self.layout.headline(alert), "content": _post_lines(content, alert.link,
                                                                                 self.layout)}}}}
            text = _body_text(self.layout, alert)
        body, cut = fit_body(build, text, self.MAX_BODY, marker)
        return _Request(f"{s.base.rstrip('/')}/{token}", body, cut, masks)

    def _locale(self) -> str:
        return "zh_cn" if self.layout.lang == "zh" else "en_us"


class WeComRobot(_Robot):
    """A WeCom (企业微信) group robot (群机器人), from 群机器人配置说明
    (developer.work.weixin.qq.com/document/path/91770):

    * POST JSON to ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...``; no signature:
      the key in the URL is the credential.
    * ``text``: ``{"msgtype": "text", "text": {"content": ...}}``, content at most 2048 bytes of
      UTF-8; ``markdown``: ``{"msgtype": "markdown", "markdown": {"content": ...}}``, content at
      most 4096 bytes (the platform's refusal, errcode 40058, reads "markdown.content exceed max
      length 4096"). Both are enforced here on bytes, cut at a character boundary with a marker.
    * Success is ``{"errcode": 0, "errmsg": "ok"}``; an unknown key answers 93000.
    * At most 20 messages a minute per robot.
    """

    kind = "wecom"
    LIMITS: ClassVar[dict[str, int]] = {"text": 2048, "markdown": 4096}
    settings: WeComSettings

    def _target(self) -> str:
        return f"{self.settings.base}?key={MASK}"

    def _request(self, alert: Alert, uid: str = "") -> _Request:
        s = self.settings
        key = self.secrets.resolve(s.key, f"wecom.{self.name}.key")
        if s.msgtype == "text":
            text = self.layout.plain(alert)
        else:
            color = {"critical": "warning", "warning": "comment", "info": "info"}[alert.severity]
            if alert.state == "resolved":
                color = "info"
            text = f'### <font color="{color}">{_md(self.layout.headline(alert))}</font>\n' + _body_text(
                self.layout, alert, markdown=True)
        content, cut = truncate_utf8(text, self.LIMITS[s.msgtype], self.layout.word("truncated"))
        body = _dumps({"msgtype": s.msgtype, s.msgtype: {"content": content}})
        return _Request(f"{s.base}?{urlencode({'key': key})}", body, cut)


def _md(text: str) -> str:
    """Plain text for a markdown message. The platforms document no escape character, so none is
    added (a backslash would show as one); only ``<`` and ``>`` become their full-width forms, so
    that text cannot open a tag such as WeCom's ``<font>``."""
    return text.replace("<", "＜").replace(">", "＞")


def _body_text(layout: Layout, alert: Alert, markdown: bool = False) -> str:
    """Facts and text under a headline (markdown: one list item per fact, link as a link)."""
    facts = layout.facts(alert)
    if markdown:
        lines = [f"> {_md(line)}" for line in facts]
        if alert.text:
            lines += ["", *(_md(line) for line in alert.text.splitlines())]
        if alert.link:
            lines += ["", f"[{layout.word('link')}]({alert.link})"]
        return "\n".join(lines)
    lines = list(facts)
    if alert.text:
        lines += ["", alert.text]
    return "\n".join(lines)


def _markdown(layout: Layout, alert: Alert) -> str:
    # DingTalk markdown needs two spaces or a blank line to break a line; a blank line it is
    return f"### {_md(layout.headline(alert))}\n\n" + _body_text(layout, alert, markdown=True).replace(
        "\n", "\n\n")


def _post_lines(text: str, link: str | None, layout: Layout) -> list[list[dict[str, str]]]:
    lines: list[list[dict[str, str]]] = [[{"tag": "text", "text": line}] for line in text.split("\n")]
    if link:
        lines.append([{"tag": "a", "text": layout.word("link"), "href": link}])
    return lines


# ---------------------------------------------------------------------------- email and webhook


class EmailChannel:
    """Email through ``auditor.scheduling.notify.send_email`` (SMTP, STARTTLS, login)."""

    kind = "email"

    def __init__(self, name: str, settings: EmailChannelSettings, secrets: SecretResolver,
                 layout: Layout | None = None, base: Path | None = None) -> None:
        self.name = name
        smtp = settings.smtp()
        if smtp.ca_file is not None and base is not None and not smtp.ca_file.is_absolute():
            smtp = smtp.model_copy(update={"ca_file": base / smtp.ca_file})
        self.settings = smtp
        self.secrets = secrets
        self.layout = layout or Layout()

    def deliver(self, alert: Alert) -> Delivery:
        notice = Notice(self.layout.headline(alert), self.layout.plain(alert) + "\n", alert.payload())
        target = f"smtp://{self.settings.host}:{self.settings.port} to {', '.join(self.settings.to)}"
        ok, message = True, ""
        try:
            send_email(self.settings, notice, self.secrets)
        except AuditorError as exc:
            ok, message = False, self.secrets.mask(str(exc))
        return Delivery(channel=self.name, kind=self.kind, target=target, alert_key=alert.key,
                        alert_kind=alert.kind, ok=ok, attempts=1, at=_utcnow(), message=message)


class WebhookChannel:
    """The alert as JSON (:meth:`Alert.payload`) through ``auditor.scheduling.notify.send_webhook``
    (bearer token, its own retries with back-off on any answer that is not 2xx)."""

    kind = "webhook"

    def __init__(self, name: str, settings: WebhookChannelSettings, secrets: SecretResolver,
                 layout: Layout | None = None, base: Path | None = None) -> None:
        self.name = name
        hook = settings.hook()
        if hook.ca_file is not None and base is not None and not hook.ca_file.is_absolute():
            hook = hook.model_copy(update={"ca_file": base / hook.ca_file})
        self.settings = hook
        self.secrets = secrets
        self.layout = layout or Layout()

    def deliver(self, alert: Alert) -> Delivery:
        notice = Notice(self.layout.headline(alert), self.layout.plain(alert), alert.payload())
        ok, message = True, ""
        try:
            send_webhook(self.settings, notice, self.secrets)
        except AuditorError as exc:
            ok, message = False, self.secrets.mask(str(exc))
        return Delivery(channel=self.name, kind=self.kind, target=self.secrets.mask(self.settings.url),
                        alert_key=alert.key, alert_kind=alert.kind, ok=ok, attempts=None, at=_utcnow(),
                        message=message)


# ---------------------------------------------------------------------------- from the file


def build_channels(cfg: AlertsConfig, base: Path, secrets: SecretResolver | None = None, *,
                   clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                   ) -> dict[str, Channel]:
    """Every enabled channel of the alerts file, by name (``base``: the file's folder, for
    relative paths)."""
    if secrets is None:
        secrets_file = cfg.secrets_file
        if secrets_file is not None and not secrets_file.is_absolute():
            secrets_file = base / secrets_file
        secrets = SecretResolver(secrets_file)
    layout = Layout(cfg.zone, cfg.lang)
    out: dict[str, Channel] = {}
    robots: list[tuple[type[_Robot], Mapping[str, DingTalkSettings | FeishuSettings | WeComSettings]]] = [
        (DingTalkRobot, cfg.dingtalk), (FeishuBot, cfg.feishu), (WeComRobot, cfg.wecom)]
    for cls, group in robots:
        for name, given in group.items():
            if given.enabled:
                settings = given
                if given.ca_file is not None and not given.ca_file.is_absolute():
                    settings = given.model_copy(update={"ca_file": base / given.ca_file})
                out[name] = cls(name, settings, secrets, layout, clock=clock, sleep=sleep)
    for name, email in cfg.email.items():
        if email.enabled:
            out[name] = EmailChannel(name, email, secrets, layout, base)
    for name, hook in cfg.webhook.items():
        if hook.enabled:
            out[name] = WebhookChannel(name, hook, secrets, layout, base)
    return out


def worst(severities: list[Severity]) -> Severity:
    """The most severe of ``severities``."""
    return min(severities, key=SEVERITIES.index)
