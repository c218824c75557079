"""systemd units for what runs between audits: the school's monitor (or its agent with the monitor
inside), and the district's alert checks and sample retention.

School side, one long-running service per box (a box watches its own connection; a second school's
monitor on the same box would measure the same link twice, so these are not templated per school
as scheduled audits are):

* ``campus-auditor-monitor.service``: ``auditor monitor run`` with the inventory, the enrolled
  agent's home and the monitor's state directory on its command line;
* ``campus-auditor-agent.service``: ``auditor agent run``, with ``--monitor`` the monitor too, in
  one process (it then conflicts with the monitor's own service: only one of them runs).

Both restart on failure (``RestartSec=30s``) but not after exit 2 (bad input: a person must fix
the inventory or the enrolment first), and run in the schedule's sandbox
(:func:`auditor.scheduling.units.hardening`) with ``CAP_NET_RAW`` alone: the monitor's ICMP echo
uses a datagram ICMP socket where ``net.ipv4.ping_group_range`` admits the service's group, which
needs no capability, else a raw socket, which needs ``CAP_NET_RAW`` (Debian 12 keeps the kernel's
default range ``1 0``, so it is needed there); the agent's audits also send raw frames (ARP sweep,
DHCPDISCOVER, ``AF_PACKET``), which the monitor alone does not.

District side, two oneshot services with their timers, without any capability:

* ``campus-auditor-alerts.timer``: ``auditor alerts check`` every N minutes;
* ``campus-auditor-prune-samples.timer``: ``auditor district prune-samples`` daily (``Persistent``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from auditor.errors import InputError
from auditor.scheduling.units import RAW_FAMILIES, exec_line, hardening, quote

MONITOR = "campus-auditor-monitor"
AGENT = "campus-auditor-agent"
ALERTS = "campus-auditor-alerts"
PRUNE = "campus-auditor-prune-samples"
NET_FAMILIES = "AF_UNIX AF_INET AF_INET6 AF_NETLINK"  # netlink: the interfaces' addresses and speeds
DISTRICT_FAMILIES = "AF_UNIX AF_INET AF_INET6"  # HTTPS, SMTP, PostgreSQL (TCP or its socket)


def own_paths(paths: Sequence[Path]) -> list[Path]:
    """``paths`` without those inside another of them (``ReadWritePaths=`` covers subdirectories)."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(p != q and p.is_relative_to(q) for q in unique)]


def _long_running(what: str, argv: list[str], state_root: Path, writable: Sequence[Path], *,
                  families: str, env_file: Path | None = None, conflicts: str | None = None) -> str:
    unit = f"[Unit]\nDescription=campus-auditor {what}\nWants=network-online.target\n" \
        "After=network-online.target\n" + (f"Conflicts={conflicts}.service\n" if conflicts else "")
    env = f"EnvironmentFile=-{str(env_file).replace('%', '%%')}\n" if env_file else ""
    return f"""{unit}
[Service]
Type=exec
ExecStart={exec_line(argv)}
Environment={quote(f"AUDITOR_STATE_DIR={state_root}", dollar=False)}
{env}Restart=on-failure
RestartSec=30s
RestartPreventExitStatus=2
TimeoutStopSec=2min
{hardening(own_paths(writable), raw=True, families=families)}
[Install]
WantedBy=multi-user.target
"""


def monitor_service(auditor: str, inventory: Path, home: Path, state: Path, state_root: Path) -> str:
    """``campus-auditor-monitor.service``: writes in its state directory only."""
    argv = [auditor, "monitor", "run", "--inventory", str(inventory), "--home", str(home),
            "--state", str(state)]
    return _long_running("monitoring between audits", argv, state_root, [state], families=NET_FAMILIES)


