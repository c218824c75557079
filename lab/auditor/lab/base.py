"""What every part of the demo school shares: names, addresses, commands and process bookkeeping.

The other lab modules (the school, its LAN, firewall, emulated switches and backup host) build on
these helpers; none of them imports another lab module's internals, so the imports run one way
(``base`` <- pieces <- ``school``).

Every process the lab starts is recorded (PID, start time, command line) in its state directory,
so ``school.down`` stops exactly those and nothing else.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

STATE_ROOT = Path("/run/campus-auditor-lab")
NETNS_ETC = Path("/etc/netns")
NETNS_RUN = Path("/run/netns")  # where `ip netns` keeps its namespace handles

SNMP_PORT = 161

UPLINK_RATE_MBIT = 1000
LAB_NET = "10.200.0.0/16"

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,6}$")

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
SYSCTL_SCRIPT = "import sys; open(sys.argv[1], 'w').write(sys.argv[2])"


class LabError(RuntimeError):
    """A lab operation failed; the message is a single human-readable line."""



@dataclass(frozen=True)
class Leaf:
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
LEAVES: tuple[Leaf, ...] = (
    Leaf("fw", "fw", 2, None, ""),
    Leaf("isp", "isp", 0, UPLINK_RATE_MBIT, "256kb", parent="fw"),
    Leaf("agent", "agt", 1, None, ""),
    Leaf("room101", "r101", 11, 100, "32kb"),
    Leaf("room102", "r102", 12, 100, "32kb"),
    Leaf("room103", "r103", 13, 40, "32kb"),
    Leaf("switch", "sw", 9, None, ""),
    Leaf("server", "srv", 20, None, ""),
    Leaf("backup", "bak", 21, None, ""),
    Leaf("netdev", "nd", 30, None, "", prefixlen=24, extra=(11, 12, 13, 14)),
)
LEAF_BY_ROLE = {leaf.role: leaf for leaf in LEAVES}


@dataclass(frozen=True)
class ProcRecord:
    """A process this module started: enough to recognise it again later."""

    name: str
    pid: int
    start_ticks: int
    argv: list[str]
    log: str


# Popen objects of children started by this Python process, so they can be
# reaped (no zombies, no ResourceWarning) when down() runs in the same process.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


# --------------------------------------------------------------------- naming


def ns_name(prefix: str, role: str) -> str:
    """Return the network namespace name of ``role`` (e.g. ``"ca-agent"``)."""
    return f"{prefix}-{role}"


def netns_exec(ns: str, argv: Sequence[str]) -> list[str]:
    """Return an argv that runs ``argv`` inside network namespace ``ns``."""
    return ["ip", "netns", "exec", ns, *argv]


def veth_names(prefix: str, leaf: Leaf) -> tuple[str, str]:
    """Return (router-side, leaf-side) interface names, both at most 15 chars."""
    return f"{prefix}-rt-{leaf.tag}", f"{prefix}-{leaf.tag}"


def check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.fullmatch(prefix):
        raise LabError(
            f"invalid lab prefix {prefix!r}: use 1-7 lowercase letters/digits, starting with a letter"
        )


def state_dir_for(prefix: str, state_dir: Path | None) -> Path:
    check_prefix(prefix)
    return state_dir if state_dir is not None else STATE_ROOT / prefix


# ------------------------------------------------------------ command helpers


def run(
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


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the demo school lab needs root (it creates network namespaces)")


def require_tools(*tools: str) -> None:
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
def locked(state_dir: Path) -> Iterator[None]:
    """Serialise lab operations on one state directory."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def load_records(state_dir: Path) -> dict[str, ProcRecord]:
    path = state_dir / "state.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LabError(f"unreadable lab state {path}: {exc}") from exc
    procs = raw.get("processes", {}) if isinstance(raw, dict) else {}
    return {name: ProcRecord(**rec) for name, rec in procs.items()}


def save_records(state_dir: Path, records: dict[str, ProcRecord]) -> None:
    path = state_dir / "state.json"
    tmp = path.with_suffix(".tmp")
    body = {"processes": {name: asdict(rec) for name, rec in records.items()}}
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------ processes


def proc_start_ticks(pid: int) -> int | None:
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


def is_ours(rec: ProcRecord) -> bool:
    """True if rec.pid is still alive and is the very process we started."""
    if proc_start_ticks(rec.pid) != rec.start_ticks:
        return False
    return _cmdline_matches(_proc_cmdline(rec.pid), rec.argv)


def _reap(pid: int) -> None:
    child = CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)


def terminate(rec: ProcRecord) -> None:
    """SIGTERM, then SIGKILL after a grace period; only if it is still ours."""
    if not is_ours(rec):
        _reap(rec.pid)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec.pid, sig)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            _reap(rec.pid)
            if proc_start_ticks(rec.pid) != rec.start_ticks:
                return
            time.sleep(0.05)


def spawn(
    state_dir: Path, ns: str, name: str, argv: Sequence[str], env: dict[str, str] | None = None
) -> ProcRecord:
    """Start argv in namespace ns as a detached session, logging to the state dir."""
    full = netns_exec(ns, argv)
    log_dir = state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        proc = popen(full, out, env)
    CHILDREN[proc.pid] = proc
    start = proc_start_ticks(proc.pid)
    return ProcRecord(name, proc.pid, start if start is not None else -1, full, str(log))


