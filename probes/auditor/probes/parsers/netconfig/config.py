"""Security view of a running configuration (Huawei VRP, H3C Comware, Cisco IOS, Ruijie RGOS).

Huawei and H3C share the ``#``-separated, ``undo``-negated style ("vrp" family); Cisco and
Ruijie the ``!``-separated, ``no``-negated style ("ios" family). Ruijie's configuration syntax
(``enable service ssh-server``, ``no enable service telnet-server``, ``enable service web-server``,
``aaa local authentication attempts``, ``logging server``) is from the vendor's RGOS 11.x
configuration guides, as no emulator or recorded device was at hand.

Where a setting is absent from the configuration, the vendor's documented default is used only
where it is stable across releases (console/VTY idle timeout 10 minutes on all four; telnet off
on VRP V200R010+/Comware 7, on for RGOS; Cisco VTY ``transport input`` all); such values carry
``"source": "default"``. Everything else absent is ``None`` (unknown).
"""

from __future__ import annotations

import re
from typing import Any

from auditor.probes.parsers.netconfig.mask import MASK
from auditor.probes.parsers.netconfig.tree import Config, Hit, lines_of
from auditor.vendors.interfaces import canonical, is_ethernet_port

View = dict[str, Any]
VRP = ("huawei", "h3c")

DEFAULT_IDLE_S = 600
WELL_KNOWN_COMMUNITIES = frozenset({
    "public", "private", "community", "snmp", "snmpd", "admin", "manager", "cisco", "huawei", "h3c",
    "ruijie", "test", "guest", "read", "write", "secret", "password", "monitor", "default", "netman",
    "123456", "12345678", "school", "network", "system", "all private", "ilmi"})


def ev(value: Any, hits: list[Hit], **extra: Any) -> View:
    return {"value": value, "lines": lines_of(hits), **extra}


def prepare(vendor: str, text: str) -> str:
    """Comware indents global commands by one space inside ``#`` blocks; undo that so the
    tree parser does not nest them under the previous section."""
    if vendor not in VRP:
        return text
    out: list[str] = []
    block: list[str] = []
    for line in [*text.splitlines(), "#"]:
        if line.strip() == "#":
            body = [b for b in block if b.strip()]
            if body and all(b.startswith(" ") for b in body):
                block = [b[1:] if b.startswith(" ") else b for b in block]
            out.extend(block)
            out.append(line)
            block = []
        else:
            block.append(line)
    return "\n".join(out[:-1]) + "\n"


# ---- management services ---------------------------------------------------------------------

def telnet(cfg: Config, terminals: list[View]) -> View:
    """Telnet server enabled? From the server switch, else from what the VTY lines accept."""
    vendor = cfg.vendor
    pattern = {"huawei": r"^(undo )?telnet (?:ipv4 )?server enable$",
               "h3c": r"^(undo )?telnet server enable$",
               "ruijie": r"^(no )?enable service telnet-server$"}.get(vendor)
    switch = cfg.top(pattern) if pattern else []
    if switch:
        return ev(switch[-1].group(1) is None, switch, source="config")
    vtys = [t for t in terminals if t["kind"] == "vty"]
    telnet_vtys = [t for t in vtys if t["transport"] is None or {"telnet", "all"} & set(t["transport"])]
    lines = [line for t in vtys for line in t["transport_lines"]]
    if vendor == "cisco" and vtys:
        explicit = all(t["transport"] is not None for t in telnet_vtys)
        return {"value": bool(telnet_vtys), "lines": lines, "source": "config" if explicit else "default"}
    if vtys and not telnet_vtys:
        return {"value": False, "lines": lines, "source": "config"}
    return {"value": vendor == "ruijie", "lines": lines, "source": "default"}


def ssh(cfg: Config) -> View:
    """SSH server from the configuration: ``value`` (on?) and ``v1_allowed``."""
    pattern = {"huawei": r"^(undo )?stelnet (?:ipv4 )?server enable$", "h3c": r"^(undo )?ssh server enable$",
               "ruijie": r"^(no )?enable service ssh-server$", "cisco": r"^(no )?ip ssh server$"}[cfg.vendor]
    switch = cfg.top(pattern)
    if cfg.vendor in VRP:
        compat = cfg.top(r"^(undo )?ssh server compatible-ssh1x(?: enable)?$")
        v1 = (compat[-1].group(1) is None) if compat else None
    else:
        compat = cfg.top(r"^ip ssh version (\d)")
        v1 = (compat[-1].group(1) != "2") if compat else None
    return {"value": (switch[-1].group(1) is None) if switch else None,
            "v1_allowed": v1, "lines": lines_of(switch + compat)}


