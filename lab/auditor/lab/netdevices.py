"""Emulated campus switches for the demo school: fakenos over real SSH, snmpsim over real UDP.

Four vendor families answer the commands the auditor runs, in each vendor's own output format:

==============  =================  ===========  ============================================
device          address            netmiko      posture
==============  =================  ===========  ============================================
core-sw         10.200.30.11       huawei       hardened (VRP, S5735)
access-h3c      10.200.30.12       hp_comware   weak (telnet, http, simple passwords, public)
access-cisco    10.200.30.13       cisco_ios    mixed (ssh v2 but http on, plain enable ...)
access-ruijie   10.200.30.14       ruijie_os    hardened (RGOS, custom fakenos platform)
==============  =================  ===========  ============================================

``prepare`` writes everything a run needs under ``<state_dir>/netdevices``: one stable RSA host key
per device (fakenos would otherwise present the same bundled key for every host), the command
outputs with hostname/address filled in, and snmpsim data selected per agent address.
``daemon_specs`` returns the processes to start inside the device namespace: one fakenos process
serving every device (one ``FakeNOS`` object per device, because a single inventory cannot bind the
same port on several addresses), one ``snmpsim-command-responder`` per device (see ``_write_snmp_data``),
and a TCP listener on port 23 for devices whose configuration enables telnet.

Run ``python -m auditor.lab.netdevices serve STATE_DIR`` to serve the prepared devices (this is
what ``daemon_specs`` starts). Importing this module has no side effects.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import paramiko

from auditor.lab import base
from auditor.vendors import families

DEVICE_USERNAME = "auditor"
# Lab-only credentials of the emulated devices (never real ones), like the lab SNMP community.
DEVICE_PASSWORD = "campus-demo-ssh"  # noqa: S105 - demo lab credential
ENABLE_SECRET = "campus-demo-enable"  # noqa: S105 - demo lab credential
SNMP_COMMUNITY = "campus-demo-ro"
NETDEV_ROUTER_ADDR = "10.200.30.1"
NETDEV_PREFIXLEN = 24
SSH_PORT = 22
SNMP_PORT = 161
TELNET_PORT = 23

VENDOR_PLATFORMS: dict[str, str] = {
    "huawei": "huawei",
    "h3c": "hp_comware",
    "cisco": "cisco_ios",
    "ruijie": "ruijie_os",
}

# The five commands every device answers, per vendor, in the order the auditor runs them.
# The commands each emulated switch answers from stored outputs: the audit's own commands (the
# vendor module's), the interface table last; the clock is answered live.
STORED_OUTPUTS = ("config", "version", "ntp", "ssh", "interfaces")
VENDOR_COMMANDS: dict[str, tuple[str, ...]] = {
    name: tuple(fam.commands[kind] for kind in STORED_OUTPUTS) for name, fam in families().items()}

_DATA_DIR = Path(__file__).resolve().parent / "data" / "netdevices"
_HOST_KEY_BITS = 2048


class NetdevError(RuntimeError):
    """Preparing or serving the emulated devices failed; the message is one line."""


@dataclass(frozen=True)
class EmulatedDevice:
    """One emulated switch: who it is, where it answers and which data it serves."""

    id: str
    vendor: str
    platform: str
    address: str
    hardened: bool
    profile: str
    telnet: bool = False
    snmp_communities: tuple[str, ...] = (SNMP_COMMUNITY,)
    # "errors": every command the audit sends gets the CLI's unknown-command reply (a device whose
    # software lacks them, or a view that hides them); logging in and paging still work
    answers: str = "normal"

    @property
    def commands(self) -> tuple[str, ...]:
        return VENDOR_COMMANDS[self.vendor]


DEMO_DEVICES: tuple[EmulatedDevice, ...] = (
    EmulatedDevice("core-sw", "huawei", "huawei", "10.200.30.11", True, "huawei-core"),
    EmulatedDevice(
        "access-h3c", "h3c", "hp_comware", "10.200.30.12", False, "h3c-weak",
        telnet=True, snmp_communities=(SNMP_COMMUNITY, "public", "private"),
    ),
    EmulatedDevice("access-cisco", "cisco", "cisco_ios", "10.200.30.13", False, "cisco-mixed"),
    EmulatedDevice("access-ruijie", "ruijie", "ruijie_os", "10.200.30.14", True, "ruijie-hardened"),
)

# Cabling between the demo devices: (device, port, device, port); LLDP rows are derived from it.
DEMO_LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("core-sw", "GigabitEthernet0/0/1", "access-h3c", "GigabitEthernet1/0/10"),
    ("core-sw", "GigabitEthernet0/0/2", "access-cisco", "GigabitEthernet0/10"),
    ("core-sw", "GigabitEthernet0/0/3", "access-ruijie", "GigabitEthernet 0/10"),
)


# ------------------------------------------------------------------ devices


def make_devices(
    n: int,
    start: str = "10.200.31.1",
    vendor_cycle: Sequence[str] = ("huawei", "h3c", "cisco", "ruijie"),
) -> tuple[EmulatedDevice, ...]:
    """Return ``n`` devices on consecutive addresses from ``start``, cycling through vendors.

    Each copies the demo device of its vendor (same configuration and posture) under its own id
    and address; the clones have no LLDP neighbours.
    """
    if n < 1:
        raise NetdevError(f"make_devices needs at least one device, got {n}")
    templates = {dev.vendor: dev for dev in DEMO_DEVICES}
    unknown = [v for v in vendor_cycle if v not in templates]
    if unknown or not vendor_cycle:
        raise NetdevError(f"unknown vendor(s) {unknown or list(vendor_cycle)}: use {sorted(templates)}")
    first = ipaddress.IPv4Address(start)
    devices = []
    for i in range(n):
        tpl = templates[vendor_cycle[i % len(vendor_cycle)]]
        devices.append(
            EmulatedDevice(
                f"bench-{tpl.vendor}-{i + 1:03d}", tpl.vendor, tpl.platform, str(first + i),
                tpl.hardened, tpl.profile, tpl.telnet, tpl.snmp_communities,
            )
        )
    return tuple(devices)


def _root(state_dir: Path) -> Path:
    return state_dir / "netdevices"


def _load_profile(name: str) -> dict[str, Any]:
    path = _DATA_DIR / name / "profile.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NetdevError(f"unreadable device profile {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise NetdevError(f"device profile {path} is not a JSON object")
    return data


def _mac(profile: dict[str, Any], address: str) -> str:
    """Vendor OUI plus the low three bytes of the address: 12 lowercase hex digits."""
    low = ipaddress.IPv4Address(address).packed[1:]
    return str(profile["oui"]) + low.hex()


def _check_devices(devices: Sequence[EmulatedDevice]) -> None:
    seen_ids: set[str] = set()
    seen_addrs: set[str] = set()
    for dev in devices:
        if dev.vendor not in VENDOR_PLATFORMS:
            known = sorted(VENDOR_PLATFORMS)
            raise NetdevError(f"device {dev.id}: unknown vendor {dev.vendor!r} (use one of {known})")
        if dev.id in seen_ids or dev.address in seen_addrs:
            raise NetdevError(f"device {dev.id} ({dev.address}): duplicate id or address in the device list")
        if not (_DATA_DIR / dev.profile).is_dir():
            raise NetdevError(f"device {dev.id}: no data for profile {dev.profile!r} in {_DATA_DIR}")
        seen_ids.add(dev.id)
        seen_addrs.add(dev.address)


# ---------------------------------------------------------------- host keys


def _key_path(state_dir: Path, dev: EmulatedDevice) -> Path:
    return _root(state_dir) / "keys" / f"{dev.id}.rsa"


def _ensure_host_key(path: Path) -> None:
    """Create an RSA host key at ``path`` unless one is there already (keys stay stable)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    paramiko.RSAKey.generate(_HOST_KEY_BITS).write_private_key_file(str(tmp))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _public_key(state_dir: Path, dev: EmulatedDevice) -> tuple[str, str]:
    """Return (key type, base64 blob) of the device's host key."""
    path = _key_path(state_dir, dev)
    try:
        key = paramiko.RSAKey.from_private_key_file(str(path))
    except (OSError, paramiko.SSHException) as exc:
        raise NetdevError(f"no usable host key for {dev.id} at {path} (run prepare first): {exc}") from exc
    return key.get_name(), key.get_base64()


