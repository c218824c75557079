"""Network-device configuration parsers: which commands to run, a normalised security view, masking.

Vendors: ``huawei`` (VRP), ``h3c`` (Comware), ``cisco`` (IOS), ``ruijie`` (RGOS). The probe runs
:data:`COMMANDS` and passes the raw outputs, by key, to :func:`parse_device`; a missing key
(the command failed) makes the parts that depend on it unknown (``None``), never guessed.

Shape of :func:`parse_device`'s result (JSON types only; every fact a check relies on carries
``lines``, the configuration/output lines it came from, with secrets masked)::

    {"vendor": str,
     "hostname":  {"value": str|None, "lines"},
     "telnet":    {"value": bool|None, "source": "config"|"default", "lines"},   # telnet server on
     "ssh":       {"value": bool|None, "version": "2.0"|"1.99"|None, "v1_allowed": bool|None, "lines"},
     "http":      {"value": bool|None, "lines"},  "https": {"value": bool|None, "lines"},
     "users":     {"value": [{"name", "privilege": int|None,
                              "password_form": "plaintext"|"reversible"|"hashed"|None,
                              "service_types": [str]|None, "lines"}], "lines"},
     "other_secrets": {"value": [{"what", "form", "lines"}], "lines"},   # enable/super/line passwords
     "lockout":   {"value": bool|None, "attempts": int|None, "lock_minutes": float|None, "lines"},
     "terminals": {"value": [{"name", "kind": "console"|"aux"|"vty", "idle_timeout_s": int (0 = never),
                              "timeout_source", "acl": str|None, "transport": [str]|None, "lines"}], "lines"},
     "ssh_acl":   {"value": str|None, "lines"},                         # SSH server ACL (VRP/Comware)
     "aaa":       {"value": bool|None, "protocols": [...], "servers": [...], "lines"},
     "syslog":    {"value": [host], "lines"},
     "ntp_servers": {"value": [host], "lines"},
     "ntp_sync":  {"value": bool|None, "stratum": int|None, "lines"},      # from the ``ntp`` output
     "snmp":      {"enabled": bool|None, "versions": [...], "versions_source", "acl": str|None,
                   "communities": [{"name": "public"|"<masked>", "guessable": bool|None, "reason",
                                    "access": "ro"|"rw", "acl": str|None, "lines"}],
                   "v3": [{"name", "level": "authPriv"|"authNoPriv"|"noAuthNoPriv", "acl", "lines"}],
                   "v3_users": [str], "lines"},
     "interfaces": {"value": [{"name", "key", "shutdown": bool, "description", "mode":
                               "access"|"trunk"|"hybrid"|"routed"|None,
                               "link": "up"|"down"|"admin-down"|None, "lines"}] | None, "lines"},
     "version":   {"value": str|None, "model", "version", "uptime", "lines"}}

When the ``config`` output is missing, every configuration-derived entry has ``value`` None.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.probes.parsers.netconfig import config as c
from auditor.probes.parsers.netconfig import outputs as o
from auditor.probes.parsers.netconfig.mask import MASK, mask_config
from auditor.probes.parsers.netconfig.tree import Config

__all__ = ["COMMANDS", "MASK", "VENDORS", "mask_config", "parse_device"]

_VRP_COMMANDS = {"config": "display current-configuration", "version": "display version",
                 "ntp": "display ntp-service status", "ssh": "display ssh server status",
                 "interfaces": "display interface brief"}
_IOS_COMMANDS = {"config": "show running-config", "version": "show version", "ntp": "show ntp status",
                 "ssh": "show ip ssh", "interfaces": "show interfaces status"}

COMMANDS: dict[str, dict[str, str]] = {"huawei": dict(_VRP_COMMANDS), "h3c": dict(_VRP_COMMANDS),
                                       "cisco": dict(_IOS_COMMANDS), "ruijie": dict(_IOS_COMMANDS)}
VENDORS = tuple(COMMANDS)

_CONFIG_KEYS = ("hostname", "telnet", "ssh", "http", "https", "users", "other_secrets", "lockout",
                "terminals", "ssh_acl", "aaa", "syslog", "ntp_servers")


def parse_device(vendor: str, outputs: dict[str, str]) -> dict[str, Any]:
    """The normalised security view of one device (shape in the module docstring)."""
    if vendor not in COMMANDS:
        raise ValueError(f"unsupported vendor {vendor!r}: use one of {', '.join(VENDORS)}")
    view: dict[str, Any] = {"vendor": vendor}
    text = outputs.get("config")
    if text is None:
        view.update({key: {"value": None, "lines": []} for key in _CONFIG_KEYS})
        view["snmp"] = {"enabled": None, "versions": None, "communities": None, "v3": None, "v3_users": None,
                        "acl": None, "lines": []}
        config_ifaces: list[dict[str, Any]] | None = None
    else:
        cfg = Config(vendor, c.prepare(vendor, text))
        view.update(_from_config(cfg))
        config_ifaces = c.interfaces(cfg)
        _merge_ssh_output(view["ssh"], o.ssh_status(outputs.get("ssh")))
    if text is None and "ssh" in outputs:
        _merge_ssh_output(view["ssh"], o.ssh_status(outputs["ssh"]))
    view["ntp_sync"] = o.ntp_status(vendor, outputs.get("ntp"))
    view["interfaces"] = _interfaces(config_ifaces, o.link_status(vendor, outputs.get("interfaces")))
    view["version"] = o.version(vendor, outputs.get("version"))
    return view


def _from_config(cfg: Config) -> dict[str, Any]:
    name = cfg.first(r"^(?:sysname|hostname) (\S+)")
    hostname = name.group(1) if name else None
    terminals = c.terminals(cfg)
    http, https = c.http(cfg)
    ssh_acl = cfg.top(r"^ssh server acl (?:ipv4 )?(\S+)") if cfg.vendor in c.VRP else []
    return {
        "hostname": c.ev(hostname, [name] if name else []),
        "telnet": c.telnet(cfg, terminals["value"]), "ssh": c.ssh(cfg), "http": http, "https": https,
        "users": c.users(cfg), "other_secrets": c.other_secrets(cfg), "lockout": c.lockout(cfg),
        "terminals": terminals, "ssh_acl": c.ev(ssh_acl[-1].group(1) if ssh_acl else None, ssh_acl),
        "aaa": c.aaa(cfg), "syslog": c.syslog(cfg), "ntp_servers": c.ntp_servers(cfg),
        "snmp": c.snmp(cfg, hostname),
    }


def _merge_ssh_output(ssh: dict[str, Any], status: dict[str, Any]) -> None:
    """The ``ssh`` output, when present, decides over the configuration (it shows defaults too)."""
    ssh.setdefault("v1_allowed", None)
    ssh["version"] = status["version"]
    if status["value"] is not None:
        ssh["value"] = status["value"]
    if status["version"] is not None:
        ssh["v1_allowed"] = bool(re.match(r"1\.", status["version"]))
    ssh["lines"] = [*ssh["lines"], *status["lines"]]


def _interfaces(config_ifaces: list[dict[str, Any]] | None,
                links: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    if config_ifaces is None and links is None:
        return {"value": None, "lines": []}
    merged: dict[str, dict[str, Any]] = {}
    for iface in config_ifaces or []:
        merged[iface["key"]] = {**iface, "link": None}
    for key, link in (links or {}).items():
        entry = merged.setdefault(key, {"name": link["name"], "key": key, "shutdown": None,
                                        "description": None, "mode": None, "lines": []})
        entry["link"] = link["link"]
        entry["lines"] = [*entry["lines"], link["line"]]
    return {"value": list(merged.values()), "lines": []}


# The masking is part of the public contract: probes mask every output before storing it.
assert MASK == "<masked>"
_ = mask_config
