"""SSH with verified host keys: the agent's own known-hosts file and its first-contact policy.

Every SSH session the auditor opens (netmiko to switches, plain commands on backup hosts and
firewalls) decides host keys here, in one place: the key must match the agent's known-hosts
file; an unknown key is refused unless the inventory chose ``ssh_first_contact: accept-new``,
in which case it is recorded (and listed in the report); a changed key is always refused.
Neither the system's known-hosts nor paramiko's auto-add is ever used.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import paramiko

from auditor.errors import AuthFailed, HostKeyRejected, ProbeError, TargetUnreachable, ToolTimeout
from auditor.inventory import SshAccess
from auditor.secrets import SecretResolver

# paramiko's transport thread logs a failed handshake with its traceback; without a handler of
# our own, Python would print that to stderr. The failure itself is raised to the caller and
# becomes an `error` result with a one-line reason.
for _name in ("paramiko", "netmiko"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint of a public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry(address: str, port: int) -> str:
    """The known-hosts name of a host: ``addr`` on port 22, ``[addr]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


class KnownHosts:
    """The agent's known-hosts file, shared by every session of a run (thread-safe)."""

    def __init__(self, path: Path, first_contact: Literal["reject", "accept-new"] = "reject") -> None:
        self.path = path
        self.first_contact = first_contact
        self._lock = threading.Lock()
        self._keys = paramiko.HostKeys()
        if path.exists():
            try:
                self._keys.load(str(path))
            except (OSError, paramiko.SSHException) as exc:
                raise HostKeyRejected(f"cannot read the known-hosts file {path}: {exc}") from None
        self.learnt: list[dict[str, str]] = []
        self.verified: dict[str, str] = {}

    def check(self, hostname: str, key: paramiko.PKey) -> None:
        """Accept ``key`` for ``hostname`` (known-hosts form) or raise HostKeyRejected."""
        fp = fingerprint(key)
        with self._lock:
            known = self._keys.lookup(hostname)
            if known is not None and key.get_name() in known:
                if known[key.get_name()] != key:
                    raise HostKeyRejected(
                        f"{hostname}: SSH host key CHANGED ({key.get_name()} {fp} differs from the key in "
                        f"{self.path}); refusing to connect. If the device was replaced, remove its line "
                        f"from that file and audit again")
                self.verified[hostname] = fp
                return
            if known:
                have = ", ".join(sorted(known.keys()))
                raise HostKeyRejected(
                    f"{hostname}: offered a {key.get_name()} host key but {self.path} holds only {have} "
                    f"for it; refusing to connect")
            if self.first_contact != "accept-new":
                raise HostKeyRejected(
                    f"{hostname}: host key {key.get_name()} {fp} is not in {self.path}; verify it and add it "
                    f"(ssh-keyscan, or set agent.ssh_first_contact: accept-new to record keys on first "
                    f"contact)")
            self._keys.add(hostname, key.get_name(), key)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="ascii") as out:
                out.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            self.learnt.append({"host": hostname, "type": key.get_name(), "fingerprint": fp})
            self.verified[hostname] = fp

    def policy(self) -> paramiko.MissingHostKeyPolicy:
        """A paramiko policy that sends every host key through :meth:`check`."""
        return _Policy(self)

    def summary(self) -> dict[str, Any]:
        """What the report records about host keys."""
        return {"known_hosts": str(self.path), "first_contact": self.first_contact,
                "verified": dict(sorted(self.verified.items())),
                "learnt_on_first_contact": list(self.learnt)}


class _Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    def __init__(self, known: KnownHosts) -> None:
        self.known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.known.check(hostname, key)


@dataclass(frozen=True)
class Credentials:
    """Resolved SSH credentials (never logged, never written)."""

    username: str
    password: str | None
    key_file: str | None
    enable: str | None

    @classmethod
    def resolve(cls, access: SshAccess, secrets: SecretResolver, where: str) -> Credentials:
        return cls(
            username=secrets.resolve(access.username, f"{where}.username", sensitive=False),
            password=secrets.resolve(access.password, f"{where}.password") if access.password else None,
            key_file=str(access.key_file) if access.key_file else None,
            enable=secrets.resolve(access.enable, f"{where}.enable") if access.enable else None,
        )


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str


def run_commands(address: str, port: int, creds: Credentials, known: KnownHosts,
                 commands: Sequence[str], timeout_s: float = 20.0,
                 what: str = "host") -> list[CommandResult]:
    """Run each command over one SSH connection (exec channel) and return its output.

    Blocking: call it through ``asyncio.to_thread``. Failures become ProbeError subclasses
    whose message names the target and what to do.
    """
    where = f"{what} {address}:{port}"
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(known.policy())
    try:
        client.connect(address, port=port, username=creds.username, password=creds.password,
                       key_filename=creds.key_file, timeout=timeout_s, banner_timeout=timeout_s,
                       auth_timeout=timeout_s, look_for_keys=False, allow_agent=False)
        results = []
        for command in commands:
            _stdin, stdout, stderr = client.exec_command(command, timeout=timeout_s)
            out = stdout.read().decode("utf-8", "replace")
            err = stderr.read().decode("utf-8", "replace")
            results.append(CommandResult(command, stdout.channel.recv_exit_status(), out, err))
        return results
    except Exception as exc:
        raise map_ssh_error(exc, where, timeout_s) from None
    finally:
        client.close()


def map_ssh_error(exc: BaseException, where: str, timeout_s: float) -> ProbeError:  # noqa: PLR0911
    """Turn a paramiko/netmiko/socket exception into a one-line ProbeError."""
    if isinstance(exc, ProbeError):
        return exc
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyRejected(f"{where}: SSH host key changed; refusing to connect")
    if isinstance(exc, paramiko.AuthenticationException) or "Authentication" in name:
        return AuthFailed(f"{where}: SSH login refused (wrong username, password or key); check the "
                          f"inventory's ssh references")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return TargetUnreachable(f"{where}: SSH connection refused or unreachable (no SSH server on "
                                 f"that port, or the host is down)")
    if isinstance(exc, ConnectionRefusedError) or "refused" in text.lower():
        return TargetUnreachable(f"{where}: SSH connection refused (no SSH server on that port)")
    if isinstance(exc, socket.timeout | TimeoutError) or "timed out" in text.lower() or "Timeout" in name:
        return ToolTimeout(f"{where}: no SSH answer within {timeout_s:g} s (device down, filtered, or "
                           f"accepting TCP without speaking SSH)")
    if isinstance(exc, paramiko.SSHException) and "No existing session" in text:
        # paramiko's handshake wait ended with the banner wait, then it tried to authenticate
        return ToolTimeout(f"{where}: the SSH handshake did not complete within {timeout_s:g} s "
                           f"(accepting TCP without speaking SSH?)")
    if isinstance(exc, paramiko.SSHException) and "banner" in text.lower():
        return ToolTimeout(f"{where}: accepted TCP but sent no SSH banner within {timeout_s:g} s")
    if isinstance(exc, OSError):
        return TargetUnreachable(f"{where}: {text}")
    return ProbeError(f"{where}: SSH session failed ({name}: {text})")