def host_key_fingerprints(state_dir: Path, devices: Sequence[EmulatedDevice]) -> dict[str, str]:
    """Return {device id: OpenSSH-style SHA256 fingerprint} of each device's host key."""
    result = {}
    for dev in devices:
        _, blob = _public_key(state_dir, dev)
        digest = hashlib.sha256(base64.b64decode(blob)).digest()
        result[dev.id] = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    return result


def known_hosts(state_dir: Path, devices: Sequence[EmulatedDevice]) -> str:
    """Return known_hosts text (``address type key`` per line) for the devices' host keys."""
    lines = []
    for dev in devices:
        kind, blob = _public_key(state_dir, dev)
        lines.append(f"{dev.address} {kind} {blob}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------- generated outputs


def _iface_brief_huawei(ifaces: list[dict[str, Any]]) -> str:
    head = [
        "PHY: Physical", "*down: administratively down", "(l): loopback", "(s): spoofing",
        "(E): E-Trunk down", "(b): BFD down", "(e): ETHOAM down", "(dl): DLDP down",
        "(d): Dampening Suppressed", "InUti/OutUti: input utility/output utility",
        f"{'Interface':<28}{'PHY':<6}{'Protocol':<9}{'InUti':>5}{'OutUti':>7}{'inErrors':>11}{'outErrors':>11}",
    ]
    rows = []
    for ifc in sorted(ifaces, key=lambda i: str(i["name"])):
        phy = "up" if ifc["oper"] == "up" else ("*down" if ifc["admin"] == "down" else "down")
        proto = "up(s)" if ifc["type"] == "null" else ("up" if ifc["oper"] == "up" else "down")
        util_in, util_out = ("--", "--") if ifc["type"] == "vlanif" else (
            ("0.02%", "0.01%") if ifc["oper"] == "up" and ifc["type"] == "ethernet" else ("0%", "0%"))
        rows.append(f"{ifc['name']:<28}{phy:<6}{proto:<9}{util_in:>5}{util_out:>7}{0:>11}{0:>11}")
    return "\n".join(head + rows) + "\n"


def _iface_brief_h3c(ifaces: list[dict[str, Any]], address: str) -> str:
    out = [
        "Brief information on interfaces in route mode:",
        "Link: ADM - administratively down; Stby - standby",
        "Protocol: (s) - spoofing",
        f"{'Interface':<21}{'Link':<5}{'Protocol':<9}{'Primary IP':<16}Description",
    ]
    for ifc in ifaces:
        if ifc["type"] == "ethernet":
            continue
        proto = "UP(s)" if ifc["type"] == "null" else "UP"
        ip = address if ifc["type"] == "vlanif" else "--"
        out.append(f"{ifc['short']:<21}{'UP':<5}{proto:<9}{ip:<16}{ifc['alias']}".rstrip())
    out += [
        "",
        "Brief information on interfaces in bridge mode:",
        "Link: ADM - administratively down; Stby - standby",
        "Speed: (a) - auto",
        "Duplex: (a)/A - auto; H - half; F - full",
        "Type: A - access; T - trunk; H - hybrid",
        f"{'Interface':<21}{'Link':<5}{'Speed':<8}{'Duplex':<7}{'Type':<5}{'PVID':<5}Description",
    ]
    for ifc in ifaces:
        if ifc["type"] != "ethernet":
            continue
        link = "ADM" if ifc["admin"] == "down" else ("UP" if ifc["oper"] == "up" else "DOWN")
        speed, duplex = ("1G(a)", "F(a)") if link == "UP" else ("auto", "A")
        kind, pvid = ("T", "1") if ifc["vlan"] == "trunk" else ("A", str(ifc["vlan"]))
        out.append(f"{ifc['short']:<21}{link:<5}{speed:<8}{duplex:<7}{kind:<5}{pvid:<5}{ifc['alias']}".rstrip())
    return "\n".join(out) + "\n"


def _iface_status_cisco(ifaces: list[dict[str, Any]]) -> str:
    out = [f"{'Port':<10}{'Name':<19}{'Status':<13}{'Vlan':<11}{'Duplex':>6} {'Speed':>6} Type"]
    for ifc in ifaces:
        if ifc["type"] != "ethernet":
            continue
        if ifc["admin"] == "down":
            status = "disabled"
        else:
            status = "connected" if ifc["oper"] == "up" else "notconnect"
        duplex, speed = ("a-full", "a-1000") if status == "connected" else ("auto", "auto")
        if ifc["media"] == "fiber":
            kind = "1000BaseSX SFP" if status == "connected" else "Not Present"
        else:
            kind = "10/100/1000BaseTX"
        name = str(ifc["alias"])[:18]
        out.append(f"{ifc['short']:<10}{name:<19}{status:<13}{ifc['vlan']:<11}{duplex:>6} {speed:>6} {kind}")
    return "\n".join(out) + "\n"


def _iface_status_ruijie(ifaces: list[dict[str, Any]]) -> str:
    out = [
        f"{'Interface':<41}{'Status':<10}{'Vlan':<7}{'Duplex':<9}{'Speed':<10}Type",
        f"{'-' * 40} {'-' * 8}  {'-' * 6} {'-' * 7}  {'-' * 9} {'-' * 6}",
    ]
    for ifc in ifaces:
        if ifc["type"] != "ethernet":
            continue
        up = ifc["oper"] == "up"
        duplex, speed = ("Full", f"{ifc['speed_mbps']}M") if up else ("Unknown", "Unknown")
        vlan = "1" if ifc["vlan"] == "trunk" else str(ifc["vlan"])
        status = "up" if up else "down"
        out.append(f"{ifc['name']:<41}{status:<10}{vlan:<7}{duplex:<9}{speed:<10}{ifc['media']}")
    return "\n".join(out) + "\n"


def _interface_output(dev: EmulatedDevice, profile: dict[str, Any]) -> str:
    ifaces: list[dict[str, Any]] = profile["interfaces"]
    if dev.vendor == "huawei":
        return _iface_brief_huawei(ifaces)
    if dev.vendor == "h3c":
        return _iface_brief_h3c(ifaces, dev.address)
    if dev.vendor == "cisco":
        return _iface_status_cisco(ifaces)
    return _iface_status_ruijie(ifaces)


def _command_file(command: str) -> str:
    return command.replace(" ", "_") + ".txt"


def _render_outputs(state_dir: Path, dev: EmulatedDevice, profile: dict[str, Any]) -> dict[str, str]:
    mac = _mac(profile, dev.address)
    _, pubkey = _public_key(state_dir, dev)
    subst = {
        "@@HOSTNAME@@": dev.id,
        "@@ADDRESS@@": dev.address,
        "@@MACHEX@@": mac.upper(),
        "@@MACCOLON@@": ":".join(mac[i : i + 2] for i in range(0, 12, 2)),
        "@@SSHPUBKEY@@": pubkey,
    }
    outputs = {}
    for command in dev.commands[:4]:
        src = _DATA_DIR / dev.profile / _command_file(command)
        try:
            text = src.read_text(encoding="utf-8")
        except OSError as exc:
            raise NetdevError(f"device {dev.id}: missing output for {command!r} ({src}): {exc}") from exc
        for token, value in subst.items():
            text = text.replace(token, value)
        outputs[command] = text
    outputs[dev.commands[4]] = _interface_output(dev, profile)
    return outputs


# -------------------------------------------------------------------- SNMP


def _snmp_text(value: str) -> tuple[str, str]:
    """snmprec tag and value for an OCTET STRING (hex-encoded if not plain printable)."""
    if value.isprintable() and "|" not in value:
        return "4", value
    return "4x", value.encode().hex()


def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(part) for part in oid.split("."))


