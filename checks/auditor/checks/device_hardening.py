"""Network-device hardening checks (GB/T 22239 身份鉴别 / 访问控制 / 安全审计 / 入侵防范).

Each check reads the :class:`~auditor.facts.DeviceView` of a switch or router (see
``device_base``); vendor syntax and defaults live in ``auditor.vendors``, never here.
"""

from __future__ import annotations

import fnmatch
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import unmeasured, unreadable
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
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import CheckContext
from auditor.vendors import family
from auditor.vendors.interfaces import canonical


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
         "listed with the finding)."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        telnet = subject.view.telnet
        port = subject.tcp(23)
        if telnet.value is None:
            if port == "open":
                return Verdict(Status.FAIL, "TCP 23 answers (telnet reachable); the configuration does not "
                               f"say why ({telnet.note})", telnet.lines)
            return unknown(telnet, "whether the telnet server is on")
        source = f" ({telnet.note})" if telnet.source == "default" else ""
        said = f"configuration says telnet {'on' if telnet.value else 'off'}{source}"
        if port is None:
            return Verdict(Status.FAIL if telnet.value else Status.PASS, f"{said}; TCP 23 not measured",
                           telnet.lines)
        said += f"; TCP 23 is {port}"
        if telnet.value != (port == "open"):
            return Verdict(Status.FAIL, f"configuration and measurement disagree: {said}", telnet.lines)
        return Verdict(Status.FAIL if telnet.value else Status.PASS, said, telnet.lines)


