"""Network-device hardening checks, from the parsed configuration of each switch or router.

Each check gives one finding per inventory device of a supported vendor (Huawei, H3C, Cisco,
Ruijie), names the configuration/output lines it relied on (secrets masked) and references the
``device.config`` fact and its evidence artifacts. A missing or failed fact, or a setting the
configuration does not show, is ``error``, never ``pass``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import unmeasured
from auditor.inventory import Device
from auditor.model import Fact, FactStatus, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta
from auditor.vendors.interfaces import canonical

P = TypeVar("P", bound=BaseModel)
CONFIG_KIND = "device.config"
SNMP_KIND = "device.snmp"
DEFAULT_COMMUNITY_KIND = "device.default_community"
CONFIG_PROBE = "ssh.device_config"
SNMP_PROBE = "snmp.device_info"
DEFAULT_COMMUNITY_PROBE = "snmp.default_community"
VENDORS = ("huawei", "h3c", "cisco", "ruijie")
Data = Mapping[str, Any]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Verdict:
    """What a check's judge decides for one device."""

    status: Status
    message: str
    lines: list[str] = field(default_factory=list)
    severity: Severity | None = None  # overrides the check's severity (a lower-weight failure)
    artifacts: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None


def _unknown(what: str) -> Verdict:
    return Verdict(Status.ERROR, f"the configuration does not show {what}: cannot judge; "
                   "check that the device's configuration and outputs were collected completely")


def _outputs(data: Data) -> tuple[str, ...]:
    outputs = data.get("outputs") or {}
    return tuple(str(path) for path in outputs.values())


class DeviceCheck(Generic[P]):
    """Base: one finding per supported device from its ``device.config`` fact (or another kind)."""

    meta: ClassVar[CheckMeta]
    params_model: ClassVar[type[BaseModel]] = NoParams
    kind: ClassVar[str] = CONFIG_KIND
    probe: ClassVar[str] = CONFIG_PROBE

    def judge(self, device: Device, data: Data, ctx: CheckContext[P]) -> Verdict:
        raise NotImplementedError

    def evaluate(self, ctx: CheckContext[P]) -> list[Finding]:
        findings = []
        for device in ctx.inventory.devices:
            if device.vendor not in VENDORS:
                continue
            target = f"device/{device.id}"
            fact = ctx.facts.get(self.kind, target)
            if fact is None and self.kind == CONFIG_KIND and device.ssh is None:
                findings.append(Finding(
                    self.meta.id, target, Status.ERROR, self.meta.severity,
                    f"{device.id} ({device.address}): not audited: the inventory gives no `ssh` access "
                    f"for it, so its configuration could not be read"))
                continue
            problem = unmeasured(self.meta, target, fact, self.probe)
            if problem is not None:
                findings.append(problem)
                continue
            assert fact is not None
            findings.append(self._finding(device, fact, ctx))
        return findings

    def _finding(self, device: Device, fact: Fact, ctx: CheckContext[P]) -> Finding:
        parsed = fact.data.get("parsed") if self.kind == CONFIG_KIND else fact.data
        if not isinstance(parsed, Mapping):
            verdict = Verdict(Status.ERROR, f"the {self.kind} fact carries no parsed configuration")
        else:
            verdict = self.judge(device, parsed, ctx)
        artifacts = tuple(dict.fromkeys(fact.artifacts + _outputs(fact.data) + verdict.artifacts))
        return Finding(
            self.meta.id, f"device/{device.id}", verdict.status, verdict.severity or self.meta.severity,
            f"{device.id} ({device.address}): {verdict.message}", measured=verdict.measured,
            threshold=verdict.threshold, unit=verdict.unit, facts=(fact.id, *verdict.facts),
            artifacts=artifacts, lines=tuple(verdict.lines))


def _meta(check_id: str, title: tuple[str, str], severity: Severity, rationale: tuple[str, str],
          remediation: tuple[str, str], requires: tuple[str, ...] = (CONFIG_PROBE,)) -> CheckMeta:
    return CheckMeta(check_id, title[0], title[1], severity, rationale[0], rationale[1],
                     remediation[0], remediation[1], requires)