def http(cfg: Config) -> tuple[View, View]:
    """(HTTP server on?, HTTPS server on?) from the configuration; None when not stated."""
    vendor = cfg.vendor
    if vendor == "ruijie":
        hits = cfg.top(r"^(no )?enable service web-server(?: (http|https|all))?$")
        plain = [h for h in hits if h.group(2) in (None, "http", "all")]
        secure = [h for h in hits if h.group(2) in (None, "https", "all")]
    else:
        plain = cfg.top({"huawei": r"^(undo )?http server enable$", "h3c": r"^(undo )?ip http enable$",
                         "cisco": r"^(no )?ip http server$"}[vendor])
        secure = cfg.top({"huawei": r"^(undo )?http secure-server enable$",
                          "h3c": r"^(undo )?ip https enable$",
                          "cisco": r"^(no )?ip http secure-server$"}[vendor])
    return (ev((plain[-1].group(1) is None) if plain else None, plain),
            ev((secure[-1].group(1) is None) if secure else None, secure))


# ---- accounts ----------------------------------------------------------------------------------

_VRP_FORM = {"simple": "plaintext", "cipher": "reversible", "irreversible-cipher": "hashed", "hash": "hashed"}


def _ios_form(keyword: str, kind: str | None) -> str:
    if keyword == "secret":
        return "plaintext" if kind == "0" else "hashed"
    return "reversible" if kind == "7" else "plaintext"


def users(cfg: Config) -> View:
    """Local accounts: name, privilege, password form, service types, lines."""
    found = {"huawei": _huawei_users, "h3c": _h3c_users}.get(cfg.vendor, _ios_users)(cfg)
    return {"value": found, "lines": [line for u in found for line in u["lines"]]}


def _huawei_users(cfg: Config) -> list[View]:
    accounts: dict[str, View] = {}
    for hit in cfg.nested(r"^aaa$", r"^local-user (\S+) (.+)$"):
        name, rest = hit.group(1) or "", hit.group(2) or ""
        if name == "wrong-password":
            continue
        user = accounts.setdefault(name, {"name": name, "privilege": None, "password_form": None,
                                          "service_types": None, "lines": []})
        user["lines"].extend(hit.lines[1:])
        if m := re.match(r"password (simple|cipher|irreversible-cipher) ", rest):
            user["password_form"] = _VRP_FORM[m.group(1)]
        elif m := re.match(r"privilege level (\d+)", rest):
            user["privilege"] = int(m.group(1))
        elif m := re.match(r"service-type (.+)", rest):
            user["service_types"] = m.group(1).split()
    return list(accounts.values())


def _h3c_users(cfg: Config) -> list[View]:
    out = []
    for section in cfg.top(r"^local-user (\S+)(?: class (\S+))?"):
        user: View = {"name": section.group(1), "privilege": None, "password_form": None,
                      "service_types": None, "lines": [section.lines[0]]}
        for hit in cfg.under(section.node, r"^(password (simple|cipher|hash) |service-type (.+)|"
                                           r"authorization-attribute user-role (\S+)|level (\d+))"):
            user["lines"].extend(hit.lines[1:])
            if hit.group(2):
                user["password_form"] = _VRP_FORM[hit.group(2) or ""]
            elif hit.group(3):
                user["service_types"] = (hit.group(3) or "").split()
            elif role := hit.group(4):
                level = 15 if role in ("network-admin", "level-15") else (
                    int(role[6:]) if role.startswith("level-") else 1)
                user["privilege"] = max(user["privilege"] or 0, level)
            elif hit.group(5):
                user["privilege"] = int(hit.group(5) or 0)
        out.append(user)
    return out


def _ios_users(cfg: Config) -> list[View]:
    out = []
    for hit in cfg.top(r"^username (\S+)(?: privilege (\d+))?.*?\b(password|secret)(?: (\d))? \S+"):
        out.append({"name": hit.group(1), "privilege": int(hit.group(2) or 1),
                    "password_form": _ios_form(hit.group(3) or "", hit.group(4)),
                    "service_types": None, "lines": hit.lines})
    return out


