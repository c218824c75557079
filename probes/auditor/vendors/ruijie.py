"""Ruijie RGOS (10.x/11.x/12.x): commands, defaults, parsers, remediation.

RGOS is close to Cisco IOS in syntax, with its own service switches (``enable service
ssh-server``, ``enable service telnet-server``, ``enable service web-server``), lockout
(``aaa local authentication attempts``) and log server (``logging server``). Ruijie's documentation
is the least available of the four: most defaults are not stated in anything found, and those
settings are unknown when absent (an ``error`` finding), never assumed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.facts import Known, LineRef, SshServer, VersionInfo
from auditor.messages import Msg, define, english, msg
from auditor.vendors._ios import IosFamily
from auditor.vendors.config import ConfigTree
from auditor.vendors.contract import Documented, Rule, note_pair, output_refs
from auditor.vendors.interfaces import canonical, is_ethernet_port

define({
    "ruijie.guide": ("锐捷 RG-WLAN 系列 RGOS《配置指南》", "Ruijie RG-WLAN Series RGOS Configuration Guide"),
    "ruijie.release.unstated": ("RGOS（未注明版本）", "RGOS (release not stated)"),
    "ruijie.login.web": ("许多 RGOS 交换机的锐捷 Web 默认账号，广为流传",
                         "Ruijie web default on many RGOS switches, widely published"),
    "ruijie.login.default": ("锐捷默认账号，广为流传", "Ruijie default, widely published"),
    "ruijie.why.telnet": ("未找到说明该默认值的锐捷文档；RGOS 配置中 `enable service telnet-server` 及其 "
                          "`no` 形式都会明确写出",
                          "no Ruijie document found states it; RGOS configurations show both `enable "
                          "service telnet-server` and its `no` form written out"),
    "ruijie.doc.ssh_server": ("{guide}，配置 SSH：“缺省情况下，SSH 服务器处于关闭状态”",
                              "{guide}, Configuring SSH: 'by default, the SSH server is disabled'"),
    "ruijie.why.not_stated": ("已找到的文档中未说明", "not stated in the documents found"),
    "ruijie.no_recovery_switch": ("RGOS 文档中没有控制口令恢复的配置开关",
                                  "RGOS documents no configuration switch for password recovery"),
}, recoverable=True)
_RGWLAN = Msg("ruijie.guide")
_NOT_DOCUMENTED = Msg("vendor.not_documented")

_UNSTATED = Msg("ruijie.release.unstated")


def _doc(value: Any, where: Msg, releases: str | Msg = _UNSTATED) -> Documented:
    return Documented(value, where, releases)


class Ruijie(IosFamily):
    name = "ruijie"
    title = "Ruijie RGOS"
    netmiko_driver = "ruijie_os"
    type7_weak = False
    lockout_time_minutes = 60.0  # RGOS counts `aaa local authentication lockout-time` in hours
    enterprises = frozenset({4881})
    commands: ClassVar[dict[str, str]] = {
        "config": "show running-config", "version": "show version", "ntp": "show ntp status",
        "ssh": "show ip ssh", "interfaces": "show interfaces status", "lldp": "show lldp neighbors detail",
        "logging": "show logging", "clock": "show clock"}
    error_replies = (r"^\s*%\s*(Unknown command|Invalid input|Incomplete command|Ambiguous command)",)
    default_logins = (
        ("admin", "admin", english("ruijie.login.web")),
        ("admin", "ruijie", english("ruijie.login.default")),
        ("ruijie", "ruijie", english("vendor.login.generic")),
    )
    default_account_names = ("admin", "administrator", "ruijie", "root", "test", "guest", "user", "manager",
                             "super", "operator", "default", "support")
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "telnet_server": (Rule(None, None, msg("ruijie.why.telnet")),),
        "ssh_server": (Rule(None, _doc(False, msg("ruijie.doc.ssh_server", guide=_RGWLAN))),),
        "ssh_v1": (Rule(None, None, msg("ruijie.why.not_stated")),),
        "http_server": (Rule(None, None, _NOT_DOCUMENTED),),
        "https_server": (Rule(None, None, _NOT_DOCUMENTED),),
        "idle_timeout_s": (Rule(None, None, _NOT_DOCUMENTED),),
        "lockout": (Rule(None, None, _NOT_DOCUMENTED),),
        "vty_protocols": (Rule(None, None, _NOT_DOCUMENTED),),
        "console_login": (Rule(None, None, _NOT_DOCUMENTED),),
        "aux_login": (Rule(None, None, _NOT_DOCUMENTED),),
        "vty_login": (Rule(None, None, _NOT_DOCUMENTED),),
    }
    not_expressible: ClassVar[dict[str, str | Msg]] = {"password_recovery": msg("ruijie.no_recovery_switch")}
    remediation: ClassVar[dict[str, tuple[str, ...]]] = {
        "device.telnet_disabled": ("no enable service telnet-server", "line vty 0 4", " transport input ssh"),
        "device.ssh_v2_only": ("enable service ssh-server", "ip ssh version 2"),
        "device.http_mgmt_secure": ("no enable service web-server http",),
        "device.no_plaintext_passwords": ("username <user> privilege 15 secret <password>",
                                          "no enable password", "enable secret <password>"),
        "device.login_lockout": ("aaa local authentication attempts 3",
                                 "aaa local authentication lockout-time 15"),
        "device.idle_timeout": ("line con 0", " exec-timeout 10 0", "line vty 0 4", " exec-timeout 10 0"),
        "device.no_default_accounts": ("username <personal-name> privilege 15 secret <password>",
                                       "no username admin"),
        "device.remote_auth": ("aaa new-model", "radius-server host <server> key <key>",
                               "aaa authentication login VTY group radius local", "line vty 0 4",
                               " login authentication VTY"),
        "device.remote_syslog": ("logging server <server>",),
        "device.ntp": ("ntp server <server>",),
        "device.snmp_hardened": ("no snmp-server community <name>", "snmp-server group <group> v3 priv",
                                 "snmp-server user <user> <group> v3 auth sha <key> priv aes128 <key>"),
        "device.unused_ports_down": ("interface <unused port>", " shutdown"),
        "device.mgmt_acl": ("line vty 0 4", " access-class <acl> in"),
        "device.line_login_required": ("line con 0", " login local", "line vty 0 4", " login local"),
        "device.line_passwords_without_users": ("line vty 0 4", " no password", " login local"),
        "device.server_keys_protected": ("radius-server host <server> key 7 <key>",),
        "device.clock_synced": ("ntp server <server>",),
    }

    def telnet(self, tree: ConfigTree, terminals: Any, software: str | None) -> Known[bool]:
        hits = tree.top(r"^(no )?enable service telnet-server$")
        if hits:
            return Known(value=hits[-1].group(1) is None, source="config", lines=tree.refs(hits[-1:]))
        from_lines = super().telnet(tree, terminals, software)
        if from_lines.value is False:
            return from_lines
        found = self.known_default("telnet_server", software, from_lines.lines)
        return found if from_lines.value is None else from_lines

    def ssh(self, tree: ConfigTree, software: str | None) -> Known[SshServer]:
        base = super().ssh(tree, software)
        hits = tree.top(r"^(no )?enable service ssh-server$")
        switch = (Known(value=hits[-1].group(1) is None, source="config", lines=tree.refs(hits[-1:])) if hits
                  else self.known_default("ssh_server", software))
        server = (base.value or SshServer()).model_copy(update={"enabled": switch.value})
        return Known(value=server, source=switch.source, lines=switch.lines + base.lines,
                     note=note_pair(switch.note, base.note))

    def http(self, tree: ConfigTree, software: str | None) -> tuple[Known[bool], Known[bool]]:
        hits = tree.top(r"^(no )?enable service web-server(?: (http|https|all))?$")
        plain = [h for h in hits if h.group(2) in (None, "http", "all")]
        secure = [h for h in hits if h.group(2) in (None, "https", "all")]
        return (Known(value=plain[-1].group(1) is None, source="config", lines=tree.refs(plain[-1:]))
                if plain else self.known_default("http_server", software),
                Known(value=secure[-1].group(1) is None, source="config", lines=tree.refs(secure[-1:]))
                if secure else self.known_default("https_server", software))

    def syslog(self, tree: ConfigTree) -> Known[tuple[str, ...]]:
        return super().syslog(tree)

    def default_port_mode(self, name: str, mode: str | None) -> str | None:
        # RGOS: a bridged Ethernet port is an access port unless configured otherwise
        return "access" if mode is None and is_ethernet_port(name) else mode

    def parse_version(self, text: str) -> Known[VersionInfo]:
        descr = re.search(r"^System description\s*:.*\(([^)\s]+)[^)]*\)", text, re.MULTILINE)
        software = re.search(r"^System software version\s*:\s*(.+?)\s*$", text, re.MULTILINE)
        uptime = re.search(r"^System uptime\s*:\s*(.+?)\s*$", text, re.MULTILINE)
        if not descr and not software:
            return Known()
        return Known(value=VersionInfo(model=descr.group(1) if descr else None,
                                       software=software.group(1) if software else None,
                                       uptime=uptime.group(1) if uptime else None),
                     source="output",
                     lines=output_refs("version", text, r"^System (description|software version|uptime)\s*:"))

    def config_software(self, tree: ConfigTree) -> Known[VersionInfo]:
        found = tree.first(r"^version (\S+)$")
        if found is None:
            return Known()
        return Known(value=VersionInfo(software=f"RGOS {found.group(1)}"), source="config",
                     note=english("vendor.config_version_line", command=self.commands["version"]),
                     lines=tree.refs([found]))

    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        out = {}
        for n, line in enumerate(text.splitlines(), 1):
            found = re.match(r"^(\S+(?: \S+)?)\s{2,}(up|down|disabled)\s+", line, re.IGNORECASE)
            if found:
                state = found.group(2).lower()
                link = "admin-down" if state == "disabled" else state
                out[canonical(found.group(1))] = (found.group(1), link,
                                                  LineRef(output="interfaces", line=n, text=line.rstrip()))
        return out


FAMILY = Ruijie()
