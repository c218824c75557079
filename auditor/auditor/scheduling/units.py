"""systemd units for scheduled audits: a templated service and timer per school, and a tmpfiles entry.

``campus-auditor@<school>.timer`` starts ``campus-auditor@<school>.service`` on the schedule
(``Persistent=true``: a run missed while the box was off happens at the next boot;
``RandomizedDelaySec``: a district's schools do not all start at once). The service is a
oneshot ``auditor schedule run --school <school>``, hardened:

* ``ProtectSystem=strict`` (the whole file system read-only) with ``ReadWritePaths=`` only the
  state directory and the bundles' output root; ``ProtectHome=read-only``, ``PrivateTmp``,
  ``NoNewPrivileges``, ``ProtectKernel*``, ``ProtectControlGroups``, ``RestrictSUIDSGID``,
  ``LockPersonality``, ``RestrictRealtime``, ``SystemCallArchitectures=native``;
* capabilities: only ``CAP_NET_RAW`` (scapy's ARP sweep and DHCPDISCOVER, raw sockets;
  nmap runs connect scans, iperf3, SNMP and SSH are ordinary sockets). It is the bounding set and
  the ambient set, so the service could run as an unprivileged user with just that.
* ``RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET`` (AF_PACKET for the
  raw frames, AF_NETLINK for interface lookups).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from auditor.scheduling.config import AT, ScheduleConfig

UNIT_DIR = Path("/etc/systemd/system")
TMPFILES_DIR = Path("/etc/tmpfiles.d")
TEMPLATE = "campus-auditor@"


def on_calendar(every: str, at: str) -> str:
    """systemd ``OnCalendar=`` for ``daily``/``weekly`` at ``HH:MM`` or ``Day HH:MM``."""
    m = AT.match(at)
    if m is None:
        raise InputError(f"--at {at!r}: write 'HH:MM' or 'Day HH:MM' (e.g. 'Sat 02:00')")
    day, hour, minute = m.group(1), m.group(2), m.group(3)
    if every == "weekly":
        return f"{(day or 'sat').capitalize()} *-*-* {hour}:{minute}:00"
    if day:
        raise InputError(f"--at {at!r}: a daily schedule takes only a time (HH:MM)")
    return f"*-*-* {hour}:{minute}:00"


@dataclass(frozen=True)
class Units:
    """The unit files of one school's schedule, by file name."""

    service: str
    timer: str
    tmpfiles: str

    def files(self, school: str) -> dict[str, str]:
        return {f"{TEMPLATE}.service": self.service, f"{TEMPLATE}{school}.timer": self.timer,
                "campus-auditor.conf": self.tmpfiles}


def render(cfg: ScheduleConfig, auditor: str, state: Path) -> Units:
    """The service (templated: one file serves every school), the timer and the tmpfiles entry."""
    out_root = cfg.out_root.resolve()
    service = f"""[Unit]
Description=campus-auditor scheduled audit of %i
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={auditor} schedule run --school %i
Environment=AUDITOR_STATE_DIR={state}
TimeoutStartSec=4h
Nice=5
ProtectSystem=strict
ReadWritePaths={state} {out_root}
ProtectHome=read-only
PrivateTmp=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=CAP_NET_RAW
AmbientCapabilities=CAP_NET_RAW
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET
"""
    timer = f"""[Unit]
Description=campus-auditor scheduled audit of {cfg.school} ({cfg.every}, {cfg.at})

[Timer]
Unit={TEMPLATE}{cfg.school}.service
OnCalendar={on_calendar(cfg.every, cfg.at)}
Persistent=true
RandomizedDelaySec=15min
AccuracySec=1min

[Install]
WantedBy=timers.target
"""
    tmpfiles = f"d {state} 0700 root root -\nd {state}/logs 0700 root root -\nd {out_root} 0750 root root -\n"
    return Units(service, timer, tmpfiles)


def systemd_running() -> bool:
    """Whether systemd is PID 1 here (containers and CI often run without it)."""
    return Path("/run/systemd/system").is_dir()


def verify(files: dict[str, Path]) -> str:
    """``systemd-analyze verify`` of the service and timer; '' when clean, else its complaint."""
    exe = shutil.which("systemd-analyze")
    if exe is None:
        raise InputError("systemd-analyze is not installed (Debian package systemd)")
    units = [str(p) for name, p in files.items() if name.endswith((".service", ".timer"))]
    done = subprocess.run([exe, "verify", *units], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    return "" if done.returncode == 0 and not done.stderr.strip() else done.stderr.strip() or done.stdout


def install(units: Units, school: str, unit_dir: Path = UNIT_DIR,
            tmpfiles_dir: Path = TMPFILES_DIR) -> dict[str, Path]:
    """Write the unit files; enable and start the timer when systemd runs here."""
    written: dict[str, Path] = {}
    for name, text in units.files(school).items():
        directory = tmpfiles_dir if name.endswith(".conf") else unit_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {directory / name}: {exc.strerror} (run as root, or "
                             "--unit-dir DIR)") from None
        written[name] = directory / name
    if systemd_running() and unit_dir == UNIT_DIR:
        for argv in (["systemctl", "daemon-reload"],
                     ["systemctl", "enable", "--now", f"{TEMPLATE}{school}.timer"]):
            subprocess.run(argv, check=False, timeout=60)
    return written
