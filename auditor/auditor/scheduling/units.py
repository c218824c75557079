"""systemd units for scheduled audits: a templated service and timer per school, and a tmpfiles entry.

``campus-auditor@<school>.timer`` starts ``campus-auditor@<school>.service`` on the schedule
(``Persistent=true``: a run missed while the box was off happens at the next boot;
``RandomizedDelaySec``: a district's schools do not all start at once). The service is a
oneshot ``auditor schedule run --school <school>``, hardened:

* ``ProtectSystem=strict`` (the whole file system read-only) with ``ReadWritePaths=`` only the
  state directory (in the template) and, per school, in the instance's own drop-in
  ``campus-auditor@<school>.service.d/50-paths.conf``, its bundles' output root, metrics directory
  and SQLite history directory: one template serves every school on the machine, so a second
  school's install cannot take the first one's paths away; ``ProtectHome=read-only``, ``PrivateTmp``,
  ``NoNewPrivileges``, ``ProtectKernel*``, ``ProtectControlGroups``, ``RestrictSUIDSGID``,
  ``LockPersonality``, ``RestrictRealtime``, ``SystemCallArchitectures=native``;
* capabilities: only ``CAP_NET_RAW`` (scapy's ARP sweep and DHCPDISCOVER, raw sockets;
  nmap runs connect scans, iperf3, SNMP and SSH are ordinary sockets). It is the bounding set and
  the ambient set, so the service could run as an unprivileged user with just that.
* ``RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET`` (AF_PACKET for the
  raw frames, AF_NETLINK for interface lookups).
* ``EnvironmentFile=-<state>/schedules/%i.env``: the credential variables the inventory names
  (``{env: ...}``), since the service does not see the installing shell's environment;
* ``SuccessExitStatus=1``: exit 1 means the audit worked and found something; only 2 (input) and
  3 (internal) fail the unit (``systemctl --failed``, ``OnFailure=``).

The timer's ``OnCalendar=`` carries the school's time zone (the inventory's
``schedule.timezone``), so ``--at 02:00`` is 02:00 at the school whatever the machine's zone.
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
RAW_FAMILIES = "AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET"  # raw frames, interface lookups
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@")


def quote(word: str, *, dollar: bool = True) -> str:
    """``word`` as one word of a unit file setting: ``%`` doubled (a specifier otherwise), ``$``
    doubled where systemd expands variables (``ExecStart=``), double-quoted with ``\\`` and ``\"``
    escaped when it holds anything but plain path characters (spaces, Chinese, quotes)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in word):
        raise InputError(f"{word!r}: a control character cannot be written into a systemd unit")
    text = word.replace("%", "%%")
    if dollar:
        text = text.replace("$", "$$")
    if word and all(c in _SAFE for c in word):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_line(argv: list[str]) -> str:
    """A command line for ``ExecStart=``, every argument quoted as systemd reads it."""
    return " ".join(quote(arg) for arg in argv)


def hardening(writable: list[Path], *, raw: bool, families: str) -> str:
    """The sandbox every campus-auditor unit runs in: the file system read-only but ``writable``
    (``ProtectSystem=strict``), home directories read-only, a private /tmp, no privilege gain, the
    kernel and cgroups protected, and of the capabilities ``CAP_NET_RAW`` alone (``raw``) or none."""
    paths = " ".join(quote(str(p), dollar=False) for p in writable)
    caps = "CapabilityBoundingSet=CAP_NET_RAW\nAmbientCapabilities=CAP_NET_RAW\n" if raw else \
        "CapabilityBoundingSet=\n"
    return ("ProtectSystem=strict\n" + (f"ReadWritePaths={paths}\n" if paths else "")
            + "ProtectHome=read-only\nPrivateTmp=yes\nNoNewPrivileges=yes\nProtectKernelTunables=yes\n"
            "ProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectControlGroups=yes\n"
            "RestrictSUIDSGID=yes\nRestrictRealtime=yes\nLockPersonality=yes\n"
            "SystemCallArchitectures=native\n" + caps + f"RestrictAddressFamilies={families}\n")


