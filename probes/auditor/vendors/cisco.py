"""Cisco IOS / IOS-XE: commands, defaults, parsers, remediation.

Defaults are those Cisco's documentation states, with the document named in each rule; a default
no document states (the VTY ``transport input`` of a release, the HTTP server of a switch) is
unknown, an ``error`` finding, never assumed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.facts import Known, LineRef, Lockout, VersionInfo
from auditor.vendors._ios import IosFamily
from auditor.vendors.config import ConfigTree
from auditor.vendors.contract import Documented, Rule, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical


def _doc(value: Any, where: str, releases: str = "IOS 12.x and later, IOS-XE") -> Documented:
    return Documented(value, where, releases)


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
        ("cisco", "cisco", "Cisco factory default on small-business and lab images, widely published"),
        ("admin", "admin", "generic default"),
        ("admin", "cisco", "generic default"),
        ("cisco", "Cisco", "generic default"),
    )
    default_account_names = ("admin", "administrator", "cisco", "root", "test", "guest", "user", "manager",
                             "super", "operator", "default", "support")
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "ssh_v1": (Rule(None, _doc(True, "Catalyst 2960-XR Security Configuration Guide, `ip ssh version`: "
                                          "'if you do not enter this command ... the SSH server selects the "
                                          "latest SSH version supported by the SSH client' (1.99: v1 "
                                          "accepted)")),),
        "vty_protocols": (Rule(None, None, "no Cisco document found states the VTY `transport input` default "
                               "by release"),),
        "http_server": (Rule(None, None, "platform-specific: routers ship with it off, many Catalyst "
                             "switches with it on; not stated for the release"),),
        "https_server": (Rule(None, None, "not documented"),),
        "idle_timeout_s": (Rule(None, _doc(600, "Cisco IOS Command Reference, `exec-timeout`: 'default 10 "
                                                "minutes'")),),
        "lockout": (Rule(None, _doc(None, "Cisco IOS Login Enhancements (Login Block): login blocking "
                                          "applies only once `login block-for` (or `aaa local authentication "
                                          "attempts max-fail`) is configured")),),
        "console_login": (Rule(None, None, "not looked up in Cisco's documentation"),),
        "aux_login": (Rule(None, None, "not looked up in Cisco's documentation"),),
        "vty_login": (Rule(None, None, "not looked up in Cisco's documentation"),),
        "password_recovery": (Rule(None, _doc(True, "Cisco IOS Command Reference, `service "
                                                    "password-recovery`: enabled by default")),),
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
                     note="the release the configuration names (`version` line); no `show version` read",
                     lines=tree.refs([found]))

    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        states = {"connected": "up", "up": "up", "disabled": "admin-down"}
        return {canonical(r["port"]): (r["port"], states.get(r["status"], "down"),
                                       line_ref("interfaces", text, r["port"]))
                for r in textfsm_rows("cisco_ios_show_interfaces_status", text)}


FAMILY = Cisco()
_ = (re, Lockout)
