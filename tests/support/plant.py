"""Plant regressions in a running demo school, and take them back (for run-to-run tests).

* ``reshape(prefix, room, mbit)``: shape a classroom's link to another rate (``tc tbf``);
* ``enable_telnet(prefix, device)``: a Huawei-style emulated switch's configuration turns telnet
  on and its port 23 starts answering (the SSH emulator is restarted to serve the new output);
* ``open_port(prefix, port)``: the web server starts answering on one more TCP port;
* ``restore(prefix)``: every plant taken back (shaping, device outputs, extra listeners).
"""

from __future__ import annotations

from pathlib import Path

from auditor.lab import base, netdevices, school


def reshape(prefix: str, role: str, mbit: int | None = None) -> None:
    """Shape both ends of ``role``'s link to ``mbit`` (None: back to the demo's own rate)."""
    leaf = base.leaf(role)
    rate = mbit if mbit is not None else leaf.rate_mbit
    if rate is None:
        raise base.LabError(f"{role} is not a shaped link")
    rdev, ldev = base.veth_names(prefix, leaf)
    tbf = ["tbf", "rate", f"{rate}mbit", "burst", leaf.burst, "latency", "50ms"]
    for ns, dev in ((base.ns_name(prefix, leaf.parent), rdev), (base.ns_name(prefix, role), ldev)):
        base.run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", *tbf])


def _device(device_id: str) -> netdevices.EmulatedDevice:
    for dev in netdevices.DEMO_DEVICES:
        if dev.id == device_id:
            return dev
    raise base.LabError(f"no emulated device {device_id!r}")


def _restart_ssh_emulator(state: Path, prefix: str) -> None:
    """Restart the fakenos process so that it serves the outputs now on disk."""
    ns = base.ns_name(prefix, "netdev")
    argv, env = netdevices.daemon_specs(state, ns, netdevices.DEMO_DEVICES)["netdev-ssh"]
    rec = base.restart_daemon(prefix, "netdev", "netdev-ssh", argv, env)
    for dev in netdevices.DEMO_DEVICES:
        base.wait_ready(rec, f"ssh {dev.address}", ("tcp", dev.address, "22"), ns)


def enable_telnet(prefix: str, device_id: str) -> int:
    """Turn telnet on in ``device_id``'s running configuration and open its port 23.

    Returns the PID of the port-23 listener.
    """
    dev = _device(device_id)
    if dev.vendor not in {"huawei", "h3c"}:
        raise base.LabError(f"enable_telnet knows the Huawei/H3C configuration syntax, not {dev.vendor}")
    state = base.state_dir_for(prefix, None)
    config = state / "netdevices" / "outputs" / dev.id / "display_current-configuration.txt"
    text = config.read_text(encoding="utf-8")
    planted = text.replace("undo telnet server enable", "telnet server enable")
    if planted == text:
        raise base.LabError(f"{device_id}: no 'undo telnet server enable' line to turn around")
    config.write_text(planted, encoding="utf-8")
    _restart_ssh_emulator(state, prefix)
    return school.start_tarpit(prefix, "netdev", dev.address, netdevices.TELNET_PORT)


def open_port(prefix: str, port: int) -> int:
    """The web server answers on ``port`` too. Returns the listener's PID."""
    return school.start_tarpit(prefix, "server", base.leaf("server").addr, port)


def restore(prefix: str) -> None:
    """Take every plant back: demo shaping, device outputs, no extra listeners."""
    for role in ("room101", "room102", "room103"):
        reshape(prefix, role)
    state = base.state_dir_for(prefix, None)
    netdevices.prepare(state, netdevices.DEMO_DEVICES)
    _restart_ssh_emulator(state, prefix)
    records = base.load_records(state)
    for name, rec in records.items():
        if not name.startswith("tarpit-"):
            continue
        planted_telnet = name.startswith("tarpit-netdev-") and name.endswith(f"-{netdevices.TELNET_PORT}")
        if name.startswith("tarpit-server-") or planted_telnet:
            base.stop_pid(prefix, rec.pid)
