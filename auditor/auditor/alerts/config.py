"""The alerts file: where alerts go (the channels) and when (each rule's timing, quiet hours,
maintenance windows).

YAML validated at the edge like the notification file (``auditor.scheduling.config``): unknown
keys are errors naming file, line and field, and credentials are references (``{env: NAME}`` or
``{secret: KEY}`` in the file's own ``secrets_file``), never inline. A robot's webhook token is a
credential too (whoever has it can post to the group), so the token is a reference and the
platform's base URL a separate, plain field.

Channels are grouped by kind, each under a name the rules use::

    version: 1
    secrets_file: alerts-secrets.yaml
    timezone: Asia/Shanghai
    dingtalk:
      ops: {access_token: {secret: ding_token}, secret: {secret: ding_sign}, msgtype: markdown}
    feishu:
      it: {token: {env: FEISHU_HOOK}, secret: {env: FEISHU_SIGN}, msg_type: post}
    wecom:
      office: {key: {secret: wecom_key}, msgtype: markdown}
    email:
      admins: {host: smtp.example.cn, sender: auditor@example.cn, to: [it@example.cn],
               password: {env: SMTP_PASSWORD}, username: {env: SMTP_USER}}
    webhook:
      collector: {url: "https://collector.example.cn/alerts", bearer: {env: HOOK_TOKEN}}
    rules:
      school-offline: {title: 学校离线, severity: critical, for: 10m, repeat: 4h,
                       group_window: 2m, channels: [ops, admins]}
    calendar:      # the school calendar (as the inventory's schedule): terms and holidays
      terms: [{name: 2026-2027学年第一学期, start: 2026-09-01, end: 2027-01-22}]
      holidays: [{name: 元旦, start: 2027-01-01, end: 2027-01-03}]
    quiet_hours:
      - {start: "22:00", end: "07:00", allow: [critical]}
      - {start: "00:00", end: "00:00", on: other_days, allow: [critical]}   # weekends, holidays
    maintenance:
      - {start: 2026-09-05T08:00:00+08:00, end: 2026-09-05T12:00:00+08:00, subjects: [DEMO-0001]}
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from auditor.inventory import DateRange
from auditor.scheduling.config import EmailSettings, WebhookSettings
from auditor.secrets import SecretRef
from auditor.yamlsrc import FieldError, load_yaml, validate

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")  # most severe first
Policy = Literal["hold", "suppress"]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> object:
    """``90`` / ``"90s"`` / ``"10m"`` / ``"4h"`` / ``"1d"`` → a timedelta (other input is left
    for pydantic to refuse with its own message)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError("write a duration such as 90s, 10m, 4h or 1d")
        return dt.timedelta(seconds=float(match.group(1)) * _UNIT[(match.group(2) or "s").lower()])
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RobotSettings(_Model):
    """What every chat robot has: its own switch, time limits, retries and send rate."""

    enabled: bool = True
    ca_file: Path | None = None  # trust anchor for the platform's certificate (default: system CAs)
    timeout_s: float = Field(10, gt=0, le=120)
    tries: int = Field(3, ge=1, le=10)  # network errors and HTTP 5xx/429 only, never a platform errcode
    backoff_s: float = Field(1.0, ge=0, le=60)  # wait before try n+1: backoff_s * 2**(n-1), at most 30 s
    per_minute: int = Field(20, ge=1, le=100)
    max_wait_s: float = Field(60, ge=0, le=600)  # longest wait for a free slot in the rate limit

    @staticmethod
    def _https(base: str, field: str) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FieldError((field,), "write an http(s) URL")


class DingTalkSettings(_RobotSettings):
    """A DingTalk custom robot (自定义机器人): token from its webhook URL, optional signing secret."""

    base: str = "https://oapi.dingtalk.com/robot/send"
    access_token: SecretRef
    secret: SecretRef | None = None  # 加签: the SEC... string of the robot's security settings
    msgtype: Literal["text", "markdown"] = "markdown"
    per_minute: int = Field(20, ge=1, le=20)  # the platform allows 20 a minute per robot

    @model_validator(mode="after")
    def _base(self) -> DingTalkSettings:
        self._https(self.base, "base")
        if urlsplit(self.base).query:
            raise FieldError(("base",), "write the URL without '?access_token=...'; the token goes "
                                        "in access_token (a secret reference)")
        return self


class FeishuSettings(_RobotSettings):
    """A Feishu (Lark) custom bot (自定义机器人): token is the last part of its webhook URL."""

    base: str = "https://open.feishu.cn/open-apis/bot/v2/hook/"
    token: SecretRef
    secret: SecretRef | None = None  # 签名校验 secret
    msg_type: Literal["text", "post"] = "post"
    per_minute: int = Field(20, ge=1, le=100)  # the platform allows 100 a minute (and 5 a second)

    @model_validator(mode="after")
    def _base(self) -> FeishuSettings:
        self._https(self.base, "base")
        return self