_Neighbour = tuple[str, "EmulatedDevice", dict[str, Any], str]  # local port, peer, peer profile, peer port
_Records = dict[str, tuple[str, str]]


def _system_records(recs: _Records, dev: EmulatedDevice, profile: dict[str, Any]) -> None:
    sys_g = "1.3.6.1.2.1.1"
    recs[f"{sys_g}.1.0"] = _snmp_text(str(profile["sys_descr"]))
    recs[f"{sys_g}.2.0"] = ("6", str(profile["sys_object_id"]))
    recs[f"{sys_g}.3.0"] = ("67", str(profile["uptime_ticks"]))
    recs[f"{sys_g}.4.0"] = ("4", "campus-noc")
    recs[f"{sys_g}.5.0"] = ("4", dev.id)
    recs[f"{sys_g}.6.0"] = _snmp_text(str(profile["sys_location"]))
    recs[f"{sys_g}.7.0"] = ("2", "6")


def _interface_records(recs: _Records, dev: EmulatedDevice, profile: dict[str, Any]) -> None:
    """ifTable and ifXTable rows, consistent with the interface outputs of the CLI."""
    ifaces: list[dict[str, Any]] = profile["interfaces"]
    mac = _mac(profile, dev.address)
    recs["1.3.6.1.2.1.2.1.0"] = ("2", str(len(ifaces)))
    if_t, ifx_t = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
    if_types = {"ethernet": "6", "vlanif": "136", "null": "1"}
    for ifc in ifaces:
        idx = int(ifc["index"])
        up = ifc["oper"] == "up"
        speed = int(ifc["speed_mbps"])
        traffic = idx * 7919 * 1000 + 123456 if up and ifc["type"] == "ethernet" else 0
        if_name = ifc["short"] if dev.vendor == "cisco" else ifc["name"]
        recs[f"{if_t}.1.{idx}"] = ("2", str(idx))
        recs[f"{if_t}.2.{idx}"] = ("4", str(ifc["name"]))
        recs[f"{if_t}.3.{idx}"] = ("2", if_types[str(ifc["type"])])
        recs[f"{if_t}.4.{idx}"] = ("2", "1500")
        recs[f"{if_t}.5.{idx}"] = ("66", str(min(speed * 1_000_000, 4294967295)))
        recs[f"{if_t}.6.{idx}"] = ("4x", mac if ifc["type"] != "null" else "")
        recs[f"{if_t}.7.{idx}"] = ("2", "1" if ifc["admin"] == "up" else "2")
        recs[f"{if_t}.8.{idx}"] = ("2", "1" if up else "2")
        recs[f"{if_t}.9.{idx}"] = ("67", str(1200 + idx))
        recs[f"{if_t}.10.{idx}"] = ("65", str(traffic % 2**32))
        recs[f"{if_t}.14.{idx}"] = ("65", "0")
        recs[f"{if_t}.16.{idx}"] = ("65", str((traffic * 3) % 2**32))
        recs[f"{if_t}.20.{idx}"] = ("65", "0")
        recs[f"{ifx_t}.1.{idx}"] = ("4", str(if_name))
        recs[f"{ifx_t}.6.{idx}"] = ("70", str(traffic))
        recs[f"{ifx_t}.10.{idx}"] = ("70", str(traffic * 3))
        recs[f"{ifx_t}.15.{idx}"] = ("66", str(speed))
        recs[f"{ifx_t}.18.{idx}"] = ("4", str(ifc["alias"]))


