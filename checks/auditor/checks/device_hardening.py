"""Network-device hardening checks (GB/T 22239 身份鉴别 / 访问控制 / 安全审计 / 入侵防范).

Each check reads the :class:`~auditor.facts.DeviceView` of a switch or router (see
``device_base``); vendor syntax and defaults live in ``auditor.vendors``, never here.
"""

from __future__ import annotations

import fnmatch
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import reason, unmeasured, unreadable
from auditor.checks.device_base import (
    CONFIG_PROBE,
    DEFAULT_COMMUNITY_PROBE,
    SNMP_PROBE,
    DeviceCheck,
    NoParams,
    Subject,
    Verdict,
    meta,
    unknown,
)
from auditor.facts import (
    DefaultCommunity,
    DeviceConfig,
    DeviceSnmp,
    FactKind,
    Interface,
    LineRef,
    Terminal,
    UnreadableFact,
    read_fact,
)
from auditor.messages import Msg, choice, define, joined, msg
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import CheckContext
from auditor.vendors import family
from auditor.vendors.interfaces import canonical

define({
    "device.onoff.on": ("开启", "on"),
    "device.onoff.off": ("关闭", "off"),
    "device.tcp.open": ("开放", "open"),
    "device.tcp.closed": ("关闭", "closed"),
    "device.tcp.filtered": ("被过滤", "filtered"),
    "device.form.plaintext": ("明文", "plaintext"),
    "device.form.reversible": ("可逆加密", "reversible"),
    "device.form.none": ("无口令", "none"),
    "device.form.hashed": ("哈希", "hashed"),
    "device.form.weak": ("弱编码", "weak"),
    "device.form.unknown": ("未知", "unknown"),
    # telnet
    "device.telnet_unexplained": ("TCP 23 端口有应答（可通过 Telnet 访问）；配置中看不出原因（{note}）",
                                  "TCP 23 answers (telnet reachable); the configuration does not say why "
                                  "({note})"),
    "device.what.telnet": ("Telnet 服务是否开启", "whether the telnet server is on"),
    "device.telnet_said": ("配置显示 Telnet 服务{state}", "configuration says telnet {state}"),
    "device.telnet_said_note": ("配置显示 Telnet 服务{state}（{note}）",
                                "configuration says telnet {state} ({note})"),
    "device.telnet_unmeasured": ("{said}；未测量 TCP 23 端口", "{said}; TCP 23 not measured"),
    "device.telnet_measured": ("{said}；TCP 23 端口{port}", "{said}; TCP 23 is {port}"),
    "device.disagree": ("配置与实测不一致：{said}", "configuration and measurement disagree: {said}"),
    # ssh
    "device.ssh_v1_if_on": ("若 SSH 服务运行，也会接受 SSH 第 1 版（{why}）",
                            "if the SSH server runs it also accepts SSH version 1 ({why})"),
    "device.config_allows": ("配置允许", "the configuration allows it"),
    "device.what.ssh_on": ("SSH 服务是否开启", "whether the SSH server is on"),
    "device.ssh_off": ("SSH 服务已关闭，管理无法使用 SSH",
                       "the SSH server is off, so management cannot use SSH"),
    "device.what.ssh_versions": ("接受哪些 SSH 版本", "which SSH versions are accepted"),
    "device.ssh_v1": ("SSH 服务也接受 SSH 第 1 版", "the SSH server also accepts SSH version 1"),
    "device.ssh_v1_shown": ("SSH 服务也接受 SSH 第 1 版（服务器报告的版本为 {version}）",
                            "the SSH server also accepts SSH version 1 (server reports version {version})"),
    "device.ssh_v2_only": ("SSH 服务已开启，且只接受第 2 版",
                           "the SSH server is on and accepts version 2 only"),
    # http
    "device.https.on": ("HTTPS 已开启", "HTTPS is on"),
    "device.https.off": ("HTTPS 已关闭", "HTTPS is off"),
    "device.https.unstated": ("配置未说明 HTTPS", "HTTPS not stated"),
    "device.tcp80": ("TCP 80 端口{port}", "TCP 80 is {port}"),
    "device.tcp80_unmeasured": ("未测量 TCP 80 端口", "TCP 80 not measured"),
    "device.http_enabled": ("配置启用了 HTTP", "configuration enables HTTP"),
    "device.tcp80_answers": ("TCP 80 端口有应答", "TCP 80 answers"),
    "device.http_reachable": ("可通过明文 HTTP 进行管理：{said}；{tcp}；{https}",
                              "plain-HTTP management is reachable: {said}; {tcp}; {https}"),
    "device.http_off": ("HTTP 服务已关闭；{tcp}；{https}", "HTTP server is off; {tcp}; {https}"),
    "device.http_off_note": ("HTTP 服务已关闭（{note}）；{tcp}；{https}",
                             "HTTP server is off ({note}); {tcp}; {https}"),
    "device.what.http_on": ("HTTP 服务是否开启", "whether the HTTP server is on"),
    "device.closed_port_no_proof": ("{verdict}；从审计代理测得 {tcp}，这不能说明该服务已关闭",
                                    "{verdict}; {tcp} from the agent, which does not show the server off"),
    # passwords
    "device.what.passwords": ("口令的保存方式", "how passwords are stored"),
    "device.user": ("用户 {name}", "user {name}"),
    "device.no_stored_password": ("配置中没有保存任何口令（无本地账号、enable、super 或线路口令）",
                                  "the configuration stores no password (no local account, enable, super "
                                  "or line password)"),
    "device.stored_item": ("{what}：{form}（{why}）", "{what}: {form} ({why})"),
    "device.weak_passwords": ("以明文或可逆形式保存的口令：{items}",
                              "passwords stored in clear text or reversible form: {items}"),
    "device.what_why": ("{what}：{why}", "{what}: {why}"),
    "device.passwords_undecided": ("无法判断口令的保存方式：{items}",
                                   "cannot judge how passwords are stored: {items}"),
    "device.passwords_hashed": ("全部 {count} 个已保存的口令均为单向哈希",
                                "all {count} stored passwords are one-way hashes"),
    # lockout
    "device.what.lockout": ("登录失败锁定", "the login-failure lockout"),
    "device.no_lockout": ("未配置登录失败锁定", "no login-failure lockout"),
    "device.no_lockout_note": ("未配置登录失败锁定（{note}）", "no login-failure lockout ({note})"),
    "device.lockout": ("连续登录失败 {attempts} 次后锁定", "lockout after {attempts} failed attempts"),
    "device.lockout_minutes": ("连续登录失败 {attempts} 次后锁定 {minutes:g} 分钟",
                               "lockout after {attempts} failed attempts, locked for {minutes:g} min"),
    "device.lockout_note": ("连续登录失败 {attempts} 次后锁定（{note}）",
                            "lockout after {attempts} failed attempts ({note})"),
    "device.lockout_minutes_note": ("连续登录失败 {attempts} 次后锁定 {minutes:g} 分钟（{note}）",
                                    "lockout after {attempts} failed attempts, locked for {minutes:g} min "
                                    "({note})"),
    # idle timeout
    "device.what.lines": ("控制台/VTY 线路", "the console/VTY lines"),
    "device.no_timeout_default": ("{lines} 未设置空闲超时，且 {family} 没有文档记载其默认值",
                                  "no idle timeout on {lines}, and {family} documents no default"),
    "device.never_times_out": ("永不超时（0 0）", "never (0 0)"),
    "device.minutes": ("{minutes:g} 分钟", "{minutes:g} min"),
    "device.line_value": ("{line}：{value}", "{line}: {value}"),
    "device.timeouts_long": ("空闲超时超过 {limit:g} 分钟：{items}",
                             "idle timeout above {limit:g} min: {items}"),
    "device.timeouts_ok": ("所有控制台/VTY 线路均在 {limit:g} 分钟内超时",
                           "every console/VTY line times out within {limit:g} min"),
    "device.timeouts_ok_default": ("所有控制台/VTY 线路均在 {limit:g} 分钟内超时（{lines} "
                                   "采用厂商文档记载的默认值 10 分钟）",
                                   "every console/VTY line times out within {limit:g} min (the vendor's "
                                   "documented default of 10 min on {lines})"),
    # accounts
    "device.default_login": ("审计使用众所周知的默认口令，以 {user} 身份登录成功（{why}）；请修改口令",
                             "the audit logged in as {user} with a well-known default password ({why}); "
                             "change it"),
    "device.what.accounts": ("本地账号", "the local accounts"),
    "device.no_local_accounts": ("配置中没有本地账号", "the configuration has no local account"),
    "device.no_local_accounts_own": ("配置中没有本地账号；审计自身的登录账号（{user}）不是默认账号口令组合",
                                     "the configuration has no local account; the audit's own login "
                                     "({user}) is not a default pair"),
    "device.default_accounts": ("使用默认或通用账号名：{names}", "default or generic account names: {names}"),
    "device.accounts_ok": ("本地用户（{users}）中没有默认账号名；配置中无法看出账号是否被多人共用",
                           "no default account names among local users ({users}); whether an account is "
                           "shared cannot be seen in a configuration"),
    "device.accounts_ok_own": ("本地用户（{users}）中没有默认账号名；审计自身的登录账号（{user}）"
                               "不是默认账号口令组合；配置中无法看出账号是否被多人共用",
                               "no default account names among local users ({users}); the audit's own "
                               "login ({user}) is not a default pair; whether an account is shared cannot "
                               "be seen in a configuration"),
    # remote auth
    "device.what.aaa": ("AAA 配置", "the AAA configuration"),
    "device.login_path_unknown": ("无法判断管理员的登录路径：{why}",
                                  "cannot judge the administrators' login path: {why}"),
    "device.checked_locally": ("管理员在设备本地验证：{why}", "administrators are checked locally: {why}"),
    # syslog
    "device.what.logging": ("日志配置", "the logging configuration"),
    "device.logging_off": ("设备报告日志功能已关闭", "the device reports that logging is switched off"),
    "device.no_syslog": ("未配置远程日志服务器", "no remote syslog host is configured"),
    "device.no_syslog_note": ("未配置远程日志服务器（{note}）",
                              "no remote syslog host is configured ({note})"),
    "device.logs_to": ("日志发送到 {hosts}", "logs go to {hosts}"),
    "device.logs_to_confirmed": ("日志发送到 {hosts}；日志输出确认日志功能已开启",
                                 "logs go to {hosts}; the logging output confirms it is on"),
    "device.logs_to_unread": ("日志发送到 {hosts}；未读取日志输出",
                              "logs go to {hosts}; the logging output was not read"),
    # ntp
    "device.what.ntp": ("NTP 配置", "the NTP configuration"),
    "device.no_ntp": ("未配置 NTP 服务器", "no NTP server is configured"),
    "device.ntp_sync_unknown": ("已配置 NTP 服务器，但无法判断时钟是否已同步：{note}",
                                "NTP servers are configured but whether the clock is synchronised cannot "
                                "be told: {note}"),
    "device.ntp_unsynced": ("已配置 NTP 服务器 {servers}，但时钟未同步",
                            "NTP servers {servers} are configured but the clock is not synchronised"),
    "device.ntp_synced": ("时钟已与 NTP 服务器 {servers} 同步（层级 {stratum}）",
                          "clock synchronised (stratum {stratum}) with NTP servers {servers}"),
    # snmp
    "device.what.snmp": ("SNMP 配置", "the SNMP configuration"),
    "device.snmp_off": ("SNMP 代理已关闭（{why}）", "the SNMP agent is off ({why})"),
    "device.no_snmp_config": ("没有 SNMP 配置", "no SNMP configuration"),
    "device.community_rw": ("团体名 {name} 可写（rw）", "community {name} is writable (rw)"),
    "device.community_weak": ("团体名 {name} 很容易被猜到（{why}）",
                              "community {name} is trivially guessable ({why})"),
    "device.v3_group_level": ("SNMPv3 组 {name} 的安全级别为 {level}", "SNMPv3 group {name} is {level}"),
    "device.snmp_v2": ("较低权重：已启用 SNMPv1/v2c（{versions}），有 {count} 个只读团体名；建议使用 SNMPv3 "
                       "authPriv",
                       "lower weight: SNMPv1/v2c is enabled ({versions}) with {count} read-only "
                       "community(ies); SNMPv3 authPriv is preferred"),
    "device.snmp_v2_encrypted": ("较低权重：已启用 SNMPv1/v2c（{versions}），有 {count} "
                                 "个只读团体名（加密保存：此处不判断其强度，见 snmp.default_community）；"
                                 "建议使用 SNMPv3 authPriv",
                                 "lower weight: SNMPv1/v2c is enabled ({versions}) with {count} read-only "
                                 "community(ies) (stored encrypted: strength not judged here, see "
                                 "snmp.default_community); SNMPv3 authPriv is preferred"),
    "device.snmp_unqueryable": ("SNMP 代理已开启，但没有团体名和 v3 用户：无人能够查询",
                                "the SNMP agent is on with no community and no v3 user: nothing can query "
                                "it"),
    "device.snmp_v3_only": ("SNMP 只使用 v3 authPriv", "SNMP uses v3 authPriv only"),
    # management ACL
    "device.what.vty_snmp": ("VTY 与 SNMP 配置", "the VTY and SNMP configuration"),
    "device.vty_no_acl": ("{line} 未绑定入方向 ACL", "{line} has no inbound ACL"),
    "device.community_no_acl": ("SNMP 团体名 {name} 未绑定 ACL", "SNMP community {name} has no ACL"),
    "device.group_no_acl": ("SNMPv3 组 {name} 未绑定 ACL", "SNMP SNMPv3 group {name} has no ACL"),
    "device.problems_no_vty": ("{problems}（配置中没有 VTY 线路）",
                               "{problems} (the configuration has no VTY line)"),
    "device.no_vty_acl_unknown": ("配置中没有 VTY 线路：无法判断谁能访问管理线路",
                                  "the configuration has no VTY line: who may reach the management lines "
                                  "cannot be judged"),
    "device.acl_ok": ("{count} 条 VTY 线路受 ACL 限制", "{count} VTY line(s) are restricted by ACL"),
    "device.acl_ok_snmp": ("{count} 条 VTY 线路和 SNMP 受 ACL 限制",
                           "{count} VTY line(s) and SNMP are restricted by ACL"),
    # unused ports
    "device.what.interfaces": ("接口", "the interfaces"),
    "device.no_access_port": ("配置中没有已启用的接入端口", "no enabled access port in the configuration"),
    "device.source.snmp": ("SNMP ifTable", "SNMP ifTable"),
    "device.source.output": ("接口状态输出", "the interface status output"),
    "device.no_link_state": ("接入端口 {ports} 没有链路状态（来源：{source}）",
                             "no link state for access ports {ports} (from {source})"),
    "device.ports_without_link": ("已启用但无链路的接入端口（来源：{source}）：{ports}",
                                  "access ports enabled without link (from {source}): {ports}"),
    "device.ports_with_link": ("全部 {count} 个已启用的接入端口均有链路（来源：{source}）",
                               "all {count} enabled access ports have link (from {source})"),
    # firmware, configuration changes
    "device.what.version": ("型号与软件版本", "the model and software version"),
    "device.version": ("型号 {model}，软件版本 {software}", "model {model}, software {software}"),
    "device.offline_no_baseline": ("离线审计没有保存之前的配置可供比较",
                                   "an offline audit keeps no earlier configuration to compare"),
    "device.no_baseline": ("未读取到完整配置，因此未保存基线",
                           "no complete configuration was read, so no baseline was stored"),
    "device.first_audit": ("首次审计：已保存基线（sha256 {sha}…）",
                           "first audit: baseline stored (sha256 {sha}…)"),
    "device.config_changed": ("自上次审计以来配置已变更（sha256 {old}… → {new}…）；见 {diff}",
                              "configuration changed since the last audit (sha256 {old}… → {new}…); see "
                              "{diff}"),
    "device.config_unchanged": ("自上次审计以来配置未变更（sha256 {sha}…）",
                                "configuration unchanged since the last audit (sha256 {sha}…)"),
    # default communities
    "device.no_community_tried": ("未尝试任何默认团体名", "no default community was tried"),
    "device.community_answer": ("{name}（sysDescr：{descr}）", "{name} (sysDescr: {descr})"),
    "device.answers_defaults": ("响应默认 SNMP 团体名：{items}", "answers default SNMP communities: {items}"),
    "device.silent_everywhere": ("尝试的默认团体名（{tried}）均无应答，但该设备在本次审计中对其他请求也都没"
                                 "有应答（使用清单凭据的 SNMP、SSH）：没有应答不能说明问题",
                                 "no answer to the default communities tried ({tried}), but the device "
                                 "answered nothing else in this audit either (SNMP with the inventory's "
                                 "credentials, SSH): silence proves nothing"),
    "device.silent": ("尝试的默认团体名（{tried}）均无应答，而该设备应答了审计的 {probe}",
                      "no answer to the default communities tried ({tried}) from a device that answered "
                      "the audit's {probe}"),
})


