"""What Cisco IOS/IOS-XE and Ruijie RGOS share: ``!``-separated, indented configurations, ``no``
negation, ``line`` sections, ``username`` accounts with type-numbered secrets, ``snmp-server``,
``aaa new-model`` method lists applied with ``login authentication``.

Where the two differ (the telnet, SSH and web switches, lockout, version formats), the family module
overrides the method.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from auditor.facts import (
    Clock,
    Interface,
    Known,
    LocalUser,
    Lockout,
    LoggingState,
    Neighbour,
    NtpSync,
    RemoteAuth,
    Snmp,
    SshServer,
    StoredSecret,
    Terminal,
    V3Group,
)
from auditor.messages import Msg, define, english, joined
from auditor.vendors._vrp import community
from auditor.vendors.config import ConfigTree, Hit
from auditor.vendors.contract import VendorFamily, line_ref, output_refs, textfsm_rows
from auditor.vendors.interfaces import canonical

define({
    "ios.form.hash": ("type {type}（单向哈希）", "type {type} (a one-way hash)"),
    "ios.form.type7_weak": ("type 7（公开的、可轻易还原的编码）",
                            "type 7 (a published, trivially reversed encoding)"),
    "ios.form.type7": ("type 7（可逆加密）", "type 7 (reversible encryption)"),
    "ios.form.type6": ("type 6（用设备主密钥进行 AES 加密）", "type 6 (AES with the device's master key)"),
    "ios.form.clear": ("type 0 / 无 type（明文）", "type 0 / no type (clear text)"),
    "ios.no_hostname": ("配置中没有 hostname 行", "no hostname line"),
    "ios.no_transport": ("{lines} 未设置 `transport input`；{note}",
                         "{lines} set no `transport input`; {note}"),
    "ios.nopassword": ("nopassword：完全没有口令", "nopassword: no password at all"),
    "ios.clock_zone": ("时钟以时区 {zone} 显示，而配置中未给出该时区的偏移：无法比较",
                       "the clock is shown in zone {zone}, whose offset the configuration does not state: "
                       "it cannot be compared"),
    "ios.aaa.no_model": ("未配置 `aaa new-model`：登录在设备本地验证",
                         "`aaa new-model` is not configured: logins are checked on the device"),
    "ios.aaa.no_server": ("未配置 RADIUS/TACACS+ 服务器", "no RADIUS/TACACS+ server is configured"),
    "ios.aaa.line_list": ("{line} 使用方法列表 {name}（{methods}）", "{line} uses list {name} ({methods})"),
    "ios.aaa.list_undefined": ("未定义：本地认证", "not defined: local"),
    "ios.aaa.used": ("所有 VTY 线路都通过 {lists} 认证", "every VTY line authenticates through {lists}"),
}, recoverable=True)

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec"), 1)}


def typed_form(keyword: str, kind: str | None, token: str = "", type7_weak: bool = True) -> tuple[str, str]:
    """How an IOS/RGOS secret is stored, from its type number (and the stored text). Cisco's type 7
    is a published encoding anyone reverses (``type7_weak``); Ruijie's type 7 is its own encryption."""
    if kind in ("4", "5", "8", "9") or re.match(r"^\$(1|5|6|8|9|14)\$", token):
        return "hashed", english("ios.form.hash", type=kind or token[:3])
    if kind == "7":
        if type7_weak:
            return ("reversible" if keyword != "key" else "weak", english("ios.form.type7_weak"))
        return "reversible", english("ios.form.type7")
    if kind == "6":
        return "reversible", english("ios.form.type6")
    return "plaintext", english("ios.form.clear")