def _lldp_records(
    recs: _Records, dev: EmulatedDevice, profile: dict[str, Any], neighbours: list[_Neighbour]
) -> None:
    """LLDP-MIB local system and port rows, and one remote row per cabled neighbour."""
    lldp = "1.0.8802.1.1.2.1"
    ifaces: list[dict[str, Any]] = profile["interfaces"]
    recs[f"{lldp}.3.1.0"] = ("2", "4")
    recs[f"{lldp}.3.2.0"] = ("4x", _mac(profile, dev.address))
    recs[f"{lldp}.3.3.0"] = ("4", dev.id)
    recs[f"{lldp}.3.4.0"] = _snmp_text(str(profile["sys_descr"]))
    for ifc in ifaces:
        if ifc["type"] != "ethernet":
            continue
        idx = int(ifc["index"])
        port_id = ifc["short"] if dev.vendor == "cisco" else ifc["name"]
        recs[f"{lldp}.3.7.1.2.{idx}"] = ("2", "5")
        recs[f"{lldp}.3.7.1.3.{idx}"] = ("4", str(port_id))
        recs[f"{lldp}.3.7.1.4.{idx}"] = ("4", str(ifc["alias"] or ifc["name"]))
    by_name = {str(i["name"]): i for i in ifaces}
    for local_port, peer, peer_profile, peer_port in neighbours:
        idx = int(by_name[local_port]["index"])
        peer_if = next(i for i in peer_profile["interfaces"] if i["name"] == peer_port)
        row = f"0.{idx}.1"
        rem = f"{lldp}.4.1.1"
        recs[f"{rem}.4.{row}"] = ("2", "4")
        recs[f"{rem}.5.{row}"] = ("4x", _mac(peer_profile, peer.address))
        recs[f"{rem}.6.{row}"] = ("2", "5")
        recs[f"{rem}.7.{row}"] = ("4", str(peer_if["short"] if peer.vendor == "cisco" else peer_port))
        recs[f"{rem}.8.{row}"] = ("4", str(peer_if["alias"] or peer_port))
        recs[f"{rem}.9.{row}"] = ("4", peer.id)
        recs[f"{rem}.10.{row}"] = _snmp_text(str(peer_profile["sys_descr"]))
        recs[f"{rem}.11.{row}"] = ("4x", "28")  # bridge + router supported
        recs[f"{rem}.12.{row}"] = ("4x", "20")  # bridge enabled