def _tcp(device_fact: Data | None, port: str) -> str | None:
    tcp = (device_fact or {}).get("tcp") or {}
    value = tcp.get(port)
    return str(value) if value is not None else None


class TelnetDisabled(DeviceCheck[NoParams]):
    meta = _meta(
        "device.telnet_disabled",
        ("网络设备已关闭 Telnet 管理", "Telnet management is disabled on the device"),
        Severity.HIGH,
        ("Telnet 以明文传输口令和会话内容，GB/T 22239-2019 要求远程管理时防止鉴别信息在传输中被窃听。",
         "Telnet carries passwords and sessions in clear text; GB/T 22239-2019 requires remote "
         "management to protect authentication data in transit."),
        ("关闭 Telnet 服务（如 undo telnet server enable / no enable service telnet-server），"
         "VTY 仅允许 SSH（protocol inbound ssh / transport input ssh）。",
         "Turn the telnet server off (undo telnet server enable / no enable service telnet-server) and "
         "let VTY lines accept SSH only (protocol inbound ssh / transport input ssh)."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        fact = ctx.facts.get(CONFIG_KIND, f"device/{device.id}")
        port = _tcp(fact.data if fact else None, "23")
        telnet = data["telnet"]
        if telnet["value"] is None:
            return _unknown("whether the telnet server is on")
        if port is None:
            return Verdict(Status.ERROR, "no TCP connect result for port 23: "
                           "cannot confirm the configuration",
                           telnet["lines"])
        config_on, tcp_on = bool(telnet["value"]), port == "open"
        source = " (vendor default)" if telnet.get("source") == "default" else ""
        said = f"configuration says telnet {'on' if config_on else 'off'}{source}; TCP 23 is {port}"
        if config_on != tcp_on:
            return Verdict(Status.FAIL, f"configuration and measurement disagree: {said}", telnet["lines"])
        return Verdict(Status.FAIL if config_on else Status.PASS, said, telnet["lines"])


class SshV2Only(DeviceCheck[NoParams]):
    meta = _meta(
        "device.ssh_v2_only",
        ("设备以 SSHv2 管理，不兼容 SSHv1", "SSH server is on and accepts version 2 only"),
        Severity.HIGH,
        ("SSHv1 存在已知的协议缺陷，远程管理应使用 SSHv2 加密通道。",
         "SSH version 1 has known protocol flaws; remote management should use SSH version 2."),
        ("启用 SSH 服务并关闭 SSHv1 兼容（undo ssh server compatible-ssh1x / ip ssh version 2）。",
         "Enable the SSH server and turn off SSHv1 compatibility (undo ssh server compatible-ssh1x / "
         "ip ssh version 2)."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        ssh = data["ssh"]
        if ssh["value"] is None:
            return _unknown("whether the SSH server is on")
        if not ssh["value"]:
            return Verdict(Status.FAIL, "the SSH server is off, so management cannot use SSH", ssh["lines"])
        if ssh.get("v1_allowed") is None:
            return _unknown("which SSH versions are accepted")
        if ssh["v1_allowed"]:
            shown = f" (server reports version {ssh['version']})" if ssh.get("version") else ""
            return Verdict(Status.FAIL, f"the SSH server also accepts SSH version 1{shown}", ssh["lines"])
        return Verdict(Status.PASS, "the SSH server is on and accepts version 2 only", ssh["lines"])


class HttpMgmtSecure(DeviceCheck[NoParams]):
    meta = _meta(
        "device.http_mgmt_secure",
        ("设备 Web 管理不使用明文 HTTP", "Web management does not use plain HTTP"),
        Severity.MEDIUM,
        ("HTTP 管理界面以明文传输口令，应关闭或改用 HTTPS。",
         "A plain-HTTP management interface sends passwords in clear text; turn it off or use HTTPS."),
        ("关闭 HTTP 服务（undo http server enable / no ip http server / no enable service web-server http），"
         "如需 Web 管理仅启用 HTTPS。",
         "Turn the HTTP server off (undo http server enable / no ip http server / no enable service "
         "web-server http); if web management is needed, enable HTTPS only."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        fact = ctx.facts.get(CONFIG_KIND, f"device/{device.id}")
        port = _tcp(fact.data if fact else None, "80")
        http, https = data["http"], data["https"]
        if data["users"]["value"] is None:  # no configuration at all, not merely silent on HTTP
            return _unknown("the HTTP server settings (no configuration was collected)")
        lines = http["lines"] + https["lines"]
        secure = {True: "HTTPS is on", False: "HTTPS is off", None: "HTTPS not configured"}[https["value"]]
        tcp_text = f"TCP 80 is {port}" if port else "TCP 80 not measured"
        if http["value"] or port == "open":
            said = "configuration enables HTTP" if http["value"] else "TCP 80 answers"
            return Verdict(Status.FAIL, f"plain-HTTP management is reachable: {said}; {tcp_text}; {secure}",
                           lines)
        if http["value"] is False:
            return Verdict(Status.PASS, f"HTTP server is off; {tcp_text}; {secure}", lines)
        if port is None:
            return _unknown("whether the HTTP server is on, and TCP 80 was not measured")
        return Verdict(Status.PASS, f"the configuration does not enable HTTP and {tcp_text}; {secure}", lines)


class NoPlaintextPasswords(DeviceCheck[NoParams]):
    meta = _meta(
        "device.no_plaintext_passwords",
        ("设备口令不以明文或可逆加密形式保存", "No password is stored in clear text or reversible form"),
        Severity.HIGH,
        ("明文（password simple、password 0）或可逆加密（Cisco type 7、旧版 VRP cipher）"
         "口令可被任何看到配置的人还原。",
         "Clear-text (password simple, password 0) or reversibly encrypted (Cisco type 7, cipher on old "
         "VRP) passwords can be recovered by anyone who sees the configuration."),
        ("改用不可逆哈希：local-user ... password irreversible-cipher、password hash、username ... secret 9、"
         "enable secret；删除 enable password 和线路口令，改用 AAA 认证。",
         "Use irreversible hashes: local-user ... password irreversible-cipher, password hash, username ... "
         "secret 9, enable secret; remove enable password and line passwords in favour of AAA login."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        users, others = data["users"], data["other_secrets"]
        if users["value"] is None or others["value"] is None:
            return _unknown("the local accounts")
        bad = [(f"user {u['name']}", u["password_form"], u["lines"]) for u in users["value"]
               if u["password_form"] in ("plaintext", "reversible")]
        bad += [(s["what"], s["form"], s["lines"]) for s in others["value"]
                if s["form"] in ("plaintext", "reversible")]
        lines = [line for _, _, ls in bad for line in ls] or users["lines"] + others["lines"]
        if bad:
            text = "; ".join(f"{what}: {form}" for what, form, _ in bad)
            return Verdict(Status.FAIL, f"passwords stored in clear text or reversible form: {text}", lines,
                           measured=float(len(bad)), threshold=0.0, unit="passwords")
        count = len(users["value"]) + len(others["value"])
        return Verdict(Status.PASS, f"all {count} stored passwords are hashed", lines,
                       measured=0.0, threshold=0.0, unit="passwords")


class LoginLockout(DeviceCheck[NoParams]):
    meta = _meta(
        "device.login_lockout",
        ("设备配置登录失败锁定", "Repeated login failures lock the account"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求具有登录失败处理功能，限制非法登录次数，防止口令暴力破解。",
         "GB/T 22239-2019 requires handling of failed logins (limiting attempts) against password "
         "guessing."),
        ("配置登录失败锁定，如 local-aaa-user wrong-password retry-interval 5 retry-time 3 block-time 15、"
         "password-control login-attempt 3 exceed lock-time 15、login block-for 300 attempts 5 within 60、"
         "aaa local authentication attempts 3。",
         "Configure lockout, e.g. local-aaa-user wrong-password retry-interval 5 retry-time 3 block-time 15, "
         "password-control login-attempt 3 exceed lock-time 15, login block-for 300 attempts 5 within 60, "
         "aaa local authentication attempts 3."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        lock = data["lockout"]
        if lock["value"] is None:
            return _unknown("the login-failure settings")
        if not lock["value"]:
            return Verdict(Status.FAIL, "no login-failure lockout is configured", lock["lines"])
        minutes = f", locked for {lock['lock_minutes']:g} min" if lock.get("lock_minutes") is not None else ""
        return Verdict(Status.PASS, f"lockout after {lock['attempts']} failed attempts{minutes}",
                       lock["lines"])


class IdleTimeoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_minutes: float = Field(default=10, gt=0)


class IdleTimeout(DeviceCheck[IdleTimeoutParams]):
    meta = _meta(
        "device.idle_timeout",
        ("控制台与 VTY 会话空闲超时", "Console and VTY sessions time out when idle"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求配置登录连接超时自动退出，避免无人值守的管理会话被他人使用。",
         "GB/T 22239-2019 requires idle management sessions to end automatically so an unattended "
         "session cannot be used by someone else."),
        ("在 console/VTY 下配置 idle-timeout 或 exec-timeout 不超过 10 分钟，不使用 0 0（永不超时）。",
         "Set idle-timeout / exec-timeout of at most 10 minutes on console and VTY lines; never 0 0."))
    params_model: ClassVar[type[BaseModel]] = IdleTimeoutParams

    def judge(self, device: Device, data: Data, ctx: CheckContext[IdleTimeoutParams]) -> Verdict:
        terminals = data["terminals"]
        if terminals["value"] is None:
            return _unknown("the console/VTY lines")
        if not terminals["value"]:
            return _unknown("any console or VTY line")
        limit = ctx.params.max_minutes * 60
        bad = [t for t in terminals["value"] if t["idle_timeout_s"] == 0 or t["idle_timeout_s"] > limit]
        lines = [line for t in (bad or terminals["value"]) for line in t["lines"]]
        worst = max((t["idle_timeout_s"] or float("inf")) for t in terminals["value"])
        measured = None if worst == float("inf") else worst / 60
        if bad:
            text = "; ".join(f"{t['name']}: {_minutes(t['idle_timeout_s'])}" for t in bad)
            return Verdict(Status.FAIL, f"idle timeout above {ctx.params.max_minutes:g} min: {text}", lines,
                           measured=measured, threshold=ctx.params.max_minutes, unit="min")
        defaults = [t["name"] for t in terminals["value"] if t.get("timeout_source") == "default"]
        note = f" (vendor default of 10 min on {', '.join(defaults)})" if defaults else ""
        return Verdict(Status.PASS, f"every console/VTY line times out within {ctx.params.max_minutes:g} min"
                       f"{note}", lines, measured=measured, threshold=ctx.params.max_minutes, unit="min")


def _minutes(seconds: int) -> str:
    return "never (0 0)" if seconds == 0 else f"{seconds / 60:g} min"


DEFAULT_ACCOUNT_NAMES = ("admin", "administrator", "huawei", "h3c", "cisco", "ruijie", "root", "test",
                         "guest", "user", "manager", "super", "operator", "default", "support")


class DefaultAccountsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    names: list[str] = Field(default_factory=lambda: list(DEFAULT_ACCOUNT_NAMES))


class NoDefaultAccounts(DeviceCheck[DefaultAccountsParams]):
    meta = _meta(
        "device.no_default_accounts",
        ("设备无默认或共享管理账号", "No default or shared administrator accounts"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求重命名或删除默认账户、避免共享账户，确保操作可追溯到个人。",
         "GB/T 22239-2019 requires default accounts to be renamed or removed and shared accounts "
         "avoided, so actions are traceable to a person."),
        ("删除 admin、huawei、cisco 等默认账号，为每位管理员建立个人账号（最好经 AAA 集中认证）。",
         "Remove default accounts (admin, huawei, cisco...) and give every administrator a personal "
         "account, preferably authenticated centrally through AAA."))
    params_model: ClassVar[type[BaseModel]] = DefaultAccountsParams

    def judge(self, device: Device, data: Data, ctx: CheckContext[DefaultAccountsParams]) -> Verdict:
        users = data["users"]
        if users["value"] is None:
            return _unknown("the local accounts")
        names = {n.lower() for n in ctx.params.names}
        bad = [u for u in users["value"] if u["name"].lower() in names]
        if bad:
            return Verdict(Status.FAIL, "default or generic account names: "
                           + ", ".join(u["name"] for u in bad),
                           [line for u in bad for line in u["lines"]])
        shown = ", ".join(u["name"] for u in users["value"]) or "none"
        return Verdict(Status.PASS, f"no default account names among local users ({shown}); whether an "
                       "account is shared cannot be seen in a configuration", users["lines"])


class RemoteAuth(DeviceCheck[NoParams]):
    meta = _meta(
        "device.remote_auth",
        ("设备登录使用集中认证（RADIUS/TACACS）", "Logins use central AAA (RADIUS/TACACS)"),
        Severity.MEDIUM,
        ("集中认证便于统一口令策略、及时注销离职人员并集中审计管理操作。",
         "Central authentication enforces one password policy, removes leavers at once and audits "
         "management actions in one place."),
        ("配置 RADIUS/HWTACACS/TACACS+ 服务器并在登录认证方案中引用；若学校采用有文档的本地账号管理制度，"
         "可作为人工证明项附上制度文件并豁免本项。",
         "Configure a RADIUS/HWTACACS/TACACS+ server and use it in the login authentication scheme; if "
         "the school runs a documented local-account policy instead, attest it as a manual item with "
         "the policy attached and waive this finding."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        aaa = data["aaa"]
        if aaa["value"] is None:
            return _unknown("the AAA configuration")
        if not aaa["value"]:
            why = "servers are configured but login does not use them" if aaa.get("servers") else \
                "no RADIUS/TACACS server is configured"
            return Verdict(Status.FAIL, f"logins are checked locally only: {why}", aaa["lines"])
        return Verdict(Status.PASS, f"login authentication uses {'/'.join(aaa['protocols'])} "
                       f"({len(aaa['servers'])} server(s))", aaa["lines"])


class RemoteSyslog(DeviceCheck[NoParams]):
    meta = _meta(
        "device.remote_syslog",
        ("设备日志发送到远程日志服务器", "Device logs go to a remote syslog server"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求审计记录集中收集并保存（不少于六个月），设备本地日志易丢失、易被篡改。",
         "GB/T 22239-2019 requires audit records to be collected centrally and kept; local device logs "
         "are lost on reboot and easy to tamper with."),
        ("配置日志服务器：info-center loghost <地址> / logging host <地址> / logging server <地址>。",
         "Send logs to a syslog server: info-center loghost <address> / logging host <address> / "
         "logging server <address>."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        syslog = data["syslog"]
        if syslog["value"] is None:
            return _unknown("the logging configuration")
        if not syslog["value"]:
            return Verdict(Status.FAIL, "no remote syslog host is configured", syslog["lines"])
        return Verdict(Status.PASS, "logs go to " + ", ".join(syslog["value"]), syslog["lines"])


class Ntp(DeviceCheck[NoParams]):
    meta = _meta(
        "device.ntp",
        ("设备时钟经 NTP 同步", "Device clock is synchronised by NTP"),
        Severity.LOW,
        ("统一准确的时间是日志关联与审计追溯的前提。",
         "Consistent, correct time is needed to correlate logs and trace incidents."),
        ("配置 NTP 服务器（ntp-service unicast-server / ntp server）并确认时钟已同步。",
         "Configure NTP servers (ntp-service unicast-server / ntp server) and confirm the clock is "
         "synchronised."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        servers, sync = data["ntp_servers"], data["ntp_sync"]
        lines = servers["lines"] + sync["lines"]
        if servers["value"] is None:
            return _unknown("the NTP configuration")
        if not servers["value"]:
            return Verdict(Status.FAIL, "no NTP server is configured", lines)
        if sync["value"] is None:
            return Verdict(Status.ERROR, "NTP servers are configured but the NTP status output is missing or "
                           "unrecognised: cannot tell whether the clock is synchronised", lines)
        if not sync["value"]:
            return Verdict(Status.FAIL, f"NTP servers {', '.join(servers['value'])} are configured but the "
                           "clock is not synchronised", lines)
        return Verdict(Status.PASS, f"clock synchronised (stratum {sync.get('stratum')}) with NTP servers "
                       f"{', '.join(servers['value'])}", lines)


class SnmpHardened(DeviceCheck[NoParams]):
    meta = _meta(
        "device.snmp_hardened",
        ("SNMP 无弱团体名、无写权限，优先 SNMPv3 加密", "SNMP has no weak or writable "
                                 "community; SNMPv3 with privacy preferred"),
        Severity.HIGH,
        ("public/private 等弱团体名可被任何人读取甚至修改设备配置；"
         "SNMPv1/v2c 明文传输团体名，SNMPv3 authPriv 才提供认证与加密。",
         "Weak communities such as public/private let anyone read, or even change, the device; "
         "SNMPv1/v2c send the community in clear text; only SNMPv3 authPriv authenticates and encrypts."),
        ("删除弱团体名与 rw 团体名，改用 SNMPv3 authPriv（认证加加密）用户；"
         "暂需 v2c 时使用强随机团体名并绑定 ACL。",
         "Remove weak and read-write communities and use SNMPv3 users with authPriv (authentication and "
         "encryption); where v2c must stay for now, use a long random community bound to an ACL."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        snmp = data["snmp"]
        if snmp["enabled"] is None:
            return _unknown("the SNMP configuration")
        if not snmp["enabled"]:
            return Verdict(Status.PASS, "the SNMP agent is off", snmp["lines"])
        communities, v3 = snmp["communities"], snmp["v3"]
        problems = [f"community {c['name']} is writable (rw)" for c in communities if c["access"] == "rw"]
        problems += [f"community {c['name']} is trivially guessable ({c['reason']})"
                     for c in communities if c["guessable"]]
        problems += [f"SNMPv3 group {g['name']} is {g['level']}" for g in v3 if g["level"] != "authPriv"]
        lines = snmp["lines"]
        if problems:
            return Verdict(Status.FAIL, "; ".join(problems), lines)
        if communities:
            unknown = any(c["guessable"] is None for c in communities)
            note = (" (stored encrypted: strength not judged here, see snmp.default_community)"
                    if unknown else "")
            return Verdict(Status.FAIL, f"lower weight: SNMPv1/v2c is in use with {len(communities)} "
                           f"read-only community(ies){note}; SNMPv3 authPriv is preferred", lines,
                           severity=Severity.LOW)
        return Verdict(Status.PASS, "SNMP uses v3 authPriv only", lines)


class MgmtAcl(DeviceCheck[NoParams]):
    meta = _meta(
        "device.mgmt_acl",
        ("管理访问（VTY、SNMP）受 ACL 限制", "Management access (VTY, SNMP) is restricted by ACL"),
        Severity.MEDIUM,
        ("GB/T 22239-2019 要求限制管理终端的接入地址，只允许管理网段登录设备。",
         "GB/T 22239-2019 requires management access to be limited to known management addresses."),
        ("在 VTY 上绑定 ACL（acl N inbound / access-class N in），SNMP 团体或 v3 组绑定 ACL。",
         "Bind an ACL to the VTY lines (acl N inbound / access-class N in) and to SNMP communities or "
         "v3 groups."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        terminals, snmp, ssh_acl = data["terminals"], data["snmp"], data["ssh_acl"]
        if terminals["value"] is None or snmp["enabled"] is None:
            return _unknown("the VTY and SNMP configuration")
        vtys = [t for t in terminals["value"] if t["kind"] == "vty"]
        ssh_only = ssh_acl.get("value") is not None
        open_vty = [t for t in vtys if t["acl"] is None and not (ssh_only and t["transport"] == ["ssh"])]
        problems = [f"{t['name']} has no inbound ACL" for t in open_vty]
        lines = [line for t in vtys for line in t["lines"]] + ssh_acl.get("lines", [])
        if snmp["enabled"] and snmp.get("acl") is None:
            bare = [f"community {c['name']}" for c in snmp["communities"] if c["acl"] is None]
            bare += [f"SNMPv3 group {g['name']}" for g in snmp["v3"] if g["acl"] is None]
            problems += [f"SNMP {what} has no ACL" for what in bare]
            lines += snmp["lines"]
        if problems:
            return Verdict(Status.FAIL, "; ".join(problems), lines)
        return Verdict(Status.PASS, "VTY lines" + (" and SNMP" if snmp["enabled"] else "")
                       + " are restricted by ACL", lines)


class UnusedPortsParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ignore: list[str] = Field(default_factory=lambda: ["MEth*", "M-GigabitEthernet*", "GigabitEthernet0/0/0"])


class UnusedPortsDown(DeviceCheck[UnusedPortsParams]):
    meta = _meta(
        "device.unused_ports_down",
        ("未使用的接入端口已关闭", "Unused access ports are shut down"),
        Severity.LOW,
        ("开启但无人使用的接入端口可被随意接入非法设备。",
         "An access port that is enabled but unused lets anyone plug an unknown device in."),
        ("对无链路的接入端口执行 shutdown，或在检查参数 ignore 中登记预留端口。",
         "Shut down access ports without link, or list reserved ports in the check's 'ignore' parameter."),
        requires=(CONFIG_PROBE, SNMP_PROBE))
    params_model: ClassVar[type[BaseModel]] = UnusedPortsParams

    def judge(self, device: Device, data: Data, ctx: CheckContext[UnusedPortsParams]) -> Verdict:
        interfaces = data["interfaces"]["value"]
        if interfaces is None:
            return _unknown("the interfaces")
        snmp_fact = ctx.facts.get(SNMP_KIND, f"device/{device.id}")
        links, source, facts = self._links(interfaces, snmp_fact)
        ports = [i for i in interfaces if i.get("mode") == "access" and i.get("shutdown") is False
                 and not any(fnmatch.fnmatch(i["name"], p) for p in ctx.params.ignore)]
        unknown = [i["name"] for i in ports if links.get(i["key"]) is None]
        if unknown:
            return Verdict(Status.ERROR, f"no link state for access ports {', '.join(unknown)} "
                           f"(from {source})",
                           facts=facts)
        bad = [i for i in ports if links[i["key"]] != "up"]
        lines = [line for i in (bad or ports) for line in i["lines"]]
        if bad:
            return Verdict(Status.FAIL, f"access ports enabled without link (from {source}): "
                           + ", ".join(i["name"] for i in bad), lines, facts=facts,
                           measured=float(len(bad)), threshold=0.0, unit="ports")
        return Verdict(Status.PASS, f"all {len(ports)} enabled access ports have link (from {source})", lines,
                       facts=facts, measured=0.0, threshold=0.0, unit="ports")

    @staticmethod
    def _links(interfaces: list[dict[str, Any]], snmp: Fact | None) -> tuple[dict[str, str | None], str,
                                                                             tuple[str, ...]]:
        if snmp is not None and snmp.status is FactStatus.OK and snmp.data.get("interfaces"):
            by_key: dict[str, str | None] = {}
            for row in snmp.data["interfaces"]:
                state = "up" if row.get("oper") == "up" else "down"
                for name in (row.get("name"), row.get("descr")):
                    if name:
                        by_key[canonical(str(name))] = state
            return by_key, "SNMP ifTable", (snmp.id,)
        return {i["key"]: i.get("link") for i in interfaces}, "the interface status output", ()


class FirmwareReported(DeviceCheck[NoParams]):
    meta = _meta(
        "device.firmware_reported",
        ("记录设备型号与软件版本", "Device model and software version are recorded"),
        Severity.INFO,
        ("型号与软件版本是漏洞评估与补丁管理的基础。",
         "Model and software version are the basis of vulnerability assessment and patching."),
        ("确认能以审计账号执行 display version / show version。",
         "Make sure the audit account can run display version / show version."))

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        version = data["version"]
        if version["value"] is None:
            return Verdict(Status.ERROR, "model and software version unknown: the version output is missing "
                           "or unrecognised", version["lines"])
        return Verdict(Status.PASS, f"model {version.get('model') or 'unknown'}, software "
                       f"{version.get('version') or 'unknown'}", version["lines"])


class ConfigChanged(DeviceCheck[NoParams]):
    meta = _meta(
        "device.config_changed",
        ("设备配置自上次审计以来未变更", "Configuration unchanged since the last audit"),
        Severity.INFO,
        ("未经记录的配置变更可能削弱安全配置，需要与变更记录核对。",
         "Unrecorded configuration changes can weaken hardening and should be matched to change records."),
        ("对照变更记录核查差异文件；确认无误后本次配置将作为新的基线。",
         "Review the diff against the change records; once accepted, this configuration is the new "
         "baseline."))

    def _finding(self, device: Device, fact: Fact, ctx: CheckContext[NoParams]) -> Finding:
        data = fact.data
        sha = str(data.get("config_sha256") or "")[:12]
        diff = data.get("diff_artifact")
        if data.get("previous_sha256") is None or data.get("changed") is None:
            status, message = Status.PASS, f"first audit: baseline stored (sha256 {sha}…)"
        elif data["changed"]:
            status, message = Status.FAIL, (f"configuration changed since the last audit (sha256 "
                                            f"{str(data['previous_sha256'])[:12]}… → {sha}…); see {diff}")
        else:
            status, message = Status.PASS, f"configuration unchanged since the last audit (sha256 {sha}…)"
        artifacts = tuple(dict.fromkeys(fact.artifacts + _outputs(data) + ((str(diff),) if diff else ())))
        return Finding(self.meta.id, f"device/{device.id}", status, self.meta.severity,
                       f"{device.id} ({device.address}): {message}", facts=(fact.id,), artifacts=artifacts)


class SnmpDefaultCommunity(DeviceCheck[NoParams]):
    meta = _meta(
        "snmp.default_community",
        ("设备不响应默认 SNMP 团体名", "Device does not answer default SNMP communities"),
        Severity.HIGH,
        ("响应 public/private 的设备可被任何人读取配置和拓扑，private 还常常可写。",
         "A device answering public/private gives anyone its configuration and topology; private is "
         "often writable too."),
        ("删除默认团体名，改用 SNMPv3 authPriv 或强随机团体名并绑定 ACL。",
         "Remove the default communities; use SNMPv3 authPriv, or a long random community bound to an ACL."),
        requires=(DEFAULT_COMMUNITY_PROBE, SNMP_PROBE))
    kind = DEFAULT_COMMUNITY_KIND
    probe = DEFAULT_COMMUNITY_PROBE

    def judge(self, device: Device, data: Data, ctx: CheckContext[NoParams]) -> Verdict:
        tried, answered = list(data.get("tried") or []), dict(data.get("answered") or {})
        if not tried:
            return Verdict(Status.ERROR, "no default community was tried")
        if answered:
            text = "; ".join(f"{name} (sysDescr: {str(descr)[:60]})" for name, descr in answered.items())
            return Verdict(Status.FAIL, f"answers default SNMP communities: {text}",
                           measured=float(len(answered)), threshold=0.0, unit="communities")
        # Silence only means something from a device that answered the audit otherwise: a device
        # that is down or filtered is silent to every community.
        target = f"device/{device.id}"
        alive = [f for f in (ctx.facts.get(SNMP_KIND, target), ctx.facts.get(CONFIG_KIND, target))
                 if f is not None and f.status is FactStatus.OK]
        if not alive:
            return Verdict(Status.ERROR, f"no answer to the default communities tried ({', '.join(tried)}), "
                           "but the device answered nothing else in this audit either (SNMP with the "
                           "inventory's credentials, SSH): silence proves nothing")
        return Verdict(Status.PASS, f"no answer to the default communities tried ({', '.join(tried)}) "
                       f"from a device that answered the audit's {alive[0].probe}",
                       measured=0.0, threshold=0.0, unit="communities")


CHECKS = (TelnetDisabled, SshV2Only, HttpMgmtSecure, NoPlaintextPasswords, LoginLockout, IdleTimeout,
          NoDefaultAccounts, RemoteAuth, RemoteSyslog, Ntp, SnmpHardened, MgmtAcl, UnusedPortsDown,
          FirmwareReported, ConfigChanged, SnmpDefaultCommunity)
