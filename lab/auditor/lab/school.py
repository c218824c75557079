"""A demo school network built from Linux network namespaces.

Topology (every name is prefixed, so several labs can coexist)::

    agent ── router ── isp        (router<->isp shaped to 1 Gbit/s both ways)
               │ ├──── room101    (100 Mbit/s)
               │ ├──── room102    (100 Mbit/s)
               │ └──── room103    (40 Mbit/s, the deliberately slow room)
               └────── switch     (snmpsim emulating an access switch)

``up`` is idempotent, ``down`` removes everything and stops only the processes
that this module started (their PIDs are recorded in the state directory).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from auditor.lab import backuphost, base, firewall, lan, netdevices
from auditor.lab.base import (
    LAB_NET,
    LEAF_BY_ROLE,
    LEAVES,
    NETNS_ETC,
    SNMP_PORT,
    STATE_ROOT,
    SYSCTL_SCRIPT,
    UPLINK_RATE_MBIT,
    LabError,
    Leaf,
    ProcRecord,
    ensure_namespace,
    existing_namespaces,
    is_ours,
    link_exists,
    load_records,
    locked,
    ns_name,
    package_env,
    python_in,
    require_namespace,
    require_root,
    require_tools,
    run,
    running_in,
    save_records,
    snmp_get_sysname,
    snmpsim_path,
    spawn,
    state_dir_for,
    terminate,
    veth_names,
    wait_ready,
)

DEFAULT_PREFIX = "ca"
stop_pid = base.stop_pid  # part of the school's public API (stop a process the lab started)
SNMP_COMMUNITY = "campus-demo-ro"
# The server namespace: a real web server on 80, and listeners on ports a school server should
# not expose (telnet, MySQL, Redis) for the exposed-services probe to find.
WEB_PORT = 80
RISKY_PORTS: tuple[int, ...] = (23, 3306, 6379)
IPERF3_PORT = 5201
AUTH_DAYS = 90  # how long the demo inventory's authorisation record lasts after `lab up`

_DATA_DIR = Path(__file__).resolve().parent / "data"

@dataclass(frozen=True)
class LabInfo:
    """Addresses and settings of a running lab, as the rest of the project uses them."""

    prefix: str
    agent_ns: str
    isp_iperf: str
    rooms: dict[str, str]
    room_rates_mbit: dict[str, int]
    uplink_rate_mbit: int
    switch_snmp: str
    snmp_community: str
    state_dir: Path
    server: str = "10.200.20.2"
    server_ports: tuple[int, ...] = (WEB_PORT, *RISKY_PORTS)

_ROLES: tuple[str, ...] = ("router", *(leaf.role for leaf in LEAVES))
_IPERF_ROLES: tuple[str, ...] = ("isp", "room101", "room102", "room103")
_SERVER_DAEMONS: tuple[str, ...] = ("web-server", *(f"listener-{p}" for p in RISKY_PORTS))
_DAEMON_NAMES: tuple[str, ...] = (
    *(f"iperf3-{role}" for role in _IPERF_ROLES), "snmpsim", *_SERVER_DAEMONS, "netdev-ssh",
    "dhcp-authorised", "dhcp-rogue", "backup-sshd")


def _lab_info(prefix: str, state_dir: Path) -> LabInfo:
    rooms = ("room101", "room102", "room103")
    return LabInfo(
        prefix=prefix,
        agent_ns=ns_name(prefix, "agent"),
        isp_iperf=LEAF_BY_ROLE["isp"].addr,
        rooms={room: LEAF_BY_ROLE[room].addr for room in rooms},
        room_rates_mbit={room: LEAF_BY_ROLE[room].rate_mbit or 0 for room in rooms},
        uplink_rate_mbit=UPLINK_RATE_MBIT,
        switch_snmp=LEAF_BY_ROLE["switch"].addr,
        snmp_community=SNMP_COMMUNITY,
        state_dir=state_dir,
        server=LEAF_BY_ROLE["server"].addr,
    )



def _ensure_veth(prefix: str, leaf: Leaf) -> None:
    parent, other = ns_name(prefix, leaf.parent), ns_name(prefix, leaf.role)
    rdev, ldev = veth_names(prefix, leaf)
    if link_exists(parent, rdev) and link_exists(other, ldev):
        return
    for ns, dev in ((parent, rdev), (other, ldev)):
        if link_exists(ns, dev):
            run(["ip", "-n", ns, "link", "del", "dev", dev])
    veth = ["type", "veth", "peer", "name", ldev, "netns", other]
    run(["ip", "link", "add", rdev, "netns", parent, *veth])


def _configure_end(ns: str, dev: str, cidrs: Sequence[str], leaf: Leaf) -> None:
    for cidr in cidrs:
        run(["ip", "-n", ns, "addr", "replace", cidr, "dev", dev])
    run(["ip", "-n", ns, "link", "set", dev, "up"])
    if leaf.rate_mbit is not None:
        tbf = ["tbf", "rate", f"{leaf.rate_mbit}mbit", "burst", leaf.burst, "latency", "50ms"]
        run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *tbf])


def _ensure_leaf(prefix: str, leaf: Leaf) -> None:
    parent, other = ns_name(prefix, leaf.parent), ns_name(prefix, leaf.role)
    rdev, ldev = veth_names(prefix, leaf)
    _ensure_veth(prefix, leaf)
    base = f"10.200.{leaf.subnet}"
    _configure_end(parent, rdev, [f"{leaf.router_addr}/{leaf.prefixlen}"], leaf)
    _configure_end(other, ldev, [f"{base}.{host}/{leaf.prefixlen}" for host in (2, *leaf.extra)], leaf)
    run(["ip", "-n", other, "route", "replace", LAB_NET, "via", leaf.router_addr, "dev", ldev])
    if leaf.parent != "router":  # the core reaches it through its parent
        via = LEAF_BY_ROLE[leaf.parent].addr
        run(["ip", "-n", ns_name(prefix, "router"), "route", "replace", leaf.network, "via", via])


def _build_topology(prefix: str) -> None:
    existing = existing_namespaces()
    for role in _ROLES:
        ensure_namespace(ns_name(prefix, role), existing)
    for leaf in LEAVES:
        _ensure_leaf(prefix, leaf)
    for role in ("router", "fw"):
        run(python_in(ns_name(prefix, role), SYSCTL_SCRIPT, "/proc/sys/net/ipv4/ip_forward", "1"))


def _remove_namespaces(prefix: str) -> None:
    lan.remove(prefix)
    existing = existing_namespaces()
    for role in _ROLES:
        ns = ns_name(prefix, role)
        if ns in existing:
            run(["ip", "netns", "del", ns])
        etc = NETNS_ETC / ns
        (etc / "resolv.conf").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            etc.rmdir()
    with contextlib.suppress(OSError):
        NETNS_ETC.rmdir()  # only if no other namespace has configuration there


# -------------------------------------------------------------------- daemons


def _snmpsim_argv(state_dir: Path) -> list[str]:
    data_dir = state_dir / "snmpsim" / "data"
    cache_dir = state_dir / "snmpsim" / "cache"
    variation_dir = state_dir / "snmpsim" / "variation"  # empty: no variation modules
    for path in (data_dir, cache_dir, variation_dir):
        path.mkdir(parents=True, exist_ok=True)
    name = f"{SNMP_COMMUNITY}.snmprec"
    src, dst = _DATA_DIR / name, data_dir / name
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)
    return [
        snmpsim_path(),
        f"--data-dir={data_dir}",
        f"--cache-dir={cache_dir}",
        f"--variation-modules-dir={variation_dir}",
        f"--agent-udpv4-endpoint={LEAF_BY_ROLE['switch'].addr}:{SNMP_PORT}",
    ]


def _daemon_specs(
    prefix: str, state_dir: Path
) -> dict[str, tuple[str, list[str], dict[str, str] | None]]:
    """Return {record name: (namespace, argv, environment or None)} for every lab daemon."""
    specs: dict[str, tuple[str, list[str], dict[str, str] | None]] = {
        f"iperf3-{role}": (
            ns_name(prefix, role),
            [
                "iperf3",
                "-s",
                "-B",
                LEAF_BY_ROLE[role].addr,
                "-p",
                str(IPERF3_PORT),
                "--forceflush",
            ],
            None,
        )
        for role in _IPERF_ROLES
    }
    specs["snmpsim"] = (ns_name(prefix, "switch"), _snmpsim_argv(state_dir),
                        {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"})
    server, addr = ns_name(prefix, "server"), LEAF_BY_ROLE["server"].addr
    www = state_dir / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text("<h1>demo school web server</h1>\n", encoding="utf-8")
    specs["web-server"] = (server, [sys.executable, "-m", "http.server", str(WEB_PORT), "--bind", addr,
                                    "--directory", str(www)], None)
    for port in RISKY_PORTS:
        specs[f"listener-{port}"] = (server, [sys.executable, "-m", "auditor.lab", "_tarpit", addr,
                                              str(port)], package_env())

    specs.update(lan.daemon_specs(prefix, state_dir))

    backup = LEAF_BY_ROLE["backup"].addr
    backuphost.prepare(state_dir, backup)
    for name, (argv, env) in backuphost.daemon_specs(state_dir, backup).items():
        specs[name] = (ns_name(prefix, "backup"), argv, env)
    netdev = ns_name(prefix, "netdev")
    netdevices.prepare(state_dir, netdevices.DEMO_DEVICES)
    for name, (argv, env) in netdevices.daemon_specs(state_dir, netdev, netdevices.DEMO_DEVICES).items():
        specs[name] = (netdev, argv, env)
    return specs


def _ensure_daemons(prefix: str, state_dir: Path) -> dict[str, ProcRecord]:
    """Start every daemon that is not running yet; keep live ones as they are."""
    records = load_records(state_dir)
    for name, (ns, argv, env) in _daemon_specs(prefix, state_dir).items():
        rec = records.get(name)
        if rec is not None and running_in(rec, ns):
            continue
        if rec is not None:
            terminate(rec)  # dead, or alive in a namespace that was deleted
        records[name] = spawn(state_dir, ns, name, argv, env)
        save_records(state_dir, records)
    return records


def _wait_all_ready(prefix: str, records: dict[str, ProcRecord]) -> None:
    agent = ns_name(prefix, "agent")
    for role in _IPERF_ROLES:
        addr = LEAF_BY_ROLE[role].addr
        probe = ("tcp", addr, str(IPERF3_PORT))
        wait_ready(records[f"iperf3-{role}"], f"iperf3 server {addr}", probe, agent)
    switch = LEAF_BY_ROLE["switch"].addr
    request = snmp_get_sysname(SNMP_COMMUNITY).hex()
    snmp_probe = ("udp", switch, str(SNMP_PORT), request)
    wait_ready(records["snmpsim"], f"snmpsim on {switch}", snmp_probe, agent)
    server = LEAF_BY_ROLE["server"].addr
    for name, port in zip(_SERVER_DAEMONS, (WEB_PORT, *RISKY_PORTS), strict=True):
        wait_ready(records[name], f"{name} {server}:{port}", ("tcp", server, str(port)), agent)
    lan.wait_ready(prefix)
    backup = LEAF_BY_ROLE["backup"].addr
    wait_ready(records["backup-sshd"], f"backup host sshd {backup}:22", ("tcp", backup, "22"), agent)

    by_addr = {d.address: d for d in netdevices.DEMO_DEVICES}
    for ready in netdevices.ready_probes(netdevices.DEMO_DEVICES):
        dev = by_addr[ready[1]]
        rec = {"22": "netdev-ssh", "161": f"netdev-snmpsim-{dev.id}"}.get(
            ready[2], f"netdev-telnet-{dev.id}")
        wait_ready(records[rec], f"{rec} {ready[1]}:{ready[2]}", ready, agent)


# --------------------------------------------------------------- public API


def up(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> LabInfo:
    """Build (or repair) the demo school and return its addresses.

    Idempotent: existing namespaces and live daemons are reused, missing pieces
    are created and dead daemons restarted. Returns once every iperf3 server
    accepts TCP and snmpsim answers from the agent namespace.
    """
    state = state_dir_for(prefix, state_dir)
    require_root()
    require_tools("ip", "tc", "iperf3", "nft", "dnsmasq")
    snmpsim_path()
    with locked(state):
        _build_topology(prefix)
        lan.build(prefix, ns_name(prefix, "agent"), state)
        _ensure_firewall(prefix, state)
        records = _ensure_daemons(prefix, state)
        _wait_all_ready(prefix, records)
        _write_site(prefix, state)
    return _lab_info(prefix, state)


def _firewall_params(prefix: str, state: Path) -> firewall.FirewallParams:

    isp = LEAF_BY_ROLE["isp"]
    return firewall.FirewallParams(
        outside_if=veth_names(prefix, isp)[0], inside_if=veth_names(prefix, LEAF_BY_ROLE["fw"])[1],
        outside_address=isp.router_addr, mgmt_net=LAB_NET,
        published=(firewall.Published(WEB_PORT, LEAF_BY_ROLE["server"].addr, WEB_PORT),),
        state_dir=state / "fw")


def _ensure_firewall(prefix: str, state: Path, variant: firewall.Variant = "compliant") -> None:
    """Load the boundary ruleset and make sure the firewall's sshd answers (for `nft list ruleset`)."""

    fw_ns, inside = ns_name(prefix, "fw"), LEAF_BY_ROLE["fw"].addr
    firewall.apply(fw_ns, variant, _firewall_params(prefix, state))
    if not firewall.sshd_answers(fw_ns, inside):
        firewall.start_sshd(fw_ns, state / "fw", address=inside)