def _snmp_records(dev: EmulatedDevice, profile: dict[str, Any], neighbours: list[_Neighbour]) -> str:
    """Build the snmprec text (``OID|TAG|VALUE`` sorted by OID) for one device."""
    recs: _Records = {}
    _system_records(recs, dev, profile)
    _interface_records(recs, dev, profile)
    _lldp_records(recs, dev, profile, neighbours)
    ordered = sorted(recs.items(), key=lambda kv: _oid_key(kv[0]))
    return "\n".join(f"{oid}|{tag}|{value}" for oid, (tag, value) in ordered) + "\n"


def _neighbours(
    devices: Sequence[EmulatedDevice], profiles: dict[str, dict[str, Any]]
) -> dict[str, list[_Neighbour]]:
    by_id = {dev.id: dev for dev in devices}
    result: dict[str, list[_Neighbour]] = {d.id: [] for d in devices}
    for a, a_port, b, b_port in DEMO_LINKS:
        if a in by_id and b in by_id:
            result[a].append((a_port, by_id[b], profiles[by_id[b].profile], b_port))
            result[b].append((b_port, by_id[a], profiles[by_id[a].profile], a_port))
    return result


def _write_snmp_data(
    agent_dir: Path, dev: EmulatedDevice, profile: dict[str, Any], neighbours: list[_Neighbour]
) -> None:
    """One snmpsim data directory per device: ``<community>.snmprec`` for each community it answers.

    Each device gets its own snmpsim process: snmpsim accepts a community on every endpoint of a
    process, and its per-endpoint data selection (by transport domain) is not reached with
    pysnmp 7 (the responder overrides ``handleMgmtOperation``, which pysnmp 7 no longer calls).
    """
    for sub in ("data", "cache", "variation"):
        (agent_dir / sub).mkdir(parents=True, exist_ok=True)
    records = _snmp_records(dev, profile, neighbours)
    for community in dev.snmp_communities:
        (agent_dir / "data" / f"{community}.snmprec").write_text(records, encoding="utf-8")


