"""The demo school's backup host: an OpenSSH server in a namespace, with dated dump files.

Login is by key only, as ``root``, with the authorised key in the lab's state directory
(``AuthorizedKeysFile``) restricted by the ``restrict`` option (no TTY, no forwarding). This is
the least invasive arrangement that works: it creates no system user and sets no password on
the machine, and the server listens only on the namespace's address. ``StrictModes`` is off
because the state directory may lie under a world-writable parent such as ``/tmp``.

The dump files (mtimes relative to ``now``):

* ``fresh/``   seven nightly dumps, the newest 3 h old; its off-site copy in ``offsite/`` lags a
  day (newest 27 h old); a restore-test record dated 30 days ago;
* ``stale/``   seven nightly dumps, the newest 9 days old;
* ``shrunk/``  seven nightly dumps, the newest 3 h old but a tenth of the usual size.

Every directory also holds a ``README.txt`` that the pattern ``db-*.sql.gz`` does not match.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PATTERN = "db-*.sql.gz"
SSH_PORT = 22
SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")  # OpenSSH's compiled-in privilege-separation directory
DUMP_SIZE = 64 * 1024
NIGHTS = 7
FRESH_AGE_H = 3.0
STALE_AGE_H = 9 * 24.0
OFFSITE_AGE_H = 27.0
RESTORE_AGE_DAYS = 30


class BackupLabError(RuntimeError):
    """Preparing the backup host failed; the message is one line."""


@dataclass(frozen=True)
class BackupLab:
    """Where the backup host's pieces are, and what a client needs to log in."""

    state_dir: Path
    address: str
    port: int
    sshd_config: Path
    host_key: Path
    host_public_key: str  # "ssh-ed25519 AAAA...", for the agent's known-hosts file
    client_key: Path  # private key authorised for root
    fresh: Path
    stale: Path
    shrunk: Path
    offsite: Path
    restore_record: Path
    pattern: str = PATTERN

    def known_hosts_line(self) -> str:
        host = self.address if self.port == SSH_PORT else f"[{self.address}]:{self.port}"
        return f"{host} {self.host_public_key}\n"


def generate_key(path: Path) -> Path:
    """Create an ed25519 key pair at ``path`` (and ``path.pub``) unless it exists; return ``path``."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "campus-auditor-lab", "-f", str(path)]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupLabError(f"cannot run ssh-keygen for {path}: {exc} (install openssh-client)") from exc
    if res.returncode != 0:
        raise BackupLabError(f"ssh-keygen failed for {path}: {res.stderr.strip() or res.returncode}")
    return path


def set_age(path: Path, hours: float, now: float | None = None) -> None:
    """Set the access and modification time of ``path`` to ``hours`` before ``now``."""
    when = (time.time() if now is None else now) - hours * 3600
    os.utime(path, (when, when))


def _dumps(directory: Path, newest_age_h: float, now: float, newest_size: int | None = None,
           nights: int = NIGHTS) -> None:
    """Nightly dump files, one per day, the newest ``newest_age_h`` hours old."""
    directory.mkdir(parents=True, exist_ok=True)
    for night in range(nights):
        age = newest_age_h + 24 * night
        name = time.strftime("db-%Y%m%d.sql.gz", time.gmtime(now - age * 3600))
        size = newest_size if night == 0 and newest_size is not None else DUMP_SIZE + 512 * night
        path = directory / name
        path.write_bytes(bytes(range(256)) * (size // 256) + b"\0" * (size % 256))
        set_age(path, age, now)
    readme = directory / "README.txt"
    readme.write_text("Nightly database dumps (campus-auditor demo).\n", encoding="utf-8")


def _sshd_config(lab: BackupLab, authorized_keys: Path) -> str:
    return "\n".join([
        f"ListenAddress {lab.address}",
        f"Port {lab.port}",
        f"HostKey {lab.host_key}",
        "PidFile none",
        f"AuthorizedKeysFile {authorized_keys}",
        "AllowUsers root",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitTTY no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "LogLevel INFO",
        "",
    ])


def prepare(state_dir: Path, address: str, now: float | None = None) -> BackupLab:
    """Write keys, the sshd configuration and the dated dump files under ``state_dir/backuphost``.

    Idempotent for keys (kept across calls); dump files are rewritten with ages relative to
    ``now``. Needs root only for OpenSSH's privilege-separation directory, created if missing.
    """
    at = time.time() if now is None else now
    base = state_dir / "backuphost"
    base.mkdir(parents=True, exist_ok=True)
    host_key = generate_key(base / "ssh_host_ed25519_key")
    client_key = generate_key(base / "client_ed25519")
    public = host_key.with_name(host_key.name + ".pub").read_text(encoding="ascii").split()
    lab = BackupLab(
        state_dir=base, address=address, port=SSH_PORT, sshd_config=base / "sshd_config",
        host_key=host_key, host_public_key=f"{public[0]} {public[1]}", client_key=client_key,
        fresh=base / "fresh", stale=base / "stale", shrunk=base / "shrunk", offsite=base / "offsite",
        restore_record=base / "restore-test.txt",
    )
    authorized = base / "authorized_keys"
    client_pub = client_key.with_name(client_key.name + ".pub").read_text(encoding="ascii").strip()
    authorized.write_text(f"restrict {client_pub}\n", encoding="ascii")
    lab.sshd_config.write_text(_sshd_config(lab, authorized), encoding="ascii")
    _dumps(lab.fresh, FRESH_AGE_H, at)
    _dumps(lab.stale, STALE_AGE_H, at)
    _dumps(lab.shrunk, FRESH_AGE_H, at, newest_size=DUMP_SIZE // 10)
    _dumps(lab.offsite, OFFSITE_AGE_H, at)
    tested = time.strftime("%Y-%m-%d", time.gmtime(at - RESTORE_AGE_DAYS * 86400))
    lab.restore_record.write_text(
        f"{tested}\nRestored the newest fresh/ dump into a scratch database; row counts matched.\n",
        encoding="utf-8")
    try:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    except OSError as exc:
        raise BackupLabError(f"cannot create sshd's privilege-separation directory {PRIVSEP_DIR}: {exc} "
                             f"(run as root)") from exc
    return lab


def daemon_specs(state_dir: Path, address: str) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """``{name: (argv, environment)}`` of the backup host's daemons, to run inside its namespace.

    Call :func:`prepare` first. ``-D`` keeps sshd in the foreground, ``-e`` logs to stderr.
    """
    config = state_dir / "backuphost" / "sshd_config"
    if not config.exists():
        raise BackupLabError(f"{config} is missing; call backuphost.prepare() first")
    if f"ListenAddress {address}\n" not in config.read_text(encoding="ascii"):
        raise BackupLabError(f"{config} does not listen on {address}; call backuphost.prepare() again")
    return {"backup-sshd": ([SSHD, "-D", "-e", "-f", str(config)], None)}
