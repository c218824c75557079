"""Cisco IOS / IOS-XE: commands, defaults, parsers, remediation.

Defaults are those Cisco's documentation states, with the document named in each rule; a default
no document states (the VTY ``transport input`` of a release, the HTTP server of a switch) is
unknown, an ``error`` finding, never assumed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.facts import Known, LineRef, Lockout, VersionInfo
from auditor.messages import Msg, define, english, msg
from auditor.vendors._ios import IosFamily
from auditor.vendors.config import ConfigTree
from auditor.vendors.contract import Documented, Rule, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical

define({
    "cisco.release.ios12": ("IOS 12.x 及以后版本、IOS-XE", "IOS 12.x and later, IOS-XE"),
    "cisco.doc.ssh_v1": ("Catalyst 2960-XR《安全配置指南》，`ip ssh version`：“如果不输入此命令……SSH "
                         "服务器选择 SSH 客户端支持的最新 SSH 版本”（1.99：接受 v1）",
                         "Catalyst 2960-XR Security Configuration Guide, `ip ssh version`: 'if you do not "
                         "enter this command ... the SSH server selects the latest SSH version supported "
                         "by the SSH client' (1.99: v1 accepted)"),
    "cisco.why.vty_protocols": ("未找到按版本说明 VTY `transport input` 默认值的思科文档",
                                "no Cisco document found states the VTY `transport input` default by "
                                "release"),
    "cisco.why.http": ("因平台而异：路由器出厂时关闭，许多 Catalyst 交换机出厂时开启；该版本未作说明",
                       "platform-specific: routers ship with it off, many Catalyst switches with it on; "
                       "not stated for the release"),
    "cisco.doc.idle_timeout": ("Cisco IOS《命令参考》，`exec-timeout`：“默认 10 分钟”",
                               "Cisco IOS Command Reference, `exec-timeout`: 'default 10 minutes'"),
    "cisco.doc.lockout": ("Cisco IOS 登录增强功能（Login Block）：只有配置了 `login block-for`（或 `aaa "
                          "local authentication attempts max-fail`）后才会阻止登录",
                          "Cisco IOS Login Enhancements (Login Block): login blocking applies only once "
                          "`login block-for` (or `aaa local authentication attempts max-fail`) is "
                          "configured"),
    "cisco.why.not_looked_up": ("尚未查阅思科文档", "not looked up in Cisco's documentation"),
    "cisco.doc.password_recovery": ("Cisco IOS《命令参考》，`service password-recovery`：默认开启",
                                    "Cisco IOS Command Reference, `service password-recovery`: enabled by "
                                    "default"),
    "cisco.login.factory": ("思科小企业及实验镜像的出厂默认账号，广为流传",
                            "Cisco factory default on small-business and lab images, widely published"),
}, recoverable=True)

_IOS12 = Msg("cisco.release.ios12")


def _doc(value: Any, key: str, releases: str | Msg = _IOS12) -> Documented:
    return Documented(value, msg(key), releases)


class Cisco(IosFamily):
    name = "cisco"
    title = "Cisco IOS"
    netmiko_driver = "cisco_ios"
    enterprises = frozenset({9})
    commands: ClassVar[dict[str, str]] = {
        "config": "show running-config", "version": "show version", "ntp": "show ntp status",
        "ssh": "show ip ssh", "interfaces": "show interfaces status", "lldp": "show lldp neighbors detail",
        "logging": "show logging", "clock": "show clock"}
    error_replies = (r"^\s*%\s*(Invalid input|Incomplete command|Ambiguous command|Unknown command)",)
    default_logins = (
        ("cisco", "cisco", english("cisco.login.factory")),
        ("admin", "admin", english("vendor.login.generic")),
        ("admin", "cisco", english("vendor.login.generic")),
        ("cisco", "Cisco", english("vendor.login.generic")),
    )
    default_account_names = ("admin", "administrator", "cisco", "root", "test", "guest", "user", "manager",
                             "super", "operator", "default", "support")
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "ssh_v1": (Rule(None, _doc(True, "cisco.doc.ssh_v1")),),
        "vty_protocols": (Rule(None, None, msg("cisco.why.vty_protocols")),),
        "http_server": (Rule(None, None, msg("cisco.why.http")),),
        "https_server": (Rule(None, None, msg("vendor.not_documented")),),
        "idle_timeout_s": (Rule(None, _doc(600, "cisco.doc.idle_timeout")),),
        "lockout": (Rule(None, _doc(None, "cisco.doc.lockout")),),
        "console_login": (Rule(None, None, msg("cisco.why.not_looked_up")),),
        "aux_login": (Rule(None, None, msg("cisco.why.not_looked_up")),),
        "vty_login": (Rule(None, None, msg("cisco.why.not_looked_up")),),
        "password_recovery": (Rule(None, _doc(True, "cisco.doc.password_recovery")),),
    }
    remediation: ClassVar[dict[str, tuple[str, ...]]] = {
        "device.telnet_disabled": ("line vty 0 15", " transport input ssh"),
        "device.ssh_v2_only": ("ip ssh version 2",),
        "device.http_mgmt_secure": ("no ip http server",),
        "device.no_plaintext_passwords": ("username <user> privilege 15 algorithm-type scrypt secret "
                                          "<password>", "no enable password",
                                          "enable algorithm-type scrypt secret <password>"),
        "device.login_lockout": ("login block-for 300 attempts 3 within 60",
                                 "aaa local authentication attempts max-fail 5"),
        "device.idle_timeout": ("line con 0", " exec-timeout 10 0", "line vty 0 15", " exec-timeout 10 0"),
        "device.no_default_accounts": ("username <personal-name> privilege 15 algorithm-type scrypt secret "
                                       "<password>", "no username cisco"),
        "device.remote_auth": ("aaa new-model", "tacacs server <name>", " address ipv4 <server>",
                               " key 6 <key>", "aaa authentication login VTY group tacacs+ local",
                               "line vty 0 15", " login authentication VTY"),
        "device.remote_syslog": ("logging host <server>",),
        "device.ntp": ("ntp server <server>",),
        "device.snmp_hardened": ("no snmp-server community <name>",
                                 "snmp-server group <group> v3 priv access <acl>",
                                 "snmp-server user <user> <group> v3 auth sha <key> priv aes 128 <key>"),
        "device.unused_ports_down": ("interface <unused port>", " shutdown"),
        "device.mgmt_acl": ("line vty 0 15", " access-class <acl> in"),
        "device.line_login_required": ("line con 0", " login local", "line vty 0 15", " login local"),
        "device.line_passwords_without_users": ("line vty 0 15", " no password", " login local"),
        "device.server_keys_protected": ("key config-key password-encrypt <master-key>",
                                         "password encryption aes"),
        "device.password_recovery_off": ("no service password-recovery",),
        "device.clock_synced": ("ntp server <server>",),
    }

    def parse_version(self, text: str) -> Known[VersionInfo]:
        rows = textfsm_rows("cisco_ios_show_version", text)
        if not rows:
            return Known()
        row = rows[0]
        hardware = row.get("hardware") or []
        software = f"IOS {row['version']} ({row['software_image']})" if row.get("version") else None
        return Known(value=VersionInfo(model=hardware[0] if hardware else None, software=software,
                                       uptime=row.get("uptime") or None),
                     source="output", lines=output_refs("version", text, r"^Cisco IOS", r"^Model number",
                                                          r"uptime is", limit=3))

    def config_software(self, tree: ConfigTree) -> Known[VersionInfo]:
        found = tree.first(r"^version (\d+\.\d+)$")
        if found is None:
            return Known()
        return Known(value=VersionInfo(software=f"IOS {found.group(1)}"), source="config",
                     note=english("vendor.config_version_line", command=self.commands["version"]),
                     lines=tree.refs([found]))

    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        states = {"connected": "up", "up": "up", "disabled": "admin-down"}
        return {canonical(r["port"]): (r["port"], states.get(r["status"], "down"),
                                       line_ref("interfaces", text, r["port"]))
                for r in textfsm_rows("cisco_ios_show_interfaces_status", text)}


FAMILY = Cisco()
_ = (re, Lockout)