# ------------------------------------------------------------------ public


def prepare(state_dir: Path, devices: Sequence[EmulatedDevice]) -> None:
    """Write host keys (kept if present), command outputs and SNMP data under state_dir/netdevices."""
    _check_devices(devices)
    root = _root(state_dir)
    root.mkdir(parents=True, exist_ok=True)
    profiles = {dev.profile: _load_profile(dev.profile) for dev in devices}
    neighbours = _neighbours(devices, profiles)
    shutil.rmtree(root / "snmpsim", ignore_errors=True)  # data layout changes with the device list
    for dev in devices:
        _ensure_host_key(_key_path(state_dir, dev))
        out_dir = root / "outputs" / dev.id
        out_dir.mkdir(parents=True, exist_ok=True)
        for command, text in _render_outputs(state_dir, dev, profiles[dev.profile]).items():
            (out_dir / _command_file(command)).write_text(text, encoding="utf-8")
        _write_snmp_data(root / "snmpsim" / dev.id, dev, profiles[dev.profile], neighbours[dev.id])
    body = {"devices": [asdict(dev) for dev in devices]}
    (root / "devices.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")


def _prepared_devices(state_dir: Path) -> tuple[EmulatedDevice, ...]:
    path = _root(state_dir) / "devices.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return tuple(
            EmulatedDevice(**{**d, "snmp_communities": tuple(d["snmp_communities"])}) for d in raw["devices"]
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NetdevError(f"no prepared emulated devices in {path} (call prepare first): {exc}") from exc


def daemon_specs(
    state_dir: Path, ns: str, devices: Sequence[EmulatedDevice]
) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """Return {record name: (argv, env)} of the processes to run inside namespace ``ns``.

    ``devices`` must be the sequence given to ``prepare``. ``ns`` is only used in error messages.
    """
    prepared = _prepared_devices(state_dir)
    if tuple(devices) != prepared:
        raise NetdevError(
            f"devices for namespace {ns} differ from those prepared in {_root(state_dir)}: call prepare again"
        )
    root = _root(state_dir)
    specs: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "netdev-ssh": (
            [sys.executable, "-m", "auditor.lab.netdevices", "serve", str(state_dir)],
            base.package_env(),
        ),
    }
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    for dev in devices:
        sim_dir = root / "snmpsim" / dev.id
        specs[f"netdev-snmpsim-{dev.id}"] = (
            [
                base.snmpsim_path(),
                f"--data-dir={sim_dir / 'data'}",
                f"--cache-dir={sim_dir / 'cache'}",
                f"--variation-modules-dir={sim_dir / 'variation'}",
                f"--agent-udpv4-endpoint={dev.address}:{SNMP_PORT}",
            ],
            env,
        )
    for dev in devices:
        if dev.telnet:
            specs[f"netdev-telnet-{dev.id}"] = (
                [sys.executable, "-m", "auditor.lab", "_tarpit", dev.address, str(TELNET_PORT)],
                base.package_env(),
            )
    return specs


