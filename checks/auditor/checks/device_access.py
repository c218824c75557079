"""How people get onto a device: lines that ask for nothing, shared line passwords, keys stored in
clear, password recovery left on, a clock nobody can trust (GB/T 22239 身份鉴别 / 安全审计)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import reason
from auditor.checks.device_base import DeviceCheck, NoParams, Subject, Verdict, meta, unknown
from auditor.messages import Msg, choice, define, joined, msg
from auditor.model import Severity, Status
from auditor.plugins import CheckContext
from auditor.vendors import family

define({
    "device.kind.console": ("控制台", "console"),
    "device.kind.aux": ("AUX", "aux"),
    "device.kind.vty": ("VTY", "vty"),
    "device.login.none": ("不认证", "none"),
    "device.login.password": ("口令认证", "password"),
    "device.login.local": ("本地账号认证", "local"),
    "device.login.aaa": ("AAA 认证", "aaa"),
    "device.what.line_auth": ("控制台与 VTY 线路的认证方式", "how the console and VTY lines authenticate"),
    "device.what.lines_auth": ("线路的认证方式", "how the lines authenticate"),
    "device.no_lines": ("配置中没有控制台或 VTY 线路：无可判断",
                        "the configuration has no console or VTY line: nothing to judge"),
    "device.line_open": ("{line}（不认证）", "{line} (no authentication)"),
    "device.line_open_default": ("{line}（厂商默认：不认证）", "{line} (vendor default: no authentication)"),
    "device.open_lines": ("不要求登录认证的线路：{items}", "lines that ask for no login: {items}"),
    "device.lines_no_default": ("{lines} 未设置登录认证方式，且 {family} 没有文档记载其默认值",
                                "{lines} set no login method and {family} documents no default for them"),
    "device.line_mode": ("{kind}：{login}", "{kind} {login}"),
    "device.lines_login": ("所有线路都要求登录认证（{modes}）", "every line asks for a login ({modes})"),
    "device.shared_lines": ("使用共享口令且无用户名登录的线路：{lines}",
                            "lines that log in with a shared password and no user name: {lines}"),
    "device.shared_lines_closed": ("使用共享口令且无用户名登录的线路：{lines}（{closed}："
                                   "口令认证方式但未设置口令，因此无法登录）",
                                   "lines that log in with a shared password and no user name: {lines} "
                                   "({closed}: password mode with no password set, so no login)"),
    "device.how_not_documented": ("{lines} 的认证方式没有文档记载",
                                  "how {lines} authenticate is not documented"),
    "device.no_shared": ("没有线路使用共享线路口令登录", "no line logs in with a shared line password"),
    "device.no_shared_closed": ("没有线路使用共享线路口令登录（{closed}：口令认证方式但未设置口令，"
                                "因此无法登录）",
                                "no line logs in with a shared line password ({closed}: password mode with "
                                "no password set, so no login)"),
    "device.what.server_keys": ("AAA 服务器密钥", "the AAA server keys"),
    "device.no_server_key": ("未配置 RADIUS/TACACS 共享密钥", "no RADIUS/TACACS shared key is configured"),
    "device.item_why": ("{what}（{why}）", "{what} ({why})"),
    "device.weak_keys": ("以明文或简单编码保存的共享密钥：{keys}",
                         "shared keys stored in clear or a trivial encoding: {keys}"),
    "device.keys_encrypted": ("全部 {count} 个共享密钥均加密保存",
                              "all {count} shared keys are stored encrypted"),
    "device.what.recovery": ("口令恢复是否开启", "whether password recovery is on"),
    "device.recovery_on": ("口令恢复已开启", "password recovery is on"),
    "device.recovery_on_note": ("口令恢复已开启（{note}）", "password recovery is on ({note})"),
    "device.recovery_off": ("口令恢复已关闭", "password recovery is off"),
    "device.clock_offline": ("离线审计没有可与保存的时钟输出比较的时刻",
                             "an offline audit has no moment to compare the saved clock output with"),
    "device.what.clock": ("设备时钟", "the device's clock"),
    "device.clock_no_agent_time": ("读取时钟时没有记录审计代理的时间",
                                   "the clock was read without the agent's time"),
    "device.clock_ahead": ("设备时钟 {time}，比审计代理快 {skew:.0f} 秒",
                           "device clock {time}, {skew:.0f} s ahead of the agent's"),
    "device.clock_behind": ("设备时钟 {time}，比审计代理慢 {skew:.0f} 秒",
                            "device clock {time}, {skew:.0f} s behind the agent's"),
})


def line_mode(kind: str, login: str | None) -> Msg:
    """``vty aaa``: how a kind of line authenticates."""
    return msg("device.line_mode", kind=choice("device.kind", kind),
               login=choice("device.login", login or ""))


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
         "login local)."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, msg("device.what.line_auth"))
        if not terminals.value:
            return Verdict(Status.ERROR, msg("device.no_lines"), terminals.lines)
        open_lines = [t for t in terminals.value if t.login == "none"]
        if open_lines:
            how = joined(msg("device.line_open_default" if t.login_source == "default"
                             else "device.line_open", line=t.name) for t in open_lines)
            return Verdict(Status.FAIL, msg("device.open_lines", items=how),
                           tuple(r for t in open_lines for r in t.lines))
        unknown_lines = [t.name for t in terminals.value if t.login is None]
        if unknown_lines:
            return Verdict(Status.ERROR, msg("device.lines_no_default", lines=unknown_lines,
                                             family=family(subject.device.vendor).title),
                           tuple(r for t in terminals.value if t.login is None for r in t.lines))
        modes = {f"{t.kind} {t.login}": line_mode(t.kind, t.login) for t in terminals.value}
        return Verdict(Status.PASS, msg("device.lines_login", modes=[modes[k] for k in sorted(modes)]),
                       terminals.lines)


class LinePasswordsWithoutUsers(DeviceCheck[NoParams]):
    meta = meta(
        "device.line_passwords_without_users",
        ("不使用无用户名的线路共享口令", "No line logs in with a shared password and no user name"),
        Severity.MEDIUM,
        ("仅凭线路口令登录无法区分是谁在操作，GB/T 22239-2019 要求操作可追溯到个人。",
         "A line password alone cannot tell who is working; GB/T 22239-2019 requires actions traceable to "
         "a person."),
        ("线路改用 AAA 或本地账号认证，删除线路口令。", "Authenticate lines through AAA or local accounts "
         "and remove the line passwords."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, msg("device.what.lines_auth"))
        if not terminals.value:
            return Verdict(Status.ERROR, msg("device.no_lines"), terminals.lines)
        shared = [t for t in terminals.value if t.login == "password" and t.has_password]
        # password mode with no password set: the line refuses every login (IOS "Password required,
        # but none set"), which is no shared password
        refusing = [t.name for t in terminals.value if t.login == "password" and not t.has_password]
        if shared:
            names = [t.name for t in shared]
            text = (msg("device.shared_lines_closed", lines=names, closed=refusing) if refusing
                    else msg("device.shared_lines", lines=names))
            return Verdict(Status.FAIL, text, tuple(r for t in shared for r in t.lines))
        unknown_lines = [t.name for t in terminals.value if t.login is None]
        if unknown_lines:
            return Verdict(Status.ERROR, msg("device.how_not_documented", lines=unknown_lines),
                           terminals.lines)
        return Verdict(Status.PASS, msg("device.no_shared_closed", closed=refusing) if refusing
                       else msg("device.no_shared"), terminals.lines)


class ServerKeysProtected(DeviceCheck[NoParams]):
    meta = meta(
        "device.server_keys_protected",
        ("RADIUS/TACACS 共享密钥不以明文保存", "RADIUS/TACACS shared keys are not stored in clear"),
        Severity.MEDIUM,
        ("明文或仅经简单编码（如 Cisco type 7）的共享密钥，任何看到配置的人都能冒充认证服务器。",
         "A shared key in clear text or a trivial encoding (such as Cisco type 7) lets anyone who sees the "
         "configuration impersonate the authentication server."),
        ("以设备的加密形式保存密钥（cipher、key 6 等）。", "Store the keys in the device's encrypted form "
         "(cipher, key 6, ...)."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        keys = subject.view.server_keys
        if keys.value is None:
            return unknown(keys, msg("device.what.server_keys"))
        if not keys.value:
            return Verdict(Status.NOT_APPLICABLE, msg("device.no_server_key"))
        bad = [k for k in keys.value if k.form in ("plaintext", "weak")]
        if bad:
            items = joined(msg("device.item_why", what=reason(k.what), why=reason(k.form_reason))
                           for k in bad)
            return Verdict(Status.FAIL, msg("device.weak_keys", keys=items),
                           tuple(r for k in bad for r in k.lines))
        return Verdict(Status.PASS, msg("device.keys_encrypted", count=len(keys.value)), keys.lines)


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
         "configuration backup."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        recovery = subject.view.password_recovery
        if recovery.value is None:
            return unknown(recovery, msg("device.what.recovery"))
        if recovery.value:
            text = (msg("device.recovery_on_note", note=reason(recovery.note)) if recovery.source == "default"
                    else msg("device.recovery_on"))
            return Verdict(Status.FAIL, text, recovery.lines)
        return Verdict(Status.PASS, msg("device.recovery_off"), recovery.lines)


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
        ("配置 NTP 并确认时钟同步。", "Configure NTP and make sure the clock is synchronised."),
        effort="config", owner="network_admin")
    params_model = ClockParams

    def judge(self, subject: Subject, ctx: CheckContext[ClockParams]) -> Verdict:
        clock = subject.view.clock
        if not subject.live:
            return Verdict(Status.NOT_APPLICABLE, msg("device.clock_offline"), clock.lines)
        if clock.value is None:
            return unknown(clock, msg("device.what.clock"))
        if clock.value.skew_s is None:
            return Verdict(Status.ERROR, msg("device.clock_no_agent_time"), clock.lines)
        skew = clock.value.skew_s
        text = msg("device.clock_ahead" if skew > 0 else "device.clock_behind", time=clock.value.device_time,
                   skew=abs(skew))
        status = Status.FAIL if abs(skew) >= ctx.params.max_skew_s else Status.PASS
        return Verdict(status, text, clock.lines, measured=abs(skew), threshold=ctx.params.max_skew_s,
                       unit="s")
