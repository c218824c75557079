"""The demo school's boundary firewall: a real nftables ruleset and an sshd in one namespace.

The lead's topology wires it in as ``isp ── fw ── router``; this module only needs the names
of the firewall's two interfaces and the addresses its rulesets refer to (:class:`FirewallParams`).

Two rulesets, switched with :func:`apply` (``nft -f`` inside the namespace; ``flush ruleset``
first, which only touches that namespace's tables):

``compliant``
    input: policy drop; established/related, loopback, ICMP echo and SSH from the inside
    management network accepted. forward: policy drop; established/related accepted; inside →
    outside accepted except the forbidden sample (rejected with ICMP admin-prohibited, so the
    outbound probe sees ``rejected``); outside → inside only for connections the DNAT of the
    published ports made (``ct status dnat``). output: policy accept. A ``nat`` table DNATs each
    published port on the outside address to its server.
``allow-all``
    the planted misconfiguration: every policy accept, a bare ``counter accept`` in input and
    forward, the same DNAT (published services keep working, everything else is open too).

:func:`start_sshd` runs an sshd in the namespace so the auditor can read the ruleset over SSH:
own host key and configuration in a state directory, public-key login for root restricted to
a client key generated there (``AuthorizedKeysFile`` in the state directory: no change to
``/root/.ssh`` or the system's sshd). :func:`stop_sshd` stops only the process it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from auditor.lab.base import LabError, netns_exec

Variant = Literal["compliant", "allow-all"]
VARIANTS: tuple[Variant, ...] = ("compliant", "allow-all")
FORBIDDEN_OUTBOUND: tuple[int, ...] = (23, 25, 135, 139, 445, 1433, 3389, 6379)
_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Published:
    """A service published on the outside address: ``outside_port`` → ``server:port``."""

    outside_port: int
    server: str
    port: int


@dataclass(frozen=True)
class FirewallParams:
    """What the rulesets assume about the firewall namespace.

    ``outside_if``/``inside_if`` are the interface names inside the firewall namespace;
    ``outside_address`` is the school's outside address on ``outside_if``; ``mgmt_net`` may
    SSH to the firewall (from ``inside_if`` only).
    """

    outside_if: str
    inside_if: str
    outside_address: str = "10.200.0.1"
    mgmt_net: str = "10.200.0.0/16"
    published: tuple[Published, ...] = (Published(80, "10.200.20.2", 80),)
    forbidden_outbound: tuple[int, ...] = FORBIDDEN_OUTBOUND
    ssh_port: int = 22
    state_dir: Path = field(default_factory=lambda: Path("/run/campus-auditor-lab/firewall"))


def _nat_table(p: FirewallParams) -> str:
    dnat = "".join(
        f'\t\tiifname "{p.outside_if}" ip daddr {p.outside_address} tcp dport {pub.outside_port} '
        f"dnat to {pub.server}:{pub.port}\n" for pub in p.published)
    return ("table ip nat {\n\tchain prerouting {\n"
            "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
            f"{dnat}\t}}\n}}\n")


def _compliant(p: FirewallParams) -> str:
    forbidden = ", ".join(str(port) for port in sorted(set(p.forbidden_outbound)))
    outbound_block = (f'\t\tiifname "{p.inside_if}" oifname "{p.outside_if}" tcp dport {{ {forbidden} }} '
                      "reject with icmp type admin-prohibited\n") if forbidden else ""
    return (
        "table inet filter {\n"
        "\tchain input {\n"
        "\t\ttype filter hook input priority filter; policy drop;\n"
        "\t\tct state established,related accept\n"
        "\t\tct state invalid drop\n"
        '\t\tiifname "lo" accept\n'
        f'\t\tiifname "{p.inside_if}" ip saddr {p.mgmt_net} tcp dport {p.ssh_port} accept\n'
        f'\t\tiifname "{p.inside_if}" icmp type echo-request accept\n'
        "\t}\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy drop;\n"
        "\t\tct state established,related accept\n"
        "\t\tct state invalid drop\n"
        f"{outbound_block}"
        f'\t\tiifname "{p.inside_if}" oifname "{p.outside_if}" accept\n'
        f'\t\tiifname "{p.outside_if}" oifname "{p.inside_if}" ct status dnat accept\n'
        "\t}\n"
        "\tchain output {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        "\t}\n"
        "}\n"
    )


def _allow_all(_p: FirewallParams) -> str:
    chains = "".join(
        f"\tchain {hook} {{\n\t\ttype filter hook {hook} priority filter; policy accept;\n"
        + ("\t\tcounter accept\n" if hook != "output" else "") + "\t}\n"
        for hook in ("input", "forward", "output"))
    return "table inet filter {\n" + chains + "}\n"


def ruleset(variant: Variant, params: FirewallParams) -> str:
    """The nftables script of ``variant`` (starts with ``flush ruleset``)."""
    if variant not in VARIANTS:
        raise LabError(f"unknown firewall variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    body = _compliant(params) if variant == "compliant" else _allow_all(params)
    return "flush ruleset\n\n" + body + "\n" + _nat_table(params)


def _run(argv: Sequence[str], timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"`{' '.join(argv)}` failed: {exc}") from exc
    if res.returncode != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        raise LabError(f"`{' '.join(argv)}` exited {res.returncode}: {lines[-1] if lines else 'no output'}")
    return res


def apply(ns: str, variant: Variant, params: FirewallParams) -> Path:
    """Write ``variant``'s ruleset to the state directory and load it into namespace ``ns``.

    Also turns on IPv4 forwarding in ``ns``. Returns the ruleset file.
    """
    if shutil.which("nft") is None:
        raise LabError("required tool `nft` not found on PATH (apt-get install nftables)")
    text = ruleset(variant, params)
    params.state_dir.mkdir(parents=True, exist_ok=True)
    path = params.state_dir / f"nftables-{variant}.nft"
    path.write_text(text, encoding="utf-8")
    _run(netns_exec(ns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]))
    _run(netns_exec(ns, ["nft", "-f", str(path)]))
    return path


# ----------------------------------------------------------------------- sshd


@dataclass(frozen=True)
class Sshd:
    """A running lab sshd: its PID, the client key that may log in, and the host key line."""

    pid: int
    address: str
    port: int
    client_key: Path
    host_public_key: str  # "ssh-ed25519 AAAA..." for a known-hosts file
    config: Path


def _sshd_config(state: Path, address: str, port: int) -> str:
    return (
        f"Port {port}\nListenAddress {address}\n"
        f"HostKey {state / 'ssh_host_ed25519_key'}\n"
        f"PidFile {state / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {state / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nAllowUsers root\n"
        "PubkeyAuthentication yes\nAuthenticationMethods publickey\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
        # The state directory may sit below /tmp (world-writable), which StrictModes refuses;
        # the key files themselves are created 0600 in a 0700 directory.
        "StrictModes no\nX11Forwarding no\nAllowTcpForwarding no\nPermitTTY no\n"
    )


def _keygen(path: Path, comment: str) -> None:
    if not path.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def _sshd_state(state_dir: Path) -> Path:
    state = state_dir / "fw-sshd"
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    return state


def start_sshd(ns: str, state_dir: Path, address: str = "0.0.0.0", port: int = 22,  # noqa: S104
               probe_address: str | None = None) -> Sshd:
    """Start sshd in ``ns`` (stopping one this function started before) and wait until it answers.

    ``probe_address`` is the address readiness is checked on from inside ``ns`` (default:
    ``address``, or 127.0.0.1 when listening on all addresses).
    """
    sshd = shutil.which("sshd")
    if sshd is None or shutil.which("ssh-keygen") is None:
        raise LabError("required tools `sshd` and `ssh-keygen` not found (apt-get install openssh-server)")
    stop_sshd(state_dir)
    state = _sshd_state(state_dir)
    _keygen(state / "ssh_host_ed25519_key", "campus-auditor lab firewall host key")
    _keygen(state / "client_key", "campus-auditor lab client")
    shutil.copyfile(state / "client_key.pub", state / "authorized_keys")
    (state / "authorized_keys").chmod(0o600)
    config = state / "sshd_config"
    config.write_text(_sshd_config(state, address, port), encoding="ascii")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    _run([sshd, "-t", "-f", str(config)])
    log = (state / "sshd.log").open("ab")
    try:
        proc = subprocess.Popen(netns_exec(ns, [sshd, "-D", "-e", "-f", str(config)]),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as exc:
        raise LabError(f"cannot start sshd in {ns}: {exc}") from exc
    finally:
        log.close()
    (state / "lab-sshd.pid").write_text(f"{proc.pid}\n", encoding="ascii")
    target = probe_address or ("127.0.0.1" if address == "0.0.0.0" else address)  # noqa: S104
    _wait_banner(ns, proc, target, port, state / "sshd.log")
    host_pub = (state / "ssh_host_ed25519_key.pub").read_text(encoding="ascii").split()
    return Sshd(proc.pid, address, port, state / "client_key", f"{host_pub[0]} {host_pub[1]}", config)


_BANNER_SCRIPT = (
    "import socket, sys\n"
    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)\n"
    "sys.stdout.write(s.recv(64).decode('ascii', 'replace'))\n"
)


def _wait_banner(ns: str, proc: subprocess.Popen[bytes], address: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    argv = netns_exec(ns, [_python(), "-I", "-c", _BANNER_SCRIPT, address, str(port)])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()
            raise LabError(f"sshd in {ns} exited during start-up ({log}: {tail[-1] if tail else 'no log'})")
        res = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        if res.stdout.startswith("SSH-"):
            return
        time.sleep(0.2)
    raise LabError(f"sshd in {ns} did not answer on {address}:{port} within {_READY_TIMEOUT_S:.0f} s ({log})")


def _python() -> str:
    return sys.executable


def stop_sshd(state_dir: Path) -> None:
    """Stop the sshd :func:`start_sshd` started (only if the PID is still that sshd)."""
    pidfile = state_dir / "fw-sshd" / "lab-sshd.pid"
    try:
        pid = int(pidfile.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return
    config = str(state_dir / "fw-sshd" / "sshd_config")
    if _is_our_sshd(pid, config):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and _is_our_sshd(pid, config):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        if _is_our_sshd(pid, config):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    pidfile.unlink(missing_ok=True)


def _is_our_sshd(pid: int, config: str) -> bool:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    # sshd rewrites its process title ("sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] ..."),
    # so look for the configuration path anywhere in the command line.
    return b"sshd" in raw and config.encode() in raw.replace(b"\0", b" ").split()


def sshd_answers(ns: str, address: str, port: int = 22) -> bool:
    """True if something in ``ns`` sends an SSH banner on ``address:port``."""
    argv = netns_exec(ns, [_python(), "-I", "-c", _BANNER_SCRIPT, address, str(port)])
    res = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    return res.stdout.startswith("SSH-")

