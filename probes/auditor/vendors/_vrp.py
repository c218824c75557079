"""What Huawei VRP and H3C Comware share: ``#``-separated configurations, ``undo`` negation,
``user-interface``/``line`` sections, ``local-user`` accounts, ``snmp-agent``, ``info-center``.

Where the two differ (the telnet and SSH switches, accounts, lockout, AAA domains, HTTP), the family
module (:mod:`auditor.vendors.huawei`, :mod:`auditor.vendors.h3c`) overrides the method.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from auditor.facts import (
    Clock,
    Community,
    Interface,
    Known,
    LineRef,
    LocalUser,
    LoggingState,
    Neighbour,
    Snmp,
    SshServer,
    StoredSecret,
    Terminal,
    V3Group,
)
from auditor.messages import Msg, define, english
from auditor.vendors.config import ConfigTree, Hit
from auditor.vendors.contract import VendorFamily, line_ref, note_pair, output_refs
from auditor.vendors.interfaces import canonical, is_ethernet_port
from auditor.vendors.mask import MASK

WELL_KNOWN_COMMUNITIES = frozenset({
    "public", "private", "community", "snmp", "snmpd", "admin", "manager", "cisco", "huawei", "h3c",
    "ruijie", "test", "guest", "read", "write", "secret", "password", "monitor", "default", "netman",
    "123456", "12345678", "school", "network", "system", "all private", "ilmi"})

define({
    "vrp.form.simple": ("以 `simple` 保存（明文）", "stored with `simple` (clear text)"),
    "vrp.form.irreversible": ("以 `irreversible-cipher` 保存", "stored with `irreversible-cipher`"),
    "vrp.form.hash": ("以 `hash` 保存", "stored with `hash`"),
    "vrp.form.cipher": ("以 `cipher` 保存（可逆加密）", "stored with `cipher` (reversible encryption)"),
    "vrp.form.hashed": ("保存为 `{head}…`（不可逆哈希）", "stored as `{head}…` (an irreversible hash)"),
    "vrp.form.disagree": ("配置关键字为 `{keyword}`，但保存形式为 `{head}…{tail}`，"
                          "华为文档说明该形式可被设备解密；以哪一方为准没有文档记载",
                          "written with `{keyword}` but stored as `{head}…{tail}`, a form Huawei documents "
                          "as one the device can decrypt; which holds is not documented"),
    "vrp.form.reversible": ("保存为 `{head}…{tail}`（可逆加密）",
                            "stored as `{head}…{tail}` (reversible encryption)"),
    "vrp.form.comware_cipher": ("保存为 `$c$…`（Comware cipher：可逆）",
                                "stored as `$c$…` (Comware cipher: reversible)"),
    "vrp.form.des": ("保存为 24 个字符的 `…!!` 字符串（DES：可逆）",
                     "stored as a 24-character `…!!` string (DES: reversible)"),
    "vrp.form.clear": ("未使用加密关键字保存（明文）", "stored without an encryption keyword (clear text)"),
    "vrp.super_password": ("super 口令", "super password"),
    "vrp.telnet_by_vty": ("所有 VTY 线路只接受 {protocols}（Telnet 服务本身的默认值未知：{note}）",
                          "every VTY line accepts {protocols} only (the telnet server's own default is "
                          "unknown: {note})"),
    "vrp.no_sysname": ("配置中没有 sysname 行", "no sysname line"),
    "vrp.info_center_off": ("信息中心已关闭：不发送任何日志",
                            "the information centre is switched off: nothing is sent"),
    "vrp.snmp_off": ("没有 snmp-agent 命令：SNMP 代理未开启（厂商默认：关闭）",
                     "no snmp-agent command: the agent is off (vendor default: disabled)"),
    "vrp.clock_no_zone": ("时钟输出未给出时区偏移：无法与审计代理的时间比较",
                          "the clock output gives no time zone offset: the time cannot be compared"),
    "vrp.community.encrypted": ("加密保存：无法从配置判断团体名强弱",
                                "stored encrypted: the name cannot be judged from the configuration"),
    "vrp.community.well_known": ("众所周知的默认团体名", "a well-known default"),
    "vrp.community.short": ("少于 8 个字符", "shorter than 8 characters"),
    "vrp.community.hostname": ("与设备名相同", "equal to the device name"),
}, recoverable=True)

_REVERSIBLE = re.compile(r"^(%\^%#|%@%@|@%@%|%#%#|%\$%\$)")
_HASHED = re.compile(r"^(\$1[a-e]\$|\$h\$\d+\$)")
_KEYWORD_FORMS = {  # the keyword written before a secret the stored text did not explain
    "simple": ("plaintext", english("vrp.form.simple")),
    "irreversible-cipher": ("hashed", english("vrp.form.irreversible")),
    "hash": ("hashed", english("vrp.form.hash")),
    "cipher": ("reversible", english("vrp.form.cipher"))}


def stored_form(keyword: str | None, token: str) -> tuple[str, str]:
    """How a VRP/Comware secret is stored, judged from the stored text first, the keyword second.

    ``%^%#…%^%#``, ``%@%@…``, ``%#%#…``, ``%$%$…`` and the 24-character ``…!!`` form are reversible
    (the device decrypts them); ``$1a$``…``$1e$`` (VRP irreversible-cipher) and ``$h$N$`` (Comware
    ``hash``) are salted hashes; ``$c$N$`` is Comware's reversible ``cipher``.
    """
    if _HASHED.match(token):
        return "hashed", english("vrp.form.hashed", head=token[:4])
    if _REVERSIBLE.match(token):
        if (keyword or "").lower() in ("irreversible-cipher", "hash"):
            # the keyword says one-way, the stored text a form the device can decrypt: the two
            # disagree, and no document found says which holds for this release
            return "unknown", english("vrp.form.disagree", keyword=keyword, head=token[:4], tail=token[-4:])
        return "reversible", english("vrp.form.reversible", head=token[:4], tail=token[-4:])
    if re.match(r"^\$c\$\d+\$", token):
        return "reversible", english("vrp.form.comware_cipher")
    if len(token) == 24 and token.endswith("!!"):
        return "reversible", english("vrp.form.des")
    word = (keyword or "").lower()
    return _KEYWORD_FORMS.get(word, ("plaintext", english("vrp.form.clear")))


class VrpFamily(VendorFamily):
    """The shared half of Huawei VRP and H3C Comware."""

    style = "vrp"
    terminator = "return"
    negation = "undo "
    comment = "#"
    telnet_switch = r"^(undo )?telnet (?:ipv4 )?server enable$"
    ssh_switch = r"^(undo )?stelnet (?:ipv4 )?server enable$"
    http_switch = r"^(undo )?http server enable$"
    https_switch = r"^(undo )?http secure-server enable$"

    # -- the configuration ---------------------------------------------------------------------

    def parse_config(self, tree: ConfigTree, software: str | None) -> dict[str, Known[Any]]:
        hostname = tree.first(r"^sysname (\S+)")
        terminals = self.terminals(tree, software)
        return {
            "hostname": Known(value=hostname.group(1) if hostname else None,
                              source="config" if hostname else "unknown",
                              lines=tree.refs([hostname]) if hostname else (),
                              note="" if hostname else english("vrp.no_sysname")),
            "telnet": self.telnet(tree, terminals, software),
            "ssh": self.ssh(tree, software),
            "http": self.switch(tree, self.http_switch, "http_server", software),
            "https": self.switch(tree, self.https_switch, "https_server", software),
            "users": self.users(tree),
            "secrets": self.secrets(tree),
            "server_keys": self.server_keys(tree),
            "lockout": self.lockout(tree, software),
            "lockout_enabled": self.lockout_enabled(tree, software),
            "terminals": terminals,
            "ssh_acl": self.ssh_acl(tree),
            "aaa": self.aaa(tree, terminals, software),
            "syslog": self.syslog(tree),
            "ntp_servers": self.ntp_servers(tree),
            "snmp": self.snmp(tree, hostname.group(1) if hostname else None, software),
            "interfaces": self.interfaces(tree),
            "password_recovery": self.password_recovery(tree, software),
        }

    def switch(self, tree: ConfigTree, pattern: str, setting: str, software: str | None) -> Known[bool]:
        """An on/off service: the last ``[undo] ... enable`` line, else the documented default."""
        hits = tree.top(pattern)
        if hits:
            return Known(value=hits[-1].group(1) is None, source="config", lines=tree.refs(hits[-1:]))
        return self.known_default(setting, software)

    def telnet(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]],
               software: str | None) -> Known[bool]:
        """The telnet server switch; when its default is unknown, telnet is still off for management
        if every VTY line is written to accept SSH only."""
        server = self.switch(tree, self.telnet_switch, "telnet_server", software)
        vtys = [t for t in terminals.value or () if t.kind == "vty"]
        if server.value is None and vtys and all(
                t.transport_source == "config" and t.transport and not {"telnet", "all"} & set(t.transport)
                for t in vtys):
            accepted = "/".join(sorted({p for t in vtys for p in t.transport or ()}))
            return Known(value=False, source="config", lines=tuple(r for t in vtys for r in t.lines),
                         note=english("vrp.telnet_by_vty", protocols=accepted, note=server.note))
        return server

    def ssh(self, tree: ConfigTree, software: str | None) -> Known[SshServer]:
        switch = self.switch(tree, self.ssh_switch, "ssh_server", software)
        compat = tree.top(r"^(undo )?ssh server compatible-ssh1x(?: enable)?$")
        v1: bool | None
        if compat:
            v1, v1_source, note = compat[-1].group(1) is None, "config", ""
        else:
            found, note = self.default("ssh_v1", software)
            v1, v1_source = (found.value, "default") if found else (None, "unknown")
        server = SshServer(enabled=switch.value, v1_allowed=v1, v1_source=v1_source)
        return Known(value=server, source=switch.source, note=note_pair(switch.note, note),
                     lines=switch.lines + tree.refs(compat[-1:]))

    def users(self, tree: ConfigTree) -> Known[tuple[LocalUser, ...]]:
        raise NotImplementedError

    def secrets(self, tree: ConfigTree) -> Known[tuple[StoredSecret, ...]]:
        """Passwords that are not accounts: super passwords and console/VTY line passwords."""
        found: list[StoredSecret] = []
        for hit in tree.top(r"^super password (?:level \d+ |role \S+ )?"
                            r"(simple|cipher|irreversible-cipher|hash) (\S+)"):
            form, why = stored_form(hit.group(1), hit.group(2) or "")
            found.append(StoredSecret(what=english("vrp.super_password"), form=form, form_reason=why,
                                      lines=tree.refs([hit])))
        for hit in tree.nested(r"^(?:user-interface|line) (?!class)", r"^set authentication password "
                               r"(?:(simple|cipher|hash|irreversible-cipher) )?(\S+)"):
            form, why = stored_form(hit.group(1), hit.group(2) or "")
            section = hit.node.parent.text if hit.node.parent else Msg("vendor.a_line")
            found.append(StoredSecret(what=english("vendor.what.password", section=section), form=form,
                                      form_reason=why,
                                      lines=tree.refs([hit])))
        return Known(value=tuple(found), source="config",
                     lines=tuple(ref for s in found for ref in s.lines))

    def server_keys(self, tree: ConfigTree) -> Known[tuple[StoredSecret, ...]]:
        """RADIUS/HWTACACS shared keys: ``simple`` is clear text."""
        found: list[StoredSecret] = []
        for hit in [*tree.nested(r"^(?:hwtacacs|radius)(?:-server template| scheme) ",
                                 r"^(?:hwtacacs-server |radius-server )?(?:shared-key|key (?:authentication|"
                                 r"accounting|authorization)) (?:(simple|cipher) )?(\S+)"),
                    *tree.top(r"^(?:hwtacacs|radius)-server shared-key (?:(simple|cipher) )?(\S+)"),
                    # Comware 7: the key on the server line itself
                    *tree.nested(r"^(?:hwtacacs|radius) scheme ", r"^(?:primary|secondary) (?:authentication|"
                                 r"authorization|accounting) .*?\bkey (simple|cipher) (\S+)")]:
            form, why = stored_form(hit.group(1) or "cipher", hit.group(2) or "")
            if form == "hashed":
                form = "reversible"  # a shared key the device must send cannot be a one-way hash
            section = hit.node.parent.text if hit.node.parent else "AAA"
            words = hit.node.text.split()
            purpose = (words[1] if words[0] == "key"
                       else " ".join(words[:2]) if words[0] in ("primary", "secondary") else "")
            what = english("vendor.what.key", section=f"{section} {purpose}" if purpose else section)
            found.append(StoredSecret(what=what, form=form, form_reason=why,
                                      lines=tree.refs([hit])))
        return Known(value=tuple(found), source="config",
                     lines=tuple(ref for s in found for ref in s.lines))

    def lockout(self, tree: ConfigTree, software: str | None) -> Known[Any]:
        raise NotImplementedError

    def lockout_enabled(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        raise NotImplementedError

    def terminals(self, tree: ConfigTree, software: str | None) -> Known[tuple[Terminal, ...]]:
        """Console/AUX/VTY lines: idle timeout, inbound ACL, protocols, how they authenticate."""
        out = [self.terminal(tree, hit, software)
               for hit in tree.top(r"^(?:user-interface|line) (?!class)(con|console|aux|vty)\S* ?(.*)$")]
        return Known(value=tuple(out), source="config", lines=tuple(r for t in out for r in t.lines))

    def terminal(self, tree: ConfigTree, section: Hit, software: str | None) -> Terminal:
        kind = {"con": "console", "console": "console"}.get(section.group(1) or "", section.group(1) or "vty")
        timeout = tree.under(section.node, r"^idle-timeout (\d+)(?: (\d+))?$")
        acl = tree.under(section.node, r"^acl (?:ipv6 )?(?:basic |advanced )?(\S+) inbound")
        transport = tree.under(section.node, r"^protocol inbound (.+)$")
        mode = tree.under(section.node, r"^authentication-mode (\S+)")
        password = tree.under(section.node, r"^set authentication password ")
        hits = [section, *timeout, *acl, *transport, *mode, *password]
        if timeout:
            seconds: int | None = int(timeout[-1].group(1) or 0) * 60 + int(timeout[-1].group(2) or 0)
            t_source = "config"
        else:
            found, _note = self.default("idle_timeout_s", software)
            seconds, t_source = (found.value, "default") if found else (None, "unknown")
        if transport:
            protocols: tuple[str, ...] | None = tuple((transport[-1].group(1) or "").split())
            p_source = "config"
        else:
            found, _note = self.default(f"{kind}_protocols", software)
            protocols, p_source = (tuple(found.value), "default") if found else (None, "unknown")
        login, l_source = self._login_mode(mode, kind, software)
        return Terminal(name=section.node.text, kind=kind, idle_timeout_s=seconds,
                        timeout_source=t_source, acl=acl[-1].group(1) if acl else None,
                        transport=protocols, transport_source=p_source, login=login,
                        login_source=l_source, has_password=bool(password), lines=tree.refs(hits))

    def _login_mode(self, mode: list[Hit], kind: str, software: str | None) -> tuple[str | None, str]:
        if mode:
            word = (mode[-1].group(1) or "").lower()
            modes = {"none": "none", "password": "password", "aaa": "aaa", "scheme": "aaa"}
            return modes.get(word, word), "config"
        found, _note = self.default(f"{kind}_login", software)
        return (found.value, "default") if found else (None, "unknown")

    def ssh_acl(self, tree: ConfigTree) -> Known[str]:
        hits = tree.top(r"^ssh server acl (?:ipv4 )?(\S+)")
        return Known(value=hits[-1].group(1) if hits else None, source="config", lines=tree.refs(hits[-1:]))

    def aaa(self, tree: ConfigTree, terminals: Known[tuple[Terminal, ...]],
            software: str | None) -> Known[Any]:
        raise NotImplementedError

    def syslog(self, tree: ConfigTree) -> Known[tuple[str, ...]]:
        hits = tree.top(r"^info-center loghost (?:vpn-instance \S+ )?(?!source\b)(?:ipv6 )?(\S+)")
        off = tree.top(r"^undo info-center enable$")
        if off:
            return Known(value=(), source="config", lines=tree.refs(off), note=english("vrp.info_center_off"))
        return Known(value=tuple(sorted({h.group(1) or "" for h in hits})), source="config",
                     lines=tree.refs(hits))

    def ntp_servers(self, tree: ConfigTree) -> Known[tuple[str, ...]]:
        hits = tree.top(r"^ntp-service unicast-server (?:ipv6 )?(\S+)")
        return Known(value=tuple(h.group(1) or "" for h in hits), source="config", lines=tree.refs(hits))

    def snmp(self, tree: ConfigTree, hostname: str | None, software: str | None) -> Known[Snmp]:
        """The SNMP agent is on once any ``snmp-agent`` command is configured (and not undone)."""
        lines = [h for h in tree.top(r"^(undo )?snmp-agent\b")]
        last_switch = [h for h in lines if re.match(r"^(undo )?snmp-agent$", h.node.text, re.I)]
        enabled = bool(lines) and not (last_switch and last_switch[-1].group(1))
        version_hits = tree.top(r"^snmp-agent sys-info version (.+)$")
        if version_hits:
            versions = tuple((version_hits[-1].group(1) or "").split())
            v_source = "config"
        else:
            found, _note = self.default("snmp_versions", software)
            versions, v_source = (tuple(found.value), "default") if found else ((), "unknown")
        if "all" in versions:
            versions = ("v1", "v2c", "v3")
        communities = [self._community(h, hostname, tree) for h in tree.top(
            r"^snmp-agent community (read|write) (?:(cipher|simple) )?(\S+)(.*)$")]
        groups = tree.top(r"^snmp-agent group v3 (\S+)(?: (privacy|authentication|noauthentication))?(.*)$")
        v3 = [V3Group(name=g.group(1) or "", level=_LEVEL[g.group(2) or "noauthentication"],
                      acl=_acl_in(g.group(3)), lines=tree.refs([g])) for g in groups]
        acl = tree.top(r"^snmp-agent acl (\S+)")
        users = tree.top(r"^snmp-agent usm-user v3 (\S+)")
        value = Snmp(enabled=enabled, versions=versions if enabled else (), versions_source=v_source,
                     communities=tuple(communities), v3=tuple(v3),
                     v3_users=tuple(sorted({u.group(1) or "" for u in users})),
                     acl=acl[-1].group(1) if acl else None)
        note = "" if lines else english("vrp.snmp_off")
        return Known(value=value, source="config", note=note,
                     lines=tree.refs([*last_switch, *version_hits, *acl, *tree.top(r"^snmp-agent community"),
                                      *groups]))

    def _community(self, hit: Hit, hostname: str | None, tree: ConfigTree) -> Community:
        cipher = hit.group(2) == "cipher" or bool(_REVERSIBLE.match(hit.group(3) or ""))
        return community(None if cipher else hit.group(3), "rw" if hit.group(1) == "write" else "ro",
                         _acl_in(hit.group(4)), tree.refs([hit]), hostname)

    def interfaces(self, tree: ConfigTree) -> Known[tuple[Interface, ...]]:
        out = []
        for section in tree.top(r"^interface (.+?)\s*$"):
            name = section.group(1) or ""
            body = tree.under(section.node,
                              r"^(shutdown|description (.*)|port link-type (\S+)|port link-mode route)$")
            texts = [h.node.text for h in body]
            mode = next(((h.group(3) or "").lower() for h in body if h.group(3)), None)
            if mode is None and "port link-mode route" in texts:
                mode = "routed"
            if mode is None and self.name == "h3c" and is_ethernet_port(name):
                mode = "access"  # Comware: `port link-type` is access by default
            out.append(Interface(name=name, key=canonical(name), shutdown="shutdown" in texts,
                                 description=next((h.group(2) for h in body if h.group(2)), None),
                                 mode=mode if mode in ("access", "trunk", "hybrid", "routed") else None,
                                 lines=tree.refs([section, *body])))
        return Known(value=tuple(out), source="config")

    def password_recovery(self, tree: ConfigTree, software: str | None) -> Known[bool]:
        return self.known_default("password_recovery", software)

    # -- outputs -------------------------------------------------------------------------------

    def parse_ssh_status(self, text: str) -> Known[SshServer]:
        server = re.findall(r"^\s*Stelnet (?:IPv4 )?server\s*:\s*(\w+)", text, re.MULTILINE | re.IGNORECASE)
        server += re.findall(r"^\s*SSH server\s*:\s*(\w+)", text, re.MULTILINE | re.IGNORECASE)
        version = re.search(r"^\s*SSH (?:protocol )?version\s*:\s*(\S+)", text, re.MULTILINE | re.IGNORECASE)
        if not server and not version:
            return Known()
        enabled = any(s.lower().startswith("enable") for s in server) if server else None
        ver = version.group(1) if version else None
        return Known(value=SshServer(enabled=enabled, version=ver,
                                     v1_allowed=ver.startswith("1.") if ver else None),
                     source="output",
                     lines=output_refs("ssh", text, r"^\s*(Stelnet (IPv4 )?server|SSH server)\s*:",
                                       r"^\s*SSH (protocol )?version\s*:"))

    def parse_logging(self, text: str) -> Known[LoggingState]:
        state = re.search(r"Information Center\s*:\s*(enabled|disabled)", text, re.IGNORECASE)
        hosts = re.findall(r"(?:Log host|Loghost)\s*:\s*(\S+)", text, re.IGNORECASE)
        hosts += re.findall(r"^\s*(\d+\.\d+\.\d+\.\d+)\s*(?:,|\s)", text, re.MULTILINE)
        if state is None:
            return Known()
        return Known(value=LoggingState(enabled=state.group(1).lower() == "enabled",
                                        hosts=tuple(dict.fromkeys(hosts))),
                     source="output", lines=output_refs("logging", text, r"Information Center\s*:",
                                                          r"Log ?host"))

    def parse_clock(self, text: str, agent_time: float | None, config: str | None) -> Known[Clock]:
        """``2026-12-06 18:30:12+08:00`` / ``18:30:12 UTC Sun 12/06/2026`` with its time zone."""
        iso = re.search(r"(\d{4})-(\d{2})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?"
                        r"\s*([+-]\d{2}:\d{2})?", text)
        comware = re.search(r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s+(\S+)\s+"
                            r"\w{3}\s+(\d{2})/(\d{2})/(\d{4})", text)
        offset = _offset(text)
        if iso:
            y, mo, d, h, mi, s = (int(x) for x in iso.groups()[:6])
            off = iso.group(7) or offset
        elif comware:
            h, mi, s = (int(x) for x in comware.groups()[:3])
            mo, d, y = (int(x) for x in comware.groups()[4:7])
            off = offset
        else:
            return Known()
        del config  # VRP and Comware print the offset with the time
        if off is None:
            return Known(note=english("vrp.clock_no_zone"),
                         lines=output_refs("clock", text, r"\d{2}:\d{2}:\d{2}"))
        moment = datetime.fromisoformat(f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{off}")
        skew = None if agent_time is None else round(moment.timestamp() - agent_time, 1)
        return Known(value=Clock(device_time=moment.isoformat(), skew_s=skew), source="output",
                     lines=output_refs("clock", text, r"\d{2}:\d{2}:\d{2}", r"Time Zone", limit=3))

    def lldp_rows(self, template: str, text: str) -> Known[tuple[Neighbour, ...]]:
        from auditor.vendors.contract import textfsm_rows  # noqa: PLC0415

        rows = textfsm_rows(template, text)
        if not rows and text.strip():
            return Known()
        out = tuple(Neighbour(local_port=r["local_interface"], remote_name=r.get("neighbor_name") or None,
                              remote_port=r.get("neighbor_interface") or r.get("neighbor_port_id") or None,
                              remote_address=r.get("mgmt_address") or None) for r in rows)
        return Known(value=out, source="output",
                     lines=tuple(line_ref("lldp", text, n.local_port) for n in out))


_LEVEL = {"privacy": "authPriv", "authentication": "authNoPriv", "noauthentication": "noAuthNoPriv",
          "priv": "authPriv", "auth": "authNoPriv", "noauth": "noAuthNoPriv"}


def _acl_in(rest: str | None) -> str | None:
    found = re.search(r"\bacl (?:ipv6 )?(?:name )?(\S+)", rest or "")
    return found.group(1) if found else None


def _offset(text: str) -> str | None:
    """The UTC offset a VRP/Comware clock output states (``Time Zone(China-Standard-Time) :
    UTC+08:00``, ``UTC-05:00``, or ``UTC``)."""
    found = re.search(r"UTC\s*([+-])\s*(\d{1,2}):?(\d{2})", text, re.IGNORECASE)
    if found:
        return f"{found.group(1)}{int(found.group(2)):02d}:{found.group(3)}"
    shift = re.search(r"Time Zone\s*:\s*\S+\s+(add|minus)\s+(\d{1,2}):(\d{2})", text, re.IGNORECASE)
    if shift:
        return f"{'+' if shift.group(1).lower() == 'add' else '-'}{int(shift.group(2)):02d}:{shift.group(3)}"
    if re.search(r"\bUTC\b", text):
        return "+00:00"
    return None


def community(name: str | None, access: str, acl: str | None, lines: tuple[LineRef, ...],
              hostname: str | None) -> Community:
    """A community judged by its name (shown only when it is a well-known default)."""
    if name is None:
        return Community(name=MASK, guessable=None, access=access, acl=acl, lines=lines,
                         reason=english("vrp.community.encrypted"))
    lowered = name.lower()
    weak = lowered in WELL_KNOWN_COMMUNITIES or len(name) < 8 or lowered == (hostname or "").lower()
    reason = (english("vrp.community.well_known") if lowered in WELL_KNOWN_COMMUNITIES else
              english("vrp.community.short") if len(name) < 8 else
              english("vrp.community.hostname") if weak else "")
    shown = name if lowered in WELL_KNOWN_COMMUNITIES else MASK
    return Community(name=shown, guessable=weak, reason=reason, access=access, acl=acl, lines=lines)


def local_user(name: str, hits: list[Hit], tree: ConfigTree, privilege: int | None,
               password: tuple[str | None, str] | None, service_types: tuple[str, ...] | None) -> LocalUser:
    if password is None:
        form, why = "none", english("vendor.no_password")
    else:
        form, why = stored_form(*password)
    return LocalUser(name=name, privilege=privilege, password_form=form, form_reason=why,
                     service_types=service_types, lines=tree.refs(hits))
