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
import fcntl
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from auditor.lab import lan  # imports this module as a whole (no circular-import problem)

if TYPE_CHECKING:  # lab pieces import this module's helpers, so they are imported where used
    from auditor.lab import firewall

DEFAULT_PREFIX = "ca"
STATE_ROOT = Path("/run/campus-auditor-lab")
NETNS_ETC = Path("/etc/netns")
NETNS_RUN = Path("/run/netns")  # where `ip netns` keeps its namespace handles
SNMP_COMMUNITY = "campus-demo-ro"
SNMP_PORT = 161
# The server namespace: a real web server on 80, and listeners on ports a school server should
# not expose (telnet, MySQL, Redis) for the exposed-services probe to find.
WEB_PORT = 80
RISKY_PORTS: tuple[int, ...] = (23, 3306, 6379)
IPERF3_PORT = 5201
UPLINK_RATE_MBIT = 1000
LAB_NET = "10.200.0.0/16"
AUTH_DAYS = 90  # how long the demo inventory's authorisation record lasts after `lab up`

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,6}$")
_DATA_DIR = Path(__file__).resolve().parent / "data"
_SNMPSIM = "snmpsim-command-responder"
_READY_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 5.0

# Run inside a namespace with ``python -I -c``: ``tcp HOST PORT`` connects and
# closes; ``udp HOST PORT HEX`` sends one datagram and prints the reply as hex.
_PROBE_SCRIPT = """
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "tcp":
    socket.create_connection((host, port), timeout=1.0).close()
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.sendto(bytes.fromhex(sys.argv[4]), (host, port))
    sys.stdout.write(s.recv(65535).hex())
"""
_SYSCTL_SCRIPT = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"


class LabError(RuntimeError):
    """A lab operation failed; the message is a single human-readable line."""


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


@dataclass(frozen=True)
class _Leaf:
    """One namespace hanging off its parent (the router, or the firewall) on its own subnet.

    The parent side takes ``.1`` and the leaf ``.2`` of ``10.200.<subnet>.0/<prefixlen>``; a
    leaf may carry ``extra`` host numbers on the same interface (the emulated switches).
    """

    role: str
    tag: str
    subnet: int
    rate_mbit: int | None
    burst: str
    parent: str = "router"
    prefixlen: int = 30
    extra: tuple[int, ...] = ()

    @property
    def router_addr(self) -> str:
        return f"10.200.{self.subnet}.1"

    @property
    def addr(self) -> str:
        return f"10.200.{self.subnet}.2"

    @property
    def network(self) -> str:
        return f"10.200.{self.subnet}.0/{self.prefixlen}"


# The boundary: isp ── fw ── router. The firewall namespace forwards between the ISP side
# (10.200.0.0/30, the school's outside address 10.200.0.1) and the core (10.200.2.0/30).
_LEAVES: tuple[_Leaf, ...] = (
    _Leaf("fw", "fw", 2, None, ""),
    _Leaf("isp", "isp", 0, UPLINK_RATE_MBIT, "256kb", parent="fw"),
    _Leaf("agent", "agt", 1, None, ""),
    _Leaf("room101", "r101", 11, 100, "32kb"),
    _Leaf("room102", "r102", 12, 100, "32kb"),
    _Leaf("room103", "r103", 13, 40, "32kb"),
    _Leaf("switch", "sw", 9, None, ""),
    _Leaf("server", "srv", 20, None, ""),
    _Leaf("backup", "bak", 21, None, ""),
    _Leaf("netdev", "nd", 30, None, "", prefixlen=24, extra=(11, 12, 13, 14)),
)
_LEAF_BY_ROLE = {leaf.role: leaf for leaf in _LEAVES}
_ROLES: tuple[str, ...] = ("router", *(leaf.role for leaf in _LEAVES))
_IPERF_ROLES: tuple[str, ...] = ("isp", "room101", "room102", "room103")
_SERVER_DAEMONS: tuple[str, ...] = ("web-server", *(f"listener-{p}" for p in RISKY_PORTS))
_DAEMON_NAMES: tuple[str, ...] = (
    *(f"iperf3-{role}" for role in _IPERF_ROLES), "snmpsim", *_SERVER_DAEMONS, "netdev-ssh",
    "dhcp-authorised", "dhcp-rogue", "backup-sshd")


@dataclass(frozen=True)
class _ProcRecord:
    """A process this module started: enough to recognise it again later."""

    name: str
    pid: int
    start_ticks: int
    argv: list[str]
    log: str


