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
from auditor.vendors._vrp import VrpFamily, local_user
from auditor.vendors.config import ConfigTree, Hit
from auditor.vendors.contract import Documented, Rule, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical

_SGUIDE = ("Huawei S-series (S1720/S2700/S5700/S6720) V200R01x product documentation (HedEx), "
           "Configuration Guide - Basic Configuration / Security")
_MODERN = r"V200R01\d|V200R02\d|V300R|V600R|VRP \(R\) software, Version 8"


def _doc(value: Any, where: str, releases: str = "S-series V200R010 and later") -> Documented:
    return Documented(value, where, releases)


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
        ("admin", "admin@huawei.com", "S-series V200R013 Configuration Guide: default console/web login"),
        ("admin", "Admin@huawei.com", "S-series BootROM/BootLoad default password"),
        ("admin", "Admin@123", "Huawei factory default published for many AR/S models"),
        ("root", "admin", "early Quidway/S-series default, widely published"),
        ("admin", "admin", "generic default"),
        ("huawei", "huawei", "generic default"),
    )
    default_account_names = ("admin", "administrator", "huawei", "root", "test", "guest", "user",
                             "manager", "super", "operator", "default", "support")
    defaults: ClassVar[dict[str, tuple[Rule, ...]]] = {
        "telnet_server": (Rule(_MODERN, _doc(False, "S2720/S5700/S6720 Configuration Guide - Basic "
                                          "Configuration, Login Password Management, table of default Telnet "
                                          "logins (Telnet: none; 'by default you cannot log in to a switch "
                                          "using Telnet')", "S-series V200R013")),
                          Rule(r"V100R|V200R00\d", None, "documented for S-series V200R010 and later only"),
                          Rule(None, _doc(False, "S2720/S5700/S6720 Configuration Guide - Basic "
                                          "Configuration, Login Password Management: Telnet off by default",
                                          "S-series V200R013"))),
        "ssh_server": (Rule(_MODERN, _doc(False, f"{_SGUIDE}, Configuring STelnet Login: 'by default, "
                                       "the STelnet function is not configured on a switch'")),
                       Rule(r"V100R|V200R00\d", None, "documented for S-series V200R010 and later only"),
                       Rule(None, _doc(False, f"{_SGUIDE}, Configuring STelnet Login: STelnet not configured "
                                       "by default"))),
        "ssh_v1": (Rule(None, None, "disabled on a device with empty configuration, but after an upgrade it "
                              "follows the old configuration file (command reference of `ssh server "
                              "compatible-ssh1x enable`): the absent line does not show which"),),
        "http_server": (Rule(None, None, "no Huawei document found states the HTTP server default"),),
        "https_server": (Rule(None, None, "no Huawei document found states the HTTPS server default"),),
        "idle_timeout_s": (Rule(None, _doc(600, f"{_SGUIDE}, command `idle-timeout`: 'by default, "
                                           "the timeout period is 10 minutes'", "VRP (S-series, AR, NE)")),),
        "lockout": (
            Rule(_MODERN, _doc(Lockout(attempts=3, lock_minutes=5), f"{_SGUIDE}, command `local-aaa-user "
                               "wrong-password`: 'by default, the local account locking function is "
                               "enabled, retry interval is 5 minutes, maximum number of consecutive "
                               "incorrect password attempts is 3, and account locking period is 5 "
                               "minutes'")),
            Rule(r"V100R|V200R00\d", None, "releases before V200R010 are not covered by the document "
                 "that states the lockout default"),
            Rule(None, _doc(Lockout(attempts=3, lock_minutes=5), f"{_SGUIDE}, command `local-aaa-user "
                            "wrong-password`: enabled by default, 3 attempts, 5 minutes")),
        ),
        "vty_protocols": (
            Rule(_MODERN, _doc(("ssh",), f"{_SGUIDE}, Configuring STelnet Login (example: 'by default, VTY "
                               "user interfaces support SSH')")),
            Rule(r"V100R|V200R00\d", None, "earlier releases: not documented"),
            Rule(None, _doc(("ssh",), f"{_SGUIDE}: VTY user interfaces support SSH by default")),
        ),
        "console_protocols": (Rule(None, _doc(("console",), "a console line is reached through its port only",
                                              "all")),),
        "aux_protocols": (Rule(None, _doc(("console",), "an AUX line is reached through its port only",
                                          "all")),),
        "console_login": (
            Rule(_MODERN, _doc("aaa", f"{_SGUIDE}, command `authentication-mode` (user interface view): 'the "
                               "default authentication mode for console port login users is AAA "
                               "authentication'")),
            Rule(None, _doc("aaa", f"{_SGUIDE}, command `authentication-mode`: console logins use AAA")),
        ),
        "vty_login": (Rule(None, None, "Huawei documents differ by product and release (no mode set on "
                           "S-series V200R01x, AAA on others, password on AR1200 V200R001)"),),
        "aux_login": (Rule(None, None, "not documented"),),
        "snmp_versions": (Rule(None, _doc(("v3",), f"{_SGUIDE}, Configuring SNMP: 'by default, the device "
                                          "supports SNMPv3'")),),
        "hwtacacs": (Rule(None, _doc(True, f"{_SGUIDE}, Configuring an HWTACACS Server Template: "
                                     "'by default, HWTACACS is enabled'")),),
    }
    not_expressible: ClassVar[dict[str, str]] = {
        "password_recovery": "VRP has no configuration switch for password recovery (the BootROM menu is "
                             "protected by its own password)"}
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
                             note="local account locking is switched off")
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
                     note="the release the configuration names in its header; no `display version` read")

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
        return (f"administrators log in through domain {domain}, whose authentication scheme {scheme} "
                f"uses {first} first", False)
    template = next((b for b in bound if b.startswith(f"{first}:")), None)
    if template is None or not templates.get(template):
        return (f"domain {domain} uses {first} but no {first} template with an authentication server is "
                "bound to it", False)
    if first == "hwtacacs" and hwtacacs_on is False:
        return "HWTACACS is switched off (undo hwtacacs enable)", False
    if first == "hwtacacs" and hwtacacs_on is None:
        return "whether HWTACACS is on cannot be told (the default is not documented)", None
    if not vtys:
        return "the configuration has no VTY line, so the remote login path cannot be judged", None
    local = [t.name for t in vtys if t.login not in ("aaa",)]
    if local:
        return f"{', '.join(local)} do not authenticate through AAA", False
    return (f"administrators (domain {domain}, scheme {scheme}) are authenticated by {first} "
            f"({', '.join(templates[template])})", True)


FAMILY = Huawei()
__all__ = ["FAMILY", "Huawei", "Interface", "SshServer"]


def _as_rest(child: Hit) -> Hit:
    """A line of a top-level ``local-user NAME`` section, shaped as an ``aaa`` ``local-user NAME
    REST`` line (group 2 is REST) so that one parser reads both forms."""
    found = re.match(r"^()(.+)$", child.node.text)
    assert found is not None
    return Hit(child.node, found)