class IosFamily(VendorFamily):
    """The shared half of Cisco IOS/IOS-XE and Ruijie RGOS."""

    style = "ios"
    terminator = "end"
    negation = "no "
    comment = "!"
    type7_weak = True
    lockout_time_minutes = 1.0  # the unit of `aaa local authentication lockout-time`

    # -- the configuration ---------------------------------------------------------------------

    def parse_config(self, tree: ConfigTree, software: str | None) -> dict[str, Known[Any]]:
        hostname = tree.first(r"^hostname (\S+)")
        terminals = self.terminals(tree, software)
        lockout = self.lockout(tree, software)
        return {
            "hostname": Known(value=hostname.group(1) if hostname else None,
                              source="config" if hostname else "unknown",
                              lines=tree.refs([hostname]) if hostname else (),
                              note="" if hostname else english("ios.no_hostname")),
            "telnet": self.telnet(tree, terminals, software),
            "ssh": self.ssh(tree, software),
            "http": self.http(tree, software)[0],
            "https": self.http(tree, software)[1],
            "users": self.users(tree),
            "secrets": self.secrets(tree),
            "server_keys": self.server_keys(tree),
            "lockout": lockout,
            "lockout_enabled": Known(value=None, source="unknown", note=lockout.note)
            if lockout.source == "unknown"
            else Known(value=lockout.value is not None, source=lockout.source, note=lockout.note,
                       lines=lockout.lines),
            "terminals": terminals,
            "ssh_acl": Known(value=None, source="config"),
            "aaa": self.aaa(tree, terminals),
            "syslog": self.syslog(tree),
            "ntp_servers": self.ntp_servers(tree),
            "snmp": self.snmp(tree, hostname.group(1) if hostname else None),
            "interfaces": self.interfaces(tree),
            "password_recovery": self.password_recovery(tree, software),
        }

    def telnet(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]],
               software: str | None) -> Known[bool]:
        """Telnet is on when a VTY line accepts it."""
        vtys = [t for t in terminals.value or () if t.kind == "vty"]
        lines = tuple(r for t in vtys for r in t.lines)
        if not vtys:
            return Known(value=None, source="unknown", note=english("vendor.no_vty"), lines=lines)
        accepting = [t for t in vtys if t.transport is not None and {"telnet", "all"} & set(t.transport)]
        if accepting:
            return Known(value=True, source="config", lines=tuple(r for t in accepting for r in t.lines))
        unknown = [t.name for t in vtys if t.transport is None]
        if unknown:
            _found, note = self.default("vty_protocols", software)
            return Known(value=None, source="unknown", lines=lines,
                         note=english("ios.no_transport", lines=unknown, note=note))
        source = "default" if any(t.transport_source == "default" for t in vtys) else "config"
        return Known(value=False, source=source, lines=lines)

    def ssh(self, tree: ConfigTree, software: str | None) -> Known[SshServer]:
        version = tree.top(r"^ip ssh version (\d)")
        if version:
            v1: bool | None = version[-1].group(1) != "2"
            source, note = "config", ""
        else:
            found, note = self.default("ssh_v1", software)
            v1, source = (found.value, "default") if found else (None, "unknown")
        return Known(value=SshServer(enabled=None, v1_allowed=v1, v1_source=source), source="config",
                     note=note, lines=tree.refs(version[-1:]))

    def http(self, tree: ConfigTree, software: str | None) -> tuple[Known[bool], Known[bool]]:
        plain = tree.top(r"^(no )?ip http server$")
        secure = tree.top(r"^(no )?ip http secure-server$")
        return (Known(value=plain[-1].group(1) is None, source="config", lines=tree.refs(plain[-1:]))
                if plain else self.known_default("http_server", software),
                Known(value=secure[-1].group(1) is None, source="config", lines=tree.refs(secure[-1:]))
                if secure else self.known_default("https_server", software))

    def users(self, tree: ConfigTree) -> Known[tuple[LocalUser, ...]]:
        users = []
        for hit in tree.top(r"^username (\S+)(.*)$"):
            rest = hit.group(2) or ""
            privilege = re.search(r"\bprivilege (\d+)", rest)
            secret = re.search(r"\b(password|secret)(?: (\d))? (\S+)", rest)
            if secret:
                form, why = typed_form(secret.group(1), secret.group(2), secret.group(3))
            elif re.search(r"\bnopassword\b", rest):
                form, why = "none", english("ios.nopassword")
            else:
                continue  # e.g. `username X privilege 15` before its secret line: merged below
            users.append(LocalUser(name=hit.group(1) or "",
                                   privilege=int(privilege.group(1)) if privilege else 1,
                                   password_form=form, form_reason=why, lines=tree.refs([hit])))
        return Known(value=tuple(users), source="config", lines=tuple(r for u in users for r in u.lines))

    def secrets(self, tree: ConfigTree) -> Known[tuple[StoredSecret, ...]]:
        found: list[StoredSecret] = []
        for hit in tree.top(r"^enable (password|secret)(?: level \d+)?(?: (\d))? (\S+)"):
            form, why = typed_form(hit.group(1) or "", hit.group(2), hit.group(3) or "")
            found.append(StoredSecret(what=f"enable {hit.group(1)}", form=form, form_reason=why,
                                      lines=tree.refs([hit])))
        for hit in tree.nested(r"^line ", r"^password(?: (\d))? (\S+)"):
            form, why = typed_form("password", hit.group(1), hit.group(2) or "")
            section = hit.node.parent.text if hit.node.parent else Msg("vendor.a_line")
            found.append(StoredSecret(what=english("vendor.what.password", section=section), form=form,
                                      form_reason=why,
                                      lines=tree.refs([hit])))
        return Known(value=tuple(found), source="config", lines=tuple(r for s in found for r in s.lines))

    def server_keys(self, tree: ConfigTree) -> Known[tuple[StoredSecret, ...]]:
        found: list[StoredSecret] = []
        hits = [*tree.top(r"^(?:tacacs|radius)-server (?:host \S+ .*?)?key(?: (\d))? (\S+)"),
                *tree.nested(r"^(?:tacacs|radius) server ", r"^key(?: (\d))? (\S+)")]
        for hit in hits:
            form, why = typed_form("key", hit.group(1), hit.group(2) or "", self.type7_weak)
            if form == "hashed":
                form = "reversible"
            parent = hit.node.parent
            where = parent.text if parent and parent.line else hit.node.text.split(" key")[0]
            found.append(StoredSecret(what=english("vendor.what.key", section=where), form=form,
                                      form_reason=why,
                                      lines=tree.refs([hit])))
        return Known(value=tuple(found), source="config", lines=tuple(r for s in found for r in s.lines))

    def lockout(self, tree: ConfigTree, software: str | None) -> Known[Any]:
        block = tree.top(r"^login block-for (\d+) attempts (\d+) within \d+")
        max_fail = tree.top(r"^aaa local authentication attempts (?:max-fail )?(\d+)")
        failed_times = tree.top(r"^login block-failed-times (\d+) period \d+ block-time (\d+)")
        if failed_times:
            last = failed_times[-1]
            return Known(value=Lockout(attempts=int(last.group(1) or 0),
                                       lock_minutes=int(last.group(2) or 0) / 60),
                         source="config", lines=tree.refs([last]))
        if block:
            return Known(value=Lockout(attempts=int(block[-1].group(2) or 0),
                                       lock_minutes=int(block[-1].group(1) or 0) / 60),
                         source="config", lines=tree.refs(block[-1:]))
        if max_fail:
            lock = tree.top(r"^aaa local authentication lockout-time (\d+)")
            minutes = int(lock[-1].group(1) or 0) * self.lockout_time_minutes if lock else None
            return Known(value=Lockout(attempts=int(max_fail[-1].group(1) or 0), lock_minutes=minutes),
                         source="config", lines=tree.refs(max_fail[-1:] + lock[-1:]))
        return self.known_default("lockout", software)

    def terminals(self, tree: ConfigTree, software: str | None) -> Known[tuple[Terminal, ...]]:
        aaa_model = bool(tree.top(r"^aaa new-model$"))
        default_list = bool(tree.top(r"^aaa authentication login default "))
        out = [self.terminal(tree, hit, software, aaa_model, default_list)
               for hit in tree.top(r"^line (con|console|aux|vty)\S* ?(.*)$")]
        return Known(value=tuple(out), source="config", lines=tuple(r for t in out for r in t.lines))

    def terminal(self, tree: ConfigTree, section: Hit, software: str | None, aaa_model: bool,
                 default_list: bool) -> Terminal:
        kind = {"con": "console", "console": "console"}.get(section.group(1) or "", section.group(1) or "vty")
        timeout = tree.under(section.node, r"^exec-timeout (\d+)(?: (\d+))?$|^no exec-timeout$")
        acl = tree.under(section.node, r"^access-class (\S+) in")
        transport = tree.under(section.node, r"^transport input (.+)$")
        login = tree.under(section.node, r"^(no )?login(?: (local|authentication (\S+)))?$")
        password = tree.under(section.node, r"^password ")
        hits = [section, *timeout, *acl, *transport, *login, *password]
        if timeout:
            t = timeout[-1]
            seconds: int | None = 0 if t.node.text.startswith("no ") else \
                int(t.group(1) or 0) * 60 + int(t.group(2) or 0)
            t_source = "config"
        else:
            found, _note = self.default("idle_timeout_s", software)
            seconds, t_source = (found.value, "default") if found else (None, "unknown")
        if transport:
            protocols: tuple[str, ...] | None = tuple((transport[-1].group(1) or "").split())
            p_source = "config"
        elif kind != "vty":
            protocols, p_source = ("console",), "default"
        else:
            found, _note = self.default("vty_protocols", software)
            protocols, p_source = (tuple(found.value), "default") if found else (None, "unknown")
        mode, m_source = self._login(login, kind, software, aaa_model, default_list)
        return Terminal(name=section.node.text, kind=kind, idle_timeout_s=seconds, timeout_source=t_source,
                        acl=acl[-1].group(1) if acl else None, transport=protocols, transport_source=p_source,
                        login=mode, login_source=m_source, has_password=bool(password), lines=tree.refs(hits))

    def _login(self, login: list[Hit], kind: str, software: str | None, aaa_model: bool,
               default_list: bool) -> tuple[str | None, str]:
        if login:
            last = login[-1]
            if last.group(1):
                return "none", "config"
            if last.group(3):
                return "aaa", "config"
            if last.group(2) == "local":
                return "local", "config"
            return ("aaa" if aaa_model and default_list else "password"), "config"
        if aaa_model and default_list:
            return "aaa", "config"
        found, _note = self.default(f"{kind}_login", software)
        return (found.value, "default") if found else (None, "unknown")

    def aaa(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]]) -> Known[Any]:
        """Administrators' logins use central AAA when ``aaa new-model`` is on and the method list
        every VTY line applies (``login authentication LIST``, else ``default``) starts with a
        RADIUS/TACACS+ group that has servers."""
        servers = [h.group(1) or "" for h in [*tree.top(r"^(?:tacacs|radius)-server host (\S+)"),
                                             *tree.nested(r"^(?:tacacs|radius) server ",
                                                          r"^address ipv4 (\S+)")]]
        protocols = sorted({("tacacs" if "tacacs" in h.node.text else "radius")
                            for h in [*tree.top(r"^(?:tacacs|radius)-server host "),
                                      *tree.top(r"^(?:tacacs|radius) server ")]})
        lists = {h.group(1) or "": (h.group(2) or "").split()
                 for h in tree.top(r"^aaa authentication login (\S+) (.+)$")}
        model = tree.top(r"^aaa new-model$")
        hits = [*model, *tree.top(r"^aaa authentication login "),
                *tree.top(r"^(?:tacacs|radius)-server host "), *tree.top(r"^(?:tacacs|radius) server ")]
        vtys = [t for t in terminals.value or () if t.kind == "vty"]
        why, used = _ios_used(bool(model), lists, servers, vtys, tree)
        return Known(value=RemoteAuth(protocols=tuple(protocols), servers=tuple(sorted(set(servers))),
                                      used_for_login=used, why=why), source="config", lines=tree.refs(hits))

    def syslog(self, tree: ConfigTree) -> Known[tuple[str, ...]]:
        off = tree.top(r"^no logging on$")
        if off:
            return Known(value=(), source="config", lines=tree.refs(off), note=english("vendor.logging_off"))
        hits = tree.top(r"^logging (?:host |server )?(?:vrf \S+ |oob )?"
                        r"(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)")
        return Known(value=tuple(sorted({h.group(1) or "" for h in hits})), source="config",
                     lines=tree.refs(hits))

    def ntp_servers(self, tree: ConfigTree) -> Known[tuple[str, ...]]:
        hits = tree.top(r"^s?ntp server (?:vrf \S+ |oob )?(?:ip )?(\S+)")
        return Known(value=tuple(h.group(1) or "" for h in hits), source="config", lines=tree.refs(hits))

    def snmp(self, tree: ConfigTree, hostname: str | None) -> Known[Snmp]:
        communities = []
        for hit in tree.top(r"^snmp-server community (?:(\d) )?(\S+)(?: view \S+)?(?: (ro|rw))?(?: (\S+))?"):
            name = None if hit.group(1) == "7" else hit.group(2)
            access = "rw" if (hit.group(3) or "").lower() == "rw" else "ro"
            communities.append(community(name, access, hit.group(4), tree.refs([hit]), hostname))
        groups = tree.top(r"^snmp-server group (\S+) v3 (priv|auth|noauth)(.*)$")
        v3 = [V3Group(name=g.group(1) or "", level=_LEVEL[(g.group(2) or "noauth").lower()],
                      acl=_access(g.group(3)), lines=tree.refs([g])) for g in groups]
        users = tree.top(r"^snmp-server user (\S+) \S+ v3")
        agent = tree.top(r"^(no )?enable service snmp-agent$")
        enabled = bool(communities or groups or users) or bool(agent and agent[-1].group(1) is None)
        versions = (("v1", "v2c") if communities else ()) + (("v3",) if groups or users else ())
        return Known(value=Snmp(enabled=enabled, versions=versions, versions_source="config",
                                communities=tuple(communities), v3=tuple(v3),
                                v3_users=tuple(sorted({u.group(1) or "" for u in users}))),
                     source="config",
                     lines=tree.refs([*agent, *tree.top(r"^snmp-server (community|group) ")]))

    def interfaces(self, tree: ConfigTree) -> Known[tuple[Interface, ...]]:
        out = []
        for section in tree.top(r"^interface (.+?)\s*$"):
            name = section.group(1) or ""
            body = tree.under(section.node, r"^(shutdown|description (.*)|switchport mode (\S+)|"
                                            r"switchport access vlan \S+|no switchport)$")
            texts = [h.node.text for h in body]
            mode = next(((h.group(3) or "").lower() for h in body if h.group(3)), None)
            if mode is None and "no switchport" in texts:
                mode = "routed"
            if mode is None and any(t.startswith("switchport access vlan") for t in texts):
                mode = "access"
            mode = self.default_port_mode(name, mode)
            out.append(Interface(name=name, key=canonical(name), shutdown="shutdown" in texts,
                                 description=next((h.group(2) for h in body if h.group(2)), None),
                                 mode=mode if mode in ("access", "trunk", "hybrid", "routed") else None,
                                 lines=tree.refs([section, *body])))
        return Known(value=tuple(out), source="config")

    def default_port_mode(self, name: str, mode: str | None) -> str | None:
        return mode

    def password_recovery(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        hits = tree.top(r"^(no )?service password-recovery$")
        if hits:
            return Known(value=hits[-1].group(1) is None, source="config", lines=tree.refs(hits[-1:]))
        return self.known_default("password_recovery", software)

    # -- outputs -------------------------------------------------------------------------------

    def parse_ntp(self, text: str) -> Known[NtpSync]:
        if re.search(r"NTP is not enabled", text, re.IGNORECASE):
            return Known(value=NtpSync(synchronised=False), source="output",
                         lines=output_refs("ntp", text, r"NTP is not enabled"))
        found = re.search(r"clock\s+(?:status:\s*|is\s+)(synchronized|unsynchronized)", text, re.IGNORECASE)
        if not found:
            return Known()
        stratum = re.search(r"stratum:?\s*(\d+)", text, re.IGNORECASE)
        return Known(value=NtpSync(synchronised=found.group(1).lower() == "synchronized",
                                   stratum=int(stratum.group(1)) if stratum else None),
                     source="output", lines=output_refs("ntp", text, r"clock\s+(status|is)\s*:?", r"stratum"))

    def parse_ssh_status(self, text: str) -> Known[SshServer]:
        found = re.search(r"^SSH (Enabled?|Disabled?) - version (\S+)", text, re.MULTILINE | re.IGNORECASE)
        if not found:
            return Known()
        version = found.group(2)
        return Known(value=SshServer(enabled=found.group(1).lower().startswith("enable"), version=version,
                                     v1_allowed=version.startswith("1.")),
                     source="output", lines=output_refs("ssh", text, r"^SSH \w+ - version"))

    def parse_lldp(self, text: str) -> Known[tuple[Neighbour, ...]]:
        rows = textfsm_rows("cisco_ios_show_lldp_neighbors_detail", text)
        if not rows and text.strip():
            return Known()
        out = tuple(Neighbour(local_port=r["local_interface"], remote_name=r.get("neighbor_name") or None,
                              remote_port=r.get("neighbor_port_id") or r.get("neighbor_interface") or None,
                              remote_address=r.get("mgmt_address") or None) for r in rows)
        return Known(value=out, source="output",
                     lines=tuple(line_ref("lldp", text, "Local Intf") for _ in out[:1]))

    def parse_logging(self, text: str) -> Known[LoggingState]:
        state = re.search(r"Syslog logging:\s*(enabled|disabled)", text, re.IGNORECASE)
        hosts = re.findall(r"Logging to (\S+?)\s*(?:\(|,|$)", text, re.IGNORECASE | re.MULTILINE)
        if state is None and not hosts:
            return Known()
        return Known(value=LoggingState(enabled=state.group(1).lower() == "enabled" if state else None,
                                        hosts=tuple(dict.fromkeys(hosts))),
                     source="output", lines=output_refs("logging", text, r"Syslog logging", r"Logging to"))

    def parse_clock(self, text: str, agent_time: float | None, config: str | None) -> Known[Clock]:
        """``*18:30:12.123 UTC Sun Dec 6 2026`` (IOS) or ``18:30:12 CST Sun, Dec 6, 2026`` (RGOS); the
        zone's offset comes from ``clock timezone NAME HOURS [MINUTES]`` in the configuration."""
        found = re.search(r"(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?\s+(\S+)\s+"
                          r"\w{3},?\s+(\w{3})\s+(\d{1,2}),?\s+(\d{4})", text)
        if not found:
            return Known()
        h, mi, s = (int(x) for x in found.groups()[:3])
        zone, month = found.group(4), found.group(5).lower()
        day, year = int(found.group(6)), int(found.group(7))
        offset = _zone_offset(zone, config)
        refs = output_refs("clock", text, r"\d{1,2}:\d{2}:\d{2}")
        if offset is None or month not in _MONTHS:
            return Known(lines=refs, note=english("ios.clock_zone", zone=zone))
        stamp = f"{year:04d}-{_MONTHS[month]:02d}-{day:02d}T{h:02d}:{mi:02d}:{s:02d}{offset}"
        moment = datetime.fromisoformat(stamp)
        skew = None if agent_time is None else round(moment.timestamp() - agent_time, 1)
        return Known(value=Clock(device_time=moment.isoformat(), skew_s=skew), source="output", lines=refs)


_LEVEL = {"priv": "authPriv", "auth": "authNoPriv", "noauth": "noAuthNoPriv"}


def _access(rest: str | None) -> str | None:
    found = re.search(r"\baccess (?:ipv6 \S+ )?(\S+)", rest or "")
    return found.group(1) if found else None


def _zone_offset(zone: str, config: str | None) -> str | None:
    if zone.upper() in ("UTC", "GMT"):
        return "+00:00"
    for line in (config or "").splitlines():
        found = re.match(r"^clock timezone (\S+) (-?\d+)(?: (\d+))?", line.strip())
        if found and found.group(1).upper() == zone.upper():
            hours, minutes = int(found.group(2)), int(found.group(3) or 0)
            sign = "-" if hours < 0 else "+"
            return f"{sign}{abs(hours):02d}:{minutes:02d}"
    return None


def _ios_used(model: bool, lists: dict[str, list[str]], servers: list[str], vtys: list[Terminal],
              tree: ConfigTree) -> tuple[str, bool | None]:
    if not model:
        return english("ios.aaa.no_model"), False
    if not servers:
        return english("ios.aaa.no_server"), False
    if not vtys:
        return english("vendor.no_vty_path"), None
    applied: dict[str, str] = {}
    for section in tree.top(r"^line vty"):
        named = tree.under(section.node, r"^login authentication (\S+)")
        applied[section.node.text] = (named[-1].group(1) or "default") if named else "default"
    bad: list[Msg] = []
    for line, name in applied.items():
        methods = lists.get(name)
        if not methods or not methods[0].startswith("group"):
            shown = " ".join(methods) if methods else Msg("ios.aaa.list_undefined")
            bad.append(Msg("ios.aaa.line_list", {"line": line, "name": name, "methods": shown}))
    if bad:
        return joined(bad).render("en"), False
    return english("ios.aaa.used", lists=sorted(set(applied.values()))), True