def snmp_get_sysname_request(community: str) -> bytes:
    """Encode an SNMPv2c GetRequest for sysName.0, for readiness probes."""

    def tlv(tag: int, body: bytes) -> bytes:
        assert len(body) < 0x80
        return bytes([tag, len(body)]) + body

    oid = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])
    varbind = tlv(0x30, tlv(0x06, oid) + tlv(0x05, b""))
    pdu = tlv(0x02, b"\x01") + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbind)
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, community.encode()) + tlv(0xA0, pdu))


def ready_probes(devices: Sequence[EmulatedDevice]) -> list[tuple[str, ...]]:
    """What to wait for, in school.py's probe form: ("tcp", addr, port) / ("udp", addr, port, hex)."""
    probes: list[tuple[str, ...]] = []
    request = snmp_get_sysname_request(SNMP_COMMUNITY).hex()
    for dev in devices:
        probes.append(("tcp", dev.address, str(SSH_PORT)))
        probes.append(("udp", dev.address, str(SNMP_PORT), request))
        if dev.telnet:
            probes.append(("tcp", dev.address, str(TELNET_PORT)))
    return probes


# --------------------------------------------------------- the SSH server


@dataclass(frozen=True)
class _Style:
    """How a vendor's CLI looks: prompts, session commands, messages."""

    user_prompt: str
    enable_prompt: str | None
    session: dict[str, str]
    quit: tuple[str, ...]
    unknown: str
    intro: str
    privileged: tuple[str, ...] = ()


_H3C_INTRO = (
    "\n******************************************************************************\n"
    "* Copyright (c) 2004-2021 New H3C Technologies Co., Ltd. All rights reserved.*\n"
    "* Without the owner's prior written consent,                                 *\n"
    "* no decompiling or reverse-engineering shall be allowed.                    *\n"
    "******************************************************************************\n"
)
_STYLES: dict[str, _Style] = {
    "huawei": _Style(
        "<{base_prompt}>", None,
        {"screen-length 0 temporary": "Info: The configuration takes effect on the current user terminal "
         "interface only."},
        ("quit",),
        "                ^\nError: Unrecognized command found at '^' position.",
        "\nInfo: The max number of VTY users is 5, the number of current VTY users online is 1.\n"
        "      The current login time is 2024-03-12 09:41:30+08:00.\n",
    ),
    "h3c": _Style(
        "<{base_prompt}>", None, {"screen-length disable": ""}, ("quit",),
        "                 ^\n % Unrecognized command found at '^' position.", _H3C_INTRO,
    ),
    "cisco": _Style(
        "{base_prompt}>", "{base_prompt}#", {"terminal width 511": "", "terminal length 0": ""}, ("exit",),
        "                 ^\n% Invalid input detected at '^' marker.\n", "\n", ("show running-config",),
    ),
    "ruijie": _Style(
        "{base_prompt}>", "{base_prompt}#", {"terminal width 256": "", "terminal length 0": ""}, ("exit",),
        "% Unknown command.", "\n", ("show running-config",),
    ),
}
_PASSWORD_PROMPT = "Password: "  # noqa: S105 - a prompt, not a password
_ACCESS_DENIED = {"cisco": "% Access denied", "ruijie": "% Password: timeout expired!"}


def _nos_commands(dev: EmulatedDevice, style: _Style, out_dir: Path) -> dict[str, dict[str, Any]]:
    prompts = [style.user_prompt] + ([style.enable_prompt] if style.enable_prompt else [])
    commands: dict[str, dict[str, Any]] = {"_default_": {"output": style.unknown}}
    for command in dev.commands:
        text = (style.unknown.rstrip("\n") if dev.answers == "errors"
                else (out_dir / _command_file(command)).read_text(encoding="utf-8").rstrip("\n"))
        allowed = [style.enable_prompt] if command in style.privileged and style.enable_prompt else prompts
        commands[command] = {"output": text, "prompt": allowed, "help": f"execute {command}"}
    for command, text in style.session.items():
        commands[command] = {"output": text or None, "prompt": prompts, "help": "terminal setting"}
    for command in style.quit:
        commands[command] = {"output": True, "help": "leave the session"}
    if style.enable_prompt:
        commands["enable"] = {
            "output": None, "prompt": style.user_prompt, "new_prompt": _PASSWORD_PROMPT, "help": "enable",
        }
        commands["disable"] = {
            "output": None, "prompt": style.enable_prompt, "new_prompt": style.user_prompt, "help": "disable",
        }
    return commands