def other_secrets(cfg: Config) -> View:
    """Passwords that are not accounts: enable/super passwords and console/VTY line passwords."""
    found: list[View] = []
    if cfg.vendor in VRP:
        for hit in cfg.top(r"^super password (?:level \d+ |role \S+ )?"
                           r"(simple|cipher|irreversible-cipher|hash) "):
            found.append({"what": "super password", "form": _VRP_FORM[hit.group(1) or ""],
                          "lines": hit.lines})
        for hit in cfg.nested(r"^(?:user-interface|line) (?!class)", r"^set authentication password "
                                                                        r"(simple|cipher|hash) "):
            found.append({"what": hit.lines[0], "form": _VRP_FORM[hit.group(1) or ""], "lines": hit.lines})
    else:
        for hit in cfg.top(r"^enable (password|secret)(?: level \d+)?(?: (\d))? \S+"):
            found.append({"what": f"enable {hit.group(1)}",
                          "form": _ios_form(hit.group(1) or "", hit.group(2)),
                          "lines": hit.lines})
        for hit in cfg.nested(r"^line ", r"^password(?: (\d))? \S+"):
            found.append({"what": hit.lines[0], "form": _ios_form("password", hit.group(1)),
                          "lines": hit.lines})
    return {"value": found, "lines": [line for s in found for line in s["lines"]]}


def lockout(cfg: Config) -> View:
    """Login-failure lockout: ``value`` (configured?), ``attempts``, ``lock_minutes``."""
    if cfg.vendor == "huawei":
        hits = cfg.nested(r"^aaa$", r"^(?:local-aaa-user|local-user) wrong-password retry-interval \d+ "
                                    r"retry-time (\d+) block-time (\d+)")
        hits += cfg.nested(r"^aaa$", r"^local-user \S+ state block fail-times (\d+) interval (\d+)")
    elif cfg.vendor == "h3c":
        hits = cfg.top(r"^password-control login-attempt (\d+) exceed (?:lock-time (\d+)|lock)$")
    else:
        hits = cfg.top(r"^login block-for (\d+) attempts (\d+) within \d+")
        hits += cfg.top(r"^aaa local authentication attempts (?:max-fail )?(\d+)")
        hits += cfg.top(r"^login block-failed-times (\d+) period \d+ block-time (\d+)")
    if not hits:
        return {"value": False, "attempts": None, "lock_minutes": None, "lines": []}
    attempts, minutes = _lock_numbers(hits[0])
    extra = cfg.top(r"^aaa local authentication lockout-time (\d+)") if cfg.vendor == "ruijie" else []
    if extra:
        minutes = int(extra[0].group(1) or 0) * 60
    return {"value": True, "attempts": attempts, "lock_minutes": minutes, "lines": lines_of(hits + extra)}


def _lock_numbers(hit: Hit) -> tuple[int | None, float | None]:
    text = hit.match.group(0)
    if text.startswith("login block-for"):
        return int(hit.group(2) or 0), int(hit.group(1) or 0) / 60
    if text.startswith("login block-failed-times"):
        return int(hit.group(1) or 0), int(hit.group(2) or 0) / 60
    numbers = [int(g) for g in hit.match.groups() if g]
    return (numbers[0] if numbers else None), (float(numbers[1]) if len(numbers) > 1 else None)


# ---- console / VTY lines -----------------------------------------------------------------------

def terminals(cfg: Config) -> View:
    """Console/AUX/VTY lines: idle timeout (seconds, 0 = never), inbound ACL, accepted protocols."""
    out = []
    for section in cfg.top(r"^(?:user-interface|line) (?!class)(con|console|aux|vty)\S* ?(.*)$"):
        kind = {"con": "console", "console": "console"}.get(section.group(1) or "", section.group(1))
        out.append(_terminal(cfg, section, kind or ""))
    return {"value": out, "lines": [line for t in out for line in t["lines"]]}


def _terminal(cfg: Config, section: Hit, kind: str) -> View:
    timeout = cfg.under(section.node, r"^(?:idle-timeout|exec-timeout) (\d+)(?: (\d+))?$|^no exec-timeout$")
    acl = cfg.under(section.node,
                    r"^(?:acl (?:ipv6 )?(?:basic |advanced )?(\S+) inbound|access-class (\S+) in)")
    transport = cfg.under(section.node, r"^(?:protocol inbound|transport input) (.+)$")
    if timeout:
        seconds = int(timeout[-1].group(1) or 0) * 60 + int(timeout[-1].group(2) or 0)
    protocols = (transport[-1].group(1) or "").split() if transport else None
    return {"name": section.lines[0].strip(), "kind": kind,
            "idle_timeout_s": seconds if timeout else DEFAULT_IDLE_S,
            "timeout_source": "config" if timeout else "default",
            "acl": (acl[-1].group(1) or acl[-1].group(2)) if acl else None,
            "transport": protocols, "transport_lines": lines_of(transport),
            "lines": lines_of([section]) + [line for h in timeout + acl + transport for line in h.lines[1:]]}


