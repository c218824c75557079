"""H3C Comware (5 and 7): commands, defaults, parsers, remediation.

Comware's documentation is published by H3C and, for the same software, by HPE (FlexNetwork
switches run Comware with the same command references); the rules name which. Where Comware 5 and
7 differ, or Comware 5 differs by product, the rule says so; a default no document states is
unknown (an ``error`` finding), never assumed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.facts import (
    Known,
    LineRef,
    LocalUser,
    Lockout,
    Neighbour,
    NtpSync,
    RemoteAuth,
    Terminal,
    VersionInfo,
)
from auditor.messages import Msg, define, english, fields, msg
from auditor.vendors._vrp import VrpFamily, local_user
from auditor.vendors.config import ConfigTree
from auditor.vendors.contract import Documented, Rule, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical

define({
    "h3c.guide": ("HPE FlexNetwork（Comware 7）《基础配置指南》",
                  "HPE FlexNetwork (Comware 7) Fundamentals Configuration Guide"),
    "h3c.release.cw5_7": ("Comware 5 和 7", "Comware 5 and 7"),
    "h3c.release.cw3_5": ("Comware 3 和 5", "Comware 3 and 5"),
    "h3c.release.password_control": ("开启口令控制之后", "once password control is enabled"),
    "h3c.why.telnet_cw5": ("Comware 5 因产品而异（HP 5120 上缺省关闭，HP A5800 上缺省开启）",
                           "Comware 5 differs by product (disabled on the HP 5120, enabled on the HP A5800)"),
    "h3c.doc.telnet": ("{guide}（5940），将设备配置为 Telnet 服务器：“缺省情况下，Telnet 服务器处于关闭状态”",
                       "{guide} (5940), Configuring the device as a Telnet server: 'by default, the Telnet "
                       "server is disabled'"),
    "h3c.doc.ssh": ("{guide}（5920/5900），登录概述：“ssh server enable——缺省情况下，SSH 服务器处于关闭状态”",
                    "{guide} (5920/5900), Login overview: 'ssh server enable - by default, SSH server is "
                    "disabled'"),
    "h3c.doc.ssh_v1": ("HPE MSR（Comware 5）《安全配置指南》，`ssh server compatible-ssh1x enable`："
                       "“缺省情况下，SSH 服务器支持 SSH1 客户端”",
                       "HPE MSR (Comware 5) Security Configuration Guide, `ssh server compatible-ssh1x "
                       "enable`: 'by default, the SSH server supports SSH1 clients'"),
    "h3c.why.not_cw7": ("Comware 7 没有文档记载", "not documented for Comware 7"),
    "h3c.why.not_cw5": ("Comware 5 没有文档记载", "not documented for Comware 5"),
    "h3c.why.cw7_only": ("仅 Comware 7 有文档记载", "documented for Comware 7 only"),
    "h3c.doc.http": ("H3C MSR《三层技术-IP 业务配置指导》，HTTP 配置：“ip http enable——缺省情况下，HTTP "
                     "服务处于关闭状态”",
                     "H3C MSR Layer 3 - IP Services Configuration Guide, HTTP configuration: 'ip http "
                     "enable - by default, the HTTP service is disabled'"),
    "h3c.doc.http_short": ("H3C MSR《三层技术-IP 业务配置指导》：HTTP 服务缺省关闭",
                           "H3C MSR Layer 3 - IP Services Configuration Guide: HTTP service disabled by "
                           "default"),
    "h3c.why.https": ("未找到说明 HTTPS 默认值的 Comware 文档",
                      "no Comware document found states the HTTPS default"),
    "h3c.doc.idle_timeout": ("HPE 7900（Comware 7）《基础命令参考》，`idle-timeout`："
                             "“命令行连接的空闲超时时间为 10 分钟”",
                             "HPE 7900 (Comware 7) Fundamentals Command Reference, `idle-timeout`: 'the "
                             "CLI connection idle-timeout timer is 10 minutes'"),
    "h3c.doc.password_control": ("HPE 12900E（Comware 7）《安全命令参考》，`password-control enable`：“非 "
                                 "FIPS 模式下，口令控制功能全局关闭”",
                                 "HPE 12900E (Comware 7) Security Command Reference, `password-control "
                                 "enable`: 'in non-FIPS mode, the password control feature is disabled "
                                 "globally'"),
    "h3c.doc.lockout": ("H3C Comware 口令控制：“缺省情况下，最大登录尝试次数为 3 次，登录失败的用户……须等待 "
                        "1 分钟”（WX3000E；S6805 Comware 7 的显示信息与此相同）",
                        "H3C Comware password control: 'by default, the maximum number of login attempts "
                        "is 3 and a user failing ... must wait for one minute' (WX3000E; the S6805 Comware "
                        "7 display shows the same)"),
    "h3c.doc.vty_protocols": ("H3C S5600《操作手册》，`protocol inbound`：“缺省情况下，同时支持 Telnet 和 "
                              "SSH”",
                              "H3C S5600 Operation Manual, `protocol inbound`: 'by default, both Telnet "
                              "and SSH are supported'"),
    "h3c.doc.console_login": ("{guide}（5940），登录概述：“本地控制台登录已开启，且不需要认证”",
                              "{guide} (5940), Login overview: 'local console login is enabled and does "
                              "not require authentication'"),
    "h3c.doc.aux_login": ("{guide}：AUX（控制台）登录缺省不需要认证",
                          "{guide}: AUX (console) login needs no authentication by default"),
    "h3c.doc.vty_login": ("{guide}（5920/5900）：“非 FIPS 模式下，VTY 线路缺省启用口令认证”",
                          "{guide} (5920/5900): 'in non-FIPS mode, password authentication is enabled for "
                          "VTY lines by default'"),
    "h3c.why.snmp_versions": ("未找到说明未配置 `snmp-agent sys-info version` 时代理接受哪些版本的 Comware "
                              "文档",
                              "no Comware document found states which versions an agent accepts without "
                              "`snmp-agent sys-info version`"),
    "h3c.doc.default_domain": ("HPE 12900E（Comware 7）《安全命令参考》，`domain default enable`：“缺省 ISP "
                               "域为系统定义的 ISP 域 system”",
                               "HPE 12900E (Comware 7) Security Command Reference, `domain default "
                               "enable`: 'the default ISP domain is the system-defined ISP domain system'"),
    "h3c.doc.password_recovery": ("H3C Comware 5《基础命令参考》，口令恢复控制：“缺省情况下，"
                                  "口令恢复功能处于开启状态”",
                                  "H3C Comware 5 Fundamentals Command Reference, Password recovery "
                                  "control: 'by default, password recovery capability is enabled'"),
    "h3c.login.factory": ("许多 Comware 7 交换机的 H3C 出厂默认账号（Web 与控制台）",
                          "H3C factory default on many Comware 7 switches (web and console)"),
    "h3c.login.wireless": ("H3C 无线设备默认账号", "H3C wireless default"),
    "h3c.attempts_inactive": ("{note}；已配置登录尝试次数限制，但未开启口令控制，因此该限制不生效",
                              "{note}; the login-attempt limit is configured but password control is not "
                              "enabled, so it does not apply"),
    "h3c.unlocks_at_once": ("登录尝试次数超限后立即解锁（exceed unlock）",
                            "the login-attempt limit unlocks at once (exceed unlock)"),
    "h3c.aaa.local": ("登录域 {domain} 使用本地认证", "the login domain {domain} authenticates locally"),
    "h3c.aaa.no_server": ("域 {domain} 使用的 {method} 方案在此未配置主服务器",
                          "domain {domain} uses a {method} scheme that has no primary server here"),
    "h3c.aaa.not_scheme": ("{lines} 未使用 authentication-mode scheme，因此不经过该域认证",
                           "{lines} do not use authentication-mode scheme, so the domain is not used"),
    "h3c.aaa.used": ("登录使用域 {domain} 的 {method} 认证（{servers}）",
                     "logins use domain {domain} with {method} ({servers})"),
}, recoverable=True)
_CW7 = r"Comware\S* (?:Software, )?Version 7|\b7\.1\.\d"
_CW5 = r"Comware\S* (?:Software, )?Version 5|\b5\.20\b"
_HPE7 = Msg("h3c.guide")
_CW57 = Msg("h3c.release.cw5_7")


def _doc(value: Any, key: str, releases: str | Msg = "Comware 7") -> Documented:
    """A default a Comware document states: ``key`` is its message (with the guide, where it names one)."""
    return Documented(value, msg(key, guide=_HPE7) if "guide" in fields(key) else msg(key), releases)


class H3c(VrpFamily):
    name = "h3c"
    title = "H3C Comware"
    netmiko_driver = "hp_comware"
    enterprises = frozenset({25506})
    commands: ClassVar[dict[str, str]] = {
        "config": "display current-configuration", "version": "display version",
        "ntp": "display ntp-service status", "ssh": "display ssh server status",
        "interfaces": "display interface brief", "lldp": "display lldp neighbor-information verbose",
        "logging": "display info-center", "clock": "display clock"}
    error_replies = (r"^\s*%\s*(Unrecognized|Incomplete|Wrong parameter|Too many parameters)",)
    default_logins = (
        ("admin", "admin", english("h3c.login.factory")),
        ("h3c", "h3c", english("vendor.login.generic")),
        ("admin", "h3capadmin", english("h3c.login.wireless")),
        ("root", "root", english("vendor.login.generic")),
    )
    default_account_names = ("admin", "administrator", "h3c", "root", "test", "guest", "user", "manager",
                             "super", "operator", "default", "support")
    telnet_switch = r"^(undo )?telnet server enable$"
    ssh_switch = r"^(undo )?ssh server enable$"
    http_switch = r"^(undo )?ip http enable$"
    https_switch = r"^(undo )?ip https enable$"
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "telnet_server": (
            Rule(_CW5, None, msg("h3c.why.telnet_cw5")),
            Rule(None, _doc(False, "h3c.doc.telnet")),
        ),
        "ssh_server": (Rule(None, _doc(False, "h3c.doc.ssh")),),
        "ssh_v1": (
            Rule(_CW5, _doc(True, "h3c.doc.ssh_v1", "Comware 5")),
            Rule(None, None, msg("h3c.why.not_cw7")),
        ),
        "http_server": (Rule(_CW7, _doc(False, "h3c.doc.http")),
                        Rule(_CW5, None, msg("h3c.why.cw7_only")),
                        Rule(None, _doc(False, "h3c.doc.http_short"))),
        "https_server": (Rule(None, None, msg("h3c.why.https")),),
        "idle_timeout_s": (Rule(None, _doc(600, "h3c.doc.idle_timeout", _CW57)),),
        "password_control": (Rule(None, _doc(False, "h3c.doc.password_control", _CW57)),),
        "lockout": (Rule(None, _doc(Lockout(attempts=3, lock_minutes=1), "h3c.doc.lockout",
                                    Msg("h3c.release.password_control"))),),
        "vty_protocols": (
            Rule(_CW5, _doc(("telnet", "ssh"), "h3c.doc.vty_protocols", Msg("h3c.release.cw3_5"))),
            Rule(None, None, msg("h3c.why.not_cw7")),
        ),
        "console_protocols": (Rule(None, _doc(("console",), "vendor.doc.console_port", "all")),),
        "aux_protocols": (Rule(None, _doc(("console",), "vendor.doc.aux_port", "all")),),
        "console_login": (Rule(None, _doc("none", "h3c.doc.console_login", _CW57)),),
        "aux_login": (Rule(None, _doc("none", "h3c.doc.aux_login", _CW57)),),
        "vty_login": (
            Rule(_CW5, None, msg("h3c.why.not_cw5")),
            Rule(None, _doc("password", "h3c.doc.vty_login")),
        ),
        "snmp_versions": (Rule(None, None, msg("h3c.why.snmp_versions")),),
        "default_domain": (Rule(None, _doc("system", "h3c.doc.default_domain", _CW57)),),
        "password_recovery": (Rule(None, _doc(True, "h3c.doc.password_recovery", _CW57)),),
    }
    remediation: ClassVar[dict[str, tuple[str, ...]]] = {
        "device.telnet_disabled": ("undo telnet server enable", "line vty 0 63", " protocol inbound ssh"),
        "device.ssh_v2_only": ("ssh server enable", "undo ssh server compatible-ssh1x"),
        "device.http_mgmt_secure": ("undo ip http enable",),
        "device.no_plaintext_passwords": ("local-user <user> class manage", " password hash <password>"),
        "device.login_lockout": ("password-control enable", "password-control login-attempt 3 exceed "
                                 "lock-time 15"),
        "device.idle_timeout": ("line vty 0 63", " idle-timeout 10 0", "line aux 0", " idle-timeout 10 0"),
        "device.no_default_accounts": ("local-user <personal-name> class manage", " password hash <password>",
                                       "undo local-user admin class manage"),
        "device.remote_auth": ("hwtacacs scheme <scheme>", " primary authentication <server>",
                               " key authentication cipher <key>", "domain <domain>",
                               " authentication login hwtacacs-scheme <scheme> local",
                               "domain default enable <domain>", "line vty 0 63",
                               " authentication-mode scheme"),
        "device.remote_syslog": ("info-center enable", "info-center loghost <server>"),
        "device.ntp": ("ntp-service enable", "ntp-service unicast-server <server>"),
        "device.snmp_hardened": ("undo snmp-agent community <name>", "snmp-agent sys-info version v3",
                                 "snmp-agent group v3 <group> privacy acl <acl>"),
        "device.unused_ports_down": ("interface <unused port>", " shutdown"),
        "device.mgmt_acl": ("line vty 0 63", " acl <acl> inbound", "snmp-agent community <name> acl <acl>"),
        "device.line_login_required": ("line aux 0", " authentication-mode scheme", "line vty 0 63",
                                       " authentication-mode scheme"),
        "device.line_passwords_without_users": ("line vty 0 63", " authentication-mode scheme"),
        "device.server_keys_protected": ("hwtacacs scheme <scheme>", " key authentication cipher <key>"),
        "device.password_recovery_off": ("undo password-recovery enable",),
        "device.clock_synced": ("ntp-service enable", "ntp-service unicast-server <server>"),
    }

    # -- configuration -------------------------------------------------------------------------

    def users(self, tree: ConfigTree) -> Known[tuple[LocalUser, ...]]:
        users = []
        for section in tree.top(r"^local-user (\S+)(?: class (\S+))?"):
            body = tree.under(section.node, r"^(password (simple|cipher|hash) (\S+)|service-type (.+)|"
                                            r"authorization-attribute user-role (\S+)|level (\d+))")
            password, privilege, services = None, None, None
            for hit in body:
                if hit.group(2):
                    password = (hit.group(2), hit.group(3) or "")
                elif hit.group(4):
                    services = tuple((hit.group(4) or "").split())
                elif role := hit.group(5):
                    level = 15 if role in ("network-admin", "level-15") else (
                        int(role[6:]) if role.startswith("level-") else 1)
                    privilege = max(privilege or 0, level)
                elif hit.group(6):
                    privilege = int(hit.group(6) or 0)
            users.append(local_user(section.group(1) or "", [section, *body], tree, privilege, password,
                                    services))
        return Known(value=tuple(users), source="config", lines=tuple(r for u in users for r in u.lines))

    def lockout_enabled(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        """Login-attempt limits count only once password control is enabled globally."""
        switch = tree.top(r"^(undo )?password-control enable$")
        attempts = tree.top(r"^password-control login-attempt ")
        if switch:
            return Known(value=switch[-1].group(1) is None, source="config",
                         lines=tree.refs(switch[-1:] + attempts))
        found = self.known_default("password_control", software, tree.refs(attempts))
        if attempts and found.value is False:
            return found.model_copy(update={"note": english("h3c.attempts_inactive", note=found.note)})
        return found

    def lockout(self, tree: ConfigTree, software: str | None) -> Known[Any]:
        enabled = self.lockout_enabled(tree, software)
        if enabled.value is not True:
            return Known(value=None, source=enabled.source, note=enabled.note, lines=enabled.lines)
        hits = tree.top(r"^password-control login-attempt (\d+) exceed (?:lock-time (\d+)|lock|unlock)")
        if hits:
            last = hits[-1]
            minutes = float(last.group(2) or 0) if last.group(2) else None
            if last.node.text.endswith("unlock"):
                return Known(value=None, source="config", lines=tree.refs([last]),
                             note=english("h3c.unlocks_at_once"))
            return Known(value=Lockout(attempts=int(last.group(1) or 0), lock_minutes=minutes),
                         source="config", lines=enabled.lines + tree.refs([last]))
        return self.known_default("lockout", software, enabled.lines)

    def aaa(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]],
            software: str | None) -> Known[Any]:
        """Administrators log in through the default ISP domain (``domain default enable``, else
        ``system``); its ``authentication login`` (or ``default``) method must be an HWTACACS or
        RADIUS scheme with a primary server, and the VTY lines must use ``authentication-mode scheme``."""
        schemes: dict[str, tuple[str, ...]] = {}
        for section in tree.top(r"^(hwtacacs|radius) scheme (\S+)"):
            primary = tree.under(section.node, r"^primary authentication (\S+)")
            schemes[f"{section.group(1)}:{section.group(2)}"] = tuple(h.group(1) or "" for h in primary)
        chosen = tree.top(r"^domain default enable (\S+)")
        name = str((chosen[-1].group(1) if chosen else None)
                   or self.known_default("default_domain", software).value or "system")
        # Comware 7 writes `domain name system` on later releases, `domain system` before
        domain = next((h for h in tree.top(r"^domain (?:name )?(\S+)$") if h.group(1) == name), None)
        hits = [*chosen, *tree.top(r"^(hwtacacs|radius) scheme ")]
        method = None
        if domain is not None:
            login = tree.under(domain.node, r"^authentication login (.+)$")
            default = tree.under(domain.node, r"^authentication default (.+)$")
            picked = login or default
            hits += [domain, *picked]
            if picked:
                method = (picked[-1].group(1) or "").split()[0]
        vtys = [t for t in terminals.value or () if t.kind == "vty"]
        why, used = self._used(name, method, schemes, vtys)
        servers = tuple(sorted({s for ss in schemes.values() for s in ss}))
        protocols = tuple(sorted({k.split(":")[0] for k in schemes}))
        return Known(value=RemoteAuth(protocols=protocols, servers=servers, used_for_login=used, why=why),
                     source="config", lines=tree.refs(hits))

    @staticmethod
    def _used(domain: str, method: str | None, schemes: dict[str, tuple[str, ...]],
              vtys: list[Terminal]) -> tuple[str, bool | None]:
        if method is None or not method.endswith("-scheme"):
            return english("h3c.aaa.local", domain=domain), False
        kind = method.removesuffix("-scheme")
        scheme = next((k for k in schemes if k.startswith(f"{kind}:")), None)
        if scheme is None or not schemes[scheme]:
            return english("h3c.aaa.no_server", domain=domain, method=kind), False
        if not vtys:
            return english("vendor.no_vty_path"), None
        unknown = [t.name for t in vtys if t.login is None]
        if unknown:
            return english("vendor.how_not_documented", lines=unknown), None
        local = [t.name for t in vtys if t.login != "aaa"]
        if local:
            return english("h3c.aaa.not_scheme", lines=local), False
        return english("h3c.aaa.used", domain=domain, method=kind, servers=schemes[scheme]), True

    def password_recovery(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        return self.switch(tree, r"^(undo )?password-recovery enable$", "password_recovery", software)

    # -- outputs -------------------------------------------------------------------------------

    def config_software(self, tree: ConfigTree) -> Known[VersionInfo]:
        found = tree.first(r"^version (\d+\.\d+(?:\.\d+)?)(?:, (?:Release|ESS|Feature) (\S+))?")
        if found is None:
            return Known()
        release = f", Release {found.group(2)}" if found.group(2) else ""
        return Known(value=VersionInfo(software=f"Comware Software, Version {found.group(1)}{release}"),
                     source="config", lines=tree.refs([found]),
                     note=english("vendor.config_version_line", command=self.commands["version"]))

    def parse_version(self, text: str) -> Known[VersionInfo]:
        release = re.search(r"Comware Software, Version (\S+), Release (\S+)", text)
        model = re.search(r"^(?:H3C|HPE?)\s+(\S+(?:\s+\S+)?)\s+uptime is\s+(.+)$", text, re.MULTILINE)
        if not release and not model:
            return Known()
        software = (f"Comware Software, Version {release.group(1)}, Release {release.group(2)}" if release
                    else None)
        return Known(value=VersionInfo(model=model.group(1) if model else None, software=software,
                                       uptime=model.group(2) if model else None),
                     source="output", lines=output_refs("version", text, r"Comware Software, Version",
                                                          r"uptime is", limit=2))

    def parse_ntp(self, text: str) -> Known[NtpSync]:
        found = re.search(r"clock\s+status\s*:\s*(synchronized|unsynchronized)", text, re.IGNORECASE)
        if not found:
            return Known()
        stratum = re.search(r"clock stratum\s*:\s*(\d+)", text, re.IGNORECASE)
        return Known(value=NtpSync(synchronised=found.group(1).lower() == "synchronized",
                                   stratum=int(stratum.group(1)) if stratum else None),
                     source="output", lines=output_refs("ntp", text, r"clock status", r"clock stratum"))

    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        states = {"UP": "up", "DOWN": "down", "ADM": "admin-down"}
        return {canonical(r["interface"]): (r["interface"], states.get(r["link"].upper(), "down"),
                                            line_ref("interfaces", text, r["interface"]))
                for r in textfsm_rows("hp_comware_display_interface_brief", text)}

    def parse_lldp(self, text: str) -> Known[tuple[Neighbour, ...]]:
        return self.lldp_rows("hp_comware_display_lldp_neighbor-information_verbose", text)


FAMILY = H3c()
