"""The demo school's office LAN: one broadcast segment for discovery and rogue DHCP.

Topology (every name is prefixed, so several labs can coexist)::

    <prefix>-lan  (a Linux bridge)
      ├── agent        10.200.40.10   second NIC of the agent namespace (<prefix>-lan0)
      ├── lan-dhcp     10.200.40.2    the school's DHCP server (dnsmasq, .100-.150)
      ├── lan-rogue    10.200.40.66   a rogue DHCP server (dnsmasq, .200-.220, itself as router)
      ├── lan-printer  10.200.40.20   a printer the inventory knows
      └── lan-pc       10.200.40.77   a PC nobody declared

The leaf namespaces only hold their address (the kernel answers ARP); the two DHCP servers
are daemons that school.py's process machinery starts from :func:`daemon_specs`.
``build`` is idempotent; ``remove`` deletes the namespaces (the agent's LAN port goes with
its peer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from auditor.lab import base

LAN_NET = "10.200.40.0/24"
GATEWAY = "10.200.40.1"  # no host holds it: the rogue's offer names itself as router instead
AGENT_ADDR = "10.200.40.10"
DHCP_ADDR = "10.200.40.2"
ROGUE_ADDR = "10.200.40.66"
PRINTER_ADDR = "10.200.40.20"
PC_ADDR = "10.200.40.77"
DHCP_RANGE = ("10.200.40.100", "10.200.40.150")
ROGUE_RANGE = ("10.200.40.200", "10.200.40.220")
# Fixed, locally administered MACs so an inventory can name them and tests can assert them.
MACS = {
    "agent": "02:ca:28:00:00:0a",
    "lan-dhcp": "02:ca:28:00:00:02",
    "lan-rogue": "02:ca:28:00:00:42",
    "lan-printer": "02:ca:28:00:00:14",
    "lan-pc": "02:ca:28:00:00:4d",
}
BRIDGE = "br0"  # inside the <prefix>-lan namespace, so the name cannot collide
LAN_ROLES: tuple[str, ...] = ("lan", "lan-dhcp", "lan-rogue", "lan-printer", "lan-pc")
DHCP_DAEMONS: tuple[str, ...] = ("dhcp-authorised", "dhcp-rogue")
_LEAVES: dict[str, tuple[str, str]] = {  # role -> (bridge-port tag, address)
    "lan-dhcp": ("dhcp", DHCP_ADDR),
    "lan-rogue": ("rogue", ROGUE_ADDR),
    "lan-printer": ("prn", PRINTER_ADDR),
    "lan-pc": ("pc", PC_ADDR),
}
_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LanInfo:
    """Where the LAN's pieces are, as the inventory and tests use them."""

    prefix: str
    segment: str
    agent_ns: str
    agent_interface: str
    agent_address: str
    dhcp_server: str
    rogue_dhcp_server: str
    printer: str
    printer_mac: str
    unknown_pc: str
    unknown_pc_mac: str
    state_dir: Path


def interface_name(prefix: str) -> str:
    """The LAN port's name in every leaf namespace (the agent's is the one that matters)."""
    return f"{prefix}-lan0"


def _port_name(prefix: str, tag: str) -> str:
    return f"{prefix}-b-{tag}"  # bridge side, at most 7 + 3 + 5 = 15 characters


def _namespaces() -> set[str]:
    out = base.run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _link_exists(ns: str, dev: str) -> bool:
    return base.run(["ip", "-n", ns, "link", "show", "dev", dev], check=False).returncode == 0