# ---- AAA, syslog, NTP --------------------------------------------------------------------------

def aaa(cfg: Config) -> View:
    """Remote authentication (RADIUS / HWTACACS / TACACS+): ``value`` True when a server is
    configured and login authentication uses it."""
    if cfg.vendor == "huawei":
        servers = cfg.nested(r"^(?:hwtacacs|radius)-server template ", r"^(?:hwtacacs|radius)-server "
                                                                       r"authentication (\S+)")
        use = [h for s in cfg.nested(r"^aaa$", r"^authentication-scheme ")
               for h in cfg.under(s.node, r"^authentication-mode .*\b(hwtacacs|radius)\b")]
    elif cfg.vendor == "h3c":
        servers = cfg.nested(r"^(?:hwtacacs|radius) scheme ", r"^primary authentication (\S+)")
        use = cfg.nested(r"^domain ", r"^authentication (?:login|default) .*\b(hwtacacs|radius)-scheme")
    else:
        servers = cfg.top(r"^(?:tacacs|radius)-server host (\S+)")
        servers += cfg.nested(r"^(?:tacacs|radius) server ", r"^address ipv4 (\S+)")
        use = cfg.top(r"^aaa authentication login \S+ .*\bgroup (\S+)")
    protocols = sorted({_protocol(h) for h in servers})
    return {"value": bool(servers and use), "protocols": protocols,
            "servers": sorted({h.group(1) or "" for h in servers}), "lines": lines_of(servers + use)}


def _protocol(hit: Hit) -> str:
    text = " ".join(hit.lines).lower()
    return "radius" if "radius" in text else "tacacs"


def syslog(cfg: Config) -> View:
    if cfg.vendor in VRP:
        hits = cfg.top(r"^info-center loghost (?:vpn-instance \S+ )?(?!source\b)(?:ipv6 )?(\S+)")
    else:
        hits = cfg.top(r"^logging (?:host |server )?(?:vrf \S+ |oob )?"
                       r"(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)")
    return ev(sorted({h.group(1) or "" for h in hits}), hits)


def ntp_servers(cfg: Config) -> View:
    if cfg.vendor in VRP:
        hits = cfg.top(r"^ntp-service unicast-server (?:ipv6 )?(\S+)")
    else:
        hits = cfg.top(r"^s?ntp server (?:vrf \S+ |oob )?(?:ip )?(\S+)")
    return ev([h.group(1) for h in hits], hits)


# ---- SNMP --------------------------------------------------------------------------------------

def _community(name: str | None, access: str, acl: str | None, hit: Hit, hostname: str | None) -> View:
    if name is None:
        guessable: bool | None = None
        reason = "stored encrypted: the name cannot be judged from the configuration"
    else:
        lowered = name.lower()
        weak = lowered in WELL_KNOWN_COMMUNITIES or len(name) < 8 or lowered == (hostname or "").lower()
        guessable = weak
        reason = ("a well-known default" if lowered in WELL_KNOWN_COMMUNITIES else
                  "shorter than 8 characters" if len(name) < 8 else
                  "equal to the device name" if weak else "")
    shown = name if name is not None and name.lower() in WELL_KNOWN_COMMUNITIES else MASK
    return {"name": shown, "guessable": guessable, "reason": reason, "access": access, "acl": acl,
            "lines": hit.lines}


def snmp(cfg: Config, hostname: str | None) -> View:
    """SNMP agent: ``enabled``, ``versions``, ``communities``, ``v3`` groups/users with level,
    ``acl`` (agent-wide)."""
    return (_vrp_snmp if cfg.vendor in VRP else _ios_snmp)(cfg, hostname)


_LEVEL = {"privacy": "authPriv", "authentication": "authNoPriv", "noauthentication": "noAuthNoPriv",
          "priv": "authPriv", "auth": "authNoPriv", "noauth": "noAuthNoPriv"}