# Popen objects of children started by this Python process, so they can be
# reaped (no zombies, no ResourceWarning) when down() runs in the same process.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# --------------------------------------------------------------------- naming


def ns_name(prefix: str, role: str) -> str:
    """Return the network namespace name of ``role`` (e.g. ``"ca-agent"``)."""
    return f"{prefix}-{role}"


def netns_exec(ns: str, argv: Sequence[str]) -> list[str]:
    """Return an argv that runs ``argv`` inside network namespace ``ns``."""
    return ["ip", "netns", "exec", ns, *argv]


def _veth_names(prefix: str, leaf: _Leaf) -> tuple[str, str]:
    """Return (router-side, leaf-side) interface names, both at most 15 chars."""
    return f"{prefix}-rt-{leaf.tag}", f"{prefix}-{leaf.tag}"


def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.fullmatch(prefix):
        raise LabError(
            f"invalid lab prefix {prefix!r}: use 1-7 lowercase letters/digits, starting with a letter"
        )


def _state_dir(prefix: str, state_dir: Path | None) -> Path:
    _check_prefix(prefix)
    return state_dir if state_dir is not None else STATE_ROOT / prefix


def _lab_info(prefix: str, state_dir: Path) -> LabInfo:
    rooms = ("room101", "room102", "room103")
    return LabInfo(
        prefix=prefix,
        agent_ns=ns_name(prefix, "agent"),
        isp_iperf=_LEAF_BY_ROLE["isp"].addr,
        rooms={room: _LEAF_BY_ROLE[room].addr for room in rooms},
        room_rates_mbit={room: _LEAF_BY_ROLE[room].rate_mbit or 0 for room in rooms},
        uplink_rate_mbit=UPLINK_RATE_MBIT,
        switch_snmp=_LEAF_BY_ROLE["switch"].addr,
        snmp_community=SNMP_COMMUNITY,
        state_dir=state_dir,
        server=_LEAF_BY_ROLE["server"].addr,
    )


# ------------------------------------------------------------ command helpers


def _run(
    argv: Sequence[str], *, check: bool = True, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run a command, turning every failure into a one-line LabError."""
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"`{shlex.join(argv)}` failed: {exc}") from exc
    if check and res.returncode != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        detail = lines[-1] if lines else "no output"
        raise LabError(f"`{shlex.join(argv)}` exited {res.returncode}: {detail}")
    return res


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the demo school lab needs root (it creates network namespaces)")


def _require_tools(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise LabError(f"required tool `{tool}` not found on PATH")


def snmpsim_path() -> str:
    beside = Path(sys.executable).parent / _SNMPSIM
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(_SNMPSIM)
    if found is None:
        raise LabError(
            f"{_SNMPSIM} not found next to {sys.executable} or on PATH "
            "(install the 'lab' extra: snmpsim and pysmi)"
        )
    return found


# ---------------------------------------------------------------------- state


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise lab operations on one state directory."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _load_records(state_dir: Path) -> dict[str, _ProcRecord]:
    path = state_dir / "state.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LabError(f"unreadable lab state {path}: {exc}") from exc
    procs = raw.get("processes", {}) if isinstance(raw, dict) else {}
    return {name: _ProcRecord(**rec) for name, rec in procs.items()}


def _save_records(state_dir: Path, records: dict[str, _ProcRecord]) -> None:
    path = state_dir / "state.json"
    tmp = path.with_suffix(".tmp")
    body = {"processes": {name: asdict(rec) for name, rec in records.items()}}
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------ processes


def _proc_start_ticks(pid: int) -> int | None:
    """Return the process start time (clock ticks since boot), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def _proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _cmdline_matches(cmdline: list[str], argv: list[str]) -> bool:
    """True if cmdline is argv itself, or what ``ip netns exec`` exec'd from it.

    After the exec the command is argv[4:]; a script is re-executed by its
    interpreter, which shifts its own path to cmdline[1].
    """
    if cmdline == argv:
        return True
    inner = argv[4:]
    if len(cmdline) == 1 and inner and " ".join(inner) in cmdline[0]:
        return True  # a daemon that rewrote its title (sshd: "sshd: /usr/sbin/sshd -D -f CFG [listener] ...")
    if not inner or len(cmdline) < len(inner):
        return False
    tail_ok = cmdline[len(cmdline) - len(inner) + 1 :] == inner[1:]
    return tail_ok and inner[0] in cmdline[:2]


def _is_ours(rec: _ProcRecord) -> bool:
    """True if rec.pid is still alive and is the very process we started."""
    if _proc_start_ticks(rec.pid) != rec.start_ticks:
        return False
    return _cmdline_matches(_proc_cmdline(rec.pid), rec.argv)


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)