def _ensure_bridge(lan: str) -> None:
    if not _link_exists(lan, BRIDGE):
        base.run(["ip", "-n", lan, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0"])
    base.run(["ip", "-n", lan, "link", "set", "lo", "up"])
    base.run(["ip", "-n", lan, "link", "set", BRIDGE, "up"])


def _ensure_port(prefix: str, leaf_ns: str, tag: str, cidr: str, mac: str) -> None:
    """A veth from the bridge to ``leaf_ns``, the leaf end addressed ``cidr``."""
    lan, port, dev = base.ns_name(prefix, "lan"), _port_name(prefix, tag), interface_name(prefix)
    if not (_link_exists(lan, port) and _link_exists(leaf_ns, dev)):
        for ns, name in ((lan, port), (leaf_ns, dev)):
            if _link_exists(ns, name):
                base.run(["ip", "-n", ns, "link", "del", "dev", name])
        base.run(["ip", "link", "add", port, "netns", lan, "type", "veth", "peer", "name", dev,
              "netns", leaf_ns])
    base.run(["ip", "-n", lan, "link", "set", port, "master", BRIDGE])
    base.run(["ip", "-n", lan, "link", "set", port, "up"])
    base.run(["ip", "-n", leaf_ns, "link", "set", dev, "address", mac])
    base.run(["ip", "-n", leaf_ns, "addr", "replace", cidr, "dev", dev])
    base.run(["ip", "-n", leaf_ns, "link", "set", dev, "up"])
    base.run(["ip", "-n", leaf_ns, "link", "set", "lo", "up"])


def build(prefix: str, agent_ns: str, state_dir: Path) -> LanInfo:
    """Create (or repair) the LAN and plug ``agent_ns`` into it. Needs root.

    ``agent_ns`` must exist already (school.py creates it). Daemons are not started here:
    run :func:`daemon_specs` with the lab's process machinery, then :func:`wait_ready`.
    """
    existing = _namespaces()
    if agent_ns not in existing:
        raise base.LabError(f"agent namespace {agent_ns} does not exist; create it before the LAN")
    for role in LAN_ROLES:
        if base.ns_name(prefix, role) not in existing:
            base.run(["ip", "netns", "add", base.ns_name(prefix, role)])
    _ensure_bridge(base.ns_name(prefix, "lan"))
    _ensure_port(prefix, agent_ns, "agt", f"{AGENT_ADDR}/24", MACS["agent"])
    for role, (tag, addr) in _LEAVES.items():
        _ensure_port(prefix, base.ns_name(prefix, role), tag, f"{addr}/24", MACS[role])
    state_dir.mkdir(parents=True, exist_ok=True)
    return info(prefix, agent_ns, state_dir)


def info(prefix: str, agent_ns: str, state_dir: Path) -> LanInfo:
    """The LAN's addresses (no side effects)."""
    return LanInfo(prefix=prefix, segment=LAN_NET, agent_ns=agent_ns,
                   agent_interface=interface_name(prefix), agent_address=AGENT_ADDR,
                   dhcp_server=DHCP_ADDR, rogue_dhcp_server=ROGUE_ADDR, printer=PRINTER_ADDR,
                   printer_mac=MACS["lan-printer"], unknown_pc=PC_ADDR, unknown_pc_mac=MACS["lan-pc"],
                   state_dir=state_dir)


def _dnsmasq(prefix: str, state_dir: Path, name: str, addr: str, pool: tuple[str, str],
             router: str) -> list[str]:
    """dnsmasq as a DHCP-only server bound to the LAN port (``--port=0``: no DNS).

    ``--no-ping``: dnsmasq would otherwise ping a fresh address for up to 3 s before offering
    it, so whether an offer falls inside the probe's listening window would depend on timing.
    """
    return [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--no-hosts", "--no-resolv",
        f"--interface={interface_name(prefix)}", "--bind-interfaces", "--log-dhcp",
        "--log-facility=-", "--no-ping", f"--pid-file={state_dir / f'{name}.pid'}",
        f"--dhcp-leasefile={state_dir / f'{name}.leases'}",
        f"--dhcp-range={pool[0]},{pool[1]},255.255.255.0,1h",
        f"--dhcp-option=option:router,{router}", f"--dhcp-option=option:dns-server,{addr}",
    ]


def daemon_specs(prefix: str, state_dir: Path) -> dict[str, tuple[str, list[str], dict[str, str] | None]]:
    """{record name: (namespace, argv, environment or None)} of the LAN's two DHCP servers."""
    return {
        "dhcp-authorised": (base.ns_name(prefix, "lan-dhcp"),
                            _dnsmasq(prefix, state_dir, "dhcp-authorised", DHCP_ADDR, DHCP_RANGE, GATEWAY),
                            None),
        "dhcp-rogue": (base.ns_name(prefix, "lan-rogue"),
                       _dnsmasq(prefix, state_dir, "dhcp-rogue", ROGUE_ADDR, ROGUE_RANGE, ROGUE_ADDR),
                       None),
    }


def _listening_udp67(ns: str) -> bool:
    res = base.run(base.netns_exec(ns, ["cat", "/proc/net/udp"]), check=False)
    return res.returncode == 0 and any(
        line.split()[1].endswith(":0043") for line in res.stdout.splitlines()[1:] if line.split())


def wait_ready(prefix: str, names: tuple[str, ...] = DHCP_DAEMONS) -> None:
    """Wait until each named DHCP server listens on UDP 67 in its namespace."""
    roles = {"dhcp-authorised": "lan-dhcp", "dhcp-rogue": "lan-rogue"}
    for name in names:
        ns = base.ns_name(prefix, roles[name])
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while not _listening_udp67(ns):
            if time.monotonic() > deadline:
                raise base.LabError(f"{name} in {ns} is not listening on UDP 67 after "
                               f"{_READY_TIMEOUT_S:.0f}s (see its log in the lab state directory)")
            time.sleep(0.1)


def remove(prefix: str) -> None:
    """Delete the LAN's namespaces; the agent's LAN port disappears with its peer."""
    existing = _namespaces()
    for role in LAN_ROLES:
        if base.ns_name(prefix, role) in existing:
            base.run(["ip", "netns", "del", base.ns_name(prefix, role)])