def _write_site(prefix: str, state: Path) -> None:
    """Write the demo inventory, its secrets file (0600) and the known_hosts of the lab's devices.

    The host keys are the ones this lab generated: writing them here stands in for a school
    collecting its devices' keys out of band before the first audit.
    """

    template = (Path(__file__).resolve().parent / "demo-site.yaml").read_text(encoding="utf-8")
    today = datetime.now(UTC).date()  # the authorisation's window: around the day the lab is built
    window = {"@AUTH_FROM@": str(today - timedelta(days=1)),
              "@AUTH_UNTIL@": str(today + timedelta(days=AUTH_DAYS))}
    for placeholder, value in {"@PREFIX@": prefix, "@STATE@": str(state), **window}.items():
        template = template.replace(placeholder, value)
    (state / "site.yaml").write_text(template, encoding="utf-8")
    secrets = {"snmp-community": SNMP_COMMUNITY, "switch-user": netdevices.DEVICE_USERNAME,
               "switch-password": netdevices.DEVICE_PASSWORD, "switch-enable": netdevices.ENABLE_SECRET,
               "firewall-user": "root", "backup-user": "root"}
    path = state / "secrets.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(f"{k}: {json.dumps(v)}\n" for k, v in secrets.items()))
    os.chmod(path, 0o600)
    fw_key = (state / "fw" / "fw-sshd" / "ssh_host_ed25519_key.pub").read_text(encoding="ascii").split()
    hosts = netdevices.known_hosts(state, netdevices.DEMO_DEVICES)
    hosts += f"{LEAF_BY_ROLE['fw'].addr} {fw_key[0]} {fw_key[1]}\n"
    backup_key = (state / "backuphost" / "ssh_host_ed25519_key.pub").read_text(encoding="ascii").split()
    hosts += f"{LEAF_BY_ROLE['backup'].addr} {backup_key[0]} {backup_key[1]}\n"
    (state / "known_hosts").write_text(hosts, encoding="ascii")