def _terminate(rec: _ProcRecord) -> None:
    """SIGTERM, then SIGKILL after a grace period; only if it is still ours."""
    if not _is_ours(rec):
        _reap(rec.pid)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec.pid, sig)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            _reap(rec.pid)
            if _proc_start_ticks(rec.pid) != rec.start_ticks:
                return
            time.sleep(0.05)


def _spawn(
    state_dir: Path, ns: str, name: str, argv: Sequence[str], env: dict[str, str] | None = None
) -> _ProcRecord:
    """Start argv in namespace ns as a detached session, logging to the state dir."""
    full = netns_exec(ns, argv)
    log_dir = state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        proc = _popen(full, out, env)
    _CHILDREN[proc.pid] = proc
    start = _proc_start_ticks(proc.pid)
    return _ProcRecord(name, proc.pid, start if start is not None else -1, full, str(log))


def _popen(argv: list[str], out: IO[bytes], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        raise LabError(f"cannot start `{shlex.join(argv)}`: {exc}") from exc


def _log_tail(rec: _ProcRecord) -> str:
    try:
        lines = Path(rec.log).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "empty log"


# ------------------------------------------------------------------- topology


def _existing_namespaces() -> set[str]:
    out = _run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _python_in(ns: str, script: str, *args: str) -> list[str]:
    return netns_exec(ns, [sys.executable, "-I", "-c", script, *args])


def _ensure_namespace(ns: str, existing: set[str]) -> None:
    etc = NETNS_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    if ns not in existing:
        _run(["ip", "netns", "add", ns])
    _run(["ip", "-n", ns, "link", "set", "lo", "up"])


def _link_exists(ns: str, dev: str) -> bool:
    return _run(["ip", "-n", ns, "link", "show", "dev", dev], check=False).returncode == 0


def _ensure_veth(prefix: str, leaf: _Leaf) -> None:
    parent, other = ns_name(prefix, leaf.parent), ns_name(prefix, leaf.role)
    rdev, ldev = _veth_names(prefix, leaf)
    if _link_exists(parent, rdev) and _link_exists(other, ldev):
        return
    for ns, dev in ((parent, rdev), (other, ldev)):
        if _link_exists(ns, dev):
            _run(["ip", "-n", ns, "link", "del", "dev", dev])
    veth = ["type", "veth", "peer", "name", ldev, "netns", other]
    _run(["ip", "link", "add", rdev, "netns", parent, *veth])


def _configure_end(ns: str, dev: str, cidrs: Sequence[str], leaf: _Leaf) -> None:
    for cidr in cidrs:
        _run(["ip", "-n", ns, "addr", "replace", cidr, "dev", dev])
    _run(["ip", "-n", ns, "link", "set", dev, "up"])
    if leaf.rate_mbit is not None:
        tbf = ["tbf", "rate", f"{leaf.rate_mbit}mbit", "burst", leaf.burst, "latency", "50ms"]
        _run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *tbf])


def _ensure_leaf(prefix: str, leaf: _Leaf) -> None:
    parent, other = ns_name(prefix, leaf.parent), ns_name(prefix, leaf.role)
    rdev, ldev = _veth_names(prefix, leaf)
    _ensure_veth(prefix, leaf)
    base = f"10.200.{leaf.subnet}"
    _configure_end(parent, rdev, [f"{leaf.router_addr}/{leaf.prefixlen}"], leaf)
    _configure_end(other, ldev, [f"{base}.{host}/{leaf.prefixlen}" for host in (2, *leaf.extra)], leaf)
    _run(["ip", "-n", other, "route", "replace", LAB_NET, "via", leaf.router_addr, "dev", ldev])
    if leaf.parent != "router":  # the core reaches it through its parent
        via = _LEAF_BY_ROLE[leaf.parent].addr
        _run(["ip", "-n", ns_name(prefix, "router"), "route", "replace", leaf.network, "via", via])


def _build_topology(prefix: str) -> None:
    existing = _existing_namespaces()
    for role in _ROLES:
        _ensure_namespace(ns_name(prefix, role), existing)
    for leaf in _LEAVES:
        _ensure_leaf(prefix, leaf)
    for role in ("router", "fw"):
        _run(_python_in(ns_name(prefix, role), _SYSCTL_SCRIPT, "/proc/sys/net/ipv4/ip_forward", "1"))


