"""How people get onto a device: lines that ask for nothing, shared line passwords, keys stored in
clear, password recovery left on, a clock nobody can trust (GB/T 22239 身份鉴别 / 安全审计)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks.device_base import DeviceCheck, NoParams, Subject, Verdict, meta, unknown
from auditor.model import Severity, Status
from auditor.plugins import CheckContext
from auditor.vendors import family


class LineLoginRequired(DeviceCheck[NoParams]):
    meta = meta(
        "device.line_login_required",
        ("控制台与 VTY 登录需要身份鉴别", "Console and VTY lines require a login"),
        Severity.HIGH,
        ("GB/T 22239-2019 要求对登录的用户进行身份标识和鉴别；"
         "不需要口令的控制台或 VTY 线路让任何人进入设备。",
         "GB/T 22239-2019 requires every user logging in to be identified and authenticated; a console or "
         "VTY line that asks for nothing lets anyone in."),
        ("为所有线路配置 AAA 或本地账号认证（authentication-mode aaa / scheme，login local）。",
         "Make every line authenticate through AAA or local accounts (authentication-mode aaa / scheme, "
         "login local)."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, "how the console and VTY lines authenticate")
        if not terminals.value:
            return Verdict(Status.ERROR, "the configuration has no console or VTY line: nothing to judge",
                           terminals.lines)
        open_lines = [t for t in terminals.value if t.login == "none"]
        if open_lines:
            how = "; ".join(f"{t.name} ({'vendor default: ' if t.login_source == 'default' else ''}no "
                            "authentication)" for t in open_lines)
            return Verdict(Status.FAIL, f"lines that ask for no login: {how}",
                           tuple(r for t in open_lines for r in t.lines))
        unknown_lines = [t.name for t in terminals.value if t.login is None]
        if unknown_lines:
            return Verdict(Status.ERROR, f"{', '.join(unknown_lines)} set no login method and "
                           f"{family(subject.device.vendor).title} documents no default for them",
                           tuple(r for t in terminals.value if t.login is None for r in t.lines))
        modes = ", ".join(sorted({f"{t.kind} {t.login}" for t in terminals.value}))
        return Verdict(Status.PASS, f"every line asks for a login ({modes})", terminals.lines)


class LinePasswordsWithoutUsers(DeviceCheck[NoParams]):
    meta = meta(
        "device.line_passwords_without_users",
        ("不使用无用户名的线路共享口令", "No line logs in with a shared password and no user name"),
        Severity.MEDIUM,
        ("仅凭线路口令登录无法区分是谁在操作，GB/T 22239-2019 要求操作可追溯到个人。",
         "A line password alone cannot tell who is working; GB/T 22239-2019 requires actions traceable to "
         "a person."),
        ("线路改用 AAA 或本地账号认证，删除线路口令。", "Authenticate lines through AAA or local accounts "
         "and remove the line passwords."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, "how the lines authenticate")
        if not terminals.value:
            return Verdict(Status.ERROR, "the configuration has no console or VTY line: nothing to judge",
                           terminals.lines)
        shared = [t for t in terminals.value if t.login == "password" and t.has_password]
        # password mode with no password set: the line refuses every login (IOS "Password required,
        # but none set"), which is no shared password
        refusing = [t.name for t in terminals.value if t.login == "password" and not t.has_password]
        closed = (f" ({', '.join(refusing)}: password mode with no password set, so no login)"
                  if refusing else "")
        if shared:
            return Verdict(Status.FAIL, "lines that log in with a shared password and no user name: "
                           + ", ".join(t.name for t in shared) + closed,
                           tuple(r for t in shared for r in t.lines))
        unknown_lines = [t.name for t in terminals.value if t.login is None]
        if unknown_lines:
            return Verdict(Status.ERROR, f"how {', '.join(unknown_lines)} authenticate is not documented",
                           terminals.lines)
        return Verdict(Status.PASS, f"no line logs in with a shared line password{closed}", terminals.lines)


class ServerKeysProtected(DeviceCheck[NoParams]):
    meta = meta(
        "device.server_keys_protected",
        ("RADIUS/TACACS 共享密钥不以明文保存", "RADIUS/TACACS shared keys are not stored in clear"),
        Severity.MEDIUM,
        ("明文或仅经简单编码（如 Cisco type 7）的共享密钥，任何看到配置的人都能冒充认证服务器。",
         "A shared key in clear text or a trivial encoding (such as Cisco type 7) lets anyone who sees the "
         "configuration impersonate the authentication server."),
        ("以设备的加密形式保存密钥（cipher、key 6 等）。", "Store the keys in the device's encrypted form "
         "(cipher, key 6, ...)."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        keys = subject.view.server_keys
        if keys.value is None:
            return unknown(keys, "the AAA server keys")
        if not keys.value:
            return Verdict(Status.NOT_APPLICABLE, "no RADIUS/TACACS shared key is configured")
        bad = [k for k in keys.value if k.form in ("plaintext", "weak")]
        if bad:
            return Verdict(Status.FAIL, "shared keys stored in clear or a trivial encoding: "
                           + "; ".join(f"{k.what} ({k.form_reason})" for k in bad),
                           tuple(r for k in bad for r in k.lines))
        return Verdict(Status.PASS, f"all {len(keys.value)} shared keys are stored encrypted", keys.lines)


class PasswordRecoveryOff(DeviceCheck[NoParams]):
    meta = meta(
        "device.password_recovery_off",
        ("设备关闭口令恢复功能", "Password recovery is switched off"),
        Severity.LOW,
        ("开启口令恢复时，能接触控制台的人即可绕过口令重置设备；机房不受控时应关闭。",
         "With password recovery on, anyone at the console can bypass the passwords; switch it off where "
         "the equipment room is not controlled."),
        ("关闭口令恢复功能（命令见本设备的整改建议），并妥善保存配置备份。",
         "Switch password recovery off (the device's own commands are listed with the finding) and keep a "
         "configuration backup."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        recovery = subject.view.password_recovery
        if recovery.value is None:
            return unknown(recovery, "whether password recovery is on")
        how = f" ({recovery.note})" if recovery.source == "default" else ""
        if recovery.value:
            return Verdict(Status.FAIL, f"password recovery is on{how}", recovery.lines)
        return Verdict(Status.PASS, "password recovery is off", recovery.lines)


class ClockParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_skew_s: float = Field(default=60, gt=0)


class ClockSynced(DeviceCheck[ClockParams]):
    meta = meta(
        "device.clock_synced",
        ("设备时钟与审计代理偏差在 60 秒内", "The device clock is within 60 s of the agent's"),
        Severity.MEDIUM,
        ("安全审计要求日志时间可信；设备时钟偏差过大时，日志无法与其他设备关联。",
         "Security audit needs trustworthy timestamps; a device whose clock is off cannot be correlated "
         "with the others."),
        ("配置 NTP 并确认时钟同步。", "Configure NTP and make sure the clock is synchronised."))
    params_model = ClockParams

    def judge(self, subject: Subject, ctx: CheckContext[ClockParams]) -> Verdict:
        clock = subject.view.clock
        if not subject.live:
            return Verdict(Status.NOT_APPLICABLE, "an offline audit has no moment to compare the saved clock "
                           "output with", clock.lines)
        if clock.value is None:
            return unknown(clock, "the device's clock")
        if clock.value.skew_s is None:
            return Verdict(Status.ERROR, "the clock was read without the agent's time", clock.lines)
        skew = clock.value.skew_s
        direction = "ahead of" if skew > 0 else "behind"
        text = f"device clock {clock.value.device_time}, {abs(skew):.0f} s {direction} the agent's"
        status = Status.FAIL if abs(skew) >= ctx.params.max_skew_s else Status.PASS
        return Verdict(status, text, clock.lines, measured=abs(skew), threshold=ctx.params.max_skew_s,
                       unit="s")