def clock_output(vendor: str, now: datetime | None = None) -> str:
    """What ``display clock`` / ``show clock`` prints now, in the vendor's format (China time)."""
    now = (now or datetime.now(UTC)).astimezone(timezone(timedelta(hours=8)))
    if vendor == "huawei":
        return f"{now:%Y-%m-%d %H:%M:%S}+08:00\n{now:%A}\nTime Zone(Beijing) : UTC+08:00"
    if vendor == "h3c":
        return (f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} Beijing {now:%a %m/%d/%Y}\n"
                "Time Zone : Beijing add 08:00:00")
    utc = now.astimezone(UTC)
    if vendor == "ruijie":
        return f"{utc:%H:%M:%S} UTC {utc:%a}, {utc:%b} {utc.day}, {utc.year}"
    return f"*{utc:%H:%M:%S}.{utc.microsecond // 1000:03d} UTC {utc:%a %b} {utc.day} {utc.year}"


CLOCK_COMMANDS = {name: fam.commands["clock"] for name, fam in families().items()}


def _shell_class(style: _Style, vendor: str, clock: bool = True) -> type[Any]:
    """A fakenos CMDShell that asks for the enable secret like the real device does, and tells the
    time as the device's clock would (the clock is read live, so it cannot be a stored output)."""
    from fakenos.plugins.shell.cmd_shell import CMDShell  # noqa: PLC0415 - lab extra, only when serving

    class VendorShell(CMDShell):  # type: ignore[misc]
        prompt: str
        base_prompt: str

        def default(self, line: str) -> bool:
            if clock and line.strip() == CLOCK_COMMANDS[vendor]:
                self.writeline(clock_output(vendor))
                return False
            if self.prompt == _PASSWORD_PROMPT and style.enable_prompt:
                if line.strip() == ENABLE_SECRET:
                    self.prompt = style.enable_prompt.format(base_prompt=self.base_prompt)
                else:
                    self.writeline(_ACCESS_DENIED.get(vendor, "% Access denied"))
                    self.prompt = style.user_prompt.format(base_prompt=self.base_prompt)
                return False
            return bool(super().default(line.strip()))

    return VendorShell


def _login_banner(dev: EmulatedDevice) -> str:
    if dev.hardened:
        return "Authorized access only. All sessions are logged."
    return ""


def _fakenos_for(state_dir: Path, dev: EmulatedDevice) -> Any:
    from fakenos import FakeNOS  # noqa: PLC0415 - lab extra, only when serving
    from fakenos.core.nos import Nos  # noqa: PLC0415

    style = _STYLES[dev.vendor]
    out_dir = _root(state_dir) / "outputs" / dev.id
    nos_name = f"campus-{dev.id}"
    nos = Nos(name=nos_name, commands=_nos_commands(dev, style, out_dir), initial_prompt=style.user_prompt)
    inventory = {
        "hosts": {
            dev.id: {
                "username": DEVICE_USERNAME,
                "password": DEVICE_PASSWORD,
                "port": SSH_PORT,
                "server": {
                    "plugin": "ParamikoSshServer",
                    "configuration": {
                        "address": dev.address,
                        "ssh_key_file": str(_key_path(state_dir, dev)),
                        "ssh_banner": _login_banner(dev),
                        "timeout": 1,
                    },
                },
                "shell": {"plugin": "CMDShell", "configuration": {"intro": style.intro}},
                "nos": {"plugin": nos_name},
            }
        }
    }
    net = FakeNOS(inventory=inventory, plugins=[nos])
    net.shell_plugins["CMDShell"] = _shell_class(style, dev.vendor, clock=dev.answers != "errors")
    return net


def serve(state_dir: Path, stop: threading.Event | None = None) -> None:
    """Serve every prepared device over SSH until ``stop`` is set or SIGTERM/SIGINT arrives."""
    devices = _prepared_devices(state_dir)
    stop = stop or threading.Event()
    nets = []
    try:
        for dev in devices:
            net = _fakenos_for(state_dir, dev)
            try:
                net.start()
            except OSError as exc:
                raise NetdevError(
                    f"cannot listen on {dev.address}:{SSH_PORT} for {dev.id}: {exc} "
                    "(is the address configured in this namespace?)"
                ) from exc
            nets.append(net)
            print(f"{dev.id} ({dev.vendor}) listening on {dev.address}:{SSH_PORT}", flush=True)
        stop.wait()
    finally:
        for net in nets:
            net.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """``serve STATE_DIR``: run the SSH side of the prepared devices (used by daemon_specs)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "serve":
        print("usage: python -m auditor.lab.netdevices serve STATE_DIR", file=sys.stderr)
        return 2
    stop = threading.Event()
    handler: Callable[[int, Any], None] = lambda _sig, _frame: stop.set()  # noqa: E731
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    try:
        serve(Path(args[1]), stop)
    except NetdevError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