def popen(argv: list[str], out: IO[bytes], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
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


def log_tail(rec: ProcRecord) -> str:
    try:
        lines = Path(rec.log).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "empty log"


# ------------------------------------------------------------------- topology


def existing_namespaces() -> set[str]:
    out = run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def python_in(ns: str, script: str, *args: str) -> list[str]:
    return netns_exec(ns, [sys.executable, "-I", "-c", script, *args])


def ensure_namespace(ns: str, existing: set[str]) -> None:
    etc = NETNS_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    if ns not in existing:
        run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def link_exists(ns: str, dev: str) -> bool:
    return run(["ip", "-n", ns, "link", "show", "dev", dev], check=False).returncode == 0



def running_in(rec: ProcRecord, ns: str) -> bool:
    """True if rec is alive, ours, and inside the current namespace called ns."""
    try:
        want = os.stat(NETNS_RUN / ns)
        have = os.stat(f"/proc/{rec.pid}/ns/net")
    except OSError:
        return False
    same = (want.st_dev, want.st_ino) == (have.st_dev, have.st_ino)
    return same and is_ours(rec)


def require_namespace(ns: str) -> None:
    if not (NETNS_RUN / ns).exists():
        raise LabError(f"network namespace {ns} does not exist (is the lab up?)")


def _probe(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(python_in(ns, _PROBE_SCRIPT, *args), check=False, timeout=10.0)


def wait_ready(rec: ProcRecord, what: str, probe: Sequence[str], agent_ns: str) -> None:
    """Poll ``probe`` from the agent namespace until it succeeds or time runs out."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        # The start time identifies the process while it starts: its command line is briefly
        # empty or half-written while `ip netns exec` execs into the daemon.
        if proc_start_ticks(rec.pid) != rec.start_ticks:
            raise LabError(f"{what} exited during start-up ({rec.log}: {log_tail(rec)})")
        res = _probe(agent_ns, *probe)
        if res.returncode == 0 and _probe_ok(probe[0], res.stdout):
            return
        time.sleep(0.2)
    raise LabError(
        f"{what} not reachable from {agent_ns} after {_READY_TIMEOUT_S:.0f}s ({rec.log}: {log_tail(rec)})"
    )


def _probe_ok(kind: str, stdout: str) -> bool:
    if kind == "tcp":
        return True
    try:
        return _snmp_response_ok(bytes.fromhex(stdout.strip()))
    except ValueError:
        return False


# ------------------------------------------------------- minimal SNMP (probe)


def _ber(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def snmp_get_sysname(community: str) -> bytes:
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



def stop_pid(prefix: str, pid: int, state_dir: Path | None = None) -> None:
    """Stop one process that this lab started and forget it."""
    state = state_dir_for(prefix, state_dir)
    require_root()
    if not state.exists():
        raise LabError(f"lab {prefix!r} has no state in {state}; nothing to stop")
    with locked(state):
        records = load_records(state)
        match = [name for name, rec in records.items() if rec.pid == pid]
        if not match:
            raise LabError(f"pid {pid} was not started by lab {prefix!r}")
        for name in match:
            terminate(records.pop(name))
        save_records(state, records)


def package_env() -> dict[str, str]:
    """Environment in which ``python -m auditor.lab`` resolves to this package."""
    root = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{current}" if current else root}


def start_daemon(prefix: str, role: str, name: str, argv: list[str], ready: Sequence[str] | None,
                 env: dict[str, str] | None = None) -> ProcRecord:
    """Start ``argv`` in namespace ``role`` under the lab's records (``school.down`` stops it).

    Starting a daemon that is already running in that namespace returns its record. ``ready`` is a
    probe (``("tcp", address, port)``) polled from the same namespace until the daemon answers.
    """
    state = STATE_ROOT / prefix
    ns = ns_name(prefix, role)
    require_namespace(ns)
    with locked(state):
        records = load_records(state)
        rec = records.get(name)
        if rec is None or not running_in(rec, ns):
            rec = spawn(state, ns, name, argv, env)
            records[name] = rec
            save_records(state, records)
        if ready is not None:
            wait_ready(rec, name, ready, ns)
    return rec


def restart_daemon(prefix: str, role: str, name: str, argv: list[str],
                   env: dict[str, str] | None = None) -> ProcRecord:
    """Stop the recorded daemon ``name`` (if any) and start ``argv`` in its place."""
    state = STATE_ROOT / prefix
    ns = ns_name(prefix, role)
    with locked(state):
        records = load_records(state)
        old = records.get(name)
        if old is not None:
            terminate(old)
        rec = spawn(state, ns, name, argv, env)
        records[name] = rec
        save_records(state, records)
    return rec


def daemon_record(prefix: str, name: str) -> ProcRecord:
    """The record of the lab's daemon ``name``."""
    rec = load_records(STATE_ROOT / prefix).get(name)
    if rec is None:
        raise LabError(f"lab {prefix!r} has no daemon {name!r}")
    return rec


def leaf(role: str) -> Leaf:
    """The namespace ``role`` of the school's core (its addresses, rate and link names)."""
    try:
        return LEAF_BY_ROLE[role]
    except KeyError:
        raise LabError(f"unknown lab role {role!r}") from None
