"""Huawei VRP (S-series campus switches, AR routers): commands, defaults, parsers, remediation.

Defaults are those Huawei's documentation states, with the document named in each rule. Most come
from the S-series product documentation (HedEx) of V200R01x; where a release is known to differ,
the rule says so, and where no document states a default, the setting is unknown (an ``error``
finding), never assumed.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from auditor.facts import (
    Interface,
    Known,
    LineRef,
    LocalUser,
    Lockout,
    LoggingState,
    Neighbour,
    NtpSync,
    RemoteAuth,
    SshServer,
    Terminal,
    VersionInfo,
)
from auditor.messages import Msg, define, english, fields, msg
from auditor.vendors._vrp import VrpFamily, local_user
from auditor.vendors.config import ConfigTree, Hit
from auditor.vendors.contract import Documented, Rule, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical

define({
    "huawei.guide": ("华为 S 系列（S1720/S2700/S5700/S6720）V200R01x 产品文档（HedEx）"
                     "《配置指南-基础配置/安全》",
                     "Huawei S-series (S1720/S2700/S5700/S6720) V200R01x product documentation (HedEx), "
                     "Configuration Guide - Basic Configuration / Security"),
    "huawei.release.v200r010": ("S 系列 V200R010 及以后版本", "S-series V200R010 and later"),
    "huawei.release.v200r013": ("S 系列 V200R013", "S-series V200R013"),
    "huawei.release.vrp": ("VRP（S 系列、AR、NE）", "VRP (S-series, AR, NE)"),
    "huawei.doc.telnet_table": ("《S2720/S5700/S6720 配置指南-基础配置》登录口令管理一节的缺省 Telnet "
                                "登录表（Telnet：无；“缺省情况下不能通过 Telnet 登录交换机”）",
                                "S2720/S5700/S6720 Configuration Guide - Basic Configuration, Login "
                                "Password Management, table of default Telnet logins (Telnet: none; 'by "
                                "default you cannot log in to a switch using Telnet')"),
    "huawei.doc.telnet_off": ("《S2720/S5700/S6720 配置指南-基础配置》登录口令管理：Telnet 缺省关闭",
                              "S2720/S5700/S6720 Configuration Guide - Basic Configuration, Login Password "
                              "Management: Telnet off by default"),
    "huawei.why.v200r010_only": ("仅 S 系列 V200R010 及以后版本有文档记载",
                                 "documented for S-series V200R010 and later only"),
    "huawei.doc.stelnet": ("{guide}，配置 STelnet 登录：“缺省情况下，交换机未配置 STelnet 功能”",
                           "{guide}, Configuring STelnet Login: 'by default, the STelnet function is not "
                           "configured on a switch'"),
    "huawei.doc.stelnet_off": ("{guide}，配置 STelnet 登录：缺省未配置 STelnet",
                               "{guide}, Configuring STelnet Login: STelnet not configured by default"),
    "huawei.why.ssh_v1": ("空配置的设备上缺省关闭，但升级后沿用旧配置文件的设置（见 `ssh server "
                          "compatible-ssh1x enable` 命令参考）：配置中没有该行并不能说明是哪一种",
                          "disabled on a device with empty configuration, but after an upgrade it follows "
                          "the old configuration file (command reference of `ssh server compatible-ssh1x "
                          "enable`): the absent line does not show which"),
    "huawei.why.http": ("未找到说明 HTTP 服务默认值的华为文档",
                        "no Huawei document found states the HTTP server default"),
    "huawei.why.https": ("未找到说明 HTTPS 服务默认值的华为文档",
                         "no Huawei document found states the HTTPS server default"),
    "huawei.doc.idle_timeout": ("{guide}，`idle-timeout` 命令：“缺省情况下，超时时间为 10 分钟”",
                                "{guide}, command `idle-timeout`: 'by default, the timeout period is 10 "
                                "minutes'"),
    "huawei.doc.lockout": ("{guide}，`local-aaa-user wrong-password` 命令：“缺省情况下，"
                           "本地账号锁定功能已开启，重试间隔为 5 分钟，连续输错口令的最大次数为 3 次，"
                           "账号锁定时间为 5 分钟”",
                           "{guide}, command `local-aaa-user wrong-password`: 'by default, the local "
                           "account locking function is enabled, retry interval is 5 minutes, maximum "
                           "number of consecutive incorrect password attempts is 3, and account locking "
                           "period is 5 minutes'"),
    "huawei.why.lockout_old": ("说明锁定默认值的文档不涵盖 V200R010 之前的版本",
                               "releases before V200R010 are not covered by the document that states the "
                               "lockout default"),
    "huawei.doc.lockout_short": ("{guide}，`local-aaa-user wrong-password` 命令：缺省开启，3 次，5 分钟",
                                 "{guide}, command `local-aaa-user wrong-password`: enabled by default, 3 "
                                 "attempts, 5 minutes"),
    "huawei.doc.vty_ssh": ("{guide}，配置 STelnet 登录（示例：“缺省情况下，VTY 用户界面支持 SSH”）",
                           "{guide}, Configuring STelnet Login (example: 'by default, VTY user interfaces "
                           "support SSH')"),
    "huawei.why.earlier": ("更早的版本：没有文档记载", "earlier releases: not documented"),
    "huawei.doc.vty_ssh_short": ("{guide}：VTY 用户界面缺省支持 SSH",
                                 "{guide}: VTY user interfaces support SSH by default"),
    "huawei.doc.console_aaa": ("{guide}，`authentication-mode` 命令（用户界面视图）：“Console "
                               "口登录用户的缺省认证方式为 AAA 认证”",
                               "{guide}, command `authentication-mode` (user interface view): 'the default "
                               "authentication mode for console port login users is AAA authentication'"),
    "huawei.doc.console_aaa_short": ("{guide}，`authentication-mode` 命令：控制台登录使用 AAA 认证",
                                     "{guide}, command `authentication-mode`: console logins use AAA"),
    "huawei.why.vty_login": ("华为各产品、各版本的文档说法不一（S 系列 V200R01x 未设置认证方式，其他产品为 "
                             "AAA，AR1200 V200R001 为口令认证）",
                             "Huawei documents differ by product and release (no mode set on S-series "
                             "V200R01x, AAA on others, password on AR1200 V200R001)"),
    "huawei.doc.snmp": ("{guide}，配置 SNMP：“缺省情况下，设备支持 SNMPv3”",
                        "{guide}, Configuring SNMP: 'by default, the device supports SNMPv3'"),
    "huawei.doc.hwtacacs": ("{guide}，配置 HWTACACS 服务器模板：“缺省情况下，HWTACACS 功能已使能”",
                            "{guide}, Configuring an HWTACACS Server Template: 'by default, HWTACACS is "
                            "enabled'"),
    "huawei.no_recovery_switch": ("VRP 没有控制口令恢复的配置开关（BootROM 菜单由其自身的口令保护）",
                                  "VRP has no configuration switch for password recovery (the BootROM menu "
                                  "is protected by its own password)"),
    "huawei.login.v200r013": ("S 系列 V200R013 配置指南：缺省的控制台/Web 登录账号",
                              "S-series V200R013 Configuration Guide: default console/web login"),
    "huawei.login.bootrom": ("S 系列 BootROM/BootLoad 缺省口令",
                             "S-series BootROM/BootLoad default password"),
    "huawei.login.factory": ("华为为许多 AR/S 型号公布的出厂默认账号",
                             "Huawei factory default published for many AR/S models"),
    "huawei.login.quidway": ("早期 Quidway/S 系列的默认账号，广为流传",
                             "early Quidway/S-series default, widely published"),
    "huawei.locking_off": ("本地账号锁定功能已关闭", "local account locking is switched off"),
    "huawei.aaa.local_first": ("管理员通过域 {domain} 登录，其认证方案 {scheme} 首先使用 {method}",
                               "administrators log in through domain {domain}, whose authentication scheme "
                               "{scheme} uses {method} first"),
    "huawei.aaa.no_template": ("域 {domain} 使用 {method}，但未绑定含认证服务器的 {method} 模板",
                               "domain {domain} uses {method} but no {method} template with an "
                               "authentication server is bound to it"),
    "huawei.aaa.hwtacacs_off": ("HWTACACS 已关闭（undo hwtacacs enable）",
                                "HWTACACS is switched off (undo hwtacacs enable)"),
    "huawei.aaa.hwtacacs_unknown": ("无法判断 HWTACACS 是否开启（默认值没有文档记载）",
                                    "whether HWTACACS is on cannot be told (the default is not documented)"),
    "huawei.aaa.not_aaa": ("{lines} 未通过 AAA 认证", "{lines} do not authenticate through AAA"),
    "huawei.aaa.used": ("管理员（域 {domain}，认证方案 {scheme}）由 {method}（{servers}）认证",
                        "administrators (domain {domain}, scheme {scheme}) are authenticated by {method} "
                        "({servers})"),
}, recoverable=True)
_SGUIDE = Msg("huawei.guide")
_MODERN = r"V200R01\d|V200R02\d|V300R|V600R|VRP \(R\) software, Version 8"

_V200R010 = Msg("huawei.release.v200r010")
_V200R013 = Msg("huawei.release.v200r013")


def _doc(value: Any, key: str, releases: str | Msg = _V200R010) -> Documented:
    """A default a Huawei document states: ``key`` is its message (with the guide, where it names one)."""
    return Documented(value, msg(key, guide=_SGUIDE) if "guide" in fields(key) else msg(key), releases)


def _why(key: str) -> Msg:
    return msg(key)


class Huawei(VrpFamily):
    name = "huawei"
    title = "Huawei VRP"
    netmiko_driver = "huawei"
    enterprises = frozenset({2011})
    commands: ClassVar[dict[str, str]] = {
        "config": "display current-configuration", "version": "display version",
        "ntp": "display ntp-service status", "ssh": "display ssh server status",
        "interfaces": "display interface brief", "lldp": "display lldp neighbor",
        "logging": "display info-center", "clock": "display clock"}
    error_replies = (r"^\s*Error\s*:", r"^\s*Info\s*:\s*(Unrecognized|Incomplete)")
    default_logins = (
        ("admin", "admin@huawei.com", english("huawei.login.v200r013")),
        ("admin", "Admin@huawei.com", english("huawei.login.bootrom")),
        ("admin", "Admin@123", english("huawei.login.factory")),
        ("root", "admin", english("huawei.login.quidway")),
        ("admin", "admin", english("vendor.login.generic")),
        ("huawei", "huawei", english("vendor.login.generic")),
    )
    default_account_names = ("admin", "administrator", "huawei", "root", "test", "guest", "user",
                             "manager", "super", "operator", "default", "support")
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "telnet_server": (Rule(_MODERN, _doc(False, "huawei.doc.telnet_table", _V200R013)),
                          Rule(r"V100R|V200R00\d", None, _why("huawei.why.v200r010_only")),
                          Rule(None, _doc(False, "huawei.doc.telnet_off", _V200R013))),
        "ssh_server": (Rule(_MODERN, _doc(False, "huawei.doc.stelnet")),
                       Rule(r"V100R|V200R00\d", None, _why("huawei.why.v200r010_only")),
                       Rule(None, _doc(False, "huawei.doc.stelnet_off"))),
        "ssh_v1": (Rule(None, None, _why("huawei.why.ssh_v1")),),
        "http_server": (Rule(None, None, _why("huawei.why.http")),),
        "https_server": (Rule(None, None, _why("huawei.why.https")),),
        "idle_timeout_s": (Rule(None, _doc(600, "huawei.doc.idle_timeout", Msg("huawei.release.vrp"))),),
        "lockout": (
            Rule(_MODERN, _doc(Lockout(attempts=3, lock_minutes=5), "huawei.doc.lockout")),
            Rule(r"V100R|V200R00\d", None, _why("huawei.why.lockout_old")),
            Rule(None, _doc(Lockout(attempts=3, lock_minutes=5), "huawei.doc.lockout_short")),
        ),
        "vty_protocols": (
            Rule(_MODERN, _doc(("ssh",), "huawei.doc.vty_ssh")),
            Rule(r"V100R|V200R00\d", None, _why("huawei.why.earlier")),
            Rule(None, _doc(("ssh",), "huawei.doc.vty_ssh_short")),
        ),
        "console_protocols": (Rule(None, _doc(("console",), "vendor.doc.console_port", "all")),),
        "aux_protocols": (Rule(None, _doc(("console",), "vendor.doc.aux_port", "all")),),
        "console_login": (
            Rule(_MODERN, _doc("aaa", "huawei.doc.console_aaa")),
            Rule(None, _doc("aaa", "huawei.doc.console_aaa_short")),
        ),
        "vty_login": (Rule(None, None, _why("huawei.why.vty_login")),),
        "aux_login": (Rule(None, None, _why("vendor.not_documented")),),
        "snmp_versions": (Rule(None, _doc(("v3",), "huawei.doc.snmp")),),
        "hwtacacs": (Rule(None, _doc(True, "huawei.doc.hwtacacs")),),
    }
    not_expressible: ClassVar[dict[str, str | Msg]] = {"password_recovery": msg("huawei.no_recovery_switch")}
    remediation: ClassVar[dict[str, tuple[str, ...]]] = {
        "device.telnet_disabled": ("undo telnet server enable", "user-interface vty 0 4",
                                   " protocol inbound ssh"),
        "device.ssh_v2_only": ("stelnet server enable", "undo ssh server compatible-ssh1x enable"),
        "device.http_mgmt_secure": ("undo http server enable",),
        "device.no_plaintext_passwords": ("aaa", " local-user <user> password irreversible-cipher "
                                          "<password>"),
        "device.login_lockout": ("aaa", " local-aaa-user wrong-password retry-interval 5 retry-time 3 "
                                 "block-time 15"),
        "device.idle_timeout": ("user-interface vty 0 4", " idle-timeout 10 0", "user-interface con 0",
                                " idle-timeout 10 0"),
        "device.no_default_accounts": ("aaa", " local-user <personal-name> password irreversible-cipher "
                                       "<password>", " undo local-user admin"),
        "device.remote_auth": ("hwtacacs enable", "hwtacacs-server template <name>",
                               " hwtacacs-server authentication <server>",
                               " hwtacacs-server shared-key cipher <key>", "aaa",
                               " authentication-scheme <scheme>", "  authentication-mode hwtacacs local",
                               " domain default_admin", "  authentication-scheme <scheme>",
                               "  hwtacacs-server <name>"),
        "device.remote_syslog": ("info-center enable", "info-center loghost <server>"),
        "device.ntp": ("ntp-service unicast-server <server>",),
        "device.snmp_hardened": ("undo snmp-agent community <name>", "snmp-agent sys-info version v3",
                                 "snmp-agent group v3 <group> privacy acl <acl>"),
        "device.unused_ports_down": ("interface <unused port>", " shutdown"),
        "device.mgmt_acl": ("user-interface vty 0 4", " acl <acl> inbound", "snmp-agent acl <acl>"),
        "device.line_login_required": ("user-interface vty 0 4", " authentication-mode aaa",
                                       "user-interface con 0", " authentication-mode aaa"),
        "device.line_passwords_without_users": ("user-interface vty 0 4", " authentication-mode aaa",
                                                " undo set authentication password"),
        "device.server_keys_protected": ("hwtacacs-server template <name>",
                                         " hwtacacs-server shared-key cipher <key>"),
        "device.clock_synced": ("ntp-service unicast-server <server>",),
    }
    telnet_switch = r"^(undo )?telnet (?:ipv4 )?server enable$"
    ssh_switch = r"^(undo )?stelnet (?:ipv4 )?server enable$"

    # -- configuration -------------------------------------------------------------------------

    def users(self, tree: ConfigTree) -> Known[tuple[LocalUser, ...]]:
        by_name: dict[str, list[Hit]] = {}
        for hit in tree.nested(r"^aaa$", r"^local-user (\S+) (.+)$"):
            name = hit.group(1) or ""
            if name in ("wrong-password", "password"):
                continue
            by_name.setdefault(name, []).append(hit)
        # VRP 3/5 (and Comware 3) write a local user as its own top-level section instead
        for section in tree.top(r"^local-user (\S+)$"):
            name = section.group(1) or ""
            by_name.setdefault(name, []).extend(
                _as_rest(child) for child in tree.under(section.node, r"^(.+)$"))
        users = []
        for name, hits in by_name.items():
            password, privilege, services = None, None, None
            for hit in hits:
                rest = hit.group(2) or ""
                rest = re.sub(r"^level (\d+)$", r"privilege level \1", rest)
                if m := re.match(r"password (simple|cipher|irreversible-cipher) (\S+)", rest):
                    password = (m.group(1), m.group(2))
                elif m := re.match(r"privilege level (\d+)", rest):
                    privilege = int(m.group(1))
                elif m := re.match(r"service-type (.+)", rest):
                    services = tuple(m.group(1).split())
            users.append(local_user(name, hits, tree, privilege, password, services))
        return Known(value=tuple(users), source="config", lines=tuple(r for u in users for r in u.lines))

    def lockout(self, tree: ConfigTree, software: str | None) -> Known[Any]:
        hits = tree.nested(r"^aaa$", r"^(undo )?(?:local-aaa-user|local-user) wrong-password"
                           r"(?: retry-interval (\d+) retry-time (\d+) block-time (\d+))?")
        if hits:
            last = hits[-1]
            if last.group(1):
                return Known(value=None, source="config", lines=tree.refs([last]),
                             note=english("huawei.locking_off"))
            attempts, minutes = last.group(3), last.group(4)
            return Known(value=Lockout(attempts=int(attempts) if attempts else None,
                                       lock_minutes=float(minutes) if minutes else None),
                         source="config", lines=tree.refs([last]))
        return self.known_default("lockout", software)

    def lockout_enabled(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        lock = self.lockout(tree, software)
        if lock.source == "unknown":
            return Known(value=None, source="unknown", note=lock.note)
        return Known(value=lock.value is not None, source=lock.source, note=lock.note, lines=lock.lines)

    def aaa(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]],
            software: str | None) -> Known[Any]:
        """Administrators log in through the admin domain (``default_admin`` unless another is named
        with ``domain NAME admin`` / ``default-domain admin NAME``): its authentication scheme must
        try HWTACACS or RADIUS first, with a server template that has an authentication server, and
        HWTACACS must not be switched off; and the VTY lines must use AAA."""
        templates = _templates(tree)
        hits = list(tree.top(r"^(?:hwtacacs|radius)-server template "))
        admin = tree.top(r"^domain (\S+) admin$") or tree.nested(r"^aaa$", r"^default-domain admin (\S+)")
        domain_name = (admin[-1].group(1) or "default_admin") if admin else "default_admin"
        domain = next((h for h in tree.nested(r"^aaa$", r"^domain (\S+)$") if h.group(1) == domain_name),
                      None)
        scheme_name = "default"
        bound: list[str] = []
        if domain is not None:
            scheme = tree.under(domain.node, r"^authentication-scheme (\S+)")
            scheme_name = (scheme[-1].group(1) or "default") if scheme else "default"
            bound = [f"{h.group(1)}:{h.group(2)}"
                     for h in tree.under(domain.node, r"^(hwtacacs|radius)-server (\S+)")]
            hits += [domain, *scheme, *tree.under(domain.node, r"^(hwtacacs|radius)-server ")]
        mode = [h for s in tree.nested(r"^aaa$", r"^authentication-scheme (\S+)$")
                if s.group(1) == scheme_name for h in tree.under(s.node, r"^authentication-mode (.+)$")]
        hits += mode
        methods = (mode[-1].group(1) or "").split() if mode else ["local"]
        first = methods[0] if methods else "local"
        switch = tree.top(r"^(undo )?hwtacacs enable$")
        hwtacacs_on = ((switch[-1].group(1) is None) if switch
                       else self.known_default("hwtacacs", software).value)
        hits += switch
        vtys = [t for t in terminals.value or () if t.kind == "vty"]
        servers = tuple(sorted({s for ss in templates.values() for s in ss}))
        protocols = tuple(sorted({k.split(":")[0] for k in templates}))
        why, used = _huawei_used(first, domain_name, scheme_name, bound, templates, hwtacacs_on, vtys)
        return Known(value=RemoteAuth(protocols=protocols, servers=servers, used_for_login=used, why=why),
                     source="config", lines=tree.refs(hits))

    # -- outputs -------------------------------------------------------------------------------

    def config_software(self, tree: ConfigTree) -> Known[VersionInfo]:
        found = tree.first(r"^!Software Version (V\d{3}R\d{3}\w*)") or tree.first(r"^\[(V\d{3}R\d{3}\w*)\]$")
        if found is None:
            return Known()
        return Known(value=VersionInfo(software=found.group(1)), source="config", lines=tree.refs([found]),
                     note=english("vendor.config_release", command=self.commands["version"]))

    def parse_version(self, text: str) -> Known[VersionInfo]:
        rows = textfsm_rows("huawei_vrp_display_version", text)
        found = re.search(r"\(([^()]*?)\s*(V\d{3}R\d{3}\w*)\)", text)
        if not rows and not found:
            return Known()
        row = rows[0] if rows else {}
        model = re.sub(r"\s+(Routing Switch|Router|Switch)$", "", str(row.get("model", "")).strip()) or None
        if found:
            model = model or found.group(1).strip() or None
        product = re.search(r"V\d{3}R\d{3}\w*", str(row.get("product_version", "")))
        software = (product.group(0) if product else found.group(2) if found
                    else f"VRP {row['vrp_version']}" if row.get("vrp_version") else None)
        return Known(value=VersionInfo(model=model, software=software, uptime=row.get("uptime") or None),
                     source="output", lines=output_refs("version", text, r"^VRP \(R\)", r"uptime is",
                                                          limit=2))

    def parse_ntp(self, text: str) -> Known[NtpSync]:
        rows = textfsm_rows("huawei_vrp_display_ntp_status", text)
        if rows and rows[0].get("clock_status"):
            stratum = rows[0].get("clock_stratum")
            return Known(value=NtpSync(synchronised=rows[0]["clock_status"].lower() == "synchronized",
                                       stratum=int(stratum) if stratum else None),
                         source="output", lines=output_refs("ntp", text, r"clock status", r"clock stratum"))
        return Known()

    def parse_links(self, text: str) -> dict[str, tuple[str, str, LineRef]]:
        header = re.search(r"^\s*Interface\s+PHY\s+Protocol", text, re.MULTILINE)
        table = text[header.start():] if header else text
        out = {}
        for row in textfsm_rows("huawei_vrp_display_interface_brief", table):
            phy = row["phy"]
            link = "admin-down" if phy.startswith("*") else "up" if phy.startswith("up") else "down"
            out[canonical(row["interface"])] = (row["interface"], link,
                                                line_ref("interfaces", text, row["interface"]))
        return out

    def parse_lldp(self, text: str) -> Known[tuple[Neighbour, ...]]:
        return self.lldp_rows("huawei_vrp_display_lldp_neighbor", text)

    def parse_logging(self, text: str) -> Known[LoggingState]:
        return super().parse_logging(text)


def _templates(tree: ConfigTree) -> dict[str, tuple[str, ...]]:
    """``hwtacacs:NAME`` / ``radius:NAME`` -> its authentication servers."""
    out: dict[str, tuple[str, ...]] = {}
    for section in tree.top(r"^(hwtacacs|radius)-server template (\S+)"):
        servers = tree.under(section.node, r"^(?:hwtacacs|radius)-server authentication (\S+)")
        out[f"{section.group(1)}:{section.group(2)}"] = tuple(h.group(1) or "" for h in servers)
    return out


def _huawei_used(first: str, domain: str, scheme: str,  # noqa: PLR0911 - a table of login-path verdicts
                 bound: list[str], templates: dict[str, tuple[str, ...]], hwtacacs_on: Any,
                 vtys: list[Terminal]) -> tuple[str, bool | None]:
    if first not in ("hwtacacs", "radius"):
        return english("huawei.aaa.local_first", domain=domain, scheme=scheme, method=first), False
    template = next((b for b in bound if b.startswith(f"{first}:")), None)
    if template is None or not templates.get(template):
        return english("huawei.aaa.no_template", domain=domain, method=first), False
    if first == "hwtacacs" and hwtacacs_on is False:
        return english("huawei.aaa.hwtacacs_off"), False
    if first == "hwtacacs" and hwtacacs_on is None:
        return english("huawei.aaa.hwtacacs_unknown"), None
    if not vtys:
        return english("vendor.no_vty_path"), None
    local = [t.name for t in vtys if t.login not in ("aaa",)]
    if local:
        return english("huawei.aaa.not_aaa", lines=local), False
    return english("huawei.aaa.used", domain=domain, scheme=scheme, method=first,
                   servers=templates[template]), True


FAMILY = Huawei()
__all__ = ["FAMILY", "Huawei", "Interface", "SshServer"]


def _as_rest(child: Hit) -> Hit:
    """A line of a top-level ``local-user NAME`` section, shaped as an ``aaa`` ``local-user NAME
    REST`` line (group 2 is REST) so that one parser reads both forms."""
    found = re.match(r"^()(.+)$", child.node.text)
    assert found is not None
    return Hit(child.node, found)