def _remove_namespaces(prefix: str) -> None:
    lan.remove(prefix)
    existing = _existing_namespaces()
    for role in _ROLES:
        ns = ns_name(prefix, role)
        if ns in existing:
            _run(["ip", "netns", "del", ns])
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
        f"--agent-udpv4-endpoint={_LEAF_BY_ROLE['switch'].addr}:{SNMP_PORT}",
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
                _LEAF_BY_ROLE[role].addr,
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
    server, addr = ns_name(prefix, "server"), _LEAF_BY_ROLE["server"].addr
    www = state_dir / "www"
    www.mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_text("<h1>demo school web server</h1>\n", encoding="utf-8")
    specs["web-server"] = (server, [sys.executable, "-m", "http.server", str(WEB_PORT), "--bind", addr,
                                    "--directory", str(www)], None)
    for port in RISKY_PORTS:
        specs[f"listener-{port}"] = (server, [sys.executable, "-m", "auditor.lab", "_tarpit", addr,
                                              str(port)], package_env())
    from auditor.lab import netdevices  # noqa: PLC0415 - imports this module's helpers

    specs.update(lan.daemon_specs(prefix, state_dir))
    from auditor.lab import backuphost  # noqa: PLC0415

    backup = _LEAF_BY_ROLE["backup"].addr
    backuphost.prepare(state_dir, backup)
    for name, (argv, env) in backuphost.daemon_specs(state_dir, backup).items():
        specs[name] = (ns_name(prefix, "backup"), argv, env)
    netdev = ns_name(prefix, "netdev")
    netdevices.prepare(state_dir, netdevices.DEMO_DEVICES)
    for name, (argv, env) in netdevices.daemon_specs(state_dir, netdev, netdevices.DEMO_DEVICES).items():
        specs[name] = (netdev, argv, env)
    return specs


def _ensure_daemons(prefix: str, state_dir: Path) -> dict[str, _ProcRecord]:
    """Start every daemon that is not running yet; keep live ones as they are."""
    records = _load_records(state_dir)
    for name, (ns, argv, env) in _daemon_specs(prefix, state_dir).items():
        rec = records.get(name)
        if rec is not None and _running_in(rec, ns):
            continue
        if rec is not None:
            _terminate(rec)  # dead, or alive in a namespace that was deleted
        records[name] = _spawn(state_dir, ns, name, argv, env)
        _save_records(state_dir, records)
    return records


def _running_in(rec: _ProcRecord, ns: str) -> bool:
    """True if rec is alive, ours, and inside the current namespace called ns."""
    try:
        want = os.stat(NETNS_RUN / ns)
        have = os.stat(f"/proc/{rec.pid}/ns/net")
    except OSError:
        return False
    same = (want.st_dev, want.st_ino) == (have.st_dev, have.st_ino)
    return same and _is_ours(rec)


def _require_namespace(ns: str) -> None:
    if not (NETNS_RUN / ns).exists():
        raise LabError(f"network namespace {ns} does not exist (is the lab up?)")