def on_calendar(every: str, at: str, timezone: str = "Asia/Shanghai") -> str:
    """systemd ``OnCalendar=`` for ``daily``/``weekly`` at ``HH:MM`` or ``Day HH:MM`` in ``timezone``."""
    m = AT.match(at)
    if m is None:
        raise InputError(f"--at {at!r}: write 'HH:MM' or 'Day HH:MM' (e.g. 'Sat 02:00')")
    day, hour, minute = m.group(1), m.group(2), m.group(3)
    if every == "weekly":
        return f"{(day or 'sat').capitalize()} *-*-* {hour}:{minute}:00 {timezone}"
    if day:
        raise InputError(f"--at {at!r}: a daily schedule takes only a time (HH:MM)")
    return f"*-*-* {hour}:{minute}:00 {timezone}"


@dataclass(frozen=True)
class Units:
    """The unit files of one school's schedule, by file name."""

    service: str  # the template, shared by every school
    paths: str  # the school's drop-in: its own writable paths
    timer: str
    tmpfiles: str  # the state directory (shared)
    school_tmpfiles: str  # the school's own directories

    def files(self, school: str) -> dict[str, str]:
        return {f"{TEMPLATE}.service": self.service,
                f"{TEMPLATE}{school}.service.d/50-paths.conf": self.paths,
                f"{TEMPLATE}{school}.timer": self.timer,
                "campus-auditor.conf": self.tmpfiles, f"campus-auditor-{school}.conf": self.school_tmpfiles}


def writable_paths(cfg: ScheduleConfig, state: Path) -> list[Path]:
    """What the school's service writes outside the state directory: the bundles' root, the
    metrics directory and the directory of a SQLite history store."""
    paths = [cfg.out_root.resolve()]
    if cfg.metrics_dir is not None:
        paths.append(cfg.metrics_dir.resolve())
    if cfg.history_db and cfg.history_db.startswith("sqlite:///"):
        paths.append(Path(cfg.history_db.removeprefix("sqlite:///")).resolve().parent)
    return [p for i, p in enumerate(paths) if not p.is_relative_to(state) and p not in paths[:i]]


def render(cfg: ScheduleConfig, auditor: str, state: Path) -> Units:
    """The service (templated: one file serves every school), the school's drop-in with its own
    writable paths, the timer and the tmpfiles entries."""
    own = writable_paths(cfg, state)
    service = f"""[Unit]
Description=campus-auditor scheduled audit of %i
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={exec_line([auditor, "schedule", "run", "--school"])} %i
Environment={quote(f"AUDITOR_STATE_DIR={state}", dollar=False)}
EnvironmentFile=-{state}/schedules/%i.env
SuccessExitStatus=1
TimeoutStartSec=4h
Nice=5
{hardening([state], raw=True, families=RAW_FAMILIES)}"""
    timer = f"""[Unit]
Description=campus-auditor scheduled audit of {cfg.school} ({cfg.every}, {cfg.at})

[Timer]
Unit={TEMPLATE}{cfg.school}.service
OnCalendar={on_calendar(cfg.every, cfg.at, cfg.timezone)}
Persistent=true
RandomizedDelaySec=15min
AccuracySec=1min

[Install]
WantedBy=timers.target
"""
    listed = " ".join(quote(f"-{p}", dollar=False) for p in own)
    paths = (f"# campus-auditor: where the scheduled audit of {cfg.school} writes, besides {state}\n"
             f"[Service]\nReadWritePaths={listed}\n") if own else \
        f"# campus-auditor: the scheduled audit of {cfg.school} writes only in {state}\n[Service]\n"
    tmpfiles = f"d {state} 0700 root root -\nd {state}/logs 0700 root root -\n"
    school_tmpfiles = "".join(f"d {p} 0750 root root -\n" for p in own) or \
        f"# the scheduled audit of {cfg.school} writes only in {state}\n"
    return Units(service, paths, timer, tmpfiles, school_tmpfiles)


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
        directory = tmpfiles_dir if name.endswith(".conf") and "/" not in name else unit_dir
        try:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {directory / name}: {exc.strerror} (run as root, or "
                             "--unit-dir DIR)") from None
        written[name] = directory / name
    if systemd_running() and unit_dir == UNIT_DIR:
        for argv in (["systemd-tmpfiles", "--create", str(written[f"campus-auditor-{school}.conf"])],
                     ["systemctl", "daemon-reload"],
                     ["systemctl", "enable", "--now", f"{TEMPLATE}{school}.timer"]):
            subprocess.run(argv, check=False, timeout=60)
    return written