def set_firewall(prefix: str, variant: firewall.Variant, state_dir: Path | None = None) -> None:
    """Switch the boundary firewall between its compliant and its planted allow-all ruleset."""

    state = state_dir_for(prefix, state_dir)
    require_root()
    with locked(state):
        firewall.apply(ns_name(prefix, "fw"), variant, _firewall_params(prefix, state))


def down(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> None:
    """Stop the processes this lab started, delete its namespaces and state dir.

    Safe to call when nothing exists. Processes are only signalled if their
    PID, start time and command line still match what ``up`` recorded.
    """
    state = state_dir_for(prefix, state_dir)
    require_root()
    require_tools("ip")
    if state.exists():
        with locked(state):

            firewall.stop_sshd(state / "fw")
            for rec in load_records(state).values():
                terminate(rec)
            _remove_namespaces(prefix)
            shutil.rmtree(state, ignore_errors=True)
    else:
        _remove_namespaces(prefix)
    if state_dir is None:
        with contextlib.suppress(OSError):
            STATE_ROOT.rmdir()


def status(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> dict[str, object]:
    """Report which namespaces exist and which recorded processes are alive.

    ``up`` in the result is True only if every namespace exists and every lab
    daemon (iperf3 servers, snmpsim) is alive.
    """
    state = state_dir_for(prefix, state_dir)
    require_tools("ip")
    existing = existing_namespaces()
    namespaces = {ns_name(prefix, role): ns_name(prefix, role) in existing
                  for role in (*_ROLES, *lan.LAN_ROLES)}
    records = load_records(state)
    alive = {name: is_ours(rec) for name, rec in records.items()}
    processes = {
        name: {"pid": rec.pid, "alive": alive[name], "log": rec.log} for name, rec in records.items()
    }
    daemons_up = all(alive.get(name, False) for name in _DAEMON_NAMES)
    return {
        "prefix": prefix,
        "state_dir": str(state),
        "up": all(namespaces.values()) and daemons_up,
        "namespaces": namespaces,
        "processes": processes,
    }


def start_tarpit(prefix: str, role: str, address: str, port: int, state_dir: Path | None = None) -> int:
    """Start, in namespace ``role``, a TCP listener that accepts and never sends.

    The PID is recorded so ``stop_pid`` or ``down`` can stop it. Calling it again
    for the same role/address/port returns the running tarpit's PID.
    """
    state = state_dir_for(prefix, state_dir)
    if role not in _ROLES:
        raise LabError(f"unknown lab role {role!r} (expected one of {', '.join(_ROLES)})")
    require_root()
    name = f"tarpit-{role}-{address}-{port}"
    ns = ns_name(prefix, role)
    require_namespace(ns)
    with locked(state):
        records = load_records(state)
        rec = records.get(name)
        if rec is None or not running_in(rec, ns):
            argv = [sys.executable, "-m", "auditor.lab", "_tarpit", address, str(port)]
            rec = spawn(state, ns, name, argv, package_env())
            records[name] = rec
            save_records(state, records)
        wait_ready(rec, f"tarpit {address}:{port}", ("tcp", address, str(port)), ns)
    return rec.pid


# --------------------------------------------------------------------- tarpit


def run_tarpit(address: str, port: int) -> None:
    """Accept TCP connections on address:port forever; read and discard, never send."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(128)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            sock = cast(socket.socket, key.fileobj)
            if sock is listener:
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ)
            elif not _drain(sock):
                sel.unregister(sock)
                sock.close()


def _drain(conn: socket.socket) -> bool:
    """Read and discard; False once the peer has closed its side."""
    try:
        return bool(conn.recv(65536))
    except OSError:
        return False