def _probe(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _run(_python_in(ns, _PROBE_SCRIPT, *args), check=False, timeout=10.0)


def _wait_ready(rec: _ProcRecord, what: str, probe: Sequence[str], agent_ns: str) -> None:
    """Poll ``probe`` from the agent namespace until it succeeds or time runs out."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        # The start time identifies the process while it starts: its command line is briefly
        # empty or half-written while `ip netns exec` execs into the daemon.
        if _proc_start_ticks(rec.pid) != rec.start_ticks:
            raise LabError(f"{what} exited during start-up ({rec.log}: {_log_tail(rec)})")
        res = _probe(agent_ns, *probe)
        if res.returncode == 0 and _probe_ok(probe[0], res.stdout):
            return
        time.sleep(0.2)
    raise LabError(
        f"{what} not reachable from {agent_ns} after {_READY_TIMEOUT_S:.0f}s ({rec.log}: {_log_tail(rec)})"
    )


def _probe_ok(kind: str, stdout: str) -> bool:
    if kind == "tcp":
        return True
    try:
        return _snmp_response_ok(bytes.fromhex(stdout.strip()))
    except ValueError:
        return False


def _wait_all_ready(prefix: str, records: dict[str, _ProcRecord]) -> None:
    agent = ns_name(prefix, "agent")
    for role in _IPERF_ROLES:
        addr = _LEAF_BY_ROLE[role].addr
        probe = ("tcp", addr, str(IPERF3_PORT))
        _wait_ready(records[f"iperf3-{role}"], f"iperf3 server {addr}", probe, agent)
    switch = _LEAF_BY_ROLE["switch"].addr
    request = _snmp_get_sysname(SNMP_COMMUNITY).hex()
    snmp_probe = ("udp", switch, str(SNMP_PORT), request)
    _wait_ready(records["snmpsim"], f"snmpsim on {switch}", snmp_probe, agent)
    server = _LEAF_BY_ROLE["server"].addr
    for name, port in zip(_SERVER_DAEMONS, (WEB_PORT, *RISKY_PORTS), strict=True):
        _wait_ready(records[name], f"{name} {server}:{port}", ("tcp", server, str(port)), agent)
    lan.wait_ready(prefix)
    backup = _LEAF_BY_ROLE["backup"].addr
    _wait_ready(records["backup-sshd"], f"backup host sshd {backup}:22", ("tcp", backup, "22"), agent)
    from auditor.lab import netdevices  # noqa: PLC0415

    by_addr = {d.address: d for d in netdevices.DEMO_DEVICES}
    for ready in netdevices.ready_probes(netdevices.DEMO_DEVICES):
        dev = by_addr[ready[1]]
        rec = {"22": "netdev-ssh", "161": f"netdev-snmpsim-{dev.id}"}.get(
            ready[2], f"netdev-telnet-{dev.id}")
        _wait_ready(records[rec], f"{rec} {ready[1]}:{ready[2]}", ready, agent)


# ------------------------------------------------------- minimal SNMP (probe)


def _ber(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _snmp_get_sysname(community: str) -> bytes:
    """Encode an SNMPv2c GetRequest for sysName.0 (1.3.6.1.2.1.1.5.0)."""
    sysname_oid = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])
    varbind = _ber(0x30, _ber(0x06, sysname_oid) + _ber(0x05, b""))
    pdu = _ber(0x02, b"\x01") + _ber(0x02, b"\x00") + _ber(0x02, b"\x00") + _ber(0x30, varbind)
    return _ber(0x30, _ber(0x02, b"\x01") + _ber(0x04, community.encode()) + _ber(0xA0, pdu))


def _ber_items(data: bytes) -> list[tuple[int, bytes]]:
    """Split concatenated BER TLVs into (tag, value) pairs."""
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 2 <= len(data):
        tag, size = data[pos], data[pos + 1]
        pos += 2
        if size & 0x80:
            width = size & 0x7F
            size = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        items.append((tag, data[pos : pos + size]))
        pos += size
    return items


def _snmp_response_ok(data: bytes) -> bool:
    """True for a GetResponse with error-status 0 whose value is an OCTET STRING."""
    try:
        ((_, message),) = _ber_items(data)
        _version, _community, (pdu_tag, pdu) = _ber_items(message)
        _reqid, (_, error_status), _index, (_, varbinds) = _ber_items(pdu)
        ((_, varbind),) = _ber_items(varbinds)
        _oid, (value_tag, _value) = _ber_items(varbind)
    except ValueError:
        return False
    return pdu_tag == 0xA2 and error_status == b"\x00" and value_tag == 0x04


# --------------------------------------------------------------- public API


def up(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> LabInfo:
    """Build (or repair) the demo school and return its addresses.

    Idempotent: existing namespaces and live daemons are reused, missing pieces
    are created and dead daemons restarted. Returns once every iperf3 server
    accepts TCP and snmpsim answers from the agent namespace.
    """
    state = _state_dir(prefix, state_dir)
    _require_root()
    _require_tools("ip", "tc", "iperf3", "nft", "dnsmasq")
    snmpsim_path()
    with _locked(state):
        _build_topology(prefix)
        lan.build(prefix, ns_name(prefix, "agent"), state)
        _ensure_firewall(prefix, state)
        records = _ensure_daemons(prefix, state)
        _wait_all_ready(prefix, records)
        _write_site(prefix, state)
    return _lab_info(prefix, state)


def _firewall_params(prefix: str, state: Path) -> firewall.FirewallParams:
    from auditor.lab import firewall  # noqa: PLC0415

    isp = _LEAF_BY_ROLE["isp"]
    return firewall.FirewallParams(
        outside_if=_veth_names(prefix, isp)[0], inside_if=_veth_names(prefix, _LEAF_BY_ROLE["fw"])[1],
        outside_address=isp.router_addr, mgmt_net=LAB_NET,
        published=(firewall.Published(WEB_PORT, _LEAF_BY_ROLE["server"].addr, WEB_PORT),),
        state_dir=state / "fw")


def _ensure_firewall(prefix: str, state: Path, variant: firewall.Variant = "compliant") -> None:
    """Load the boundary ruleset and make sure the firewall's sshd answers (for `nft list ruleset`)."""
    from auditor.lab import firewall  # noqa: PLC0415

    fw_ns, inside = ns_name(prefix, "fw"), _LEAF_BY_ROLE["fw"].addr
    firewall.apply(fw_ns, variant, _firewall_params(prefix, state))
    if not firewall.sshd_answers(fw_ns, inside):
        firewall.start_sshd(fw_ns, state / "fw", address=inside)


def _write_site(prefix: str, state: Path) -> None:
    """Write the demo inventory, its secrets file (0600) and the known_hosts of the lab's devices.

    The host keys are the ones this lab generated: writing them here stands in for a school
    collecting its devices' keys out of band before the first audit.
    """
    from auditor.lab import netdevices  # noqa: PLC0415

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
    hosts += f"{_LEAF_BY_ROLE['fw'].addr} {fw_key[0]} {fw_key[1]}\n"
    backup_key = (state / "backuphost" / "ssh_host_ed25519_key.pub").read_text(encoding="ascii").split()
    hosts += f"{_LEAF_BY_ROLE['backup'].addr} {backup_key[0]} {backup_key[1]}\n"
    (state / "known_hosts").write_text(hosts, encoding="ascii")


def set_firewall(prefix: str, variant: firewall.Variant, state_dir: Path | None = None) -> None:
    """Switch the boundary firewall between its compliant and its planted allow-all ruleset."""
    from auditor.lab import firewall  # noqa: PLC0415

    state = _state_dir(prefix, state_dir)
    _require_root()
    with _locked(state):
        firewall.apply(ns_name(prefix, "fw"), variant, _firewall_params(prefix, state))


def down(prefix: str = DEFAULT_PREFIX, state_dir: Path | None = None) -> None:
    """Stop the processes this lab started, delete its namespaces and state dir.

    Safe to call when nothing exists. Processes are only signalled if their
    PID, start time and command line still match what ``up`` recorded.
    """
    state = _state_dir(prefix, state_dir)
    _require_root()
    _require_tools("ip")
    if state.exists():
        with _locked(state):
            from auditor.lab import firewall  # noqa: PLC0415

            firewall.stop_sshd(state / "fw")
            for rec in _load_records(state).values():
                _terminate(rec)
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
    state = _state_dir(prefix, state_dir)
    _require_tools("ip")
    existing = _existing_namespaces()
    namespaces = {ns_name(prefix, role): ns_name(prefix, role) in existing
                  for role in (*_ROLES, *lan.LAN_ROLES)}
    records = _load_records(state)
    alive = {name: _is_ours(rec) for name, rec in records.items()}
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
    state = _state_dir(prefix, state_dir)
    if role not in _ROLES:
        raise LabError(f"unknown lab role {role!r} (expected one of {', '.join(_ROLES)})")
    _require_root()
    name = f"tarpit-{role}-{address}-{port}"
    ns = ns_name(prefix, role)
    _require_namespace(ns)
    with _locked(state):
        records = _load_records(state)
        rec = records.get(name)
        if rec is None or not _running_in(rec, ns):
            argv = [sys.executable, "-m", "auditor.lab", "_tarpit", address, str(port)]
            rec = _spawn(state, ns, name, argv, package_env())
            records[name] = rec
            _save_records(state, records)
        _wait_ready(rec, f"tarpit {address}:{port}", ("tcp", address, str(port)), ns)
    return rec.pid


def stop_pid(prefix: str, pid: int, state_dir: Path | None = None) -> None:
    """Stop one process that this lab started and forget it."""
    state = _state_dir(prefix, state_dir)
    _require_root()
    if not state.exists():
        raise LabError(f"lab {prefix!r} has no state in {state}; nothing to stop")
    with _locked(state):
        records = _load_records(state)
        match = [name for name, rec in records.items() if rec.pid == pid]
        if not match:
            raise LabError(f"pid {pid} was not started by lab {prefix!r}")
        for name in match:
            _terminate(records.pop(name))
        _save_records(state, records)


def package_env() -> dict[str, str]:
    """Environment in which ``python -m auditor.lab`` resolves to this package."""
    root = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{current}" if current else root}


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