def agent_service(auditor: str, home: Path, state_root: Path, monitor_state: Path, *,
                  monitor: bool) -> str:
    """``campus-auditor-agent.service``: writes in its home (outbox, jobs), the state directory
    (the audits' known hosts, archived configurations) and the monitor's state directory (its
    samples with ``--monitor``; the bandwidth lock either way)."""
    argv = [auditor, "agent", "--home", str(home), "run", *(["--monitor"] if monitor else []),
            "--monitor-state", str(monitor_state)]
    what = "agent (district jobs" + (" and monitoring between audits)" if monitor else ")")
    return _long_running(what, argv, state_root, [home, state_root, monitor_state], families=RAW_FAMILIES,
                         env_file=home / "agent.env", conflicts=MONITOR if monitor else None)


def _oneshot(what: str, argv: list[str], writable: Sequence[Path], timeout: str,
             env_file: Path | None = None) -> str:
    env = f"EnvironmentFile=-{str(env_file).replace('%', '%%')}\n" if env_file else ""
    return f"""[Unit]
Description=campus-auditor {what}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={exec_line(argv)}
{env}TimeoutStartSec={timeout}
{hardening(own_paths(writable), raw=False, families=DISTRICT_FAMILIES)}"""


def every_minutes(minutes: int) -> str:
    """``OnCalendar=`` for every ``minutes`` minutes past the hour (1 to 30)."""
    if not 1 <= minutes <= 30:
        raise InputError(f"--every {minutes}: from 1 to 30 minutes")
    return f"*-*-* *:00/{minutes}:00"


def alerts_units(auditor: str, alerts_file: Path, district_home: Path, alerts_state: Path,
                 link: str | None, minutes: int, writable: Sequence[Path]) -> dict[str, str]:
    """``campus-auditor-alerts.service`` (``auditor alerts check``) and its timer. The service
    writes the alert state and, for a SQLite district, the database's directory; it reads the
    alerts file's ``{env: ...}`` credentials from ``<alert state>/alerts.env``."""
    argv = [auditor, "alerts", "check", "--alerts", str(alerts_file), "--home", str(district_home),
            "--state", str(alerts_state), *(["--link", link] if link else [])]
    service = _oneshot("alerts on schools' connections", argv, [alerts_state, *writable], "5min",
                       env_file=alerts_state / "alerts.env")
    timer = f"""[Unit]
Description=campus-auditor alerts on schools' connections, every {minutes} min

[Timer]
Unit={ALERTS}.service
OnCalendar={every_minutes(minutes)}
AccuracySec=5s

[Install]
WantedBy=timers.target
"""
    return {f"{ALERTS}.service": service, f"{ALERTS}.timer": timer}


def prune_units(auditor: str, district_home: Path, at: str, writable: Sequence[Path]) -> dict[str, str]:
    """``campus-auditor-prune-samples.service`` (``auditor district prune-samples``) and its daily
    timer at ``at`` (``HH:MM``, the machine's time; a day missed while it was off runs at boot)."""
    hour, _, minute = at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise InputError(f"--at {at!r}: write HH:MM (e.g. 03:30)")
    argv = [auditor, "district", "--home", str(district_home), "prune-samples"]
    service = _oneshot("retention of monitoring samples", argv, writable, "1h")
    timer = f"""[Unit]
Description=campus-auditor retention of monitoring samples, daily at {at}

[Timer]
Unit={PRUNE}.service
OnCalendar=*-*-* {int(hour):02d}:{int(minute):02d}:00
Persistent=true
RandomizedDelaySec=10min

[Install]
WantedBy=timers.target
"""
    return {f"{PRUNE}.service": service, f"{PRUNE}.timer": timer}


def sqlite_directory(url: str) -> Path | None:
    """The directory of a ``sqlite:///`` database (its journal is written beside it), else None."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///")).resolve().parent


def write_units(files: dict[str, str], unit_dir: Path) -> list[Path]:
    """Write the unit files into ``unit_dir``."""
    written: list[Path] = []
    for name, text in files.items():
        target = unit_dir / name
        try:
            unit_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror} (run as root, or --unit-dir DIR)") \
                from None
        written.append(target)
    return written