class TelnetDisabled(DeviceCheck[NoParams]):
    meta = meta(
        "device.telnet_disabled",
        ("网络设备已关闭 Telnet 管理", "Telnet management is disabled on the device"),
        Severity.HIGH,
        ("Telnet 以明文传输口令和会话内容，GB/T 22239-2019 要求远程管理时防止鉴别信息在传输中被窃听。",
         "Telnet carries passwords and sessions in clear text; GB/T 22239-2019 requires remote "
         "management to protect authentication data in transit."),
        ("关闭 Telnet 服务，VTY 仅允许 SSH（命令见本设备的整改建议）。",
         "Turn the telnet server off and let VTY lines accept SSH only (the device's own commands are "
         "listed with the finding)."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        telnet = subject.view.telnet
        port = subject.tcp(23)
        if telnet.value is None:
            if port == "open":
                return Verdict(Status.FAIL, msg("device.telnet_unexplained", note=reason(telnet.note)),
                               telnet.lines)
            return unknown(telnet, msg("device.what.telnet"))
        state = choice("device.onoff", "on" if telnet.value else "off")
        said = (msg("device.telnet_said_note", state=state, note=reason(telnet.note))
                if telnet.source == "default" else msg("device.telnet_said", state=state))
        if port is None:
            return Verdict(Status.FAIL if telnet.value else Status.PASS,
                           msg("device.telnet_unmeasured", said=said), telnet.lines)
        measured = msg("device.telnet_measured", said=said, port=tcp_state(port))
        if telnet.value != (port == "open"):
            return Verdict(Status.FAIL, msg("device.disagree", said=measured), telnet.lines)
        return Verdict(Status.FAIL if telnet.value else Status.PASS, measured, telnet.lines)


def tcp_state(port: str) -> Msg | str:
    """What a TCP connect found (open, closed, filtered, or the error) in the reader's language."""
    found = choice("device.tcp", port)
    return found if isinstance(found, Msg) else reason(port)


class SshV2Only(DeviceCheck[NoParams]):
    meta = meta(
        "device.ssh_v2_only",
        ("设备以 SSHv2 管理，不兼容 SSHv1", "SSH server is on and accepts version 2 only"),
        Severity.HIGH,
        ("SSHv1 存在已知的协议缺陷，远程管理应使用 SSHv2 加密通道。",
         "SSH version 1 has known protocol flaws; remote management should use SSH version 2."),
        ("启用 SSH 服务并关闭 SSHv1 兼容。", "Enable the SSH server and turn off SSHv1 compatibility."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        ssh = subject.view.ssh
        server = ssh.value
        if server is not None and server.enabled is None and server.v1_allowed:
            # on, it would accept version 1; off, management cannot use SSH: a failure either way
            why = reason(ssh.note) if ssh.note else msg("device.config_allows")
            return Verdict(Status.FAIL, msg("device.ssh_v1_if_on", why=why), ssh.lines)
        if server is None or server.enabled is None:
            return unknown(ssh, msg("device.what.ssh_on"))
        if not server.enabled:
            return Verdict(Status.FAIL, msg("device.ssh_off"), ssh.lines)
        if server.v1_allowed is None:
            return unknown(ssh, msg("device.what.ssh_versions"))
        if server.v1_allowed:
            text = (msg("device.ssh_v1_shown", version=server.version) if server.version
                    else msg("device.ssh_v1"))
            return Verdict(Status.FAIL, text, ssh.lines)
        return Verdict(Status.PASS, msg("device.ssh_v2_only"), ssh.lines)


class HttpMgmtSecure(DeviceCheck[NoParams]):
    meta = meta(
        "device.http_mgmt_secure",
        ("设备 Web 管理不使用明文 HTTP", "Web management does not use plain HTTP"),
        Severity.MEDIUM,
        ("HTTP 管理界面以明文传输口令，应关闭或改用 HTTPS。",
         "A plain-HTTP management interface sends passwords in clear text; turn it off or use HTTPS."),
        ("关闭 HTTP 服务，如需 Web 管理仅启用 HTTPS。", "Turn the HTTP server off; if web management is "
         "needed, enable HTTPS only."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        http, https = subject.view.http, subject.view.https
        port = subject.tcp(80)
        lines = http.lines + https.lines
        secure = msg({True: "device.https.on", False: "device.https.off",
                      None: "device.https.unstated"}[https.value])
        tcp_text = msg("device.tcp80", port=tcp_state(port)) if port else msg("device.tcp80_unmeasured")
        if http.value or port == "open":
            said = msg("device.http_enabled" if http.value else "device.tcp80_answers")
            return Verdict(Status.FAIL, msg("device.http_reachable", said=said, tcp=tcp_text, https=secure),
                           lines)
        if http.value is False:
            text = (msg("device.http_off_note", note=reason(http.note), tcp=tcp_text, https=secure)
                    if http.source == "default" else msg("device.http_off", tcp=tcp_text, https=secure))
            return Verdict(Status.PASS, text, lines)
        verdict = unknown(http, msg("device.what.http_on"))
        if port in ("closed", "filtered"):
            # a closed port seen from the agent is no proof: an ACL may hide a server that others reach
            return Verdict(verdict.status,
                           msg("device.closed_port_no_proof", verdict=verdict.message, tcp=tcp_text), lines)
        return verdict


class NoPlaintextPasswords(DeviceCheck[NoParams]):
    meta = meta(
        "device.no_plaintext_passwords",
        ("设备口令不以明文或可逆加密形式保存", "No password is stored in clear text or reversible form"),
        Severity.HIGH,
        ("明文或可逆加密保存的口令可被任何看到配置的人还原；判断依据是保存的格式，而非关键字。",
         "Passwords stored in clear text or reversibly can be recovered by anyone who sees the "
         "configuration; the stored format decides, not the keyword."),
        ("改用不可逆哈希保存口令，删除线路口令，改用 AAA 认证。",
         "Store passwords as irreversible hashes; remove line passwords in favour of AAA login."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        users, secrets = subject.view.users, subject.view.secrets
        if users.value is None or secrets.value is None:
            return unknown(users if users.value is None else secrets, msg("device.what.passwords"))
        stored: list[tuple[Msg, str, Msg, tuple[LineRef, ...]]] = [
            (msg("device.user", name=u.name), u.password_form or "", reason(u.form_reason), u.lines)
            for u in users.value]
        stored += [(reason(s.what), s.form, reason(s.form_reason), s.lines) for s in secrets.value]
        if not stored:
            return Verdict(Status.NOT_APPLICABLE, msg("device.no_stored_password"), users.lines)
        bad = [(what, form, why, lines) for what, form, why, lines in stored
               if form in ("plaintext", "reversible", "none")]
        if bad:
            items = joined(msg("device.stored_item", what=what, form=choice("device.form", form), why=why)
                           for what, form, why, _ in bad)
            return Verdict(Status.FAIL, msg("device.weak_passwords", items=items),
                           tuple(r for *_x, lines in bad for r in lines), measured=float(len(bad)),
                           threshold=0.0, unit="passwords")
        undecided = [(what, why, lines) for what, form, why, lines in stored if form not in ("hashed",)]
        if undecided:
            items = joined(msg("device.what_why", what=what, why=why) for what, why, _ in undecided)
            return Verdict(Status.ERROR, msg("device.passwords_undecided", items=items),
                           tuple(r for *_x, lines in undecided for r in lines))
        return Verdict(Status.PASS, msg("device.passwords_hashed", count=len(stored)),
                       tuple(r for *_x, lines in stored for r in lines), measured=0.0, threshold=0.0,
                       unit="passwords")


class LoginLockout(DeviceCheck[NoParams]):
    meta = meta(
        "device.login_lockout",
        ("设备配置登录失败锁定", "Repeated login failures lock the account"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求具有登录失败处理功能，限制非法登录次数，防止口令暴力破解。",
         "GB/T 22239-2019 requires handling of failed logins (limiting attempts) against password guessing."),
        ("开启登录失败锁定（命令见本设备的整改建议）。", "Turn on login-failure lockout (the device's own "
         "commands are listed with the finding)."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        enabled, lock = subject.view.lockout_enabled, subject.view.lockout
        if enabled.value is None:
            return unknown(enabled, msg("device.what.lockout"))
        lines = enabled.lines + lock.lines
        if not enabled.value or lock.value is None:
            text = (msg("device.no_lockout_note", note=reason(enabled.note)) if enabled.note
                    else msg("device.no_lockout"))
            return Verdict(Status.FAIL, text, lines)
        key = "device.lockout" + ("_minutes" if lock.value.lock_minutes is not None else "") + (
            "_note" if lock.source == "default" else "")
        params: dict[str, Any] = {"attempts": lock.value.attempts}
        if lock.value.lock_minutes is not None:
            params["minutes"] = lock.value.lock_minutes
        if lock.source == "default":
            params["note"] = reason(lock.note)
        return Verdict(Status.PASS, msg(key, **params), lines)


class IdleTimeoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_minutes: float = Field(default=10, gt=0)


class IdleTimeout(DeviceCheck[IdleTimeoutParams]):
    meta = meta(
        "device.idle_timeout",
        ("控制台与 VTY 会话空闲超时", "Console and VTY sessions time out when idle"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求配置登录连接超时自动退出，避免无人值守的管理会话被他人使用。",
         "GB/T 22239-2019 requires idle management sessions to end automatically so an unattended "
         "session cannot be used by someone else."),
        ("在 console/VTY 下配置不超过 10 分钟的空闲超时，不使用 0 0（永不超时）。",
         "Set an idle timeout of at most 10 minutes on console and VTY lines; never 0 0."),
        effort="config", owner="network_admin")
    params_model: ClassVar[type[BaseModel]] = IdleTimeoutParams

    def judge(self, subject: Subject, ctx: CheckContext[IdleTimeoutParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, msg("device.what.lines"))
        if not terminals.value:
            return Verdict(Status.ERROR, msg("device.no_lines"), terminals.lines)
        undocumented = [t for t in terminals.value if t.idle_timeout_s is None]
        if undocumented:
            return Verdict(Status.ERROR, msg("device.no_timeout_default",
                                             lines=[t.name for t in undocumented],
                                             family=family(subject.device.vendor).title),
                           tuple(r for t in undocumented for r in t.lines))
        limit = ctx.params.max_minutes * 60
        bad = [t for t in terminals.value if t.idle_timeout_s == 0 or (t.idle_timeout_s or 0) > limit]
        lines = tuple(r for t in (bad or terminals.value) for r in t.lines)
        worst = max(((t.idle_timeout_s or 0) or float("inf")) for t in terminals.value)
        measured = None if worst == float("inf") else worst / 60
        if bad:
            items = joined(msg("device.line_value", line=t.name, value=_minutes(t.idle_timeout_s or 0))
                           for t in bad)
            return Verdict(Status.FAIL, msg("device.timeouts_long", limit=ctx.params.max_minutes,
                                            items=items),
                           lines, measured=measured, threshold=ctx.params.max_minutes, unit="min")
        defaults = [t.name for t in terminals.value if t.timeout_source == "default"]
        text = (msg("device.timeouts_ok_default", limit=ctx.params.max_minutes, lines=defaults) if defaults
                else msg("device.timeouts_ok", limit=ctx.params.max_minutes))
        return Verdict(Status.PASS, text, lines, measured=measured, threshold=ctx.params.max_minutes,
                       unit="min")


def _minutes(seconds: int) -> Msg:
    return msg("device.never_times_out") if seconds == 0 else msg("device.minutes", minutes=seconds / 60)


class DefaultAccountsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    names: list[str] | None = None  # None: the vendor family's list


class NoDefaultAccounts(DeviceCheck[DefaultAccountsParams]):
    meta = meta(
        "device.no_default_accounts",
        ("设备无默认或共享管理账号", "No default or shared administrator accounts"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求重命名或删除默认账户、修改默认口令，避免共享账户，确保操作可追溯到个人。",
         "GB/T 22239-2019 requires default accounts to be renamed or removed, default passwords changed "
         "and shared accounts avoided, so actions are traceable to a person."),
        ("删除默认账号，为每位管理员建立个人账号并使用强口令。",
         "Remove default accounts and give every administrator a personal account with a strong password."),
        effort="config", owner="network_admin")
    params_model: ClassVar[type[BaseModel]] = DefaultAccountsParams

    def judge(self, subject: Subject, ctx: CheckContext[DefaultAccountsParams]) -> Verdict:
        login, users = subject.login, subject.view.users
        if login is not None and login.well_known_default:
            return Verdict(Status.FAIL,
                           msg("device.default_login", user=login.username, why=reason(login.reason)),
                           users.lines)
        if users.value is None:
            return unknown(users, msg("device.what.accounts"))
        names = {n.lower() for n in (ctx.params.names or family(subject.device.vendor).default_account_names)}
        if not users.value:
            return Verdict(Status.NOT_APPLICABLE,
                           msg("device.no_local_accounts_own", user=login.username) if login
                           else msg("device.no_local_accounts"))
        bad = [u for u in users.value if u.name.lower() in names]
        if bad:
            return Verdict(Status.FAIL, msg("device.default_accounts", names=[u.name for u in bad]),
                           tuple(r for u in bad for r in u.lines))
        shown = [u.name for u in users.value]
        text = (msg("device.accounts_ok_own", users=shown, user=login.username) if login
                else msg("device.accounts_ok", users=shown))
        return Verdict(Status.PASS, text, users.lines)


class RemoteAuth(DeviceCheck[NoParams]):
    meta = meta(
        "device.remote_auth",
        ("设备登录使用集中认证（RADIUS/TACACS）", "Logins use central AAA (RADIUS/TACACS)"),
        Severity.MEDIUM,
        ("集中认证便于统一口令策略、及时注销离职人员并集中审计管理操作。",
         "Central authentication enforces one password policy, removes leavers at once and audits "
         "management actions in one place."),
        ("配置 RADIUS/HWTACACS/TACACS+ 并用于管理员的登录路径；"
         "若学校采用有文档的本地账号管理制度，可人工证明并豁免。",
         "Configure RADIUS/HWTACACS/TACACS+ and use it on the administrators' login path; if the school "
         "runs a documented local-account policy instead, attest it and waive this finding."),
        effort="purchase", owner="leadership")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        aaa = subject.view.aaa
        if aaa.value is None:
            return unknown(aaa, msg("device.what.aaa"))
        why = reason(aaa.value.why)
        if aaa.value.used_for_login is None:
            return Verdict(Status.ERROR, msg("device.login_path_unknown", why=why), aaa.lines)
        if not aaa.value.used_for_login:
            return Verdict(Status.FAIL, msg("device.checked_locally", why=why), aaa.lines)
        return Verdict(Status.PASS, why, aaa.lines)


class RemoteSyslog(DeviceCheck[NoParams]):
    meta = meta(
        "device.remote_syslog",
        ("设备日志发送到远程日志服务器", "Device logs go to a remote syslog server"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求审计记录集中收集并保存（不少于六个月），设备本地日志易丢失、易被篡改。",
         "GB/T 22239-2019 requires audit records to be collected centrally and kept; local device logs "
         "are lost on reboot and easy to tamper with."),
        ("配置日志服务器并确认日志功能开启。", "Send logs to a syslog server and keep logging switched on."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        syslog, logging = subject.view.syslog, subject.view.logging
        lines = syslog.lines + logging.lines
        if syslog.value is None:
            return unknown(syslog, msg("device.what.logging"))
        if logging.value is not None and logging.value.enabled is False:
            return Verdict(Status.FAIL, msg("device.logging_off"), lines)
        if not syslog.value:
            text = (msg("device.no_syslog_note", note=reason(syslog.note)) if syslog.note
                    else msg("device.no_syslog"))
            return Verdict(Status.FAIL, text, lines)
        confirmed = logging.value is not None and logging.value.enabled
        key = ("device.logs_to_confirmed" if confirmed
               else "device.logs_to_unread" if logging.value is None else "device.logs_to")
        return Verdict(Status.PASS, msg(key, hosts=syslog.value), lines)


class Ntp(DeviceCheck[NoParams]):
    meta = meta(
        "device.ntp",
        ("设备时钟经 NTP 同步", "Device clock is synchronised by NTP"),
        Severity.LOW,
        ("统一准确的时间是日志关联与审计追溯的前提。", "Consistent, correct time is needed to correlate logs "
         "and trace incidents."),
        ("配置 NTP 服务器并确认时钟已同步。", "Configure NTP servers and confirm the clock is synchronised."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        servers, sync = subject.view.ntp_servers, subject.view.ntp_sync
        lines = servers.lines + sync.lines
        if servers.value is None:
            return unknown(servers, msg("device.what.ntp"))
        if not servers.value:
            return Verdict(Status.FAIL, msg("device.no_ntp"), lines)
        if sync.value is None:
            return Verdict(Status.ERROR, msg("device.ntp_sync_unknown", note=reason(sync.note)), lines)
        if not sync.value.synchronised:
            return Verdict(Status.FAIL, msg("device.ntp_unsynced", servers=servers.value), lines)
        return Verdict(Status.PASS,
                       msg("device.ntp_synced", stratum=sync.value.stratum, servers=servers.value), lines)


class SnmpHardened(DeviceCheck[NoParams]):
    meta = meta(
        "device.snmp_hardened",
        ("SNMP 无弱团体名、无写权限，优先 SNMPv3 加密", "SNMP has no weak or writable community; SNMPv3 "
         "with privacy preferred"),
        Severity.HIGH,
        ("public/private 等弱团体名可被任何人读取甚至修改设备配置；SNMPv1/v2c 明文传输团体名，"
         "SNMPv3 authPriv 才提供认证与加密。",
         "Weak communities such as public/private let anyone read, or even change, the device; SNMPv1/v2c "
         "send the community in clear text; only SNMPv3 authPriv authenticates and encrypts."),
        ("删除弱团体名与写团体名，改用 SNMPv3 authPriv；暂需 v2c 时使用强随机团体名并绑定 ACL。",
         "Remove weak and read-write communities and use SNMPv3 authPriv; where v2c must stay for now, use a "
         "long random community bound to an ACL."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        known = subject.view.snmp
        snmp = known.value
        if snmp is None:
            return unknown(known, msg("device.what.snmp"))
        if not snmp.enabled:
            why = reason(known.note) if known.note else msg("device.no_snmp_config")
            return Verdict(Status.PASS, msg("device.snmp_off", why=why), known.lines)
        problems = [msg("device.community_rw", name=c.name) for c in snmp.communities if c.access == "rw"]
        problems += [msg("device.community_weak", name=c.name, why=reason(c.reason)) for c in snmp.communities
                     if c.guessable]
        problems += [msg("device.v3_group_level", name=g.name, level=g.level) for g in snmp.v3
                     if g.level != "authPriv"]
        weak_versions = [v for v in snmp.versions if v in ("v1", "v2c")]
        lines = known.lines + tuple(r for c in snmp.communities for r in c.lines)
        if problems:
            return Verdict(Status.FAIL, joined(problems), lines)
        if snmp.communities or weak_versions:
            unknown_names = any(c.guessable is None for c in snmp.communities)
            return Verdict(Status.FAIL, msg("device.snmp_v2_encrypted" if unknown_names else "device.snmp_v2",
                                            versions=weak_versions or "v1/v2c", count=len(snmp.communities)),
                           lines, severity=Severity.LOW)
        if not snmp.v3 and not snmp.v3_users:
            return Verdict(Status.PASS, msg("device.snmp_unqueryable"), lines)
        return Verdict(Status.PASS, msg("device.snmp_v3_only"), lines)


class MgmtAcl(DeviceCheck[NoParams]):
    meta = meta(
        "device.mgmt_acl",
        ("管理访问（VTY、SNMP）受 ACL 限制", "Management access (VTY, SNMP) is restricted by ACL"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求限制管理终端的接入地址，只允许管理网段登录设备。",
         "GB/T 22239-2019 requires management access to be limited to known management addresses."),
        ("在 VTY 上绑定 ACL，SNMP 团体或 v3 组绑定 ACL。", "Bind an ACL to the VTY lines and to SNMP "
         "communities or v3 groups."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals, snmp, ssh_acl = subject.view.terminals, subject.view.snmp, subject.view.ssh_acl
        if terminals.value is None or snmp.value is None:
            return unknown(terminals if terminals.value is None else snmp, msg("device.what.vty_snmp"))
        vtys = [t for t in terminals.value if t.kind == "vty"]
        ssh_only = ssh_acl.value is not None
        open_vty = [t for t in vtys if t.acl is None and not (ssh_only and t.transport == ("ssh",))]
        problems = [msg("device.vty_no_acl", line=t.name) for t in open_vty]
        lines: tuple[LineRef, ...] = tuple(r for t in vtys for r in t.lines) + ssh_acl.lines
        if snmp.value.enabled and snmp.value.acl is None:
            problems += [msg("device.community_no_acl", name=c.name) for c in snmp.value.communities
                         if c.acl is None]
            problems += [msg("device.group_no_acl", name=g.name) for g in snmp.value.v3 if g.acl is None]
            lines += snmp.lines
        if not vtys:  # what is open is settled; what the VTY lines allow is not shown
            if problems:
                return Verdict(Status.FAIL, msg("device.problems_no_vty", problems=joined(problems)), lines)
            return Verdict(Status.ERROR, msg("device.no_vty_acl_unknown"), terminals.lines)
        if problems:
            return Verdict(Status.FAIL, joined(problems), lines)
        return Verdict(Status.PASS, msg("device.acl_ok_snmp" if snmp.value.enabled else "device.acl_ok",
                                        count=len(vtys)), lines)


class UnusedPortsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ignore: list[str] = Field(default_factory=lambda: ["MEth*", "M-GigabitEthernet*", "GigabitEthernet0/0/0"])


class UnusedPortsDown(DeviceCheck[UnusedPortsParams]):
    meta = meta(
        "device.unused_ports_down",
        ("未使用的接入端口已关闭", "Unused access ports are shut down"),
        Severity.LOW,
        ("开启但无人使用的接入端口可被随意接入非法设备。",
         "An access port that is enabled but unused lets anyone plug an unknown device in."),
        ("对无链路的接入端口执行 shutdown，或在检查参数 ignore 中登记预留端口。",
         "Shut down access ports without link, or list reserved ports in the check's 'ignore' parameter."),
        requires=(CONFIG_PROBE, SNMP_PROBE),
        effort="config", owner="network_admin")
    params_model: ClassVar[type[BaseModel]] = UnusedPortsParams

    def judge(self, subject: Subject, ctx: CheckContext[UnusedPortsParams]) -> Verdict:
        interfaces = subject.view.interfaces
        if interfaces.value is None:
            return unknown(interfaces, msg("device.what.interfaces"))
        snmp_fact = ctx.facts.get(FactKind.DEVICE_SNMP, f"device/{subject.device.id}")
        links, source, facts = _links(interfaces.value, snmp_fact)
        ports = [i for i in interfaces.value if i.mode == "access" and i.shutdown is False
                 and not any(fnmatch.fnmatch(i.name, p) for p in ctx.params.ignore)]
        if not ports:
            return Verdict(Status.NOT_APPLICABLE, msg("device.no_access_port"), facts=facts)
        unknown_links = [i.name for i in ports if links.get(i.key) is None]
        if unknown_links:
            return Verdict(Status.ERROR, msg("device.no_link_state", ports=unknown_links, source=source),
                           facts=facts)
        bad = [i for i in ports if links[i.key] != "up"]
        lines = tuple(r for i in (bad or ports) for r in i.lines)
        if bad:
            return Verdict(Status.FAIL, msg("device.ports_without_link", source=source,
                                            ports=[i.name for i in bad]),
                           lines, facts=facts, measured=float(len(bad)), threshold=0.0, unit="ports")
        return Verdict(Status.PASS, msg("device.ports_with_link", count=len(ports), source=source), lines,
                       facts=facts, measured=0.0, threshold=0.0, unit="ports")


def _links(interfaces: tuple[Interface, ...], snmp: Fact | None) -> tuple[dict[str, str | None], Msg,
                                                                          tuple[str, ...]]:
    rows = read_fact(snmp, DeviceSnmp).interfaces if snmp is not None and snmp.status is FactStatus.OK else ()
    if snmp is not None and rows:
        by_key: dict[str, str | None] = {}
        for row in rows:
            state = "up" if row.oper == "up" else "down"
            for name in (row.name, row.descr):
                if name:
                    by_key[canonical(name)] = state
        return by_key, msg("device.source.snmp"), (snmp.id,)
    return {i.key: i.link for i in interfaces}, msg("device.source.output"), ()


class FirmwareReported(DeviceCheck[NoParams]):
    meta = meta(
        "device.firmware_reported",
        ("记录设备型号与软件版本", "Device model and software version are recorded"),
        Severity.INFO,
        ("型号与软件版本是漏洞评估与补丁管理的基础。", "Model and software version are the basis of "
         "vulnerability assessment and patching."),
        ("确认能以审计账号执行 display version / show version。",
         "Make sure the audit account can run display version / show version."),
        effort="config", owner="network_admin")

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        version = subject.view.version
        if version.value is None or not (version.value.model or version.value.software):
            return unknown(version, msg("device.what.version"))
        unknown_text = msg("text.unknown")
        return Verdict(Status.PASS, msg("device.version", model=version.value.model or unknown_text,
                                        software=version.value.software or unknown_text), version.lines)


class ConfigChanged(DeviceCheck[NoParams]):
    meta = meta(
        "device.config_changed",
        ("设备配置自上次审计以来未变更", "Configuration unchanged since the last audit"),
        Severity.INFO,
        ("未经记录的配置变更可能削弱安全配置，需要与变更记录核对。",
         "Unrecorded configuration changes can weaken hardening and should be matched to change records."),
        ("对照变更记录核查差异文件；确认无误后本次配置将作为新的基线。",
         "Review the diff against the change records; once accepted, this configuration is the new "
         "baseline."),
        effort="policy", owner="network_admin")

    def finding(self, device: Any, fact: Fact, ctx: CheckContext[NoParams]) -> Finding:
        try:
            data = read_fact(fact, DeviceConfig)
        except UnreadableFact as exc:
            return unreadable(self.meta, f"device/{device.id}", fact, exc)
        sha = (data.config_sha256 or "")[:12]
        diff = data.diff_artifact
        if not data.live:
            status, message = Status.NOT_APPLICABLE, msg("device.offline_no_baseline")
        elif not data.config_sha256:
            status, message = Status.ERROR, msg("device.no_baseline")
        elif data.previous_sha256 is None or data.changed is None:
            status, message = Status.PASS, msg("device.first_audit", sha=sha)
        elif data.changed:
            status, message = Status.FAIL, msg("device.config_changed", old=data.previous_sha256[:12],
                                               new=sha, diff=str(diff))
        else:
            status, message = Status.PASS, msg("device.config_unchanged", sha=sha)
        artifacts = tuple(dict.fromkeys(fact.artifacts + ((diff,) if diff else ())))
        return Finding(self.meta.id, f"device/{device.id}", status, self.meta.severity,
                       msg("device.finding", device=device.id, address=str(device.address), text=message),
                       facts=(fact.id,), artifacts=artifacts)


class SnmpDefaultCommunity(DeviceCheck[NoParams]):
    meta = meta(
        "snmp.default_community",
        ("设备不响应默认 SNMP 团体名", "Device does not answer default SNMP communities"),
        Severity.HIGH,
        ("响应 public/private 的设备可被任何人读取配置和拓扑，private 还常常可写。",
         "A device answering public/private gives anyone its configuration and topology; private is often "
         "writable too."),
        ("删除默认团体名，改用 SNMPv3 authPriv 或强随机团体名并绑定 ACL。",
         "Remove the default communities; use SNMPv3 authPriv, or a long random community bound to an ACL."),
        requires=(DEFAULT_COMMUNITY_PROBE, SNMP_PROBE),
        effort="config", owner="network_admin")

    def evaluate(self, ctx: CheckContext[NoParams]) -> list[Finding]:
        findings = []
        for device in ctx.inventory.devices:
            if device.vendor not in family_names():
                continue
            target = f"device/{device.id}"
            fact = ctx.facts.get(FactKind.DEFAULT_COMMUNITY, target)
            problem = unmeasured(self.meta, target, fact, DEFAULT_COMMUNITY_PROBE)
            if problem is not None:
                findings.append(problem)
                continue
            assert fact is not None
            try:
                verdict = self._judge(target, fact, ctx)
            except UnreadableFact as exc:
                findings.append(unreadable(self.meta, target, fact, exc))
                continue
            findings.append(Finding(self.meta.id, target, verdict.status, self.meta.severity,
                                    msg("device.finding", device=device.id, address=str(device.address),
                                        text=verdict.message),
                                    measured=verdict.measured, threshold=verdict.threshold, unit=verdict.unit,
                                    facts=(fact.id,), artifacts=fact.artifacts))
        return findings

    @staticmethod
    def _judge(target: str, fact: Fact, ctx: CheckContext[NoParams]) -> Verdict:
        data = read_fact(fact, DefaultCommunity)
        tried, answered = data.tried, data.answered
        if not tried:
            return Verdict(Status.ERROR, msg("device.no_community_tried"))
        if answered:
            items = joined(msg("device.community_answer", name=name, descr=str(descr)[:60])
                           for name, descr in answered.items())
            return Verdict(Status.FAIL, msg("device.answers_defaults", items=items),
                           measured=float(len(answered)), threshold=0.0, unit="communities")
        # Silence only means something from a device that answered the audit otherwise: a device
        # that is down or filtered is silent to every community.
        alive = [f for f in (ctx.facts.get(FactKind.DEVICE_SNMP, target),
                             ctx.facts.get(FactKind.DEVICE_CONFIG, target))
                 if f is not None and f.status is FactStatus.OK]
        if not alive:
            return Verdict(Status.ERROR, msg("device.silent_everywhere", tried=tried))
        return Verdict(Status.PASS, msg("device.silent", tried=tried, probe=alive[0].probe), measured=0.0,
                       threshold=0.0, unit="communities")


def family_names() -> tuple[str, ...]:
    from auditor.vendors import names  # noqa: PLC0415

    return names()


def vty_lines(terminals: tuple[Terminal, ...]) -> list[Terminal]:
    return [t for t in terminals if t.kind == "vty"]