def _vrp_snmp(cfg: Config, hostname: str | None) -> View:
    agent = cfg.top(r"^(undo )?snmp-agent$")
    enabled = bool(agent) and agent[-1].group(1) is None
    version_hits = cfg.top(r"^snmp-agent sys-info version (.+)$")
    versions = (version_hits[-1].group(1) or "").split() if version_hits else ["v3"]
    if "all" in versions:
        versions = ["v1", "v2c", "v3"]
    communities = [
        _community(None if h.group(2) == "cipher" else h.group(3), "rw" if h.group(1) == "write" else "ro",
                   _acl_in(h.group(4)), h, hostname)
        for h in cfg.top(r"^snmp-agent community (read|write) (?:(cipher|simple) )?(\S+)(.*)$")]
    groups = cfg.top(r"^snmp-agent group v3 (\S+)(?: (privacy|authentication|noauthentication))?(.*)$")
    v3 = [{"name": g.group(1), "level": _LEVEL[g.group(2) or "noauthentication"],
           "acl": _acl_in(g.group(3)), "lines": g.lines} for g in groups]
    acl = cfg.top(r"^snmp-agent acl (\S+)")
    user_hits = cfg.top(r"^snmp-agent usm-user v3 (\S+)")
    return {"enabled": enabled, "versions": versions if enabled else [], "versions_source":
            "config" if version_hits else "default", "communities": communities, "v3": v3,
            "v3_users": sorted({u.group(1) or "" for u in user_hits}),
            "acl": acl[-1].group(1) if acl else None,
            "lines": lines_of(agent + version_hits + acl)
            + [line for c in communities + v3 for line in c["lines"]]}


def _acl_in(rest: str | None) -> str | None:
    found = re.search(r"\bacl (?:ipv6 )?(?:name )?(\S+)", rest or "")
    return found.group(1) if found else None


def _ios_snmp(cfg: Config, hostname: str | None) -> View:
    communities = []
    for hit in cfg.top(r"^snmp-server community (?:(\d) )?(\S+)(?: view \S+)?(?: (ro|rw))?(?: (\S+))?", ):
        name = None if hit.group(1) == "7" else hit.group(2)
        access = "rw" if (hit.group(3) or "").lower() == "rw" else "ro"
        communities.append(_community(name, access, hit.group(4), hit, hostname))
    groups = cfg.top(r"^snmp-server group (\S+) v3 (priv|auth|noauth)(.*)$")
    v3 = [{"name": g.group(1), "level": _LEVEL[(g.group(2) or "noauth").lower()],
           "acl": _access(g.group(3)), "lines": g.lines} for g in groups]
    user_hits = cfg.top(r"^snmp-server user (\S+) \S+ v3")
    agent = cfg.top(r"^(no )?enable service snmp-agent$")
    enabled = bool(communities or groups or user_hits) or bool(agent and agent[-1].group(1) is None)
    versions = (["v1", "v2c"] if communities else []) + (["v3"] if groups or user_hits else [])
    return {"enabled": enabled, "versions": versions, "versions_source": "config", "communities": communities,
            "v3": v3, "v3_users": sorted({u.group(1) or "" for u in user_hits}), "acl": None,
            "lines": lines_of(agent) + [line for c in communities + v3 for line in c["lines"]]}


def _access(rest: str | None) -> str | None:
    found = re.search(r"\baccess (?:ipv6 \S+ )?(\S+)", rest or "")
    return found.group(1) if found else None


# ---- interfaces --------------------------------------------------------------------------------

def interfaces(cfg: Config) -> list[View]:
    """Interfaces from the configuration: name, key, shutdown, description, mode."""
    out = []
    for section in cfg.top(r"^interface (.+?)\s*$"):
        name = section.group(1) or ""
        body = cfg.under(section.node, r"^(shutdown|description (.*)|port link-type (\S+)|"
                                       r"port link-mode route|"
                                       r"switchport mode (\S+)|switchport access vlan \S+|no switchport)$")
        texts = [h.match.group(0) for h in body]
        mode = _mode(cfg.vendor, name, body)
        descr = next((h.group(2) for h in body if h.group(2)), None)
        out.append({"name": name, "key": canonical(name), "shutdown": "shutdown" in texts,
                    "description": descr, "mode": mode, "lines": lines_of([section]) +
                    [line for h in body for line in h.lines[1:]]})
    return out


def _mode(vendor: str, name: str, body: list[Hit]) -> str | None:
    for hit in body:
        explicit = hit.group(3) or hit.group(4)
        if explicit:
            return explicit.lower()
    texts = {h.match.group(0) for h in body}
    if "port link-mode route" in texts or "no switchport" in texts:
        return "routed"
    if any(t.startswith("switchport access vlan") for t in texts):
        return "access"
    if vendor in ("ruijie", "h3c") and is_ethernet_port(name):
        # RGOS and Comware: a bridged Ethernet port is an access port unless configured otherwise
        # (Comware's default `port link-type` is access). Huawei's default differs by model.
        return "access"
    return None