class WeComSettings(_RobotSettings):
    """A WeCom (企业微信) group robot (群机器人): its webhook key is its only credential."""

    base: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    key: SecretRef
    msgtype: Literal["text", "markdown"] = "markdown"
    per_minute: int = Field(20, ge=1, le=20)  # the platform allows 20 a minute per robot

    @model_validator(mode="after")
    def _base(self) -> WeComSettings:
        self._https(self.base, "base")
        if urlsplit(self.base).query:
            raise FieldError(("base",), "write the URL without '?key=...'; the key goes in key "
                                        "(a secret reference)")
        return self


class EmailChannelSettings(EmailSettings):
    """The scheduled-run notices' SMTP settings (``auditor.scheduling.config.EmailSettings``)."""

    enabled: bool = True

    def smtp(self) -> EmailSettings:
        return EmailSettings.model_validate(self.model_dump(exclude={"enabled"}))


class WebhookChannelSettings(WebhookSettings):
    """The scheduled-run notices' JSON webhook (``auditor.scheduling.config.WebhookSettings``)."""

    enabled: bool = True

    def hook(self) -> WebhookSettings:
        return WebhookSettings.model_validate(self.model_dump(exclude={"enabled"}))


class RuleSettings(_Model):
    """When a rule's alerts are sent, and where."""

    title: str | None = None  # what people read (Chinese by default); the rule id if not given
    severity: Severity = "warning"
    for_: Duration = Field(dt.timedelta(0), alias="for")  # how long a condition holds before it alerts
    repeat: Duration | None = None  # a reminder while it still fires (none if not given or 0)
    group_window: Duration = dt.timedelta(0)  # wait this long to send several subjects as one message
    channels: Annotated[list[Name], Field(min_length=1)]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("for_", "group_window", "repeat")
    @classmethod
    def _not_negative(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        if value is not None and value < dt.timedelta(0):
            raise ValueError("a duration cannot be negative")
        return value

    @field_validator("repeat")
    @classmethod
    def _zero_is_none(cls, value: dt.timedelta | None) -> dt.timedelta | None:
        return None if value is not None and value == dt.timedelta(0) else value


class ThroughputRule(RuleSettings):
    """``throughput-below-contract``: ``k`` of the last ``m`` valid tests of one uplink and direction
    below ``percent`` % of its contracted rate (independent of the district's "degraded")."""

    percent: float = Field(80, gt=0, le=100)
    k: int = Field(2, ge=1, le=16)
    m: int = Field(4, ge=1, le=16)  # the district keeps each uplink's last 16 valid tests

    @model_validator(mode="after")
    def _k_of_m(self) -> ThroughputRule:
        if self.k > self.m:
            raise FieldError(("k",), f"k ({self.k}) is more than m ({self.m}): k of the last m tests")
        return self


class LossRule(RuleSettings):
    """``reach-loss``: reach probes lost above ``percent`` % over the last ``window`` (judged once the
    window holds at least ``min_probes`` probes)."""

    percent: float = Field(5, ge=0, lt=100)
    window: Duration = dt.timedelta(minutes=30)
    min_probes: int = Field(10, ge=1, le=100_000)

    @field_validator("window")
    @classmethod
    def _window(cls, value: dt.timedelta) -> dt.timedelta:
        if not dt.timedelta(minutes=1) <= value <= dt.timedelta(days=1):
            raise ValueError("write a window between 1m and 1d")
        return value


class RegressionRule(RuleSettings):
    """``audit-regression``: a school's newest run is worse than its previous one (the Beijing score
    fell by more than ``score_drop`` points, or checks that passed fail now); a run older than
    ``max_age`` is not reported (an alert already firing stays until a newer run)."""

    max_age: Duration = dt.timedelta(days=7)
    score_drop: float = Field(0, ge=0)
    list_checks: int = Field(5, ge=0, le=50)  # checks named in the message (the rest counted)


class ExpiryRule(RuleSettings):
    """``certificate-expiring``: a certificate expiring within ``days`` days: the district's own
    (``<home>/tls/server.pem`` and ``district-ca.pem`` as ``auditor district tls`` writes them, and
    the city's CA it pins) when ``district`` is true, and the ``files`` named here (relative to the
    alerts file's folder)."""

    days: int = Field(30, ge=1, le=3650)
    files: list[Path] = Field(default_factory=list)
    district: bool = True


class JobRule(RuleSettings):
    """``job-not-picked-up``: a district job its agent has not claimed ``after`` it came due, whose
    window closed unclaimed (reported for ``lookback``), or whose lease ran out ``after`` ago with
    no result."""

    after: Duration = dt.timedelta(minutes=30)
    lookback: Duration = dt.timedelta(days=1)

    @field_validator("after", "lookback")
    @classmethod
    def _positive(cls, value: dt.timedelta) -> dt.timedelta:
        if value <= dt.timedelta(0):
            raise ValueError("write a duration above zero")
        return value


# The rules ``auditor alerts check`` evaluates that take settings of their own; every other rule
# (school-down, school-silent, school-degraded, or a name of your own) has the timing only.
RULE_SETTINGS: dict[str, type[RuleSettings]] = {
    "throughput-below-contract": ThroughputRule,
    "reach-loss": LossRule,
    "audit-regression": RegressionRule,
    "certificate-expiring": ExpiryRule,
    "job-not-picked-up": JobRule,
}


def _rules(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Each rule validated by its own model (:data:`RULE_SETTINGS`), every error at its own place."""
    if not isinstance(value, dict):
        return handler(value)
    out: dict[Any, Any] = {}
    errors: list[Any] = []
    for rule, given in value.items():
        model = RULE_SETTINGS.get(rule, RuleSettings) if isinstance(rule, str) else RuleSettings
        try:
            out[rule] = model.model_validate(given)
        except ValidationError as exc:
            errors += [{"type": e["type"], "loc": (rule, *e["loc"]), "input": e.get("input"),
                        "ctx": e.get("ctx") or {}} for e in exc.errors()]
    if errors:
        raise ValidationError.from_exception_data("rules", errors)
    return handler(out)  # the names and the count; the values are models already


class Calendar(_Model):
    """The school calendar quiet hours may follow (the inventory's ``schedule`` format): terms
    (none given: every week is a school week) and holidays. A school day is a weekday inside a
    term that is not a holiday."""

    terms: list[DateRange] = Field(default_factory=list)
    holidays: list[DateRange] = Field(default_factory=list)

    def school_day(self, day: dt.date) -> bool:
        if day.weekday() >= 5 or any(h.start <= day <= h.end for h in self.holidays):
            return False
        return not self.terms or any(t.start <= day <= t.end for t in self.terms)


class QuietHours(_Model):
    """A daily window (school time) in which nothing is delivered; ``allow`` lists severities
    that still go out. ``start`` after ``end`` crosses midnight; equal means the whole day.
    ``days`` are the days the window starts on (all if not given); ``on`` narrows them by the
    alerts file's ``calendar``: ``school_days`` or ``other_days`` (weekends, holidays, vacations)."""

    start: str
    end: str
    days: list[Day] | None = None
    on: Literal["all", "school_days", "other_days"] = "all"
    allow: list[Severity] = Field(default_factory=list)
    policy: Policy = "hold"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value.strip()):
            raise ValueError("write a time as \"HH:MM\" (24-hour clock)")
        return value.strip()


class Maintenance(_Model):
    """A planned window (absolute times) for some subjects and rules (all if not given)."""

    start: dt.datetime
    end: dt.datetime
    subjects: list[str] | None = None
    rules: list[str] | None = None
    allow: list[Severity] = Field(default_factory=list)
    policy: Policy = "suppress"
    reason: str = ""

    @model_validator(mode="after")
    def _order(self) -> Maintenance:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise FieldError(("start",), "write the time zone too, e.g. 2026-09-05T08:00:00+08:00")
        if self.end <= self.start:
            raise FieldError(("end",), "'end' is not after 'start'; check the times")
        return self


class AlertsConfig(_Model):
    """Where alerts go and when."""

    version: Literal[1] = 1
    secrets_file: Path | None = None
    timezone: str = "Asia/Shanghai"  # school time: quiet hours and the times written in messages
    lang: Literal["zh", "en"] = "zh"
    retry_after: Duration = dt.timedelta(minutes=1)  # a message no channel took is tried again after this
    dingtalk: dict[Name, DingTalkSettings] = Field(default_factory=dict)
    feishu: dict[Name, FeishuSettings] = Field(default_factory=dict)
    wecom: dict[Name, WeComSettings] = Field(default_factory=dict)
    email: dict[Name, EmailChannelSettings] = Field(default_factory=dict)
    webhook: dict[Name, WebhookChannelSettings] = Field(default_factory=dict)
    rules: Annotated[dict[Name, RuleSettings], Field(min_length=1), WrapValidator(_rules)]
    calendar: Calendar = Calendar()
    quiet_hours: list[QuietHours] = Field(default_factory=list)
    maintenance: list[Maintenance] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; write an IANA name such as "
                             "Asia/Shanghai") from None
        return value

    @model_validator(mode="after")
    def _names(self) -> AlertsConfig:
        seen: dict[str, str] = {}
        for kind in ("dingtalk", "feishu", "wecom", "email", "webhook"):
            for name in getattr(self, kind):
                if name in seen:
                    raise FieldError((kind, name), f"channel name {name!r} is also used under "
                                                   f"{seen[name]}; give each channel its own name")
                seen[name] = kind
        for rule, settings in self.rules.items():
            for i, name in enumerate(settings.channels):
                if name not in seen:
                    known = ", ".join(sorted(seen)) or "none"
                    raise FieldError(("rules", rule, "channels", i),
                                     f"no channel named {name!r} (channels: {known})")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_alerts(path: Path) -> AlertsConfig:
    data, node, _raw = load_yaml(path)
    return validate(AlertsConfig, data, node, str(path))