class SshV2Only(DeviceCheck[NoParams]):
    meta = meta(
        "device.ssh_v2_only",
        ("设备以 SSHv2 管理，不兼容 SSHv1", "SSH server is on and accepts version 2 only"),
        Severity.HIGH,
        ("SSHv1 存在已知的协议缺陷，远程管理应使用 SSHv2 加密通道。",
         "SSH version 1 has known protocol flaws; remote management should use SSH version 2."),
        ("启用 SSH 服务并关闭 SSHv1 兼容。", "Enable the SSH server and turn off SSHv1 compatibility."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        ssh = subject.view.ssh
        server = ssh.value
        if server is not None and server.enabled is None and server.v1_allowed:
            # on, it would accept version 1; off, management cannot use SSH: a failure either way
            return Verdict(Status.FAIL, "if the SSH server runs it also accepts SSH version 1 "
                           f"({ssh.note or 'the configuration allows it'})", ssh.lines)
        if server is None or server.enabled is None:
            return unknown(ssh, "whether the SSH server is on")
        if not server.enabled:
            return Verdict(Status.FAIL, "the SSH server is off, so management cannot use SSH", ssh.lines)
        if server.v1_allowed is None:
            return unknown(ssh, "which SSH versions are accepted")
        if server.v1_allowed:
            shown = f" (server reports version {server.version})" if server.version else ""
            return Verdict(Status.FAIL, f"the SSH server also accepts SSH version 1{shown}", ssh.lines)
        return Verdict(Status.PASS, "the SSH server is on and accepts version 2 only", ssh.lines)


class HttpMgmtSecure(DeviceCheck[NoParams]):
    meta = meta(
        "device.http_mgmt_secure",
        ("设备 Web 管理不使用明文 HTTP", "Web management does not use plain HTTP"),
        Severity.MEDIUM,
        ("HTTP 管理界面以明文传输口令，应关闭或改用 HTTPS。",
         "A plain-HTTP management interface sends passwords in clear text; turn it off or use HTTPS."),
        ("关闭 HTTP 服务，如需 Web 管理仅启用 HTTPS。", "Turn the HTTP server off; if web management is "
         "needed, enable HTTPS only."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        http, https = subject.view.http, subject.view.https
        port = subject.tcp(80)
        lines = http.lines + https.lines
        secure = {True: "HTTPS is on", False: "HTTPS is off", None: "HTTPS not stated"}[https.value]
        tcp_text = f"TCP 80 is {port}" if port else "TCP 80 not measured"
        if http.value or port == "open":
            said = "configuration enables HTTP" if http.value else "TCP 80 answers"
            return Verdict(Status.FAIL, f"plain-HTTP management is reachable: {said}; {tcp_text}; {secure}",
                           lines)
        if http.value is False:
            note = f" ({http.note})" if http.source == "default" else ""
            return Verdict(Status.PASS, f"HTTP server is off{note}; {tcp_text}; {secure}", lines)
        verdict = unknown(http, "whether the HTTP server is on")
        if port in ("closed", "filtered"):
            # a closed port seen from the agent is no proof: an ACL may hide a server that others reach
            return Verdict(verdict.status, f"{verdict.message}; {tcp_text} from the agent, which does not "
                           "show the server off", lines)
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
         "Store passwords as irreversible hashes; remove line passwords in favour of AAA login."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        users, secrets = subject.view.users, subject.view.secrets
        if users.value is None or secrets.value is None:
            return unknown(users if users.value is None else secrets, "how passwords are stored")
        stored = [(f"user {u.name}", u.password_form or "", u.form_reason, u.lines) for u in users.value]
        stored += [(s.what, s.form, s.form_reason, s.lines) for s in secrets.value]
        if not stored:
            return Verdict(Status.NOT_APPLICABLE, "the configuration stores no password (no local account, "
                           "enable, super or line password)", users.lines)
        bad = [(what, form, why, lines) for what, form, why, lines in stored
               if form in ("plaintext", "reversible", "none")]
        if bad:
            text = "; ".join(f"{what}: {form} ({why})" for what, form, why, _ in bad)
            return Verdict(Status.FAIL, f"passwords stored in clear text or reversible form: {text}",
                           tuple(r for *_x, lines in bad for r in lines), measured=float(len(bad)),
                           threshold=0.0, unit="passwords")
        undecided = [(what, why, lines) for what, form, why, lines in stored if form not in ("hashed",)]
        if undecided:
            text = "; ".join(f"{what}: {why}" for what, why, _ in undecided)
            return Verdict(Status.ERROR, f"cannot judge how passwords are stored: {text}",
                           tuple(r for *_x, lines in undecided for r in lines))
        return Verdict(Status.PASS, f"all {len(stored)} stored passwords are one-way hashes",
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
         "commands are listed with the finding)."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        enabled, lock = subject.view.lockout_enabled, subject.view.lockout
        if enabled.value is None:
            return unknown(enabled, "the login-failure lockout")
        lines = enabled.lines + lock.lines
        note = f" ({enabled.note})" if enabled.note else ""
        if not enabled.value or lock.value is None:
            return Verdict(Status.FAIL, f"no login-failure lockout{note}", lines)
        minutes = (f", locked for {lock.value.lock_minutes:g} min" if lock.value.lock_minutes is not None
                   else "")
        source = f" ({lock.note})" if lock.source == "default" else ""
        return Verdict(Status.PASS, f"lockout after {lock.value.attempts} failed attempts{minutes}{source}",
                       lines)


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
         "Set an idle timeout of at most 10 minutes on console and VTY lines; never 0 0."))
    params_model: ClassVar[type[BaseModel]] = IdleTimeoutParams

    def judge(self, subject: Subject, ctx: CheckContext[IdleTimeoutParams]) -> Verdict:
        terminals = subject.view.terminals
        if terminals.value is None:
            return unknown(terminals, "the console/VTY lines")
        if not terminals.value:
            return Verdict(Status.ERROR, "the configuration has no console or VTY line: nothing to judge",
                           terminals.lines)
        undocumented = [t for t in terminals.value if t.idle_timeout_s is None]
        if undocumented:
            return Verdict(Status.ERROR, "no idle timeout on " + ", ".join(t.name for t in undocumented)
                           + f", and {family(subject.device.vendor).title} documents no default",
                           tuple(r for t in undocumented for r in t.lines))
        limit = ctx.params.max_minutes * 60
        bad = [t for t in terminals.value if t.idle_timeout_s == 0 or (t.idle_timeout_s or 0) > limit]
        lines = tuple(r for t in (bad or terminals.value) for r in t.lines)
        worst = max(((t.idle_timeout_s or 0) or float("inf")) for t in terminals.value)
        measured = None if worst == float("inf") else worst / 60
        if bad:
            text = "; ".join(f"{t.name}: {_minutes(t.idle_timeout_s or 0)}" for t in bad)
            return Verdict(Status.FAIL, f"idle timeout above {ctx.params.max_minutes:g} min: {text}", lines,
                           measured=measured, threshold=ctx.params.max_minutes, unit="min")
        defaults = [t.name for t in terminals.value if t.timeout_source == "default"]
        note = f" (the vendor's documented default of 10 min on {', '.join(defaults)})" if defaults else ""
        return Verdict(Status.PASS,
                       f"every console/VTY line times out within {ctx.params.max_minutes:g} min{note}",
                       lines, measured=measured, threshold=ctx.params.max_minutes, unit="min")


def _minutes(seconds: int) -> str:
    return "never (0 0)" if seconds == 0 else f"{seconds / 60:g} min"


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
         "Remove default accounts and give every administrator a personal account with a strong password."))
    params_model: ClassVar[type[BaseModel]] = DefaultAccountsParams

    def judge(self, subject: Subject, ctx: CheckContext[DefaultAccountsParams]) -> Verdict:
        login, users = subject.login, subject.view.users
        if login is not None and login.well_known_default:
            return Verdict(Status.FAIL, f"the audit logged in as {login.username} with a well-known default "
                           f"password ({login.reason}); change it", users.lines)
        if users.value is None:
            return unknown(users, "the local accounts")
        names = {n.lower() for n in (ctx.params.names or family(subject.device.vendor).default_account_names)}
        if not users.value:
            own = f"; the audit's own login ({login.username}) is not a default pair" if login else ""
            return Verdict(Status.NOT_APPLICABLE, "the configuration has no local account" + own)
        bad = [u for u in users.value if u.name.lower() in names]
        if bad:
            return Verdict(Status.FAIL, "default or generic account names: " + ", ".join(u.name for u in bad),
                           tuple(r for u in bad for r in u.lines))
        shown = ", ".join(u.name for u in users.value)
        login_text = f"; the audit's own login ({login.username}) is not a default pair" if login else ""
        return Verdict(Status.PASS, f"no default account names among local users ({shown}){login_text}; "
                       "whether an account is shared cannot be seen in a configuration", users.lines)


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
         "runs a documented local-account policy instead, attest it and waive this finding."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        aaa = subject.view.aaa
        if aaa.value is None:
            return unknown(aaa, "the AAA configuration")
        if aaa.value.used_for_login is None:
            return Verdict(Status.ERROR, f"cannot judge the administrators' login path: {aaa.value.why}",
                           aaa.lines)
        if not aaa.value.used_for_login:
            return Verdict(Status.FAIL, f"administrators are checked locally: {aaa.value.why}", aaa.lines)
        return Verdict(Status.PASS, aaa.value.why, aaa.lines)


class RemoteSyslog(DeviceCheck[NoParams]):
    meta = meta(
        "device.remote_syslog",
        ("设备日志发送到远程日志服务器", "Device logs go to a remote syslog server"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求审计记录集中收集并保存（不少于六个月），设备本地日志易丢失、易被篡改。",
         "GB/T 22239-2019 requires audit records to be collected centrally and kept; local device logs "
         "are lost on reboot and easy to tamper with."),
        ("配置日志服务器并确认日志功能开启。", "Send logs to a syslog server and keep logging switched on."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        syslog, logging = subject.view.syslog, subject.view.logging
        lines = syslog.lines + logging.lines
        if syslog.value is None:
            return unknown(syslog, "the logging configuration")
        if logging.value is not None and logging.value.enabled is False:
            return Verdict(Status.FAIL, "the device reports that logging is switched off", lines)
        if not syslog.value:
            why = f" ({syslog.note})" if syslog.note else ""
            return Verdict(Status.FAIL, f"no remote syslog host is configured{why}", lines)
        confirmed = logging.value is not None and logging.value.enabled
        shown = ("; the logging output confirms it is on" if confirmed
                 else "; the logging output was not read" if logging.value is None else "")
        return Verdict(Status.PASS, "logs go to " + ", ".join(syslog.value) + shown, lines)


class Ntp(DeviceCheck[NoParams]):
    meta = meta(
        "device.ntp",
        ("设备时钟经 NTP 同步", "Device clock is synchronised by NTP"),
        Severity.LOW,
        ("统一准确的时间是日志关联与审计追溯的前提。", "Consistent, correct time is needed to correlate logs "
         "and trace incidents."),
        ("配置 NTP 服务器并确认时钟已同步。", "Configure NTP servers and confirm the clock is synchronised."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        servers, sync = subject.view.ntp_servers, subject.view.ntp_sync
        lines = servers.lines + sync.lines
        if servers.value is None:
            return unknown(servers, "the NTP configuration")
        if not servers.value:
            return Verdict(Status.FAIL, "no NTP server is configured", lines)
        if sync.value is None:
            return Verdict(Status.ERROR, f"NTP servers are configured but whether the clock is synchronised "
                           f"cannot be told: {sync.note}", lines)
        if not sync.value.synchronised:
            return Verdict(Status.FAIL, f"NTP servers {', '.join(servers.value)} are configured but the "
                           "clock is not synchronised", lines)
        return Verdict(Status.PASS, f"clock synchronised (stratum {sync.value.stratum}) with NTP servers "
                       f"{', '.join(servers.value)}", lines)


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
         "long random community bound to an ACL."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        known = subject.view.snmp
        snmp = known.value
        if snmp is None:
            return unknown(known, "the SNMP configuration")
        if not snmp.enabled:
            return Verdict(Status.PASS, f"the SNMP agent is off ({known.note or 'no SNMP configuration'})",
                           known.lines)
        problems = [f"community {c.name} is writable (rw)" for c in snmp.communities if c.access == "rw"]
        problems += [f"community {c.name} is trivially guessable ({c.reason})" for c in snmp.communities
                     if c.guessable]
        problems += [f"SNMPv3 group {g.name} is {g.level}" for g in snmp.v3 if g.level != "authPriv"]
        weak_versions = [v for v in snmp.versions if v in ("v1", "v2c")]
        lines = known.lines + tuple(r for c in snmp.communities for r in c.lines)
        if problems:
            return Verdict(Status.FAIL, "; ".join(problems), lines)
        if snmp.communities or weak_versions:
            unknown_names = any(c.guessable is None for c in snmp.communities)
            note = (" (stored encrypted: strength not judged here, see snmp.default_community)"
                    if unknown_names else "")
            versions = ", ".join(weak_versions) or "v1/v2c"
            return Verdict(Status.FAIL, f"lower weight: SNMPv1/v2c is enabled ({versions})"
                           f" with {len(snmp.communities)} read-only community(ies){note}; "
                           "SNMPv3 authPriv is preferred", lines, severity=Severity.LOW)
        if not snmp.v3 and not snmp.v3_users:
            return Verdict(Status.PASS, "the SNMP agent is on with no community and no v3 user: nothing can "
                           "query it", lines)
        return Verdict(Status.PASS, "SNMP uses v3 authPriv only", lines)


class MgmtAcl(DeviceCheck[NoParams]):
    meta = meta(
        "device.mgmt_acl",
        ("管理访问（VTY、SNMP）受 ACL 限制", "Management access (VTY, SNMP) is restricted by ACL"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求限制管理终端的接入地址，只允许管理网段登录设备。",
         "GB/T 22239-2019 requires management access to be limited to known management addresses."),
        ("在 VTY 上绑定 ACL，SNMP 团体或 v3 组绑定 ACL。", "Bind an ACL to the VTY lines and to SNMP "
         "communities or v3 groups."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        terminals, snmp, ssh_acl = subject.view.terminals, subject.view.snmp, subject.view.ssh_acl
        if terminals.value is None or snmp.value is None:
            return unknown(terminals if terminals.value is None else snmp, "the VTY and SNMP configuration")
        vtys = [t for t in terminals.value if t.kind == "vty"]
        ssh_only = ssh_acl.value is not None
        open_vty = [t for t in vtys if t.acl is None and not (ssh_only and t.transport == ("ssh",))]
        problems = [f"{t.name} has no inbound ACL" for t in open_vty]
        lines: tuple[LineRef, ...] = tuple(r for t in vtys for r in t.lines) + ssh_acl.lines
        if snmp.value.enabled and snmp.value.acl is None:
            bare = [f"community {c.name}" for c in snmp.value.communities if c.acl is None]
            bare += [f"SNMPv3 group {g.name}" for g in snmp.value.v3 if g.acl is None]
            problems += [f"SNMP {what} has no ACL" for what in bare]
            lines += snmp.lines
        if not vtys:  # what is open is settled; what the VTY lines allow is not shown
            if problems:
                return Verdict(Status.FAIL, "; ".join(problems) + " (the configuration has no VTY line)",
                               lines)
            return Verdict(Status.ERROR, "the configuration has no VTY line: who may reach the management "
                           "lines cannot be judged", terminals.lines)
        if problems:
            return Verdict(Status.FAIL, "; ".join(problems), lines)
        return Verdict(Status.PASS, f"{len(vtys)} VTY line(s)" + (" and SNMP" if snmp.value.enabled else "")
                       + " are restricted by ACL", lines)


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
        requires=(CONFIG_PROBE, SNMP_PROBE))
    params_model: ClassVar[type[BaseModel]] = UnusedPortsParams

    def judge(self, subject: Subject, ctx: CheckContext[UnusedPortsParams]) -> Verdict:
        interfaces = subject.view.interfaces
        if interfaces.value is None:
            return unknown(interfaces, "the interfaces")
        snmp_fact = ctx.facts.get(FactKind.DEVICE_SNMP, f"device/{subject.device.id}")
        links, source, facts = _links(interfaces.value, snmp_fact)
        ports = [i for i in interfaces.value if i.mode == "access" and i.shutdown is False
                 and not any(fnmatch.fnmatch(i.name, p) for p in ctx.params.ignore)]
        if not ports:
            return Verdict(Status.NOT_APPLICABLE, "no enabled access port in the configuration", facts=facts)
        unknown_links = [i.name for i in ports if links.get(i.key) is None]
        if unknown_links:
            return Verdict(Status.ERROR, f"no link state for access ports {', '.join(unknown_links)} "
                           f"(from {source})", facts=facts)
        bad = [i for i in ports if links[i.key] != "up"]
        lines = tuple(r for i in (bad or ports) for r in i.lines)
        if bad:
            return Verdict(Status.FAIL, f"access ports enabled without link (from {source}): "
                           + ", ".join(i.name for i in bad), lines, facts=facts, measured=float(len(bad)),
                           threshold=0.0, unit="ports")
        return Verdict(Status.PASS, f"all {len(ports)} enabled access ports have link (from {source})", lines,
                       facts=facts, measured=0.0, threshold=0.0, unit="ports")


def _links(interfaces: tuple[Interface, ...], snmp: Fact | None) -> tuple[dict[str, str | None], str,
                                                                          tuple[str, ...]]:
    rows = read_fact(snmp, DeviceSnmp).interfaces if snmp is not None and snmp.status is FactStatus.OK else ()
    if snmp is not None and rows:
        by_key: dict[str, str | None] = {}
        for row in rows:
            state = "up" if row.oper == "up" else "down"
            for name in (row.name, row.descr):
                if name:
                    by_key[canonical(name)] = state
        return by_key, "SNMP ifTable", (snmp.id,)
    return {i.key: i.link for i in interfaces}, "the interface status output", ()


class FirmwareReported(DeviceCheck[NoParams]):
    meta = meta(
        "device.firmware_reported",
        ("记录设备型号与软件版本", "Device model and software version are recorded"),
        Severity.INFO,
        ("型号与软件版本是漏洞评估与补丁管理的基础。", "Model and software version are the basis of "
         "vulnerability assessment and patching."),
        ("确认能以审计账号执行 display version / show version。",
         "Make sure the audit account can run display version / show version."))

    def judge(self, subject: Subject, ctx: CheckContext[NoParams]) -> Verdict:
        version = subject.view.version
        if version.value is None or not (version.value.model or version.value.software):
            return unknown(version, "the model and software version")
        return Verdict(Status.PASS, f"model {version.value.model or 'unknown'}, software "
                       f"{version.value.software or 'unknown'}", version.lines)


class ConfigChanged(DeviceCheck[NoParams]):
    meta = meta(
        "device.config_changed",
        ("设备配置自上次审计以来未变更", "Configuration unchanged since the last audit"),
        Severity.INFO,
        ("未经记录的配置变更可能削弱安全配置，需要与变更记录核对。",
         "Unrecorded configuration changes can weaken hardening and should be matched to change records."),
        ("对照变更记录核查差异文件；确认无误后本次配置将作为新的基线。",
         "Review the diff against the change records; once accepted, this configuration is the new "
         "baseline."))

    def finding(self, device: Any, fact: Fact, ctx: CheckContext[NoParams]) -> Finding:
        try:
            data = read_fact(fact, DeviceConfig)
        except UnreadableFact as exc:
            return unreadable(self.meta, f"device/{device.id}", fact, exc)
        sha = (data.config_sha256 or "")[:12]
        diff = data.diff_artifact
        if not data.live:
            status, message = Status.NOT_APPLICABLE, ("an offline audit keeps no earlier configuration "
                                                     "to compare")
        elif not data.config_sha256:
            status, message = Status.ERROR, "no complete configuration was read, so no baseline was stored"
        elif data.previous_sha256 is None or data.changed is None:
            status, message = Status.PASS, f"first audit: baseline stored (sha256 {sha}…)"
        elif data.changed:
            status, message = Status.FAIL, (f"configuration changed since the last audit (sha256 "
                                            f"{data.previous_sha256[:12]}… → {sha}…); see {diff}")
        else:
            status, message = Status.PASS, f"configuration unchanged since the last audit (sha256 {sha}…)"
        artifacts = tuple(dict.fromkeys(fact.artifacts + ((diff,) if diff else ())))
        return Finding(self.meta.id, f"device/{device.id}", status, self.meta.severity,
                       f"{device.id} ({device.address}): {message}", facts=(fact.id,), artifacts=artifacts)


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
        requires=(DEFAULT_COMMUNITY_PROBE, SNMP_PROBE))

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
                                    f"{device.id} ({device.address}): {verdict.message}",
                                    measured=verdict.measured, threshold=verdict.threshold, unit=verdict.unit,
                                    facts=(fact.id,), artifacts=fact.artifacts))
        return findings

    @staticmethod
    def _judge(target: str, fact: Fact, ctx: CheckContext[NoParams]) -> Verdict:
        data = read_fact(fact, DefaultCommunity)
        tried, answered = data.tried, data.answered
        if not tried:
            return Verdict(Status.ERROR, "no default community was tried")
        if answered:
            text = "; ".join(f"{name} (sysDescr: {str(descr)[:60]})" for name, descr in answered.items())
            return Verdict(Status.FAIL, f"answers default SNMP communities: {text}",
                           measured=float(len(answered)), threshold=0.0, unit="communities")
        # Silence only means something from a device that answered the audit otherwise: a device
        # that is down or filtered is silent to every community.
        alive = [f for f in (ctx.facts.get(FactKind.DEVICE_SNMP, target),
                             ctx.facts.get(FactKind.DEVICE_CONFIG, target))
                 if f is not None and f.status is FactStatus.OK]
        if not alive:
            return Verdict(Status.ERROR, f"no answer to the default communities tried ({', '.join(tried)}), "
                           "but the device answered nothing else in this audit either (SNMP with the "
                           "inventory's credentials, SSH): silence proves nothing")
        return Verdict(Status.PASS, f"no answer to the default communities tried ({', '.join(tried)}) from a "
                       f"device that answered the audit's {alive[0].probe}", measured=0.0, threshold=0.0,
                       unit="communities")


def family_names() -> tuple[str, ...]:
    from auditor.vendors import names  # noqa: PLC0415

    return names()


def vty_lines(terminals: tuple[Terminal, ...]) -> list[Terminal]:
    return [t for t in terminals if t.kind == "vty"]
